#!/usr/bin/env bash
# Builds the web app and the server, then runs Safebox on this machine with
# embedded storage (SQLite and files): no cloud account needed.
#
#   scripts/run-local.sh [extra safebox-server flags]
#
# Environment: SAFEBOX_LISTEN (default 127.0.0.1:8080) and
# SAFEBOX_DATA_DIR (default ./safebox-data) are read by safebox-server.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

scripts/setup.sh

echo "[run-local] building the web app" >&2
PATH="$repo_root/node_modules/.bin:$PATH" TRUNK_SKIP_VERSION_CHECK=true \
    trunk build --release

echo "[run-local] building safebox-server and the safebox CLI" >&2
cargo build --release -p safebox-server -p safebox-cli

exec target/release/safebox-server --web-dir "$repo_root/dist" "$@"
