//! Tests of the `safebox-server` binary: its help text, start-up on a free
//! port, and graceful shutdown on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

#[tokio::test]
async fn binary_serves_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--sweep-interval", "1"])
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

    let response = reqwest::get(format!("{base}/api/v1/config")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["page_url"], format!("{base}/"));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    for _ in 0..100 {
        if let Some(code) = child.try_wait().unwrap() {
            exit = Some(code);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(exit) = exit else {
        child.kill().unwrap();
        panic!("the server did not stop within 10 s of SIGTERM");
    };
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
