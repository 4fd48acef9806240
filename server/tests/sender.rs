//! HTTP tests of the sender endpoints: create, complete, status, delete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, TestServer, claim_hash_of, random_bytes, random_token};
use reqwest::{Method, StatusCode};
use safebox_server::Clock;
use safebox_server::store::RecordState;
use serde_json::{Value, json};

common::test_on_each_backend! {
    create_returns_upload,
    create_rejects_invalid_fields,
    create_accepts_limits,
    create_rejects_over_max_size,
    create_rejects_oversized_json,
    create_rejects_non_json,
    complete_activates_upload,
    complete_before_upload_conflicts,
    complete_with_short_object_conflicts,
    complete_after_expiry_is_gone,
    owner_endpoints_reject_wrong_token,
    owner_status_follows_lifecycle,
    owner_status_reports_expired,
    owner_delete_removes_ciphertext,
    config_endpoints_describe_server,
}

fn upload_request(size: u64, expires_in: u64) -> Value {
    json!({
        "size": size,
        "expires_in": expires_in,
        "claim_hash": claim_hash_of(&random_token()),
        "metadata": URL_SAFE_NO_PAD.encode(random_bytes(64)),
    })
}

async fn owner_status(server: &TestServer, upload: &common::Upload) -> (StatusCode, Value) {
    server
        .owner_request(Method::GET, upload, "", &upload.owner_token)
        .await
}

async fn create_returns_upload(backend: Backend) {
    let server = TestServer::start(backend).await;
    let now = server.clock.now();
    let (status, body) = server
        .post_json("/api/v1/uploads", &upload_request(100, 3600))
        .await;

    assert_eq!(status, StatusCode::CREATED);
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 16);
    // The local backend serves uploads itself, whereas the AWS one points
    // the client at S3.
    let upload_url = body["upload_url"].as_str().unwrap();
    assert!(
        upload_url.starts_with(&server.blob_url_prefix),
        "{:?}: {upload_url} starts with {}",
        server.backend,
        server.blob_url_prefix
    );
    assert!(body["upload_headers"].is_object());
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(body["owner_token"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(body["expires_at"].as_u64(), Some(now + 3600));

    let record = server.record(id).await.unwrap();
    assert_eq!(record.state, RecordState::Pending);
    assert_eq!(record.size, 100);
    assert_eq!(record.expires_at, now + 3600);
}

async fn create_rejects_invalid_fields(backend: Backend) {
    let server = TestServer::start(backend).await;
    let valid_hash = claim_hash_of(&random_token());
    let cases = [
        (
            "size below minimum",
            json!({"size": 43, "expires_in": 60, "claim_hash": valid_hash, "metadata": ""}),
        ),
        (
            "expiry too short",
            json!({"size": 44, "expires_in": 59, "claim_hash": valid_hash, "metadata": ""}),
        ),
        (
            "expiry too long",
            json!({"size": 44, "expires_in": 86401, "claim_hash": valid_hash, "metadata": ""}),
        ),
        (
            "short claim hash",
            json!({"size": 44, "expires_in": 60, "claim_hash": "AAAA", "metadata": ""}),
        ),
        (
            "padded claim hash",
            json!({"size": 44, "expires_in": 60, "claim_hash": format!("{valid_hash}="), "metadata": ""}),
        ),
        (
            "metadata not base64url",
            json!({"size": 44, "expires_in": 60, "claim_hash": valid_hash, "metadata": "a+b/"}),
        ),
        (
            "metadata over 4096 bytes",
            json!({"size": 44, "expires_in": 60, "claim_hash": valid_hash, "metadata": URL_SAFE_NO_PAD.encode(vec![0u8; 4097])}),
        ),
        (
            "missing field",
            json!({"size": 44, "expires_in": 60, "claim_hash": valid_hash}),
        ),
        (
            "negative size",
            json!({"size": -1, "expires_in": 60, "claim_hash": valid_hash, "metadata": ""}),
        ),
    ];
    for (case, body) in cases {
        let (status, answer) = server.post_json("/api/v1/uploads", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{case}");
        assert!(answer["message"].is_string(), "{case}");
    }
}

async fn create_accepts_limits(backend: Backend) {
    let server = TestServer::start(backend).await;
    let max_size = server.state.config.max_size;
    for (size, expires_in) in [(44, 60), (max_size, 86_400)] {
        let body = json!({
            "size": size,
            "expires_in": expires_in,
            "claim_hash": claim_hash_of(&random_token()),
            "metadata": URL_SAFE_NO_PAD.encode(vec![7u8; 4096]),
        });
        let (status, answer) = server.post_json("/api/v1/uploads", &body).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "size {size}, expires_in {expires_in}: {answer}"
        );
    }
}

async fn create_rejects_over_max_size(backend: Backend) {
    let server = TestServer::start(backend).await;
    let max_size = server.state.config.max_size;
    let (status, body) = server
        .post_json("/api/v1/uploads", &upload_request(max_size + 1, 60))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "too_large");
    assert_eq!(body["max_size"].as_u64(), Some(max_size));
}

async fn create_rejects_oversized_json(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut body = upload_request(100, 60);
    body["padding"] = json!("x".repeat(17 * 1024));
    let (status, answer) = server.post_json("/api/v1/uploads", &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"], "body_too_large");
    assert_eq!(answer["max_body"].as_u64(), Some(16 * 1024));
    assert_eq!(server.calls.total(), 0);
}

async fn create_rejects_non_json(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cases = [
        ("text/plain", upload_request(100, 60).to_string()),
        ("application/json", "{not json".to_owned()),
        ("application/json", String::new()),
    ];
    for (content_type, body) in cases {
        let response = server
            .client
            .post(server.url("/api/v1/uploads"))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (status, answer) = common::read_json(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type} {body:?}");
        assert_eq!(
            answer["error"], "invalid_request",
            "{content_type} {body:?}"
        );
    }
}

async fn complete_activates_upload(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.create_upload(1000, 600).await;
    assert_eq!(
        server
            .put_ciphertext(&upload, upload.ciphertext.clone())
            .await,
        StatusCode::OK
    );

    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "active");
    assert_eq!(body["expires_at"].as_u64(), Some(upload.expires_at));
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Active
    );

    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::OK, "a repeated complete succeeds");
    assert_eq!(body["state"], "active");
}

async fn complete_before_upload_conflicts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.create_upload(1000, 600).await;

    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "incomplete_upload");
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Pending
    );

    let (status, _) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a pending upload cannot be claimed"
    );
}

async fn complete_with_short_object_conflicts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.create_upload(1000, 600).await;
    let id = safebox_server::FileId::parse(&upload.id).unwrap();

    // A complete object of another size, as a misbehaving storage might
    // hold: the presigned URL itself cannot write one.
    let short = server
        .state
        .blobs
        .presign_upload(&id, 999, upload.expires_at)
        .await
        .unwrap();
    // S3 rejects a PUT without the signed Content-Type header that comes
    // with the URL.
    let mut request = server.client.put(&short.url).body(vec![1u8; 999]);
    for (name, value) in &short.headers {
        request = request.header(name, value);
    }
    let status = request.send().await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.stored_size(&upload.id).await, Some(999));

    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "incomplete_upload");
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Pending
    );

    // Retrying the PUT with the right length, then complete, is allowed.
    assert_eq!(
        server
            .put_ciphertext(&upload, upload.ciphertext.clone())
            .await,
        StatusCode::OK
    );
    let (status, _) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::OK);
}

async fn complete_after_expiry_is_gone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.create_upload(100, 60).await;
    assert_eq!(
        server
            .put_ciphertext(&upload, upload.ciphertext.clone())
            .await,
        StatusCode::OK
    );
    server.clock.advance(60);

    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "expired");
    assert_eq!(body["expires_at"].as_u64(), Some(upload.expires_at));
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Pending
    );
}

async fn owner_endpoints_reject_wrong_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;
    let wrong_tokens = [random_token(), "not-a-token".to_owned(), String::new()];

    for token in &wrong_tokens {
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::DELETE, ""),
            (Method::POST, "/complete"),
        ] {
            let (status, body) = server
                .owner_request(method.clone(), &upload, suffix, token)
                .await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {suffix} with {token:?}"
            );
            assert_eq!(body["error"], "not_found");
        }
    }

    let response = server
        .client
        .get(server.url(&format!("/api/v1/uploads/{}", upload.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "no Authorization header"
    );

    // The claim token is not an owner token.
    let (status, _) = server
        .owner_request(Method::GET, &upload, "", &upload.claim_token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Active
    );
    assert_eq!(server.stored_size(&upload.id).await, Some(100));
}

async fn owner_status_follows_lifecycle(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.create_upload(100, 600).await;

    let (status, body) = owner_status(&server, &upload).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "pending");
    assert_eq!(body["size"].as_u64(), Some(100));
    assert_eq!(body["expires_at"].as_u64(), Some(upload.expires_at));
    assert!(body["downloaded_at"].is_null());

    assert_eq!(
        server
            .put_ciphertext(&upload, upload.ciphertext.clone())
            .await,
        StatusCode::OK
    );
    assert_eq!(server.complete(&upload).await.0, StatusCode::OK);
    assert_eq!(owner_status(&server, &upload).await.1["state"], "active");

    server.clock.advance(5);
    let claimed_at = server.clock.now();
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );
    let (_, body) = owner_status(&server, &upload).await;
    assert_eq!(body["state"], "downloaded");
    assert_eq!(body["downloaded_at"].as_u64(), Some(claimed_at));

    assert_eq!(
        server.delete_file(&upload.id, &upload.claim_token).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, body) = owner_status(&server, &upload).await;
    assert_eq!(body["state"], "downloaded");
    assert_eq!(body["downloaded_at"].as_u64(), Some(claimed_at));
}

async fn owner_status_reports_expired(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 60).await;
    server.clock.advance(60);
    let (status, body) = server
        .owner_request(Method::GET, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "expired");
}

async fn owner_delete_removes_ciphertext(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;

    let (status, body) = server
        .owner_request(Method::DELETE, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(server.stored_size(&upload.id).await, None);
    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Deleted);

    let (_, body) = server
        .owner_request(Method::GET, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(body["state"], "deleted");

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "expired");
    assert_eq!(body["expires_at"].as_u64(), Some(upload.expires_at));

    let (status, _) = server
        .owner_request(Method::DELETE, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a repeated delete succeeds");
}

async fn config_endpoints_describe_server(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server
        .client
        .get(server.url("/api/v1/config"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["page_url"], format!("{}/", server.base));
    assert_eq!(
        body["max_size"].as_u64(),
        Some(server.state.config.max_size)
    );
    assert_eq!(body["max_expires_in"].as_u64(), Some(86_400));

    let response = server
        .client
        .get(server.url("/config.json"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["api_url"], server.base);
}
