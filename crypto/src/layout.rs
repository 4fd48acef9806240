//! Record positions in a ciphertext of known length.

use std::ops::Range;

use crate::error::FormatError;
use crate::header::{HEADER_LEN, Header, MAX_RECORD_SIZE, MIN_RECORD_SIZE, TAG_LEN};

const HEADER: u64 = HEADER_LEN as u64;
const TAG: u64 = TAG_LEN as u64;

/// Returns the ciphertext length of a plaintext of `plaintext_len` bytes:
/// `28 + plaintext_len + 16 * n` with `n = max(1, ceil(plaintext_len /
/// record_size))` records.
///
/// Meant for valid record sizes. It never panics: it returns `u64::MAX` for
/// a record size of 0 or a result beyond `u64`.
pub fn ciphertext_size(plaintext_len: u64, record_size: u32) -> u64 {
    if record_size == 0 {
        return u64::MAX;
    }
    let count = plaintext_len.div_ceil(u64::from(record_size)).max(1);

    count
        .checked_mul(TAG)
        .and_then(|tags| tags.checked_add(HEADER))
        .and_then(|overhead| overhead.checked_add(plaintext_len))
        .unwrap_or(u64::MAX)
}

/// Returns the plaintext length of a ciphertext of `ciphertext_len` bytes (header
/// included).
///
/// # Errors
///
/// [`FormatError::InvalidRecordSize`] for a record size out of range;
/// [`FormatError::InvalidCiphertextLength`] for a length no plaintext
/// produces (shorter than a header and a tag, a last record shorter than a
/// tag, or an empty last record after a full one).
pub fn plaintext_size(ciphertext_len: u64, record_size: u32) -> Result<u64, FormatError> {
    if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&record_size) {
        return Err(FormatError::InvalidRecordSize(record_size));
    }
    RecordLayout::from_record_size(ciphertext_len, record_size).map(|layout| layout.plaintext_len)
}

/// The records of a ciphertext whose total length is known, for readers
/// that fetch or seek records individually (and so must find the last one).
///
/// Ranges are byte offsets into the whole ciphertext, header included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLayout {
    record_size: u32,
    ciphertext_len: u64,
    plaintext_len: u64,
    record_count: u64,
}

impl RecordLayout {
    /// Lays out a ciphertext of `ciphertext_len` bytes (header included)
    /// that starts with `header`.
    ///
    /// # Errors
    ///
    /// [`FormatError::InvalidCiphertextLength`] as for [`plaintext_size`].
    pub fn new(ciphertext_len: u64, header: &Header) -> Result<RecordLayout, FormatError> {
        RecordLayout::from_record_size(ciphertext_len, header.record_size())
    }

    /// `record_size` must be at least 1 (a `Header` guarantees more).
    fn from_record_size(
        ciphertext_len: u64,
        record_size: u32,
    ) -> Result<RecordLayout, FormatError> {
        let invalid = FormatError::InvalidCiphertextLength(ciphertext_len);
        let body = ciphertext_len.checked_sub(HEADER).ok_or(invalid.clone())?;
        let full = u64::from(record_size) + TAG;

        let record_count = body.div_ceil(full);
        let last_len = body - (record_count.saturating_sub(1)) * full;
        let min_last_len = if record_count > 1 { TAG + 1 } else { TAG };
        if record_count == 0 || last_len < min_last_len {
            return Err(invalid);
        }

        Ok(RecordLayout {
            record_size,
            ciphertext_len,
            plaintext_len: body - record_count * TAG,
            record_count,
        })
    }

    /// Returns the record size of the header.
    pub fn record_size(&self) -> u32 {
        self.record_size
    }

    /// Returns the total ciphertext length, header included.
    pub fn ciphertext_len(&self) -> u64 {
        self.ciphertext_len
    }

    /// Returns the plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Returns the number of records, at least 1.
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// Returns whether record `index` is the last one (and so sealed with the last
    /// flag).
    pub fn is_last(&self, index: u64) -> bool {
        index == self.record_count - 1
    }

    /// Returns the bytes of record `index` (ciphertext and tag) within the whole
    /// ciphertext, or `None` past the last record.
    pub fn record_range(&self, index: u64) -> Option<Range<u64>> {
        if index >= self.record_count {
            return None;
        }
        let full = u64::from(self.record_size) + TAG;
        let start = HEADER + index * full;
        let end = start.saturating_add(full).min(self.ciphertext_len);
        Some(start..end)
    }
}
