//! The error types of the crate.
//!
//! Failed authentication of any kind is [`DecryptError`], which does not
//! reveal which check failed. Caller mistakes (a wrong record length, a record
//! size out of range, a file name too long to fit the metadata) are
//! [`FormatError`]. Parsing user input has its own errors: [`LinkError`],
//! [`IdError`] and [`EncodingError`].

use thiserror::Error;

/// Decryption failed: the key is wrong, or the data was modified, reordered or
/// truncated.
///
/// This error is deliberately opaque. Every authentication failure (a wrong
/// tag, a missing or misplaced last record, a record of impossible length, a
/// header that cannot be read, appended data) turns into this one value, so
/// an attacker cannot learn which check failed.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error(
    "decryption failed: the key is wrong or the data was modified or truncated; \
     check that the link was copied completely and download the file again"
)]
pub struct DecryptError;

/// The caller requested something the format does not allow.
///
/// These errors point at a bug or a limit on the encrypting side; they never
/// come from authenticating data.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// A record size outside `MIN_RECORD_SIZE..=MAX_RECORD_SIZE`.
    #[error(
        "record size {0} is out of range; use a size between {min} and {max} bytes",
        min = crate::MIN_RECORD_SIZE,
        max = crate::MAX_RECORD_SIZE
    )]
    InvalidRecordSize(u32),

    /// A record passed to [`Encryptor::encrypt_next`](crate::Encryptor::encrypt_next)
    /// was not exactly the record size, or the last record was longer than it.
    #[error(
        "record of {actual} bytes has the wrong length; every record but the last must \
         be exactly {expected} bytes and the last at most that"
    )]
    WrongRecordLength {
        /// The record size of the header.
        expected: u32,
        /// The length that was passed.
        actual: usize,
    },

    /// An empty last record after other records. A plaintext whose length is
    /// a multiple of the record size ends with a full last record.
    #[error(
        "the last record is empty but records came before it; pass the final full \
         record to finish() instead of encrypt_next()"
    )]
    EmptyLastRecord,

    /// The record counter would overflow.
    #[error("too many records for one file; split the data or use a larger record size")]
    TooManyRecords,

    /// The plaintext is too long for one AES-GCM message.
    #[error(
        "record too long for AES-GCM; use a record of at most {} bytes",
        crate::MAX_RECORD_SIZE
    )]
    RecordTooLong,

    /// Bytes that are not a version 1 header: wrong length, wrong magic or
    /// wrong version.
    #[error(
        "not a Safebox version 1 file header (expected {} bytes starting with \"safebox\" \
         and version 1); check that the file is a complete Safebox download",
        crate::HEADER_LEN
    )]
    InvalidHeader,

    /// A ciphertext length that no plaintext produces with this record size.
    #[error(
        "a ciphertext of {0} bytes cannot hold a Safebox file with this record size; \
         the file is truncated or has extra bytes"
    )]
    InvalidCiphertextLength(u64),

    /// The file name is longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes.
    #[error("file name of {0} bytes is too long; rename the file to at most {max} bytes", max = crate::MAX_NAME_LEN)]
    NameTooLong(usize),

    /// The media type is longer than [`MAX_MIME_LEN`](crate::MAX_MIME_LEN) bytes.
    #[error("media type of {0} bytes is too long; use at most {max} bytes", max = crate::MAX_MIME_LEN)]
    MimeTooLong(usize),

    /// The encoded metadata would exceed
    /// [`MAX_METADATA_LEN`](crate::MAX_METADATA_LEN) bytes (names full of
    /// characters that JSON escapes can get there).
    #[error(
        "file metadata would take {0} bytes encrypted, over the limit of {max}; \
         use a shorter file name",
        max = crate::MAX_METADATA_LEN
    )]
    MetadataTooLong(usize),
}

/// A link that cannot be parsed. Each message names the problem and what to do.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// No `#` part, or an empty one: the key is missing.
    #[error(
        "the link has no key part after '#'; copy the whole link, including everything \
         after the '#'"
    )]
    MissingFragment,

    /// The part after `#` is not `<id>.<key>` in base64url.
    #[error(
        "the link is malformed (expected '<address>/#<id>.<key>'); copy the link again \
         exactly as you received it"
    )]
    Malformed,

    /// The id or key is shorter than it must be: the link was cut off.
    #[error("the link is incomplete, probably cut off when copied; copy the whole link again")]
    Truncated,

    /// The id or key is longer than it must be, or the input is huge.
    #[error(
        "the link is too long, probably with extra characters pasted after it; copy the \
         link again exactly as you received it"
    )]
    TooLong,
}

/// A file id that is not 16 base64url characters.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("invalid file id: expected 16 base64url characters (A-Z, a-z, 0-9, '-', '_')")]
pub struct IdError;

/// A base64url value (claim token, claim hash) that cannot be decoded.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("invalid {what}: expected {len} bytes as canonical base64url without padding")]
pub struct EncodingError {
    /// What was being decoded, for example "claim token".
    pub what: &'static str,
    /// The number of bytes expected.
    pub len: usize,
}
