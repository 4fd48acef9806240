//! The 28-byte content header.

use rand::RngCore;
use rand::rngs::OsRng;

use crate::error::FormatError;

/// Length of the content header in bytes.
pub const HEADER_LEN: usize = 28;

/// Length of the AES-GCM tag that ends every record, in bytes.
pub const TAG_LEN: usize = 16;

/// The record size new files use: 64 KiB.
pub const DEFAULT_RECORD_SIZE: u32 = 65536;

/// The minimum record size of a header (small sizes are for tests).
pub const MIN_RECORD_SIZE: u32 = 16;

/// The maximum record size of a header: 16 MiB.
pub const MAX_RECORD_SIZE: u32 = 16 * 1024 * 1024;

/// Length of the header salt in bytes.
pub const SALT_LEN: usize = 16;

const MAGIC: &[u8; 7] = b"safebox";
const VERSION: u8 = 1;

/// The content header: record size and a per-file salt.
///
/// Serialised as `"safebox" || 0x01 || record_size (u32 BE) || salt`. A
/// `Header` always contains a valid record size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    record_size: u32,
    salt: [u8; SALT_LEN],
}

impl Header {
    /// A header with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`FormatError::InvalidRecordSize`] unless
    /// `MIN_RECORD_SIZE <= record_size <= MAX_RECORD_SIZE`.
    ///
    /// # Panics
    ///
    /// If the operating system has no random source.
    pub fn new(record_size: u32) -> Result<Header, FormatError> {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        Header::with_salt(record_size, salt)
    }

    /// A header with a given salt, for test vectors. Real files use
    /// [`Header::new`]: the salt must be fresh for every file.
    ///
    /// # Errors
    ///
    /// [`FormatError::InvalidRecordSize`] as for [`Header::new`].
    pub fn with_salt(record_size: u32, salt: [u8; SALT_LEN]) -> Result<Header, FormatError> {
        if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&record_size) {
            return Err(FormatError::InvalidRecordSize(record_size));
        }
        Ok(Header { record_size, salt })
    }

    /// Returns the plaintext length of every record but the last.
    pub fn record_size(&self) -> u32 {
        self.record_size
    }

    /// Returns the per-file salt.
    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }

    /// Returns the ciphertext length of every record but the last:
    /// `record_size + TAG_LEN`.
    pub fn sealed_record_len(&self) -> usize {
        self.record_size as usize + TAG_LEN
    }

    /// Returns the 28 bytes that start the ciphertext.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[..7].copy_from_slice(MAGIC);
        bytes[7] = VERSION;
        bytes[8..12].copy_from_slice(&self.record_size.to_be_bytes());
        bytes[12..].copy_from_slice(&self.salt);
        bytes
    }

    /// Reads a header. `bytes` must be exactly [`HEADER_LEN`] long.
    ///
    /// The header is not authenticated on its own; a changed header makes
    /// every record fail later, because the content key is derived from it.
    ///
    /// # Errors
    ///
    /// [`FormatError::InvalidHeader`] for another length, magic or version,
    /// [`FormatError::InvalidRecordSize`] for a record size out of range.
    pub fn parse(bytes: &[u8]) -> Result<Header, FormatError> {
        let bytes: &[u8; HEADER_LEN] = bytes.try_into().map_err(|_| FormatError::InvalidHeader)?;
        if &bytes[..7] != MAGIC || bytes[7] != VERSION {
            return Err(FormatError::InvalidHeader);
        }

        let mut size = [0u8; 4];
        size.copy_from_slice(&bytes[8..12]);
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[12..]);
        Header::with_salt(u32::from_be_bytes(size), salt)
    }
}
