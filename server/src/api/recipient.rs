//! Recipient endpoints: read a file's info, claim it once, confirm the
//! download.
//!
//! Without the right claim token every response is the same `404`, whatever
//! the record's state, so a bare id reveals nothing.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use safebox_protocol::{ClaimResponse, ClaimTokenRequest, FileInfoResponse};

use super::AppState;
use super::error::{ApiError, read_json, reject_malformed_id, respond};
use super::sender::parse_path_id;
use crate::file_id::FileId;
use crate::store::{ClaimOutcome, RecipientStatus, Record, RecordState};
use crate::token::{SecretToken, TokenHash};

/// `POST /api/v1/files/{id}/info`: burns nothing.
pub(super) async fn file_info(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    const OPERATION: &str = "file_info";
    let Some(id) = parse_path_id(path) else {
        return reject_malformed_id(OPERATION);
    };
    let result = async {
        let token = read_claim_token(request).await?;
        let record = authorize_claimant(&state, &id, &token).await?;
        match record.recipient_status(state.clock.now()) {
            RecipientStatus::Claimable => Ok(Json(FileInfoResponse {
                size: record.size,
                expires_at: record.expires_at,
                metadata: URL_SAFE_NO_PAD.encode(&record.metadata),
            })),
            other => Err(status_error(other)),
        }
    }
    .await;
    respond(OPERATION, Some(&id), result)
}

/// `POST /api/v1/files/{id}/claim`: the one atomic active → claimed
/// transition. The same client may repeat it after a lost response; see
/// [`ClaimOutcome::Repeated`].
pub(super) async fn claim_file(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    const OPERATION: &str = "claim_file";
    let Some(id) = parse_path_id(path) else {
        return reject_malformed_id(OPERATION);
    };
    let result = async {
        let body: ClaimTokenRequest = read_json(request, true).await?;
        let token = claim_token_of(&body)?;
        let attempt_hash = claim_attempt_hash_of(&body)?;
        let now = state.clock.now();
        let expires_at = now + state.config.download_url_ttl;
        let outcome = state
            .records
            .claim(&id, &token.hash(), attempt_hash.as_ref(), now)
            .await?;
        let record = match outcome {
            ClaimOutcome::Claimed(record) => {
                tracing::info!(file_id = %id, "file claimed");
                record
            }
            // A new URL must expire before the sweeper may delete the
            // ciphertext, so a late repeat gets the same error as a lost race.
            ClaimOutcome::Repeated(record)
                if record.claimed_at.is_some_and(|claimed_at| {
                    expires_at <= claimed_at + state.config.claim_grace
                }) =>
            {
                tracing::info!(file_id = %id, "claim repeated by the same client");
                record
            }
            ClaimOutcome::Repeated(record) => {
                return Err(ApiError::AlreadyDownloaded {
                    downloaded_at: record.claimed_at.unwrap_or(now),
                });
            }
            ClaimOutcome::NotFound => return Err(ApiError::NotFound),
            ClaimOutcome::AlreadyClaimed { claimed_at } => {
                return Err(ApiError::AlreadyDownloaded {
                    downloaded_at: claimed_at,
                });
            }
            ClaimOutcome::Expired { expires_at } => {
                return Err(ApiError::Expired { expires_at });
            }
        };
        let download_url = state.blobs.presign_download(&id, expires_at).await?;
        Ok(Json(ClaimResponse {
            download_url,
            expires_at,
            size: record.size,
        }))
    }
    .await;
    respond(OPERATION, Some(&id), result)
}

/// `DELETE /api/v1/files/{id}`: the claimant confirms the download and the
/// ciphertext is deleted. Repeating it after success succeeds again.
pub(super) async fn delete_file(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    const OPERATION: &str = "delete_file";
    let Some(id) = parse_path_id(path) else {
        return reject_malformed_id(OPERATION);
    };
    let result = async {
        let token = read_claim_token(request).await?;
        let record = authorize_claimant(&state, &id, &token).await?;
        match record.recipient_status(state.clock.now()) {
            RecipientStatus::AlreadyClaimed { .. } => {
                state.blobs.delete(&id).await?;
                if record.state != RecordState::Deleted {
                    state.records.mark_deleted(&id, state.clock.now()).await?;
                    tracing::info!(file_id = %id, "download confirmed; ciphertext deleted");
                }
                Ok(StatusCode::NO_CONTENT)
            }
            RecipientStatus::Claimable => Err(ApiError::NotClaimed),
            other => Err(status_error(other)),
        }
    }
    .await;
    respond(OPERATION, Some(&id), result)
}

/// Reads `{"claim_token": ...}`. A missing or malformed token is the same
/// `404` as a wrong one.
async fn read_claim_token(request: Request) -> Result<SecretToken, ApiError> {
    let body: ClaimTokenRequest = read_json(request, true).await?;
    claim_token_of(&body)
}

fn claim_token_of(body: &ClaimTokenRequest) -> Result<SecretToken, ApiError> {
    body.claim_token
        .as_ref()
        .and_then(|token| SecretToken::from_base64(token.expose()))
        .ok_or(ApiError::NotFound)
}

/// Returns the hash of the optional `claim_attempt`.
fn claim_attempt_hash_of(body: &ClaimTokenRequest) -> Result<Option<TokenHash>, ApiError> {
    let Some(attempt) = &body.claim_attempt else {
        return Ok(None);
    };
    let attempt = SecretToken::from_base64(attempt.expose()).ok_or_else(|| {
        ApiError::InvalidRequest("claim_attempt must be 32 bytes of unpadded base64url".to_owned())
    })?;
    Ok(Some(attempt.hash()))
}

/// Reads the record and checks the claim token's hash in constant time.
async fn authorize_claimant(
    state: &AppState,
    id: &FileId,
    token: &SecretToken,
) -> Result<Record, ApiError> {
    let record = state.records.get(id).await?.ok_or(ApiError::NotFound)?;
    if record.claim_hash.matches(&token.hash()) {
        Ok(record)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Maps a status that forbids the request to its error.
fn status_error(status: RecipientStatus) -> ApiError {
    match status {
        RecipientStatus::AlreadyClaimed { claimed_at } => ApiError::AlreadyDownloaded {
            downloaded_at: claimed_at,
        },
        RecipientStatus::Expired { expires_at } => ApiError::Expired { expires_at },
        RecipientStatus::Pending | RecipientStatus::Claimable => ApiError::NotFound,
    }
}
