#!/usr/bin/env bash
# Installs the tools the AWS backend needs for its tests and its build,
# skipping those already present at the pinned version. Safe to run again.
#
# - s3s-fs: the S3 API server the AWS backend tests start on loopback;
# - dynalite (npm, pinned in package.json): the DynamoDB API server;
# - cargo-lambda (PyPI, with zig): builds the Lambda bootstrap binary;
# - cfn-lint and checkov: scripts/lint-deploy.sh installs them into
#   .venv-tools/ on first use.
#
# With --lint-tools it also installs cfn-lint and checkov right away.
set -euo pipefail

S3S_FS_VERSION=0.14.1
CARGO_LAMBDA_VERSION=1.9.2

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

log() { printf '[setup-aws] %s\n' "$*" >&2; }

if ! s3s-fs --version 2>/dev/null | grep -q " ${S3S_FS_VERSION}\$"; then
    log "installing s3s-fs ${S3S_FS_VERSION} (about 2 minutes)"
    # 0.15 and later need a newer Rust than this project's 1.95.
    cargo install s3s-fs --version "${S3S_FS_VERSION}" --locked --features binary
fi

if [ ! -x node_modules/.bin/dynalite ]; then
    log "installing the npm packages (dynalite among them)"
    npm ci --no-audit --no-fund --loglevel=error
fi

if ! cargo lambda --version 2>/dev/null | grep -q " ${CARGO_LAMBDA_VERSION}"; then
    log "installing cargo-lambda ${CARGO_LAMBDA_VERSION}"
    python3 -m pip install --quiet --disable-pip-version-check \
        "cargo-lambda==${CARGO_LAMBDA_VERSION}"
fi

if [ "${1:-}" = "--lint-tools" ]; then
    scripts/lint-deploy.sh --install-only
fi

log "AWS tools ready"
