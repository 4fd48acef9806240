//! The recipient's steps: read the link, look at the file, claim it,
//! download it, confirm.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use safebox_crypto::{
    ClaimAttempt, FileId, Link, LinkError, LinkSecret, Zeroizing, decrypt_metadata,
};

use safebox_protocol::ClaimResponse;

use crate::api::{Api, ApiError};
use crate::download::{DownloadError, DownloadEvents, download_file};

/// A recipient's state after reading a link.
pub struct Recipient {
    id: FileId,
    secret: LinkSecret,
    claim_token: Zeroizing<String>,
    /// Sent with every claim from this page, so a retried claim whose
    /// response was lost gets a new download URL.
    claim_attempt: Zeroizing<String>,
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipient")
            .field("id", &self.id.as_str())
            .finish_non_exhaustive()
    }
}

/// What the recipient sees before downloading.
#[derive(Clone, PartialEq, Eq)]
pub struct FileDetails {
    /// The name to save the file under: the sender's name reduced by
    /// [`safebox_crypto::Metadata::safe_file_name`].
    pub name: String,
    /// Plaintext size in bytes, as the sender declared it.
    pub size: u64,
    /// Unix seconds after which the file is gone.
    pub expires_at: u64,
}

impl fmt::Debug for FileDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDetails")
            .field("name", &"<redacted>")
            .field("size", &self.size)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Failure of a receive step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiveError {
    /// The link cannot be read.
    InvalidLink(LinkError),
    /// A call to the API failed.
    Api(ApiError),
    /// The metadata or content did not authenticate under the link's key.
    DecryptFailed,
    /// Downloading or saving failed after the claim.
    Download(DownloadError),
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLink(error) => error.fmt(f),
            Self::Api(error) => error.fmt(f),
            Self::DecryptFailed => DownloadError::Decrypt.fmt(f),
            Self::Download(error) => error.fmt(f),
        }
    }
}

impl From<ApiError> for ReceiveError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<DownloadError> for ReceiveError {
    fn from(error: DownloadError) -> Self {
        match error {
            DownloadError::Decrypt => Self::DecryptFailed,
            other => Self::Download(other),
        }
    }
}

impl Recipient {
    /// Reads the fragment of a link (without `#`) and derives the claim token.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::InvalidLink`] with the parser's named reason.
    pub fn from_fragment(fragment: &str) -> Result<Self, ReceiveError> {
        let Link { id, secret } =
            Link::parse(&format!("#{fragment}")).map_err(ReceiveError::InvalidLink)?;
        let claim_token = secret.claim_token().to_base64();
        Ok(Self {
            id,
            secret,
            claim_token,
            claim_attempt: ClaimAttempt::generate().to_base64(),
        })
    }

    /// `POST info` and decryption of the metadata. Burns nothing.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Api`] for an error response, and
    /// [`ReceiveError::DecryptFailed`] when the metadata does not open.
    pub async fn details(&self, api: &Api) -> Result<FileDetails, ReceiveError> {
        let info = api.file_info(self.id.as_str(), &self.claim_token).await?;
        let sealed = URL_SAFE_NO_PAD
            .decode(info.metadata.as_bytes())
            .map_err(|_| ReceiveError::DecryptFailed)?;
        let metadata = decrypt_metadata(&self.secret.metadata_key(), &sealed)
            .map_err(|_| ReceiveError::DecryptFailed)?;
        Ok(FileDetails {
            name: metadata.safe_file_name(&self.id),
            size: metadata.size,
            expires_at: info.expires_at,
        })
    }

    /// `POST claim`: uses up the link and returns the short-lived download URL.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Api`] for an error response.
    pub async fn claim(&self, api: &Api) -> Result<ClaimResponse, ReceiveError> {
        Ok(api
            .claim(self.id.as_str(), &self.claim_token, &self.claim_attempt)
            .await?)
    }

    /// Downloads and decrypts a claimed file, saves it as `name`, then
    /// confirms the download so the server deletes the ciphertext.
    ///
    /// Returns whether the confirmation reached the server; when it did not,
    /// the server deletes the ciphertext after its grace period instead.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::DecryptFailed`] for any failed check on the data and
    /// [`ReceiveError::Download`] for fetch and save failures.
    pub async fn download(
        &self,
        api: &Api,
        claimed: &ClaimResponse,
        name: &str,
        events: &dyn DownloadEvents,
    ) -> Result<bool, ReceiveError> {
        download_file(
            &claimed.download_url,
            claimed.size,
            &self.secret,
            name,
            events,
        )
        .await?;
        Ok(api
            .confirm_download(self.id.as_str(), &self.claim_token)
            .await
            .is_ok())
    }
}
