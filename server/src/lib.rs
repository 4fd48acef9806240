//! Safebox server core.
//!
//! The server stores only ciphertext and redeems each link once. Its parts:
//!
//! - [`store`]: the [`RecordStore`](store::RecordStore) and
//!   [`BlobStore`](store::BlobStore) traits, shaped after DynamoDB conditional
//!   updates and S3 presigned requests.
//! - [`api`]: the one axum router for `docs/API.md`, the static web app and
//!   the security headers. It depends on no storage backend.
//! - [`local`]: the local backend (SQLite records, blob files in a data
//!   directory, HMAC-signed blob URLs) and its `/blob` routes.
//! - `aws` (cargo feature `aws`, on by default): the AWS backend (DynamoDB
//!   records, S3 blobs) and the Lambda entry points.
//! - [`sweeper`]: the periodic task that deletes unconfirmed and expired
//!   ciphertext and purges old records.
//! - [`cli`]: the command-line options and the `run` entry point of the
//!   `safebox-server` binary.

pub mod api;
#[cfg(feature = "aws")]
pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod file_id;
pub mod local;
pub mod serve;
pub mod store;
pub mod sweeper;
pub mod token;

pub use api::AppState;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use file_id::FileId;
