//! Errors of the `safebox` commands.
//!
//! Each error prints as two parts: what went wrong ([`std::fmt::Display`])
//! and what to try next ([`Error::hint`]). Each kind of failure has its own
//! exit code ([`Error::exit_code`]), so scripts can distinguish them.
//!
//! No variant contains a key, a claim token, an owner token, a link fragment or
//! file content, so printing an error never reveals one.

use std::io;
use std::path::PathBuf;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The part of a link that failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// The text is neither a URL nor a bare `id.secret` fragment.
    NotUrl,
    /// The URL has no `#` part, which is where the id and the key sit.
    MissingFragment,
    /// The part after `#` is not `id.secret` in base64url.
    Malformed,
    /// The part after `#` is shorter than an id and a key.
    Truncated,
    /// The part after `#` is longer than an id and a key.
    TooLong,
}

impl std::fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkProblem::NotUrl => "it is not an http or https URL",
            LinkProblem::MissingFragment => {
                "it has no '#' part, which holds the file id and the key"
            }
            LinkProblem::Malformed => {
                "the part after '#' is not a file id and a key in base64url joined by '.'"
            }
            LinkProblem::Truncated => "the file id and key are too short: the link was cut off",
            LinkProblem::TooLong => "the part after '#' is too long: extra characters follow it",
        })
    }
}

/// The hint of a download that failed or was interrupted after its claim.
pub const LINK_USED_HINT: &str = "This attempt used the link; ask the sender for a new one.";

/// A failed `safebox` command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The link given to `download` does not parse.
    #[error("invalid link: {0}")]
    InvalidLink(LinkProblem),

    /// The `--server` value or `SAFEBOX_SERVER` is not an http(s) URL.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidServerUrl {
        /// The value as given.
        url: String,
        /// The reason it was rejected.
        reason: String,
    },

    /// The `--expires` value does not parse or is out of range.
    #[error("invalid expiry {value:?}: {reason}")]
    InvalidExpiry {
        /// The value as given.
        value: String,
        /// The reason it was rejected.
        reason: String,
    },

    /// The file to upload cannot be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    ReadInput {
        /// The file to upload.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// The path to upload is a directory or another non-regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },

    /// The file to upload changed size while it was being read.
    #[error("{} changed while it was being uploaded", path.display())]
    InputChanged {
        /// The file to upload.
        path: PathBuf,
    },

    /// The file's name or type does not fit in the encrypted metadata.
    #[error("cannot upload {}: {reason}", path.display())]
    InvalidMetadata {
        /// The file to upload.
        path: PathBuf,
        /// The reason the metadata was rejected.
        reason: String,
    },

    /// Encryption failed for a reason other than the input (a bug).
    #[error("encryption failed: {0}")]
    Encrypt(String),

    /// The encrypted file exceeds the server's size limit.
    #[error("file too large: {size} bytes once encrypted, but the server accepts at most {max}")]
    TooLarge {
        /// Ciphertext size in bytes.
        size: u64,
        /// The server's limit in bytes.
        max: u64,
    },

    /// No connection could be made to the server.
    #[error("cannot connect to {host}: {detail}")]
    Connect {
        /// Host and port of the server.
        host: String,
        /// The underlying error, without the URL.
        detail: String,
    },

    /// The server did not respond in time.
    #[error("request to {host} timed out")]
    Timeout {
        /// Host and port of the server.
        host: String,
    },

    /// The connection failed after it was made.
    #[error("network error with {host}: {detail}")]
    Network {
        /// Host and port of the server.
        host: String,
        /// The underlying error, without the URL.
        detail: String,
    },

    /// The server has no file with this id and key.
    #[error("file not found on {host}")]
    NotFound {
        /// Host and port of the server.
        host: String,
    },

    /// The file was claimed by an earlier download.
    #[error("this file was already downloaded at {}", format_time(*at))]
    AlreadyDownloaded {
        /// When it was claimed, in Unix seconds.
        at: u64,
    },

    /// The file expired or its sender deleted it.
    #[error("this file expired at {} or was deleted by its sender", format_time(*at))]
    Expired {
        /// The expiry, in Unix seconds.
        at: u64,
    },

    /// The content or the metadata failed to authenticate.
    ///
    /// One opaque error for every cause (wrong key, modified or truncated
    /// data), so the message gives an attacker nothing about which check
    /// failed.
    #[error("decryption failed: the file is damaged or was modified")]
    DecryptionFailed,

    /// The server returned an error this client has no special case for.
    #[error("{host} returned HTTP {status} ({code}): {message}")]
    Server {
        /// Host and port of the server.
        host: String,
        /// HTTP status code.
        status: u16,
        /// The `error` field of the body, or `unknown`.
        code: String,
        /// The `message` field of the body, with control characters removed.
        message: String,
    },

    /// The server's response does not follow the API.
    #[error("unexpected response from {host}: {detail}")]
    Protocol {
        /// Host and port of the server.
        host: String,
        /// The problem found in it.
        detail: String,
    },

    /// The output file exists and `--force` was not given.
    #[error("{} already exists", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },

    /// The decrypted file was complete but could not be moved to its
    /// destination, which appeared during the download.
    #[error("{} appeared during the download; the file was saved as {}", path.display(), saved.display())]
    OutputAppeared {
        /// The output path.
        path: PathBuf,
        /// The path the decrypted file was kept under instead.
        saved: PathBuf,
    },

    /// `--output` ends with a path separator but names no existing
    /// directory, or the directory of the output file does not exist.
    /// Found before the claim.
    #[error("{} is not an existing directory", path.display())]
    OutputNotDirectory {
        /// The `--output` value, or the output file's directory.
        path: PathBuf,
    },

    /// The temporary file next to the output cannot be created. Found
    /// before the claim, so the link still works.
    #[error("cannot create a file next to {}: {source}", path.display())]
    CreateOutput {
        /// The output path.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// The output cannot be created or written.
    #[error("cannot write {}: {source}", path.display())]
    WriteOutput {
        /// The output path, or `-` for standard output.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// An upload's link could not be written to standard output, for
    /// example because the reading end of a pipe was closed.
    #[error(
        "cannot write the link to standard output: {source}; {}",
        if *deleted {
            "the upload was deleted"
        } else {
            "deleting the upload failed too, so it stays stored until it expires"
        }
    )]
    LinkNotWritten {
        /// The operating system's error.
        source: io::Error,
        /// Whether the server deleted the upload.
        deleted: bool,
    },

    /// The server at `--server` did not return Safebox's configuration
    /// from `GET /api/v1/config`.
    #[error("{url} does not look like a Safebox server: {detail}")]
    NotSafeboxServer {
        /// The server URL as used, ending with `/`.
        url: String,
        /// What the server returned instead.
        detail: String,
        /// Set by a download, which checks the server before any request
        /// that could use up the link.
        link_unused: bool,
    },

    /// A download failed after its claim, so the link no longer works.
    #[error("{0}")]
    AfterClaim(Box<Error>),

    /// The user pressed Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Wraps an error of a download after its claim, so its hint states that
    /// the link no longer works. [`Error::OutputAppeared`] stays as it is,
    /// because the file was saved.
    pub fn after_claim(error: Error) -> Error {
        match error {
            Error::OutputAppeared { .. } | Error::AfterClaim(_) => error,
            error => Error::AfterClaim(Box::new(error)),
        }
    }

    /// Returns what the user can try next, if there is anything to suggest.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Error::InvalidLink(LinkProblem::NotUrl) => {
                "Pass the whole link as received, for example \"https://host/#id.key\"."
            }
            Error::InvalidLink(LinkProblem::MissingFragment) => {
                "Copy the whole link, including the '#' and everything after it."
            }
            Error::InvalidLink(LinkProblem::Malformed) => {
                "Copy the link again exactly as you received it; characters were changed."
            }
            Error::InvalidLink(LinkProblem::Truncated) => {
                "Copy the link again, up to its last character."
            }
            Error::InvalidLink(LinkProblem::TooLong) => {
                "Remove the characters pasted after the end of the link."
            }
            Error::InvalidServerUrl { .. } => {
                "Pass --server (or set SAFEBOX_SERVER) to a URL such as http://127.0.0.1:8080."
            }
            Error::InvalidExpiry { .. } => {
                "Use a number with a unit, from 60s to 24h: for example 90s, 5m, 1h or 1d."
            }
            Error::ReadInput { .. } => "Check the path and its permissions.",
            Error::NotAFile { .. } => {
                "Upload a single file; pack a directory into an archive first."
            }
            Error::InputChanged { .. } => {
                "Wait until nothing writes to the file, then upload it again."
            }
            Error::InvalidMetadata { .. } => "Rename the file to a shorter name, then upload it.",
            Error::Encrypt(_) => "This is a bug in safebox; please report it.",
            Error::TooLarge { .. } => "Split the file, or use a server with a higher limit.",
            Error::Connect { .. } => {
                "Check the server address (--server or SAFEBOX_SERVER) and that the server runs."
            }
            Error::Timeout { .. } | Error::Network { .. } => {
                "Check your connection and the server address, then try again."
            }
            Error::NotFound { .. } => {
                "Check that the link is complete and unchanged. Otherwise the file is gone: \
                 the sender deleted it, or it was downloaded or expired a while ago."
            }
            Error::AlreadyDownloaded { .. } => {
                "A link works once, and a download that failed after it started used it \
                 too. If neither was yours, someone else downloaded the file: tell the sender."
            }
            Error::Expired { .. } => "Ask the sender to upload the file again.",
            Error::DecryptionFailed => {
                "Nothing was saved. Ask the sender to upload the file again."
            }
            Error::Server { .. } | Error::Protocol { .. } => {
                "Try again later; if it persists, tell the server's operator."
            }
            Error::OutputExists { .. } => {
                "Pass --force to overwrite it, or --output to choose another path. \
                 The link was not used."
            }
            Error::OutputAppeared { .. } => "Rename the saved file to the name you want.",
            Error::OutputNotDirectory { .. } => {
                "Create the directory first, or choose another --output. The link was not used."
            }
            Error::CreateOutput { .. } => {
                "Check that the directory exists and that you can write to it, or choose \
                 another --output. The link was not used."
            }
            Error::WriteOutput { .. } => {
                "Check the directory's permissions and free space, or choose another --output."
            }
            Error::LinkNotWritten { .. } => {
                "Run the upload again with standard output going to a terminal, a file or a \
                 program that reads the whole link."
            }
            Error::NotSafeboxServer { link_unused, .. } => {
                let hint = "Pass --server (or set SAFEBOX_SERVER) to the Safebox server's base \
                            URL, without a path such as /api/v1: for example \
                            http://127.0.0.1:8080.";
                // Only a download reports the link as unused.
                return Some(if *link_unused {
                    format!(
                        "{hint} Without it, a download uses the server of the link's page. \
                         The link was not used."
                    )
                } else {
                    hint.to_owned()
                });
            }
            Error::AfterClaim(_) => LINK_USED_HINT,
            Error::Interrupted => return None,
        };
        Some(hint.to_owned())
    }

    /// Returns the process exit code for this error.
    ///
    /// 2 invalid argument, link or input (a wrong server URL, a file too
    /// large for the server), 3 not found, 4 already downloaded or
    /// expired, 5 decryption failed, 6 network error, 7 server error,
    /// 8 output exists, 1 local file error, 130 interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidLink(_)
            | Error::InvalidServerUrl { .. }
            | Error::InvalidExpiry { .. }
            | Error::TooLarge { .. }
            | Error::NotSafeboxServer { .. } => 2,
            Error::NotFound { .. } => 3,
            Error::AlreadyDownloaded { .. } | Error::Expired { .. } => 4,
            Error::DecryptionFailed => 5,
            Error::Connect { .. } | Error::Timeout { .. } | Error::Network { .. } => 6,
            Error::Server { .. } | Error::Protocol { .. } => 7,
            Error::OutputExists { .. } | Error::OutputAppeared { .. } => 8,
            Error::ReadInput { .. }
            | Error::NotAFile { .. }
            | Error::InputChanged { .. }
            | Error::InvalidMetadata { .. }
            | Error::Encrypt(_)
            | Error::OutputNotDirectory { .. }
            | Error::CreateOutput { .. }
            | Error::WriteOutput { .. }
            | Error::LinkNotWritten { .. } => 1,
            Error::AfterClaim(error) => error.exit_code(),
            Error::Interrupted => 130,
        }
    }
}

/// Formats Unix seconds as an RFC 3339 time in UTC.
pub fn format_time(unix_seconds: u64) -> String {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("Unix time {unix_seconds}"))
}

/// Replaces control characters (including bidirectional overrides) in text
/// from the network, so it cannot move the cursor or recolor the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe_char(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// Returns true for characters that must not reach a terminal: C0 and C1
/// controls and the Unicode bidirectional formatting characters.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_epoch() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn format_time_out_of_range() {
        assert_eq!(format_time(u64::MAX), format!("Unix time {}", u64::MAX));
    }

    #[test]
    fn printable_replaces_escape() {
        assert_eq!(printable("a\x1b[2Jb"), "a\u{FFFD}[2Jb");
    }

    #[test]
    fn printable_replaces_bidi_override() {
        assert_eq!(printable("x\u{202E}y"), "x\u{FFFD}y");
    }

    #[test]
    fn hint_present_except_interrupt() {
        assert!(Error::DecryptionFailed.hint().is_some());
        assert!(Error::Interrupted.hint().is_none());
    }
}
