# Sourced by the load scripts (scripts/load-webhook.sh, scripts/load-local.sh): builds
# shikayat-local with the bench profile, starts it on a free loopback port with a temp data dir
# and the built-in simulator, and stops it with SIGTERM, reading its JSON log.
#
#   runner_build              sets $bin
#   runner_start [VAR=value]  starts "$bin" with these extra variables; sets $runner_pid, $addr
#   runner_stop               SIGTERM (SIGKILL after 30 s); sets $runner_status (0 or 1),
#                             $runner_warnings and $runner_errors (lines at that level)
#
# The caller sets $work (a temp dir, removed on exit with the runner stopped).

runner_pid=""
runner_cleanup() {
  if [[ -n "$runner_pid" ]] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap runner_cleanup EXIT

runner_build() {
  echo "== building shikayat-local (--profile bench)"
  bin="$(cargo build --locked --profile bench -p shikayat-local --bin shikayat-local \
    --message-format=json-render-diagnostics | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
  [[ -x "$bin" ]] || { echo "could not find the built shikayat-local" >&2; exit 1; }
}

runner_fail_with_log() {
  echo "$1; the end of its log:" >&2
  tail -n 20 "$work/runner.log" >&2
  exit 1
}

runner_start() {
  echo "== starting the runner"
  env SHIKAYAT_LISTEN=127.0.0.1:0 SHIKAYAT_DATA_DIR="$work/data" SHIKAYAT_LOG_FORMAT=json \
    SHIKAYAT_LOG="${SHIKAYAT_LOG:-warn,shikayat_local=info}" WHATSAPP_API_BASE_URL="" \
    "$@" "$bin" 2>"$work/runner.log" &
  runner_pid=$!
  addr=""
  for _ in $(seq 1 300); do
    kill -0 "$runner_pid" 2>/dev/null || runner_fail_with_log "the runner exited"
    addr="$(grep -o '"addr":"127\.0\.0\.1:[0-9]*"' "$work/runner.log" | head -n 1 | cut -d'"' -f4 || true)"
    if [[ -n "$addr" ]] && curl -fsS "http://$addr/healthz" >/dev/null 2>&1; then
      break
    fi
    addr=""
    sleep 0.1
  done
  [[ -n "$addr" ]] || runner_fail_with_log "the runner did not answer /healthz"
  echo "runner pid ${runner_pid} on ${addr}"
}

runner_stop() {
  echo "== stopping the runner (SIGTERM)"
  runner_status=0
  kill -TERM "$runner_pid"
  for _ in $(seq 1 300); do
    kill -0 "$runner_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$runner_pid" 2>/dev/null; then
    echo "the runner did not stop within 30 s; killing it" >&2
    kill -KILL "$runner_pid"
    runner_status=1
  fi
  wait "$runner_pid" || { echo "the runner exited with $?" >&2; runner_status=1; }
  runner_pid=""
  grep -q '"stopped"' "$work/runner.log" && echo "runner stopped cleanly"
  runner_warnings="$(grep -c '"level":"WARN"' "$work/runner.log" || true)"
  runner_errors="$(grep -c '"level":"ERROR"' "$work/runner.log" || true)"
  echo "runner log: ${runner_warnings} warnings, ${runner_errors} errors"
}
