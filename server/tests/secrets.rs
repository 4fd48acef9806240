//! Checks that after a full flow neither the data directory nor the log
//! output contains a claim token, an owner token or a link secret.
//!
//! This file contains a single test because it installs the process-wide log
//! subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{LocalFactory, Options, TestServer, random_token};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tracing_subscriber::EnvFilter;

/// Log output collected in memory.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_log_capture() -> CapturedLog {
    let log = CapturedLog::default();
    let writer = log.clone();
    // Server-side crates only: the test's own HTTP client is not the server.
    let filter = EnvFilter::new("safebox_server=trace,axum=trace,tower_http=trace");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    log
}

/// Returns the bytes of every file under `dir`.
fn read_all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(read_all_files(&path));
        } else {
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn secrets_absent_from_disk_and_logs() {
    let log = install_log_capture();
    let server = TestServer::start_with(&LocalFactory, Options::default()).await;
    let link_secret = URL_SAFE_NO_PAD.encode(common::random_bytes(16));

    let upload = server.active_upload(5000, 600).await;
    let (status, _) = server
        .owner_request(Method::GET, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.info(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        server.info(&upload.id, &random_token()).await.0,
        StatusCode::NOT_FOUND
    );

    // A client that sends the whole fragment as the id.
    let pasted = format!("{}.{link_secret}", upload.id);
    let (status, _) = server
        .post_json(
            &format!("/api/v1/files/{pasted}/claim"),
            &json!({"claim_token": upload.claim_token}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, bytes) = server
        .get_bytes(body["download_url"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, upload.ciphertext);
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::GONE
    );
    let (status, _) = server.delete_file(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .owner_request(Method::DELETE, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let claim_bytes = URL_SAFE_NO_PAD.decode(&upload.claim_token).unwrap();
    let owner_bytes = URL_SAFE_NO_PAD.decode(&upload.owner_token).unwrap();
    let secrets: [(&str, &[u8]); 5] = [
        ("claim token", upload.claim_token.as_bytes()),
        ("claim token bytes", &claim_bytes),
        ("owner token", upload.owner_token.as_bytes()),
        ("owner token bytes", &owner_bytes),
        ("link secret", link_secret.as_bytes()),
    ];

    let log_text = log.0.lock().unwrap().clone();
    assert!(contains(&log_text, b"file claimed"), "the log was captured");
    assert!(
        contains(&log_text, upload.id.as_bytes()),
        "file ids are logged"
    );
    for (name, secret) in secrets {
        assert!(!contains(&log_text, secret), "{name} in the log");
    }

    let files = read_all_files(server.data_dir.path());
    assert!(
        files
            .iter()
            .any(|(path, _)| path.ends_with("records.sqlite3"))
    );
    for (path, contents) in &files {
        for (name, secret) in secrets {
            assert!(!contains(contents, secret), "{name} in {path}");
        }
    }
}
