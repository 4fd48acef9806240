//! Tests of the sweeper: unconfirmed claims after the grace period, expired
//! uploads, purged records and stale blobs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use safebox_server::config::CLAIM_GRACE;
use safebox_server::store::RecordState;
use safebox_server::sweeper::{self, STALE_BLOB_AGE, SweepReport};

common::test_on_each_backend! {
    sweeper_deletes_unconfirmed_claim,
    sweeper_waits_grace_past_expiry,
    sweeper_deletes_expired_uploads,
    sweeper_purges_confirmed_after_expiry,
    sweeper_task_runs_on_interval,
}

async fn sweeper_deletes_unconfirmed_claim(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 86_400).await;
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );

    server.clock.advance(CLAIM_GRACE - 1);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.deleted, 0, "within the grace period");
    assert_eq!(server.stored_size(&upload.id).await, Some(100));

    server.clock.advance(1);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.deleted, 1);
    assert_eq!(report.purged, 0, "the record stays until its expiry");
    assert_eq!(server.stored_size(&upload.id).await, None);
    let record = server.record(&upload.id).await.unwrap();
    assert_eq!(record.state, RecordState::Deleted);
    assert!(record.claimed_at.is_some());

    let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "already_downloaded");
}

async fn sweeper_waits_grace_past_expiry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 60).await;
    server.clock.advance(59);
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );

    server.clock.advance(10);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(
        report.deleted, 0,
        "a claim just before expiry keeps its grace period"
    );
    assert_eq!(server.stored_size(&upload.id).await, Some(100));

    server.clock.advance(CLAIM_GRACE);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.deleted, 1);
    assert_eq!(server.stored_size(&upload.id).await, None);
    match server.backend {
        Backend::Local => {
            assert_eq!(report.purged, 1, "past expiry, the record goes too");
            assert!(server.record(&upload.id).await.is_none());
        }
        Backend::Aws => {
            assert_eq!(report.purged, 0, "DynamoDB TTL removes the record");
            let record = server.record(&upload.id).await.unwrap();
            assert_eq!(record.state, RecordState::Deleted);
        }
    }
}

async fn sweeper_deletes_expired_uploads(backend: Backend) {
    let server = TestServer::start(backend).await;
    let active = server.active_upload(100, 60).await;
    let pending = server.create_upload(100, 60).await;
    assert_eq!(
        server
            .put_ciphertext(&pending, pending.ciphertext.clone())
            .await,
        StatusCode::OK
    );
    let later = server.active_upload(100, 3600).await;

    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report, SweepReport::default(), "nothing is due yet");

    server.clock.advance(60);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.deleted, 2);
    match server.backend {
        Backend::Local => assert_eq!(report.purged, 2),
        Backend::Aws => assert_eq!(report.purged, 0, "DynamoDB TTL removes records"),
    }
    for upload in [&active, &pending] {
        assert_eq!(server.stored_size(&upload.id).await, None);
        let (status, body) = server.claim(&upload.id, &upload.claim_token).await;
        match server.backend {
            Backend::Local => {
                assert!(server.record(&upload.id).await.is_none());
                assert_eq!(status, StatusCode::NOT_FOUND, "a purged record is unknown");
                assert_eq!(body["error"], "not_found");
            }
            Backend::Aws => {
                let record = server.record(&upload.id).await.unwrap();
                assert_eq!(record.state, RecordState::Deleted, "kept until its TTL");
                assert_eq!(status, StatusCode::GONE, "an unpurged record has expired");
                assert_eq!(body["error"], "expired");
            }
        }
    }

    assert_eq!(server.stored_size(&later.id).await, Some(100));
    assert_eq!(
        server.claim(&later.id, &later.claim_token).await.0,
        StatusCode::OK
    );
}

async fn sweeper_purges_confirmed_after_expiry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;
    assert_eq!(
        server.claim(&upload.id, &upload.claim_token).await.0,
        StatusCode::OK
    );
    let (status, _) = server.delete_file(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    server.clock.advance(599);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.purged, 0);
    let (status, body) = server.info(&upload.id, &upload.claim_token).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "already_downloaded");

    server.clock.advance(1);
    let report = sweeper::sweep_once(&server.state).await;
    let (status, body) = server.info(&upload.id, &upload.claim_token).await;
    match server.backend {
        Backend::Local => {
            assert_eq!(report.purged, 1);
            assert_eq!(status, StatusCode::NOT_FOUND, "a purged record is unknown");
        }
        Backend::Aws => {
            assert_eq!(report.purged, 0, "DynamoDB TTL removes the record");
            assert_eq!(
                status,
                StatusCode::GONE,
                "an unpurged record is still claimed"
            );
            assert_eq!(body["error"], "already_downloaded");
        }
    }
}

// Local only: on AWS the bucket's lifecycle rule expires stale objects, so
// the S3 blob store's `remove_stale` does nothing.
#[tokio::test]
async fn sweeper_removes_stale_blobs() {
    let server = TestServer::start(Backend::Local).await;
    let upload = server.active_upload(100, 600).await;
    let (status, _) = server
        .owner_request(Method::DELETE, &upload, "", &upload.owner_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The upload URL is still valid, so a late PUT leaves a blob that no
    // live record refers to.
    assert_eq!(
        server
            .put_ciphertext(&upload, upload.ciphertext.clone())
            .await,
        StatusCode::OK
    );
    assert_eq!(server.stored_size(&upload.id).await, Some(100));

    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.stale_removed, 0);
    assert_eq!(server.stored_size(&upload.id).await, Some(100));

    // A blob's age comes from its file's modification time, which is real
    // time: on a slow machine, seconds may pass since the test clock began.
    let written_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    server.clock.set(written_at + STALE_BLOB_AGE + 1);
    let report = sweeper::sweep_once(&server.state).await;
    assert_eq!(report.stale_removed, 1);
    assert_eq!(server.stored_size(&upload.id).await, None);
}

async fn sweeper_task_runs_on_interval(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 60).await;

    // The first run happens at once with nothing due, so the deletion below
    // must come from a later tick.
    let task = sweeper::spawn(server.state.clone(), Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.stored_size(&upload.id).await, Some(100));
    server.clock.advance(60);

    let mut deleted = false;
    for _ in 0..100 {
        if server.stored_size(&upload.id).await.is_none() {
            deleted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert!(
        deleted,
        "the sweeper task deleted the expired file within 2 s"
    );
}
