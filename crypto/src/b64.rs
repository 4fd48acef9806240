//! Strict base64url (RFC 4648 section 5) without padding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// Encodes `bytes` as base64url without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The number of base64url characters that encode `len` bytes without padding.
pub(crate) const fn encoded_len(len: usize) -> usize {
    (len * 4).div_ceil(3)
}

/// Decodes exactly `N` bytes. Rejects padding, characters outside the
/// base64url alphabet, any other length and non-canonical encodings (unused
/// low bits of the last character set).
pub(crate) fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != encoded_len(N) {
        return None;
    }

    // The engine's default configuration refuses set trailing bits and padding.
    let decoded = Zeroizing::new(URL_SAFE_NO_PAD.decode(text).ok()?);
    <[u8; N]>::try_from(decoded.as_slice()).ok()
}

/// True for the 64 characters of the base64url alphabet.
pub(crate) const fn is_alphabet(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}
