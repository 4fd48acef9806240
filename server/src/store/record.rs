//! Upload records and the [`RecordStore`] trait.

use async_trait::async_trait;

use crate::file_id::FileId;
use crate::token::TokenHash;

/// Lifecycle state of a record, as stored.
///
/// Expiry is not a state: a record is expired when `now >= expires_at`,
/// which every transition checks against the time it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Created, ciphertext not yet confirmed by the sender.
    Pending,
    /// Ciphertext confirmed, waiting for its one claim.
    Active,
    /// Claimed once; the ciphertext stays until the claimant confirms or the
    /// grace period ends.
    Claimed,
    /// Ciphertext deleted. The record stays until its original expiry so that
    /// the recipient can still be told what happened.
    Deleted,
}

impl RecordState {
    /// Returns the stored name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Claimed => "claimed",
            Self::Deleted => "deleted",
        }
    }

    /// Parses a stored state name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "claimed" => Some(Self::Claimed),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// The fields the API supplies when it creates a record.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Id of the upload.
    pub id: FileId,
    /// Exact ciphertext size in bytes.
    pub size: u64,
    /// `SHA-256` of the claim token derived from the link.
    pub claim_hash: TokenHash,
    /// `SHA-256` of the owner token returned to the sender.
    pub owner_hash: TokenHash,
    /// Encrypted metadata, opaque to the server.
    pub metadata: Vec<u8>,
    /// Creation time in Unix seconds.
    pub created_at: u64,
    /// Expiry time in Unix seconds.
    pub expires_at: u64,
}

/// A stored upload record.
#[derive(Debug, Clone)]
pub struct Record {
    /// Id of the upload.
    pub id: FileId,
    /// Stored lifecycle state.
    pub state: RecordState,
    /// Exact ciphertext size in bytes.
    pub size: u64,
    /// `SHA-256` of the claim token.
    pub claim_hash: TokenHash,
    /// `SHA-256` of the owner token.
    pub owner_hash: TokenHash,
    /// Encrypted metadata, opaque to the server.
    pub metadata: Vec<u8>,
    /// Creation time in Unix seconds.
    pub created_at: u64,
    /// Expiry time in Unix seconds.
    pub expires_at: u64,
    /// Time of the one successful claim, kept after deletion.
    pub claimed_at: Option<u64>,
    /// `SHA-256` of the claim attempt that the successful claim carried, if
    /// it carried one.
    pub attempt_hash: Option<TokenHash>,
    /// Time the ciphertext was deleted.
    pub deleted_at: Option<u64>,
}

/// What a holder of the right claim token may learn about a record at a
/// given time. Callers check the token first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientStatus {
    /// Active and not expired: it can be claimed.
    Claimable,
    /// Not yet completed by the sender, which the recipient is not told.
    Pending,
    /// Claimed at the given time (the ciphertext may be deleted since).
    AlreadyClaimed {
        /// Time of the claim in Unix seconds.
        claimed_at: u64,
    },
    /// Past expiry, or deleted by the owner before any claim.
    Expired {
        /// Original expiry in Unix seconds.
        expires_at: u64,
    },
}

impl Record {
    /// Tells whether a claim with `attempt_hash` repeats the successful
    /// claim: the same attempt, while the ciphertext is not deleted. The
    /// hashes are compared in constant time.
    pub fn repeats_claim(&self, attempt_hash: Option<&TokenHash>) -> bool {
        let same_attempt = match (&self.attempt_hash, attempt_hash) {
            (Some(stored), Some(given)) => stored.matches(given),
            _ => false,
        };
        same_attempt && self.state == RecordState::Claimed
    }

    /// Returns what the recipient may learn about this record at `now`.
    ///
    /// A claim outranks expiry, so a link claimed just before it expired
    /// still reports the claim.
    pub fn recipient_status(&self, now: u64) -> RecipientStatus {
        if let Some(claimed_at) = self.claimed_at {
            return RecipientStatus::AlreadyClaimed { claimed_at };
        }
        match self.state {
            RecordState::Pending => RecipientStatus::Pending,
            RecordState::Deleted => RecipientStatus::Expired {
                expires_at: self.expires_at,
            },
            RecordState::Active | RecordState::Claimed if now >= self.expires_at => {
                RecipientStatus::Expired {
                    expires_at: self.expires_at,
                }
            }
            RecordState::Active | RecordState::Claimed => RecipientStatus::Claimable,
        }
    }
}

/// Result of [`RecordStore::activate`].
#[derive(Debug, Clone)]
pub enum ActivateOutcome {
    /// The record moved from pending to active.
    Activated(Record),
    /// The record exists but was not pending or had expired, so nothing
    /// changed. It is returned as it was read.
    Unchanged(Record),
    /// No record has this id.
    NotFound,
}

/// Result of [`RecordStore::claim`].
#[derive(Debug, Clone)]
pub enum ClaimOutcome {
    /// This call claimed the record. It is returned in its claimed state.
    Claimed(Record),
    /// The record was claimed before by a claim with the same attempt hash,
    /// and its ciphertext is not deleted; see [`Record::repeats_claim`].
    /// Nothing changed.
    Repeated(Record),
    /// No record, a different claim hash, or a pending upload. Callers must
    /// respond to all three alike so that a bare id reveals nothing.
    NotFound,
    /// The claim hash matched but the record was claimed before.
    AlreadyClaimed {
        /// Time of the earlier claim in Unix seconds.
        claimed_at: u64,
    },
    /// The claim hash matched but the record has expired or was deleted.
    Expired {
        /// Original expiry in Unix seconds.
        expires_at: u64,
    },
}

/// Errors of a record store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// [`RecordStore::create`] found a record with the same id.
    #[error("a record with this id already exists")]
    AlreadyExists,
    /// The backend failed; the request may be retried.
    #[error("record store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// Persistent records of uploads.
///
/// Each method is one atomic operation. The state-changing methods are
/// conditional writes: they change the record only if its stored state
/// allows it at the time `now` they are given, and otherwise leave it as it
/// is.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Inserts a pending record, failing with [`StoreError::AlreadyExists`]
    /// if the id is taken (DynamoDB: `attribute_not_exists(id)`).
    async fn create(&self, record: NewRecord) -> Result<(), StoreError>;

    /// Reads a record.
    async fn get(&self, id: &FileId) -> Result<Option<Record>, StoreError>;

    /// Moves a record from pending to active if `now < expires_at`.
    async fn activate(&self, id: &FileId, now: u64) -> Result<ActivateOutcome, StoreError>;

    /// Claims a record: active to claimed, with `claimed_at = now` and the
    /// `attempt_hash` stored, if and only if `claim_hash` matches the stored
    /// hash and `now < expires_at`.
    ///
    /// Of any number of concurrent calls with the right hash, exactly one
    /// returns [`ClaimOutcome::Claimed`]. A later call with the right hash
    /// and the winner's attempt hash returns [`ClaimOutcome::Repeated`]
    /// while the record is claimed. The hash comparisons must not leak
    /// timing in backends that compare in process.
    async fn claim(
        &self,
        id: &FileId,
        claim_hash: &TokenHash,
        attempt_hash: Option<&TokenHash>,
        now: u64,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Marks a record deleted with `deleted_at = now`, keeping `claimed_at`.
    /// Returns `false` if there is no record or it was already deleted.
    ///
    /// Callers delete the ciphertext first, so a failure in between leaves a
    /// record that the sweeper finds again.
    async fn mark_deleted(&self, id: &FileId, now: u64) -> Result<bool, StoreError>;

    /// Lists up to `limit` records whose ciphertext is due for deletion:
    /// claimed with `claimed_at + claim_grace <= now`, or pending or active
    /// with `expires_at <= now`.
    ///
    /// A claimed record waits for the grace period even past its expiry, so
    /// a download that started just before expiry can finish.
    async fn list_due(
        &self,
        now: u64,
        claim_grace: u64,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// Removes deleted records with `expires_at <= now` and returns how many.
    /// Records whose ciphertext may still exist are never purged.
    async fn purge(&self, now: u64) -> Result<u64, StoreError>;
}
