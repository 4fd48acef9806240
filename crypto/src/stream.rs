//! Record-by-record encryption of the content, and its one-shot wrappers.

use zeroize::Zeroizing;

use crate::aead::{nonce, open, seal_into};
use crate::error::{DecryptError, FormatError};
use crate::header::{HEADER_LEN, Header, TAG_LEN};
use crate::keys::{ContentKey, LinkSecret};
use crate::layout::{RecordLayout, ciphertext_size};

/// Returns the nonce of record `index`: the index as an 88-bit big-endian integer
/// (11 bytes) followed by `0x01` for the last record and `0x00` otherwise.
///
/// # Errors
///
/// None today: every `u64` fits in 88 bits, so the format's own limit of
/// 2^88 records cannot be reached. The `Result` keeps room for a stricter
/// counter in a later version; callers may treat an error as
/// [`FormatError::TooManyRecords`].
pub fn record_nonce(index: u64, last: bool) -> Result<[u8; 12], FormatError> {
    Ok(nonce(index, last))
}

/// Encrypts one file's content record by record.
///
/// Write [`header_bytes`](Encryptor::header_bytes) first, then the output of
/// [`encrypt_next`](Encryptor::encrypt_next) for every full record but the
/// last, then the output of [`finish`](Encryptor::finish) for the last
/// record. YOU MUST CALL `finish`: without its last record the file cannot
/// be decrypted.
///
/// A plaintext whose length is a multiple of the record size ends with a
/// full last record, so a streaming caller reads one record ahead to know
/// which record is the last. `finish` consumes the encryptor, so nothing can
/// follow the last record.
#[derive(Debug)]
pub struct Encryptor {
    header: Header,
    key: ContentKey,
    next_index: u64,
}

impl Encryptor {
    /// Starts a file under `secret` with `header` (from [`Header::new`]).
    pub fn new(secret: &LinkSecret, header: Header) -> Encryptor {
        Encryptor {
            key: secret.content_key(&header),
            header,
            next_index: 0,
        }
    }

    /// Returns the header this file uses.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Returns the 28 bytes that start the ciphertext.
    pub fn header_bytes(&self) -> [u8; HEADER_LEN] {
        self.header.to_bytes()
    }

    /// Encrypts the next record, which is not the last one.
    ///
    /// # Errors
    ///
    /// [`FormatError::WrongRecordLength`] unless `record` is exactly the
    /// record size long; [`FormatError::TooManyRecords`] at counter overflow.
    /// After an error the encryptor is unchanged and may be used again.
    pub fn encrypt_next(&mut self, record: &[u8]) -> Result<Vec<u8>, FormatError> {
        if record.len() != self.header.record_size() as usize {
            return Err(self.wrong_length(record));
        }
        let index = self.next_index;
        let next_index = index.checked_add(1).ok_or(FormatError::TooManyRecords)?;

        let sealed = self.key.seal_record(index, false, record)?;
        self.next_index = next_index;
        Ok(sealed)
    }

    /// Encrypts the last record, `0..=record_size` bytes long, and ends the
    /// file.
    ///
    /// # Errors
    ///
    /// [`FormatError::WrongRecordLength`] if `last_record` is longer than the
    /// record size; [`FormatError::EmptyLastRecord`] if it is empty although
    /// records came before it (pass the last full record here instead).
    pub fn finish(self, last_record: &[u8]) -> Result<Vec<u8>, FormatError> {
        if last_record.len() > self.header.record_size() as usize {
            return Err(self.wrong_length(last_record));
        }
        if last_record.is_empty() && self.next_index > 0 {
            return Err(FormatError::EmptyLastRecord);
        }
        self.key.seal_record(self.next_index, true, last_record)
    }

    fn wrong_length(&self, record: &[u8]) -> FormatError {
        FormatError::WrongRecordLength {
            expected: self.header.record_size(),
            actual: record.len(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecryptState {
    /// Expecting record `next_index`.
    Open,
    /// The last record was authenticated.
    Finished,
    /// A record failed; nothing more is decrypted.
    Failed,
}

/// Decrypts one file's content record by record, enforcing order and the
/// end of the file.
///
/// Feed each record (ciphertext and tag, [`sealed_record_len`] bytes, the
/// last one possibly shorter) to [`decrypt_next`](Decryptor::decrypt_next)
/// with `last = true` for the final one, then call
/// [`finish`](Decryptor::finish). YOU MUST CALL `finish` (or check that a
/// record with `last = true` was accepted) BEFORE TRUSTING THE OUTPUT: a
/// stream that stops early decrypts fine up to the cut.
///
/// A reader given the total size finds the last record with
/// [`RecordLayout`]; a streaming reader marks a record last when it is
/// shorter than [`sealed_record_len`] or the stream ends right after it.
///
/// After any error the decryptor refuses every further record.
///
/// [`sealed_record_len`]: Decryptor::sealed_record_len
#[derive(Debug)]
pub struct Decryptor {
    header: Header,
    key: ContentKey,
    next_index: u64,
    state: DecryptState,
}

impl Decryptor {
    /// Reads the 28-byte header and derives the content key from it.
    ///
    /// # Errors
    ///
    /// [`DecryptError`] if `header_bytes` is not a version 1 header: in a
    /// decryption a damaged header is one more way the data was modified.
    pub fn new(secret: &LinkSecret, header_bytes: &[u8]) -> Result<Decryptor, DecryptError> {
        let header = Header::parse(header_bytes).map_err(|_| DecryptError)?;
        Ok(Decryptor {
            key: secret.content_key(&header),
            header,
            next_index: 0,
            state: DecryptState::Open,
        })
    }

    /// Returns the header read from the file.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Returns the ciphertext length of every record but the last.
    pub fn sealed_record_len(&self) -> usize {
        self.header.sealed_record_len()
    }

    /// Returns whether the last record has been authenticated.
    pub fn is_finished(&self) -> bool {
        self.state == DecryptState::Finished
    }

    /// Authenticates and decrypts the next record. The plaintext is wiped
    /// when the returned buffer is dropped.
    ///
    /// # Errors
    ///
    /// [`DecryptError`] if the record fails to authenticate, has a length no
    /// record in that position can have (a non-last record must be exactly
    /// [`sealed_record_len`](Decryptor::sealed_record_len) bytes; a last one
    /// contains a tag and at most the record size, and is empty only as record
    /// 0), or comes after the last record or an earlier error.
    pub fn decrypt_next(
        &mut self,
        record: &[u8],
        last: bool,
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let result = self.try_decrypt_next(record, last);
        if result.is_err() {
            self.state = DecryptState::Failed;
        }
        result
    }

    fn try_decrypt_next(
        &mut self,
        record: &[u8],
        last: bool,
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        if self.state != DecryptState::Open {
            return Err(DecryptError);
        }

        let full = self.sealed_record_len();
        let length_ok = if last {
            let min = if self.next_index == 0 {
                TAG_LEN
            } else {
                TAG_LEN + 1
            };
            (min..=full).contains(&record.len())
        } else {
            record.len() == full
        };
        if !length_ok {
            return Err(DecryptError);
        }

        let index = self.next_index;
        let plaintext = Zeroizing::new(self.key.open_record(index, last, record)?);

        if last {
            self.state = DecryptState::Finished;
        } else {
            self.next_index = index.checked_add(1).ok_or(DecryptError)?;
        }
        Ok(plaintext)
    }

    /// Ends the file.
    ///
    /// # Errors
    ///
    /// [`DecryptError`] unless the last record was decrypted and no error
    /// came before: a file that ends without its last record was truncated.
    pub fn finish(self) -> Result<(), DecryptError> {
        match self.state {
            DecryptState::Finished => Ok(()),
            DecryptState::Open | DecryptState::Failed => Err(DecryptError),
        }
    }
}

/// Encrypts a whole plaintext in memory: header and every record. For tests
/// and small inputs; use [`Encryptor`] to stream large files.
pub fn encrypt_all(secret: &LinkSecret, header: Header, plaintext: &[u8]) -> Vec<u8> {
    let key = secret.content_key(&header);
    let cipher = key.cipher();
    let record_size = header.record_size() as usize;
    let total = usize::try_from(ciphertext_size(
        plaintext.len() as u64,
        header.record_size(),
    ))
    .unwrap_or(0);

    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&header.to_bytes());

    let count = plaintext.len().div_ceil(record_size).max(1);
    let mut records = plaintext.chunks(record_size);
    for index in 0..count {
        let record = records.next().unwrap_or_default();
        let nonce = nonce(index as u64, index + 1 == count);
        if seal_into(cipher, &nonce, record, &mut out).is_none() {
            // Records are at most MAX_RECORD_SIZE bytes, far below the limit.
            unreachable!("AES-GCM refused a record of {} bytes", record.len());
        }
    }
    out
}

/// Decrypts a whole ciphertext in memory (header and every record). For
/// tests and small inputs; use [`Decryptor`] to stream large files.
///
/// # Errors
///
/// [`DecryptError`] for a wrong key or any modification, truncation or
/// extension of the ciphertext. No plaintext is returned unless every
/// record authenticates.
pub fn decrypt_all(secret: &LinkSecret, ciphertext: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let header_bytes = ciphertext.get(..HEADER_LEN).ok_or(DecryptError)?;
    let header = Header::parse(header_bytes).map_err(|_| DecryptError)?;
    let layout = RecordLayout::new(ciphertext.len() as u64, &header).map_err(|_| DecryptError)?;
    let key = secret.content_key(&header);

    let capacity = usize::try_from(layout.plaintext_len()).unwrap_or(0);
    let mut plaintext = Zeroizing::new(Vec::with_capacity(capacity));
    for index in 0..layout.record_count() {
        let range = layout.record_range(index).ok_or(DecryptError)?;
        let start = usize::try_from(range.start).map_err(|_| DecryptError)?;
        let end = usize::try_from(range.end).map_err(|_| DecryptError)?;
        let sealed = ciphertext.get(start..end).ok_or(DecryptError)?;

        let record = Zeroizing::new(open(
            key.cipher(),
            &nonce(index, layout.is_last(index)),
            sealed,
        )?);
        plaintext.extend_from_slice(&record);
    }
    Ok(std::mem::take(&mut *plaintext))
}
