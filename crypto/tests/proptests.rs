//! Property tests: round trips at random sizes, and parsers that never panic.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::decrypt_streaming;
use proptest::prelude::*;
use safebox_crypto::{
    ClaimHash, ClaimToken, FileId, Header, Link, LinkSecret, MAX_FILE_NAME_LEN, MAX_RECORD_SIZE,
    MIN_RECORD_SIZE, Metadata, RecordLayout, ciphertext_size, decrypt_all, decrypt_metadata,
    encrypt_all, encrypt_metadata, plaintext_size,
};

/// Checks the properties every result of `Metadata::safe_file_name` has,
/// whatever the sender's name.
fn check_safe_file_name(name: &str, id: &FileId) -> Result<(), TestCaseError> {
    let metadata = Metadata {
        name: name.to_owned(),
        mime: String::new(),
        size: 0,
    };
    let safe = metadata.safe_file_name(id);

    prop_assert!(!safe.is_empty());
    prop_assert!(safe.len() <= MAX_FILE_NAME_LEN, "{} bytes", safe.len());
    prop_assert!(!safe.contains(['/', '\\']), "{safe:?}");
    prop_assert!(!safe.chars().any(char::is_control), "{safe:?}");
    prop_assert!(
        !safe.contains(['\u{202E}', '\u{2066}', '\u{FEFF}']),
        "{safe:?}"
    );
    prop_assert!(!safe.starts_with('.'), "{safe:?}");
    prop_assert!(!safe.ends_with('.'), "{safe:?}");
    prop_assert_eq!(safe.trim(), safe.as_str());

    let again = Metadata {
        name: safe.clone(),
        ..metadata
    };
    prop_assert_eq!(again.safe_file_name(id), safe);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn content_round_trips(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        record_size in MIN_RECORD_SIZE..300,
        secret in any::<[u8; 16]>(),
        salt in any::<[u8; 16]>(),
    ) {
        let secret = LinkSecret::from_bytes(secret);
        let header = Header::with_salt(record_size, salt).expect("header");
        let ciphertext = encrypt_all(&secret, header, &data);

        prop_assert_eq!(ciphertext.len() as u64, ciphertext_size(data.len() as u64, record_size));
        prop_assert_eq!(decrypt_all(&secret, &ciphertext).expect("decrypt_all"), data.clone());
        prop_assert_eq!(decrypt_streaming(&secret, &ciphertext).expect("streaming"), data);
    }

    #[test]
    fn any_truncation_or_extension_fails(
        data in prop::collection::vec(any::<u8>(), 0..600),
        record_size in MIN_RECORD_SIZE..100,
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..100),
    ) {
        let secret = LinkSecret::generate();
        let ciphertext = encrypt_all(&secret, Header::new(record_size).expect("header"), &data);
        let cut = cut.index(ciphertext.len());
        prop_assert!(decrypt_all(&secret, &ciphertext[..cut]).is_err());
        prop_assert!(decrypt_streaming(&secret, &ciphertext[..cut]).is_err());
        let longer = [&ciphertext[..], &extra].concat();
        prop_assert!(decrypt_all(&secret, &longer).is_err());
        prop_assert!(decrypt_streaming(&secret, &longer).is_err());
    }

    #[test]
    fn sizes_invert_each_other(len in 0u64..(1 << 50), record_size in MIN_RECORD_SIZE..=MAX_RECORD_SIZE) {
        let sealed = ciphertext_size(len, record_size);
        prop_assert_eq!(plaintext_size(sealed, record_size), Ok(len));
        let header = Header::with_salt(record_size, [0; 16]).expect("header");
        let layout = RecordLayout::new(sealed, &header).expect("layout");
        let last = layout.record_count() - 1;
        prop_assert_eq!(layout.record_range(last).expect("last").end, sealed);
        prop_assert!(layout.is_last(last));
    }

    #[test]
    fn plaintext_size_never_panics(len in any::<u64>(), record_size in any::<u32>()) {
        let _ = plaintext_size(len, record_size);
        let _ = ciphertext_size(len, record_size);
    }

    #[test]
    fn decrypt_all_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        prop_assert!(decrypt_all(&LinkSecret::generate(), &bytes).is_err());
    }

    #[test]
    fn decrypt_all_never_panics_behind_a_valid_header(
        record_size in MIN_RECORD_SIZE..64,
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let header = Header::new(record_size).expect("header");
        let bytes = [&header.to_bytes()[..], &body].concat();
        prop_assert!(decrypt_all(&LinkSecret::generate(), &bytes).is_err());
    }

    #[test]
    fn metadata_round_trips(name in "\\PC{0,200}", mime in "[ -~]{0,100}", size in any::<u64>()) {
        let key = LinkSecret::generate().metadata_key();
        let meta = Metadata { name, mime, size };
        let sealed = encrypt_metadata(&key, &meta).expect("encrypt");
        prop_assert_eq!(decrypt_metadata(&key, &sealed).expect("decrypt"), meta);
    }

    #[test]
    fn metadata_decrypt_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..5000)) {
        prop_assert!(decrypt_metadata(&LinkSecret::generate().metadata_key(), &bytes).is_err());
    }

    #[test]
    fn safe_file_name_of_any_string_is_safe(
        chars in prop::collection::vec(any::<char>(), 0..300),
        id in any::<[u8; 12]>(),
    ) {
        check_safe_file_name(&String::from_iter(chars), &FileId::from_bytes(id))?;
    }

    #[test]
    fn safe_file_name_of_tricky_string_is_safe(
        name in "[./\\ \t\n\u{0}\u{202E}\u{2066}\u{FEFF}:*?<>|\"aCOoNnLPT1é😀]{0,300}",
    ) {
        check_safe_file_name(&name, &FileId::from_bytes([0; 12]))?;
    }

    #[test]
    fn link_parse_never_panics_on_arbitrary_strings(input in "\\PC*") {
        let _ = Link::parse(&input);
        let _ = FileId::parse(&input);
        let _ = ClaimToken::from_base64(&input);
        let _ = ClaimHash::from_base64(&input);
    }

    #[test]
    fn link_parse_never_panics_on_link_like_strings(input in "(https?://[a-z.]{0,10}/)?#?[A-Za-z0-9_.\\-é#/]{0,60}") {
        let _ = Link::parse(&input);
    }

    #[test]
    fn link_round_trips_through_any_page_url(
        id in any::<[u8; 12]>(),
        secret in any::<[u8; 16]>(),
        page in "https://[a-z]{1,10}\\.example(/[a-z]{0,5}){0,3}/{0,2}(#[a-z]{0,5})?",
    ) {
        let link = Link::new(FileId::from_bytes(id), LinkSecret::from_bytes(secret));
        let parsed = Link::parse(&link.to_url(&page)).expect("parse");
        prop_assert_eq!(parsed.id, link.id);
        prop_assert_eq!(parsed.secret.expose_bytes(), &secret);
    }
}
