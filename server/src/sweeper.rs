//! The sweeper: deletes ciphertext that is no longer wanted and purges old
//! records.
//!
//! Each run deletes the ciphertext of claims never confirmed within
//! [`CLAIM_GRACE`](crate::config::CLAIM_GRACE) and of uploads past expiry,
//! marks their records deleted, then purges deleted records past their
//! original expiry. Every step is idempotent, so a run may stop anywhere.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::api::AppState;
use crate::config::{CLAIM_GRACE, MAX_EXPIRES_IN};

/// Default time between runs.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Age in seconds after which a blob or partial upload is stale, regardless
/// of the records: the longest lifetime plus the grace period, plus an hour
/// of margin. Such files appear when an upload finishes after its record
/// was deleted.
pub const STALE_BLOB_AGE: u64 = MAX_EXPIRES_IN + CLAIM_GRACE + 3600;

/// Number of records deleted per query.
const BATCH_SIZE: usize = 100;

/// Counts of what one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Records whose ciphertext was deleted.
    pub deleted: usize,
    /// Records whose deletion failed; the next run retries them.
    pub failed: usize,
    /// Deleted records purged after their expiry.
    pub purged: u64,
    /// Stale blob files removed.
    pub stale_removed: u64,
}

/// Runs one sweep at the clock's current time.
pub async fn sweep_once(state: &AppState) -> SweepReport {
    let now = state.clock.now();
    let mut report = SweepReport::default();

    loop {
        let due = match state
            .records
            .list_due(now, state.config.claim_grace, BATCH_SIZE)
            .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "sweeper failed to list records due for deletion");
                break;
            }
        };
        let batch_len = due.len();
        let failed_before = report.failed;

        for record in due {
            let id = &record.id;
            let deleted = match state.blobs.delete(id).await {
                Ok(()) => state
                    .records
                    .mark_deleted(id, now)
                    .await
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match deleted {
                Ok(_) => {
                    let reason = if record.claimed_at.is_some() {
                        "claim not confirmed within the grace period"
                    } else {
                        "expired"
                    };
                    tracing::info!(file_id = %id, reason, "sweeper deleted ciphertext");
                    report.deleted += 1;
                }
                Err(error) => {
                    tracing::error!(file_id = %id, %error, "sweeper failed to delete ciphertext");
                    report.failed += 1;
                }
            }
        }

        // A record that failed stays due, so another query would return it
        // again; the next run retries instead.
        if batch_len < BATCH_SIZE || report.failed > failed_before {
            break;
        }
    }

    match state.records.purge(now).await {
        Ok(purged) => report.purged = purged,
        Err(error) => tracing::error!(%error, "sweeper failed to purge expired records"),
    }
    match state.blobs.remove_stale(now, STALE_BLOB_AGE).await {
        Ok(removed) => report.stale_removed = removed,
        Err(error) => tracing::error!(%error, "sweeper failed to remove stale blobs"),
    }

    if report != SweepReport::default() {
        tracing::info!(
            deleted = report.deleted,
            failed = report.failed,
            purged = report.purged,
            stale_removed = report.stale_removed,
            "sweep finished"
        );
    }
    report
}

/// Spawns the sweeper, running [`sweep_once`] every `interval`, the first
/// time at once. Abort the handle to stop it.
pub fn spawn(state: AppState, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            sweep_once(&state).await;
        }
    })
}
