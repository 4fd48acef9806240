//! The frozen format vectors of `crypto/tests/vectors/` in a real browser,
//! through both record cipher backends: encryption must reproduce each
//! `.sbx` file byte for byte, decryption must return the plaintext, and
//! every `must_fail_*` file must fail with the one opaque `DecryptError`.

// wasm_bindgen_test functions are not #[test], so clippy's test exemption
// for unwrap does not reach them.
#![allow(clippy::unwrap_used)]

use js_sys::Uint8Array;
use safebox_crypto::{DecryptError, Header, LinkSecret, decrypt_metadata};
use safebox_web::cipher::{Backend, RecordCipher};
use safebox_web::download::{Piece, RecordSplitter};
use safebox_web::upload::{CancelToken, encrypt_file};
use serde::Deserialize;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_browser);

const VECTORS_JSON: &str = include_str!("../../crypto/tests/vectors/vectors.json");

/// Every `.sbx` file of the vector set, by name.
const FILES: &[(&str, &[u8])] = &[
    (
        "empty.sbx",
        include_bytes!("../../crypto/tests/vectors/empty.sbx"),
    ),
    (
        "one_byte.sbx",
        include_bytes!("../../crypto/tests/vectors/one_byte.sbx"),
    ),
    (
        "one_record.sbx",
        include_bytes!("../../crypto/tests/vectors/one_record.sbx"),
    ),
    (
        "one_record_plus_one_byte.sbx",
        include_bytes!("../../crypto/tests/vectors/one_record_plus_one_byte.sbx"),
    ),
    (
        "many_records.sbx",
        include_bytes!("../../crypto/tests/vectors/many_records.sbx"),
    ),
    (
        "many_records_exact_multiple.sbx",
        include_bytes!("../../crypto/tests/vectors/many_records_exact_multiple.sbx"),
    ),
    (
        "default_record_size.sbx",
        include_bytes!("../../crypto/tests/vectors/default_record_size.sbx"),
    ),
    (
        "must_fail_header_only.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_header_only.sbx"),
    ),
    (
        "must_fail_truncated_at_record_boundary.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_truncated_at_record_boundary.sbx"),
    ),
    (
        "must_fail_truncated_mid_record.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_truncated_mid_record.sbx"),
    ),
    (
        "must_fail_truncated_last_byte.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_truncated_last_byte.sbx"),
    ),
    (
        "must_fail_reordered_records.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_reordered_records.sbx"),
    ),
    (
        "must_fail_duplicated_record.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_duplicated_record.sbx"),
    ),
    (
        "must_fail_bit_flip_magic.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_bit_flip_magic.sbx"),
    ),
    (
        "must_fail_bit_flip_record_size.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_bit_flip_record_size.sbx"),
    ),
    (
        "must_fail_bit_flip_salt.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_bit_flip_salt.sbx"),
    ),
    (
        "must_fail_bit_flip_record.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_bit_flip_record.sbx"),
    ),
    (
        "must_fail_bit_flip_tag.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_bit_flip_tag.sbx"),
    ),
    (
        "must_fail_appended_garbage.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_appended_garbage.sbx"),
    ),
    (
        "must_fail_appended_empty_record.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_appended_empty_record.sbx"),
    ),
    (
        "must_fail_missing_last_flag.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_missing_last_flag.sbx"),
    ),
    (
        "must_fail_record_after_last.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_record_after_last.sbx"),
    ),
    (
        "must_fail_wrong_key.sbx",
        include_bytes!("../../crypto/tests/vectors/must_fail_wrong_key.sbx"),
    ),
];

#[derive(Deserialize)]
struct Vectors {
    secret: String,
    metadata: Vec<MetadataVector>,
    content: Vec<ContentVector>,
    invalid_content: Vec<InvalidContent>,
}

#[derive(Deserialize)]
struct MetadataVector {
    name: String,
    mime: String,
    size: u64,
    ciphertext: String,
}

#[derive(Deserialize)]
struct ContentVector {
    case: String,
    record_size: u32,
    salt: String,
    header: String,
    content_key: String,
    plaintext_len: usize,
    file: String,
}

#[derive(Deserialize)]
struct InvalidContent {
    file: String,
    how: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS_JSON).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn secret(vectors: &Vectors) -> LinkSecret {
    LinkSecret::from_bytes(hex(&vectors.secret).try_into().unwrap())
}

fn file(name: &str) -> &'static [u8] {
    FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, bytes)| *bytes)
        .unwrap_or_else(|| unreachable!("{name} is listed in vectors.json but not in FILES"))
}

/// Builds the vector plaintext, whose byte i is i mod 251.
fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn blob_of(bytes: &[u8]) -> Blob {
    Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&Uint8Array::from(bytes))).unwrap()
}

async fn blob_bytes(blob: &Blob) -> Vec<u8> {
    Uint8Array::new(&JsFuture::from(blob.array_buffer()).await.unwrap()).to_vec()
}

async fn cipher_for(backend: Backend, secret: &LinkSecret, header: &Header) -> RecordCipher {
    let key = secret.content_key(header);
    match backend {
        Backend::Subtle => RecordCipher::subtle(&key).await.unwrap(),
        Backend::Portable => RecordCipher::portable(key),
    }
}

/// Decrypts a whole ciphertext the way the receive page does: cut by
/// [`RecordSplitter`] from chunks of `chunk` bytes, opened record by record.
async fn decrypt(
    backend: Backend,
    secret: &LinkSecret,
    ciphertext: &[u8],
    chunk: usize,
) -> Result<Vec<u8>, DecryptError> {
    let mut splitter = RecordSplitter::new(ciphertext.len() as u64);
    let mut cipher = None;
    let mut plaintext = Vec::new();

    for part in ciphertext.chunks(chunk) {
        splitter.push(part);
        while let Some(piece) = splitter.next_piece()? {
            match piece {
                Piece::Header { header, .. } => {
                    cipher = Some(cipher_for(backend, secret, &header).await)
                }
                Piece::Record {
                    index,
                    last,
                    sealed,
                } => {
                    let opened = cipher
                        .as_ref()
                        .ok_or(DecryptError)?
                        .open(index, last, &sealed)
                        .await?;
                    plaintext.extend_from_slice(&opened);
                }
            }
        }
    }

    if splitter.is_done() {
        Ok(plaintext)
    } else {
        Err(DecryptError)
    }
}

const BACKENDS: [Backend; 2] = [Backend::Subtle, Backend::Portable];

#[wasm_bindgen_test]
fn vector_files_all_listed() {
    let vectors = vectors();
    let listed = vectors
        .content
        .iter()
        .map(|case| &case.file)
        .chain(vectors.invalid_content.iter().map(|case| &case.file));
    for name in listed {
        assert!(
            FILES.iter().any(|(file, _)| file == name),
            "{name} missing from FILES"
        );
    }
    assert_eq!(
        FILES.len(),
        vectors.content.len() + vectors.invalid_content.len()
    );
}

#[wasm_bindgen_test]
async fn content_vectors_encrypt_exactly() {
    let vectors = vectors();
    let secret = secret(&vectors);

    for case in &vectors.content {
        let header =
            Header::with_salt(case.record_size, hex(&case.salt).try_into().unwrap()).unwrap();
        assert_eq!(
            header.to_bytes().to_vec(),
            hex(&case.header),
            "{}: header",
            case.case
        );
        assert_eq!(
            secret.content_key(&header).expose_bytes().to_vec(),
            hex(&case.content_key),
            "{}: content key",
            case.case
        );

        let data = blob_of(&plaintext(case.plaintext_len));
        for backend in BACKENDS {
            let cipher = cipher_for(backend, &secret, &header).await;
            let sealed = encrypt_file(&data, &header, &cipher, &CancelToken::new(), &|_| {})
                .await
                .unwrap();
            assert!(
                blob_bytes(&sealed).await == file(&case.file),
                "{}: {backend:?} output differs from {}",
                case.case,
                case.file
            );
        }
    }
}

#[wasm_bindgen_test]
async fn content_vectors_decrypt() {
    let vectors = vectors();
    let secret = secret(&vectors);

    for case in &vectors.content {
        let expected = plaintext(case.plaintext_len);
        for backend in BACKENDS {
            for chunk in [7, 4096] {
                let opened = decrypt(backend, &secret, file(&case.file), chunk).await;
                assert!(
                    opened.as_ref() == Ok(&expected),
                    "{}: {backend:?}, chunks of {chunk}",
                    case.case
                );
            }
        }
    }
}

#[wasm_bindgen_test]
async fn invalid_vectors_fail_opaquely() {
    let vectors = vectors();
    let secret = secret(&vectors);

    for case in &vectors.invalid_content {
        for backend in BACKENDS {
            let result = decrypt(backend, &secret, file(&case.file), 4096).await;
            assert_eq!(
                result.map(|_| ()),
                Err(DecryptError),
                "{} ({}), {backend:?}",
                case.file,
                case.how
            );
        }
    }
}

#[wasm_bindgen_test]
fn metadata_vectors_decrypt() {
    let vectors = vectors();
    let key = secret(&vectors).metadata_key();

    for case in &vectors.metadata {
        let metadata = decrypt_metadata(&key, &hex(&case.ciphertext)).unwrap();
        assert_eq!(metadata.name, case.name);
        assert_eq!(metadata.mime, case.mime);
        assert_eq!(metadata.size, case.size);
    }
}
