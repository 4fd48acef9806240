//! The JSON shapes of the API, pinned against literal bodies as docs/API.md
//! shows them, so that a change to a type shows up as a failing test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use safebox_protocol::{
    ClaimResponse, ClaimTokenRequest, CompleteResponse, CreateUploadRequest, CreateUploadResponse,
    ErrorBody, ErrorCode, FileInfoResponse, ServerConfig, TokenText, UploadState,
    UploadStatusResponse, WebConfig, path,
};
use serde_json::{Value, json};

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn create_request_shape() {
    let request = CreateUploadRequest {
        size: 4096,
        expires_in: 3600,
        claim_hash: "hash".to_owned(),
        metadata: "meta".to_owned(),
    };
    let expected = json!({
        "size": 4096,
        "expires_in": 3600,
        "claim_hash": "hash",
        "metadata": "meta",
    });
    assert_eq!(to_json(&request), expected);
    let parsed: CreateUploadRequest = serde_json::from_value(expected).unwrap();
    assert_eq!(parsed, request);
}

#[test]
fn create_response_shape() {
    let body = json!({
        "id": "abc",
        "upload_url": "http://127.0.0.1:8080/blob/abc?sig=1",
        "upload_headers": {"content-type": "application/octet-stream"},
        "owner_token": "owner",
        "expires_at": 1700000000,
    });
    let parsed: CreateUploadResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.owner_token.expose(), "owner");
    assert_eq!(
        parsed.upload_headers["content-type"],
        "application/octet-stream"
    );
    assert_eq!(to_json(&parsed), body);
}

#[test]
fn create_response_headers_default_to_none() {
    let parsed: CreateUploadResponse = serde_json::from_value(json!({
        "id": "abc",
        "upload_url": "u",
        "owner_token": "owner",
        "expires_at": 1,
    }))
    .unwrap();
    assert!(parsed.upload_headers.is_empty());
}

#[test]
fn upload_states_are_snake_case() {
    let cases = [
        (UploadState::Pending, "pending"),
        (UploadState::Active, "active"),
        (UploadState::Downloaded, "downloaded"),
        (UploadState::Deleted, "deleted"),
        (UploadState::Expired, "expired"),
    ];
    for (state, text) in cases {
        assert_eq!(to_json(&state), json!(text));
    }
}

#[test]
fn owner_responses_shape() {
    let complete = CompleteResponse {
        state: UploadState::Active,
        expires_at: 9,
    };
    assert_eq!(
        to_json(&complete),
        json!({"state": "active", "expires_at": 9})
    );

    let status = UploadStatusResponse {
        state: UploadState::Downloaded,
        expires_at: 9,
        downloaded_at: Some(5),
        size: 100,
    };
    let expected = json!({"state": "downloaded", "expires_at": 9, "downloaded_at": 5, "size": 100});
    assert_eq!(to_json(&status), expected);
}

#[test]
fn claim_token_request_shape() {
    let request = ClaimTokenRequest::new("secret");
    assert_eq!(to_json(&request), json!({"claim_token": "secret"}));

    let claim = ClaimTokenRequest::with_attempt("secret", "attempt");
    assert_eq!(
        to_json(&claim),
        json!({"claim_token": "secret", "claim_attempt": "attempt"})
    );

    let empty: ClaimTokenRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(empty.claim_token, None);
    assert_eq!(empty.claim_attempt, None);
}

#[test]
fn recipient_responses_shape() {
    let info = FileInfoResponse {
        size: 100,
        expires_at: 9,
        metadata: "meta".to_owned(),
    };
    assert_eq!(
        to_json(&info),
        json!({"size": 100, "expires_at": 9, "metadata": "meta"})
    );

    let claim = ClaimResponse {
        download_url: "u".to_owned(),
        expires_at: 9,
        size: 100,
    };
    assert_eq!(
        to_json(&claim),
        json!({"download_url": "u", "expires_at": 9, "size": 100})
    );
}

#[test]
fn config_shapes() {
    let config = ServerConfig {
        page_url: "http://127.0.0.1:8080/".to_owned(),
        max_size: 10,
        max_expires_in: 86400,
    };
    assert_eq!(
        to_json(&config),
        json!({"page_url": "http://127.0.0.1:8080/", "max_size": 10, "max_expires_in": 86400})
    );

    let web: WebConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(web.api_url, None);
}

#[test]
fn error_codes_round_trip() {
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
    }
    assert_eq!(ErrorCode::parse("from_a_later_version"), None);
    assert_eq!(ErrorCode::parse(""), None);
}

#[test]
fn error_body_omits_absent_fields() {
    let body = ErrorBody::new(ErrorCode::NotFound, "no file");
    assert_eq!(
        to_json(&body),
        json!({"error": "not_found", "message": "no file"})
    );

    let used = ErrorBody {
        downloaded_at: Some(7),
        ..ErrorBody::new(ErrorCode::AlreadyDownloaded, "used")
    };
    assert_eq!(to_json(&used)["downloaded_at"], 7);
    assert_eq!(used.code(), Some(ErrorCode::AlreadyDownloaded));
}

#[test]
fn error_body_reads_partial_bodies() {
    let body: ErrorBody = serde_json::from_str("{}").unwrap();
    assert_eq!(body.code(), None);
    assert_eq!(body.message, "");
}

#[test]
fn token_debug_is_redacted() {
    let token = TokenText::new("do-not-print");
    let printed = format!("{token:?} {:?}", Some(&token));
    assert!(!printed.contains("do-not-print"), "{printed}");
}

#[test]
fn token_equality_compares_text() {
    assert_eq!(TokenText::new("abc"), TokenText::new("abc"));
    assert_ne!(TokenText::new("abc"), TokenText::new("abd"));
    assert_ne!(TokenText::new("abc"), TokenText::new("abcd"));
}

#[test]
fn paths_have_the_version_prefix() {
    assert_eq!(path::upload("ID"), "/api/v1/uploads/ID");
    assert_eq!(path::complete("ID"), "/api/v1/uploads/ID/complete");
    assert_eq!(path::file("ID"), "/api/v1/files/ID");
    assert_eq!(path::info("ID"), "/api/v1/files/ID/info");
    assert_eq!(path::claim("ID"), "/api/v1/files/ID/claim");
    assert!(path::CONFIG.starts_with(path::PREFIX));
}
