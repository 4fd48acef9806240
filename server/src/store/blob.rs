//! The [`BlobStore`] trait for ciphertext objects.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::file_id::FileId;

/// A request the client makes directly to blob storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// Absolute URL, signed for one method, one object and a deadline.
    pub url: String,
    /// Headers the client must send with the request, lowercase names.
    pub headers: BTreeMap<String, String>,
}

/// Errors of a blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The backend failed; the request may be retried.
    #[error("blob store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BlobError {
    /// Wraps a backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// Ciphertext objects, one per file id, written and read by clients through
/// presigned URLs.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Presigns a `PUT` of exactly `len` bytes to the object of `id`, valid
    /// for requests that start before `expires_at` (Unix seconds).
    async fn presign_upload(
        &self,
        id: &FileId,
        len: u64,
        expires_at: u64,
    ) -> Result<PresignedRequest, BlobError>;

    /// Presigns a `GET` of the object of `id`, valid for requests that start
    /// before `expires_at` (Unix seconds). Returns the absolute URL.
    async fn presign_download(&self, id: &FileId, expires_at: u64) -> Result<String, BlobError>;

    /// Returns the size of the complete object of `id`, or `None` if there
    /// is none. A partial upload is never visible here.
    async fn head(&self, id: &FileId) -> Result<Option<u64>, BlobError>;

    /// Deletes the object of `id`. Deleting a missing object succeeds.
    async fn delete(&self, id: &FileId) -> Result<(), BlobError>;

    /// Removes objects and partial uploads that no record can refer to any
    /// more, written before `now - max_age` seconds. Returns how many.
    ///
    /// They appear when a presigned `PUT` finishes after its record was
    /// deleted. Backends with a storage-side lifecycle rule (an S3 bucket
    /// expiration) keep this default, which does nothing.
    async fn remove_stale(&self, _now: u64, _max_age: u64) -> Result<u64, BlobError> {
        Ok(0)
    }
}
