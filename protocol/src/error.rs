//! The error body that every endpoint returns with a status of 400 or more.

use serde::{Deserialize, Serialize};

/// Machine-readable error code, the `error` field of [`ErrorBody`]. Clients
/// branch on it, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `404`: unknown or malformed id, or a wrong or missing token. Every
    /// case looks the same on purpose.
    NotFound,
    /// `400`: a field is missing or out of range.
    InvalidRequest,
    /// `413`: the declared ciphertext size exceeds `max_size`.
    TooLarge,
    /// `413`: the JSON body exceeds `max_body`.
    BodyTooLarge,
    /// `409`: no stored object of the declared size at completion.
    IncompleteUpload,
    /// `409`: the claimant confirmed a download it never claimed.
    NotClaimed,
    /// `410`: the link was used, at `downloaded_at`.
    AlreadyDownloaded,
    /// `410`: the file expired at `expires_at`, or its sender deleted it.
    Expired,
    /// `500`: a storage backend failed.
    Internal,
}

impl ErrorCode {
    /// Every code, for tests and tables.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::NotFound,
        ErrorCode::InvalidRequest,
        ErrorCode::TooLarge,
        ErrorCode::BodyTooLarge,
        ErrorCode::IncompleteUpload,
        ErrorCode::NotClaimed,
        ErrorCode::AlreadyDownloaded,
        ErrorCode::Expired,
        ErrorCode::Internal,
    ];

    /// Returns the code as it appears in the JSON body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::IncompleteUpload => "incomplete_upload",
            ErrorCode::NotClaimed => "not_claimed",
            ErrorCode::AlreadyDownloaded => "already_downloaded",
            ErrorCode::Expired => "expired",
            ErrorCode::Internal => "internal",
        }
    }

    /// Parses a code from a JSON body. Returns `None` for a code this
    /// version does not know, which clients treat as a generic error.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
    }
}

/// JSON body of every error response.
///
/// Fields other than `error` and `message` are present only with the codes
/// that name them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The [`ErrorCode`], as text. Empty when a response had none.
    #[serde(default)]
    pub error: String,
    /// Human-readable explanation, in English.
    #[serde(default)]
    pub message: String,
    /// With [`ErrorCode::AlreadyDownloaded`]: time of the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded_at: Option<u64>,
    /// With [`ErrorCode::Expired`]: the original expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// With [`ErrorCode::TooLarge`]: the maximum ciphertext size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// With [`ErrorCode::BodyTooLarge`]: the maximum JSON body in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body: Option<u64>,
}

impl ErrorBody {
    /// Creates a body with a code and a message and no other field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error: code.as_str().to_owned(),
            message: message.into(),
            ..ErrorBody::default()
        }
    }

    /// Returns the parsed code, or `None` if it is missing or unknown.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.error)
    }
}
