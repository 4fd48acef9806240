//! Secrets stay out of `Debug`; claim tokens and hashes encode strictly and
//! compare correctly.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use safebox_crypto::{
    ClaimAttempt, ClaimHash, ClaimToken, ConstantTimeEq, Decryptor, EncodingError, Encryptor,
    Header, LinkSecret, Metadata,
};

const SECRET: [u8; 16] = [
    0x5a, 0xfe, 0xb0, 0xc5, 0xe1, 0xf2, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x01, 0x92, 0x83, 0x74,
];

/// No rendering of the bytes appears in `debug`.
fn assert_hides(debug: &str, bytes: &[u8]) {
    assert!(debug.contains("REDACTED"), "{debug}");
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    assert!(!debug.contains(&hex), "hex leaked: {debug}");
    assert!(
        !debug.contains(&format!("{:?}", bytes)),
        "array leaked: {debug}"
    );
}

#[test]
fn link_secret_debug_is_redacted() {
    let secret = LinkSecret::from_bytes(SECRET);
    assert_eq!(format!("{secret:?}"), "LinkSecret([REDACTED])");
    assert_eq!(format!("{secret:#?}"), "LinkSecret([REDACTED])");
}

#[test]
fn derived_keys_debug_is_redacted() {
    let secret = LinkSecret::from_bytes(SECRET);
    let header = Header::with_salt(64, [0; 16]).expect("header");

    let content = secret.content_key(&header);
    assert_hides(&format!("{content:?}"), content.expose_bytes());
    let metadata = secret.metadata_key();
    assert_hides(&format!("{metadata:?}"), metadata.expose_bytes());
    let token = secret.claim_token();
    assert_eq!(format!("{token:?}"), "ClaimToken([REDACTED])");
    assert!(!format!("{token:?}").contains(token.to_base64().as_str()));
}

#[test]
fn encryptor_and_decryptor_debug_are_redacted() {
    let secret = LinkSecret::from_bytes(SECRET);
    let header = Header::with_salt(64, [0; 16]).expect("header");
    let key = secret.content_key(&header);

    let encryptor = Encryptor::new(&secret, header);
    assert_hides(&format!("{encryptor:?}"), key.expose_bytes());
    let decryptor = Decryptor::new(&secret, &header.to_bytes()).expect("decryptor");
    assert_hides(&format!("{decryptor:?}"), key.expose_bytes());
}

#[test]
fn metadata_debug_hides_the_name() {
    let meta = Metadata {
        name: "secret-plans.pdf".to_owned(),
        mime: "application/pdf".to_owned(),
        size: 9,
    };
    let debug = format!("{meta:?}");
    assert!(!debug.contains("secret-plans"), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
    assert!(debug.contains("application/pdf"), "{debug}");
}

#[test]
fn claim_token_round_trips_through_base64() {
    let token = LinkSecret::generate().claim_token();
    let text = token.to_base64();
    assert_eq!(text.len(), 43);
    let parsed = ClaimToken::from_base64(&text).expect("token");
    assert_eq!(parsed.hash(), token.hash());
}

#[test]
fn claim_token_base64_is_strict() {
    let text = LinkSecret::generate().claim_token().to_base64();
    let error = EncodingError {
        what: "claim token",
        len: 32,
    };
    // 43 characters carry 2 unused bits, zero in canonical text; set one.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = ALPHABET
        .iter()
        .position(|&c| c == text.as_bytes()[42])
        .expect("alphabet");
    let non_canonical_last = ALPHABET[last ^ 1] as char;
    let non_canonical = format!("{}{non_canonical_last}", &text[..42]);
    for bad in [
        String::new(),
        text[..42].to_string(),
        format!("{}=", text.as_str()),
        format!("{}A", text.as_str()),
        text.replace(['-', '_'], "+"),
        non_canonical,
        "é".repeat(21) + "A",
    ] {
        if bad != *text {
            assert_eq!(
                ClaimToken::from_base64(&bad).map(|_| ()),
                Err(error),
                "input {bad:?}"
            );
        }
    }
}

#[test]
fn claim_hash_is_sha256_of_the_token() {
    use sha2::{Digest, Sha256};
    let token = LinkSecret::from_bytes(SECRET).claim_token();
    let raw = base64_decode(&token.to_base64());
    assert_eq!(
        token.hash().as_bytes().as_slice(),
        Sha256::digest(raw).as_slice()
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64")
}

#[test]
fn claim_hash_matches_only_its_token() {
    let secret = LinkSecret::generate();
    let hash = secret.claim_token().hash();
    assert!(hash.matches(&secret.claim_token()));
    assert!(!hash.matches(&LinkSecret::generate().claim_token()));
}

#[test]
fn claim_hash_compares_in_constant_time_and_round_trips() {
    let hash = LinkSecret::generate().claim_token().hash();
    let other = LinkSecret::generate().claim_token().hash();
    assert!(bool::from(hash.ct_eq(&hash)));
    assert!(!bool::from(hash.ct_eq(&other)));
    assert_eq!(
        hash,
        ClaimHash::from_base64(&hash.to_base64()).expect("hash")
    );
    assert_eq!(hash, ClaimHash::from_bytes(*hash.as_bytes()));
    assert_ne!(hash, other);
    assert_eq!(
        ClaimHash::from_base64("too short").map(|_| ()),
        Err(EncodingError {
            what: "claim hash",
            len: 32
        })
    );
}

#[test]
fn keys_differ_by_purpose_secret_and_header() {
    let secret = LinkSecret::from_bytes(SECRET);
    let other = LinkSecret::from_bytes([0; 16]);
    let a = Header::with_salt(64, [0; 16]).expect("header");
    let b = Header::with_salt(64, [1; 16]).expect("header");
    let c = Header::with_salt(65, [0; 16]).expect("header");

    let keys = [
        *secret.metadata_key().expose_bytes(),
        *secret.content_key(&a).expose_bytes(),
        *secret.content_key(&b).expose_bytes(),
        *secret.content_key(&c).expose_bytes(),
        *other.content_key(&a).expose_bytes(),
        *other.metadata_key().expose_bytes(),
    ];
    for (i, x) in keys.iter().enumerate() {
        for y in &keys[i + 1..] {
            assert_ne!(x, y);
        }
    }
}

#[test]
fn generated_secrets_differ() {
    assert_ne!(
        LinkSecret::generate().expose_bytes(),
        LinkSecret::generate().expose_bytes()
    );
}

#[test]
fn claim_attempts_differ_and_are_redacted() {
    let first = ClaimAttempt::generate();
    let second = ClaimAttempt::generate();
    assert_ne!(first.to_base64(), second.to_base64());
    assert_eq!(first.to_base64().len(), 43);
    assert_eq!(format!("{first:?}"), "ClaimAttempt([REDACTED])");
}
