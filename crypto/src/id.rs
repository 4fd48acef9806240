//! The public file id.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::b64;
use crate::error::IdError;

/// Length of a file id in bytes.
pub const FILE_ID_LEN: usize = 12;

/// Length of a file id as text: 16 base64url characters.
pub const FILE_ID_CHARS: usize = 16;

/// The id the server gives a file: 12 random bytes written as 16 base64url
/// characters. Not secret: it names the file but opens nothing.
///
/// Every value is valid; serde reads and writes it as its 16-character
/// string and rejects anything else.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(String);

impl FileId {
    /// Reads an id.
    ///
    /// # Errors
    ///
    /// [`IdError`] unless `text` is exactly 16 base64url characters.
    pub fn parse(text: &str) -> Result<FileId, IdError> {
        // 16 characters carry exactly 12 bytes, so every such string is canonical.
        if text.len() != FILE_ID_CHARS || !text.bytes().all(b64::is_alphabet) {
            return Err(IdError);
        }
        Ok(FileId(text.to_owned()))
    }

    /// A fresh random id.
    ///
    /// # Panics
    ///
    /// If the operating system has no random source.
    pub fn generate() -> FileId {
        let mut bytes = [0u8; FILE_ID_LEN];
        OsRng.fill_bytes(&mut bytes);
        FileId::from_bytes(bytes)
    }

    /// Encodes 12 given bytes as an id.
    pub fn from_bytes(bytes: [u8; FILE_ID_LEN]) -> FileId {
        FileId(b64::encode(&bytes))
    }

    /// Decodes the 12 bytes of the id.
    pub fn to_bytes(&self) -> [u8; FILE_ID_LEN] {
        // Checked at construction; the fallback is never taken.
        b64::decode_array(&self.0).unwrap_or_default()
    }

    /// Returns the 16-character text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileId({})", self.0)
    }
}

impl FromStr for FileId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<FileId, IdError> {
        FileId::parse(text)
    }
}

impl AsRef<str> for FileId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for FileId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FileId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FileId, D::Error> {
        let text = String::deserialize(deserializer)?;
        FileId::parse(&text).map_err(serde::de::Error::custom)
    }
}
