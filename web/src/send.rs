//! The sender's steps: encrypt, reserve an upload, send, complete.

use std::fmt;
use std::rc::Rc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use safebox_crypto::{
    DEFAULT_RECORD_SIZE, FileId, FormatError, Header, Link, LinkSecret, Metadata, ciphertext_size,
    encrypt_metadata,
};
use web_sys::File;

use safebox_protocol::{CreateUploadRequest, TokenText};

use crate::api::{Api, ApiError};
use crate::cipher::RecordCipher;
use crate::state::Phase;
use crate::upload::{CancelToken, UploadError, encrypt_file, put_blob};

/// A finished upload.
#[derive(Clone, PartialEq, Eq)]
pub struct SentFile {
    /// The share link, secret included.
    pub link: String,
    /// Name of the sent file, as the browser reported it.
    pub name: String,
    /// Plaintext size of the sent file in bytes.
    pub size: u64,
    /// Unix seconds after which the file is gone.
    pub expires_at: u64,
}

impl fmt::Debug for SentFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentFile")
            .field("link", &"<redacted>")
            .field("name", &"<redacted>")
            .field("size", &self.size)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Failure of a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Reading, encrypting or uploading failed, or the user cancelled.
    Upload(UploadError),
    /// The API rejected a step.
    Api(ApiError),
    /// The file name or type does not fit the metadata.
    Metadata(FormatError),
    /// The server returned an id that is not a valid file id.
    InvalidId,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Upload(error) => error.fmt(f),
            Self::Api(error) => error.fmt(f),
            Self::Metadata(error) => error.fmt(f),
            Self::InvalidId => f.write_str("the server returned an invalid file id"),
        }
    }
}

impl From<UploadError> for SendError {
    fn from(error: UploadError) -> Self {
        Self::Upload(error)
    }
}

impl From<ApiError> for SendError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

/// Progress callback: phase, bytes done, bytes in the phase.
pub type Report = Rc<dyn Fn(Phase, u64, u64)>;

/// Encrypts `file`, uploads it to expire after `expires_in` seconds and
/// returns the share link for `page_url`.
///
/// The whole file is encrypted before the upload is reserved, so the
/// presigned URL cannot expire while a large file is being encrypted. When
/// `cancel` fires after the reservation, the pending upload is deleted (best
/// effort).
///
/// # Errors
///
/// [`SendError`] for the step that failed; `SendError::Upload(Cancelled)`
/// after `cancel`.
pub async fn send_file(
    api: &Api,
    file: &File,
    expires_in: u64,
    page_url: &str,
    cancel: &CancelToken,
    report: Report,
) -> Result<SentFile, SendError> {
    let size = file.size() as u64;
    let secret = LinkSecret::generate();
    let header = Header::new(DEFAULT_RECORD_SIZE).map_err(SendError::Metadata)?;
    let metadata = Metadata {
        name: file.name(),
        mime: file.type_(),
        size,
    };
    let sealed_metadata =
        encrypt_metadata(&secret.metadata_key(), &metadata).map_err(SendError::Metadata)?;

    let cipher = RecordCipher::new(secret.content_key(&header)).await;
    report(Phase::Encrypting, 0, size);
    let on_encrypted = {
        let report = Rc::clone(&report);
        move |done: u64| report(Phase::Encrypting, done, size)
    };
    let ciphertext = encrypt_file(file, &header, &cipher, cancel, &on_encrypted).await?;
    drop(cipher);

    let total = ciphertext_size(size, DEFAULT_RECORD_SIZE);
    let created = api
        .create_upload(&CreateUploadRequest {
            size: total,
            expires_in,
            claim_hash: secret.claim_token().hash().to_base64(),
            metadata: URL_SAFE_NO_PAD.encode(&sealed_metadata),
        })
        .await?;
    let id = FileId::parse(&created.id).map_err(|_| SendError::InvalidId)?;

    report(Phase::Uploading, 0, total);
    let on_uploaded: Rc<dyn Fn(u64)> = {
        let report = Rc::clone(&report);
        Rc::new(move |done: u64| report(Phase::Uploading, done, total))
    };
    let uploaded = put_blob(
        &created.upload_url,
        &created.upload_headers,
        &ciphertext,
        cancel,
        on_uploaded,
    )
    .await;
    if let Err(error) = uploaded {
        abandon(api, id.as_str(), &created.owner_token).await;
        return Err(error.into());
    }
    let completed = api.complete_upload(id.as_str(), &created.owner_token).await;
    if cancel.is_cancelled() {
        abandon(api, id.as_str(), &created.owner_token).await;
        return Err(UploadError::Cancelled.into());
    }
    let completed = completed?;

    let link = Link::new(id, secret).to_url(page_url);
    Ok(SentFile {
        link,
        name: file.name(),
        size,
        expires_at: completed.expires_at,
    })
}

/// Deletes an upload that will not be completed, so its reservation and any
/// partial data go away before the expiry. Failure is ignored: the server
/// removes pending uploads at expiry anyway.
async fn abandon(api: &Api, id: &str, owner_token: &TokenText) {
    let _ = api.delete_upload(id, owner_token).await;
}

/// The page URL that links point to: origin and path, without query or fragment.
pub fn page_url() -> String {
    web_sys::window()
        .map(|window| {
            let location = window.location();
            let origin = location.origin().unwrap_or_default();
            let path = location.pathname().unwrap_or_default();
            format!("{origin}{path}")
        })
        .unwrap_or_default()
}
