//! Tests of the `safebox-server` binary: its help text, start-up on a free
//! port, and graceful shutdown on SIGTERM, bounded when a download stalls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{claim_hash_of, random_bytes, random_token};

const BINARY: &str = env!("CARGO_BIN_EXE_safebox-server");

#[test]
fn help_lists_options_and_env() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--listen",
        "SAFEBOX_LISTEN",
        "--data-dir",
        "SAFEBOX_DATA_DIR",
        "--public-url",
        "SAFEBOX_PUBLIC_URL",
        "--page-url",
        "SAFEBOX_PAGE_URL",
        "--web-dir",
        "SAFEBOX_WEB_DIR",
        "--max-size",
        "SAFEBOX_MAX_SIZE",
        "in bytes",
        "--sweep-interval",
        "Seconds",
        "--shutdown-grace",
        "SAFEBOX_SHUTDOWN_GRACE",
        "--backend",
        "local",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}

#[test]
fn invalid_public_url_fails() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--public-url", "not a url"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid public URL"), "{stderr}");
}

#[test]
fn busy_port_fails_with_hint() {
    let occupant = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = occupant.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .args(["--listen", &address])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(!output.status.success());

    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(stderr.contains("--listen"), "{stderr}");
    assert!(
        !stdout.contains("cannot listen"),
        "the error is printed twice:\n{stdout}"
    );
}

/// A `safebox-server` process and the lines of its standard output.
struct RunningBinary {
    child: Child,
    lines: mpsc::Receiver<String>,
    base: String,
    _dir: tempfile::TempDir,
}

/// Starts the binary on a free port with `extra` arguments and waits for
/// its start-up line.
fn start_binary(extra: &[&str]) -> RunningBinary {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--sweep-interval", "1"])
        .args(extra)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--web-dir")
        .arg(dir.path().join("no-web-app"))
        .env("RUST_LOG", "info")
        .env_remove("SAFEBOX_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let (lines_sender, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_sender.send(line.unwrap()).is_err() {
                break;
            }
        }
    });

    let base = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("start-up line");
        if let Some(url) = line.strip_prefix("Safebox server listening on ") {
            break url.to_owned();
        }
    };
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(data_dir.join("records.sqlite3").exists());
    RunningBinary {
        child,
        lines,
        base,
        _dir: dir,
    }
}

/// Sends `signal` (a `kill` option such as `-TERM`) to the process.
fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits up to `limit` for the process to exit and returns how long it took.
async fn wait_for_exit(child: &mut Child, limit: Duration) -> (ExitStatus, Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    panic!("the server did not stop within {limit:?}");
}

#[tokio::test]
async fn binary_serves_and_stops() {
    let RunningBinary {
        mut child,
        lines,
        base,
        _dir,
    } = start_binary(&[]);

    let response = reqwest::get(format!("{base}/api/v1/config")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["page_url"], format!("{base}/"));

    send_signal(&child, "-TERM");
    let (exit, _) = wait_for_exit(&mut child, Duration::from_secs(10)).await;
    assert!(exit.success(), "{exit}");

    let output: Vec<String> = lines.try_iter().collect();
    assert!(
        output.iter().any(|line| line.contains("SIGTERM")),
        "{output:?}"
    );
    assert!(
        output
            .iter()
            .any(|line| line.contains("safebox server stopped")),
        "{output:?}"
    );
}

/// Starts a download of an 8 MiB blob and stops reading it, so the server
/// cannot finish the response. Returns the stalled connection.
async fn stall_a_download(base: &str) -> TcpStream {
    let client = reqwest::Client::new();
    let claim_token = random_token();
    let size = 8 << 20;
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/uploads"))
        .json(&serde_json::json!({
            "size": size,
            "expires_in": 600,
            "claim_hash": claim_hash_of(&claim_token),
            "metadata": random_token(),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let put = client
        .put(created["upload_url"].as_str().unwrap())
        .header("content-type", "application/octet-stream")
        .body(random_bytes(size))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let completed = client
        .post(format!(
            "{base}/api/v1/uploads/{}/complete",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(created["owner_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 200);
    let claimed: serde_json::Value = client
        .post(format!(
            "{base}/api/v1/files/{}/claim",
            created["id"].as_str().unwrap()
        ))
        .json(&serde_json::json!({ "claim_token": claim_token }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let url = reqwest::Url::parse(claimed["download_url"].as_str().unwrap()).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut stream = TcpStream::connect(&address).unwrap();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut head = [0u8; 64];
    stream.read_exact(&mut head).unwrap();
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

#[tokio::test]
async fn stalled_download_delays_stop_by_grace_only() {
    let RunningBinary {
        mut child,
        lines,
        base,
        _dir,
    } = start_binary(&["--shutdown-grace", "2"]);
    let _stalled = stall_a_download(&base).await;

    send_signal(&child, "-INT");
    let (exit, took) = wait_for_exit(&mut child, Duration::from_secs(15)).await;

    assert!(exit.success(), "{exit}");
    assert!(
        took >= Duration::from_millis(1500),
        "stopped after {took:?}"
    );
    let output: Vec<String> = lines.try_iter().collect();
    assert!(
        output
            .iter()
            .any(|line| line.contains("open requests did not finish in time")),
        "{output:?}"
    );
}

#[tokio::test]
async fn second_signal_stops_at_once() {
    let RunningBinary {
        mut child,
        lines,
        base,
        _dir,
    } = start_binary(&["--shutdown-grace", "600"]);
    let _stalled = stall_a_download(&base).await;

    send_signal(&child, "-INT");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server did not wait for the download"
    );
    send_signal(&child, "-TERM");
    let (exit, _) = wait_for_exit(&mut child, Duration::from_secs(10)).await;

    assert!(exit.success(), "{exit}");
    let output: Vec<String> = lines.try_iter().collect();
    assert!(
        output
            .iter()
            .any(|line| line.contains("received a second signal")),
        "{output:?}"
    );
}
