#!/usr/bin/env bash
# Deploys infra/template.yaml onto a moto server as a CloudFormation stack named {prefix}desk and
# prints its outputs as JSON (scripts/infra/deploy_moto.py says how and what moto leaves out).
#
#   scripts/deploy-moto.sh --endpoint "$SHIKAYAT_TEST_AWS_ENDPOINT" --prefix dev1-
#
# The AWS end-to-end run (SHIKAYAT_E2E_PROVISION=stack) deploys one stack per desk this way.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-infra.sh --install-only
exec "${SHIKAYAT_INFRA_VENVS:-$HOME/.cache/shikayat-infra}/lint/bin/python" scripts/infra/deploy_moto.py "$@"
