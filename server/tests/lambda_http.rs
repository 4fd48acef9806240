//! The Lambda HTTP handler driven by API Gateway HTTP API (payload 2.0)
//! events from `tests/data/apigw/`, through the same `lambda_http` adapter
//! that `lambda_http::run` uses, over the AWS backend on local S3 and
//! DynamoDB API servers.

#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::aws::{fresh_backend, skipped};
use common::{claim_hash_of, random_bytes, random_token};
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent};
use safebox_server::ManualClock;
use safebox_server::config::Config;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

const ORIGIN: &str = "https://d1234abcdefgh.cloudfront.net";
const SIZE: usize = 4096;

/// The Lambda handler's router over a fresh backend, with its clock.
struct Handler {
    app: Router,
    clock: Arc<ManualClock>,
    _watchdog: common::Watchdog,
}

impl Handler {
    fn new() -> Self {
        let watchdog = common::Watchdog::start();
        let clock = Arc::new(ManualClock::starting_now());
        let config = Config::new(ORIGIN, None, PathBuf::from("no-web-app"), 1024 * 1024).unwrap();
        let backend = fresh_backend(&config, clock.clone());
        let state = backend.state(config, clock.clone());
        let app = safebox_server::aws::app(state, Some(ORIGIN)).unwrap();
        Self {
            app,
            clock,
            _watchdog: watchdog,
        }
    }

    /// Loads `tests/data/apigw/<name>`, fills its `{placeholders}`, and
    /// invokes the handler with it.
    async fn invoke(&self, name: &str, fill: &[(&str, &str)]) -> (u16, Value, Value) {
        self.invoke_event(load_event(name, fill)).await
    }

    /// Invokes the handler with an event. Returns the status, the headers
    /// and the body parsed as JSON (`Null` if empty).
    async fn invoke_event(&self, mut event: Value) -> (u16, Value, Value) {
        if let Some(body) = event["body"].as_str() {
            let len = if event["isBase64Encoded"] == true {
                STANDARD.decode(body).unwrap().len()
            } else {
                body.len()
            };
            event["headers"]["content-length"] = json!(len.to_string());
        }

        let request: LambdaRequest = serde_json::from_value(event).unwrap();
        let mut adapter = lambda_http::Adapter::from(self.app.clone());
        let response = adapter
            .ready()
            .await
            .unwrap()
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap();
        let response = serde_json::to_value(response).unwrap();

        let status = response["statusCode"].as_u64().unwrap() as u16;
        let headers = response["headers"].clone();
        let body = match response["body"].as_str() {
            Some(text) if !text.is_empty() => {
                assert_eq!(response["isBase64Encoded"], false, "JSON bodies are text");
                serde_json::from_str(text).unwrap()
            }
            _ => Value::Null,
        };
        (status, headers, body)
    }

    async fn create(&self, claim_token: &str) -> Value {
        let claim_hash = claim_hash_of(claim_token);
        let metadata = URL_SAFE_NO_PAD.encode(random_bytes(128));
        let (status, _, body) = self
            .invoke(
                "create-upload.json",
                &[("claim_hash", &claim_hash), ("metadata", &metadata)],
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }
}

fn load_event(name: &str, fill: &[(&str, &str)]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/apigw")
        .join(name);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (placeholder, value) in fill {
        text = text.replace(&format!("{{{placeholder}}}"), value);
    }
    serde_json::from_str(&text).unwrap()
}

/// Sends the ciphertext to the presigned URL, as a client would.
async fn put(created: &Value, body: Vec<u8>) -> reqwest::StatusCode {
    let mut request = reqwest::Client::new()
        .put(created["upload_url"].as_str().unwrap())
        .body(body);
    for (name, value) in created["upload_headers"].as_object().unwrap() {
        if name != "content-length" {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    request.send().await.unwrap().status()
}

fn info_body(claim_token: &str) -> String {
    STANDARD.encode(json!({ "claim_token": claim_token }).to_string())
}

#[tokio::test]
async fn lambda_full_flow() {
    if skipped() {
        return;
    }
    let handler = Handler::new();

    let (status, headers, body) = handler.invoke("config.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["page_url"], format!("{ORIGIN}/"));
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");

    let claim_token = random_token();
    let created = handler.create(&claim_token).await;
    let id = created["id"].as_str().unwrap();
    let owner_token = created["owner_token"].as_str().unwrap();
    let owner = [("id", id), ("owner_token", owner_token)];
    let claimant = [("id", id), ("claim_token", claim_token.as_str())];

    let ciphertext = random_bytes(SIZE);
    assert_eq!(
        put(&created, ciphertext.clone()).await,
        reqwest::StatusCode::OK
    );

    let (status, _, body) = handler.invoke("complete-upload.json", &owner).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "active");

    let (status, _, body) = handler.invoke("upload-status.json", &owner).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "active");
    assert_eq!(body["size"], SIZE);

    let encoded = info_body(&claim_token);
    let (status, _, body) = handler
        .invoke("file-info.json", &[("id", id), ("body_base64", &encoded)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["size"], SIZE);

    let (status, _, body) = handler.invoke("claim.json", &claimant).await;
    assert_eq!(status, 200, "{body}");
    let download = reqwest::get(body["download_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(download.status(), reqwest::StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().to_vec(), ciphertext);

    let (status, _, body) = handler.invoke("delete-file.json", &claimant).await;
    assert_eq!(status, 204, "{body}");

    let (status, _, body) = handler.invoke("claim.json", &claimant).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"], "already_downloaded");

    let (status, _, body) = handler.invoke("upload-status.json", &owner).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "downloaded");

    let (status, _, body) = handler.invoke("delete-upload.json", &owner).await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn lambda_error_answers() {
    if skipped() {
        return;
    }
    let handler = Handler::new();
    let claim_token = random_token();
    let created = handler.create(&claim_token).await;
    let id = created["id"].as_str().unwrap();
    let owner_token = created["owner_token"].as_str().unwrap();
    let wrong = random_token();

    // An invalid create request.
    let (status, _, body) = handler
        .invoke(
            "create-upload.json",
            &[("claim_hash", "short"), ("metadata", "")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");

    // Completing before the upload, and with a wrong owner token.
    let (status, _, body) = handler
        .invoke(
            "complete-upload.json",
            &[("id", id), ("owner_token", owner_token)],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "incomplete_upload");
    let (status, _, body) = handler
        .invoke("upload-status.json", &[("id", id), ("owner_token", &wrong)])
        .await;
    assert_eq!(status, 404, "{body}");

    // A pending upload, a wrong claim token and a malformed id all look
    // like an unknown id.
    for (file_id, token) in [
        (id, claim_token.as_str()),
        (id, wrong.as_str()),
        ("not-an-id", wrong.as_str()),
    ] {
        let (status, _, body) = handler
            .invoke("claim.json", &[("id", file_id), ("claim_token", token)])
            .await;
        assert_eq!(status, 404, "{file_id}: {body}");
        assert_eq!(body["error"], "not_found");
    }

    let (status, _, body) = handler.invoke("unknown-route.json", &[]).await;
    assert_eq!(status, 404, "{body}");

    // Past expiry the right token learns that the file expired.
    assert_eq!(
        put(&created, random_bytes(SIZE)).await,
        reqwest::StatusCode::OK
    );
    let (status, _, _) = handler
        .invoke(
            "complete-upload.json",
            &[("id", id), ("owner_token", owner_token)],
        )
        .await;
    assert_eq!(status, 200);
    handler.clock.advance(3600);
    let encoded = info_body(&claim_token);
    let (status, _, body) = handler
        .invoke("file-info.json", &[("id", id), ("body_base64", &encoded)])
        .await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"], "expired");
    let (status, _, body) = handler
        .invoke("claim.json", &[("id", id), ("claim_token", &claim_token)])
        .await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"], "expired");
}

#[tokio::test]
async fn lambda_too_large_rejected() {
    if skipped() {
        return;
    }
    let handler = Handler::new();
    let mut event = load_event("create-upload.json", &[]);
    event["body"] = json!(
        json!({
            "size": 1024 * 1024 + 1,
            "expires_in": 3600,
            "claim_hash": claim_hash_of(&random_token()),
            "metadata": "",
        })
        .to_string()
    );
    let (status, _, answer) = handler.invoke_event(event).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], "too_large");
    assert_eq!(answer["max_size"], 1024 * 1024);
}

#[tokio::test]
async fn lambda_cors_one_origin() {
    if skipped() {
        return;
    }
    let handler = Handler::new();

    let (status, headers, _) = handler
        .invoke("preflight.json", &[("origin", ORIGIN)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    let methods = headers["access-control-allow-methods"].as_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");

    let (status, headers, _) = handler
        .invoke("preflight.json", &[("origin", "https://evil.example")])
        .await;
    assert_eq!(status, 200);
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers}"
    );
}
