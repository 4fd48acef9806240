//! File ids: 12 random bytes written as 16 base64url characters.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;

/// Length of a file id in characters.
pub const FILE_ID_LEN: usize = 16;

/// Number of random bytes in a file id.
const FILE_ID_BYTES: usize = 12;

/// A validated file id.
///
/// Sixteen base64url characters carry exactly 96 bits, so every string of
/// that length over the alphabet is canonical and safe to use as a file name
/// or a database key. Ids are not secret and may be logged.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(String);

/// The error for text that is not a file id. It carries no copy of the
/// input, because a malformed id may be a pasted link with its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid file id: expected 16 base64url characters")]
pub struct InvalidFileId;

impl FileId {
    /// Generates a fresh id from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; FILE_ID_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses an id, checking its length and alphabet.
    pub fn parse(text: &str) -> Result<Self, InvalidFileId> {
        let valid = text.len() == FILE_ID_LEN
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidFileId)
        }
    }

    /// Returns the id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "FileId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_generated() {
        let id = FileId::generate();
        assert_eq!(id.as_str().len(), FILE_ID_LEN);
        assert_eq!(FileId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn parse_rejects_malformed() {
        for text in [
            "",
            "AAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAA=",
            "AAAAAAAAAAAAAAA+",
            "AAAAAAAAAAAAAAA/",
            "AAAAAAAAAAAAAAA.",
            "AAAAAAAAAAAAAAAé",
            "../../etc/passwd",
        ] {
            assert_eq!(FileId::parse(text), Err(InvalidFileId), "{text:?}");
        }
    }
}
