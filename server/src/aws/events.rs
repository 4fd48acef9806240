//! The events handler: DynamoDB stream records of removed items, and the
//! scheduled sweep.
//!
//! When DynamoDB TTL removes a record, the table's stream delivers a
//! `REMOVE` record to this handler, which deletes the record's ciphertext.
//! An EventBridge schedule invokes the same handler to run the sweeper,
//! which deletes ciphertext at expiry and after an unconfirmed claim's
//! grace period, long before TTL removes the record.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::AppState;
use crate::file_id::FileId;
use crate::sweeper;

/// `userIdentity.principalId` of a stream record whose item TTL removed.
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// Errors of the events handler. Lambda retries the invocation.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The payload is neither a DynamoDB stream batch nor a scheduled event.
    #[error(
        "unrecognized event: expected DynamoDB stream records or an EventBridge scheduled event"
    )]
    Unrecognized,
    /// The payload looked like a stream batch but did not parse.
    #[error("invalid DynamoDB stream event: {0}")]
    InvalidStream(#[source] serde_json::Error),
}

/// A batch of DynamoDB stream records, as Lambda delivers it.
#[derive(Debug, Deserialize)]
struct StreamBatch {
    #[serde(rename = "Records")]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    #[serde(rename = "eventSource")]
    event_source: Option<String>,
    #[serde(rename = "userIdentity")]
    user_identity: Option<UserIdentity>,
    dynamodb: Option<StreamChange>,
}

#[derive(Debug, Deserialize)]
struct UserIdentity {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "principalId")]
    principal_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StreamChange {
    #[serde(rename = "Keys")]
    keys: Option<StreamKeys>,
    #[serde(rename = "SequenceNumber")]
    sequence_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StreamKeys {
    id: Option<StringAttribute>,
}

#[derive(Debug, Deserialize)]
struct StringAttribute {
    #[serde(rename = "S")]
    s: Option<String>,
}

impl StreamRecord {
    fn removed_by_ttl(&self) -> bool {
        self.user_identity.as_ref().is_some_and(|identity| {
            identity.kind.as_deref() == Some("Service")
                && identity.principal_id.as_deref() == Some(TTL_PRINCIPAL)
        })
    }

    fn sequence_number(&self) -> Option<&str> {
        self.dynamodb.as_ref()?.sequence_number.as_deref()
    }

    fn key(&self) -> Option<&str> {
        self.dynamodb
            .as_ref()?
            .keys
            .as_ref()?
            .id
            .as_ref()?
            .s
            .as_deref()
    }
}

/// Handles one invocation of the events function and returns its result.
///
/// A stream batch returns `{"batchItemFailures": [...]}` naming the records
/// whose ciphertext could not be deleted, so that Lambda retries only
/// those (the event source mapping needs `ReportBatchItemFailures`). A
/// scheduled event runs one sweep and returns its counts.
pub async fn handle(state: &AppState, payload: Value) -> Result<Value, EventError> {
    if payload.get("Records").is_some_and(Value::is_array) {
        let batch: StreamBatch =
            serde_json::from_value(payload).map_err(EventError::InvalidStream)?;
        return Ok(handle_stream(state, batch).await);
    }
    let scheduled = payload.get("source").and_then(Value::as_str) == Some("aws.events")
        && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if scheduled {
        let report = sweeper::sweep_once(state).await;
        return Ok(json!({
            "deleted": report.deleted,
            "failed": report.failed,
        }));
    }
    tracing::error!("events handler received an unrecognized event");
    Err(EventError::Unrecognized)
}

async fn handle_stream(state: &AppState, batch: StreamBatch) -> Value {
    let mut failures = Vec::new();
    let mut deleted = 0_usize;

    for record in &batch.records {
        if record.event_source.as_deref() != Some("aws:dynamodb")
            || record.event_name.as_deref() != Some("REMOVE")
        {
            continue;
        }
        let Some(id) = record.key().and_then(|key| FileId::parse(key).ok()) else {
            // Retrying cannot fix a key this server never writes.
            tracing::warn!("stream record of a removed item has no valid file id; skipped");
            continue;
        };
        let removed_by = if record.removed_by_ttl() {
            "ttl"
        } else {
            "other"
        };

        match state.blobs.delete(&id).await {
            Ok(()) => {
                deleted += 1;
                tracing::info!(file_id = %id, removed_by, "record removed; ciphertext deleted");
            }
            Err(error) => {
                tracing::error!(file_id = %id, removed_by, %error, "failed to delete ciphertext of a removed record");
                if let Some(sequence_number) = record.sequence_number() {
                    failures.push(json!({ "itemIdentifier": sequence_number }));
                }
            }
        }
    }

    tracing::info!(
        records = batch.records.len(),
        deleted,
        failed = failures.len(),
        "stream batch handled"
    );
    json!({ "batchItemFailures": failures })
}
