#!/usr/bin/env bash
# The whole local desk under load, measured from outside: builds shikayat-local (bench profile),
# starts it on a free loopback port with a temp data dir and the built-in simulator, POSTs N
# signed complaints from N distinct citizens to /webhook as fast as the answers come back, and
# watches the simulator's accepted sends (GET /sim/api/sent) for each citizen's acknowledgement.
# Prints complaints acknowledged per second, webhook latency, acknowledgement latency (from just
# before the POST to the simulator accepting the ack), and how many citizens heard nothing (lost)
# or more than once (doubled); then stops the runner with SIGTERM. Fails if any was lost or
# doubled or a POST was not answered 2xx.
#
#   LOAD_COMPLAINTS   how many complaints, one citizen each (default 3000; SMOKE=1: 200)
#   LOAD_CONNECTIONS  concurrent keep-alive posters (default 8)
#   LOAD_ACK_TIMEOUT  seconds to wait for the acknowledgements after the last POST (default 60)
#   LOAD_RATE         complaints per second to offer (open loop: the n-th POST goes no sooner
#                     than n/LOAD_RATE s after the first); unset or 0: as fast as answered, i.e.
#                     the desk's saturation, where the ack latency is mostly the backlog's wait
#   SMOKE=1           the short run for CI
#
# The runner runs with SHIKAYAT_SIM_ENFORCE_WINDOW=0: the bodies go straight to the webhook, so
# the simulator never saw these citizens write and would otherwise refuse the free-form ack
# (131047) that Meta accepts; and with SHIKAYAT_SETTLE_SECONDS=3600, so no complaint is forwarded
# to an officer during the run. The simulator models Meta's pair rate only when asked (it is
# off here; every ack goes to a different citizen anyway) and no per-number throughput cap, so
# the figures are the desk's own, not a messaging tier's.
#
# Needs curl and python3 (standard library only). Nothing listens beyond 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shikayat-target}"

if [[ "${SMOKE:-0}" == 1 ]]; then
  LOAD_COMPLAINTS="${LOAD_COMPLAINTS:-200}"
else
  LOAD_COMPLAINTS="${LOAD_COMPLAINTS:-3000}"
fi
LOAD_CONNECTIONS="${LOAD_CONNECTIONS:-8}"
LOAD_ACK_TIMEOUT="${LOAD_ACK_TIMEOUT:-60}"
LOAD_RATE="${LOAD_RATE:-0}"
# The runner's simulator default; the runner reads the same variable if it is set.
APP_SECRET="${WHATSAPP_APP_SECRET:-sandbox-app-secret-not-for-real-use}"

for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

work="$(mktemp -d)"
source scripts/local-runner.sh
runner_build

echo "== preparing ${LOAD_COMPLAINTS} signed complaints from as many citizens"
python3 scripts/load-local.py prepare "$work/bodies.tsv" "$LOAD_COMPLAINTS" "$APP_SECRET"

runner_start SHIKAYAT_SIM_ENFORCE_WINDOW=0 SHIKAYAT_SETTLE_SECONDS=3600

echo "== posting ${LOAD_COMPLAINTS} complaints over ${LOAD_CONNECTIONS} connections" \
  "($([[ "$LOAD_RATE" == 0 ]] && echo "as fast as answered" || echo "${LOAD_RATE}/s offered"))"
status=0
python3 scripts/load-local.py run "$work/bodies.tsv" "$addr" "$LOAD_CONNECTIONS" "$LOAD_ACK_TIMEOUT" \
  "$work/result.json" "$LOAD_RATE" || status=1

runner_stop
[[ "$runner_status" -eq 0 ]] || status=1
if [[ "$runner_warnings" -gt 0 || "$runner_errors" -gt 0 ]]; then
  grep -E '"level":"(WARN|ERROR)"' "$work/runner.log" | head -n 5 >&2
fi
[[ "$runner_errors" -eq 0 ]] || status=1
[[ "$status" -eq 0 ]] || echo "FAILED: see above" >&2
exit "$status"
