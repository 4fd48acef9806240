//! Downloads over a connection that breaks. A claimed link cannot be
//! claimed again, so the `safebox` binary resumes a broken download with a
//! `Range` request, and repeats a claim whose response was lost with the
//! same claim attempt.
//!
//! A proxy on loopback sits between the binary and a real server. It cuts
//! blob downloads after a number of bytes, hides their `Range` header, or
//! drops claim responses after the server handled the claim.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread;

use common::{TestServer, entries, link_id, safebox, stderr, upload};

/// What the proxy does to claims and blob downloads.
#[derive(Clone, Copy, Default)]
struct Faults {
    /// Bytes of a blob response that pass before the connection is cut.
    cut_after: usize,
    /// Number of blob responses to cut; later ones pass whole.
    max_cuts: usize,
    /// Renames the `Range` header of blob requests, as if the server
    /// ignored it.
    hide_range: bool,
    /// Number of claim responses to drop after the server handled the
    /// claim; later ones pass.
    lost_claims: usize,
}

/// What the proxy saw and did.
#[derive(Default)]
struct ProxyLog {
    /// Number of blob responses cut short.
    cuts: AtomicUsize,
    /// Number of claim requests.
    claims: AtomicUsize,
    /// Number of claim responses dropped.
    claims_lost: AtomicUsize,
    /// The `Range` header of each blob request, lowercase, or "no range".
    blob_ranges: Mutex<Vec<String>>,
    /// The status line of each blob response.
    blob_statuses: Mutex<Vec<String>>,
}

/// A proxy on loopback in front of a server, with [`Faults`] for claims and
/// blob downloads.
struct FaultyProxy {
    url: String,
    log: Arc<ProxyLog>,
}

impl FaultyProxy {
    fn start(listener: TcpListener, target: SocketAddr, faults: Faults) -> Self {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(ProxyLog::default());
        let shared = Arc::clone(&log);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(target) else {
                    return;
                };
                let log = Arc::clone(&shared);
                thread::spawn(move || relay(client, server, &log, faults));
            }
        });
        FaultyProxy { url, log }
    }
}

/// The request whose response the server sends next on a connection.
const OTHER: u8 = 0;
const BLOB: u8 = 1;
const CLAIM: u8 = 2;

/// Relays one connection both ways. The client sends one request at a time,
/// so what the server sends after a request is that request's response.
fn relay(client: TcpStream, server: TcpStream, log: &Arc<ProxyLog>, faults: Faults) {
    let pending = Arc::new(AtomicU8::new(OTHER));
    let passed = Arc::new(AtomicUsize::new(0));

    let mut from_client = client.try_clone().unwrap();
    let mut to_server = server.try_clone().unwrap();
    let upstream_pending = Arc::clone(&pending);
    let upstream_passed = Arc::clone(&passed);
    let upstream_log = Arc::clone(log);
    let upstream = thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let count = match from_client.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(count) => count,
            };
            let chunk = &mut buffer[..count];
            // Set before the request is forwarded, so its response is
            // counted from the first byte.
            if chunk.starts_with(b"GET /blob/") {
                note_blob_request(chunk, &upstream_log, faults.hide_range);
                upstream_passed.store(0, Ordering::SeqCst);
                upstream_pending.store(BLOB, Ordering::SeqCst);
            } else if is_claim_request(chunk) {
                upstream_log.claims.fetch_add(1, Ordering::SeqCst);
                upstream_pending.store(CLAIM, Ordering::SeqCst);
            } else if chunk.starts_with(b"GET ")
                || chunk.starts_with(b"POST ")
                || chunk.starts_with(b"PUT ")
                || chunk.starts_with(b"DELETE ")
            {
                upstream_pending.store(OTHER, Ordering::SeqCst);
            }
            if to_server.write_all(chunk).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });

    let mut from_server = server;
    let mut to_client = client;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let count = match from_server.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        let chunk = &buffer[..count];
        match pending.load(Ordering::SeqCst) {
            BLOB => {
                let already = passed.fetch_add(chunk.len(), Ordering::SeqCst);
                if already == 0 {
                    let status = String::from_utf8_lossy(chunk)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    log.blob_statuses.lock().unwrap().push(status);
                }
                let room = faults.cut_after.saturating_sub(already);
                if chunk.len() >= room && log.cuts.load(Ordering::SeqCst) < faults.max_cuts {
                    let _ = to_client.write_all(&chunk[..room]);
                    log.cuts.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
            CLAIM if log.claims_lost.load(Ordering::SeqCst) < faults.lost_claims => {
                log.claims_lost.fetch_add(1, Ordering::SeqCst);
                break;
            }
            _ => {}
        }
        if to_client.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = from_server.shutdown(Shutdown::Both);
    let _ = upstream.join();
}

/// Tells whether a request head is `POST /api/v1/files/{id}/claim`.
fn is_claim_request(head: &[u8]) -> bool {
    let line = String::from_utf8_lossy(head);
    let line = line.lines().next().unwrap_or("");
    line.starts_with("POST /api/v1/files/") && line.contains("/claim ")
}

/// Logs the `Range` header of a blob request's head and, with
/// `hide_range`, renames it in place to `x-hid:` so the server ignores it.
fn note_blob_request(head: &mut [u8], log: &ProxyLog, hide_range: bool) {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let range = text.find("\r\nrange:").map(|start| {
        let line = &text[start + 2..];
        (start + 2, line.lines().next().unwrap_or("").to_owned())
    });
    let Some((start, line)) = range else {
        log.blob_ranges.lock().unwrap().push("no range".to_owned());
        return;
    };
    log.blob_ranges.lock().unwrap().push(line);
    if hide_range {
        head[start..start + "range:".len()].copy_from_slice(b"x-hid:");
    }
}

/// Starts a server behind a proxy with `faults`.
fn server_behind_proxy(faults: Faults) -> (TestServer, FaultyProxy) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let server = TestServer::start_behind(Some(&public_url));
    let target = server.url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultyProxy::start(listener, target, faults);
    (server, proxy)
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|index| (index * 31 % 251) as u8).collect()
}

/// Uploads `len` bytes of sample content and returns it with the link.
fn upload_sample(server: &TestServer, name: &str, len: usize) -> (Vec<u8>, String) {
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join(name);
    let content = sample(len);
    fs::write(&source, &content).unwrap();
    (content, upload(server, &source, &[]))
}

#[test]
fn broken_download_resumes_with_range() {
    let (server, proxy) = server_behind_proxy(Faults {
        cut_after: 1_000_000,
        max_cuts: 2,
        hide_range: false,
        ..Faults::default()
    });
    let (content, link) = upload_sample(&server, "big.bin", 3_000_000);
    assert!(link.starts_with(&proxy.url), "{link}");

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read(recipient.path().join("big.bin")).unwrap(), content);
    assert_eq!(proxy.log.cuts.load(Ordering::SeqCst), 2);
    assert_eq!(
        stderr(&output).matches("resuming").count(),
        2,
        "{}",
        stderr(&output)
    );

    let ranges = proxy.log.blob_ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert_eq!(ranges[0], "no range");
    for range in &ranges[1..] {
        assert!(range.starts_with("range: bytes="), "{ranges:?}");
    }
    let statuses = proxy.log.blob_statuses.lock().unwrap().clone();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 206 Partial Content",
            "HTTP/1.1 206 Partial Content"
        ]
    );
    assert!(
        !server.blob_path(&link_id(&link)).exists(),
        "the download was not confirmed"
    );
}

#[test]
fn resume_skips_what_arrived_if_range_ignored() {
    let (server, proxy) = server_behind_proxy(Faults {
        cut_after: 700_000,
        max_cuts: 1,
        hide_range: true,
        ..Faults::default()
    });
    let (content, link) = upload_sample(&server, "whole.bin", 2_000_000);

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read(recipient.path().join("whole.bin")).unwrap(),
        content
    );
    let statuses = proxy.log.blob_statuses.lock().unwrap().clone();
    assert_eq!(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
}

#[test]
fn download_gives_up_after_resumes() {
    // Six cuts after 100 kB each reach less than half of the file.
    let (server, proxy) = server_behind_proxy(Faults {
        cut_after: 100_000,
        max_cuts: usize::MAX,
        hide_range: false,
        ..Faults::default()
    });
    let (_, link) = upload_sample(&server, "never.bin", 1_500_000);

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);

    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let max_resumes = safebox_cli::resume::MAX_RESUMES as usize;
    assert_eq!(proxy.log.cuts.load(Ordering::SeqCst), max_resumes + 1);
    let messages = stderr(&output);
    assert_eq!(
        messages.matches("resuming").count(),
        max_resumes,
        "{messages}"
    );
    assert!(messages.contains("network error"), "{messages}");
    assert!(
        messages.contains("This attempt used the link"),
        "{messages}"
    );
    assert!(
        messages.contains("The encrypted file was deleted from the server."),
        "{messages}"
    );
    assert!(!server.blob_path(&link_id(&link)).exists());
    assert!(
        entries(recipient.path()).is_empty(),
        "{:?}",
        entries(recipient.path())
    );
}

#[test]
fn lost_claim_response_claimed_again() {
    let (server, proxy) = server_behind_proxy(Faults {
        lost_claims: 2,
        ..Faults::default()
    });
    let (content, link) = upload_sample(&server, "claimed.bin", 200_000);

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read(recipient.path().join("claimed.bin")).unwrap(),
        content
    );
    assert_eq!(proxy.log.claims.load(Ordering::SeqCst), 3);
    assert_eq!(proxy.log.claims_lost.load(Ordering::SeqCst), 2);
    assert_eq!(
        stderr(&output).matches("sending it again").count(),
        2,
        "{}",
        stderr(&output)
    );
}

#[test]
fn lost_claim_responses_give_up() {
    let retries = safebox_cli::download::CLAIM_RETRIES as usize;
    let (server, proxy) = server_behind_proxy(Faults {
        lost_claims: usize::MAX,
        ..Faults::default()
    });
    let (_, link) = upload_sample(&server, "lost.bin", 1_000);

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);

    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert_eq!(proxy.log.claims.load(Ordering::SeqCst), retries + 1);
    assert!(
        stderr(&output).contains("network error"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("then this link is used up"),
        "{}",
        stderr(&output)
    );
    assert!(entries(recipient.path()).is_empty());
}
