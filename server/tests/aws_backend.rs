//! The AWS backend against real S3 and DynamoDB API servers on loopback
//! (s3s-fs and dynalite, see `common/aws.rs`).
//!
//! The cases: one-shot claims under concurrency, what a wrong token or a
//! bare id may change, expiry, completion, the presigned URLs S3 must
//! reject, and the deletion paths that do not depend on a client.

#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::aws::{AwsFactory, skipped};
use common::{Options, TestServer, random_token};
use reqwest::StatusCode;
use safebox_server::aws::S3BlobStore;
use safebox_server::aws::events;
use safebox_server::config::CLAIM_GRACE;
use safebox_server::file_id::FileId;
use safebox_server::store::RecordState;
use safebox_server::{Clock, SystemClock};
use serde_json::{Value, json};

const SIZE: usize = 4096;

async fn aws_server() -> TestServer {
    TestServer::start_with(&AwsFactory, Options::default()).await
}

/// Puts bytes at `uploads/<id>` straight through the S3 API.
async fn put_object_directly(server: &TestServer, id: &str, body: Vec<u8>) {
    let services = common::aws::services();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&common::aws::sdk_config(&services.s3_endpoint))
            .force_path_style(true)
            .build(),
    );
    let bucket = bucket_of(server).await;
    s3.put_object()
        .bucket(bucket)
        .key(S3BlobStore::object_key(&FileId::parse(id).unwrap()))
        .body(body.into())
        .send()
        .await
        .expect("put object directly");
}

/// Reads the bucket name out of a presigned URL of the server's blob store
/// (path-style: `http://host/<bucket>/uploads/<id>?...`).
async fn bucket_of(server: &TestServer) -> String {
    let url = server
        .state
        .blobs
        .presign_download(&FileId::generate(), server.clock.now() + 60)
        .await
        .unwrap();
    url.split('/').nth(3).unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claim_race_one_winner() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.active_upload(SIZE, 600).await;

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = server.client.clone();
        let url = server.url(&format!("/api/v1/files/{}/claim", upload.id));
        let token = upload.claim_token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({ "claim_token": token }))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }));
    }

    let mut winners = 0;
    let mut already = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => winners += 1,
            StatusCode::GONE => {
                assert_eq!(body["error"], "already_downloaded", "{body}");
                already += 1;
            }
            other => panic!("unexpected claim answer {other}: {body}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(already, 49);

    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Claimed);
}

#[tokio::test]
async fn wrong_token_burns_nothing() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.active_upload(SIZE, 600).await;

    let (status, body) = server.claim(&upload.id, &random_token()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "not_found");

    let bare = server
        .client
        .post(server.url(&format!("/api/v1/files/{}/claim", upload.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::NOT_FOUND);

    let (status, _) = server.delete_file(&upload.id, &random_token()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Active);
    assert_eq!(record.claimed_at, None);
    assert_eq!(server.stored_size(&upload.id).await, Some(SIZE as u64));

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn expired_record_not_claimable() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.active_upload(SIZE, 60).await;
    server.clock.set(upload.expires_at);

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["error"], "expired");
    assert_eq!(body["expires_at"], upload.expires_at);

    let (status, body) = server.info(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE, "{body}");

    // The item is still in the table: only the conditional write's expiry
    // check stopped the claim.
    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Active);
    assert_eq!(record.claimed_at, None);
}

#[tokio::test]
async fn pending_until_object_matches() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.create_upload(SIZE, 600).await;

    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "incomplete_upload");

    // An object of another size, written around the presigned URL, does not
    // activate the link either.
    put_object_directly(&server, &upload.id, vec![7; SIZE - 1]).await;
    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, _) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.record(&upload.id).await.unwrap().state,
        RecordState::Pending
    );

    let status = server
        .put_ciphertext(&upload, upload.ciphertext.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.complete(&upload).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "active");
}

/// s3s-fs checks the signed `Content-Length` like S3: a body of another
/// length is rejected before anything is stored.
#[tokio::test]
async fn presigned_put_rejects_other_length() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.create_upload(SIZE, 600).await;
    assert_eq!(
        upload.upload_headers["content-length"],
        SIZE.to_string(),
        "the length must be a signed header: {}",
        upload.upload_headers
    );

    for len in [SIZE - 1, SIZE + 1] {
        let mut request = server.client.put(&upload.upload_url).body(vec![1; len]);
        request = request.header("content-type", "application/octet-stream");
        let status = request.send().await.unwrap().status();
        assert_eq!(status, StatusCode::FORBIDDEN, "length {len}");
    }
    assert_eq!(server.stored_size(&upload.id).await, None);
}

/// s3s-fs verifies the SigV4 signature like S3.
#[tokio::test]
async fn presigned_put_rejects_tampering() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.create_upload(SIZE, 600).await;
    let other = server.create_upload(SIZE, 600).await;

    let signature_at = upload.upload_url.find("X-Amz-Signature=").unwrap() + 16;
    let mut tampered = upload.upload_url.clone();
    let replaced = if &tampered[signature_at..=signature_at] == "0" {
        "1"
    } else {
        "0"
    };
    tampered.replace_range(signature_at..=signature_at, replaced);

    let retargeted = upload.upload_url.replace(&upload.id, &other.id);

    for url in [tampered, retargeted] {
        let status = server
            .client
            .put(&url)
            .header("content-type", "application/octet-stream")
            .body(upload.ciphertext.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}");
    }
    assert_eq!(server.stored_size(&upload.id).await, None);
    assert_eq!(server.stored_size(&other.id).await, None);
}

/// A URL signed an hour ago for a 60-second upload has expired by the real
/// clock, which s3s-fs checks like S3.
#[tokio::test]
async fn presigned_put_rejects_expired() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    server.clock.set(SystemClock.now() - 3600);
    let upload = server.create_upload(SIZE, 60).await;

    let status = server
        .put_ciphertext(&upload, upload.ciphertext.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.stored_size(&upload.id).await, None);
}

#[tokio::test]
async fn download_then_confirm_deletes() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let upload = server.active_upload(SIZE, 600).await;

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let download_url = body["download_url"].as_str().unwrap().to_owned();
    let (status, bytes) = server.get_bytes(&download_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, upload.ciphertext);

    let (status, _) = server.delete_file(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.stored_size(&upload.id).await, None);
    let (status, _) = server.get_bytes(&download_url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Deleted);
    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "already_downloaded");
}

#[tokio::test]
async fn scheduled_sweep_deletes_due() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let claimed = server.active_upload(SIZE, 3600).await;
    let (status, _) = server.claim(&claimed.id, &claimed.claim_token).await;
    assert_eq!(status, StatusCode::OK);
    let expiring = server.active_upload(SIZE, 600).await;
    let fresh = server.active_upload(SIZE, 3600).await;

    let scheduled: Value =
        serde_json::from_str(include_str!("data/eventbridge-scheduled.json")).unwrap();

    // Within the grace period and before expiry, nothing is due.
    let answer = events::handle(&server.state, scheduled.clone())
        .await
        .unwrap();
    assert_eq!(answer["deleted"], 0, "{answer}");

    server.clock.advance(CLAIM_GRACE + 1);
    let answer = events::handle(&server.state, scheduled).await.unwrap();
    assert_eq!(answer["deleted"], 2, "{answer}");
    assert_eq!(answer["failed"], 0, "{answer}");

    for (upload, state) in [
        (&claimed, RecordState::Deleted),
        (&expiring, RecordState::Deleted),
        (&fresh, RecordState::Active),
    ] {
        let record = server.record(&upload.id).await.unwrap();
        assert_eq!(record.state, state, "{}", upload.id);
        let expected_size = (state == RecordState::Active).then_some(SIZE as u64);
        assert_eq!(
            server.stored_size(&upload.id).await,
            expected_size,
            "{}",
            upload.id
        );
    }
}

#[tokio::test]
async fn stream_ttl_removal_deletes_object() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let removed = server.active_upload(SIZE, 600).await;
    let modified = server.active_upload(SIZE, 600).await;

    let template = include_str!("data/dynamodb-stream-ttl-remove.json");
    let event: Value = serde_json::from_str(
        &template
            .replace("{removed_id}", &removed.id)
            .replace("{modified_id}", &modified.id),
    )
    .unwrap();

    let answer = events::handle(&server.state, event).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(server.stored_size(&removed.id).await, None);
    // A MODIFY record and a malformed key change nothing.
    assert_eq!(server.stored_size(&modified.id).await, Some(SIZE as u64));
}

#[tokio::test]
async fn unknown_event_rejected() {
    if skipped() {
        return;
    }
    let server = aws_server().await;
    let result = events::handle(&server.state, json!({ "hello": "world" })).await;
    assert!(result.is_err());
}
