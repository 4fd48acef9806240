//! The link secret and everything derived from it: the claim token (and its
//! hash, which the server keeps), the metadata key and the content key.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use hkdf::Hkdf;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::aead::{open, seal_into};
use crate::error::{DecryptError, EncodingError, FormatError};
use crate::header::Header;
use crate::{TAG_LEN, b64};

const CLAIM_TOKEN_INFO: &[u8] = b"safebox v1 claim token";
const METADATA_INFO: &[u8] = b"safebox v1 metadata";
const CONTENT_INFO: &[u8] = b"safebox v1 content";

/// Length of the link secret in bytes.
pub const LINK_SECRET_LEN: usize = 16;

/// Length of every derived key and of the claim token in bytes.
pub const KEY_LEN: usize = 32;

/// `HKDF-SHA256(ikm, salt, info)` expanded to 32 bytes.
fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    // An empty salt is the same as no salt: HMAC pads both to a zero block.
    let hkdf = Hkdf::<Sha256>::new(Some(salt), ikm);
    if hkdf.expand(info, okm.as_mut()).is_err() {
        // HKDF-SHA256 can expand up to 255 * 32 bytes; 32 always fits.
        unreachable!("HKDF-SHA256 refused a 32-byte output");
    }
    okm
}

/// The 16-byte secret in the link fragment, from which every key of a file is
/// derived.
///
/// It never leaves the sender's and recipient's machines. It is wiped from
/// memory on drop, its `Debug` output is redacted, and it has no `Clone`:
/// pass it by reference.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct LinkSecret([u8; LINK_SECRET_LEN]);

impl LinkSecret {
    /// Draws a fresh secret from the operating system's CSPRNG
    /// (`crypto.getRandomValues` in a browser).
    ///
    /// # Panics
    ///
    /// If the operating system has no random source, as `rand::rngs::OsRng`
    /// does: there is no safe way to go on.
    pub fn generate() -> LinkSecret {
        let mut bytes = [0u8; LINK_SECRET_LEN];
        OsRng.fill_bytes(&mut bytes);
        LinkSecret(bytes)
    }

    /// Wraps known bytes, for example from a parsed link or a test vector.
    pub fn from_bytes(bytes: [u8; LINK_SECRET_LEN]) -> LinkSecret {
        LinkSecret(bytes)
    }

    /// Returns the raw secret. Anyone with these bytes can read the file.
    pub fn expose_bytes(&self) -> &[u8; LINK_SECRET_LEN] {
        &self.0
    }

    /// Derives the token that proves to the server that the caller has the link.
    pub fn claim_token(&self) -> ClaimToken {
        ClaimToken(*hkdf32(&self.0, b"", CLAIM_TOKEN_INFO))
    }

    /// Derives the key of the encrypted metadata (name, type, size).
    pub fn metadata_key(&self) -> MetadataKey {
        MetadataKey(*hkdf32(&self.0, b"", METADATA_INFO))
    }

    /// Derives the key of the content records, bound to the whole 28-byte header, so
    /// a changed record size or salt makes every record fail.
    pub fn content_key(&self, header: &Header) -> ContentKey {
        ContentKey::from_bytes(*hkdf32(&self.0, &header.to_bytes(), CONTENT_INFO))
    }

    /// Encodes the secret as it appears in a link: 22 base64url characters.
    pub(crate) fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(b64::encode(&self.0))
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret([REDACTED])")
    }
}

/// The key of the encrypted metadata. Wiped on drop; `Debug` is redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MetadataKey([u8; KEY_LEN]);

impl MetadataKey {
    /// Returns the raw key bytes, for implementations that encrypt the
    /// metadata themselves. Anyone with them can read the file name.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    pub(crate) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

impl fmt::Debug for MetadataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetadataKey([REDACTED])")
    }
}

/// The AES-256-GCM key of one file's content records.
///
/// Records are sealed and opened independently by index, so they can be
/// processed in parallel; [`Encryptor`](crate::Encryptor) and
/// [`Decryptor`](crate::Decryptor) add the ordering and last-record rules on
/// top. Wiped on drop; `Debug` is redacted.
pub struct ContentKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    // NOTE: aes-gcm wipes its GHASH key on drop (feature "zeroize"), but the
    // AES round keys stay in freed memory unless the `aes` crate's own
    // "zeroize" feature is enabled, which is not a workspace dependency.
    cipher: Aes256Gcm,
}

impl ContentKey {
    fn from_bytes(bytes: [u8; KEY_LEN]) -> ContentKey {
        let bytes = Zeroizing::new(bytes);
        let cipher = Aes256Gcm::new(&(*bytes).into());
        ContentKey { bytes, cipher }
    }

    /// Returns the raw key bytes, for example to import into WebCrypto
    /// (`crypto.subtle.importKey("raw", ...)`), which encrypts far faster in
    /// a browser. Anyone with them can read the file.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// Returns the nonce of record `index`; see [`record_nonce`](crate::record_nonce).
    ///
    /// # Errors
    ///
    /// None today; see [`record_nonce`](crate::record_nonce).
    pub fn record_nonce(index: u64, last: bool) -> Result<[u8; 12], FormatError> {
        crate::record_nonce(index, last)
    }

    /// Encrypts record `index` and returns its ciphertext followed by the
    /// 16-byte tag.
    ///
    /// This checks nothing about record lengths or order: the caller keeps
    /// every record but the last exactly the record size long and marks the
    /// last one, and never seals two different plaintexts under the same
    /// index. [`Encryptor`](crate::Encryptor) does that for you.
    ///
    /// # Errors
    ///
    /// [`FormatError::RecordTooLong`] for a plaintext beyond what one
    /// AES-GCM message can hold (about 64 GiB).
    pub fn seal_record(
        &self,
        index: u64,
        last: bool,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, FormatError> {
        let nonce = crate::record_nonce(index, last)?;
        let mut sealed = Vec::with_capacity(plaintext.len() + TAG_LEN);
        seal_into(&self.cipher, &nonce, plaintext, &mut sealed)
            .ok_or(FormatError::RecordTooLong)?;
        Ok(sealed)
    }

    /// Decrypts record `index` (ciphertext followed by its tag). No
    /// plaintext is released unless the tag matches.
    ///
    /// # Errors
    ///
    /// [`DecryptError`] if the record is shorter than a tag or fails to
    /// authenticate under this key, index and last flag.
    pub fn open_record(
        &self,
        index: u64,
        last: bool,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        let nonce = crate::record_nonce(index, last).map_err(|_| DecryptError)?;
        open(&self.cipher, &nonce, ciphertext)
    }

    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentKey([REDACTED])")
    }
}

/// The 32-byte token a recipient shows the server to prove it has the
/// link. Secret: wiped on drop, redacted `Debug`, no `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ClaimToken([u8; KEY_LEN]);

impl ClaimToken {
    /// Encodes the token as unpadded base64url (43 characters), as the HTTP API
    /// carries it. The string is wiped when dropped.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(b64::encode(&self.0))
    }

    /// Reads a token sent by a client.
    ///
    /// # Errors
    ///
    /// [`EncodingError`] unless `text` is exactly 43 characters of canonical
    /// unpadded base64url.
    pub fn from_base64(text: &str) -> Result<ClaimToken, EncodingError> {
        b64::decode_array::<KEY_LEN>(text)
            .map(ClaimToken)
            .ok_or(EncodingError {
                what: "claim token",
                len: KEY_LEN,
            })
    }

    /// Computes `SHA-256(token)`, the only form the server stores.
    pub fn hash(&self) -> ClaimHash {
        ClaimHash(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimToken([REDACTED])")
    }
}

/// 32 random bytes that a recipient's client picks once per download and
/// sends with each claim request. The server stores their hash with the
/// winning claim, so that client alone can repeat a claim whose response was
/// lost. Secret: wiped on drop, redacted `Debug`, no `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ClaimAttempt([u8; KEY_LEN]);

impl ClaimAttempt {
    /// Draws a fresh attempt from the operating system's CSPRNG
    /// (`crypto.getRandomValues` in a browser).
    ///
    /// # Panics
    ///
    /// If the operating system has no random source, as
    /// [`LinkSecret::generate`].
    pub fn generate() -> ClaimAttempt {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        ClaimAttempt(bytes)
    }

    /// Encodes the attempt as unpadded base64url (43 characters), as the HTTP
    /// API carries it. The string is wiped when dropped.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(b64::encode(&self.0))
    }
}

impl fmt::Debug for ClaimAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimAttempt([REDACTED])")
    }
}

/// `SHA-256(claim token)`, which the server stores instead of the token.
///
/// Not secret on its own (the token cannot be recovered from it), but
/// comparisons run in constant time anyway: `==` and
/// [`ConstantTimeEq`] both use `subtle`.
#[derive(Clone, Copy, Eq)]
pub struct ClaimHash([u8; 32]);

impl ClaimHash {
    /// Wraps 32 stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ClaimHash {
        ClaimHash(bytes)
    }

    /// Returns the 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encodes the hash as unpadded base64url (43 characters), as the upload
    /// request carries it.
    pub fn to_base64(&self) -> String {
        b64::encode(&self.0)
    }

    /// Reads the hash from an upload request.
    ///
    /// # Errors
    ///
    /// [`EncodingError`] unless `text` is exactly 43 characters of canonical
    /// unpadded base64url.
    pub fn from_base64(text: &str) -> Result<ClaimHash, EncodingError> {
        b64::decode_array::<32>(text)
            .map(ClaimHash)
            .ok_or(EncodingError {
                what: "claim hash",
                len: 32,
            })
    }

    /// Checks in constant time whether `token` hashes to this value.
    pub fn matches(&self, token: &ClaimToken) -> bool {
        self.ct_eq(&token.hash()).into()
    }
}

impl ConstantTimeEq for ClaimHash {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for ClaimHash {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl fmt::Debug for ClaimHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimHash({})", self.to_base64())
    }
}
