//! Throughput of the page's two record ciphers in a real browser: WebCrypto
//! (`crypto.subtle`) against the `aes-gcm` crate compiled to WASM, on the
//! same 1 MiB records under the same key. `scripts/bench.sh` runs it with
//! the browser settings it needs, and `docs/BENCHMARKS.md` describes it.
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
//!     cargo bench -p safebox-web --target wasm32-unknown-unknown \
//!     --profile release-wasm --bench record_cipher
//! ```
//!
//! Records go to the cipher in batches of 16 through `start_seal` and
//! `start_open`, and the batch is awaited after the last one started, as
//! the page's upload does. The figures are the output lines that start
//! with `bench:`.

use safebox_crypto::{Header, LinkSecret};
use safebox_web::cipher::RecordCipher;
use wasm_bindgen_test::{Criterion, console_log, wasm_bindgen_bench, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const RECORD_SIZE: usize = 1024 * 1024;
const RECORD_COUNT: usize = 32;
/// Records started before the first of them is awaited, as in the page's
/// upload.
const BATCH_RECORDS: usize = 16;
const RUNS: usize = 5;

// The runner's `--bench` mode runs this outside the test suite and shows
// console output. The timing is done here, not by the bundled Criterion, so
// that the output has MB/s and ratios in the same form as the other figures.
#[wasm_bindgen_bench]
#[allow(
    clippy::panic,
    reason = "a panic is how wasm-bindgen-test marks a run as failed"
)]
async fn record_ciphers(_criterion: &mut Criterion) {
    if let Err(message) = measure().await {
        panic!("browser benchmark failed: {message}");
    }
}

/// One measured operation: best time in milliseconds and its output.
struct Measured {
    millis: f64,
    records: Vec<Vec<u8>>,
}

async fn measure() -> Result<(), String> {
    let record_size = u32::try_from(RECORD_SIZE).map_err(|error| error.to_string())?;
    let header = Header::new(record_size).map_err(|error| error.to_string())?;
    let secret = LinkSecret::generate();
    let subtle = RecordCipher::subtle(&secret.content_key(&header))
        .await
        .map_err(|error| error.to_string())?;
    let portable = RecordCipher::portable(secret.content_key(&header));

    // AES-GCM takes the same time for any bytes, so a pattern will do.
    let plaintext: Vec<Vec<u8>> = (0..RECORD_COUNT)
        .map(|record| {
            (0..RECORD_SIZE)
                .map(|i| ((i + record * 7) % 251) as u8)
                .collect()
        })
        .collect();

    let portable_seal = best_of(|| seal_all(&portable, &plaintext)).await?;
    let subtle_seal = best_of(|| seal_all(&subtle, &plaintext)).await?;
    if subtle_seal.records != portable_seal.records {
        return Err("WebCrypto and the WASM crate sealed different bytes".into());
    }

    let portable_open = best_of(|| open_all(&portable, &portable_seal.records)).await?;
    let subtle_open = best_of(|| open_all(&subtle, &portable_seal.records)).await?;
    if portable_open.records != plaintext || subtle_open.records != plaintext {
        return Err("a cipher did not return the plaintext".into());
    }

    console_log!("bench: {RECORD_COUNT} records of 1 MiB, best of {RUNS} runs, MB = 10^6 bytes");
    console_log!("bench: {:<44} {:>9} {:>7}", "operation", "MB/s", "ratio");
    print_row(
        "seal: aes-gcm crate in WASM (baseline)",
        &portable_seal,
        &portable_seal,
    );
    print_row(
        "seal: WebCrypto (crypto.subtle)",
        &subtle_seal,
        &portable_seal,
    );
    print_row(
        "open: aes-gcm crate in WASM (baseline)",
        &portable_open,
        &portable_open,
    );
    print_row(
        "open: WebCrypto (crypto.subtle)",
        &subtle_open,
        &portable_open,
    );
    Ok(())
}

/// Runs `work` [`RUNS`] times and returns the shortest time, with the output
/// of the last run.
async fn best_of<F, Fut>(mut work: F) -> Result<Measured, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Vec<Vec<u8>>, String>>,
{
    let mut best = Measured {
        millis: f64::INFINITY,
        records: Vec::new(),
    };
    for _ in 0..RUNS {
        let start = now()?;
        let records = work().await?;
        let millis = now()? - start;
        best.millis = best.millis.min(millis);
        best.records = records;
    }
    Ok(best)
}

/// Prints throughput and the ratio of this row's throughput to the
/// baseline's: 3.00 means three times as fast as the WASM crate.
fn print_row(operation: &str, measured: &Measured, baseline: &Measured) {
    let bytes = (RECORD_COUNT * RECORD_SIZE) as f64;
    let megabytes_per_second = bytes / (measured.millis / 1000.0) / 1e6;
    let ratio = baseline.millis / measured.millis;
    console_log!("bench: {operation:<44} {megabytes_per_second:>9.0} {ratio:>7.2}");
}

async fn seal_all(cipher: &RecordCipher, plaintext: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    let mut sealed = Vec::with_capacity(plaintext.len());
    for (batch_number, batch) in plaintext.chunks(BATCH_RECORDS).enumerate() {
        let first = batch_number * BATCH_RECORDS;
        let pending: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(offset, record)| {
                let index = first + offset;
                cipher.start_seal(index as u64, index + 1 == plaintext.len(), record)
            })
            .collect();
        for seal in pending {
            sealed.push(seal.finish().await.map_err(|error| error.to_string())?);
        }
    }
    Ok(sealed)
}

async fn open_all(cipher: &RecordCipher, sealed: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    let mut opened = Vec::with_capacity(sealed.len());
    for (batch_number, batch) in sealed.chunks(BATCH_RECORDS).enumerate() {
        let first = batch_number * BATCH_RECORDS;
        let pending: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(offset, record)| {
                let index = first + offset;
                cipher.start_open(index as u64, index + 1 == sealed.len(), record)
            })
            .collect();
        for open in pending {
            let record = open
                .finish()
                .await
                .map_err(|_| format!("record {} failed to authenticate", opened.len()))?;
            opened.push(record.to_vec());
        }
    }
    Ok(opened)
}

/// Returns `performance.now()` in milliseconds.
fn now() -> Result<f64, String> {
    let window = web_sys::window().ok_or("no window: the benchmark must run in a page")?;
    let performance = window
        .performance()
        .ok_or("window.performance is missing")?;
    Ok(performance.now())
}
