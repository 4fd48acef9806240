//! Shared test kit: hex, the plaintext recipe and the frozen vector files.

#![allow(dead_code)]

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Reads lower- or upper-case hex; panics on bad input (tests only).
pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Reads hex of a fixed length.
pub fn unhex_array<const N: usize>(text: &str) -> [u8; N] {
    unhex(text).try_into().expect("hex of the wrong length")
}

/// The plaintext of every content vector: byte `i` is `i mod 251`.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `crypto/tests/vectors/`.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

/// `vectors.json`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Vectors {
    pub description: String,
    pub plaintext_recipe: String,
    pub secret: String,
    pub id: String,
    pub link_fragment: String,
    pub claim_token: String,
    pub claim_token_b64: String,
    pub claim_hash: String,
    pub claim_hash_b64: String,
    pub metadata_key: String,
    pub metadata: Vec<MetadataVector>,
    pub content: Vec<ContentVector>,
    pub invalid_content: Vec<InvalidContentVector>,
    pub invalid_metadata: Vec<InvalidMetadataVector>,
}

/// One metadata encryption.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct MetadataVector {
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub nonce: String,
    /// The padded JSON plaintext, hex.
    pub plaintext: String,
    pub ciphertext: String,
}

/// One valid content file.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ContentVector {
    pub case: String,
    pub record_size: u32,
    pub salt: String,
    pub header: String,
    pub content_key: String,
    pub plaintext_len: usize,
    pub file: String,
    pub ciphertext_len: u64,
    pub sha256: String,
}

/// A content file that must fail to decrypt under the top-level secret.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct InvalidContentVector {
    pub file: String,
    pub how: String,
    pub sha256: String,
}

/// Metadata that must fail to decrypt under the top-level secret.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct InvalidMetadataVector {
    pub case: String,
    pub ciphertext: String,
}

use safebox_crypto::{DecryptError, Decryptor, HEADER_LEN, LinkSecret, Zeroizing};

/// Decrypts the way a streaming reader that does not know the total length
/// does: records of `sealed_record_len` bytes, the last one marked when
/// nothing follows it.
pub fn decrypt_streaming(secret: &LinkSecret, ciphertext: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let header = ciphertext.get(..HEADER_LEN).ok_or(DecryptError)?;
    let mut decryptor = Decryptor::new(secret, header)?;
    let chunks: Vec<&[u8]> = ciphertext[HEADER_LEN..]
        .chunks(decryptor.sealed_record_len())
        .collect();

    let mut plaintext = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        let record: Zeroizing<Vec<u8>> =
            decryptor.decrypt_next(chunk, index + 1 == chunks.len())?;
        plaintext.extend_from_slice(&record);
    }
    decryptor.finish()?;
    Ok(plaintext)
}
