//! Tokens as they travel in JSON bodies.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A claim token or an owner token as text (unpadded base64url), exactly as
/// sent or received. Wiped on drop, redacted by `Debug`, and compared in
/// constant time.
#[derive(Clone, Default)]
pub struct TokenText(Zeroizing<String>);

impl TokenText {
    /// Wraps a token's text.
    pub fn new(text: impl Into<String>) -> Self {
        TokenText(Zeroizing::new(text.into()))
    }

    /// Returns the token's text, to put in a request.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for TokenText {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TokenText([REDACTED])")
    }
}

impl PartialEq for TokenText {
    /// Compares in time that depends on the lengths only, never on where the
    /// first difference is.
    fn eq(&self, other: &Self) -> bool {
        let (left, right) = (self.0.as_bytes(), other.0.as_bytes());
        if left.len() != right.len() {
            return false;
        }
        let difference = left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

impl Eq for TokenText {}

impl Serialize for TokenText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for TokenText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(TokenText::new)
    }
}
