#!/usr/bin/env bash
# Counts the AWS requests one complaint costs, for the cost table in README "Deploy to AWS".
#
#   scripts/count-requests.sh            # 3 complaints; SHIKAYAT_COUNT_COMPLAINTS=10 for more
#
# Starts moto (its own PID file, stopped at the end), then runs the ignored e2e test
# `admin::count_requests_per_complaint`: each complaint goes through a desk on the AWS backend
# with SHIKAYAT_COUNT_AWS_REQUESTS set (a water complaint with a photo, accept, a report with a
# photo, satisfied, and every status callback), and it prints requests per complaint by service,
# operation and table or queue, the commands per queue (Lambda invocations, at worst one per
# command) and the S3 bytes stored.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shikayat-target}"
export SHIKAYAT_MOTO_PID_FILE="${TMPDIR:-/tmp}/shikayat-count-moto.pid"
export SHIKAYAT_MOTO_LOG="${TMPDIR:-/tmp}/shikayat-count-moto.log"
eval "$(scripts/moto.sh start)"
trap 'scripts/moto.sh stop' EXIT
cargo test --locked -p shikayat-tests --test e2e count_requests_per_complaint -- --ignored --nocapture
