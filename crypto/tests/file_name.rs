//! The local file name rule of `Metadata::safe_file_name`, shared by the
//! page and the CLI.

use safebox_crypto::{FileId, MAX_FILE_NAME_LEN, Metadata};

fn id() -> FileId {
    FileId::from_bytes([7; 12])
}

fn safe(name: &str) -> String {
    let metadata = Metadata {
        name: name.to_owned(),
        mime: "application/octet-stream".to_owned(),
        size: 0,
    };
    metadata.safe_file_name(&id())
}

fn fallback() -> String {
    format!("safebox-{}", id().as_str())
}

/// Checks each `(name, expected)` pair, and that the rule leaves its own
/// result unchanged.
fn check(cases: &[(&str, &str)]) {
    for &(name, expected) in cases {
        let result = safe(name);
        assert_eq!(result, expected, "name {name:?}");
        assert_eq!(safe(&result), result, "second pass over {name:?}");
    }
}

fn check_fallback(names: &[&str]) {
    for &name in names {
        assert_eq!(safe(name), fallback(), "name {name:?}");
    }
}

#[test]
fn plain_names_unchanged() {
    check(&[
        ("report.pdf", "report.pdf"),
        ("report 2024.pdf", "report 2024.pdf"),
        ("résumé 📄.txt", "résumé 📄.txt"),
        ("archive.tar.gz", "archive.tar.gz"),
        ("a", "a"),
    ]);
}

#[test]
fn directories_removed() {
    check(&[
        ("../../evil", "evil"),
        ("../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        ("C:\\Windows\\win.ini", "win.ini"),
        ("a/b\\c/d.txt", "d.txt"),
        ("a\\b\nc", "b_c"),
    ]);
}

#[test]
fn empty_and_dot_names_fall_back() {
    check_fallback(&[
        "", ".", "..", "...", "../..", "a/..", "dir/", "a\\", " ", " .. ", "\t\n", ". . .",
    ]);
}

#[test]
fn fallback_contains_file_id() {
    assert_eq!(fallback(), "safebox-BwcHBwcHBwcHBwcH");
    assert_eq!(safe(&fallback()), fallback());
}

#[test]
fn leading_dots_and_whitespace_removed() {
    check(&[
        (".bashrc", "bashrc"),
        ("../../.bashrc", "bashrc"),
        ("x/.profile", "profile"),
        (". .hidden", "hidden"),
        ("  spaced  ", "spaced"),
        ("\t report.pdf\n", "report.pdf"),
        ("\u{3000}.x", "x"),
    ]);
}

#[test]
fn trailing_dots_removed() {
    check(&[("name...", "name"), ("name. . ", "name"), ("a.b.", "a.b")]);
}

#[test]
fn control_characters_replaced() {
    check(&[
        ("a\nb", "a_b"),
        ("a\u{0}b", "a_b"),
        ("a\x1b[31mb", "a_[31mb"),
        ("bad\u{1b}[2Jname", "bad_[2Jname"),
        ("a\u{0}b\nc\u{7f}.txt", "a_b_c_.txt"),
        ("a\u{85}b", "a_b"),
        ("a\u{9b}b", "a_b"),
    ]);
}

#[test]
fn bidirectional_formatting_replaced() {
    check(&[("evil\u{202E}fdp.exe", "evil_fdp.exe")]);
    let formatting = [
        '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
        '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    ];
    for c in formatting {
        assert_eq!(safe(&format!("a{c}b")), "a_b", "U+{:04X}", u32::from(c));
    }
}

#[test]
fn invisible_characters_replaced() {
    for c in [
        '\u{200B}', '\u{2028}', '\u{2029}', '\u{2060}', '\u{2064}', '\u{FEFF}',
    ] {
        assert_eq!(safe(&format!("a{c}b")), "a_b", "U+{:04X}", u32::from(c));
    }
}

#[test]
fn joiners_kept() {
    check(&[
        ("a\u{200C}b", "a\u{200C}b"),
        ("👩\u{200D}💻.png", "👩\u{200D}💻.png"),
    ]);
}

#[test]
fn windows_forbidden_characters_replaced() {
    check(&[("a:b*c?.txt", "a_b_c_.txt")]);
    for c in ['<', '>', ':', '"', '|', '?', '*'] {
        assert_eq!(safe(&format!("a{c}b")), "a_b", "{c:?}");
    }
}

#[test]
fn device_names_prefixed() {
    check(&[
        ("CON", "_CON"),
        ("con", "_con"),
        ("prn.txt", "_prn.txt"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("NUL", "_NUL"),
        ("COM0", "_COM0"),
        ("com1", "_com1"),
        ("COM9.log", "_COM9.log"),
        ("lpt1", "_lpt1"),
        ("LPT9.txt", "_LPT9.txt"),
        ("COM¹.txt", "_COM¹.txt"),
        ("LPT³", "_LPT³"),
        ("CONIN$", "_CONIN$"),
        ("conout$.txt", "_conout$.txt"),
        ("con .txt", "_con .txt"),
        ("CON.", "_CON"),
        ("../NUL", "_NUL"),
        (".aux", "_aux"),
    ]);
}

#[test]
fn similar_names_not_prefixed() {
    check(&[
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("COM10", "COM10"),
        ("LPT", "LPT"),
        ("xCON", "xCON"),
        ("con_x.txt", "con_x.txt"),
        ("CON:", "CON_"),
        ("my.con", "my.con"),
    ]);
}

#[test]
fn long_name_keeps_extension() {
    let name = format!("{}.pdf", "a".repeat(300));
    let expected = format!("{}.pdf", "a".repeat(196));
    check(&[(&name, &expected)]);
    assert_eq!(expected.len(), MAX_FILE_NAME_LEN);
}

#[test]
fn long_name_cut_on_char_boundary() {
    let cases = [
        ("é".repeat(150), "é".repeat(100)),
        ("é".repeat(200), "é".repeat(100)),
        (
            format!("a{}", "é".repeat(150)),
            format!("a{}", "é".repeat(99)),
        ),
        (
            format!("{}.txt", "é".repeat(150)),
            format!("{}.txt", "é".repeat(98)),
        ),
        (
            format!("{}.txt", "😀".repeat(60)),
            format!("{}.txt", "😀".repeat(49)),
        ),
        (
            format!("a{}.txt", "é".repeat(150)),
            format!("a{}.txt", "é".repeat(97)),
        ),
    ];
    for (name, expected) in &cases {
        check(&[(name, expected)]);
        assert!(safe(name).len() <= MAX_FILE_NAME_LEN, "{name:?}");
    }
}

#[test]
fn long_extension_cut_with_name() {
    let longest_kept = format!("{}.{}", "a".repeat(300), "b".repeat(31));
    let expected = format!("{}.{}", "a".repeat(168), "b".repeat(31));
    check(&[(&longest_kept, &expected)]);

    let too_long = format!("{}.{}", "a".repeat(10), "b".repeat(300));
    let cut = format!("{}.{}", "a".repeat(10), "b".repeat(189));
    check(&[(&too_long, &cut)]);
}

#[test]
fn cut_removes_exposed_dots_and_spaces() {
    let spaced = format!("{} {}", "a".repeat(199), "b".repeat(10));
    let dotted = format!("{}.{}", "a".repeat(199), "b".repeat(40));
    let expected = "a".repeat(199);
    check(&[(&spaced, &expected), (&dotted, &expected)]);
}

#[test]
fn name_at_limit_unchanged() {
    let name = format!("{}.txt", "a".repeat(MAX_FILE_NAME_LEN - 4));
    check(&[(&name, &name)]);
}

#[test]
fn cut_cannot_expose_device_name() {
    let no_extension = format!("CON{}x", " ".repeat(300));
    check(&[(&no_extension, "_CON")]);

    let with_extension = format!("CON{}.txt", " ".repeat(200));
    let expected = format!("_CON{}.txt", " ".repeat(192));
    check(&[(&with_extension, &expected)]);
    assert_eq!(expected.len(), MAX_FILE_NAME_LEN);
}
