//! Instant answers (即时答复, notice §二(二)2): answer at once only what the policy base really answers, from a
//! policy still in force, with a few sentences of the right section and their source; everything else goes
//! to a person. The gate — the signals, how they combine and the one threshold — is here and nowhere else.

use std::sync::Arc;

use serde::Serialize;

use super::case_question::is_case_question;
use super::engine::{
    Answer, AnswerResponse, Assessment, QueryContext, SearchEngine, SearchServiceError,
    best_passage, coverage,
};
use super::hybrid::Fused;
use super::lexical::policy_url;
use super::schema::DocKind;

/// A question is answered at once from this confidence up. Calibrated on the calibration half of the
/// evaluation sets and reported on the other half (`qihu eval --calibrate`, docs/search.md).
pub const ANSWER_THRESHOLD: f64 = 0.8375;
/// The same for an engine without the semantic model (lexical signals only).
pub const LEXICAL_ANSWER_THRESHOLD: f64 = 0.60;

/// What the gate saw of the best candidate answer, for calibration and for `qihu eval --dump`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GateSignals {
    /// Cosine of the question and the answer passage.
    pub cosine: f32,
    /// How far that cosine is above the best passage of any other policy.
    pub cosine_margin: f32,
    /// Weighted share of the question's key words found in the passage and its heading.
    pub coverage: f64,
    /// Whether the lexical and the semantic ranking each put the answer's policy first.
    pub lexical_first: bool,
    pub semantic_first: bool,
    /// The policy's lead over the next policy in the fused ranking, relative to its score.
    pub policy_margin: f32,
    /// 0 for the best-ranked policy, 1 for the second.
    pub policy_rank: usize,
    pub kind: DocKind,
}

impl GateSignals {
    /// Confidence in (0, 1): a logistic combination of how close the passage is to the question (and how
    /// much closer than any other policy's), how many of its key words it has, whether the two retrievers
    /// agree, and the policy's lead. The weights were fitted on the calibration half of the evaluation sets
    /// (`scripts/fit-gate.py` over `qihu eval --dump`); the threshold is chosen on the same half.
    pub fn confidence(&self) -> f64 {
        let ramp = |value: f64, low: f64, high: f64| ((value - low) / (high - low)).clamp(0.0, 1.0);
        let features = [
            ramp(f64::from(self.cosine), 0.88, 0.94),
            ramp(f64::from(self.cosine_margin), 0.0, 0.03),
            self.coverage,
            f64::from(u8::from(self.lexical_first)),
            f64::from(u8::from(self.semantic_first)),
            ramp(f64::from(self.policy_margin), 0.0, 0.5),
            f64::from(u8::from(self.policy_rank == 0)),
        ];
        let z = GATE_BIAS
            + GATE_WEIGHTS
                .iter()
                .zip(features)
                .map(|(weight, feature)| weight * feature)
                .sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// The gate's weights, in the order of the features in [`GateSignals::confidence`], and its bias.
const GATE_WEIGHTS: [f64; 7] = [0.908, 1.261, 1.475, 0.683, 0.271, 1.131, 0.503];
const GATE_BIAS: f64 = -2.757;

impl SearchEngine {
    /// Decides whether the policy base answers the question (`GET /api/answer`, `qihu ask`, the consultation
    /// path of `POST /api/requests`).
    pub fn answer(
        &self,
        raw_question: &str,
        context: &QueryContext,
    ) -> Result<AnswerResponse, SearchServiceError> {
        let question = Self::clean_query(raw_question)?;
        let key = (question, 0, context.today, context.base_path.clone());
        if let Some(cached) = self.answer_cache.get(&key) {
            return Ok(AnswerResponse::clone(&cached));
        }
        let assessment = self.assess(&key.0, context)?;
        let answered = assessment.confidence >= self.answer_threshold();
        let response = AnswerResponse {
            answered,
            confidence: (assessment.confidence * 1000.0).round() / 1000.0,
            answer: assessment.best.filter(|_| answered),
            alternatives: assessment.alternatives,
        };
        self.answer_cache.insert(key, Arc::new(response.clone()));
        Ok(response)
    }

    /// The threshold of this engine's gate.
    pub fn answer_threshold(&self) -> f64 {
        if self.is_hybrid() {
            ANSWER_THRESHOLD
        } else {
            LEXICAL_ANSWER_THRESHOLD
        }
    }

    /// The best candidate answer and its confidence, whatever the threshold (for calibrating it).
    pub fn assess(
        &self,
        raw_question: &str,
        context: &QueryContext,
    ) -> Result<Assessment, SearchServiceError> {
        let question = Self::clean_query(raw_question)?;
        let searcher = self.reader.searcher();
        let Some(fused) = self.fuse(&searcher, &question, context, 3)? else {
            return self.assess_lexical(&question, context);
        };
        let alternatives = fused
            .policies
            .iter()
            .take(3)
            .map(|ranked| self.fused_hit(&searcher, &fused, ranked, context))
            .collect::<Result<Vec<_>, _>>()?;
        let mut assessment = Assessment {
            confidence: 0.0,
            best: None,
            alternatives,
            signals: None,
        };
        // A question about the enterprise's own case needs a person, whatever the base says on the topic.
        if is_case_question(&question) {
            return Ok(assessment);
        }
        // When the best policy no longer applies, the question is about an old rule: a person answers it.
        let Some(first) = fused.policies.first() else {
            return Ok(assessment);
        };
        if !self.metas[first.policy].is_current(context.today) {
            return Ok(assessment);
        }
        if let Some((confidence, signals, answer)) = self.best_answer(&fused, context) {
            assessment.confidence = confidence;
            assessment.best = Some(answer);
            assessment.signals = Some(signals);
        }
        Ok(assessment)
    }

    /// The passage of the two best policies that answers best, with its signals.
    fn best_answer(
        &self,
        fused: &Fused,
        context: &QueryContext,
    ) -> Option<(f64, GateSignals, Answer)> {
        let semantic = self.semantic.as_ref()?;
        let searcher = self.reader.searcher();
        let weights = self.key_weights(&searcher, &fused.analysed);
        let policy_scores: Vec<f32> = fused.policies.iter().map(|r| r.score).collect();
        let mut best: Option<(f64, GateSignals, usize)> = None;
        for (policy_rank, ranked) in fused.policies.iter().take(2).enumerate() {
            let meta = &self.metas[ranked.policy];
            if !meta.is_current(context.today) {
                continue; // Notice §二(二)2 answers from the policy base, never from a policy no longer in force.
            }
            let next = policy_scores.get(policy_rank + 1).copied().unwrap_or(0.0);
            let policy_margin = if ranked.score > 0.0 {
                ((ranked.score - next) / ranked.score).max(0.0)
            } else {
                0.0
            };
            let other_best = fused
                .best_cosine
                .iter()
                .filter(|(policy, _)| **policy != ranked.policy)
                .map(|(_, cosine)| *cosine)
                .fold(0.0_f32, f32::max);
            for place in fused.places.iter().filter(|p| p.policy == ranked.policy) {
                let Some(&(index, cosine)) = self.place_passages(fused, place).first() else {
                    continue;
                };
                let passage = semantic.passage(index);
                let text = format!("{}\n{}", passage.section, passage.text);
                let signals = GateSignals {
                    cosine,
                    cosine_margin: cosine - other_best,
                    coverage: coverage(&fused.analysed.key_terms, &weights, &text),
                    lexical_first: fused.lexical_top == Some(ranked.policy),
                    semantic_first: fused.semantic_top == Some(ranked.policy),
                    policy_margin,
                    policy_rank,
                    kind: place.kind,
                };
                let confidence = signals.confidence();
                if best
                    .as_ref()
                    .is_none_or(|(known, _, _)| confidence > *known)
                {
                    best = Some((confidence, signals, index));
                }
            }
        }
        let (confidence, signals, index) = best?;
        let passage = semantic.passage(index);
        let meta = &self.metas[passage.policy as usize];
        let text = match passage.kind {
            DocKind::Faq => passage.text.clone(),
            _ => best_passage(&passage.text, &fused.analysed.key_terms),
        };
        Some((
            confidence,
            signals,
            Answer {
                text,
                slug: meta.slug.clone(),
                title: meta.title.clone(),
                doc_number: meta.doc_number.clone(),
                url: policy_url(&context.base_path, &meta.slug, &passage.anchor),
                section: (passage.kind != DocKind::Policy).then(|| passage.section.clone()),
                article: passage.article.clone(),
            },
        ))
    }
}
