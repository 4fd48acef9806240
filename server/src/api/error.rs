//! API errors, their JSON bodies, and the request-body readers that produce
//! them.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use safebox_protocol::{ErrorBody, ErrorCode};
use serde::de::DeserializeOwned;

use crate::config::MAX_JSON_BODY;
use crate::file_id::FileId;
use crate::store::{BlobError, StoreError};

/// An error response of the API: `{"error": CODE, "message": TEXT, ...}`.
#[derive(Debug)]
pub enum ApiError {
    /// `404 not_found`: unknown or malformed id, wrong or missing token, or a
    /// pending upload seen by a recipient. All look the same on purpose.
    NotFound,
    /// `400 invalid_request` with a description of the problem.
    InvalidRequest(String),
    /// `413 too_large`: the declared ciphertext size exceeds the maximum.
    TooLarge {
        /// The server's maximum size in bytes.
        max_size: u64,
    },
    /// `413 body_too_large`: the JSON body exceeds [`MAX_JSON_BODY`].
    BodyTooLarge,
    /// `409 incomplete_upload`: no stored object of the declared size.
    IncompleteUpload,
    /// `409 not_claimed`: the claimant confirmed a download it never claimed.
    NotClaimed,
    /// `410 already_downloaded`.
    AlreadyDownloaded {
        /// Time of the claim in Unix seconds.
        downloaded_at: u64,
    },
    /// `410 expired`: past expiry, or deleted early by the owner.
    Expired {
        /// Original expiry in Unix seconds.
        expires_at: u64,
    },
    /// `500 internal`: a storage backend failed. The source is logged, never
    /// sent.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Returns the HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } | Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::IncompleteUpload | Self::NotClaimed => StatusCode::CONFLICT,
            Self::AlreadyDownloaded { .. } | Self::Expired { .. } => StatusCode::GONE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Returns the machine-readable code that clients branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::NotFound,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::BodyTooLarge => ErrorCode::BodyTooLarge,
            Self::IncompleteUpload => ErrorCode::IncompleteUpload,
            Self::NotClaimed => ErrorCode::NotClaimed,
            Self::AlreadyDownloaded { .. } => ErrorCode::AlreadyDownloaded,
            Self::Expired { .. } => ErrorCode::Expired,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::NotFound => {
                "no file with this id, or the token is wrong; check the link".to_owned()
            }
            Self::InvalidRequest(detail) => format!("invalid request: {detail}"),
            Self::TooLarge { max_size } => {
                format!("the file is too large: the maximum size is {max_size} bytes")
            }
            Self::BodyTooLarge => {
                format!("the request body is too large: the maximum is {MAX_JSON_BODY} bytes")
            }
            Self::IncompleteUpload => "the upload is missing or has a different size; \
                 send the whole ciphertext with the upload URL, then complete again"
                .to_owned(),
            Self::NotClaimed => {
                "the file has not been claimed; claim it before deleting".to_owned()
            }
            Self::AlreadyDownloaded { .. } => {
                "the file has already been downloaded, and each link works once".to_owned()
            }
            Self::Expired { .. } => "the file has expired or was deleted by its sender".to_owned(),
            Self::Internal(_) => "internal server error; try again later".to_owned(),
        }
    }

    /// Wraps a storage error as `500 internal`.
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::internal(error)
    }
}

impl From<BlobError> for ApiError {
    fn from(error: BlobError) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = ErrorBody::new(self.code(), self.message());
        match &self {
            Self::TooLarge { max_size } => body.max_size = Some(*max_size),
            Self::BodyTooLarge => body.max_body = Some(MAX_JSON_BODY as u64),
            Self::AlreadyDownloaded { downloaded_at } => {
                body.downloaded_at = Some(*downloaded_at);
            }
            Self::Expired { expires_at } => body.expires_at = Some(*expires_at),
            _ => {}
        }
        (self.status(), Json(body)).into_response()
    }
}

/// Turns a handler result into a response, logging an error with the
/// operation and the file id involved.
///
/// Only the code is logged: messages of rejected bodies can echo client
/// input, which may hold a token.
pub fn respond<T: IntoResponse>(
    operation: &'static str,
    id: Option<&FileId>,
    result: Result<T, ApiError>,
) -> Response {
    match result {
        Ok(answer) => answer.into_response(),
        Err(error) => {
            let file_id = id.map(FileId::as_str);
            match &error {
                ApiError::Internal(source) => {
                    tracing::error!(operation, file_id, error = %source, "request failed");
                }
                other => {
                    tracing::info!(
                        operation,
                        file_id,
                        code = other.code().as_str(),
                        "request rejected"
                    );
                }
            }
            error.into_response()
        }
    }
}

/// Returns the same `404` for a path whose id is malformed as for an unknown
/// id. The text is not logged, because it may be a pasted link with its secret.
pub fn reject_malformed_id(operation: &'static str) -> Response {
    tracing::info!(
        operation,
        code = "not_found",
        "request rejected: malformed file id"
    );
    ApiError::NotFound.into_response()
}

/// Reads a JSON request body of at most [`MAX_JSON_BODY`] bytes.
///
/// With `allow_empty`, an empty body reads as `{}`, so that a bare request
/// to a recipient endpoint gets the same `404` as a wrong token.
pub async fn read_json<T: DeserializeOwned>(
    request: Request<Body>,
    allow_empty: bool,
) -> Result<T, ApiError> {
    let is_json = is_json_content_type(request.headers());
    // `to_bytes` fails when the body exceeds the limit or when reading it
    // fails. The second case means the client is gone and never sees the
    // response, so both are reported as too large.
    let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BODY)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;

    let bytes: &[u8] = if bytes.trim_ascii().is_empty() && allow_empty {
        b"{}"
    } else if !is_json {
        return Err(ApiError::InvalidRequest(
            "the body must be JSON with Content-Type: application/json".to_owned(),
        ));
    } else {
        &bytes
    };

    serde_json::from_slice(bytes).map_err(|error| ApiError::InvalidRequest(error.to_string()))
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}
