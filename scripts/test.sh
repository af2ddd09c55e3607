#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit tests, the adapters' tests and
# the end-to-end scenarios (which start shikayat-local and a Graph API simulator themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

# One shared target directory across runs: the dependency build is the slow part.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shikayat-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked "$@"
