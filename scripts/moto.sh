#!/usr/bin/env bash
# Starts or stops a moto server (DynamoDB, S3, SQS … on one loopback port) for the AWS tests.
#
#   eval "$(scripts/moto.sh start)"   # prints: export SHIKAYAT_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT
#   scripts/moto.sh stop              # stops the server started above, by its PID
#
# Only the export line goes to stdout; everything for people goes to stderr.
set -euo pipefail

MOTO_VERSION="5.2.5"
STATE_DIR="${TMPDIR:-/tmp}"
PID_FILE="${SHIKAYAT_MOTO_PID_FILE:-$STATE_DIR/shikayat-moto.pid}"
LOG_FILE="${SHIKAYAT_MOTO_LOG:-$STATE_DIR/shikayat-moto.log}"
WAIT_SECONDS="${SHIKAYAT_MOTO_WAIT:-30}"

say() { echo "moto.sh: $*" >&2; }

ensure_moto() {
  local have
  have="$(python3 -c 'import moto, flask; print(moto.__version__)' 2>/dev/null || true)"
  if [[ "$have" != "$MOTO_VERSION" ]]; then
    say "installing moto[server]==$MOTO_VERSION (found: ${have:-none})"
    python3 -m pip install --quiet "moto[server]==$MOTO_VERSION" >&2
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    say "a moto server is already running (PID $(cat "$PID_FILE")); stop it first"
    exit 1
  fi
  ensure_moto
  local port url pid
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  # setsid: its own session, so a Ctrl-C in the caller's terminal does not reach it.
  setsid python3 -m moto.server -H 127.0.0.1 -p "$port" >"$LOG_FILE" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  local waited=0
  until curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "moto exited during start-up; last lines of $LOG_FILE:"
      tail -n 20 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      exit 1
    fi
    if (( waited >= WAIT_SECONDS * 10 )); then
      say "moto did not answer on $url/moto-api/ within ${WAIT_SECONDS}s; last lines of $LOG_FILE:"
      tail -n 20 "$LOG_FILE" >&2 || true
      kill "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  say "moto $MOTO_VERSION on $url (PID $pid, log $LOG_FILE)"
  echo "export SHIKAYAT_TEST_AWS_ENDPOINT=$url"
}

stop() {
  if [[ ! -f "$PID_FILE" ]]; then
    say "no PID file at $PID_FILE: nothing to stop"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    say "stopped moto (PID $pid)"
  else
    say "moto (PID $pid) was not running"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    say "usage: $0 start|stop"
    exit 2
    ;;
esac
