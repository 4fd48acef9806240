//! The local file name a recipient saves a file under.
//!
//! The name in the encrypted metadata is chosen by the sender, so the page
//! and the CLI treat it as untrusted and both reduce it with the one rule
//! here, documented on [`crate::Metadata::safe_file_name`].

/// The maximum length of a name from [`crate::Metadata::safe_file_name`],
/// in UTF-8 bytes. Most file systems allow 255 bytes, and the margin leaves
/// room for a suffix that a browser or another tool adds, such as ` (1)` or
/// `.part`.
pub const MAX_FILE_NAME_LEN: usize = 200;

/// The maximum length of an extension that shortening keeps, dot included,
/// in bytes. Anything longer is more likely text after a dot than an
/// extension.
const MAX_EXTENSION_LEN: usize = 32;

/// The text before the file id in the name used when nothing usable is left.
const FALLBACK_PREFIX: &str = "safebox-";

/// Names that Windows opens as devices, with or without an extension,
/// compared without regard to ASCII case.
const RESERVED_DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Reduces `name` by the rule of [`crate::Metadata::safe_file_name`], or
/// returns `None` when nothing usable is left.
pub(crate) fn sanitize(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let trimmed = base.trim_matches(is_dot_or_whitespace);
    let mut safe: String = trimmed.chars().map(replace_unsafe_char).collect();

    shorten(&mut safe);
    if is_reserved_device_name(&safe) {
        safe.insert(0, '_');
        shorten(&mut safe);
    }

    if safe.is_empty() { None } else { Some(safe) }
}

/// Returns the name used when [`sanitize`] leaves nothing: `safebox-<id>`.
pub(crate) fn fallback(file_id: &str) -> String {
    format!("{FALLBACK_PREFIX}{file_id}")
}

fn is_dot_or_whitespace(c: char) -> bool {
    c == '.' || c.is_whitespace()
}

/// Replaces with `_` a character that could change how the name displays or
/// that Windows forbids in file names.
fn replace_unsafe_char(c: char) -> char {
    let forbidden_on_windows = matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*');
    if c.is_control() || is_invisible_formatting(c) || forbidden_on_windows {
        '_'
    } else {
        c
    }
}

/// Returns true for the bidirectional formatting characters, which can make
/// `evil\u{202E}fdp.exe` display as `evilexe.pdf`. Also returns true for
/// other invisible characters that can hide part of a name: zero width
/// space, line and paragraph separators, word joiner, invisible operators
/// and the byte order mark. Zero width joiners and non-joiners are kept,
/// because some scripts and emoji sequences need them.
fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

/// Cuts `name` to [`MAX_FILE_NAME_LEN`] bytes on a character boundary. An
/// extension of up to [`MAX_EXTENSION_LEN`] bytes is kept, and the text
/// before it is cut instead. Without one, dots and whitespace that the cut
/// leaves at the end are removed, since Windows drops them.
fn shorten(name: &mut String) {
    if name.len() <= MAX_FILE_NAME_LEN {
        return;
    }

    let extension = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_LEN => name.split_off(dot),
        _ => String::new(),
    };

    let end = name.floor_char_boundary(MAX_FILE_NAME_LEN - extension.len());
    name.truncate(end);
    if extension.is_empty() {
        let trimmed_len = name.trim_end_matches(is_dot_or_whitespace).len();
        name.truncate(trimmed_len);
    }
    name.push_str(&extension);
}

/// Returns true when Windows would open `name` as a device: its text before
/// the first dot, without trailing whitespace, is a reserved device name.
fn is_reserved_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    RESERVED_DEVICE_NAMES
        .iter()
        .any(|reserved| stem.eq_ignore_ascii_case(reserved))
}
