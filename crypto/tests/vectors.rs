//! Frozen test vectors in `tests/vectors/`: the files must be reproduced
//! byte for byte and decrypt back; the `must_fail_*` files must not.
//!
//! Regenerate (only when the format changes on purpose):
//! `cargo test -p safebox-crypto --test vectors -- --ignored regenerate_vectors`

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use std::collections::BTreeSet;
use std::fs;

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    ContentVector, InvalidContentVector, InvalidMetadataVector, MetadataVector, Vectors,
    decrypt_streaming, hex, plaintext, unhex, unhex_array, vectors_dir,
};
use safebox_crypto::{
    ContentKey, DEFAULT_RECORD_SIZE, FileId, HEADER_LEN, Header, Link, LinkSecret,
    MAX_METADATA_LEN, Metadata, MetadataKey, RecordLayout, decrypt_all, decrypt_metadata,
    encrypt_all, encrypt_metadata_with_nonce,
};
use sha2::{Digest, Sha256};

const SECRET: &str = "5afeb0c5e1f2a3b4c5d6e7f801928374";
const WRONG_SECRET: &str = "ffeeddccbbaa99887766554433221100";
const ID: [u8; 12] = *b"safebox-id01";
const RECIPE: &str = "byte i of the plaintext is i mod 251; plaintext_len bytes long";

/// The valid content files: (case, record size, salt, plaintext length).
const CONTENT: &[(&str, u32, &str, usize)] = &[
    ("empty", 64, "00112233445566778899aabbccddeeff", 0),
    ("one_byte", 64, "0102030405060708090a0b0c0d0e0f10", 1),
    ("one_record", 64, "1112131415161718191a1b1c1d1e1f20", 64),
    (
        "one_record_plus_one_byte",
        64,
        "2122232425262728292a2b2c2d2e2f30",
        65,
    ),
    ("many_records", 64, "3132333435363738393a3b3c3d3e3f40", 337),
    (
        "many_records_exact_multiple",
        64,
        "4142434445464748494a4b4c4d4e4f50",
        256,
    ),
    (
        "default_record_size",
        DEFAULT_RECORD_SIZE,
        "5152535455565758595a5b5c5d5e5f60",
        150_000,
    ),
];

/// The metadata vectors: (name, mime, size, nonce).
const METADATA: &[(&str, &str, u64, &str)] = &[
    (
        "report.pdf",
        "application/pdf",
        150_000,
        "000102030405060708090a0b",
    ),
    (
        "Zoë's \"plan\"\\2024\n\u{1}/résumé 📄.txt",
        "text/plain; charset=utf-8",
        0,
        "a0a1a2a3a4a5a6a7a8a9aaab",
    ),
    (
        "one-block-of-json-exactly-128-bytes-so-no-padding-spaces-follow-------.bin",
        "application/octet-stream",
        7,
        "b0b1b2b3b4b5b6b7b8b9babb",
    ),
];

fn secret() -> LinkSecret {
    LinkSecret::from_bytes(unhex_array(SECRET))
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn many_records_header() -> Header {
    Header::with_salt(64, unhex_array("3132333435363738393a3b3c3d3e3f40")).expect("valid header")
}

/// Seals `records` (plaintexts with their last flags) after `header`, with
/// no checks, to build files the decryptor must refuse.
fn seal_raw(key: &ContentKey, header: &Header, records: &[(u64, bool, &[u8])]) -> Vec<u8> {
    let mut out = header.to_bytes().to_vec();
    for &(index, last, record) in records {
        out.extend(key.seal_record(index, last, record).expect("seal"));
    }
    out
}

/// The byte ranges of the records of a valid file.
fn records_of(file: &[u8]) -> Vec<Vec<u8>> {
    let header = Header::parse(&file[..HEADER_LEN]).expect("header");
    let layout = RecordLayout::new(file.len() as u64, &header).expect("layout");
    (0..layout.record_count())
        .map(|i| {
            let range = layout.record_range(i).expect("range");
            file[range.start as usize..range.end as usize].to_vec()
        })
        .collect()
}

/// The invalid content files, derived from `many_records` (64-byte records,
/// 337 bytes: five full records and a last one of 17 bytes).
fn invalid_content(valid: &[u8]) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let header = many_records_header();
    let records = records_of(valid);
    let join = |parts: &[&[u8]]| -> Vec<u8> {
        let mut out = valid[..HEADER_LEN].to_vec();
        parts.iter().for_each(|part| out.extend_from_slice(part));
        out
    };
    let flip = |offset: usize| -> Vec<u8> {
        let mut out = valid.to_vec();
        out[offset] ^= 0x01;
        out
    };
    let secret = secret();
    let key = secret.content_key(&header);
    let text = plaintext(337);
    let chunks: Vec<&[u8]> = text.chunks(64).collect();

    vec![
        (
            "must_fail_header_only.sbx",
            "the header of many_records without any record",
            valid[..HEADER_LEN].to_vec(),
        ),
        (
            "must_fail_truncated_at_record_boundary.sbx",
            "many_records without its last record (ends after record 4, a full record)",
            join(&[
                &records[0],
                &records[1],
                &records[2],
                &records[3],
                &records[4],
            ]),
        ),
        (
            "must_fail_truncated_mid_record.sbx",
            "many_records cut 10 bytes into record 3",
            valid[..HEADER_LEN + 3 * 80 + 10].to_vec(),
        ),
        (
            "must_fail_truncated_last_byte.sbx",
            "many_records without its final byte",
            valid[..valid.len() - 1].to_vec(),
        ),
        (
            "must_fail_reordered_records.sbx",
            "many_records with records 1 and 2 swapped",
            join(&[
                &records[0],
                &records[2],
                &records[1],
                &records[3],
                &records[4],
                &records[5],
            ]),
        ),
        (
            "must_fail_duplicated_record.sbx",
            "many_records with record 1 repeated after itself",
            join(&[
                &records[0],
                &records[1],
                &records[1],
                &records[2],
                &records[3],
                &records[4],
                &records[5],
            ]),
        ),
        (
            "must_fail_bit_flip_magic.sbx",
            "many_records with bit 0 of byte 0 (magic) flipped",
            flip(0),
        ),
        (
            "must_fail_bit_flip_record_size.sbx",
            "many_records with bit 0 of byte 11 flipped: record size 65 instead of 64",
            flip(11),
        ),
        (
            "must_fail_bit_flip_salt.sbx",
            "many_records with bit 0 of byte 12 (salt) flipped",
            flip(12),
        ),
        (
            "must_fail_bit_flip_record.sbx",
            "many_records with bit 0 of the first ciphertext byte of record 2 flipped",
            flip(HEADER_LEN + 2 * 80),
        ),
        (
            "must_fail_bit_flip_tag.sbx",
            "many_records with bit 0 of the last byte (the last tag) flipped",
            flip(valid.len() - 1),
        ),
        (
            "must_fail_appended_garbage.sbx",
            "many_records followed by the 5 bytes 'extra'",
            [valid, b"extra".as_slice()].concat(),
        ),
        (
            "must_fail_appended_empty_record.sbx",
            "the 256 bytes of many_records_exact_multiple's recipe sealed as 4 full records (last flag 0) \
             and an empty record 4 with the last flag, under many_records' header",
            seal_raw(
                &key,
                &header,
                &[
                    (0, false, chunks[0]),
                    (1, false, chunks[1]),
                    (2, false, chunks[2]),
                    (3, false, chunks[3]),
                    (4, true, b""),
                ],
            ),
        ),
        (
            "must_fail_missing_last_flag.sbx",
            "many_records with its last record sealed with last flag 0",
            seal_raw(
                &key,
                &header,
                &chunks
                    .iter()
                    .enumerate()
                    .map(|(i, chunk)| (i as u64, false, *chunk))
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "must_fail_record_after_last.sbx",
            "record 0 (64 bytes) sealed with the last flag, then record 1 (17 bytes) also with the last flag",
            seal_raw(
                &key,
                &header,
                &[(0, true, chunks[0]), (1, true, &chunks[5][..17])],
            ),
        ),
        (
            "must_fail_wrong_key.sbx",
            "the many_records plaintext and header encrypted under the secret ffeeddccbbaa99887766554433221100",
            encrypt_all(
                &LinkSecret::from_bytes(unhex_array(WRONG_SECRET)),
                header,
                &text,
            ),
        ),
    ]
}

/// Seals `plaintext` as metadata with AES-GCM directly, bypassing the
/// crate's checks.
fn seal_metadata_raw(key: &MetadataKey, version: u8, nonce: [u8; 12], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.expose_bytes().into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .expect("seal");
    [&[version][..], &nonce, &sealed].concat()
}

/// The invalid metadata, derived from the first metadata vector.
fn invalid_metadata(valid: &[u8], key: &MetadataKey) -> Vec<InvalidMetadataVector> {
    let flip = |offset: usize| -> Vec<u8> {
        let mut out = valid.to_vec();
        out[offset] ^= 0x01;
        out
    };
    let nonce = [0x42; 12];
    let wrong_key = LinkSecret::from_bytes(unhex_array(WRONG_SECRET)).metadata_key();
    let json = br#"{"name":"report.pdf","type":"application/pdf","size":150000}"#;
    let oversized = format!(
        "{:<width$}",
        std::str::from_utf8(json).expect("utf-8"),
        width = MAX_METADATA_LEN - 29 + 1
    );
    let cases = [
        ("must_fail_bit_flip_version", flip(0)),
        ("must_fail_bit_flip_nonce", flip(1)),
        ("must_fail_bit_flip_ciphertext", flip(13)),
        ("must_fail_bit_flip_tag", flip(valid.len() - 1)),
        ("must_fail_truncated", valid[..valid.len() - 1].to_vec()),
        (
            "must_fail_version_2",
            seal_metadata_raw(key, 2, nonce, json),
        ),
        (
            "must_fail_wrong_key",
            seal_metadata_raw(&wrong_key, 1, nonce, json),
        ),
        (
            "must_fail_not_json",
            seal_metadata_raw(key, 1, nonce, b"report.pdf"),
        ),
        (
            "must_fail_missing_size",
            seal_metadata_raw(key, 1, nonce, br#"{"name":"a","type":"b"}"#),
        ),
        (
            "must_fail_over_4096_bytes",
            seal_metadata_raw(key, 1, nonce, oversized.as_bytes()),
        ),
    ];
    cases
        .into_iter()
        .map(|(case, ciphertext)| InvalidMetadataVector {
            case: case.to_owned(),
            ciphertext: hex(&ciphertext),
        })
        .collect()
}

/// Builds every vector: the JSON and the files it names.
fn build() -> (Vectors, Vec<(String, Vec<u8>)>) {
    let secret = secret();
    let id = FileId::from_bytes(ID);
    let link = Link::new(id.clone(), LinkSecret::from_bytes(*secret.expose_bytes()));
    let token = secret.claim_token();
    let metadata_key = secret.metadata_key();

    let metadata: Vec<MetadataVector> = METADATA
        .iter()
        .map(|&(name, mime, size, nonce)| {
            let meta = Metadata {
                name: name.to_owned(),
                mime: mime.to_owned(),
                size,
            };
            let ciphertext = encrypt_metadata_with_nonce(&metadata_key, &meta, unhex_array(nonce))
                .expect("metadata");
            let json = format!(
                r#"{{"name":{},"type":{},"size":{size}}}"#,
                serde_json::to_string(name).expect("json"),
                serde_json::to_string(mime).expect("json"),
            );
            let padded = format!(
                "{json}{}",
                " ".repeat(json.len().next_multiple_of(128) - json.len())
            );
            MetadataVector {
                name: name.to_owned(),
                mime: mime.to_owned(),
                size,
                nonce: nonce.to_owned(),
                plaintext: hex(padded.as_bytes()),
                ciphertext: hex(&ciphertext),
            }
        })
        .collect();

    let mut files = Vec::new();
    let mut content = Vec::new();
    for &(case, record_size, salt, len) in CONTENT {
        let header = Header::with_salt(record_size, unhex_array(salt)).expect("valid header");
        let ciphertext = encrypt_all(&secret, header, &plaintext(len));
        let file = format!("{case}.sbx");
        content.push(ContentVector {
            case: case.to_owned(),
            record_size,
            salt: salt.to_owned(),
            header: hex(&header.to_bytes()),
            content_key: hex(secret.content_key(&header).expose_bytes()),
            plaintext_len: len,
            file: file.clone(),
            ciphertext_len: ciphertext.len() as u64,
            sha256: sha256(&ciphertext),
        });
        files.push((file, ciphertext));
    }

    let many = files
        .iter()
        .find(|(name, _)| name == "many_records.sbx")
        .expect("many_records")
        .1
        .clone();
    let mut invalid_content_vectors = Vec::new();
    for (file, how, bytes) in invalid_content(&many) {
        invalid_content_vectors.push(InvalidContentVector {
            file: file.to_owned(),
            how: how.to_owned(),
            sha256: sha256(&bytes),
        });
        files.push((file.to_owned(), bytes));
    }

    let invalid_metadata = invalid_metadata(&unhex(&metadata[0].ciphertext), &metadata_key);

    let vectors = Vectors {
        description: "Safebox format version 1 test vectors; see docs/FORMAT.md. Every value is lower-case hex \
                      unless its name ends in _b64 (unpadded base64url). Content files sit next to this file; \
                      every invalid vector must fail under `secret`."
            .to_owned(),
        plaintext_recipe: RECIPE.to_owned(),
        secret: SECRET.to_owned(),
        id: id.to_string(),
        link_fragment: link.fragment(),
        claim_token: hex(&URL_SAFE_NO_PAD.decode(token.to_base64().as_bytes()).expect("base64")),
        claim_token_b64: token.to_base64().to_string(),
        claim_hash: hex(token.hash().as_bytes()),
        claim_hash_b64: token.hash().to_base64(),
        metadata_key: hex(metadata_key.expose_bytes()),
        metadata,
        content,
        invalid_content: invalid_content_vectors,
        invalid_metadata,
    };
    (vectors, files)
}

fn read_json() -> Vectors {
    let text = fs::read_to_string(vectors_dir().join("vectors.json")).expect("read vectors.json");
    serde_json::from_str(&text).expect("parse vectors.json")
}

fn read_file(name: &str) -> Vec<u8> {
    fs::read(vectors_dir().join(name)).unwrap_or_else(|error| panic!("read {name}: {error}"))
}

#[test]
#[ignore = "writes tests/vectors/; run only when the format changes on purpose"]
fn regenerate_vectors() {
    let (vectors, files) = build();
    let dir = vectors_dir();
    fs::create_dir_all(&dir).expect("create vectors dir");
    for entry in fs::read_dir(&dir).expect("list vectors dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "sbx") {
            fs::remove_file(path).expect("remove old vector");
        }
    }
    for (name, bytes) in &files {
        fs::write(dir.join(name), bytes).expect("write vector");
    }
    let json = serde_json::to_string_pretty(&vectors).expect("serialize") + "\n";
    fs::write(dir.join("vectors.json"), json).expect("write vectors.json");
}

#[test]
fn frozen_json_matches_the_implementation() {
    assert_eq!(read_json(), build().0);
}

#[test]
fn frozen_files_match_the_implementation_byte_for_byte() {
    for (name, bytes) in build().1 {
        assert!(
            read_file(&name) == bytes,
            "{name} differs from what the implementation produces now"
        );
    }
}

#[test]
fn vectors_dir_holds_only_named_files() {
    let vectors = read_json();
    let named: BTreeSet<String> = vectors
        .content
        .iter()
        .map(|vector| vector.file.clone())
        .chain(
            vectors
                .invalid_content
                .iter()
                .map(|vector| vector.file.clone()),
        )
        .chain(["vectors.json".to_owned()])
        .collect();
    let present: BTreeSet<String> = fs::read_dir(vectors_dir())
        .expect("list vectors dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(named, present);
}

#[test]
fn frozen_keys_and_tokens_derive_from_the_secret() {
    let vectors = read_json();
    let secret = LinkSecret::from_bytes(unhex_array(&vectors.secret));
    let token = secret.claim_token();

    assert_eq!(*token.to_base64(), vectors.claim_token_b64);
    assert_eq!(hex(token.hash().as_bytes()), vectors.claim_hash);
    assert_eq!(token.hash().to_base64(), vectors.claim_hash_b64);
    assert_eq!(
        hex(secret.metadata_key().expose_bytes()),
        vectors.metadata_key
    );

    let link = Link::parse(&format!(
        "https://safebox.example/#{}",
        vectors.link_fragment
    ))
    .expect("link");
    assert_eq!(link.id.as_str(), vectors.id);
    assert_eq!(hex(link.secret.expose_bytes()), vectors.secret);
}

#[test]
fn frozen_content_decrypts_to_the_recipe() {
    let vectors = read_json();
    let secret = LinkSecret::from_bytes(unhex_array(&vectors.secret));
    for vector in &vectors.content {
        let file = read_file(&vector.file);
        assert_eq!(sha256(&file), vector.sha256, "{}", vector.file);
        assert_eq!(file.len() as u64, vector.ciphertext_len, "{}", vector.file);
        assert_eq!(hex(&file[..HEADER_LEN]), vector.header, "{}", vector.file);

        let expected = plaintext(vector.plaintext_len);
        assert!(
            decrypt_all(&secret, &file).expect("decrypt_all") == expected,
            "{}",
            vector.file
        );
        assert!(
            decrypt_streaming(&secret, &file).expect("streaming") == expected,
            "{}",
            vector.file
        );
    }
}

#[test]
fn frozen_must_fail_content_fails() {
    let vectors = read_json();
    let secret = LinkSecret::from_bytes(unhex_array(&vectors.secret));
    assert!(!vectors.invalid_content.is_empty());
    for vector in &vectors.invalid_content {
        assert!(vector.file.starts_with("must_fail_"), "{}", vector.file);
        let file = read_file(&vector.file);
        assert_eq!(sha256(&file), vector.sha256, "{}", vector.file);
        assert!(
            decrypt_all(&secret, &file).is_err(),
            "decrypt_all accepted {}",
            vector.file
        );
        assert!(
            decrypt_streaming(&secret, &file).is_err(),
            "streaming accepted {}",
            vector.file
        );
    }
}

#[test]
fn frozen_metadata_decrypts_and_reencrypts() {
    let vectors = read_json();
    let key = LinkSecret::from_bytes(unhex_array(&vectors.secret)).metadata_key();
    for vector in &vectors.metadata {
        let meta = decrypt_metadata(&key, &unhex(&vector.ciphertext)).expect("decrypt metadata");
        assert_eq!(
            meta,
            Metadata {
                name: vector.name.clone(),
                mime: vector.mime.clone(),
                size: vector.size
            }
        );

        let again =
            encrypt_metadata_with_nonce(&key, &meta, unhex_array(&vector.nonce)).expect("encrypt");
        assert_eq!(hex(&again), vector.ciphertext);

        // The plaintext as the spec describes it, checked with AES-GCM directly.
        let plaintext = unhex(&vector.plaintext);
        let cipher = Aes256Gcm::new(key.expose_bytes().into());
        let sealed = unhex(&vector.ciphertext);
        assert_eq!(sealed[0], 1);
        assert_eq!(hex(&sealed[1..13]), vector.nonce);
        let opened = cipher
            .decrypt(Nonce::from_slice(&sealed[1..13]), &sealed[13..])
            .expect("AES-GCM");
        assert_eq!(hex(&opened), vector.plaintext);
        assert_eq!(plaintext.len() % 128, 0);
        assert_eq!(again.len(), 1 + 12 + plaintext.len() + 16);
    }
}

#[test]
fn frozen_must_fail_metadata_fails() {
    let vectors = read_json();
    let key = LinkSecret::from_bytes(unhex_array(&vectors.secret)).metadata_key();
    assert!(!vectors.invalid_metadata.is_empty());
    for vector in &vectors.invalid_metadata {
        assert!(vector.case.starts_with("must_fail_"), "{}", vector.case);
        assert!(
            decrypt_metadata(&key, &unhex(&vector.ciphertext)).is_err(),
            "accepted {}",
            vector.case
        );
    }
}
