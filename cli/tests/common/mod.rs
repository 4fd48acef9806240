//! Test kit: a real Safebox server on a loopback port, and the `safebox`
//! binary run against it.
//!
//! The server runs in this test process, built from the `safebox-server`
//! library as its binary builds itself (local backend, the API router, the
//! blob routes), with two differences: a [`ManualClock`], so tests can move
//! time past an expiry, and no sweeper. It listens on 127.0.0.1 on a port
//! the OS picks.
//!
//! In-process rather than a spawned `safebox-server` binary, so cargo
//! always builds the server from the current source for these tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::thread::JoinHandle;

use safebox_server::api::{self, AppState};
use safebox_server::config::{Config, DEFAULT_MAX_SIZE};
use safebox_server::local::LocalBackend;
use safebox_server::store::{Record, RecordStore};
use safebox_server::{Clock, ManualClock};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A running server; stopped when dropped.
pub struct TestServer {
    /// Base URL, for example `http://127.0.0.1:41234`.
    pub url: String,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
    /// The local backend's data directory.
    pub data_dir: PathBuf,
    records: Arc<dyn RecordStore>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _root: TempDir,
}

impl TestServer {
    /// Starts a server with the default size limit.
    pub fn start() -> TestServer {
        TestServer::start_behind(None)
    }

    /// Starts a server whose links and signed URLs name `public_url`
    /// instead of its own address, for a proxy in front of it.
    pub fn start_behind(public_url: Option<&str>) -> TestServer {
        let root = tempfile::tempdir().expect("temporary directory");
        let data_dir = root.path().join("data");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local address"));

        let config = Config::new(
            public_url.unwrap_or(&url),
            None,
            root.path().join("web"),
            DEFAULT_MAX_SIZE,
        )
        .expect("server config");
        let clock = Arc::new(ManualClock::starting_now());
        let shared_clock: Arc<dyn Clock> = clock.clone();
        let backend = LocalBackend::open(&data_dir, config.public_url(), shared_clock.clone())
            .expect("local backend");
        let records = backend.records();
        let state = AppState {
            records: records.clone(),
            blobs: backend.blobs(),
            config: Arc::new(config),
            clock: shared_clock,
        };
        let app = api::app(state, backend.routes());

        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let stop = async {
                    let _ = stopped.await;
                };
                safebox_server::serve::serve(listener, app, stop)
                    .await
                    .expect("server runs");
            });
        });

        TestServer {
            url,
            clock,
            data_dir,
            records,
            shutdown: Some(shutdown),
            thread: Some(thread),
            _root: root,
        }
    }

    /// Returns the records whose ciphertext the sweeper would delete if the
    /// clock read `now`: pending or active ones that expired by then, and
    /// claimed ones (no grace period). Deleted records are not listed.
    pub fn records_due(&self, now: u64) -> Vec<Record> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        runtime
            .block_on(self.records.list_due(now, 0, 100))
            .expect("records listed")
    }

    /// Returns the path of the stored ciphertext of `id`.
    pub fn blob_path(&self, id: &str) -> PathBuf {
        self.data_dir.join("blobs").join(id)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `safebox` with `args` in `directory`, with `SAFEBOX_SERVER` unset.
pub fn safebox(directory: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safebox"))
        .args(args)
        .current_dir(directory)
        .env_remove("SAFEBOX_SERVER")
        .output()
        .expect("safebox runs")
}

/// Returns standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Uploads `path` through the binary and returns the link (the last line of
/// standard output).
pub fn upload(server: &TestServer, path: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "upload",
        path.to_str().expect("UTF-8 path"),
        "--server",
        &server.url,
    ];
    args.extend_from_slice(extra);
    let output = safebox(path.parent().expect("parent"), &args);
    assert!(
        output.status.success(),
        "upload failed: {}",
        stderr(&output)
    );
    stdout(&output)
        .lines()
        .last()
        .expect("a link line")
        .to_owned()
}

/// Returns the file id of a link.
pub fn link_id(link: &str) -> String {
    let fragment = link.split_once('#').expect("link has a fragment").1;
    fragment.split_once('.').expect("id.secret").0.to_owned()
}

/// Returns the names of the entries of `directory`, sorted.
pub fn entries(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("readable directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
