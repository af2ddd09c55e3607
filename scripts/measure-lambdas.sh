#!/usr/bin/env bash
# Builds the five Lambda functions as release arm64 zips with cargo-lambda (zig as the cross
# linker), reports each zip's size against its target, and times the webhook's cold start
# (process start → first poll of a local Lambda Runtime API stub) on this machine's
# architecture with the same release profile.
#
#   scripts/measure-lambdas.sh            full: release arm64 zips + init timing (slow: LTO)
#   SMOKE=1 scripts/measure-lambdas.sh    quick (CI): dev-profile arm64 build of the five functions
set -euo pipefail
cd "$(dirname "$0")/.."
# Its own target dir: release arm64 builds take long, and must not hold the lock on the tests' one.
export CARGO_TARGET_DIR="${LAMBDA_TARGET_DIR:-$HOME/.cache/shikayat-lambda-target}"

CARGO_LAMBDA_VERSION=1.9.2
ZIG_VERSION=0.15.2
FUNCTIONS=(webhook router officer-relay notifier escalator)

if ! cargo lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  echo "installing cargo-lambda $CARGO_LAMBDA_VERSION and ziglang $ZIG_VERSION from PyPI" >&2
  python3 -m pip install --quiet "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION"
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null

packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "shikayat-$f"); done

if [ "${SMOKE:-}" = 1 ]; then
  cargo lambda build --arm64 --locked "${packages[@]}"
  for f in "${FUNCTIONS[@]}"; do ls -l "$CARGO_TARGET_DIR/lambda/shikayat-$f/bootstrap"; done
  exit 0
fi
cargo lambda build --release --arm64 --output-format zip --locked "${packages[@]}"

echo
echo "| function | zip bytes | zip MB | target MB |"
echo "|---|---:|---:|---:|"
over=0
for f in "${FUNCTIONS[@]}"; do
  zip="$CARGO_TARGET_DIR/lambda/shikayat-$f/bootstrap.zip"
  bytes=$(stat -c %s "$zip")
  target=6; [ "$f" = webhook ] && target=3
  printf '| %s | %d | %.2f | %d |\n' "$f" "$bytes" "$(echo "$bytes / 1048576" | bc -l)" "$target"
  [ "$bytes" -le $((target * 1048576)) ] || over=1
done

# Cold start of the webhook: the same release profile, native, against the runtime stub.
cargo build --release --locked -p shikayat-webhook --bin shikayat-webhook
echo
AWS_REGION=ap-south-1 AWS_ACCESS_KEY_ID=measure AWS_SECRET_ACCESS_KEY=measure \
  AWS_LAMBDA_FUNCTION_NAME=webhook AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
  WHATSAPP_APP_SECRET=measure-app-secret-0123456789abcdef WHATSAPP_VERIFY_TOKEN=measure-verify-0123456789 \
  WHATSAPP_PHONE_NUMBER_ID=100000000000001 SHIKAYAT_ID_KEY=measure-id-key-0123456789abcdef0123456789 \
  SHIKAYAT_INBOUND_QUEUE_URL=http://127.0.0.1:9/000000000000/shikayat-inbound.fifo \
  SHIKAYAT_INBOUND_DLQ_URL=http://127.0.0.1:9/000000000000/shikayat-inbound-dlq.fifo \
  SHIKAYAT_RELAY_QUEUE_URL=http://127.0.0.1:9/000000000000/shikayat-relay \
  SHIKAYAT_RELAY_DLQ_URL=http://127.0.0.1:9/000000000000/shikayat-relay-dlq \
  SHIKAYAT_NOTIFY_QUEUE_URL=http://127.0.0.1:9/000000000000/shikayat-notify \
  SHIKAYAT_NOTIFY_DLQ_URL=http://127.0.0.1:9/000000000000/shikayat-notify-dlq \
  python3 scripts/lambda-runtime-stub.py "$CARGO_TARGET_DIR/release/shikayat-webhook"
[ "$over" = 0 ] || { echo "a zip is over its size target" >&2; exit 1; }
