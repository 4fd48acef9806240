//! Safe local file names from the sender's metadata.
//!
//! The name inside the encrypted metadata is chosen by the sender, so a
//! recipient treats it as untrusted: it must not leave the output directory,
//! overwrite a hidden configuration file or smuggle terminal escapes.

/// Maximum length of a file name this client writes, in bytes. Most file systems allow
/// 255; the margin leaves room for a suffix added by other tools.
const MAX_NAME_BYTES: usize = 200;

/// Turns the sender's file name into a single safe path component.
///
/// Keeps only the text after the last `/` or `\`, replaces characters that
/// Windows forbids with `_`, replaces a leading `.` with `_` (no hidden
/// files) and shortens the name to [`MAX_NAME_BYTES`]. Returns `None` when
/// nothing usable is left, or when the name contains a control or
/// bidirectional formatting character, so the caller picks a fallback.
pub fn sanitize(name: &str) -> Option<String> {
    if name.chars().any(crate::error::is_unsafe_char) {
        return None;
    }

    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let hidden = base.starts_with('.');
    let base = base.trim_matches(|c: char| c == ' ' || c == '.');
    if base.is_empty() {
        return None;
    }

    let mut safe: String = base
        .chars()
        .map(|c| match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    if hidden {
        // Keep the text of a name like ".bashrc", but not the hiding.
        safe.insert(0, '_');
    }

    truncate_to_char_boundary(&mut safe, MAX_NAME_BYTES);
    Some(safe)
}

/// Returns the name to save a file as when its own name is unusable.
pub fn fallback_name(file_id: &str) -> String {
    format!("safebox-{file_id}")
}

fn truncate_to_char_boundary(text: &mut String, max_bytes: usize) {
    if text.len() <= max_bytes {
        return;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_plain_name() {
        assert_eq!(
            sanitize("report 2024.pdf").as_deref(),
            Some("report 2024.pdf")
        );
    }

    #[test]
    fn sanitize_strips_directories() {
        assert_eq!(sanitize("../../evil").as_deref(), Some("evil"));
        assert_eq!(sanitize("/etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(sanitize("C:\\Windows\\win.ini").as_deref(), Some("win.ini"));
    }

    #[test]
    fn sanitize_rejects_dot_names() {
        for name in ["", ".", "..", "../..", "a/..", "dir/", " ", "..."] {
            assert_eq!(sanitize(name), None, "{name:?} was accepted");
        }
    }

    #[test]
    fn sanitize_rejects_control_chars() {
        for name in ["a\nb", "a\x1b[31mb", "a\0b", "evil\u{202E}fdp.exe"] {
            assert_eq!(sanitize(name), None, "{name:?} was accepted");
        }
    }

    #[test]
    fn sanitize_unhides_dotfiles() {
        assert_eq!(sanitize(".bashrc").as_deref(), Some("_bashrc"));
        assert_eq!(sanitize("x/.profile").as_deref(), Some("_profile"));
    }

    #[test]
    fn sanitize_replaces_windows_chars() {
        assert_eq!(sanitize("a:b*c?.txt").as_deref(), Some("a_b_c_.txt"));
    }

    #[test]
    fn sanitize_truncates_at_char_boundary() {
        let name = "é".repeat(150);
        let safe = sanitize(&name).unwrap_or_default();
        assert!(safe.len() <= MAX_NAME_BYTES);
        assert_eq!(safe, "é".repeat(100));
    }
}
