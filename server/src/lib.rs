//! Safebox server core.
//!
//! The server stores only ciphertext and redeems each link once. Its parts:
//!
//! - [`store`]: the [`RecordStore`](store::RecordStore) and
//!   [`BlobStore`](store::BlobStore) traits, shaped after DynamoDB conditional
//!   updates and S3 presigned requests.
//! - [`local`]: the local backend (SQLite records, blob files in a data
//!   directory, HMAC-signed blob URLs) and its `/blob` routes.

pub mod clock;
pub mod config;
pub mod file_id;
pub mod local;
pub mod store;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use file_id::FileId;
