//! Round trips at every size boundary of the record layout, through the
//! one-shot functions, the streaming types and the layout arithmetic.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::{decrypt_streaming, plaintext};
use safebox_crypto::{
    DEFAULT_RECORD_SIZE, Decryptor, Encryptor, FormatError, HEADER_LEN, Header, LinkSecret,
    MAX_RECORD_SIZE, MIN_RECORD_SIZE, RecordLayout, TAG_LEN, ciphertext_size, decrypt_all,
    encrypt_all, plaintext_size, record_nonce,
};

const R: u32 = 64;

/// Encrypts with the streaming encryptor, looking one record ahead.
fn encrypt_streaming(secret: &LinkSecret, header: Header, data: &[u8]) -> Vec<u8> {
    let mut encryptor = Encryptor::new(secret, header);
    let mut out = encryptor.header_bytes().to_vec();
    let size = header.record_size() as usize;
    let mut rest = data;
    while rest.len() > size {
        let (record, tail) = rest.split_at(size);
        out.extend(encryptor.encrypt_next(record).expect("encrypt_next"));
        rest = tail;
    }
    out.extend(encryptor.finish(rest).expect("finish"));
    out
}

/// Checks every path agrees for `len` bytes and returns the ciphertext.
fn round_trip(len: usize, record_size: u32) -> Vec<u8> {
    let secret = LinkSecret::generate();
    let header = Header::new(record_size).expect("header");
    let data = plaintext(len);

    let ciphertext = encrypt_all(&secret, header, &data);
    assert_eq!(encrypt_streaming(&secret, header, &data), ciphertext);
    assert_eq!(
        ciphertext.len() as u64,
        ciphertext_size(len as u64, record_size)
    );
    assert_eq!(
        plaintext_size(ciphertext.len() as u64, record_size),
        Ok(len as u64)
    );

    assert_eq!(
        decrypt_all(&secret, &ciphertext).expect("decrypt_all"),
        data
    );
    assert_eq!(
        decrypt_streaming(&secret, &ciphertext).expect("streaming"),
        data
    );
    ciphertext
}

#[test]
fn empty_plaintext_is_one_empty_last_record() {
    let ciphertext = round_trip(0, R);
    assert_eq!(ciphertext.len(), HEADER_LEN + TAG_LEN);
    assert_eq!(ciphertext.len(), 44);
}

#[test]
fn one_byte_is_one_record() {
    assert_eq!(round_trip(1, R).len(), HEADER_LEN + 1 + TAG_LEN);
}

#[test]
fn exactly_one_record_has_no_empty_record_after_it() {
    assert_eq!(round_trip(64, R).len(), HEADER_LEN + 64 + TAG_LEN);
}

#[test]
fn one_record_plus_one_byte_is_two_records() {
    assert_eq!(round_trip(65, R).len(), HEADER_LEN + 65 + 2 * TAG_LEN);
}

#[test]
fn many_records_with_a_short_last_one() {
    assert_eq!(
        round_trip(5 * 64 + 17, R).len(),
        HEADER_LEN + 337 + 6 * TAG_LEN
    );
}

#[test]
fn many_records_with_a_full_last_one() {
    assert_eq!(round_trip(4 * 64, R).len(), HEADER_LEN + 256 + 4 * TAG_LEN);
}

#[test]
fn smallest_record_size_round_trips() {
    round_trip(100, MIN_RECORD_SIZE);
}

#[test]
fn default_record_size_round_trips_around_its_boundaries() {
    for len in [0, 1, 65535, 65536, 65537, 150_000] {
        round_trip(len, DEFAULT_RECORD_SIZE);
    }
}

#[test]
fn record_size_outside_the_range_is_refused() {
    for size in [0, 1, MIN_RECORD_SIZE - 1, MAX_RECORD_SIZE + 1, u32::MAX] {
        assert_eq!(Header::new(size), Err(FormatError::InvalidRecordSize(size)));
        assert_eq!(
            plaintext_size(1000, size),
            Err(FormatError::InvalidRecordSize(size))
        );
    }
    assert!(Header::new(MIN_RECORD_SIZE).is_ok());
    assert!(Header::new(MAX_RECORD_SIZE).is_ok());
}

#[test]
fn header_bytes_round_trip_and_follow_the_spec() {
    let header = Header::with_salt(0x0001_0000, [0xab; 16]).expect("header");
    let bytes = header.to_bytes();
    assert_eq!(&bytes[..8], b"safebox\x01");
    assert_eq!(&bytes[8..12], &[0, 1, 0, 0]);
    assert_eq!(&bytes[12..], &[0xab; 16]);
    assert_eq!(Header::parse(&bytes), Ok(header));
}

#[test]
fn header_parse_refuses_other_lengths_magic_and_versions() {
    let bytes = Header::with_salt(64, [0; 16]).expect("header").to_bytes();
    assert_eq!(Header::parse(&bytes[..27]), Err(FormatError::InvalidHeader));
    assert_eq!(
        Header::parse(&[&bytes[..], &[0]].concat()),
        Err(FormatError::InvalidHeader)
    );
    assert_eq!(Header::parse(&[]), Err(FormatError::InvalidHeader));

    let mut other_magic = bytes;
    other_magic[0] = b'S';
    assert_eq!(Header::parse(&other_magic), Err(FormatError::InvalidHeader));

    let mut version_2 = bytes;
    version_2[7] = 2;
    assert_eq!(Header::parse(&version_2), Err(FormatError::InvalidHeader));

    let mut size_zero = bytes;
    size_zero[8..12].copy_from_slice(&[0; 4]);
    assert_eq!(
        Header::parse(&size_zero),
        Err(FormatError::InvalidRecordSize(0))
    );
}

#[test]
fn new_headers_get_fresh_salts() {
    let a = Header::new(R).expect("header");
    let b = Header::new(R).expect("header");
    assert_ne!(a.salt(), b.salt());
}

#[test]
fn record_nonce_is_the_index_in_11_bytes_then_the_last_flag() {
    assert_eq!(record_nonce(0, false), Ok([0; 12]));
    assert_eq!(
        record_nonce(0, true),
        Ok([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    );
    assert_eq!(
        record_nonce(0x0102_0304_0506_0708, false),
        Ok([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    );
    assert_eq!(
        record_nonce(u64::MAX, true),
        Ok([0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 1])
    );
}

#[test]
fn encryptor_refuses_records_of_the_wrong_length() {
    let secret = LinkSecret::generate();
    let mut encryptor = Encryptor::new(&secret, Header::new(R).expect("header"));
    for len in [0, 63, 65] {
        assert_eq!(
            encryptor.encrypt_next(&vec![0; len]),
            Err(FormatError::WrongRecordLength {
                expected: R,
                actual: len
            })
        );
    }
    // The errors left it usable.
    assert!(encryptor.encrypt_next(&[0; 64]).is_ok());
    assert_eq!(
        encryptor.finish(&[0; 65]),
        Err(FormatError::WrongRecordLength {
            expected: R,
            actual: 65
        })
    );
}

#[test]
fn encryptor_refuses_an_empty_last_record_after_full_ones() {
    let secret = LinkSecret::generate();
    let mut encryptor = Encryptor::new(&secret, Header::new(R).expect("header"));
    encryptor.encrypt_next(&[7; 64]).expect("encrypt_next");
    assert_eq!(encryptor.finish(&[]), Err(FormatError::EmptyLastRecord));
}

#[test]
fn encryptor_allows_an_empty_last_record_as_record_zero() {
    let secret = LinkSecret::generate();
    let header = Header::new(R).expect("header");
    let encryptor = Encryptor::new(&secret, header);
    let last = encryptor.finish(&[]).expect("finish");
    assert_eq!(last.len(), TAG_LEN);
    assert_eq!(
        decrypt_all(&secret, &[&header.to_bytes()[..], &last].concat()),
        Ok(Vec::new())
    );
}

#[test]
fn ciphertext_and_plaintext_sizes_agree_at_each_boundary() {
    let h = HEADER_LEN as u64;
    let t = TAG_LEN as u64;
    let cases = [
        (0, h + t),
        (1, h + 1 + t),
        (64, h + 64 + t),
        (65, h + 65 + 2 * t),
        (128, h + 128 + 2 * t),
    ];
    for (plain, sealed) in cases {
        assert_eq!(ciphertext_size(plain, R), sealed, "plaintext {plain}");
        assert_eq!(plaintext_size(sealed, R), Ok(plain), "ciphertext {sealed}");
    }
}

#[test]
fn impossible_ciphertext_lengths_are_refused() {
    let h = HEADER_LEN as u64;
    let t = TAG_LEN as u64;
    // Shorter than a header and a tag; a last record shorter than a tag; an
    // empty record after a full one.
    for len in [
        0,
        h,
        h + t - 1,
        h + 80 + 1,
        h + 80 + t - 1,
        h + 80 + t,
        h + 3 * 80 + t,
    ] {
        assert_eq!(
            plaintext_size(len, R),
            Err(FormatError::InvalidCiphertextLength(len)),
            "length {len}"
        );
    }
}

#[test]
fn ciphertext_size_saturates_instead_of_overflowing() {
    assert_eq!(ciphertext_size(u64::MAX, R), u64::MAX);
    assert_eq!(
        ciphertext_size(u64::MAX - 10, DEFAULT_RECORD_SIZE),
        u64::MAX
    );
    assert_eq!(ciphertext_size(100, 0), u64::MAX);
}

#[test]
fn record_layout_finds_every_record_and_the_last() {
    let header = Header::new(R).expect("header");
    let layout = RecordLayout::new(ciphertext_size(337, R), &header).expect("layout");
    assert_eq!(layout.record_count(), 6);
    assert_eq!(layout.plaintext_len(), 337);
    assert_eq!(layout.record_size(), R);
    assert_eq!(layout.ciphertext_len(), 28 + 337 + 6 * 16);
    assert_eq!(layout.record_range(0), Some(28..108));
    assert_eq!(layout.record_range(4), Some(348..428));
    assert_eq!(layout.record_range(5), Some(428..461));
    assert_eq!(layout.record_range(6), None);
    assert_eq!(layout.record_range(u64::MAX), None);
    assert!(!layout.is_last(4));
    assert!(layout.is_last(5));
    assert!(!layout.is_last(u64::MAX));
}

#[test]
fn record_layout_of_an_empty_file_is_one_tag() {
    let header = Header::new(R).expect("header");
    let layout = RecordLayout::new(44, &header).expect("layout");
    assert_eq!(layout.record_count(), 1);
    assert_eq!(layout.plaintext_len(), 0);
    assert_eq!(layout.record_range(0), Some(28..44));
    assert!(layout.is_last(0));
}

#[test]
fn decryptor_reports_its_header_and_record_length() {
    let secret = LinkSecret::generate();
    let header = Header::new(R).expect("header");
    let decryptor = Decryptor::new(&secret, &header.to_bytes()).expect("decryptor");
    assert_eq!(decryptor.header(), &header);
    assert_eq!(decryptor.sealed_record_len(), 80);
    assert_eq!(header.sealed_record_len(), 80);
    assert!(!decryptor.is_finished());
}

#[test]
fn content_key_records_open_in_any_order() {
    let secret = LinkSecret::generate();
    let header = Header::new(R).expect("header");
    let key = secret.content_key(&header);
    let sealed: Vec<Vec<u8>> = (0..4)
        .map(|i| key.seal_record(i, i == 3, &[i as u8; 64]).expect("seal"))
        .collect();
    for i in (0..4).rev() {
        assert_eq!(
            key.open_record(i, i == 3, &sealed[i as usize]),
            Ok(vec![i as u8; 64])
        );
    }
}
