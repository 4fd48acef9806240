//! The `safebox` CLI round trip against `safebox-server --backend aws`
//! pointed at local S3 and DynamoDB API servers: upload, download once, and
//! a second download rejected.

#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::aws::{ACCESS_KEY, REGION, SECRET_KEY, services, skipped, unique_names};
use common::random_bytes;

/// Stops the server when the test ends, whether it passed or not.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns the `safebox` CLI next to the server binary, building it first
/// if `cargo test -p safebox-server` did not.
fn cli_binary() -> PathBuf {
    let cli = Path::new(env!("CARGO_BIN_EXE_safebox-server")).with_file_name("safebox");
    if !cli.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "-p", "safebox-cli"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build -p safebox-cli");
        assert!(status.success(), "cargo build -p safebox-cli failed");
    }
    assert!(cli.is_file(), "no CLI binary at {}", cli.display());
    cli
}

/// Starts the server with only the variables it needs, so that nothing from
/// the environment points the SDK at real AWS. Returns it and its URL.
fn start_server(work_dir: &Path, log: &Path) -> (ServerProcess, String) {
    let services = services();
    let (table, bucket) = unique_names();
    let log_file = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_safebox-server"))
        .env_clear()
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_ENDPOINT_URL_S3", &services.s3_endpoint)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &services.dynamodb_endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", work_dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            work_dir.join("no-aws-credentials"),
        )
        .env("SAFEBOX_BACKEND", "aws")
        .env("SAFEBOX_TABLE", &table)
        .env("SAFEBOX_BUCKET", &bucket)
        .env("RUST_LOG", "info")
        .args(["--create-missing", "--listen", "127.0.0.1:0", "--web-dir"])
        .arg(work_dir.join("no-web-app"))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("start safebox-server");
    let mut server = ServerProcess(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = output
            .lines()
            .find(|line| line.starts_with("Safebox server listening on "))
        {
            let url = line
                .trim_start_matches("Safebox server listening on ")
                .trim()
                .to_owned();
            return (server, url);
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("safebox-server exited with {status}:\n{output}");
        }
        assert!(
            Instant::now() < deadline,
            "safebox-server did not start:\n{output}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_cli(cli: &Path, args: &[&str]) -> Output {
    Command::new(cli)
        .args(args)
        .env_remove("SAFEBOX_SERVER")
        .stdin(Stdio::null())
        .output()
        .expect("run safebox")
}

#[test]
fn cli_round_trip_aws() {
    if skipped() {
        return;
    }
    let _watchdog = common::Watchdog::start();
    let cli = cli_binary();
    let work_dir = tempfile::tempdir().unwrap();
    let log = work_dir.path().join("server.log");
    let (server, url) = start_server(work_dir.path(), &log);

    let original = random_bytes(300 * 1024 + 7);
    let input = work_dir.path().join("report.pdf");
    std::fs::write(&input, &original).unwrap();

    let upload = run_cli(
        &cli,
        &[
            "upload",
            input.to_str().unwrap(),
            "--server",
            &url,
            "--quiet",
        ],
    );
    assert!(
        upload.status.success(),
        "upload failed: {}",
        String::from_utf8_lossy(&upload.stderr)
    );
    let stdout = String::from_utf8(upload.stdout).unwrap();
    let link = stdout.lines().last().unwrap().trim().to_owned();
    assert!(
        link.starts_with(&url),
        "link {link:?} points to the server's page"
    );

    let first = work_dir.path().join("first.pdf");
    let download = run_cli(
        &cli,
        &[
            "download",
            &link,
            "--output",
            first.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(
        download.status.success(),
        "download failed: {}",
        String::from_utf8_lossy(&download.stderr)
    );
    assert_eq!(std::fs::read(&first).unwrap(), original);

    let second = work_dir.path().join("second.pdf");
    let again = run_cli(
        &cli,
        &[
            "download",
            &link,
            "--output",
            second.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(
        again.status.code(),
        Some(4),
        "a second download is rejected as already downloaded"
    );
    assert!(!second.exists());

    drop(server);
    let server_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        server_log.contains("DynamoDB table created"),
        "{server_log}"
    );
    assert!(server_log.contains("S3 bucket created"), "{server_log}");
    let secret = link.rsplit('.').next().unwrap();
    assert!(
        !server_log.contains(secret),
        "the server log holds the link secret"
    );
    assert!(
        !server_log.contains("report.pdf"),
        "the server log holds the file name"
    );
}
