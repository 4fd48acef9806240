//! The `/blob/{id}` routes that local presigned URLs point to.
//!
//! Every failed check gives the same `403 invalid_signature`, as S3 does for
//! a presigned URL that does not match the request.

use std::io::SeekFrom;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::blobs::{LocalBlobStore, UploadError};
use super::signing::BlobOperation;
use crate::clock::Clock;
use crate::file_id::FileId;

#[derive(Clone)]
struct BlobRoutes {
    blobs: Arc<LocalBlobStore>,
    clock: Arc<dyn Clock>,
}

/// Query of a blob URL: `op=put&len=&exp=&sig=` or `op=get&exp=&sig=`.
#[derive(Deserialize)]
struct BlobQuery {
    op: String,
    len: Option<u64>,
    exp: u64,
    sig: String,
}

/// Builds the router of `PUT` and `GET /blob/{id}`.
pub fn routes(blobs: Arc<LocalBlobStore>, clock: Arc<dyn Clock>) -> Router {
    Router::new()
        .route("/blob/{id}", put(upload).get(download))
        // Uploads stream to disk, with their length checked against the
        // signature, so the body limit of the JSON routes does not apply.
        .layer(DefaultBodyLimit::disable())
        .with_state(BlobRoutes { blobs, clock })
}

async fn upload(
    State(routes): State<BlobRoutes>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((id, len)) = authorize_upload(&routes, path, query, &headers) else {
        return invalid_signature();
    };

    match routes.blobs.write(&id, len, body.into_data_stream()).await {
        Ok(()) => {
            tracing::info!(file_id = %id, size = len, "blob stored");
            StatusCode::OK.into_response()
        }
        Err(
            error @ (UploadError::TooLong { .. }
            | UploadError::TooShort { .. }
            | UploadError::Body(_)),
        ) => {
            tracing::info!(file_id = %id, %error, "blob upload rejected");
            let body = json!({
                "error": "incomplete_body",
                "message": format!("{error}; send the whole ciphertext again"),
            });
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
        Err(UploadError::Io(error)) => {
            tracing::error!(file_id = %id, %error, "blob upload failed");
            let body = json!({"error": "internal", "message": "failed to store the upload; try again later"});
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
    }
}

/// Checks the id, the signature, the deadline and that `Content-Length`
/// is the signed length. Returns the id and length if all hold.
fn authorize_upload(
    routes: &BlobRoutes,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: &HeaderMap,
) -> Option<(FileId, u64)> {
    let id = FileId::parse(&path.ok()?.0).ok()?;
    let Query(query) = query.ok()?;
    let len = query.len?;
    let content_length = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()?;
    let valid = query.op == "put"
        && content_length == len
        && routes.clock.now() < query.exp
        && routes
            .blobs
            .signer()
            .verify(BlobOperation::Put { len }, &id, query.exp, &query.sig);
    if !valid {
        tracing::info!(file_id = %id, "blob upload rejected: invalid signature, deadline or length");
        return None;
    }
    Some((id, len))
}

/// Serves a blob, or with `Range: bytes=START-[END]` the part from `START`,
/// as S3 does, so a client whose connection broke can resume.
async fn download(
    State(routes): State<BlobRoutes>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = authorize_download(&routes, path, query) else {
        return invalid_signature();
    };

    let mut file = match tokio::fs::File::open(routes.blobs.blob_path(&id)).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(file_id = %id, "blob download rejected: the blob is deleted");
            let body = json!({"error": "not_found", "message": "the file no longer exists"});
            return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
        }
        Err(error) => return download_failed(&id, &error),
    };
    let len = match file.metadata().await {
        Ok(metadata) => metadata.len(),
        Err(error) => return download_failed(&id, &error),
    };

    let range = match requested_range(&headers, len) {
        Ok(range) => range,
        Err(RangeNotSatisfiable) => {
            tracing::info!(file_id = %id, size = len, "blob download rejected: range not satisfiable");
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };

    let Some(range) = range else {
        tracing::info!(file_id = %id, size = len, "blob download started");
        return (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_LENGTH, len.to_string()),
                (header::ACCEPT_RANGES, "bytes".to_owned()),
            ],
            Body::from_stream(ReaderStream::new(file)),
        )
            .into_response();
    };

    if let Err(error) = file.seek(SeekFrom::Start(range.start)).await {
        return download_failed(&id, &error);
    }
    let part_len = range.end - range.start;
    tracing::info!(file_id = %id, size = len, offset = range.start, "blob download resumed");
    (
        StatusCode::PARTIAL_CONTENT,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, part_len.to_string()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
            (
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", range.start, range.end - 1),
            ),
        ],
        Body::from_stream(ReaderStream::new(file.take(part_len))),
    )
        .into_response()
}

/// A `Range` header whose first byte lies past the end of the blob.
struct RangeNotSatisfiable;

/// Reads a `Range: bytes=START-` or `bytes=START-END` header into the byte
/// range it selects from a blob of `len` bytes, with `END` exclusive.
///
/// Returns `None` for no header and for one this server does not serve
/// (several ranges, a suffix range, or malformed), which then gets the whole
/// blob, as HTTP allows. An `END` past the blob is cut to its end.
fn requested_range(
    headers: &HeaderMap,
    len: u64,
) -> Result<Option<std::ops::Range<u64>>, RangeNotSatisfiable> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let Ok(start) = start.trim().parse::<u64>() else {
        return Ok(None);
    };
    let end = match end.trim() {
        "" => len,
        end => match end.parse::<u64>() {
            Ok(last) if last >= start => last.saturating_add(1).min(len),
            _ => return Ok(None),
        },
    };
    if start >= len {
        return Err(RangeNotSatisfiable);
    }
    Ok(Some(start..end))
}

fn authorize_download(
    routes: &BlobRoutes,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BlobQuery>, QueryRejection>,
) -> Option<FileId> {
    let id = FileId::parse(&path.ok()?.0).ok()?;
    let Query(query) = query.ok()?;
    let valid = query.op == "get"
        && query.len.is_none()
        && routes.clock.now() < query.exp
        && routes
            .blobs
            .signer()
            .verify(BlobOperation::Get, &id, query.exp, &query.sig);
    if !valid {
        tracing::info!(file_id = %id, "blob download rejected: invalid signature or deadline");
        return None;
    }
    Some(id)
}

fn download_failed(id: &FileId, error: &std::io::Error) -> Response {
    tracing::error!(file_id = %id, %error, "blob download failed");
    let body = json!({"error": "internal", "message": "failed to read the file; try again later"});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

fn invalid_signature() -> Response {
    let body = json!({
        "error": "invalid_signature",
        "message": "the signed URL is invalid or expired, or the length differs from the signed one",
    });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}
