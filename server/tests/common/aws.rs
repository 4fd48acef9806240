//! The AWS backend under test: real S3 and DynamoDB API servers on
//! loopback, started once per test binary.
//!
//! - S3: `s3s-fs` (a Rust S3 server over a directory). It checks SigV4
//!   signatures, signed `Content-Length` and expiry of presigned URLs as S3
//!   does.
//! - DynamoDB: `dynalite` (npm). It implements conditional writes and
//!   `ConditionalCheckFailedException`, but not TTL and not
//!   `ReturnValuesOnConditionCheckFailure`, so the store's follow-up read is
//!   the path these tests take.
//!
//! `scripts/setup-aws-tools.sh` installs both. A missing server fails the
//! tests with that hint, unless `SAFEBOX_SKIP_AWS_TESTS=1` is set.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};
use safebox_server::aws::AwsBackend;
use safebox_server::clock::Clock;
use safebox_server::config::Config;

use super::{BackendFactory, BackendParts};

/// Access key and secret that s3s-fs accepts. Never real credentials.
pub const ACCESS_KEY: &str = "safebox-test-key";
pub const SECRET_KEY: &str = "safebox-test-secret";
pub const REGION: &str = "us-east-1";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Tells whether `SAFEBOX_SKIP_AWS_TESTS=1` is set. Each AWS test then
/// returns early and prints that it was skipped.
pub fn skipped() -> bool {
    let skip = std::env::var("SAFEBOX_SKIP_AWS_TESTS").as_deref() == Ok("1");
    if skip {
        eprintln!("SAFEBOX_SKIP_AWS_TESTS=1: AWS backend test skipped");
    }
    skip
}

/// The two API servers and their endpoints.
pub struct AwsServices {
    pub s3_endpoint: String,
    pub dynamodb_endpoint: String,
    pub work_dir: PathBuf,
    _s3: Child,
    _dynamodb: Child,
}

static SERVICES: OnceLock<AwsServices> = OnceLock::new();

/// Returns the servers, starting them on first use.
pub fn services() -> &'static AwsServices {
    SERVICES.get_or_init(start_services)
}

/// Returns the last lines of each server's log, if the servers were started.
pub fn server_log_tails() -> String {
    let Some(services) = SERVICES.get() else {
        return "the local S3 and DynamoDB API servers were not started\n".to_owned();
    };
    let mut tails = String::new();
    for name in ["s3s-fs.log", "dynalite.log"] {
        let path = services.work_dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        tails.push_str(&format!(
            "--- last lines of {} ---\n{tail}\n",
            path.display()
        ));
    }
    tails
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server crate has a parent directory")
        .to_path_buf()
}

fn find_s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("SAFEBOX_S3S_FS") {
        return PathBuf::from(path);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("s3s-fs"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME").or_else(|| {
        std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo").into_os_string())
    }) {
        candidates.push(Path::new(&home).join("bin").join("s3s-fs"));
    }
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "s3s-fs (the S3 API server for the AWS backend tests) is not installed: \
             run scripts/setup-aws-tools.sh, or set SAFEBOX_SKIP_AWS_TESTS=1 to skip these tests"
            )
        })
}

fn find_dynalite() -> PathBuf {
    let path = std::env::var_os("SAFEBOX_DYNALITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("node_modules/.bin/dynalite"));
    assert!(
        path.is_file(),
        "dynalite (the DynamoDB API server for the AWS backend tests) is not installed at {}: \
         run scripts/setup-aws-tools.sh (or npm ci), or set SAFEBOX_SKIP_AWS_TESTS=1 to skip these tests",
        path.display()
    );
    path
}

/// Number of tries to start a server, each on another port.
const START_ATTEMPTS: usize = 3;

/// Returns a free loopback port below the range the kernel picks from for
/// port 0. Test servers in this process bind port 0, so none of them can
/// take this port between this check and the API server's own bind.
fn unassigned_port() -> u16 {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = ephemeral_start.saturating_sub(12_000).max(1024);
    let high = ephemeral_start.max(low + 1);
    loop {
        let port = rand::Rng::gen_range(&mut rand::thread_rng(), low..high);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts `program` under a small shell watchdog that stops it once this
/// test process has exited, since a static is never dropped, and then
/// removes `cleanup`. The watchdog also ends when the program exits.
fn spawn_watched(program: &Path, args: &[String], log: &Path, cleanup: &Path) -> Child {
    let script = r#"parent=$1; cleanup=$2; shift 2
"$@" & child=$!
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill "$child" 2>/dev/null; wait "$child" 2>/dev/null
if ! kill -0 "$parent" 2>/dev/null; then rm -rf "$cleanup"; fi"#;
    let log_file = std::fs::File::create(log).expect("create server log");
    Command::new("sh")
        // s3s-fs logs each failed request at this level.
        .env("RUST_LOG", "info")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(std::process::id().to_string())
        .arg(cleanup)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()))
}

/// Starts `program` with the arguments `args_for(port)` and waits until it
/// listens. Returns the watchdog process and the port.
///
/// A server that finds its port taken by another process exits at once, and
/// the port may still accept connections from that other process. So the
/// server must also still run a moment after the port accepts, or it is
/// started again on another port.
fn start_server(
    name: &str,
    program: &Path,
    args_for: impl Fn(u16) -> Vec<String>,
    log: &Path,
    cleanup: &Path,
) -> (Child, u16) {
    for _ in 0..START_ATTEMPTS {
        let port = unassigned_port();
        let mut child = spawn_watched(program, &args_for(port), log, cleanup);
        if wait_for_port(port, name, &mut child, log) {
            std::thread::sleep(Duration::from_millis(700));
            if matches!(child.try_wait(), Ok(None)) {
                return (child, port);
            }
        }
        let _ = child.wait();
    }
    let output = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{name} exited during startup {START_ATTEMPTS} times; its last log:\n{output}");
}

/// Waits until `port` accepts connections. Returns false if `child` exits
/// first, and panics if neither happens within [`STARTUP_TIMEOUT`].
fn wait_for_port(port: u16, name: &str, child: &mut Child, log: &Path) -> bool {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{name} did not listen on 127.0.0.1:{port} within {STARTUP_TIMEOUT:?}:\n{output}");
}

fn start_services() -> AwsServices {
    let s3s_fs = find_s3s_fs();
    let dynalite = find_dynalite();

    let work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("aws-services-{}", std::process::id()));
    let s3_root = work_dir.join("s3");
    std::fs::create_dir_all(&s3_root).expect("create s3s-fs root");

    let (s3, s3_port) = start_server(
        "s3s-fs",
        &s3s_fs,
        |port| {
            vec![
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--access-key".into(),
                ACCESS_KEY.into(),
                "--secret-key".into(),
                SECRET_KEY.into(),
                s3_root.display().to_string(),
            ]
        },
        &work_dir.join("s3s-fs.log"),
        &work_dir,
    );
    let (dynamodb, dynamodb_port) = start_server(
        "dynalite",
        &dynalite,
        |port| {
            vec![
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--createTableMs".into(),
                "0".into(),
            ]
        },
        &work_dir.join("dynalite.log"),
        &work_dir,
    );

    AwsServices {
        s3_endpoint: format!("http://127.0.0.1:{s3_port}"),
        dynamodb_endpoint: format!("http://127.0.0.1:{dynamodb_port}"),
        work_dir,
        _s3: s3,
        _dynamodb: dynamodb,
    }
}

/// SDK settings for one local endpoint, with the test credentials. Nothing
/// here reads the environment, so the SDK never looks for real AWS.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "safebox-tests",
        )))
        .behavior_version(BehaviorVersion::latest())
        .build()
}

/// Returns a table and bucket name unique to this process and call.
pub fn unique_names() -> (String, String) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let serial = NEXT.fetch_add(1, Ordering::SeqCst);
    let pid = std::process::id();
    (
        format!("safebox-test-{pid}-{serial}"),
        format!("safebox-test-{pid}-{serial}"),
    )
}

/// Builds an AWS backend over a fresh table and bucket.
///
/// The table and bucket are created on a runtime of their own, so that this
/// works from the synchronous factory. The returned backend has new clients
/// that belong to the caller's runtime.
pub fn fresh_backend(config: &Config, clock: Arc<dyn Clock>) -> AwsBackend {
    let services = services();
    let (table, bucket) = unique_names();
    let s3 = sdk_config(&services.s3_endpoint);
    let dynamodb = sdk_config(&services.dynamodb_endpoint);

    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("provisioning runtime");
                runtime.block_on(async {
                    let backend = AwsBackend::from_service_configs(
                        &s3,
                        &dynamodb,
                        &table,
                        &bucket,
                        config,
                        clock.clone(),
                    )
                    .expect("backend");
                    backend
                        .create_missing(None)
                        .await
                        .expect("create table and bucket");
                });
            })
            .join()
            .expect("provisioning thread");
    });

    AwsBackend::from_service_configs(&s3, &dynamodb, &table, &bucket, config, clock)
        .expect("backend")
}

/// The AWS backend for the shared API tests.
pub struct AwsFactory;

impl BackendFactory for AwsFactory {
    fn backend(&self) -> super::Backend {
        super::Backend::Aws
    }

    fn build(&self, _dir: &Path, public_url: &str, clock: Arc<dyn Clock>) -> BackendParts {
        let config = Config::new(public_url, None, PathBuf::from("no-web-app"), 1024 * 1024)
            .expect("config");
        let backend = fresh_backend(&config, clock);
        BackendParts {
            records: backend.records(),
            blobs: backend.blobs(),
            routes: axum::Router::new(),
            blob_url_prefix: format!("{}/", services().s3_endpoint),
        }
    }
}
