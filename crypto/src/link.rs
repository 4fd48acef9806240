//! The share link: `<page URL>/#<id>.<secret>`.

use crate::b64;
use crate::error::LinkError;
use crate::id::{FILE_ID_CHARS, FileId};
use crate::keys::{LINK_SECRET_LEN, LinkSecret};

/// Input longer than this many bytes is refused as [`LinkError::TooLong`]
/// before it is read.
pub const MAX_LINK_LEN: usize = 4096;

/// Length of the secret in a link: 22 base64url characters.
const SECRET_CHARS: usize = b64::encoded_len(LINK_SECRET_LEN);

/// A share link: the public file id and the secret that opens the file.
///
/// Both travel in the URL fragment, which browsers never send to a server.
/// `Debug` shows the id and redacts the secret; there is no `Display`, so
/// the secret is written out only by an explicit [`Link::to_url`] or
/// [`Link::fragment`].
#[derive(Debug)]
pub struct Link {
    /// The file id, which the server stores.
    pub id: FileId,
    /// The secret only the link holders know.
    pub secret: LinkSecret,
}

impl Link {
    /// Joins an id and a secret.
    pub fn new(id: FileId, secret: LinkSecret) -> Link {
        Link { id, secret }
    }

    /// Reads a link as a user pastes it: a full URL (`https://host/#id.secret`),
    /// a fragment with its `#`, or a bare `id.secret`. Surrounding
    /// whitespace is ignored. Never panics.
    ///
    /// # Errors
    ///
    /// - [`LinkError::MissingFragment`]: a URL without `#`, or with nothing
    ///   after it.
    /// - [`LinkError::Malformed`]: characters outside base64url and `.`,
    ///   more than two `.`-separated fields (a later version's link), or a
    ///   non-canonical secret.
    /// - [`LinkError::Truncated`]: the id or secret is too short or missing.
    /// - [`LinkError::TooLong`]: the id or secret is too long, a whole link
    ///   is followed by other text (`<link> thanks!`), or the input exceeds
    ///   [`MAX_LINK_LEN`].
    pub fn parse(input: &str) -> Result<Link, LinkError> {
        if input.len() > MAX_LINK_LEN {
            return Err(LinkError::TooLong);
        }
        let input = input.trim();

        let fragment = match input.split_once('#') {
            Some((_, fragment)) => fragment,
            // A bare fragment has neither; a URL without '#' has at least one.
            None if input.contains(['/', ':']) => return Err(LinkError::MissingFragment),
            None => input,
        };
        if fragment.is_empty() {
            return Err(LinkError::MissingFragment);
        }
        if has_text_pasted_after(fragment) {
            return Err(LinkError::TooLong);
        }
        Self::parse_fragment(fragment)
    }

    /// Reads a non-empty fragment without `#`: `<id>.<secret>`.
    fn parse_fragment(fragment: &str) -> Result<Link, LinkError> {
        if !fragment
            .bytes()
            .all(|byte| b64::is_alphabet(byte) || byte == b'.')
        {
            return Err(LinkError::Malformed);
        }

        let mut fields = fragment.split('.');
        let id = fields.next().unwrap_or_default();
        let secret = fields.next();
        if fields.next().is_some() {
            return Err(LinkError::Malformed);
        }

        check_length(id, FILE_ID_CHARS)?;
        let secret = secret.ok_or(LinkError::Truncated)?;
        check_length(secret, SECRET_CHARS)?;

        let id = FileId::parse(id).map_err(|_| LinkError::Malformed)?;
        let secret = b64::decode_array::<LINK_SECRET_LEN>(secret).ok_or(LinkError::Malformed)?;
        Ok(Link::new(id, LinkSecret::from_bytes(secret)))
    }

    /// Returns the fragment without `#`: `<id>.<secret>`. It contains the secret.
    pub fn fragment(&self) -> String {
        format!("{}.{}", self.id, self.secret.to_base64().as_str())
    }

    /// Returns the full link: `page_url` without any fragment and trailing slashes,
    /// then `/#<id>.<secret>`. `page_url` is the page that opens links, for
    /// example `https://safebox.example`; it should carry no query string.
    pub fn to_url(&self, page_url: &str) -> String {
        let base = page_url
            .split('#')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        format!("{base}/#{}", self.fragment())
    }
}

/// Returns whether `fragment` is a whole link followed by other text, as
/// when a link is pasted with the rest of a message: `<link> thanks!`,
/// `<link>).` or `<link>&utm_source=chat`. A `.` followed by more text
/// stays malformed, because a later version may add a field that way.
fn has_text_pasted_after(fragment: &str) -> bool {
    let link_len = FILE_ID_CHARS + 1 + SECRET_CHARS;
    let (Some(link), Some(rest)) = (fragment.get(..link_len), fragment.get(link_len..)) else {
        return false;
    };
    let starts_other_text =
        rest.starts_with(|c: char| c.is_whitespace() || "()[]{}<>,;:!?\"'&#".contains(c));
    let only_dots = !rest.is_empty() && rest.chars().all(|c| c == '.');
    (starts_other_text || only_dots) && Link::parse_fragment(link).is_ok()
}

fn check_length(field: &str, expected: usize) -> Result<(), LinkError> {
    match field.len() {
        len if len < expected => Err(LinkError::Truncated),
        len if len > expected => Err(LinkError::TooLong),
        _ => Ok(()),
    }
}
