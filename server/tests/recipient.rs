//! HTTP tests of the recipient endpoints: info, claim, download and
//! confirmation, and that a link is redeemed exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, TestServer, random_token};
use reqwest::StatusCode;
use safebox_server::Clock;
use safebox_server::config::CLAIM_GRACE;
use safebox_server::store::RecordState;
use serde_json::{Value, json};

common::test_on_each_backend! {
    info_returns_metadata,
    claim_download_delete_flow,
    download_url_serves_ranges,
    second_claim_already_downloaded,
    claim_repeated_by_same_attempt,
    claim_attempt_malformed_rejected,
    wrong_tokens_change_nothing,
    wrong_token_uniform_in_every_state,
    expired_link_cannot_be_claimed,
    claim_one_second_before_expiry,
    delete_before_claim_conflicts,
    malformed_ids_touch_no_store,
}

/// Sends info, claim and delete with `body` and asserts each is the plain
/// `404`.
async fn assert_all_not_found(server: &TestServer, id: &str, body: &Value, case: &str) {
    for (method, suffix) in [("POST", "/info"), ("POST", "/claim"), ("DELETE", "")] {
        let url = server.url(&format!("/api/v1/files/{id}{suffix}"));
        let request = match method {
            "POST" => server.client.post(url),
            _ => server.client.delete(url),
        };
        let response = request.json(body).send().await.unwrap();
        let (status, answer) = common::read_json(response).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{case}: {method} {suffix}");
        assert_eq!(answer["error"], "not_found", "{case}: {method} {suffix}");
        assert_eq!(
            answer.as_object().map(|fields| fields.len()),
            Some(2),
            "{case}: only error and message"
        );
    }
}

async fn info_returns_metadata(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(500, 600).await;
    let record = server.record(&upload.id).await.unwrap();

    let (status, body) = server.info(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["size"].as_u64(), Some(500));
    assert_eq!(body["expires_at"].as_u64(), Some(upload.expires_at));
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(body["metadata"].as_str().unwrap())
            .unwrap(),
        record.metadata
    );

    let (status, _) = server.info(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK, "info burns nothing");
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Active
    );
}

/// Checks that a download URL serves `Range` requests, with which a client
/// resumes after its connection broke. The URL's signature does not cover
/// that header, on S3 nor here.
async fn download_url_serves_ranges(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(2000, 600).await;
    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let download_url = body["download_url"].as_str().unwrap().to_owned();
    let ranged = |range: &'static str| {
        server
            .client
            .get(&download_url)
            .header(reqwest::header::RANGE, range)
            .send()
    };

    let response = ranged("bytes=1500-").await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_RANGE],
        "bytes 1500-1999/2000"
    );
    assert_eq!(response.content_length(), Some(500));
    assert_eq!(response.bytes().await.unwrap(), upload.ciphertext[1500..]);

    let response = ranged("bytes=10-19").await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_RANGE],
        "bytes 10-19/2000"
    );
    assert_eq!(response.bytes().await.unwrap(), upload.ciphertext[10..20]);

    let response = ranged("bytes=1990-5000").await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::PARTIAL_CONTENT,
        "cut to the end"
    );
    assert_eq!(response.bytes().await.unwrap(), upload.ciphertext[1990..]);

    let response = ranged("bytes=2000-").await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::RANGE_NOT_SATISFIABLE,
        "a range past the end"
    );
}

async fn claim_download_delete_flow(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(2000, 600).await;
    let now = server.clock.now();

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["size"].as_u64(), Some(2000));
    assert_eq!(
        body["expires_at"].as_u64(),
        Some(now + 600),
        "download URLs live 10 minutes"
    );
    let download_url = body["download_url"].as_str().unwrap().to_owned();
    assert!(
        download_url.starts_with(&server.blob_url_prefix),
        "{:?}: {download_url} starts with {}",
        server.backend,
        server.blob_url_prefix
    );

    let response = server.client.get(&download_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(2000));
    assert_eq!(response.bytes().await.unwrap().to_vec(), upload.ciphertext);

    let (status, body) = server.delete_file(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(server.stored_size(&upload.id).await, None);
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Deleted
    );

    let (status, body) = server.get_bytes(&download_url).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the download URL stops working after delete"
    );
    assert_ne!(body, upload.ciphertext);

    let (status, _) = server.delete_file(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a repeated delete succeeds");
}

async fn second_claim_already_downloaded(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;
    let claimed_at = server.clock.now();
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );
    server.clock.advance(30);

    for (case, (status, body)) in [
        ("claim", server.claim(&upload.id, &upload.claim_token).await),
        ("info", server.info(&upload.id, &upload.claim_token).await),
    ] {
        assert_eq!(status, StatusCode::GONE, "{case}");
        assert_eq!(body["error"], "already_downloaded", "{case}");
        assert_eq!(body["downloaded_at"].as_u64(), Some(claimed_at), "{case}");
    }

    assert_eq!(
        server.delete_file(&upload.id, &upload.claim_token).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE, "claimed and deleted");
    assert_eq!(body["error"], "already_downloaded");
    assert_eq!(body["downloaded_at"].as_u64(), Some(claimed_at));
}

/// Sends a claim that carries `attempt` as its `claim_attempt`.
async fn claim_with_attempt(
    server: &TestServer,
    id: &str,
    claim_token: &str,
    attempt: &str,
) -> (StatusCode, Value) {
    let body = json!({ "claim_token": claim_token, "claim_attempt": attempt });
    server
        .post_json(&format!("/api/v1/files/{id}/claim"), &body)
        .await
}

async fn claim_repeated_by_same_attempt(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;
    let attempt = random_token();
    let claimed_at = server.clock.now();

    let (status, first) =
        claim_with_attempt(&server, &upload.id, &upload.claim_token, &attempt).await;
    assert_eq!(status, StatusCode::OK, "{first}");

    // The response was lost: the same client claims again a little later.
    server.clock.advance(60);
    let (status, again) =
        claim_with_attempt(&server, &upload.id, &upload.claim_token, &attempt).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["size"].as_u64(), Some(100));
    assert_eq!(
        again["expires_at"].as_u64(),
        Some(claimed_at + 60 + 600),
        "a new URL"
    );
    let url = again["download_url"].as_str().unwrap();
    let (status, bytes) = server.get_bytes(url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, upload.ciphertext);
    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(
        record.claimed_at,
        Some(claimed_at),
        "the claim is unchanged"
    );

    for (case, (status, body)) in [
        (
            "another attempt",
            claim_with_attempt(&server, &upload.id, &upload.claim_token, &random_token()).await,
        ),
        (
            "no attempt",
            server.claim(&upload.id, &upload.claim_token).await,
        ),
        (
            "the attempt with a wrong token",
            claim_with_attempt(&server, &upload.id, &random_token(), &attempt).await,
        ),
    ] {
        let expected = if case == "the attempt with a wrong token" {
            (StatusCode::NOT_FOUND, "not_found")
        } else {
            (StatusCode::GONE, "already_downloaded")
        };
        assert_eq!(status, expected.0, "{case}: {body}");
        assert_eq!(body["error"], expected.1, "{case}");
    }

    // Past the point where a new URL could outlive the ciphertext.
    server.clock.advance(CLAIM_GRACE - 600 - 60 + 1);
    let (status, body) =
        claim_with_attempt(&server, &upload.id, &upload.claim_token, &attempt).await;
    assert_eq!(status, StatusCode::GONE, "a late repeat: {body}");
    assert_eq!(body["downloaded_at"].as_u64(), Some(claimed_at));

    server.clock.set(claimed_at + 120);
    assert_eq!(
        server.delete_file(&upload.id, &upload.claim_token).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) =
        claim_with_attempt(&server, &upload.id, &upload.claim_token, &attempt).await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "after the download was confirmed: {body}"
    );
    assert_eq!(body["error"], "already_downloaded");
}

async fn claim_attempt_malformed_rejected(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;

    for attempt in ["", "short", &"A".repeat(44)] {
        let (status, body) =
            claim_with_attempt(&server, &upload.id, &upload.claim_token, attempt).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{attempt:?}: {body}");
        assert_eq!(body["error"], "invalid_request", "{attempt:?}");
    }
    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Active, "nothing was claimed");
}

async fn wrong_tokens_change_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;
    let bodies = [
        ("wrong token", json!({"claim_token": random_token()})),
        ("owner token", json!({"claim_token": upload.owner_token})),
        ("malformed token", json!({"claim_token": "abc"})),
        (
            "token with padding",
            json!({"claim_token": format!("{}=", upload.claim_token)}),
        ),
        ("no token", json!({})),
        ("null token", json!({"claim_token": null})),
    ];
    for (case, body) in &bodies {
        assert_all_not_found(&server, &upload.id, body, case).await;
    }

    for path in ["info", "claim"] {
        let response = server
            .client
            .post(server.url(&format!("/api/v1/files/{}/{path}", upload.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "bare {path} without a body"
        );
    }

    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Active
    );
    assert_eq!(server.stored_size(&upload.id).await, Some(100));
    let (status, _) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the right token still claims afterwards"
    );
}

async fn wrong_token_uniform_in_every_state(backend: Backend) {
    let server = TestServer::start(backend).await;
    let wrong = json!({"claim_token": random_token()});

    let pending = server.create_upload(100, 600).await;
    assert_all_not_found(&server, &pending.id, &wrong, "pending").await;
    let right = json!({"claim_token": pending.claim_token});
    assert_all_not_found(&server, &pending.id, &right, "pending with the right token").await;

    let claimed = server.active_upload(100, 600).await;
    assert_eq!(
        server.claim(&claimed.id, &claimed.claim_token).await.0,
        StatusCode::OK
    );
    assert_all_not_found(&server, &claimed.id, &wrong, "claimed").await;

    let deleted = server.active_upload(100, 600).await;
    let (status, _) = server
        .owner_request(reqwest::Method::DELETE, &deleted, "", &deleted.owner_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_all_not_found(&server, &deleted.id, &wrong, "deleted").await;

    let expiring = server.active_upload(100, 60).await;
    server.clock.advance(61);
    assert_all_not_found(&server, &expiring.id, &wrong, "expired").await;

    assert_all_not_found(
        &server,
        &safebox_server::FileId::generate().to_string(),
        &wrong,
        "unknown id",
    )
    .await;
}

async fn expired_link_cannot_be_claimed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 60).await;
    server.clock.advance(60);

    for (case, (status, body)) in [
        ("claim", server.claim(&upload.id, &upload.claim_token).await),
        ("info", server.info(&upload.id, &upload.claim_token).await),
        (
            "delete",
            server.delete_file(&upload.id, &upload.claim_token).await,
        ),
    ] {
        assert_eq!(status, StatusCode::GONE, "{case}");
        assert_eq!(body["error"], "expired", "{case}");
        assert_eq!(
            body["expires_at"].as_u64(),
            Some(upload.expires_at),
            "{case}"
        );
    }

    let wrong = json!({"claim_token": random_token()});
    assert_all_not_found(&server, &upload.id, &wrong, "expired, wrong token").await;
    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Active);
    assert_eq!(record.claimed_at, None);
}

async fn claim_one_second_before_expiry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 60).await;
    server.clock.advance(59);
    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A claim outranks the expiry that follows it.
    server.clock.advance(10);
    let (status, body) = server.info(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "already_downloaded");
    let download = claimed_download_url(&server, &upload).await;
    assert_eq!(download, None, "no second download URL");
}

async fn claimed_download_url(server: &TestServer, upload: &common::Upload) -> Option<String> {
    let (_, body) = server.claim(&upload.id, &upload.claim_token).await;
    body["download_url"].as_str().map(str::to_owned)
}

async fn delete_before_claim_conflicts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;

    let (status, body) = server.delete_file(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "not_claimed");
    assert_eq!(server.stored_size(&upload.id).await, Some(100));
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );
}

// Local only: `claim_race_one_winner` in aws_backend.rs runs the same race
// on DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_one_wins() {
    const CLAIMS: usize = 50;
    let server = TestServer::start(Backend::Local).await;
    let upload = server.active_upload(100, 600).await;
    let url = server.url(&format!("/api/v1/files/{}/claim", upload.id));

    let mut tasks = Vec::with_capacity(CLAIMS);
    for _ in 0..CLAIMS {
        let client = server.client.clone();
        let url = url.clone();
        let body = json!({"claim_token": upload.claim_token});
        tasks.push(tokio::spawn(async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            common::read_json(response).await
        }));
    }
    let mut results = Vec::with_capacity(CLAIMS);
    for task in tasks {
        results.push(task.await.unwrap());
    }

    let winners: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim succeeds");
    assert!(winners[0]["download_url"].is_string());

    let record = server.record(&upload.id).await.unwrap();
    let claimed_at = record.claimed_at.unwrap();
    let losers: Vec<&(StatusCode, Value)> = results
        .iter()
        .filter(|(status, _)| *status != StatusCode::OK)
        .collect();
    assert_eq!(losers.len(), CLAIMS - 1);
    for (status, body) in losers {
        assert_eq!(*status, StatusCode::GONE);
        assert_eq!(body["error"], "already_downloaded");
        assert_eq!(body["downloaded_at"].as_u64(), Some(claimed_at));
    }
}

async fn malformed_ids_touch_no_store(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = json!({"claim_token": random_token()});
    let malformed = [
        "short",
        "AAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAA%3D",
        "AAAAAAAAAAAAAAA.",
        "AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB",
        "%FF%FE",
        "..%2F..%2Fetc",
    ];

    for id in malformed {
        for suffix in ["/info", "/claim"] {
            let response = server
                .client
                .post(server.url(&format!("/api/v1/files/{id}{suffix}")))
                .json(&token)
                .send()
                .await
                .unwrap();
            let (status, body) = common::read_json(response).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}{suffix}");
            assert_eq!(body["error"], "not_found", "{id}{suffix}");
        }
        let deleted = server
            .client
            .delete(server.url(&format!("/api/v1/files/{id}")))
            .json(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NOT_FOUND, "delete {id}");
        for (method, suffix) in [
            (reqwest::Method::GET, ""),
            (reqwest::Method::DELETE, ""),
            (reqwest::Method::POST, "/complete"),
        ] {
            let response = server
                .client
                .request(
                    method.clone(),
                    server.url(&format!("/api/v1/uploads/{id}{suffix}")),
                )
                .bearer_auth(random_token())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{method} uploads/{id}{suffix}"
            );
        }
    }
    assert_eq!(server.calls.total(), 0, "no store was touched");
}
