//! Measures the throughput of the content format against the bare `aes-gcm`
//! crate, for `scripts/bench.sh` and `docs/BENCHMARKS.md`.
//!
//! ```sh
//! cargo run --release -p safebox-crypto --example throughput -- [--mib N] [--runs N]
//! ```
//!
//! For each record size, the same random plaintext (256 MiB by default) is
//! sealed and opened three ways. The baseline is the bare `aes-gcm` crate,
//! working in place in one preallocated buffer. The format is measured
//! through [`Encryptor`] and [`Decryptor`] record by record, and through
//! [`encrypt_all`] and [`decrypt_all`]. All use the same key and nonces,
//! and the program checks that they produce the same bytes. Each figure is
//! the best of `--runs` runs.

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use rand::RngCore;
use safebox_crypto::{
    DEFAULT_RECORD_SIZE, Decryptor, Encryptor, HEADER_LEN, Header, LinkSecret, TAG_LEN,
    decrypt_all, encrypt_all, record_nonce,
};

type BenchResult<T> = Result<T, Box<dyn Error>>;

const DEFAULT_MIB: usize = 256;
const DEFAULT_RUNS: usize = 5;

/// Record sizes measured: the default (64 KiB) and 1 MiB, the record size
/// of the browser measurement.
const RECORD_SIZES: [u32; 2] = [DEFAULT_RECORD_SIZE, 1024 * 1024];

struct Options {
    mib: usize,
    runs: usize,
}

fn main() {
    if let Err(error) = run() {
        eprintln!("throughput: {error}");
        std::process::exit(1);
    }
}

fn run() -> BenchResult<()> {
    let options = parse_options(std::env::args().skip(1))?;
    let mut plaintext = vec![0u8; options.mib * 1024 * 1024];
    rand::thread_rng().fill_bytes(&mut plaintext);

    println!(
        "format overhead: {} MiB in memory, best of {} runs, MB = 10^6 bytes",
        options.mib, options.runs
    );
    println!(
        "{:<10} {:<42} {:>9} {:>7}",
        "record", "operation", "MB/s", "ratio"
    );
    for record_size in RECORD_SIZES {
        measure_record_size(&plaintext, record_size, options.runs)?;
    }
    Ok(())
}

fn parse_options(mut args: impl Iterator<Item = String>) -> BenchResult<Options> {
    let mut options = Options {
        mib: DEFAULT_MIB,
        runs: DEFAULT_RUNS,
    };
    while let Some(arg) = args.next() {
        let target = match arg.as_str() {
            "--mib" => &mut options.mib,
            "--runs" => &mut options.runs,
            _ => {
                return Err(
                    format!("unknown argument {arg:?}; expected --mib N or --runs N").into(),
                );
            }
        };
        let value = args
            .next()
            .ok_or_else(|| format!("{arg} needs a positive integer after it"))?;
        *target = match value.parse::<usize>() {
            Ok(number) if number > 0 => number,
            _ => {
                return Err(format!(
                    "invalid value {value:?} for {arg}: expected a positive integer"
                )
                .into());
            }
        };
    }
    Ok(options)
}

/// Prints the six rows of one record size: baseline, streaming and
/// one-shot, for sealing and for opening.
fn measure_record_size(plaintext: &[u8], record_size: u32, runs: usize) -> BenchResult<()> {
    let secret = LinkSecret::generate();
    let header = Header::new(record_size)?;
    let key = secret.content_key(&header);
    let cipher = Aes256Gcm::new(key.expose_bytes().into());
    let size = record_size as usize;

    let (seal_time, sealed) = best_of(runs, || seal_bare(&cipher, plaintext, size))?;
    let (encryptor_time, streamed) =
        best_of(runs, || encrypt_streaming(&secret, header, plaintext))?;
    let (encrypt_all_time, one_shot) =
        best_of(runs, || Ok(encrypt_all(&secret, header, plaintext)))?;
    if streamed[HEADER_LEN..] != sealed[..] || one_shot != streamed {
        return Err(format!(
            "record size {record_size}: the format's ciphertext differs from the baseline's"
        )
        .into());
    }

    let (open_time, opened) = best_of(runs, || open_bare(&cipher, &sealed, size))?;
    let (decryptor_time, decrypted) = best_of(runs, || decrypt_streaming(&secret, &streamed))?;
    let (decrypt_all_time, decrypted_all) = best_of(runs, || Ok(decrypt_all(&secret, &streamed)?))?;
    if opened != plaintext || decrypted != plaintext || decrypted_all != plaintext {
        return Err(format!(
            "record size {record_size}: a decryption did not return the plaintext"
        )
        .into());
    }

    let label = format!("{} KiB", record_size / 1024);
    let bytes = plaintext.len();
    print_row(
        &label,
        "seal: aes-gcm crate, no format (baseline)",
        bytes,
        seal_time,
        seal_time,
    );
    print_row(
        &label,
        "seal: Encryptor, record by record",
        bytes,
        encryptor_time,
        seal_time,
    );
    print_row(
        &label,
        "seal: encrypt_all",
        bytes,
        encrypt_all_time,
        seal_time,
    );
    print_row(
        &label,
        "open: aes-gcm crate, no format (baseline)",
        bytes,
        open_time,
        open_time,
    );
    print_row(
        &label,
        "open: Decryptor, record by record",
        bytes,
        decryptor_time,
        open_time,
    );
    print_row(
        &label,
        "open: decrypt_all",
        bytes,
        decrypt_all_time,
        open_time,
    );
    Ok(())
}

/// Runs `work` `runs` times and returns the shortest time and the last output.
fn best_of<T>(runs: usize, mut work: impl FnMut() -> BenchResult<T>) -> BenchResult<(Duration, T)> {
    let mut best = Duration::MAX;
    let mut output = None;
    for _ in 0..runs {
        let start = Instant::now();
        let result = black_box(work()?);
        best = best.min(start.elapsed());
        output = Some(result);
    }
    let output = output.ok_or("--runs must be at least 1")?;
    Ok((best, output))
}

/// Prints throughput in MB/s and the ratio of this row's throughput to the
/// baseline's: 1.00 means as fast as the bare crate.
fn print_row(record: &str, operation: &str, bytes: usize, time: Duration, baseline: Duration) {
    let megabytes_per_second = bytes as f64 / time.as_secs_f64() / 1e6;
    let ratio = baseline.as_secs_f64() / time.as_secs_f64();
    println!("{record:<10} {operation:<42} {megabytes_per_second:>9.0} {ratio:>7.2}");
}

/// Seals every record in place in one preallocated buffer, with the format's
/// nonces but no header and no per-record checks.
fn seal_bare(cipher: &Aes256Gcm, plaintext: &[u8], record_size: usize) -> BenchResult<Vec<u8>> {
    let count = plaintext.len().div_ceil(record_size).max(1);
    let mut out = Vec::with_capacity(plaintext.len() + count * TAG_LEN);
    for (index, record) in plaintext.chunks(record_size).enumerate() {
        let nonce = record_nonce(index as u64, index + 1 == count)?;
        let start = out.len();
        out.extend_from_slice(record);
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut out[start..])
            .map_err(|_| format!("aes-gcm failed to seal record {index}"))?;
        out.extend_from_slice(&tag);
    }
    Ok(out)
}

/// Opens what [`seal_bare`] sealed, in place in one preallocated buffer.
fn open_bare(cipher: &Aes256Gcm, sealed: &[u8], record_size: usize) -> BenchResult<Vec<u8>> {
    let sealed_size = record_size + TAG_LEN;
    let count = sealed.len().div_ceil(sealed_size);
    let mut out = Vec::with_capacity(sealed.len());
    for (index, record) in sealed.chunks(sealed_size).enumerate() {
        let nonce = record_nonce(index as u64, index + 1 == count)?;
        let (body, tag) = record.split_at(record.len() - TAG_LEN);
        let start = out.len();
        out.extend_from_slice(body);
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                b"",
                &mut out[start..],
                Tag::from_slice(tag),
            )
            .map_err(|_| format!("aes-gcm failed to open record {index}"))?;
    }
    Ok(out)
}

/// Encrypts as a streaming writer does: the header, then each record's
/// output appended as it comes, holding back one record to mark the last.
fn encrypt_streaming(
    secret: &LinkSecret,
    header: Header,
    plaintext: &[u8],
) -> BenchResult<Vec<u8>> {
    let size = header.record_size() as usize;
    let count = plaintext.len().div_ceil(size).max(1);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + count * TAG_LEN);

    let mut encryptor = Encryptor::new(secret, header);
    out.extend_from_slice(&encryptor.header_bytes());
    let mut rest = plaintext;
    while rest.len() > size {
        let (record, tail) = rest.split_at(size);
        out.extend_from_slice(&encryptor.encrypt_next(record)?);
        rest = tail;
    }
    out.extend_from_slice(&encryptor.finish(rest)?);
    Ok(out)
}

/// Decrypts as a streaming reader does, appending each record's plaintext.
fn decrypt_streaming(secret: &LinkSecret, ciphertext: &[u8]) -> BenchResult<Vec<u8>> {
    let (header, records) = ciphertext.split_at(HEADER_LEN);
    let mut decryptor = Decryptor::new(secret, header)?;
    let mut out = Vec::with_capacity(records.len());

    let chunks: Vec<&[u8]> = records.chunks(decryptor.sealed_record_len()).collect();
    for (index, chunk) in chunks.iter().enumerate() {
        out.extend_from_slice(&decryptor.decrypt_next(chunk, index + 1 == chunks.len())?);
    }
    decryptor.finish()?;
    Ok(out)
}
