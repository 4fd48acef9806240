#!/usr/bin/env bash
# Lints the AWS deployment template with cfn-lint and checkov, installing
# both (pinned) into .venv-tools/ when missing. Exits non-zero on any
# finding that the template does not suppress with a reason.
#
#   scripts/lint-deploy.sh [TEMPLATE]   (default deploy/template.yaml)
#   scripts/lint-deploy.sh --install-only
set -euo pipefail

CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
template="${1:-deploy/template.yaml}"
venv="$repo_root/.venv-tools"

log() { printf '[lint-deploy] %s\n' "$*" >&2; }

installed_version() {
    "$venv/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv"
fi
if [ "$(installed_version cfn-lint)" != "$CFN_LINT_VERSION" ] ||
   [ "$(installed_version checkov)" != "$CHECKOV_VERSION" ]; then
    log "installing cfn-lint $CFN_LINT_VERSION and checkov $CHECKOV_VERSION"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION"
fi

if [ "$template" = "--install-only" ]; then
    exit 0
fi

log "cfn-lint $template"
"$venv/bin/cfn-lint" "$template"

log "checkov $template"
# Checks are suppressed in the template itself, each with its reason.
"$venv/bin/checkov" --quiet --compact --framework cloudformation \
    --skip-download --file "$template"

log "no findings"
