#!/usr/bin/env bash
# Runs every Safebox test on this machine: installs the tools it needs,
# checks formatting and lints, then runs the Rust tests, the browser-side
# WASM tests and the browser end-to-end suite.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { printf '\n[test] == %s ==\n' "$*" >&2; }

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
cargo test --workspace --exclude safebox-web

step "WASM tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver \
    cargo test -p safebox-web --target wasm32-unknown-unknown

step "building the web app"
PATH="$repo_root/node_modules/.bin:$PATH" TRUNK_SKIP_VERSION_CHECK=true \
    trunk build --release

step "browser end-to-end tests"
cargo build -p safebox-server -p safebox-cli
node --test --test-concurrency=1 e2e/

step "all tests passed"
