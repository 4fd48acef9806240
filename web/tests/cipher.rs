//! Record cipher in a real browser: WebCrypto and the portable AES-GCM must
//! produce the same bytes as `safebox-crypto`, and reject the same inputs
//! with the same opaque error.

// wasm_bindgen_test functions are not #[test], so clippy's test exemption
// for unwrap does not reach them.
#![allow(clippy::unwrap_used)]

use js_sys::Uint8Array;
use safebox_crypto::{DecryptError, Header, LinkSecret, TAG_LEN, encrypt_all};
use safebox_web::cipher::{Backend, RecordCipher};
use safebox_web::upload::{CancelToken, UploadError, encrypt_file};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_browser);

const SALT: [u8; 16] = [0x5A; 16];

fn secret() -> LinkSecret {
    LinkSecret::from_bytes(*b"0123456789abcdef")
}

fn header(record_size: u32) -> Header {
    Header::with_salt(record_size, SALT).unwrap()
}

/// Bytes 0, 1, 2, ... wrapping at 251, so shifted records differ.
fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn ciphers(header: &Header) -> [RecordCipher; 2] {
    let subtle = RecordCipher::subtle(&secret().content_key(header))
        .await
        .unwrap();
    let portable = RecordCipher::portable(secret().content_key(header));
    assert_eq!(subtle.backend(), Backend::Subtle);
    assert_eq!(portable.backend(), Backend::Portable);
    [subtle, portable]
}

async fn blob_bytes(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

fn blob_of(bytes: &[u8]) -> Blob {
    let parts = js_sys::Array::of1(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts).unwrap()
}

#[wasm_bindgen_test]
async fn new_prefers_subtle() {
    let cipher = RecordCipher::new(secret().content_key(&header(16))).await;
    assert_eq!(cipher.backend(), Backend::Subtle);
}

#[wasm_bindgen_test]
async fn seal_same_bytes_both_backends() {
    let header = header(64);
    let [subtle, portable] = ciphers(&header).await;
    let key = secret().content_key(&header);

    for (index, last, len) in [
        (0, true, 0),
        (0, false, 64),
        (1, true, 1),
        (7, false, 64),
        (u64::from(u32::MAX) + 3, true, 33),
    ] {
        let data = plaintext(len);
        let expected = key.seal_record(index, last, &data).unwrap();
        let from_subtle = subtle.seal(index, last, &data).await.unwrap();
        let from_portable = portable.seal(index, last, &data).await.unwrap();
        assert_eq!(
            from_subtle, expected,
            "subtle, record {index} last={last} len={len}"
        );
        assert_eq!(
            from_portable, expected,
            "portable, record {index} last={last} len={len}"
        );
        assert_eq!(expected.len(), len + TAG_LEN);
    }
}

#[wasm_bindgen_test]
async fn open_round_trip_both_backends() {
    let header = header(64);
    let ciphers = ciphers(&header).await;
    let data = plaintext(50);
    let sealed = secret()
        .content_key(&header)
        .seal_record(3, true, &data)
        .unwrap();

    for cipher in &ciphers {
        let opened = cipher.open(3, true, &sealed).await.unwrap();
        assert_eq!(*opened, data, "{:?}", cipher.backend());
    }
}

#[wasm_bindgen_test]
async fn open_rejects_tampering_opaquely() {
    let header = header(64);
    let ciphers = ciphers(&header).await;
    let data = plaintext(40);
    let sealed = secret()
        .content_key(&header)
        .seal_record(2, false, &data)
        .unwrap();

    let mut flipped_body = sealed.clone();
    flipped_body[0] ^= 1;
    let mut flipped_tag = sealed.clone();
    *flipped_tag.last_mut().unwrap() ^= 0x80;
    let mut extended = sealed.clone();
    extended.push(0);

    let cases: [(&str, u64, bool, &[u8]); 8] = [
        ("flipped ciphertext bit", 2, false, &flipped_body),
        ("flipped tag bit", 2, false, &flipped_tag),
        ("wrong index", 3, false, &sealed),
        ("last flag set", 2, true, &sealed),
        ("appended byte", 2, false, &extended),
        ("cut tag", 2, false, &sealed[..sealed.len() - 1]),
        ("shorter than a tag", 2, false, &sealed[..TAG_LEN - 1]),
        ("empty", 2, false, &[]),
    ];
    for cipher in &ciphers {
        for (case, index, last, input) in cases {
            let result = cipher.open(index, last, input).await;
            assert_eq!(
                result.map(|_| ()),
                Err(DecryptError),
                "{case}, {:?}",
                cipher.backend()
            );
        }
    }
}

#[wasm_bindgen_test]
async fn open_rejects_other_key() {
    let header = header(64);
    let other = LinkSecret::from_bytes([0xEE; 16]);
    let sealed = other
        .content_key(&header)
        .seal_record(0, true, &plaintext(10))
        .unwrap();

    for cipher in &ciphers(&header).await {
        assert_eq!(
            cipher.open(0, true, &sealed).await.map(|_| ()),
            Err(DecryptError),
            "{:?}",
            cipher.backend()
        );
    }
}

#[wasm_bindgen_test]
async fn encrypt_file_matches_encrypt_all() {
    // Record size 16: empty, short, exactly one record, one more than a
    // record, and many records with a short last one.
    for len in [0, 1, 15, 16, 17, 32, 100] {
        let header = header(16);
        let data = plaintext(len);
        let expected = encrypt_all(&secret(), header, &data);

        for cipher in &ciphers(&header).await {
            let blob = encrypt_file(
                &blob_of(&data),
                &header,
                cipher,
                &CancelToken::new(),
                &|_| {},
            )
            .await
            .unwrap();
            assert_eq!(
                blob_bytes(&blob).await,
                expected,
                "len {len}, {:?}",
                cipher.backend()
            );
        }
    }
}

#[wasm_bindgen_test]
async fn encrypt_file_default_record_size() {
    let header = header(safebox_crypto::DEFAULT_RECORD_SIZE);
    let data = plaintext(200_000);
    let expected = encrypt_all(&secret(), header, &data);

    for cipher in &ciphers(&header).await {
        let progress = std::cell::RefCell::new(Vec::new());
        let blob = encrypt_file(
            &blob_of(&data),
            &header,
            cipher,
            &CancelToken::new(),
            &|done| {
                progress.borrow_mut().push(done);
            },
        )
        .await
        .unwrap();
        assert_eq!(blob_bytes(&blob).await, expected, "{:?}", cipher.backend());
        assert_eq!(
            *progress.borrow(),
            vec![65_536, 131_072, 196_608, 200_000],
            "{:?}",
            cipher.backend()
        );
    }
}

#[wasm_bindgen_test]
async fn encrypt_file_stops_when_cancelled() {
    let header = header(16);
    let [subtle, _] = ciphers(&header).await;
    let cancel = CancelToken::new();
    cancel.cancel();

    let result = encrypt_file(
        &blob_of(&plaintext(100)),
        &header,
        &subtle,
        &cancel,
        &|_| {},
    )
    .await;
    assert_eq!(result.map(|_| ()), Err(UploadError::Cancelled));
}
