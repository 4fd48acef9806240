//! Every modification of a ciphertext fails with the one opaque error.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::{decrypt_streaming, plaintext};
use safebox_crypto::{
    DecryptError, Decryptor, HEADER_LEN, Header, LinkSecret, RecordLayout, decrypt_all, encrypt_all,
};

const R: u32 = 64;
const SEALED: usize = 80;

struct Fixture {
    secret: LinkSecret,
    header: Header,
    ciphertext: Vec<u8>,
}

/// Six records: five full and a last one of 17 bytes.
fn fixture() -> Fixture {
    let secret = LinkSecret::generate();
    let header = Header::new(R).expect("header");
    let ciphertext = encrypt_all(&secret, header, &plaintext(337));
    Fixture {
        secret,
        header,
        ciphertext,
    }
}

fn records(f: &Fixture) -> Vec<&[u8]> {
    f.ciphertext[HEADER_LEN..].chunks(SEALED).collect()
}

fn join(f: &Fixture, records: &[&[u8]]) -> Vec<u8> {
    let mut out = f.header.to_bytes().to_vec();
    records
        .iter()
        .for_each(|record| out.extend_from_slice(record));
    out
}

/// Both decryption paths fail, with the same error.
fn assert_fails(secret: &LinkSecret, ciphertext: &[u8], what: &str) {
    assert_eq!(
        decrypt_all(secret, ciphertext),
        Err(DecryptError),
        "decrypt_all accepted {what}"
    );
    assert_eq!(
        decrypt_streaming(secret, ciphertext),
        Err(DecryptError),
        "streaming accepted {what}"
    );
}

#[test]
fn truncated_at_each_record_boundary_fails() {
    let f = fixture();
    for keep in 0..6 {
        let cut = HEADER_LEN + keep * SEALED;
        assert_fails(&f.secret, &f.ciphertext[..cut], &format!("{keep} records"));
    }
}

#[test]
fn truncated_at_every_byte_fails() {
    let f = fixture();
    for cut in 0..f.ciphertext.len() {
        assert_fails(
            &f.secret,
            &f.ciphertext[..cut],
            &format!("the first {cut} bytes"),
        );
    }
}

#[test]
fn truncated_empty_file_fails() {
    let secret = LinkSecret::generate();
    let ciphertext = encrypt_all(&secret, Header::new(R).expect("header"), b"");
    for cut in 0..ciphertext.len() {
        assert_fails(
            &secret,
            &ciphertext[..cut],
            &format!("the first {cut} bytes"),
        );
    }
}

#[test]
fn reordered_records_fail() {
    let f = fixture();
    let r = records(&f);
    assert_fails(
        &f.secret,
        &join(&f, &[r[1], r[0], r[2], r[3], r[4], r[5]]),
        "records 0 and 1 swapped",
    );
    assert_fails(
        &f.secret,
        &join(&f, &[r[0], r[1], r[2], r[4], r[3], r[5]]),
        "records 3 and 4 swapped",
    );
}

#[test]
fn duplicated_record_fails() {
    let f = fixture();
    let r = records(&f);
    assert_fails(
        &f.secret,
        &join(&f, &[r[0], r[0], r[1], r[2], r[3], r[4], r[5]]),
        "record 0 twice",
    );
    assert_fails(
        &f.secret,
        &join(&f, &[r[0], r[1], r[2], r[3], r[4], r[5], r[5]]),
        "the last record twice",
    );
}

#[test]
fn dropped_middle_record_fails() {
    let f = fixture();
    let r = records(&f);
    assert_fails(
        &f.secret,
        &join(&f, &[r[0], r[2], r[3], r[4], r[5]]),
        "record 1 missing",
    );
}

#[test]
fn bit_flip_anywhere_fails() {
    let f = fixture();
    for offset in 0..f.ciphertext.len() {
        for bit in [0, 7] {
            let mut changed = f.ciphertext.clone();
            changed[offset] ^= 1 << bit;
            assert_fails(
                &f.secret,
                &changed,
                &format!("bit {bit} of byte {offset} flipped"),
            );
        }
    }
}

#[test]
fn bit_flip_in_header_record_and_tag_fails() {
    let f = fixture();
    // Magic, version, record size, salt; a record's ciphertext; its tag.
    for offset in [
        0,
        7,
        11,
        12,
        27,
        HEADER_LEN + SEALED,
        HEADER_LEN + 2 * SEALED - 1,
    ] {
        let mut changed = f.ciphertext.clone();
        changed[offset] ^= 0x80;
        assert_fails(&f.secret, &changed, &format!("byte {offset}"));
    }
}

#[test]
fn wrong_key_fails() {
    let f = fixture();
    assert_fails(&LinkSecret::generate(), &f.ciphertext, "another secret");
}

#[test]
fn appended_garbage_fails() {
    let f = fixture();
    for extra in [&b"x"[..], &[0; 16], &[0; 17], &[0; SEALED]] {
        assert_fails(
            &f.secret,
            &[&f.ciphertext[..], extra].concat(),
            &format!("{} bytes appended", extra.len()),
        );
    }
}

#[test]
fn appended_empty_record_fails() {
    // A file of exactly four records, with a fifth, empty, record sealed with
    // the last flag: a valid-looking end that the format forbids.
    let secret = LinkSecret::generate();
    let header = Header::new(R).expect("header");
    let key = secret.content_key(&header);
    let data = plaintext(256);

    let mut records: Vec<Vec<u8>> = data
        .chunks(64)
        .enumerate()
        .map(|(i, chunk)| key.seal_record(i as u64, false, chunk).expect("seal"))
        .collect();
    records.push(key.seal_record(4, true, b"").expect("seal"));
    let mut ciphertext = header.to_bytes().to_vec();
    records
        .iter()
        .for_each(|record| ciphertext.extend_from_slice(record));

    assert_fails(&secret, &ciphertext, "an empty last record after full ones");
}

#[test]
fn appended_record_after_the_last_fails() {
    let f = fixture();
    let key = f.secret.content_key(&f.header);
    let extra = key.seal_record(6, true, b"more").expect("seal");
    assert_fails(
        &f.secret,
        &[&f.ciphertext[..], &extra].concat(),
        "a record after the last",
    );
}

#[test]
fn missing_last_flag_fails() {
    let f = fixture();
    let key = f.secret.content_key(&f.header);
    let data = plaintext(337);
    let mut ciphertext = f.header.to_bytes().to_vec();
    for (i, chunk) in data.chunks(64).enumerate() {
        ciphertext.extend(key.seal_record(i as u64, false, chunk).expect("seal"));
    }
    assert_fails(&f.secret, &ciphertext, "no record with the last flag");
}

#[test]
fn decryptor_refuses_a_record_after_the_last() {
    let f = fixture();
    let r = records(&f);
    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    for (i, record) in r.iter().enumerate() {
        decryptor.decrypt_next(record, i == 5).expect("record");
    }
    assert!(decryptor.is_finished());
    assert_eq!(decryptor.decrypt_next(r[5], true), Err(DecryptError));
    assert_eq!(decryptor.finish(), Err(DecryptError));
}

#[test]
fn decryptor_finish_without_the_last_record_fails() {
    let f = fixture();
    let r = records(&f);
    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    for record in &r[..5] {
        decryptor.decrypt_next(record, false).expect("record");
    }
    assert_eq!(decryptor.finish(), Err(DecryptError));
}

#[test]
fn decryptor_marking_a_full_record_last_too_early_fails() {
    let f = fixture();
    let r = records(&f);
    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    decryptor.decrypt_next(r[0], false).expect("record 0");
    assert_eq!(decryptor.decrypt_next(r[1], true), Err(DecryptError));
}

#[test]
fn decryptor_refuses_everything_after_an_error() {
    let f = fixture();
    let r = records(&f);
    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    assert_eq!(decryptor.decrypt_next(r[1], false), Err(DecryptError));
    // Even the right record 0 is refused now.
    assert_eq!(decryptor.decrypt_next(r[0], false), Err(DecryptError));
    assert_eq!(decryptor.finish(), Err(DecryptError));
}

#[test]
fn decryptor_refuses_records_of_impossible_length() {
    let f = fixture();
    let r = records(&f);
    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    // A short record that is not marked last.
    assert_eq!(decryptor.decrypt_next(r[5], false), Err(DecryptError));

    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    assert_eq!(decryptor.decrypt_next(&[], true), Err(DecryptError));

    let mut decryptor = Decryptor::new(&f.secret, &f.ciphertext[..HEADER_LEN]).expect("decryptor");
    assert_eq!(
        decryptor.decrypt_next(&[r[0], &[0]].concat(), false),
        Err(DecryptError)
    );
}

#[test]
fn decryptor_refuses_a_damaged_header_with_the_opaque_error() {
    let f = fixture();
    let header = f.header.to_bytes();
    assert_eq!(
        Decryptor::new(&f.secret, &header[..27]).map(|_| ()),
        Err(DecryptError)
    );
    assert_eq!(
        Decryptor::new(&f.secret, &[&header[..], &[0]].concat()).map(|_| ()),
        Err(DecryptError)
    );
    let mut version_2 = header;
    version_2[7] = 2;
    assert_eq!(
        Decryptor::new(&f.secret, &version_2).map(|_| ()),
        Err(DecryptError)
    );
}

#[test]
fn open_record_with_another_index_or_flag_fails() {
    let f = fixture();
    let key = f.secret.content_key(&f.header);
    let sealed = key.seal_record(3, false, &[1; 64]).expect("seal");
    assert_eq!(key.open_record(3, false, &sealed), Ok(vec![1; 64]));
    assert_eq!(key.open_record(2, false, &sealed), Err(DecryptError));
    assert_eq!(key.open_record(3, true, &sealed), Err(DecryptError));
    assert_eq!(key.open_record(3, false, &sealed[..15]), Err(DecryptError));
}

#[test]
fn layout_of_a_truncated_file_is_refused_or_misplaces_the_last_flag() {
    // A reader that trusts a truncated length still fails: the layout either
    // refuses the length or puts the last flag on a record that lacks it.
    let f = fixture();
    for cut in HEADER_LEN..f.ciphertext.len() {
        if let Ok(layout) = RecordLayout::new(cut as u64, &f.header) {
            assert_fails(
                &f.secret,
                &f.ciphertext[..cut],
                &format!("layout of {} records", layout.record_count()),
            );
        }
    }
}

#[test]
fn decryption_error_message_says_what_to_do() {
    let message = DecryptError.to_string();
    assert!(message.starts_with("decryption failed"), "{message}");
    assert!(message.contains("link"), "{message}");
}
