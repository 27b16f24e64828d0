#!/usr/bin/env python3
"""Fits the instant-answer gate's weights (src/search/answer.rs, GATE_WEIGHTS and GATE_BIAS) by L2-regularised
logistic regression on the CALIBRATION half of the evaluation sets only.

    qihu build && qihu eval --dump /tmp/eval.json && python3 scripts/fit-gate.py /tmp/eval.json

A question is a positive example when it is answerable and the gate's best candidate comes from an expected
policy; unanswerable questions and candidates from a wrong policy are negatives. Plain Python, no packages.
"""
import json
import math
import sys


def ramp(value, low, high):
    return max(0.0, min(1.0, (value - low) / (high - low)))


def features(s):
    # Keep in step with GateSignals::confidence.
    return [
        ramp(s["cosine"], 0.88, 0.94),
        ramp(s["cosine_margin"], 0.0, 0.03),
        s["coverage"],
        float(s["lexical_first"]),
        float(s["semantic_first"]),
        ramp(s["policy_margin"], 0.0, 0.5),
        1.0 if s["policy_rank"] == 0 else 0.0,
    ]


def main(path):
    xs, ys = [], []
    for report in json.load(open(path)):
        for outcome in report["outcomes"]:
            if outcome["part"] != "calibration" or not outcome["signals"]:
                continue
            xs.append(features(outcome["signals"]))
            ys.append(1.0 if outcome["answerable"] and outcome["answer_right"] else 0.0)
    weights, bias, rate, l2 = [0.0] * len(xs[0]), 0.0, 0.5, 0.01
    for _ in range(4000):
        grad, grad_bias = [0.0] * len(weights), 0.0
        for x, y in zip(xs, ys):
            p = 1.0 / (1.0 + math.exp(-(bias + sum(w * f for w, f in zip(weights, x)))))
            for i, f in enumerate(x):
                grad[i] += (p - y) * f
            grad_bias += p - y
        weights = [w - rate * (g / len(xs) + l2 * w) for w, g in zip(weights, grad)]
        bias -= rate * grad_bias / len(xs)
    print(f"{len(xs)} calibration questions, {int(sum(ys))} positive")
    print("const GATE_WEIGHTS: [f64; 7] = [" + ", ".join(f"{w:.3f}" for w in weights) + "];")
    print(f"const GATE_BIAS: f64 = {bias:.3f};")


if __name__ == "__main__":
    main(sys.argv[1])
