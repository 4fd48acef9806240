//! Tests of the local backend's signed blob URLs: every tampered, expired
//! or mismatched request is rejected with `403` and stores nothing, and a
//! partial upload is never visible.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{LocalFactory, Options, TestServer, Upload};
use reqwest::StatusCode;
use safebox_server::Clock;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn local_server() -> TestServer {
    TestServer::start_with(&LocalFactory, Options::default()).await
}

/// Returns the names of the files in `<data dir>/<subdir>`.
fn files_in(server: &TestServer, subdir: &str) -> Vec<String> {
    let directory = server.data_dir.path().join(subdir);
    std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn assert_nothing_stored(server: &TestServer, case: &str) {
    assert_eq!(
        files_in(server, "blobs"),
        Vec::<String>::new(),
        "{case}: blobs"
    );
    assert_eq!(
        files_in(server, "uploads"),
        Vec::<String>::new(),
        "{case}: uploads"
    );
}

/// Replaces the value of query parameter `name` in `url`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == name => format!("{key}={value}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

async fn put(server: &TestServer, url: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let response = server.client.put(url).body(body).send().await.unwrap();
    common::read_json(response).await
}

/// Flips the first character of a base64url string to another valid one.
fn tamper(text: &str) -> String {
    let first = if text.starts_with('A') { "B" } else { "A" };
    format!("{first}{}", &text[1..])
}

#[tokio::test]
async fn upload_url_rejects_tampering() {
    let server = local_server().await;
    let upload = server.create_upload(1000, 600).await;
    let signature = param(&upload.upload_url, "sig");
    let other_id = safebox_server::FileId::generate().to_string();

    let cases = [
        (
            "changed length",
            with_param(&upload.upload_url, "len", "999"),
            999,
        ),
        ("length differs from signed", upload.upload_url.clone(), 999),
        (
            "wrong signature",
            with_param(&upload.upload_url, "sig", &tamper(&signature)),
            1000,
        ),
        (
            "missing signature",
            with_param(&upload.upload_url, "sig", ""),
            1000,
        ),
        (
            "later expiry",
            with_param(
                &upload.upload_url,
                "exp",
                &(upload.expires_at + 1).to_string(),
            ),
            1000,
        ),
        (
            "download operation",
            with_param(&upload.upload_url, "op", "get"),
            1000,
        ),
        (
            "other id",
            upload.upload_url.replace(&upload.id, &other_id),
            1000,
        ),
    ];
    for (case, url, len) in cases {
        let (status, body) = put(&server, &url, vec![9u8; len]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}");
        assert_eq!(body["error"], "invalid_signature", "{case}");
        assert_nothing_stored(&server, case);
    }
    assert_eq!(server.complete(&upload).await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn upload_url_expires() {
    let server = local_server().await;
    let upload = server.create_upload(100, 60).await;
    server.clock.set(upload.expires_at);

    let (status, body) = put(&server, &upload.upload_url, upload.ciphertext.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "invalid_signature");
    assert_nothing_stored(&server, "expired upload URL");
}

/// Sends a raw HTTP/1.1 request and returns the response status code.
async fn raw_request(server: &TestServer, head: &str, body: &[u8]) -> u16 {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    read_status(&mut stream).await
}

async fn read_status(stream: &mut TcpStream) -> u16 {
    let mut response = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut response))
        .await
        .expect("response within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&response[..read]);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

fn path_and_query(server: &TestServer, upload: &Upload) -> String {
    upload
        .upload_url
        .trim_start_matches(&server.base)
        .to_owned()
}

#[tokio::test]
async fn upload_without_length_rejected() {
    let server = local_server().await;
    let upload = server.create_upload(100, 600).await;
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        path_and_query(&server, &upload)
    );
    let body = [b"64\r\n".as_slice(), &upload.ciphertext, b"\r\n0\r\n\r\n"].concat();

    assert_eq!(raw_request(&server, &head, &body).await, 403);
    assert_nothing_stored(&server, "chunked upload");
}

#[tokio::test]
async fn partial_upload_never_visible() {
    let server = local_server().await;
    let upload = server.create_upload(1000, 600).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n",
        path_and_query(&server, &upload)
    );

    // Half the body, then wait until the server has written it to a
    // temporary file.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&upload.ciphertext[..500]).await.unwrap();
    stream.flush().await.unwrap();
    wait_for(|| files_in(&server, "uploads").len() == 1).await;
    assert_eq!(
        server.stored_size(&upload.id).await,
        None,
        "half an upload is invisible"
    );
    assert_eq!(server.complete(&upload).await.0, StatusCode::CONFLICT);

    // The client disconnects: the temporary file goes away.
    drop(stream);
    wait_for(|| files_in(&server, "uploads").is_empty()).await;
    assert_nothing_stored(&server, "aborted upload");

    // The whole body in two parts.
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&upload.ciphertext[..500]).await.unwrap();
    stream.flush().await.unwrap();
    wait_for(|| files_in(&server, "uploads").len() == 1).await;
    assert_eq!(server.stored_size(&upload.id).await, None);
    stream.write_all(&upload.ciphertext[500..]).await.unwrap();
    assert_eq!(read_status(&mut stream).await, 200);
    assert_eq!(server.stored_size(&upload.id).await, Some(1000));
    assert_eq!(files_in(&server, "uploads"), Vec::<String>::new());
    assert_eq!(server.complete(&upload).await.0, StatusCode::OK);
}

async fn wait_for(condition: impl Fn() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 5 s");
}

#[tokio::test]
async fn stored_file_is_private() {
    use std::os::unix::fs::PermissionsExt;

    let server = local_server().await;
    let upload = server.active_upload(100, 600).await;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;

    let data_dir = server.data_dir.path();
    assert_eq!(mode(&data_dir.join("blobs").join(&upload.id)), 0o600);
    assert_eq!(mode(&data_dir.join("blobs")), 0o700);
    assert_eq!(mode(&data_dir.join("blob-signing.key")), 0o600);
    for database_file in [
        "records.sqlite3",
        "records.sqlite3-wal",
        "records.sqlite3-shm",
    ] {
        assert_eq!(
            mode(&data_dir.join(database_file)),
            0o600,
            "{database_file}"
        );
    }
    let stored = std::fs::read(data_dir.join("blobs").join(&upload.id)).unwrap();
    assert_eq!(stored, upload.ciphertext);
}

#[tokio::test]
async fn download_url_rejects_tampering() {
    let server = local_server().await;
    let upload = server.active_upload(100, 600).await;
    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK);
    let url = body["download_url"].as_str().unwrap().to_owned();
    let expires_at = body["expires_at"].as_u64().unwrap();

    let cases = [
        (
            "wrong signature",
            with_param(&url, "sig", &tamper(&param(&url, "sig"))),
        ),
        (
            "later expiry",
            with_param(&url, "exp", &(expires_at + 600).to_string()),
        ),
        ("upload operation", with_param(&url, "op", "put")),
    ];
    for (case, url) in cases {
        let (status, _) = server.get_bytes(&url).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}");
    }
    let (status, _) = server.get_bytes(&upload.upload_url).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an upload URL does not download"
    );

    let (status, bytes) = server.get_bytes(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, upload.ciphertext);

    server.clock.set(expires_at);
    let (status, _) = server.get_bytes(&url).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "expired download URL");
    assert!(server.clock.now() >= expires_at);
}

#[tokio::test]
async fn download_url_ignores_unserved_ranges() {
    let server = local_server().await;
    let upload = server.active_upload(100, 600).await;
    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK);
    let url = body["download_url"].as_str().unwrap().to_owned();

    // HTTP lets a server respond to any range it does not serve with the whole
    // body, which a client can still use.
    for range in [
        "bytes=-50",
        "bytes=60-20",
        "bytes=0-9,20-29",
        "bytes=x-",
        "items=5-",
    ] {
        let response = server
            .client
            .get(&url)
            .header(reqwest::header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{range}");
        assert_eq!(response.content_length(), Some(100), "{range}");
        assert_eq!(
            response.bytes().await.unwrap(),
            upload.ciphertext,
            "{range}"
        );
    }
}
