//! AES-256-GCM with an empty AAD, as every part of the format uses it.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroize;

use crate::error::DecryptError;
use crate::header::TAG_LEN;

/// The content nonce: `index` as 11 big-endian bytes, then the last flag.
pub(crate) fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// Appends `AES-256-GCM(plaintext) || tag` to `out`, without an extra copy.
/// `None` (with `out` restored) only beyond the AES-GCM length limit.
pub(crate) fn seal_into(
    cipher: &Aes256Gcm,
    nonce: &[u8; 12],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Option<()> {
    let start = out.len();
    out.extend_from_slice(plaintext);
    match cipher.encrypt_in_place_detached(Nonce::from_slice(nonce), b"", &mut out[start..]) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Some(())
        }
        Err(_) => {
            out[start..].zeroize();
            out.truncate(start);
            None
        }
    }
}

/// Opens `ciphertext || tag` sealed by [`seal_into`].
pub(crate) fn open(
    cipher: &Aes256Gcm,
    nonce: &[u8; 12],
    sealed: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let Some(body_len) = sealed.len().checked_sub(TAG_LEN) else {
        return Err(DecryptError);
    };
    let (body, tag) = sealed.split_at(body_len);

    // The tag is checked before any keystream is applied, so on failure the
    // buffer still contains ciphertext only.
    let mut buffer = body.to_vec();
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(nonce),
            b"",
            &mut buffer,
            Tag::from_slice(tag),
        )
        .map_err(|_| DecryptError)?;
    Ok(buffer)
}
