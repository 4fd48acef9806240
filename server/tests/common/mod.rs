//! Test harness: starts the real application over loopback on a chosen
//! storage backend, with a manual clock, and offers a small client.
//!
//! A backend is plugged in through [`BackendFactory`]. The shared API tests
//! take a [`Backend`] and [`test_on_each_backend!`] runs each of them once on
//! every backend.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "aws")]
pub mod aws;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use reqwest::StatusCode;
use safebox_server::api::{self, AppState};
use safebox_server::clock::{Clock, ManualClock};
use safebox_server::config::Config;
use safebox_server::file_id::FileId;
use safebox_server::local::LocalBackend;
use safebox_server::store::{
    ActivateOutcome, BlobError, BlobStore, ClaimOutcome, NewRecord, PresignedRequest, Record,
    RecordStore, StoreError,
};
use safebox_server::token::TokenHash;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Stores and routes of one backend instance.
pub struct BackendParts {
    pub records: Arc<dyn RecordStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub routes: Router,
    /// Prefix of every presigned upload and download URL.
    pub blob_url_prefix: String,
}

/// A storage backend of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and files, with blob URLs served by the server itself.
    Local,
    /// DynamoDB and S3, with presigned URLs that point at S3.
    Aws,
}

impl Backend {
    /// Returns the factory that builds this backend.
    pub fn factory(self) -> &'static dyn BackendFactory {
        match self {
            Backend::Local => &LocalFactory,
            #[cfg(feature = "aws")]
            Backend::Aws => &aws::AwsFactory,
            #[cfg(not(feature = "aws"))]
            Backend::Aws => {
                panic!("the AWS backend is not compiled in: build the tests with the `aws` feature")
            }
        }
    }
}

/// Generates tests that run shared test functions on every backend.
///
/// For each name, the calling file defines `async fn name(backend: Backend)`.
/// The macro adds a module `name` with a `#[tokio::test]` `local`, and with
/// the `aws` feature also one named `aws`, which returns early when
/// `SAFEBOX_SKIP_AWS_TESTS=1` is set. So the tests are named `name::local`
/// and `name::aws`.
// Every test binary compiles this module, but only some use the macro.
#[allow(unused_macros)]
macro_rules! test_on_each_backend {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn local() {
                super::$name($crate::common::Backend::Local).await;
            }

            #[cfg(feature = "aws")]
            #[tokio::test]
            async fn aws() {
                if $crate::common::aws::skipped() {
                    return;
                }
                super::$name($crate::common::Backend::Aws).await;
            }
        }
    )+};
}
#[allow(unused_imports)]
pub(crate) use test_on_each_backend;

/// Maximum time for one test. Each test here takes a few seconds, even on a
/// loaded machine.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(180);

/// Guard that stops the whole test process if its test runs past
/// [`TEST_TIME_LIMIT`], after printing the test's name and what the local
/// AWS API servers logged. A request that never returns then fails the run
/// at once instead of stalling it.
pub struct Watchdog {
    _done: mpsc::Sender<()>,
}

impl Watchdog {
    /// Starts the watchdog for the test running on this thread (the test
    /// harness names each test's thread after the test).
    pub fn start() -> Self {
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let (done, finished) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if finished.recv_timeout(TEST_TIME_LIMIT) == Err(RecvTimeoutError::Timeout) {
                #[allow(unused_mut)]
                let mut report = format!(
                    "\ntest {test} did not finish within {} s: stopping the test process\n",
                    TEST_TIME_LIMIT.as_secs()
                );
                #[cfg(feature = "aws")]
                report.push_str(&aws::server_log_tails());
                // Written to the real stderr: the harness captures what
                // `eprintln!` prints and would never show it.
                let _ = std::io::stderr().write_all(report.as_bytes());
                std::process::exit(101);
            }
        });
        Self { _done: done }
    }
}

/// Builds a fresh, empty backend instance.
pub trait BackendFactory: Send + Sync {
    /// Returns the backend this factory builds.
    fn backend(&self) -> Backend;

    /// Builds the backend with its state under `dir`, presigning URLs under
    /// `public_url` and reading time from `clock`.
    fn build(&self, dir: &Path, public_url: &str, clock: Arc<dyn Clock>) -> BackendParts;
}

/// The local backend: SQLite and files in a temporary data directory.
pub struct LocalFactory;

impl BackendFactory for LocalFactory {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    fn build(&self, dir: &Path, public_url: &str, clock: Arc<dyn Clock>) -> BackendParts {
        let backend = LocalBackend::open(dir, public_url, clock).expect("open local backend");
        BackendParts {
            records: backend.records(),
            blobs: backend.blobs(),
            routes: backend.routes(),
            blob_url_prefix: format!("{public_url}/blob/"),
        }
    }
}

/// Settings of a test server.
pub struct Options {
    pub web_dir: Option<PathBuf>,
    pub max_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            web_dir: None,
            max_size: 1024 * 1024,
        }
    }
}

/// Counts of store calls, to check that a request touched no storage.
#[derive(Default)]
pub struct StoreCalls {
    pub records: AtomicUsize,
    pub blobs: AtomicUsize,
}

impl StoreCalls {
    pub fn total(&self) -> usize {
        self.records.load(Ordering::SeqCst) + self.blobs.load(Ordering::SeqCst)
    }
}

/// A running server and a client for it.
pub struct TestServer {
    pub base: String,
    pub backend: Backend,
    /// Prefix of every presigned upload and download URL.
    pub blob_url_prefix: String,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub calls: Arc<StoreCalls>,
    pub data_dir: TempDir,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    _watchdog: Watchdog,
}

impl TestServer {
    /// Starts a server on `backend` with default options.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend.factory(), Options::default()).await
    }

    /// Starts a server on `factory`'s backend.
    pub async fn start_with(factory: &dyn BackendFactory, options: Options) -> Self {
        let watchdog = Watchdog::start();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let clock = Arc::new(ManualClock::starting_now());
        let data_dir = tempfile::tempdir().expect("temp dir");

        let parts = factory.build(data_dir.path(), &base, clock.clone());
        let calls = Arc::new(StoreCalls::default());
        let web_dir = options
            .web_dir
            .unwrap_or_else(|| data_dir.path().join("no-web-app"));
        let config = Config::new(&base, None, web_dir, options.max_size).expect("config");
        let state = AppState {
            records: Arc::new(CountingRecords {
                inner: parts.records,
                calls: calls.clone(),
            }),
            blobs: Arc::new(CountingBlobs {
                inner: parts.blobs,
                calls: calls.clone(),
            }),
            config: Arc::new(config),
            clock: clock.clone(),
        };

        let app = api::app(state.clone(), parts.routes);
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async {
                let _ = shutdown_signal.await;
            };
            safebox_server::serve::serve(listener, app, signal)
                .await
                .expect("serve");
        });

        Self {
            base,
            backend: factory.backend(),
            blob_url_prefix: parts.blob_url_prefix,
            clock,
            state,
            calls,
            data_dir,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
            shutdown: Some(shutdown),
            task,
            _watchdog: watchdog,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a JSON `POST` and returns the status and the JSON body
    /// (`Value::Null` for an empty one).
    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("send");
        read_json(response).await
    }

    /// Creates an upload and returns it with the secrets a sender holds.
    pub async fn create_upload(&self, size: usize, expires_in: u64) -> Upload {
        let claim_token = random_token();
        let (status, body) = self
            .post_json(
                "/api/v1/uploads",
                &json!({
                    "size": size,
                    "expires_in": expires_in,
                    "claim_hash": claim_hash_of(&claim_token),
                    "metadata": URL_SAFE_NO_PAD.encode(random_bytes(128)),
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create upload: {body}");
        Upload {
            id: body["id"].as_str().expect("id").to_owned(),
            upload_url: body["upload_url"].as_str().expect("upload_url").to_owned(),
            upload_headers: body["upload_headers"].clone(),
            owner_token: body["owner_token"]
                .as_str()
                .expect("owner_token")
                .to_owned(),
            expires_at: body["expires_at"].as_u64().expect("expires_at"),
            claim_token,
            ciphertext: random_bytes(size),
        }
    }

    /// Sends the upload's ciphertext to its presigned URL.
    pub async fn put_ciphertext(&self, upload: &Upload, body: Vec<u8>) -> StatusCode {
        let mut request = self.client.put(&upload.upload_url).body(body);
        if let Some(headers) = upload.upload_headers.as_object() {
            for (name, value) in headers {
                request = request.header(name, value.as_str().expect("header value"));
            }
        }
        request.send().await.expect("put").status()
    }

    pub async fn complete(&self, upload: &Upload) -> (StatusCode, Value) {
        self.owner_request(
            reqwest::Method::POST,
            upload,
            "/complete",
            &upload.owner_token,
        )
        .await
    }

    /// Creates, uploads and completes a file.
    pub async fn active_upload(&self, size: usize, expires_in: u64) -> Upload {
        let upload = self.create_upload(size, expires_in).await;
        let status = self
            .put_ciphertext(&upload, upload.ciphertext.clone())
            .await;
        assert_eq!(status, StatusCode::OK, "put ciphertext");
        let (status, body) = self.complete(&upload).await;
        assert_eq!(status, StatusCode::OK, "complete: {body}");
        upload
    }

    /// Sends an owner request to `/api/v1/uploads/{id}{suffix}`.
    pub async fn owner_request(
        &self,
        method: reqwest::Method,
        upload: &Upload,
        suffix: &str,
        owner_token: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .request(
                method,
                self.url(&format!("/api/v1/uploads/{}{suffix}", upload.id)),
            )
            .bearer_auth(owner_token)
            .send()
            .await
            .expect("send");
        read_json(response).await
    }

    pub async fn info(&self, id: &str, claim_token: &str) -> (StatusCode, Value) {
        self.post_json(
            &format!("/api/v1/files/{id}/info"),
            &json!({ "claim_token": claim_token }),
        )
        .await
    }

    pub async fn claim(&self, id: &str, claim_token: &str) -> (StatusCode, Value) {
        self.post_json(
            &format!("/api/v1/files/{id}/claim"),
            &json!({ "claim_token": claim_token }),
        )
        .await
    }

    pub async fn delete_file(&self, id: &str, claim_token: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .delete(self.url(&format!("/api/v1/files/{id}")))
            .json(&json!({ "claim_token": claim_token }))
            .send()
            .await
            .expect("send");
        read_json(response).await
    }

    /// Fetches a URL and returns the status and the body bytes.
    pub async fn get_bytes(&self, url: &str) -> (StatusCode, Vec<u8>) {
        let response = self.client.get(url).send().await.expect("get");
        let status = response.status();
        (status, response.bytes().await.expect("body").to_vec())
    }

    /// Reads a record straight from the store, bypassing the API.
    pub async fn record(&self, id: &str) -> Option<Record> {
        let id = FileId::parse(id).expect("valid id");
        self.state.records.get(&id).await.expect("get record")
    }

    /// Returns the stored object size straight from the blob store.
    pub async fn stored_size(&self, id: &str) -> Option<u64> {
        let id = FileId::parse(id).expect("valid id");
        self.state.blobs.head(&id).await.expect("head")
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await.expect("server task");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

/// An upload with the values and secrets its sender has.
pub struct Upload {
    pub id: String,
    pub upload_url: String,
    pub upload_headers: Value,
    pub owner_token: String,
    pub expires_at: u64,
    pub claim_token: String,
    pub ciphertext: Vec<u8>,
}

pub async fn read_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Returns a random 32-byte token as unpadded base64url.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(32))
}

/// Returns `b64u(SHA-256(token bytes))`.
pub fn claim_hash_of(token: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(token).expect("token is base64url");
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// A record store that counts calls and forwards them.
struct CountingRecords {
    inner: Arc<dyn RecordStore>,
    calls: Arc<StoreCalls>,
}

impl CountingRecords {
    fn count(&self) {
        self.calls.records.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl RecordStore for CountingRecords {
    async fn create(&self, record: NewRecord) -> Result<(), StoreError> {
        self.count();
        self.inner.create(record).await
    }
    async fn get(&self, id: &FileId) -> Result<Option<Record>, StoreError> {
        self.count();
        self.inner.get(id).await
    }
    async fn activate(&self, id: &FileId, now: u64) -> Result<ActivateOutcome, StoreError> {
        self.count();
        self.inner.activate(id, now).await
    }
    async fn claim(
        &self,
        id: &FileId,
        claim_hash: &TokenHash,
        attempt_hash: Option<&TokenHash>,
        now: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        self.count();
        self.inner.claim(id, claim_hash, attempt_hash, now).await
    }
    async fn mark_deleted(&self, id: &FileId, now: u64) -> Result<bool, StoreError> {
        self.count();
        self.inner.mark_deleted(id, now).await
    }
    async fn list_due(
        &self,
        now: u64,
        claim_grace: u64,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.count();
        self.inner.list_due(now, claim_grace, limit).await
    }
    async fn purge(&self, now: u64) -> Result<u64, StoreError> {
        self.count();
        self.inner.purge(now).await
    }
}

/// A blob store that counts calls and forwards them.
struct CountingBlobs {
    inner: Arc<dyn BlobStore>,
    calls: Arc<StoreCalls>,
}

impl CountingBlobs {
    fn count(&self) {
        self.calls.blobs.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl BlobStore for CountingBlobs {
    async fn presign_upload(
        &self,
        id: &FileId,
        len: u64,
        expires_at: u64,
    ) -> Result<PresignedRequest, BlobError> {
        self.count();
        self.inner.presign_upload(id, len, expires_at).await
    }
    async fn presign_download(&self, id: &FileId, expires_at: u64) -> Result<String, BlobError> {
        self.count();
        self.inner.presign_download(id, expires_at).await
    }
    async fn head(&self, id: &FileId) -> Result<Option<u64>, BlobError> {
        self.count();
        self.inner.head(id).await
    }
    async fn delete(&self, id: &FileId) -> Result<(), BlobError> {
        self.count();
        self.inner.delete(id).await
    }
    async fn remove_stale(&self, now: u64, max_age: u64) -> Result<u64, BlobError> {
        self.count();
        self.inner.remove_stale(now, max_age).await
    }
}
