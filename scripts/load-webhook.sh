#!/usr/bin/env bash
# HTTP load on the local runner's webhook: builds shikayat-local (bench profile: optimised, thin
# LTO), starts it on a free loopback port with a temp data dir and the built-in simulator, POSTs
# signed WhatsApp notifications to /webhook with wrk, prints requests/s and latency percentiles,
# then stops the runner with SIGTERM.
#
#   LOAD_SECONDS      how long wrk runs (default 10)
#   LOAD_CONNECTIONS  concurrent keep-alive connections (default 8)
#   LOAD_THREADS      wrk threads (default 2)
#   LOAD_BODIES       unique: every request is a new message (a fresh wamid), so each one is a
#                     durable enqueue, fsync included (default);
#                     fixed: one body over and over, i.e. Meta redelivering the same notification:
#                     after the first, the FIFO dedupe drops each one inside the same transaction
#   LOAD_POOL         how many distinct signed bodies to prepare in unique mode (default 6000 per
#                     second of LOAD_SECONDS); past that, wrk wraps round and sends duplicates
#
# Needs curl and python3 (standard library only, to prepare the signed bodies), and wrk, which
# is installed with apt-get when missing and we are root. Nothing listens beyond 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shikayat-target}"

export LOAD_SECONDS="${LOAD_SECONDS:-10}"
export LOAD_CONNECTIONS="${LOAD_CONNECTIONS:-8}"
LOAD_THREADS="${LOAD_THREADS:-2}"
export LOAD_BODIES="${LOAD_BODIES:-unique}"
case "$LOAD_BODIES" in
  unique) LOAD_POOL="${LOAD_POOL:-$((LOAD_SECONDS * 6000))}" ;;
  fixed) LOAD_POOL=1 ;;
  *) echo "LOAD_BODIES must be unique or fixed, not ${LOAD_BODIES}" >&2; exit 2 ;;
esac
# The runner's simulator default; the runner reads the same variable if it is set.
APP_SECRET="${WHATSAPP_APP_SECRET:-sandbox-app-secret-not-for-real-use}"

for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
if ! command -v wrk >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is required (apt-get install wrk)" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
source scripts/local-runner.sh
runner_build

echo "== preparing ${LOAD_POOL} signed ${LOAD_BODIES} bodies"
python3 - "$work/pool.tsv" "$LOAD_POOL" "$APP_SECRET" <<'PY'
import hashlib, hmac, json, sys, time

path, count, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
now = int(time.time())
people = [("सुनीता देवी", "919812345678"), ("Ramesh Kumar", "919839012345")]
text = ("नमस्ते, हमारे गाँव रामपुर (ब्लॉक जगदीशपुर) में 3 दिन से हैंडपंप खराब है। "
        "पानी की बहुत दिक्कत है/कृपया जल्दी ठीक करवाएँ।")
with open(path, "w") as out:
    for n in range(count):
        name, wa_id = people[n % len(people)]
        note = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": "916391363636",
                                   "phone_number_id": "100000000000001"},
                      "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                      "messages": [{"from": wa_id, "id": f"wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgU{n:020X}AA==",
                                    "timestamp": str(now + n // 1000), "type": "text",
                                    "text": {"body": text}}]},
            "field": "messages"}]}]}
        # As Meta writes it: compact, non-ASCII as \uXXXX, and "/" as "\/".
        body = json.dumps(note, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
        sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        out.write(f"{sig}\t{body.decode()}\n")
PY

runner_start

echo "== wrk: ${LOAD_SECONDS}s, ${LOAD_CONNECTIONS} connections, ${LOAD_THREADS} threads," \
  "${LOAD_BODIES} bodies"
wrk -t"$LOAD_THREADS" -c"$LOAD_CONNECTIONS" -d"${LOAD_SECONDS}s" --timeout 10s \
  -s scripts/load-webhook.lua "http://$addr/webhook" -- "$work/pool.tsv" "$LOAD_THREADS" | tee "$work/wrk.out"
# The row printed by the Lua `done`: | bodies | connections | seconds | requests | … | non-2xx | socket errors |
read -r sent refused broken < <(awk -F'|' '$2 ~ /^ (unique|fixed) $/ {print $5, $12, $13}' "$work/wrk.out")
if [[ "$LOAD_BODIES" == unique && "$sent" -gt "$LOAD_POOL" ]]; then
  echo "note: ${sent} requests for ${LOAD_POOL} distinct bodies; the rest were duplicates (raise LOAD_POOL)"
fi

runner_stop
status="$runner_status"
# Warnings are expected: the simulator refuses replies with 131047, as these citizens never
# messaged through it (their 24-hour window is closed). Errors are not.
if [[ "$runner_errors" -gt 0 ]]; then
  grep '"level":"ERROR"' "$work/runner.log" | head -n 5 >&2
fi
if [[ "$refused" -gt 0 || "$broken" -gt 0 ]]; then
  echo "${refused} responses were not 2xx and ${broken} requests hit socket errors" >&2
  status=1
fi
exit "$status"
