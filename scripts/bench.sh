#!/usr/bin/env bash
# Measures Safebox's throughput and prints the figures as tables: the
# content format against the bare aes-gcm crate, a local upload and
# download with the CLI against cp, and WebCrypto against the aes-gcm crate
# in WASM in headless Chromium. Each ratio compares two measurements of the
# same run. docs/BENCHMARKS.md explains every figure.
#
# Usage: scripts/bench.sh [--no-browser]
#
# Benchmarks check no behaviour, so neither scripts/test.sh nor CI runs
# this. It needs the tools of scripts/setup.sh (run that first) and builds
# in release mode; set CARGO_BUILD_JOBS to limit the build's parallelism.
set -euo pipefail
export LC_ALL=C

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Size of the end-to-end test file in MB (10^6 bytes), and how many
# upload, download and cp rounds it gets. The best round counts.
FILE_MB=200
ROUNDS=3
SERVER_START_TIMEOUT=20

log() { printf '[bench] %s\n' "$*" >&2; }
fail() {
    log "error: $*"
    exit 1
}

browser=yes
for arg in "$@"; do
    case "$arg" in
        --no-browser) browser=no ;;
        -h | --help)
            sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *)
            log "error: unknown argument '$arg'; the only option is --no-browser"
            exit 2
            ;;
    esac
done

workdir=""
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$workdir" ]; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the seconds elapsed since $1, a value of EPOCHREALTIME.
seconds_since() {
    awk -v start="$1" -v end="$EPOCHREALTIME" 'BEGIN { printf "%.3f", end - start }'
}

# Prints the smaller of two durations in seconds. An empty $1 means that
# there is no duration yet, so $2 is printed.
min_seconds() {
    awk -v best="$1" -v new="$2" 'BEGIN { print (best == "" || new < best) ? new : best }'
}

# Prints one row: operation, seconds, MB/s and the ratio of its throughput
# to the baseline's, which is baseline seconds divided by these seconds.
print_row() {
    local operation=$1 seconds=$2 baseline=$3
    awk -v op="$operation" -v s="$seconds" -v base="$baseline" -v mb="$FILE_MB" \
        'BEGIN { printf "%-40s %8.3f %9.0f %7.2f\n", op, s, mb / s, base / s }'
}

# Replaces every URL fragment with a placeholder, so that a link the CLI
# echoes in an error message is not printed.
redact_links() {
    sed 's/#[^[:space:]]*/#<redacted>/g'
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    node -e '
        const server = require("node:net").createServer();
        server.listen(0, "127.0.0.1", () => {
            console.log(server.address().port);
            server.close();
        });'
}

measure_format() {
    log "format overhead: safebox-crypto against the aes-gcm crate"
    echo
    target/release/examples/throughput
}

start_server() {
    mkdir -p "$workdir/web"
    target/release/safebox-server \
        --listen 127.0.0.1:0 \
        --backend local \
        --data-dir "$workdir/data" \
        --web-dir "$workdir/web" \
        >"$workdir/server.out" 2>"$workdir/server.log" &
    server_pid=$!

    local waited=0
    server_url=""
    while [ -z "$server_url" ]; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            tail -n 20 "$workdir/server.log" >&2
            fail "safebox-server exited during startup; its log is above"
        fi
        if [ "$waited" -ge $((SERVER_START_TIMEOUT * 10)) ]; then
            fail "safebox-server did not report its address within ${SERVER_START_TIMEOUT} s"
        fi
        sleep 0.1
        waited=$((waited + 1))
        server_url=$(sed -n 's|^Safebox server listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' \
            "$workdir/server.out")
    done
}

measure_end_to_end() {
    log "end to end: writing a ${FILE_MB} MB random file"
    local file="$workdir/payload.bin" copy="$workdir/copy.bin" received="$workdir/received.bin"
    head -c "$((FILE_MB * 1000000))" /dev/urandom >"$file"
    local expected_sha
    expected_sha=$(sha256sum <"$file" | cut -d ' ' -f 1)

    start_server
    log "end to end: safebox-server is listening on 127.0.0.1"

    local round start seconds link received_sha
    local best_cp="" best_upload="" best_download=""
    for round in $(seq 1 "$ROUNDS"); do
        log "end to end: round $round of $ROUNDS"
        rm -f "$copy" "$received"

        start=$EPOCHREALTIME
        cp "$file" "$copy"
        seconds=$(seconds_since "$start")
        best_cp=$(min_seconds "$best_cp" "$seconds")

        # The link is a secret: it stays in this variable and is never printed.
        start=$EPOCHREALTIME
        if ! link=$(target/release/safebox upload "$file" --quiet --expires 1h \
            --server "$server_url" 2>"$workdir/cli.err" | tail -n 1); then
            redact_links <"$workdir/cli.err" >&2
            fail "safebox upload failed in round $round; its messages are above"
        fi
        seconds=$(seconds_since "$start")
        best_upload=$(min_seconds "$best_upload" "$seconds")
        if [[ "$link" != http://127.0.0.1:*"#"* ]]; then
            fail "safebox upload did not print a link on its last line in round $round"
        fi

        start=$EPOCHREALTIME
        if ! target/release/safebox download "$link" --quiet --output "$received" \
            --server "$server_url" 2>"$workdir/cli.err"; then
            redact_links <"$workdir/cli.err" >&2
            fail "safebox download failed in round $round; its messages are above"
        fi
        seconds=$(seconds_since "$start")
        best_download=$(min_seconds "$best_download" "$seconds")
        link=""

        received_sha=$(sha256sum <"$received" | cut -d ' ' -f 1)
        if [ "$received_sha" != "$expected_sha" ]; then
            fail "the downloaded file's SHA-256 differs from the uploaded file's in round $round"
        fi
    done

    echo
    echo "local end to end: ${FILE_MB} MB random file, best of ${ROUNDS} rounds, MB = 10^6 bytes"
    printf '%-40s %8s %9s %7s\n' "operation" "seconds" "MB/s" "ratio"
    print_row "cp, same disk (baseline)" "$best_cp" "$best_cp"
    print_row "safebox upload (encrypt, send)" "$best_upload" "$best_cp"
    print_row "safebox download (receive, decrypt)" "$best_download" "$best_cp"
    echo "SHA-256 of every download matched the uploaded file"
}

measure_browser() {
    # The page's build profile (opt-level "s"), so the WASM crate is compiled
    # as the page has it, except that Trunk also runs wasm-opt on the page.
    log "browser: building and running web/benches/record_cipher.rs in headless Chromium"

    # Chromium contacts update and account hosts in the background despite
    # --disable-background-networking, so non-loopback requests go to a
    # closed local port and no other host name resolves, as in e2e/harness.mjs.
    local closed_port
    closed_port=$(free_port)
    cat >"$workdir/webdriver.json" <<EOF
{
  "goog:chromeOptions": {
    "binary": "/usr/bin/chromium",
    "args": [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--proxy-server=http://127.0.0.1:${closed_port}",
      "--proxy-bypass-list=127.0.0.1;localhost;[::1]",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
    ]
  }
}
EOF

    local status=0
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    CHROMEDRIVER=/usr/bin/chromedriver \
    WASM_BINDGEN_TEST_WEBDRIVER_JSON="$workdir/webdriver.json" \
    WASM_BINDGEN_BENCH_RESULT="$workdir/wbg_benchmark.json" \
    WASM_BINDGEN_TEST_TIMEOUT=600 \
        cargo bench -p safebox-web --target wasm32-unknown-unknown --profile release-wasm \
        --bench record_cipher \
        >"$workdir/browser.out" 2>"$workdir/browser.err" || status=$?
    if [ "$status" -ne 0 ] || ! grep -q '^bench: ' "$workdir/browser.out"; then
        tail -n 40 "$workdir/browser.err" "$workdir/browser.out" >&2
        fail "the browser benchmark failed (exit status $status); its output is above"
    fi

    echo
    echo "browser, headless Chromium: $(chromium --version 2>/dev/null || echo 'version unknown')"
    sed -n 's/^bench: //p' "$workdir/browser.out"
}

log "building safebox-server, the safebox CLI and the throughput example (release)"
cargo build --release -p safebox-server -p safebox-cli
cargo build --release -p safebox-crypto --example throughput

workdir=$(mktemp -d "${TMPDIR:-/tmp}/safebox-bench.XXXXXX")

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then
    commit="$commit with uncommitted changes"
fi
echo "Safebox benchmarks: commit $commit, $(date -u +%Y-%m-%d), $(nproc) CPU cores"
measure_format
measure_end_to_end
if [ "$browser" = yes ]; then
    measure_browser
else
    log "browser: skipped (--no-browser)"
fi
