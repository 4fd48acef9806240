//! The Safebox HTTP API, version 1: its paths, the JSON bodies of its
//! requests and responses, and its error codes.
//!
//! The server, the CLI and the web page all use these types, so the three
//! cannot drift apart. The crate has no HTTP client or server and builds for
//! native targets and wasm32. `docs/API.md` describes each endpoint.

mod error;
pub mod path;
mod token;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use error::{ErrorBody, ErrorCode};
pub use token::TokenText;

/// Body of `POST /api/v1/uploads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUploadRequest {
    /// Ciphertext size in bytes.
    pub size: u64,
    /// Seconds until the file expires.
    pub expires_in: u64,
    /// `b64u` of SHA-256 of the claim token.
    pub claim_hash: String,
    /// `b64u` of the encrypted metadata.
    pub metadata: String,
}

/// Response of `POST /api/v1/uploads` (status 201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUploadResponse {
    /// File id chosen by the server.
    pub id: String,
    /// Absolute presigned URL for the one `PUT` of the ciphertext.
    pub upload_url: String,
    /// Headers the `PUT` must carry, besides `Content-Length`.
    #[serde(default)]
    pub upload_headers: BTreeMap<String, String>,
    /// Bearer token to complete, inspect or delete this upload.
    pub owner_token: TokenText,
    /// Expiry in Unix seconds.
    pub expires_at: u64,
}

/// Response of `POST /api/v1/uploads/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteResponse {
    /// State of the upload, [`UploadState::Active`] on success.
    pub state: UploadState,
    /// Expiry in Unix seconds.
    pub expires_at: u64,
}

/// Response of `GET /api/v1/uploads/{id}`, for the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStatusResponse {
    /// State as the owner sees it.
    pub state: UploadState,
    /// Expiry in Unix seconds.
    pub expires_at: u64,
    /// Time of the download in Unix seconds, once downloaded.
    pub downloaded_at: Option<u64>,
    /// Ciphertext size in bytes.
    pub size: u64,
}

/// State of an upload as its owner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Created, and the ciphertext is not yet complete.
    Pending,
    /// Complete and waiting for its one download.
    Active,
    /// Claimed by a recipient.
    Downloaded,
    /// Deleted by the owner before its expiry, never downloaded.
    Deleted,
    /// Past its expiry, never downloaded.
    Expired,
}

/// Body of the recipient's requests: `POST /api/v1/files/{id}/info`,
/// `POST /api/v1/files/{id}/claim` and `DELETE /api/v1/files/{id}`.
///
/// The token is optional here so that a request without it reads as a wrong
/// token, with the same `404`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimTokenRequest {
    /// The claim token derived from the link, `b64u`.
    #[serde(default)]
    pub claim_token: Option<TokenText>,
    /// Claim only: 32 random bytes, `b64u`, that the client picks once per
    /// download. The winning claim stores their hash, so the same client
    /// can repeat a claim whose response was lost and get a new download
    /// URL, while any other claim gets `already_downloaded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_attempt: Option<TokenText>,
}

impl ClaimTokenRequest {
    /// Creates the body that carries `claim_token`.
    pub fn new(claim_token: &str) -> Self {
        ClaimTokenRequest {
            claim_token: Some(TokenText::new(claim_token)),
            claim_attempt: None,
        }
    }

    /// Creates the body of a claim that carries `claim_token` and the
    /// client's `claim_attempt`.
    pub fn with_attempt(claim_token: &str, claim_attempt: &str) -> Self {
        ClaimTokenRequest {
            claim_token: Some(TokenText::new(claim_token)),
            claim_attempt: Some(TokenText::new(claim_attempt)),
        }
    }
}

/// Response of `POST /api/v1/files/{id}/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfoResponse {
    /// Ciphertext size in bytes.
    pub size: u64,
    /// Expiry in Unix seconds.
    pub expires_at: u64,
    /// `b64u` of the encrypted metadata.
    pub metadata: String,
}

/// Response of `POST /api/v1/files/{id}/claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimResponse {
    /// Absolute presigned URL to `GET` the ciphertext from, valid for minutes.
    pub download_url: String,
    /// Unix seconds after which `download_url` stops working.
    pub expires_at: u64,
    /// Ciphertext size in bytes.
    pub size: u64,
}

/// Response of `GET /api/v1/config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// URL of the web page that links point to.
    pub page_url: String,
    /// Maximum ciphertext size in bytes.
    pub max_size: u64,
    /// Maximum expiry in seconds.
    pub max_expires_in: u64,
}

/// Contents of `config.json` next to the web page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebConfig {
    /// Base URL of the API. Missing or empty means the page's own origin.
    #[serde(default)]
    pub api_url: Option<String>,
}
