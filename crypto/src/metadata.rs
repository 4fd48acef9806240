//! The encrypted metadata: file name, media type and size.

use std::fmt;

use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aead::{open, seal_into};
use crate::error::{DecryptError, FormatError};
use crate::file_name;
use crate::header::TAG_LEN;
use crate::id::FileId;
use crate::keys::MetadataKey;

/// The maximum length of encrypted metadata, in bytes.
pub const MAX_METADATA_LEN: usize = 4096;

/// The maximum file name length [`encrypt_metadata`] accepts, in UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 1024;

/// The maximum media type length [`encrypt_metadata`] accepts, in bytes.
pub const MAX_MIME_LEN: usize = 255;

const METADATA_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// The JSON plaintext is padded with spaces to a multiple of this, so the
/// ciphertext length leaks the name length only to this granularity.
const PADDING_BLOCK: usize = 128;

/// The file description a recipient reads before downloading: the file's
/// name, media type and plaintext size.
///
/// `Debug` redacts the name, which can be as private as the content.
#[derive(Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The original file name, without directories.
    pub name: String,
    /// The media (MIME) type, for example `application/pdf`.
    pub mime: String,
    /// The plaintext size in bytes.
    pub size: u64,
}

impl Metadata {
    /// Returns the name to save the file under. The sender chose `name`, so
    /// it is untrusted, and the page and the CLI both reduce it by this
    /// rule, in order:
    ///
    /// 1. Keep only the text after the last `/` or `\`.
    /// 2. Remove dots and whitespace at both ends, so the name is not hidden,
    ///    not `.` or `..`, and does not change when Windows drops trailing
    ///    dots and spaces.
    /// 3. Replace with `_` each control character, each bidirectional
    ///    formatting character (U+061C, U+200E, U+200F, U+202A to U+202E,
    ///    U+2066 to U+2069), the other invisible characters U+200B, U+2028,
    ///    U+2029, U+2060 to U+2065, U+206A to U+206F and U+FEFF, and each
    ///    character that Windows forbids: `< > : " | ? *`.
    /// 4. Cut the name to [`MAX_FILE_NAME_LEN`](crate::MAX_FILE_NAME_LEN)
    ///    (200) bytes on a character boundary. An extension of up to 32 bytes,
    ///    dot included, is kept and the text before it is cut instead.
    ///    Without one, dots and whitespace left at the end by the cut go.
    /// 5. Prefix `_` when the text before the first dot, without trailing
    ///    whitespace, is a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `CONIN$`, `CONOUT$`, `COM0` to
    ///    `COM9`, `LPT0` to `LPT9`, `COM¹` to `COM³`, `LPT¹` to `LPT³`), in
    ///    any ASCII case.
    ///
    /// When nothing is left after step 2, it returns `safebox-<id>` with the
    /// file's id. The result is never empty, contains no `/` or `\`, and
    /// does not start with a dot. Applying the rule to its own result
    /// changes nothing. The caller still must not overwrite an existing file.
    pub fn safe_file_name(&self, id: &FileId) -> String {
        file_name::sanitize(&self.name).unwrap_or_else(|| file_name::fallback(id.as_str()))
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("name", &"[REDACTED]")
            .field("mime", &self.mime)
            .field("size", &self.size)
            .finish()
    }
}

/// The JSON form; field order fixes the bytes of the test vectors.
#[derive(Serialize)]
struct WireOut<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    mime: &'a str,
    size: u64,
}

#[derive(Deserialize)]
struct WireIn {
    name: String,
    #[serde(rename = "type")]
    mime: String,
    size: u64,
}

/// Encrypts `meta` under a fresh random nonce:
/// `0x01 || nonce || AES-256-GCM(JSON padded with spaces to a multiple of 128)`.
///
/// # Errors
///
/// [`FormatError::NameTooLong`], [`FormatError::MimeTooLong`], or
/// [`FormatError::MetadataTooLong`] when the result would exceed
/// [`MAX_METADATA_LEN`].
///
/// # Panics
///
/// If the operating system has no random source.
pub fn encrypt_metadata(key: &MetadataKey, meta: &Metadata) -> Result<Vec<u8>, FormatError> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    encrypt_metadata_with_nonce(key, meta, nonce)
}

/// Encrypts `meta` under a given nonce. FOR TEST VECTORS ONLY: reusing a
/// nonce under one key breaks AES-GCM; real callers use
/// [`encrypt_metadata`].
///
/// # Errors
///
/// As for [`encrypt_metadata`].
pub fn encrypt_metadata_with_nonce(
    key: &MetadataKey,
    meta: &Metadata,
    nonce: [u8; 12],
) -> Result<Vec<u8>, FormatError> {
    if meta.name.len() > MAX_NAME_LEN {
        return Err(FormatError::NameTooLong(meta.name.len()));
    }
    if meta.mime.len() > MAX_MIME_LEN {
        return Err(FormatError::MimeTooLong(meta.mime.len()));
    }

    let wire = WireOut {
        name: &meta.name,
        mime: &meta.mime,
        size: meta.size,
    };
    let Ok(json) = serde_json::to_vec(&wire) else {
        // Two strings and an integer always serialise.
        unreachable!("serde_json refused the metadata");
    };
    // NOTE: serde_json may reallocate while writing, leaving copies of the
    // name in freed memory; only the final buffer is wiped.
    let mut plaintext = Zeroizing::new(json);
    let padded_len = plaintext.len().next_multiple_of(PADDING_BLOCK);
    if padded_len + OVERHEAD > MAX_METADATA_LEN {
        return Err(FormatError::MetadataTooLong(padded_len + OVERHEAD));
    }
    plaintext.resize(padded_len, b' ');

    let mut out = Vec::with_capacity(padded_len + OVERHEAD);
    out.push(METADATA_VERSION);
    out.extend_from_slice(&nonce);
    seal_into(&key.cipher(), &nonce, &plaintext, &mut out)
        .ok_or(FormatError::MetadataTooLong(padded_len + OVERHEAD))?;
    Ok(out)
}

/// Decrypts metadata made by [`encrypt_metadata`] (or another version 1
/// implementation). Unknown JSON fields and trailing whitespace are ignored;
/// the name is returned as sent (see [`Metadata::safe_file_name`]).
///
/// # Errors
///
/// [`DecryptError`] for a wrong key, modified data, more than
/// [`MAX_METADATA_LEN`] bytes, another version byte, or a plaintext that is
/// not the expected JSON.
pub fn decrypt_metadata(key: &MetadataKey, bytes: &[u8]) -> Result<Metadata, DecryptError> {
    if bytes.len() > MAX_METADATA_LEN || bytes.len() < OVERHEAD {
        return Err(DecryptError);
    }
    let (version, rest) = bytes.split_at(1);
    if version != [METADATA_VERSION] {
        return Err(DecryptError);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;

    let plaintext = Zeroizing::new(open(&key.cipher(), &nonce, sealed)?);
    let wire: WireIn = serde_json::from_slice(&plaintext).map_err(|_| DecryptError)?;
    Ok(Metadata {
        name: wire.name,
        mime: wire.mime,
        size: wire.size,
    })
}
