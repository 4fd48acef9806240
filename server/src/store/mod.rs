//! Storage traits: records of uploads and the ciphertext blobs.
//!
//! The traits follow the semantics of the AWS services a later backend maps
//! them to. Every state change of a record is one conditional write, like a
//! DynamoDB `UpdateItem` with a `ConditionExpression`. Ciphertext never
//! passes through the API: clients move it with presigned requests, like S3
//! presigned `PUT` and `GET` URLs.

mod blob;
mod record;

pub use blob::{BlobError, BlobStore, PresignedRequest};
pub use record::{
    ActivateOutcome, ClaimOutcome, NewRecord, RecipientStatus, Record, RecordState, RecordStore,
    StoreError,
};
