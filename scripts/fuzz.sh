#!/usr/bin/env bash
# The property (fuzz) test of the webhook's parse and split and of command decoding
# (functions/core/tests/fuzz.rs) at full scale: a million generated inputs, optimised (the
# `bench` profile: opt-level 3, thin LTO; only shikayat-core and its few dependencies build).
# Prints cases/s and the panic count; a failure prints the seed to replay it.
#
#   scripts/fuzz.sh                       # FUZZ_CASES=1000000, a fresh seed
#   FUZZ_SEED=<seed> scripts/fuzz.sh      # replay a run
#   FUZZ_CASES=20000 scripts/fuzz.sh      # what the test suite runs (there in debug)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shikayat-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export FUZZ_CASES="${FUZZ_CASES:-1000000}"

cargo test --locked --profile bench -p shikayat-core --test fuzz -- --nocapture
