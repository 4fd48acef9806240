//! The SQLite record store opens databases written by older versions of the
//! server and moves them to the current schema, keeping every record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rusqlite::{Connection, params};
use safebox_server::file_id::FileId;
use safebox_server::local::SqliteRecordStore;
use safebox_server::store::{ClaimOutcome, RecordState, RecordStore};
use safebox_server::token::TokenHash;

/// The schema of version 1, before claims stored an attempt hash.
const SCHEMA_1: &str = "
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
    deleted_at  INTEGER
) STRICT;
CREATE INDEX records_state_expires_at ON records (state, expires_at);
CREATE INDEX records_state_claimed_at ON records (state, claimed_at);
PRAGMA user_version = 1;
";

#[tokio::test]
async fn version_1_database_migrates() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("records.sqlite3");
    let claimed = FileId::generate();
    let active = FileId::generate();
    let claim_hash = TokenHash::from_bytes([1; 32]);
    {
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(SCHEMA_1).unwrap();
        for (id, state, claimed_at) in [(&claimed, "claimed", Some(50)), (&active, "active", None)]
        {
            connection
                .execute(
                    "INSERT INTO records VALUES (?1, ?2, 100, ?3, ?4, x'00', 10, 1000, ?5, NULL)",
                    params![
                        id.as_str(),
                        state,
                        claim_hash.as_bytes().as_slice(),
                        [2u8; 32].as_slice(),
                        claimed_at
                    ],
                )
                .unwrap();
        }
    }

    let store = SqliteRecordStore::open(&path).unwrap();

    let record = store.get(&claimed).await.unwrap().unwrap();
    assert_eq!(record.state, RecordState::Claimed);
    assert_eq!(record.claimed_at, Some(50));
    assert!(record.attempt_hash.is_none());
    let attempt = TokenHash::from_bytes([3; 32]);
    let outcome = store
        .claim(&claimed, &claim_hash, Some(&attempt), 60)
        .await
        .unwrap();
    assert!(
        matches!(outcome, ClaimOutcome::AlreadyClaimed { claimed_at: 50 }),
        "a claim from before the migration has no attempt to repeat: {outcome:?}"
    );

    let outcome = store
        .claim(&active, &claim_hash, Some(&attempt), 60)
        .await
        .unwrap();
    assert!(matches!(outcome, ClaimOutcome::Claimed(_)), "{outcome:?}");
    let outcome = store
        .claim(&active, &claim_hash, Some(&attempt), 70)
        .await
        .unwrap();
    assert!(matches!(outcome, ClaimOutcome::Repeated(_)), "{outcome:?}");
    drop(store);

    let connection = Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 2);
}

#[tokio::test]
async fn newer_schema_version_rejected() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("records.sqlite3");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();

    let error = SqliteRecordStore::open(&path).unwrap_err();

    assert!(error.to_string().contains("schema version 99"), "{error}");
}
