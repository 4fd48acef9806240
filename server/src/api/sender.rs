//! Sender endpoints: create an upload, complete it, read its status, delete
//! it early.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use safebox_protocol::{
    CompleteResponse, CreateUploadRequest, CreateUploadResponse, TokenText, UploadState,
    UploadStatusResponse,
};

use super::AppState;
use super::error::{ApiError, read_json, reject_malformed_id, respond};
use crate::config::{MAX_EXPIRES_IN, MAX_METADATA_LEN, MIN_EXPIRES_IN, MIN_SIZE};
use crate::file_id::FileId;
use crate::store::{ActivateOutcome, NewRecord, Record, RecordState, StoreError};
use crate::token::{SecretToken, TokenHash};

/// Maximum number of ids drawn when a generated id is already taken. With
/// 96-bit ids even a second draw is astronomically unlikely.
const CREATE_ATTEMPTS: usize = 3;

/// `POST /api/v1/uploads`.
pub(super) async fn create_upload(State(state): State<AppState>, request: Request) -> Response {
    let result = async {
        let body: CreateUploadRequest = read_json(request, false).await?;
        create_record(&state, body).await
    }
    .await;
    respond("create_upload", None, result)
}

async fn create_record(state: &AppState, body: CreateUploadRequest) -> Result<Response, ApiError> {
    let max_size = state.config.max_size;
    if body.size > max_size {
        return Err(ApiError::TooLarge { max_size });
    }
    if body.size < MIN_SIZE {
        return Err(ApiError::InvalidRequest(format!(
            "size {} is below the minimum of {MIN_SIZE} bytes",
            body.size
        )));
    }
    if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&body.expires_in) {
        return Err(ApiError::InvalidRequest(format!(
            "expires_in {} is out of range: it must be {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN} seconds",
            body.expires_in
        )));
    }
    let claim_hash = TokenHash::from_base64(&body.claim_hash).ok_or_else(|| {
        ApiError::InvalidRequest("claim_hash must be 32 bytes of unpadded base64url".to_owned())
    })?;
    let metadata = decode_metadata(&body.metadata)?;

    let owner_token = SecretToken::generate();
    let now = state.clock.now();
    let expires_at = now + body.expires_in;

    let mut attempt = 0;
    let id = loop {
        attempt += 1;
        let id = FileId::generate();
        let record = NewRecord {
            id: id.clone(),
            size: body.size,
            claim_hash,
            owner_hash: owner_token.hash(),
            metadata: metadata.clone(),
            created_at: now,
            expires_at,
        };
        match state.records.create(record).await {
            Ok(()) => break id,
            Err(StoreError::AlreadyExists) if attempt < CREATE_ATTEMPTS => {
                tracing::warn!(file_id = %id, "generated file id already exists; drawing another");
            }
            Err(error) => return Err(error.into()),
        }
    };

    let upload = state
        .blobs
        .presign_upload(&id, body.size, expires_at)
        .await?;
    tracing::info!(file_id = %id, size = body.size, expires_at, "upload created");

    let response = CreateUploadResponse {
        id: id.as_str().to_owned(),
        upload_url: upload.url,
        upload_headers: upload.headers,
        owner_token: TokenText::new(owner_token.to_base64().as_str()),
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

fn decode_metadata(text: &str) -> Result<Vec<u8>, ApiError> {
    let invalid = || {
        ApiError::InvalidRequest(format!(
            "metadata must be unpadded base64url of at most {MAX_METADATA_LEN} bytes"
        ))
    };
    // Base64 of MAX_METADATA_LEN bytes needs at most this many characters, so
    // longer text is rejected before decoding.
    if text.len() > MAX_METADATA_LEN.div_ceil(3) * 4 {
        return Err(invalid());
    }
    let metadata = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    if metadata.len() > MAX_METADATA_LEN {
        return Err(invalid());
    }
    Ok(metadata)
}

/// `POST /api/v1/uploads/{id}/complete`.
pub(super) async fn complete_upload(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    const OPERATION: &str = "complete_upload";
    let Some(id) = parse_path_id(path) else {
        return reject_malformed_id(OPERATION);
    };
    let result = complete(&state, &id, &headers).await;
    respond(OPERATION, Some(&id), result)
}

async fn complete(
    state: &AppState,
    id: &FileId,
    headers: &HeaderMap,
) -> Result<Json<CompleteResponse>, ApiError> {
    let record = authorize_owner(state, id, headers).await?;
    let now = state.clock.now();
    if record.state != RecordState::Pending || now >= record.expires_at {
        return completion_of(&record, now);
    }

    let stored_size = state.blobs.head(id).await?;
    if stored_size != Some(record.size) {
        return Err(ApiError::IncompleteUpload);
    }

    match state.records.activate(id, now).await? {
        ActivateOutcome::Activated(record) => {
            tracing::info!(file_id = %id, expires_at = record.expires_at, "upload completed");
            completion_of(&record, now)
        }
        // Another request changed the record since it was read.
        ActivateOutcome::Unchanged(record) => completion_of(&record, now),
        ActivateOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// Answers a completion request for a record that is not pending: success
/// again for an active one, so that a retried request succeeds.
fn completion_of(record: &Record, now: u64) -> Result<Json<CompleteResponse>, ApiError> {
    if let Some(downloaded_at) = record.claimed_at {
        return Err(ApiError::AlreadyDownloaded { downloaded_at });
    }
    let expired = ApiError::Expired {
        expires_at: record.expires_at,
    };
    match record.state {
        _ if now >= record.expires_at => Err(expired),
        RecordState::Active => Ok(Json(CompleteResponse {
            state: UploadState::Active,
            expires_at: record.expires_at,
        })),
        RecordState::Pending => Err(ApiError::IncompleteUpload),
        RecordState::Claimed | RecordState::Deleted => Err(expired),
    }
}

/// `GET /api/v1/uploads/{id}`.
pub(super) async fn upload_status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    const OPERATION: &str = "upload_status";
    let Some(id) = parse_path_id(path) else {
        return reject_malformed_id(OPERATION);
    };
    let result = async {
        let record = authorize_owner(&state, &id, &headers).await?;
        let now = state.clock.now();
        Ok(Json(UploadStatusResponse {
            state: owner_state(&record, now),
            expires_at: record.expires_at,
            downloaded_at: record.claimed_at,
            size: record.size,
        }))
    }
    .await;
    respond(OPERATION, Some(&id), result)
}

/// Returns the state the owner sees: `downloaded` once claimed, `deleted` if
/// deleted before expiry without a claim, `expired` past expiry.
fn owner_state(record: &Record, now: u64) -> UploadState {
    if record.claimed_at.is_some() {
        return UploadState::Downloaded;
    }
    let deleted_early = record
        .deleted_at
        .is_some_and(|deleted_at| deleted_at < record.expires_at);
    match record.state {
        RecordState::Deleted if deleted_early => UploadState::Deleted,
        _ if now >= record.expires_at => UploadState::Expired,
        RecordState::Deleted => UploadState::Expired,
        RecordState::Pending => UploadState::Pending,
        RecordState::Active | RecordState::Claimed => UploadState::Active,
    }
}

/// `DELETE /api/v1/uploads/{id}`.
pub(super) async fn delete_upload(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    const OPERATION: &str = "delete_upload";
    let Some(id) = parse_path_id(path) else {
        return reject_malformed_id(OPERATION);
    };
    let result = async {
        authorize_owner(&state, &id, &headers).await?;
        state.blobs.delete(&id).await?;
        if state.records.mark_deleted(&id, state.clock.now()).await? {
            tracing::info!(file_id = %id, "upload deleted by its owner");
        }
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    respond(OPERATION, Some(&id), result)
}

/// Reads the record and checks the `Authorization: Bearer` owner token in
/// constant time. Every failure is the same `404`.
async fn authorize_owner(
    state: &AppState,
    id: &FileId,
    headers: &HeaderMap,
) -> Result<Record, ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::NotFound)?;
    let record = state.records.get(id).await?.ok_or(ApiError::NotFound)?;
    if record.owner_hash.matches(&token.hash()) {
        Ok(record)
    } else {
        Err(ApiError::NotFound)
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<SecretToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    SecretToken::from_base64(token.trim())
}

/// Parses the `{id}` path segment. A segment that is not valid UTF-8 after
/// percent-decoding counts as malformed too.
pub(super) fn parse_path_id(path: Result<Path<String>, PathRejection>) -> Option<FileId> {
    let Path(text) = path.ok()?;
    FileId::parse(&text).ok()
}
