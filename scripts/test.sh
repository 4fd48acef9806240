#!/usr/bin/env bash
# Runs every Safebox test on this machine: installs the tools it needs,
# checks formatting and lints, then runs the Rust tests, the browser-side
# WASM tests and the browser end-to-end suite.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

started=$SECONDS
step() {
    printf '\n[test] == %s == (%d s since start, %s)\n' \
        "$*" "$((SECONDS - started))" "$(date -u +%H:%M:%S)" >&2
}

# Runs a command, stopping it after a number of minutes, so that a hung
# test fails the run with its name instead of using up CI's time.
limited() {
    local minutes=$1
    shift
    local status=0
    timeout --kill-after=30 "$((minutes * 60))" "$@" || status=$?
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        printf '[test] stopped after %d minutes: %s\n' "$minutes" "$*" >&2
    fi
    return "$status"
}

step "installing tools"
scripts/setup.sh
scripts/setup-aws-tools.sh --lint-tools

step "formatting"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --exclude safebox-web --all-targets -- -D warnings
cargo clippy -p safebox-web --target wasm32-unknown-unknown --all-targets -- -D warnings

step "deployment template lint (cfn-lint, checkov)"
scripts/lint-deploy.sh

step "Rust tests (crypto, server with both backends, CLI)"
limited 30 cargo test --workspace --exclude safebox-web

step "WASM tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver \
    limited 20 cargo test -p safebox-web --target wasm32-unknown-unknown

step "building the web app"
PATH="$repo_root/node_modules/.bin:$PATH" TRUNK_SKIP_VERSION_CHECK=true \
    trunk build --release

step "browser end-to-end tests"
cargo build -p safebox-server -p safebox-cli
limited 20 node --test --test-concurrency=1 --test-timeout=300000 e2e/

step "all tests passed"
