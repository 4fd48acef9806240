//! The encrypted metadata: round trips, padding, limits and tampering.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use safebox_crypto::{
    DecryptError, FormatError, LinkSecret, MAX_METADATA_LEN, MAX_MIME_LEN, MAX_NAME_LEN, Metadata,
    MetadataKey, decrypt_metadata, encrypt_metadata,
};

fn meta(name: &str) -> Metadata {
    Metadata {
        name: name.to_owned(),
        mime: "application/pdf".to_owned(),
        size: 1234,
    }
}

fn key() -> MetadataKey {
    LinkSecret::generate().metadata_key()
}

/// Seals a raw plaintext the way the format does, bypassing the checks.
fn seal_raw(key: &MetadataKey, plaintext: &[u8]) -> Vec<u8> {
    let nonce = [9; 12];
    let sealed = Aes256Gcm::new(key.expose_bytes().into())
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .expect("seal");
    [&[1][..], &nonce, &sealed].concat()
}

#[test]
fn metadata_round_trips() {
    let key = key();
    for name in [
        "a",
        "report.pdf",
        "Zoë \"quoted\" \\ \n 📄.txt",
        &"n".repeat(MAX_NAME_LEN),
    ] {
        let sealed = encrypt_metadata(&key, &meta(name)).expect("encrypt");
        assert_eq!(decrypt_metadata(&key, &sealed), Ok(meta(name)));
    }
}

#[test]
fn metadata_length_leaks_only_128_byte_steps() {
    let key = key();
    let short = encrypt_metadata(&key, &meta("a")).expect("encrypt");
    let longer = encrypt_metadata(&key, &meta("a-somewhat-longer-name.pdf")).expect("encrypt");
    assert_eq!(short.len(), longer.len());
    assert_eq!((short.len() - 29) % 128, 0);
}

#[test]
fn metadata_nonces_are_fresh() {
    let key = key();
    assert_ne!(
        encrypt_metadata(&key, &meta("a")),
        encrypt_metadata(&key, &meta("a"))
    );
}

#[test]
fn name_over_the_limit_is_refused() {
    let name = "n".repeat(MAX_NAME_LEN + 1);
    assert_eq!(
        encrypt_metadata(&key(), &meta(&name)),
        Err(FormatError::NameTooLong(MAX_NAME_LEN + 1))
    );
}

#[test]
fn mime_over_the_limit_is_refused() {
    let mut m = meta("a");
    m.mime = "x".repeat(MAX_MIME_LEN + 1);
    assert_eq!(
        encrypt_metadata(&key(), &m),
        Err(FormatError::MimeTooLong(MAX_MIME_LEN + 1))
    );
}

#[test]
fn name_that_escapes_past_the_limit_is_refused() {
    // 1000 control characters become 6000 bytes of JSON escapes.
    let name = "\u{1}".repeat(1000);
    assert!(
        matches!(encrypt_metadata(&key(), &meta(&name)), Err(FormatError::MetadataTooLong(len)) if len > MAX_METADATA_LEN)
    );
}

#[test]
fn largest_metadata_fits_the_cap() {
    let mut m = meta(&"n".repeat(MAX_NAME_LEN));
    m.mime = "x".repeat(MAX_MIME_LEN);
    m.size = u64::MAX;
    let sealed = encrypt_metadata(&key(), &m).expect("encrypt");
    assert!(sealed.len() <= MAX_METADATA_LEN);
}

#[test]
fn metadata_under_another_key_fails() {
    let sealed = encrypt_metadata(&key(), &meta("a")).expect("encrypt");
    assert_eq!(decrypt_metadata(&key(), &sealed), Err(DecryptError));
}

#[test]
fn metadata_bit_flip_anywhere_fails() {
    let key = key();
    let sealed = encrypt_metadata(&key, &meta("a")).expect("encrypt");
    for offset in 0..sealed.len() {
        let mut changed = sealed.clone();
        changed[offset] ^= 0x01;
        assert_eq!(
            decrypt_metadata(&key, &changed),
            Err(DecryptError),
            "byte {offset}"
        );
    }
}

#[test]
fn metadata_truncated_anywhere_fails() {
    let key = key();
    let sealed = encrypt_metadata(&key, &meta("a")).expect("encrypt");
    for cut in 0..sealed.len() {
        assert_eq!(
            decrypt_metadata(&key, &sealed[..cut]),
            Err(DecryptError),
            "first {cut} bytes"
        );
    }
}

#[test]
fn metadata_over_4096_bytes_fails_even_if_authentic() {
    let key = key();
    let json = r#"{"name":"a","type":"b","size":1}"#;
    let at_cap = format!("{json:<width$}", width = MAX_METADATA_LEN - 29);
    assert!(decrypt_metadata(&key, &seal_raw(&key, at_cap.as_bytes())).is_ok());
    let over = format!("{json:<width$}", width = MAX_METADATA_LEN - 29 + 1);
    assert_eq!(
        decrypt_metadata(&key, &seal_raw(&key, over.as_bytes())),
        Err(DecryptError)
    );
}

#[test]
fn metadata_reader_ignores_unknown_fields_and_padding() {
    let key = key();
    let json = br#"{"size":5,"future":{"x":[1]},"type":"text/plain","name":"n.txt"}   "#;
    let expected = Metadata {
        name: "n.txt".to_owned(),
        mime: "text/plain".to_owned(),
        size: 5,
    };
    assert_eq!(decrypt_metadata(&key, &seal_raw(&key, json)), Ok(expected));
}

#[test]
fn metadata_reader_refuses_wrong_json() {
    let key = key();
    for json in [
        &b"not json"[..],
        br#"{"name":"a","type":"b"}"#,
        br#"{"name":"a","type":"b","size":-1}"#,
        br#"{"name":"a","type":"b","size":"1"}"#,
        br#"{"name":"a","name":"c","type":"b","size":1}"#,
        br#"{"name":"a","type":"b","size":1} x"#,
        b"",
        b"\xff\xfe",
    ] {
        assert_eq!(
            decrypt_metadata(&key, &seal_raw(&key, json)),
            Err(DecryptError),
            "{json:?}"
        );
    }
}
