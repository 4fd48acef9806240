//! The encrypted metadata: file name, media type and size.

use std::fmt;

use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aead::{open, seal_into};
use crate::error::{DecryptError, FormatError};
use crate::header::TAG_LEN;
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

/// The name used when a file name is unusable as a local file name.
const FALLBACK_NAME: &str = "download";

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
    /// Returns the name reduced to something safe to create in a download
    /// folder, because the name comes from the sender and is untrusted.
    ///
    /// It keeps the part after the last `/` or `\` and drops control
    /// characters. It trims surrounding whitespace and leading dots (no
    /// hidden files, no `..`) and cuts the result to 255 bytes. When nothing
    /// is left it returns `"download"`. The caller still must not overwrite
    /// an existing file.
    pub fn safe_file_name(&self) -> String {
        let base = self.name.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
        let trimmed = cleaned
            .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
            .trim_end();

        let mut end = trimmed.len().min(255);
        while !trimmed.is_char_boundary(end) {
            end -= 1;
        }
        match &trimmed[..end] {
            "" => FALLBACK_NAME.to_owned(),
            name => name.to_owned(),
        }
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
