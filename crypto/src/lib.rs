//! Safebox format, key schedule and link.
//!
//! Safebox shares a file through a link `<page>/#<id>.<secret>`. The secret
//! never reaches the server; every key is derived from it:
//!
//! - the [`ClaimToken`] proves to the server that the caller has the link
//!   (the server keeps only its [`ClaimHash`]);
//! - the [`MetadataKey`] encrypts the file name, type and size
//!   ([`encrypt_metadata`], [`decrypt_metadata`]);
//! - the [`ContentKey`] encrypts the content in records of a fixed size
//!   behind a 28-byte [`Header`] ([`Encryptor`], [`Decryptor`]).
//!
//! The byte-level format is specified in `docs/FORMAT.md`; frozen test
//! vectors sit in `crypto/tests/vectors/`. The crate does no I/O and builds
//! for native targets and `wasm32-unknown-unknown`.
//!
//! Every failed authentication is the one opaque [`DecryptError`]; misuse by
//! the caller is a [`FormatError`].
//!
//! ```
//! use safebox_crypto::{DEFAULT_RECORD_SIZE, FileId, Header, Link, LinkSecret, decrypt_all, encrypt_all};
//!
//! let link = Link::new(FileId::generate(), LinkSecret::generate());
//! let header = Header::new(DEFAULT_RECORD_SIZE)?;
//! let ciphertext = encrypt_all(&link.secret, header, b"hello");
//!
//! let url = link.to_url("https://safebox.example/");
//! let received = Link::parse(&url)?;
//! assert_eq!(decrypt_all(&received.secret, &ciphertext)?, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod aead;
mod b64;
mod error;
mod file_name;
mod header;
mod id;
mod keys;
mod layout;
mod link;
mod metadata;
mod stream;

pub use error::{DecryptError, EncodingError, FormatError, IdError, LinkError};
pub use file_name::MAX_FILE_NAME_LEN;
pub use header::{
    DEFAULT_RECORD_SIZE, HEADER_LEN, Header, MAX_RECORD_SIZE, MIN_RECORD_SIZE, SALT_LEN, TAG_LEN,
};
pub use id::{FILE_ID_CHARS, FILE_ID_LEN, FileId};
pub use keys::{
    ClaimAttempt, ClaimHash, ClaimToken, ContentKey, KEY_LEN, LINK_SECRET_LEN, LinkSecret,
    MetadataKey,
};
pub use layout::{RecordLayout, ciphertext_size, plaintext_size};
pub use link::{Link, MAX_LINK_LEN};
pub use metadata::{
    MAX_METADATA_LEN, MAX_MIME_LEN, MAX_NAME_LEN, Metadata, decrypt_metadata, encrypt_metadata,
    encrypt_metadata_with_nonce,
};
pub use stream::{Decryptor, Encryptor, decrypt_all, encrypt_all, record_nonce};
pub use subtle::ConstantTimeEq;
pub use zeroize::Zeroizing;
