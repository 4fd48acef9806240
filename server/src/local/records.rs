//! Upload records in SQLite.
//!
//! One connection behind a mutex serializes every operation, and blocking
//! calls run on tokio's blocking pool. Transitions that read before they
//! write run in `BEGIN IMMEDIATE` transactions, which take the write lock
//! first, so they stay atomic even with a second process on the same file.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::file_id::FileId;
use crate::store::{
    ActivateOutcome, ClaimOutcome, NewRecord, RecipientStatus, Record, RecordState, RecordStore,
    StoreError,
};
use crate::token::TokenHash;

/// Version of the schema below, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE records (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'active', 'claimed', 'deleted')),
    size        INTEGER NOT NULL,
    claim_hash  BLOB NOT NULL,
    owner_hash  BLOB NOT NULL,
    metadata    BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    claimed_at  INTEGER,
    deleted_at  INTEGER,
    attempt_hash BLOB
) STRICT;
CREATE INDEX records_state_expires_at ON records (state, expires_at);
CREATE INDEX records_state_claimed_at ON records (state, claimed_at);
";

const COLUMNS: &str = "id, state, size, claim_hash, owner_hash, metadata, \
                       created_at, expires_at, claimed_at, deleted_at, attempt_hash";

/// Changes from version 1, which had no claim attempts.
const MIGRATE_FROM_1: &str = "ALTER TABLE records ADD COLUMN attempt_hash BLOB;";

/// A [`RecordStore`] in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteRecordStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteRecordStore {
    /// Opens or creates the database at `path` in WAL mode.
    ///
    /// `synchronous = FULL` makes every committed claim durable before the
    /// client hears of it, so a crash cannot let a link be claimed twice.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let journal_mode: String =
            connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(journal_mode, "SQLite did not switch to WAL mode");
        }
        connection.pragma_update(None, "synchronous", "FULL")?;
        migrate(&connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `task` with the connection on the blocking pool.
    async fn run<T, F>(&self, task: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave a half-done
            // write: an open transaction rolls back when it is dropped.
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            task(&mut connection)
        })
        .await
        .map_err(StoreError::backend)?
        .map_err(StoreError::backend)
    }
}

fn migrate(connection: &Connection) -> Result<(), rusqlite::Error> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    match version {
        0 => connection.execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )),
        1 => connection.execute_batch(&format!(
            "BEGIN; {MIGRATE_FROM_1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )),
        SCHEMA_VERSION => Ok(()),
        other => Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "records database has schema version {other}, but this server reads version {SCHEMA_VERSION}"
            )),
        )),
    }
}

#[async_trait]
impl RecordStore for SqliteRecordStore {
    async fn create(&self, record: NewRecord) -> Result<(), StoreError> {
        let inserted = self
            .run(move |connection| {
                connection.execute(
                    "INSERT INTO records (id, state, size, claim_hash, owner_hash, metadata, \
                                          created_at, expires_at) \
                     VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        record.id.as_str(),
                        to_sql_int(record.size)?,
                        record.claim_hash.as_bytes().as_slice(),
                        record.owner_hash.as_bytes().as_slice(),
                        record.metadata,
                        to_sql_int(record.created_at)?,
                        to_sql_int(record.expires_at)?,
                    ],
                )
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    async fn get(&self, id: &FileId) -> Result<Option<Record>, StoreError> {
        let id = id.clone();
        self.run(move |connection| select_record(connection, &id))
            .await
    }

    async fn activate(&self, id: &FileId, now: u64) -> Result<ActivateOutcome, StoreError> {
        let id = id.clone();
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = transaction.execute(
                "UPDATE records SET state = 'active' \
                 WHERE id = ?1 AND state = 'pending' AND expires_at > ?2",
                params![id.as_str(), to_sql_int(now)?],
            )?;
            let record = select_record(&transaction, &id)?;
            transaction.commit()?;
            Ok(match record {
                None => ActivateOutcome::NotFound,
                Some(record) if changed == 1 => ActivateOutcome::Activated(record),
                Some(record) => ActivateOutcome::Unchanged(record),
            })
        })
        .await
    }

    async fn claim(
        &self,
        id: &FileId,
        claim_hash: &TokenHash,
        attempt_hash: Option<&TokenHash>,
        now: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        let id = id.clone();
        let claim_hash = *claim_hash;
        let attempt_hash = attempt_hash.copied();
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(record) = select_record(&transaction, &id)? else {
                return Ok(ClaimOutcome::NotFound);
            };
            // Compared here rather than in the WHERE clause, because SQLite
            // compares blobs with memcmp, which is not constant time.
            if !record.claim_hash.matches(&claim_hash) {
                return Ok(ClaimOutcome::NotFound);
            }

            if record.repeats_claim(attempt_hash.as_ref()) {
                return Ok(ClaimOutcome::Repeated(record));
            }

            let outcome = match record.recipient_status(now) {
                RecipientStatus::Pending => ClaimOutcome::NotFound,
                RecipientStatus::AlreadyClaimed { claimed_at } => {
                    ClaimOutcome::AlreadyClaimed { claimed_at }
                }
                RecipientStatus::Expired { expires_at } => ClaimOutcome::Expired { expires_at },
                RecipientStatus::Claimable => {
                    let changed = transaction.execute(
                        "UPDATE records SET state = 'claimed', claimed_at = ?2, attempt_hash = ?3 \
                         WHERE id = ?1 AND state = 'active' AND expires_at > ?2",
                        params![
                            id.as_str(),
                            to_sql_int(now)?,
                            attempt_hash.as_ref().map(|hash| hash.as_bytes().as_slice()),
                        ],
                    )?;
                    if changed != 1 {
                        return Err(inconsistent_record(&id));
                    }
                    ClaimOutcome::Claimed(Record {
                        state: RecordState::Claimed,
                        claimed_at: Some(now),
                        attempt_hash,
                        ..record
                    })
                }
            };
            transaction.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn mark_deleted(&self, id: &FileId, now: u64) -> Result<bool, StoreError> {
        let id = id.clone();
        let changed = self
            .run(move |connection| {
                connection.execute(
                    "UPDATE records SET state = 'deleted', deleted_at = ?2 \
                     WHERE id = ?1 AND state <> 'deleted'",
                    params![id.as_str(), to_sql_int(now)?],
                )
            })
            .await?;
        Ok(changed > 0)
    }

    async fn list_due(
        &self,
        now: u64,
        claim_grace: u64,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.run(move |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM records \
                 WHERE (state = 'claimed' AND claimed_at <= ?1) \
                    OR (state IN ('pending', 'active') AND expires_at <= ?2) \
                 ORDER BY expires_at LIMIT ?3"
            ))?;
            let claimed_before = to_sql_int(now.saturating_sub(claim_grace))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement.query_map(
                params![claimed_before, to_sql_int(now)?, limit],
                record_from_row,
            )?;
            rows.collect()
        })
        .await
    }

    async fn purge(&self, now: u64) -> Result<u64, StoreError> {
        let purged = self
            .run(move |connection| {
                connection.execute(
                    "DELETE FROM records WHERE state = 'deleted' AND expires_at <= ?1",
                    params![to_sql_int(now)?],
                )
            })
            .await?;
        Ok(purged as u64)
    }
}

fn select_record(connection: &Connection, id: &FileId) -> Result<Option<Record>, rusqlite::Error> {
    connection
        .prepare_cached(&format!("SELECT {COLUMNS} FROM records WHERE id = ?1"))?
        .query_row(params![id.as_str()], record_from_row)
        .optional()
}

fn record_from_row(row: &Row<'_>) -> Result<Record, rusqlite::Error> {
    let id: String = row.get(0)?;
    let state: String = row.get(1)?;
    Ok(Record {
        id: FileId::parse(&id).map_err(|error| conversion_error(0, error))?,
        state: RecordState::parse(&state)
            .ok_or_else(|| conversion_error(1, InvalidColumn("state")))?,
        size: from_sql_int(row, 2)?,
        claim_hash: token_hash(row, 3)?,
        owner_hash: token_hash(row, 4)?,
        metadata: row.get(5)?,
        created_at: from_sql_int(row, 6)?,
        expires_at: from_sql_int(row, 7)?,
        claimed_at: optional_sql_int(row, 8)?,
        deleted_at: optional_sql_int(row, 9)?,
        attempt_hash: optional_token_hash(row, 10)?,
    })
}

/// A stored value that no code path writes.
#[derive(Debug, thiserror::Error)]
#[error("invalid value in column {0}")]
struct InvalidColumn(&'static str);

fn conversion_error(
    column: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Null, Box::new(error))
}

fn optional_token_hash(row: &Row<'_>, column: usize) -> Result<Option<TokenHash>, rusqlite::Error> {
    let bytes: Option<Vec<u8>> = row.get(column)?;
    bytes
        .map(|bytes| {
            TokenHash::from_slice(&bytes)
                .ok_or_else(|| conversion_error(column, InvalidColumn("hash")))
        })
        .transpose()
}

fn token_hash(row: &Row<'_>, column: usize) -> Result<TokenHash, rusqlite::Error> {
    let bytes: Vec<u8> = row.get(column)?;
    TokenHash::from_slice(&bytes).ok_or_else(|| conversion_error(column, InvalidColumn("hash")))
}

fn from_sql_int(row: &Row<'_>, column: usize) -> Result<u64, rusqlite::Error> {
    let value: i64 = row.get(column)?;
    u64::try_from(value).map_err(|error| conversion_error(column, error))
}

fn optional_sql_int(row: &Row<'_>, column: usize) -> Result<Option<u64>, rusqlite::Error> {
    let value: Option<i64> = row.get(column)?;
    value
        .map(|value| u64::try_from(value).map_err(|error| conversion_error(column, error)))
        .transpose()
}

/// Converts a size or time to SQLite's signed 64-bit integer.
fn to_sql_int(value: u64) -> Result<i64, rusqlite::Error> {
    i64::try_from(value).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

fn inconsistent_record(id: &FileId) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
        Some(format!("record {id} changed inside a write transaction")),
    )
}
