//! Ciphertext as files in the data directory.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use rand::RngCore;
use rand::rngs::OsRng;
use tokio::io::AsyncWriteExt;

use super::signing::{BlobOperation, BlobSigner};
use crate::file_id::FileId;
use crate::store::{BlobError, BlobStore, PresignedRequest};

/// Errors of an upload through a blob URL.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The body carried more bytes than the signed length.
    #[error("the body is longer than the signed length of {expected} bytes")]
    TooLong {
        /// Signed length in bytes.
        expected: u64,
    },
    /// The body ended before the signed length.
    #[error("the body ended after {received} of {expected} bytes")]
    TooShort {
        /// Bytes received.
        received: u64,
        /// Signed length in bytes.
        expected: u64,
    },
    /// Reading the body from the client failed.
    #[error("reading the request body failed: {0}")]
    Body(#[source] axum::Error),
    /// Writing the file failed.
    #[error("writing the blob failed: {0}")]
    Io(#[from] io::Error),
}

/// Blob files under `blobs/` and partial uploads under `uploads/`, both in
/// the data directory so that a rename between them is atomic.
#[derive(Debug)]
pub struct LocalBlobStore {
    blob_dir: PathBuf,
    upload_dir: PathBuf,
    signer: Arc<BlobSigner>,
    public_url: String,
}

impl LocalBlobStore {
    /// Creates a store over existing directories. `public_url` has no
    /// trailing slash and is the base of the presigned URLs.
    pub fn new(
        blob_dir: PathBuf,
        upload_dir: PathBuf,
        signer: Arc<BlobSigner>,
        public_url: String,
    ) -> Self {
        Self {
            blob_dir,
            upload_dir,
            signer,
            public_url,
        }
    }

    /// Returns the signer that the blob routes verify with.
    pub fn signer(&self) -> &BlobSigner {
        &self.signer
    }

    /// Returns the path of the complete blob of `id`.
    pub fn blob_path(&self, id: &FileId) -> PathBuf {
        // Ids are 16 characters of [A-Za-z0-9_-], so they cannot escape the
        // directory.
        self.blob_dir.join(id.as_str())
    }

    /// Streams an upload of exactly `len` bytes to a temporary file, syncs
    /// it, and renames it over the blob of `id`.
    ///
    /// The blob becomes visible only when complete. On any error, including
    /// the future being dropped, the temporary file is removed.
    pub async fn write<S>(&self, id: &FileId, len: u64, mut body: S) -> Result<(), UploadError>
    where
        S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
    {
        let temp = TempFile::new(
            self.upload_dir
                .join(format!("{id}.{:016x}.part", OsRng.next_u64())),
        );
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(temp.path())
            .await?;

        let mut received: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(UploadError::Body)?;
            received += chunk.len() as u64;
            if received > len {
                return Err(UploadError::TooLong { expected: len });
            }
            file.write_all(&chunk).await?;
        }
        if received != len {
            return Err(UploadError::TooShort {
                received,
                expected: len,
            });
        }

        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(temp.path(), self.blob_path(id)).await?;
        temp.disarm();
        sync_directory(self.blob_dir.clone()).await?;
        Ok(())
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn presign_upload(
        &self,
        id: &FileId,
        len: u64,
        expires_at: u64,
    ) -> Result<PresignedRequest, BlobError> {
        let signature = self.signer.sign(BlobOperation::Put { len }, id, expires_at);
        let url = format!(
            "{}/blob/{id}?op=put&len={len}&exp={expires_at}&sig={signature}",
            self.public_url
        );
        let headers = BTreeMap::from([(
            "content-type".to_owned(),
            "application/octet-stream".to_owned(),
        )]);
        Ok(PresignedRequest { url, headers })
    }

    async fn presign_download(&self, id: &FileId, expires_at: u64) -> Result<String, BlobError> {
        let signature = self.signer.sign(BlobOperation::Get, id, expires_at);
        Ok(format!(
            "{}/blob/{id}?op=get&exp={expires_at}&sig={signature}",
            self.public_url
        ))
    }

    async fn head(&self, id: &FileId) -> Result<Option<u64>, BlobError> {
        match tokio::fs::metadata(self.blob_path(id)).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(metadata.len())),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(BlobError::backend(error)),
        }
    }

    async fn delete(&self, id: &FileId) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.blob_path(id)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(BlobError::backend(error)),
        }
    }

    async fn remove_stale(&self, now: u64, max_age: u64) -> Result<u64, BlobError> {
        let directories = [self.blob_dir.clone(), self.upload_dir.clone()];
        let cutoff = now.saturating_sub(max_age);
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for directory in &directories {
                removed += remove_files_older_than(directory, cutoff)?;
            }
            Ok::<u64, io::Error>(removed)
        })
        .await
        .map_err(BlobError::backend)?
        .map_err(BlobError::backend)
    }
}

/// Removes the regular files in `directory` last modified before `cutoff`
/// (Unix seconds) and returns how many.
fn remove_files_older_than(directory: &Path, cutoff: u64) -> io::Result<u64> {
    let mut removed = 0;
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        if modified < cutoff {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(removed)
}

/// Syncs a directory so that a rename inside it survives a crash.
async fn sync_directory(directory: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(directory)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

/// A temporary file that is removed on drop unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn new(path: PathBuf) -> Self {
        Self { path, armed: true }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Blocking, but a single unlink; it also runs when the upload
            // future is dropped mid-stream, where no async cleanup could.
            if let Err(error) = std::fs::remove_file(&self.path)
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %self.path.display(), %error, "failed to remove a partial upload");
            }
        }
    }
}
