#!/usr/bin/env bash
# The fault-injection scenarios at full size (200 complaints each unless FAULT_COMPLAINTS says
# otherwise): every webhook body delivered 3 times, Graph calls failing (5xx, 429/131056, dropped),
# and shikayat-local killed with SIGKILL under a steady stream. Prints one figure line per scenario.
# FAULT_SEED replays a run's shuffles, kill moments and Graph faults.
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shikayat-target}"
export FAULT_COMPLAINTS="${FAULT_COMPLAINTS:-200}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test -p shikayat-tests --test e2e faults -- --nocapture --test-threads=1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo
echo "== figures ($FAULT_COMPLAINTS complaints per scenario)"
grep -ao 'faults: [a-zA-Z].*' "$log" || echo "(no figures: the scenarios did not get that far)"
exit "$status"
