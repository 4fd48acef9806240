#!/usr/bin/env bash
# Installs every tool that building and testing Safebox needs, skipping the
# ones already present at the pinned version. Safe to run again.
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

log() { printf '[setup] %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
    log "installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (about 3 minutes)"
    # NOTE: --locked fails for this release because its lockfile names a
    # webpki-roots version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}"
fi

if ! trunk --version 2>/dev/null | grep -q " ${TRUNK_VERSION}\$"; then
    log "installing trunk ${TRUNK_VERSION} (about 8 minutes)"
    cargo install trunk --version "${TRUNK_VERSION}" --locked
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    log "installing chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
    log "installing the npm packages (binaryen ${BINARYEN_VERSION}, playwright-core)"
    npm ci --no-audit --no-fund --loglevel=error
fi

log "tools ready"
