//! Bearer secrets (claim and owner tokens) and their SHA-256 hashes.
//!
//! The server never stores a token. It keeps `SHA-256(token)` and compares a
//! presented token's hash with the stored one in constant time.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a token and of a token hash in bytes.
pub const TOKEN_LEN: usize = 32;

/// A 32-byte bearer secret: the claim token derived from a link, or the
/// owner token the server hands to the sender.
///
/// It zeroizes on drop and its `Debug` output is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretToken([u8; TOKEN_LEN]);

impl SecretToken {
    /// Generates a fresh token from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_LEN];
        OsRng.fill_bytes(&mut bytes);
        let token = Self(bytes);
        bytes.zeroize();
        token
    }

    /// Parses canonical unpadded base64url of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(decode_32(text)?);
        Some(Self(*bytes))
    }

    /// Encodes the token as unpadded base64url, in a buffer that zeroizes.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0))
    }

    /// Returns `SHA-256(token)`, the only form the server stores.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecretToken(<redacted>)")
    }
}

/// `SHA-256` of a [`SecretToken`]: the stored claim hash or owner hash.
///
/// Not secret in itself, but it is still compared in constant time and kept
/// out of `Debug` output so that logs never carry it.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; TOKEN_LEN]);

impl TokenHash {
    /// Wraps 32 bytes read from storage.
    pub fn from_bytes(bytes: [u8; TOKEN_LEN]) -> Self {
        Self(bytes)
    }

    /// Copies a hash out of a stored byte slice, which must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; TOKEN_LEN]>::try_from(bytes).ok().map(Self)
    }

    /// Parses canonical unpadded base64url of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        decode_32(text).map(Self)
    }

    /// Returns the hash bytes.
    pub fn as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.0
    }

    /// Compares with another hash in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TokenHash(<redacted>)")
    }
}

/// Decodes canonical unpadded base64url that must hold exactly 32 bytes.
///
/// The engine rejects padding and non-zero trailing bits, so each value has
/// one spelling only.
fn decode_32(text: &str) -> Option<[u8; TOKEN_LEN]> {
    // 32 bytes are always 43 characters, so longer input is rejected before
    // any decoding work.
    if text.len() != 43 {
        return None;
    }
    let mut bytes = Zeroizing::new([0u8; TOKEN_LEN]);
    let written = URL_SAFE_NO_PAD.decode_slice(text, bytes.as_mut()).ok()?;
    (written == TOKEN_LEN).then_some(*bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_base64_round_trip() {
        let token = SecretToken::generate();
        let text = token.to_base64();
        let parsed = SecretToken::from_base64(&text);
        assert!(parsed.is_some_and(|parsed| parsed.hash().matches(&token.hash())));
    }

    #[test]
    fn token_rejects_noncanonical() {
        // The last character of 32 bytes carries 4 bits and 2 unused ones.
        let canonical = format!("{}A", "A".repeat(42));
        let trailing_bits = format!("{}B", "A".repeat(42));
        assert!(SecretToken::from_base64(&canonical).is_some());
        assert!(SecretToken::from_base64(&trailing_bits).is_none());
        assert!(SecretToken::from_base64(&format!("{canonical}=")).is_none());
        assert!(SecretToken::from_base64(&"A".repeat(42)).is_none());
        assert!(SecretToken::from_base64(&format!("{}+", "A".repeat(42))).is_none());
    }

    #[test]
    fn hash_is_sha256() {
        let token = SecretToken::from_base64(&format!("{}A", "A".repeat(42)));
        let expected: [u8; 32] = Sha256::digest([0u8; 32]).into();
        assert_eq!(token.map(|token| *token.hash().as_bytes()), Some(expected));
    }

    #[test]
    fn debug_redacts_token() {
        let token = SecretToken::generate();
        let printed = format!("{token:?} {:?}", token.hash());
        assert!(!printed.contains(token.to_base64().as_str()));
        assert!(printed.contains("redacted"));
    }
}
