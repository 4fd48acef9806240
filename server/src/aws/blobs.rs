//! Ciphertext objects in an S3 bucket, moved by presigned requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::presigning::{PresignedRequest as S3PresignedRequest, PresigningConfig};

use crate::clock::Clock;
use crate::file_id::FileId;
use crate::store::{BlobError, BlobStore, PresignedRequest};

/// Key prefix of every ciphertext object. The bucket's lifecycle rule
/// expires objects under it, as the last line of deletion.
pub const UPLOAD_PREFIX: &str = "uploads/";

/// Largest object one S3 `PUT` may write: 5 GiB.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// Longest validity S3 accepts for a SigV4 presigned URL: 7 days.
const MAX_PRESIGN_SECONDS: u64 = 7 * 24 * 3600;

/// Content type of every upload. It is signed, so the client must send it.
const UPLOAD_CONTENT_TYPE: &str = "application/octet-stream";

/// A failed S3 call, with the SDK's full error chain as text.
#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} failed: {detail}")]
pub struct S3Error {
    operation: &'static str,
    detail: String,
}

impl S3Error {
    pub(crate) fn new<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self {
            operation,
            detail: DisplayErrorContext(error).to_string(),
        }
    }

    fn presign(operation: &'static str, error: impl std::fmt::Display) -> Self {
        Self {
            operation,
            detail: format!("presigning failed: {error}"),
        }
    }
}

/// A [`BlobStore`] over one S3 bucket: object `uploads/<id>` per file.
#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    clock: Arc<dyn Clock>,
}

impl S3BlobStore {
    /// Creates a store over an existing bucket. Presigned URLs are signed as
    /// of `clock`'s time.
    pub fn new(client: Client, bucket: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            clock,
        }
    }

    /// Returns the object key of a file id.
    pub fn object_key(id: &FileId) -> String {
        format!("{UPLOAD_PREFIX}{id}")
    }

    /// Returns the origin (`scheme://host[:port]`) that presigned URLs of
    /// this bucket point to, for the page's Content-Security-Policy. Signing
    /// is local, so this sends no request.
    pub async fn url_origin(&self) -> Result<String, BlobError> {
        let probe = FileId::generate();
        let url = self.presign_download(&probe, self.clock.now() + 60).await?;
        let end = url
            .match_indices('/')
            .nth(2)
            .map_or(url.len(), |(index, _)| index);
        Ok(url[..end].to_owned())
    }

    /// Builds the presigning settings for a request valid from now until
    /// `expires_at`.
    fn presigning(
        &self,
        operation: &'static str,
        expires_at: u64,
    ) -> Result<PresigningConfig, BlobError> {
        let now = self.clock.now();
        let lifetime = expires_at.saturating_sub(now).clamp(1, MAX_PRESIGN_SECONDS);
        PresigningConfig::builder()
            .start_time(UNIX_EPOCH + Duration::from_secs(now))
            .expires_in(Duration::from_secs(lifetime))
            .build()
            .map_err(|error| BlobError::backend(S3Error::presign(operation, error)))
    }
}

/// Copies the headers a presigned request must carry, with lowercase names.
/// `host` is left out, because it comes from the URL.
fn required_headers(request: &S3PresignedRequest) -> BTreeMap<String, String> {
    request
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect()
}

#[async_trait]
impl BlobStore for S3BlobStore {
    /// Presigns a `PutObject` of `uploads/<id>` with `Content-Length: len`
    /// among the signed headers, so S3 rejects a body of any other length
    /// with `403`.
    ///
    /// NOTE: one `PUT` writes at most 5 GiB ([`MAX_SINGLE_PUT`]); the
    /// backend refuses to start with a larger maximum. Files above that
    /// need S3 multipart upload: `CreateMultipartUpload` here, one presigned
    /// `UploadPart` URL per part (each binding its own length), then
    /// `CompleteMultipartUpload` in `complete`. The API response can carry
    /// that as a `parts` list next to `upload_url` and `upload_headers`,
    /// which old clients ignore.
    ///
    /// NOTE: a URL signed with temporary credentials (a Lambda role) stops
    /// working when those credentials expire, which can be before
    /// `expires_at`. The client uploads right after creating the record, so
    /// only an upload started hours later is affected.
    async fn presign_upload(
        &self,
        id: &FileId,
        len: u64,
        expires_at: u64,
    ) -> Result<PresignedRequest, BlobError> {
        const OPERATION: &str = "PutObject";
        let content_length = i64::try_from(len).map_err(|_| {
            BlobError::backend(S3Error::presign(
                OPERATION,
                format!("length {len} is too large"),
            ))
        })?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::object_key(id))
            .content_length(content_length)
            .content_type(UPLOAD_CONTENT_TYPE)
            .presigned(self.presigning(OPERATION, expires_at)?)
            .await
            .map_err(|error| BlobError::backend(S3Error::new(OPERATION, &error)))?;
        Ok(PresignedRequest {
            url: presigned.uri().to_owned(),
            headers: required_headers(&presigned),
        })
    }

    async fn presign_download(&self, id: &FileId, expires_at: u64) -> Result<String, BlobError> {
        const OPERATION: &str = "GetObject";
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::object_key(id))
            .presigned(self.presigning(OPERATION, expires_at)?)
            .await
            .map_err(|error| BlobError::backend(S3Error::new(OPERATION, &error)))?;
        Ok(presigned.uri().to_owned())
    }

    /// Returns the object's size. S3 makes an object visible only once its
    /// `PUT` has completed, so a partial upload is never seen.
    async fn head(&self, id: &FileId) -> Result<Option<u64>, BlobError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(Self::object_key(id))
            .send()
            .await;
        match result {
            Ok(output) => {
                let size = output
                    .content_length()
                    .and_then(|length| u64::try_from(length).ok());
                Ok(size)
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(HeadObjectError::is_not_found) =>
            {
                Ok(None)
            }
            Err(error) => Err(BlobError::backend(S3Error::new("HeadObject", &error))),
        }
    }

    async fn delete(&self, id: &FileId) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(Self::object_key(id))
            .send()
            .await
            .map_err(|error| BlobError::backend(S3Error::new("DeleteObject", &error)))?;
        Ok(())
    }
}
