#!/usr/bin/env bash
# Checks infra/template.yaml, offline:
#   1. cfn-lint 1.53.3 on the SAM template (the last release that expands SAM itself) and on the
#      template aws-sam-translator expands — no errors, no warnings;
#   2. checkov (--skip-download, cloudformation) — every finding fixed or skipped in the
#      template with a written reason, so a new finding fails here;
#   3. scripts/infra/test_template.py — the expanded template agrees with the code (event source
#      mappings report batch item failures, every variable the code reads is set, the tables,
#      indexes, queues and bucket are the ones the adapters create, least-privilege roles).
# The Python tools are pinned and live in their own virtualenvs under ~/.cache/shikayat-infra
# (checkov's dependency pins clash with cfn-lint's), installed on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION="1.53.3"
# cfn-lint 1.53.3 requires aws-sam-translator >= 1.111.0; the same translator expands for moto.
SAM_TRANSLATOR_VERSION="1.111.0"
CHECKOV_VERSION="3.2.533"
VENVS="${SHIKAYAT_INFRA_VENVS:-$HOME/.cache/shikayat-infra}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-south-1}"

say() { echo "check-infra: $*" >&2; }

# venv <dir> <import-check> <pip args…>: a virtualenv with exactly these pins.
venv() {
  local dir="$1" check="$2"
  shift 2
  if ! "$dir/bin/python" -c "$check" 2>/dev/null; then
    say "installing $* into $dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  fi
}

venv "$VENVS/lint" \
  "import boto3, cfnlint.version as v, samtranslator as s; assert v.__version__ == '$CFN_LINT_VERSION' and s.__version__ == '$SAM_TRANSLATOR_VERSION'" \
  "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION" "boto3==1.44.8"
venv "$VENVS/checkov" \
  "import checkov.version as v; assert v.version == '$CHECKOV_VERSION'" \
  "checkov==$CHECKOV_VERSION"

# --install-only: the tools, nothing checked (scripts/deploy-moto.sh needs the translator).
[[ "${1:-}" == "--install-only" ]] && exit 0

LINT_PY="$VENVS/lint/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== infra: expand the SAM template (aws-sam-translator $SAM_TRANSLATOR_VERSION)"
"$LINT_PY" scripts/infra/expand.py --out "$work/expanded.json"

echo "== infra: cfn-lint $CFN_LINT_VERSION (SAM template, then the expanded one)"
"$VENVS/lint/bin/cfn-lint" --regions "$AWS_DEFAULT_REGION" -- infra/template.yaml
"$VENVS/lint/bin/cfn-lint" --regions "$AWS_DEFAULT_REGION" -- "$work/expanded.json"

echo "== infra: checkov $CHECKOV_VERSION"
"$VENVS/checkov/bin/checkov" --skip-download --framework cloudformation --quiet --compact \
  -f infra/template.yaml

echo "== infra: the template agrees with the code"
"$LINT_PY" scripts/infra/test_template.py
