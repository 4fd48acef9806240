//! Upload records in a DynamoDB table.
//!
//! One item per record, keyed by `id`. Every state change is a single
//! `UpdateItem` whose `ConditionExpression` carries the whole rule (state,
//! claim hash and expiry), so DynamoDB alone decides which of several
//! concurrent Lambda invocations wins. After a failed condition the item is
//! read back only to choose the response to the losing request.
//!
//! Item attributes:
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `id` | S | file id, the partition key |
//! | `state` | S | `pending`, `active`, `claimed` or `deleted` |
//! | `size` | N | exact ciphertext size in bytes |
//! | `claim_hash`, `owner_hash` | B | SHA-256 of the claim and owner tokens |
//! | `metadata` | B | encrypted metadata |
//! | `created_at`, `expires_at` | N | Unix seconds |
//! | `claimed_at`, `deleted_at` | N | Unix seconds, absent until set |
//! | `due_state`, `due_at` | S, N | key of the sparse index [`DUE_INDEX`], absent once deleted |
//! | `ttl` | N | Unix seconds after which DynamoDB TTL may remove the item |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::file_id::FileId;
use crate::store::{
    ActivateOutcome, ClaimOutcome, NewRecord, RecipientStatus, Record, RecordState, RecordStore,
    StoreError,
};
use crate::token::TokenHash;

/// Name of the global secondary index over (`due_state`, `due_at`) that the
/// sweeper queries. `due_at` is `expires_at` for pending and active records
/// and `claimed_at` for claimed ones; deleted records leave the index.
pub const DUE_INDEX: &str = "due_index";

/// Name of the TTL attribute, as enabled on the table.
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Attribute names. Several are DynamoDB reserved words (`size`, `state`,
/// `ttl`), so every expression refers to them through `#` placeholders.
mod attr {
    pub const ID: &str = "id";
    pub const STATE: &str = "state";
    pub const SIZE: &str = "size";
    pub const CLAIM_HASH: &str = "claim_hash";
    pub const OWNER_HASH: &str = "owner_hash";
    pub const METADATA: &str = "metadata";
    pub const CREATED_AT: &str = "created_at";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const CLAIMED_AT: &str = "claimed_at";
    pub const DELETED_AT: &str = "deleted_at";
    pub const ATTEMPT_HASH: &str = "attempt_hash";
    pub const DUE_STATE: &str = "due_state";
    pub const DUE_AT: &str = "due_at";
}

type Item = HashMap<String, AttributeValue>;

/// A failed DynamoDB call, with the SDK's full error chain as text.
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB {operation} failed: {detail}")]
pub struct DynamoError {
    operation: &'static str,
    detail: String,
}

impl DynamoError {
    fn new<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self {
            operation,
            detail: DisplayErrorContext(error).to_string(),
        }
    }
}

/// A stored item that does not have the shape this server writes.
#[derive(Debug, thiserror::Error)]
#[error("record {id:?} in DynamoDB has a missing or invalid attribute {attribute:?}")]
pub struct InvalidItem {
    id: String,
    attribute: &'static str,
}

/// A [`RecordStore`] over one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoRecordStore {
    client: Client,
    table: String,
    claim_grace: u64,
}

impl DynamoRecordStore {
    /// Creates a store over an existing table.
    ///
    /// `claim_grace` (seconds) is added to each record's expiry to get its
    /// TTL, so that a claim made just before expiry keeps its record, and the
    /// ciphertext it points to, until the grace period has passed.
    pub fn new(client: Client, table: impl Into<String>, claim_grace: u64) -> Self {
        Self {
            client,
            table: table.into(),
            claim_grace,
        }
    }

    /// Reads an item with a strongly consistent read.
    async fn read_item(&self, id: &FileId) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::ID, string(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| StoreError::backend(DynamoError::new("GetItem", &error)))?;
        Ok(output.item)
    }

    /// Returns the item a failed conditional write saw: the copy DynamoDB
    /// sent back with `ReturnValuesOnConditionCheckFailure = ALL_OLD`, or a
    /// fresh consistent read where the server sent none. Either way the
    /// failed write has already decided the outcome, and the item only
    /// explains it.
    async fn item_after_failure(
        &self,
        id: &FileId,
        returned: Option<Item>,
    ) -> Result<Option<Record>, StoreError> {
        let item = match returned {
            Some(item) => Some(item),
            None => self.read_item(id).await?,
        };
        item.map(|item| record_from_item(&item))
            .transpose()
            .map_err(StoreError::backend)
    }
}

/// Returns the item that a failed `UpdateItem` condition saw, as sent with
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD` (`Ok(None)` if the server
/// sent none), or `Err` for any failure other than the condition.
fn failed_condition_item(
    error: SdkError<UpdateItemError, HttpResponse>,
) -> Result<Option<Item>, StoreError> {
    match error.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(failure)) => {
            Ok(failure.item().cloned())
        }
        _ => Err(StoreError::backend(DynamoError::new("UpdateItem", &error))),
    }
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    async fn create(&self, record: NewRecord) -> Result<(), StoreError> {
        let ttl = record.expires_at.saturating_add(self.claim_grace);
        let item: Item = HashMap::from([
            (attr::ID.to_owned(), string(record.id.as_str())),
            (
                attr::STATE.to_owned(),
                string(RecordState::Pending.as_str()),
            ),
            (attr::SIZE.to_owned(), number(record.size)),
            (
                attr::CLAIM_HASH.to_owned(),
                bytes(record.claim_hash.as_bytes()),
            ),
            (
                attr::OWNER_HASH.to_owned(),
                bytes(record.owner_hash.as_bytes()),
            ),
            (attr::METADATA.to_owned(), bytes(&record.metadata)),
            (attr::CREATED_AT.to_owned(), number(record.created_at)),
            (attr::EXPIRES_AT.to_owned(), number(record.expires_at)),
            (
                attr::DUE_STATE.to_owned(),
                string(RecordState::Pending.as_str()),
            ),
            (attr::DUE_AT.to_owned(), number(record.expires_at)),
            (TTL_ATTRIBUTE.to_owned(), number(ttl)),
        ]);

        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", attr::ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Err(StoreError::AlreadyExists)
            }
            Err(error) => Err(StoreError::backend(DynamoError::new("PutItem", &error))),
        }
    }

    async fn get(&self, id: &FileId) -> Result<Option<Record>, StoreError> {
        let item = self.read_item(id).await?;
        item.map(|item| record_from_item(&item))
            .transpose()
            .map_err(StoreError::backend)
    }

    async fn activate(&self, id: &FileId, now: u64) -> Result<ActivateOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, string(id.as_str()))
            .update_expression("SET #state = :active, #due_state = :active")
            .condition_expression("#state = :pending AND #expires_at > :now")
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#due_state", attr::DUE_STATE)
            .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
            .expression_attribute_values(":active", string(RecordState::Active.as_str()))
            .expression_attribute_values(":pending", string(RecordState::Pending.as_str()))
            .expression_attribute_values(":now", number(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        match result {
            Ok(output) => {
                let record = updated_record(id, output.attributes)?;
                Ok(ActivateOutcome::Activated(record))
            }
            Err(error) => {
                let returned = failed_condition_item(error)?;
                Ok(match self.item_after_failure(id, returned).await? {
                    Some(record) => ActivateOutcome::Unchanged(record),
                    None => ActivateOutcome::NotFound,
                })
            }
        }
    }

    async fn claim(
        &self,
        id: &FileId,
        claim_hash: &TokenHash,
        attempt_hash: Option<&TokenHash>,
        now: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut update =
            "SET #state = :claimed, #claimed_at = :now, #due_state = :claimed, #due_at = :now"
                .to_owned();
        let mut request = self.client.update_item();
        if let Some(attempt_hash) = attempt_hash {
            update.push_str(", #attempt_hash = :attempt_hash");
            request = request
                .expression_attribute_names("#attempt_hash", attr::ATTEMPT_HASH)
                .expression_attribute_values(":attempt_hash", bytes(attempt_hash.as_bytes()));
        }

        // DynamoDB compares the hash on its side, so no timing of the
        // comparison reaches this process or the client.
        let result = request
            .table_name(&self.table)
            .key(attr::ID, string(id.as_str()))
            .update_expression(update)
            .condition_expression(
                "#state = :active AND #claim_hash = :claim_hash AND #expires_at > :now",
            )
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#claimed_at", attr::CLAIMED_AT)
            .expression_attribute_names("#due_state", attr::DUE_STATE)
            .expression_attribute_names("#due_at", attr::DUE_AT)
            .expression_attribute_names("#claim_hash", attr::CLAIM_HASH)
            .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
            .expression_attribute_values(":claimed", string(RecordState::Claimed.as_str()))
            .expression_attribute_values(":active", string(RecordState::Active.as_str()))
            .expression_attribute_values(":claim_hash", bytes(claim_hash.as_bytes()))
            .expression_attribute_values(":now", number(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        match result {
            Ok(output) => Ok(ClaimOutcome::Claimed(updated_record(
                id,
                output.attributes,
            )?)),
            Err(error) => {
                let returned = failed_condition_item(error)?;
                let record = self.item_after_failure(id, returned).await?;
                Ok(lost_claim_outcome(record, claim_hash, attempt_hash, now))
            }
        }
    }

    async fn mark_deleted(&self, id: &FileId, now: u64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, string(id.as_str()))
            .update_expression(
                "SET #state = :deleted, #deleted_at = :now REMOVE #due_state, #due_at",
            )
            .condition_expression("attribute_exists(#id) AND #state <> :deleted")
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#deleted_at", attr::DELETED_AT)
            .expression_attribute_names("#due_state", attr::DUE_STATE)
            .expression_attribute_names("#due_at", attr::DUE_AT)
            .expression_attribute_values(":deleted", string(RecordState::Deleted.as_str()))
            .expression_attribute_values(":now", number(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(error) => Err(StoreError::backend(DynamoError::new("UpdateItem", &error))),
        }
    }

    async fn list_due(
        &self,
        now: u64,
        claim_grace: u64,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let queries = [
            (RecordState::Claimed, now.saturating_sub(claim_grace)),
            (RecordState::Active, now),
            (RecordState::Pending, now),
        ];
        let mut due = Vec::new();
        for (state, cutoff) in queries {
            let remaining = limit.saturating_sub(due.len());
            if remaining == 0 {
                break;
            }
            let page_limit = i32::try_from(remaining).unwrap_or(i32::MAX);
            // The index is read with eventual consistency, so a record may
            // show up once more after it was deleted. Sweeping it again only
            // repeats an idempotent delete.
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DUE_INDEX)
                .key_condition_expression("#due_state = :state AND #due_at <= :cutoff")
                .expression_attribute_names("#due_state", attr::DUE_STATE)
                .expression_attribute_names("#due_at", attr::DUE_AT)
                .expression_attribute_values(":state", string(state.as_str()))
                .expression_attribute_values(":cutoff", number(cutoff))
                .limit(page_limit)
                .send()
                .await
                .map_err(|error| StoreError::backend(DynamoError::new("Query", &error)))?;
            for item in output.items.unwrap_or_default() {
                due.push(record_from_item(&item).map_err(StoreError::backend)?);
            }
        }
        Ok(due)
    }

    /// Does nothing and returns 0: DynamoDB TTL removes each item after its
    /// `ttl` attribute, which is the expiry plus the claim grace period. The
    /// removal reaches the events handler through the table's stream, which
    /// deletes the ciphertext too.
    async fn purge(&self, _now: u64) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Chooses the outcome of a claim whose conditional write failed, from the
/// record as that write saw it (or as read right after).
fn lost_claim_outcome(
    record: Option<Record>,
    claim_hash: &TokenHash,
    attempt_hash: Option<&TokenHash>,
    now: u64,
) -> ClaimOutcome {
    let Some(record) = record else {
        return ClaimOutcome::NotFound;
    };
    if !record.claim_hash.matches(claim_hash) {
        return ClaimOutcome::NotFound;
    }
    if record.repeats_claim(attempt_hash) {
        return ClaimOutcome::Repeated(record);
    }
    match record.recipient_status(now) {
        RecipientStatus::AlreadyClaimed { claimed_at } => {
            ClaimOutcome::AlreadyClaimed { claimed_at }
        }
        RecipientStatus::Expired { expires_at } => ClaimOutcome::Expired { expires_at },
        // Claimable can only be seen on a read that follows the failed
        // write, when the record was pending at the write and its sender
        // completed it in between. The write did not claim it, so the
        // outcome is the one for a pending record.
        RecipientStatus::Pending | RecipientStatus::Claimable => ClaimOutcome::NotFound,
    }
}

fn updated_record(id: &FileId, attributes: Option<Item>) -> Result<Record, StoreError> {
    let item = attributes.ok_or_else(|| {
        StoreError::backend(InvalidItem {
            id: id.as_str().to_owned(),
            attribute: attr::ID,
        })
    })?;
    record_from_item(&item).map_err(StoreError::backend)
}

/// Parses an item written by [`DynamoRecordStore`].
pub(crate) fn record_from_item(item: &Item) -> Result<Record, InvalidItem> {
    let id_text = item
        .get(attr::ID)
        .and_then(|value| value.as_s().ok())
        .map_or_else(String::new, Clone::clone);
    let invalid = |attribute| InvalidItem {
        id: id_text.clone(),
        attribute,
    };

    let id = FileId::parse(&id_text).map_err(|_| invalid(attr::ID))?;
    let state = item
        .get(attr::STATE)
        .and_then(|value| value.as_s().ok())
        .and_then(|text| RecordState::parse(text))
        .ok_or_else(|| invalid(attr::STATE))?;
    let hash = |attribute| {
        item.get(attribute)
            .and_then(|value| value.as_b().ok())
            .and_then(|blob| TokenHash::from_slice(blob.as_ref()))
            .ok_or_else(|| invalid(attribute))
    };
    let required = |attribute| read_number(item, attribute)?.ok_or_else(|| invalid(attribute));

    Ok(Record {
        state,
        size: required(attr::SIZE)?,
        claim_hash: hash(attr::CLAIM_HASH)?,
        owner_hash: hash(attr::OWNER_HASH)?,
        metadata: item
            .get(attr::METADATA)
            .and_then(|value| value.as_b().ok())
            .map(|blob| blob.as_ref().to_vec())
            .ok_or_else(|| invalid(attr::METADATA))?,
        created_at: required(attr::CREATED_AT)?,
        expires_at: required(attr::EXPIRES_AT)?,
        claimed_at: read_number(item, attr::CLAIMED_AT)?,
        deleted_at: read_number(item, attr::DELETED_AT)?,
        attempt_hash: match item.get(attr::ATTEMPT_HASH) {
            None => None,
            Some(value) => Some(
                value
                    .as_b()
                    .ok()
                    .and_then(|blob| TokenHash::from_slice(blob.as_ref()))
                    .ok_or_else(|| invalid(attr::ATTEMPT_HASH))?,
            ),
        },
        id,
    })
}

/// Reads an optional number attribute as `u64`.
fn read_number(item: &Item, attribute: &'static str) -> Result<Option<u64>, InvalidItem> {
    match item.get(attribute) {
        None => Ok(None),
        Some(value) => value
            .as_n()
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| InvalidItem {
                id: item
                    .get(attr::ID)
                    .and_then(|value| value.as_s().ok())
                    .map_or_else(String::new, Clone::clone),
                attribute,
            }),
    }
}

fn string(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn bytes(value: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_item() -> Item {
        HashMap::from([
            (attr::ID.to_owned(), string("AAAAAAAAAAAAAAAA")),
            (attr::STATE.to_owned(), string("claimed")),
            (attr::SIZE.to_owned(), number(100)),
            (attr::CLAIM_HASH.to_owned(), bytes(&[1; 32])),
            (attr::OWNER_HASH.to_owned(), bytes(&[2; 32])),
            (attr::METADATA.to_owned(), bytes(b"meta")),
            (attr::CREATED_AT.to_owned(), number(10)),
            (attr::EXPIRES_AT.to_owned(), number(1000)),
            (attr::CLAIMED_AT.to_owned(), number(20)),
        ])
    }

    #[test]
    fn item_parses_to_record() {
        let record = record_from_item(&sample_item());
        let record = record.as_ref().ok();
        assert_eq!(
            record.map(|record| record.state),
            Some(RecordState::Claimed)
        );
        assert_eq!(record.map(|record| record.size), Some(100));
        assert_eq!(record.and_then(|record| record.claimed_at), Some(20));
        assert_eq!(record.and_then(|record| record.deleted_at), None);
        assert_eq!(
            record.map(|record| record.metadata.as_slice()),
            Some(b"meta".as_slice())
        );
    }

    #[test]
    fn item_missing_attribute_rejected() {
        for attribute in [
            attr::STATE,
            attr::SIZE,
            attr::CLAIM_HASH,
            attr::METADATA,
            attr::EXPIRES_AT,
        ] {
            let mut item = sample_item();
            item.remove(attribute);
            let error = record_from_item(&item).err();
            assert_eq!(error.map(|error| error.attribute), Some(attribute));
        }
    }

    #[test]
    fn item_bad_values_rejected() {
        let mut item = sample_item();
        item.insert(attr::SIZE.to_owned(), AttributeValue::N("-1".to_owned()));
        assert!(record_from_item(&item).is_err());

        let mut item = sample_item();
        item.insert(attr::CLAIM_HASH.to_owned(), bytes(&[1; 31]));
        assert!(record_from_item(&item).is_err());

        let mut item = sample_item();
        item.insert(attr::STATE.to_owned(), string("gone"));
        assert!(record_from_item(&item).is_err());
    }

    #[test]
    fn lost_claim_outcomes() {
        let record = record_from_item(&sample_item()).ok();
        let right = TokenHash::from_bytes([1; 32]);
        let wrong = TokenHash::from_bytes([3; 32]);
        assert!(matches!(
            lost_claim_outcome(None, &right, None, 30),
            ClaimOutcome::NotFound
        ));
        assert!(matches!(
            lost_claim_outcome(record.clone(), &wrong, None, 30),
            ClaimOutcome::NotFound
        ));
        assert!(matches!(
            lost_claim_outcome(record, &right, None, 30),
            ClaimOutcome::AlreadyClaimed { claimed_at: 20 }
        ));
    }

    #[test]
    fn lost_claim_repeated_by_same_attempt() {
        let attempt = TokenHash::from_bytes([7; 32]);
        let other = TokenHash::from_bytes([8; 32]);
        let mut item = sample_item();
        item.insert(attr::ATTEMPT_HASH.to_owned(), bytes(attempt.as_bytes()));
        let record = record_from_item(&item).ok();
        let right = TokenHash::from_bytes([1; 32]);
        let wrong = TokenHash::from_bytes([3; 32]);

        assert!(matches!(
            lost_claim_outcome(record.clone(), &right, Some(&attempt), 30),
            ClaimOutcome::Repeated(_)
        ));
        assert!(matches!(
            lost_claim_outcome(record.clone(), &right, Some(&other), 30),
            ClaimOutcome::AlreadyClaimed { claimed_at: 20 }
        ));
        assert!(matches!(
            lost_claim_outcome(record.clone(), &wrong, Some(&attempt), 30),
            ClaimOutcome::NotFound
        ));

        item.insert(
            attr::STATE.to_owned(),
            string(RecordState::Deleted.as_str()),
        );
        let deleted = record_from_item(&item).ok();
        assert!(matches!(
            lost_claim_outcome(deleted, &right, Some(&attempt), 30),
            ClaimOutcome::AlreadyClaimed { claimed_at: 20 }
        ));
    }
}
