//! The local backend: records in SQLite, ciphertext as files, and blob URLs
//! signed with HMAC-SHA256, all under one data directory:
//!
//! ```text
//! <data-dir>/records.sqlite3   records (WAL mode, so also -wal and -shm)
//! <data-dir>/blob-signing.key  32-byte HMAC key, mode 0600
//! <data-dir>/blobs/<id>        complete ciphertext
//! <data-dir>/uploads/          partial uploads, renamed into blobs/ when complete
//! ```

mod blobs;
mod records;
mod routes;
mod signing;

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;

pub use blobs::{LocalBlobStore, UploadError};
pub use records::SqliteRecordStore;
pub use signing::{BlobOperation, BlobSigner};

use crate::clock::Clock;
use crate::store::{BlobStore, RecordStore};

/// Errors opening the data directory.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A file or directory could not be created or read.
    #[error("cannot open {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The records database could not be opened.
    #[error("cannot open the records database {path}: {source}")]
    Database {
        /// Path of the database.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
}

/// The local backend over one data directory.
#[derive(Clone)]
pub struct LocalBackend {
    records: Arc<SqliteRecordStore>,
    blobs: Arc<LocalBlobStore>,
    clock: Arc<dyn Clock>,
}

impl LocalBackend {
    /// Opens the data directory, creating it (mode 0700), the database and
    /// the signing key as needed.
    ///
    /// `public_url` (without trailing slash) is the base of blob URLs, and
    /// `clock` decides when they expire.
    pub fn open(
        data_dir: &Path,
        public_url: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LocalError> {
        let blob_dir = data_dir.join("blobs");
        let upload_dir = data_dir.join("uploads");
        for directory in [data_dir, &blob_dir, &upload_dir] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(directory)
                .map_err(|source| LocalError::Io {
                    path: directory.to_owned(),
                    source,
                })?;
        }

        let key_path = data_dir.join("blob-signing.key");
        let signer = BlobSigner::load_or_create(&key_path).map_err(|source| LocalError::Io {
            path: key_path,
            source,
        })?;

        let database_path = data_dir.join("records.sqlite3");
        // SQLite would create the file with the umask's mode, and its -wal
        // and -shm files copy the database's mode, so it is made owner-only
        // first. A file left by an older version is narrowed too.
        let owner_only = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&database_path)
            .and_then(|_| {
                std::fs::set_permissions(&database_path, std::fs::Permissions::from_mode(0o600))
            });
        owner_only.map_err(|source| LocalError::Io {
            path: database_path.clone(),
            source,
        })?;
        let records =
            SqliteRecordStore::open(&database_path).map_err(|source| LocalError::Database {
                path: database_path,
                source,
            })?;

        let blobs = LocalBlobStore::new(
            blob_dir,
            upload_dir,
            Arc::new(signer),
            public_url.trim_end_matches('/').to_owned(),
        );
        Ok(Self {
            records: Arc::new(records),
            blobs: Arc::new(blobs),
            clock,
        })
    }

    /// Returns the record store.
    pub fn records(&self) -> Arc<dyn RecordStore> {
        self.records.clone()
    }

    /// Returns the blob store.
    pub fn blobs(&self) -> Arc<dyn BlobStore> {
        self.blobs.clone()
    }

    /// Returns the `/blob/{id}` routes that this backend's presigned URLs
    /// point to, for merging into the application.
    pub fn routes(&self) -> Router {
        routes::routes(self.blobs.clone(), self.clock.clone())
    }
}
