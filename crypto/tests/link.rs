//! The link parser and the file id.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use safebox_crypto::{FileId, IdError, Link, LinkError, LinkSecret, MAX_LINK_LEN};

/// 16 characters: 12 bytes.
const ID: &str = "c2FmZWJveC1pZDAx";
/// 22 characters: 16 bytes, last character canonical.
const SECRET: &str = "Wv6wxeHyo7TF1uf4AZKDdA";

fn fragment() -> String {
    format!("{ID}.{SECRET}")
}

#[test]
fn good_full_url_parses() {
    let link = Link::parse(&format!("https://safebox.example/#{ID}.{SECRET}")).expect("link");
    assert_eq!(link.id.as_str(), ID);
    assert_eq!(link.fragment(), fragment());
}

#[test]
fn good_url_with_path_and_query_parses() {
    let link = Link::parse(&format!("http://127.0.0.1:8080/app/?x=1#{ID}.{SECRET}")).expect("link");
    assert_eq!(link.id.as_str(), ID);
}

#[test]
fn good_bare_fragment_parses_with_or_without_hash() {
    assert_eq!(
        Link::parse(&fragment()).expect("bare").fragment(),
        fragment()
    );
    assert_eq!(
        Link::parse(&format!("#{}", fragment()))
            .expect("with #")
            .fragment(),
        fragment()
    );
}

#[test]
fn good_link_with_surrounding_whitespace_parses() {
    let link = Link::parse(&format!("  https://safebox.example/#{}\n", fragment())).expect("link");
    assert_eq!(link.fragment(), fragment());
}

#[test]
fn to_url_strips_trailing_slashes_and_fragments() {
    let link = Link::parse(&fragment()).expect("link");
    let expected = format!("https://safebox.example/#{}", fragment());
    for page in [
        "https://safebox.example",
        "https://safebox.example/",
        "https://safebox.example//",
        "https://safebox.example/#old",
    ] {
        assert_eq!(link.to_url(page), expected, "page {page}");
    }
    assert_eq!(
        link.to_url("https://x.example/s/"),
        format!("https://x.example/s/#{}", fragment())
    );
}

#[test]
fn to_url_then_parse_gives_the_same_link() {
    let link = Link::new(FileId::generate(), LinkSecret::generate());
    let parsed = Link::parse(&link.to_url("https://safebox.example/")).expect("link");
    assert_eq!(parsed.id, link.id);
    assert_eq!(parsed.secret.expose_bytes(), link.secret.expose_bytes());
}

#[test]
fn missing_fragment_is_reported() {
    for input in [
        "https://safebox.example/",
        "https://safebox.example/#",
        "#",
        "http://x",
        "safebox.example/path",
        "  ",
    ] {
        assert_eq!(
            Link::parse(input).map(|_| ()),
            Err(LinkError::MissingFragment),
            "input {input:?}"
        );
    }
}

#[test]
fn empty_input_is_a_missing_fragment() {
    assert_eq!(Link::parse("").map(|_| ()), Err(LinkError::MissingFragment));
}

#[test]
fn malformed_characters_are_reported() {
    for input in [
        format!("{ID} {SECRET}"),
        format!("{ID}.Wv6wxeHyo7TF1uf4AZKDd%41"),
        format!("{ID}.Wv6wxeHyo7TF1uf4AZKDdA=="),
        format!("{ID}+{SECRET}"),
        format!("{ID}.{SECRET}%20"),
    ] {
        assert_eq!(
            Link::parse(&input).map(|_| ()),
            Err(LinkError::Malformed),
            "input {input:?}"
        );
    }
}

#[test]
fn text_pasted_after_link_is_too_long() {
    for input in [
        format!("{ID}.{SECRET}!"),
        format!("https://x/#{ID}.{SECRET} thanks!"),
        format!("https://x/#{ID}.{SECRET}\tsee you"),
        format!("https://x/#{ID}.{SECRET})."),
        format!("https://x/#{ID}.{SECRET}."),
        format!("https://x/#{ID}.{SECRET}..."),
        format!("{ID}.{SECRET}&utm=1"),
        format!("https://x/#{ID}.{SECRET}#again"),
    ] {
        assert_eq!(
            Link::parse(&input).map(|_| ()),
            Err(LinkError::TooLong),
            "input {input:?}"
        );
    }
}

#[test]
fn broken_link_with_text_is_malformed() {
    let broken_secret = format!("{}+{}", &SECRET[..10], &SECRET[11..]);
    assert_eq!(
        Link::parse(&format!("#{ID}.{broken_secret} thanks")).map(|_| ()),
        Err(LinkError::Malformed)
    );
    assert_eq!(
        Link::parse(&format!("#{}.{SECRET} thanks", &ID[..15])).map(|_| ()),
        Err(LinkError::Malformed)
    );
}

#[test]
fn third_field_from_a_later_version_is_malformed() {
    assert_eq!(
        Link::parse(&format!("{ID}.{SECRET}.p")).map(|_| ()),
        Err(LinkError::Malformed)
    );
    assert_eq!(
        Link::parse(&format!("{ID}.{SECRET}.p.")).map(|_| ()),
        Err(LinkError::Malformed)
    );
    assert_eq!(
        Link::parse(&format!("{ID}..{SECRET}")).map(|_| ()),
        Err(LinkError::Malformed)
    );
}

#[test]
fn truncated_link_is_reported() {
    for input in [
        format!("https://x/#{}", &fragment()[..fragment().len() - 1]),
        format!("{ID}.{}", &SECRET[..10]),
        format!("{ID}."),
        ID.to_owned(),
        ID[..5].to_owned(),
        format!("{}.{SECRET}", &ID[..15]),
        format!(".{SECRET}"),
    ] {
        assert_eq!(
            Link::parse(&input).map(|_| ()),
            Err(LinkError::Truncated),
            "input {input:?}"
        );
    }
}

#[test]
fn too_long_link_is_reported() {
    for input in [
        format!("{ID}.{SECRET}A"),
        format!("{ID}A.{SECRET}"),
        format!("{ID}.{SECRET}{SECRET}"),
    ] {
        assert_eq!(
            Link::parse(&input).map(|_| ()),
            Err(LinkError::TooLong),
            "input {input:?}"
        );
    }
}

#[test]
fn huge_input_is_too_long_without_being_read() {
    let huge = format!("https://x/#{}", "A".repeat(10_000_000));
    assert_eq!(Link::parse(&huge).map(|_| ()), Err(LinkError::TooLong));
    let just_over = "A".repeat(MAX_LINK_LEN + 1);
    assert_eq!(Link::parse(&just_over).map(|_| ()), Err(LinkError::TooLong));
}

#[test]
fn non_canonical_secret_is_malformed() {
    // 'B' sets one of the 4 unused low bits of the last character; 'A' does not.
    let canonical = format!("{ID}.Wv6wxeHyo7TF1uf4AZKDdA");
    assert!(Link::parse(&canonical).is_ok());
    for last in ['B', 'P', 'R', 'h', '_'] {
        let input = format!("{ID}.Wv6wxeHyo7TF1uf4AZKDd{last}");
        assert_eq!(
            Link::parse(&input).map(|_| ()),
            Err(LinkError::Malformed),
            "input {input:?}"
        );
    }
}

#[test]
fn standard_base64_alphabet_is_malformed() {
    assert_eq!(
        Link::parse(&format!("{ID}.Wv6wxeHyo7TF1uf4AZKD+A")).map(|_| ()),
        Err(LinkError::Malformed)
    );
    assert_eq!(
        Link::parse(&format!("#{ID}.Wv6wxeHyo7TF1uf4AZKD/A")).map(|_| ()),
        Err(LinkError::Malformed)
    );
    // Without '#', a '/' makes the input read as an address with no fragment.
    assert_eq!(
        Link::parse(&format!("{ID}.Wv6wxeHyo7TF1uf4AZKD/A")).map(|_| ()),
        Err(LinkError::MissingFragment)
    );
}

#[test]
fn unicode_is_malformed_and_never_panics() {
    for input in [
        format!("https://x/#{ID}.Wv6wxeHyo7TF1uf4AZKDdé"),
        format!("https://x/#{ID}.Wv6wxeHyo7TF1uf4AZKD📄"),
        format!("#{}é.{SECRET}", &ID[..14]),
        "#ÅÅÅÅÅÅÅÅ.ÅÅÅÅÅÅÅÅÅÅÅ".to_owned(),
        format!("#{ID}\u{200b}.{SECRET}"),
    ] {
        assert_eq!(
            Link::parse(&input).map(|_| ()),
            Err(LinkError::Malformed),
            "input {input:?}"
        );
    }
}

#[test]
fn link_errors_say_what_to_do() {
    for error in [
        LinkError::MissingFragment,
        LinkError::Malformed,
        LinkError::Truncated,
        LinkError::TooLong,
    ] {
        let message = error.to_string();
        assert!(message.starts_with("the link"), "{message}");
        assert!(message.contains("copy"), "{message}");
    }
}

#[test]
fn link_debug_shows_the_id_and_hides_the_secret() {
    let link = Link::parse(&fragment()).expect("link");
    let debug = format!("{link:?}");
    assert!(debug.contains(ID), "{debug}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

#[test]
fn file_id_parses_16_base64url_characters() {
    let id = FileId::parse(ID).expect("id");
    assert_eq!(id.as_str(), ID);
    assert_eq!(id.to_string(), ID);
    assert_eq!(id.to_bytes(), *b"safebox-id01");
    assert_eq!(FileId::from_bytes(*b"safebox-id01"), id);
    assert_eq!(ID.parse::<FileId>(), Ok(id));
    assert!(FileId::parse("AAAAAAAAAAAAAA-_").is_ok());
}

#[test]
fn file_id_refuses_other_lengths_and_characters() {
    for input in [
        "",
        "c2FmZWJveC1pZDA",
        "c2FmZWJveC1pZDAxx",
        "c2FmZWJveC1pZDA=",
        "c2FmZWJveC1pZDA+",
        "c2FmZWJveC1pZDé",
        "../../etc/passwd",
    ] {
        assert_eq!(FileId::parse(input), Err(IdError), "input {input:?}");
    }
}

#[test]
fn generated_file_ids_are_valid_and_distinct() {
    let a = FileId::generate();
    let b = FileId::generate();
    assert_ne!(a, b);
    assert_eq!(FileId::parse(a.as_str()), Ok(a));
}

#[test]
fn file_id_serde_is_its_string_and_validates() {
    let id = FileId::parse(ID).expect("id");
    assert_eq!(
        serde_json::to_string(&id).expect("json"),
        format!("\"{ID}\"")
    );
    assert_eq!(
        serde_json::from_str::<FileId>(&format!("\"{ID}\"")).expect("json"),
        id
    );
    assert!(serde_json::from_str::<FileId>("\"short\"").is_err());
}
