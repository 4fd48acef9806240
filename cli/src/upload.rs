//! Upload: encrypt a file record by record while it streams to the server.
//!
//! The steps follow the API: read the server's config, create the upload
//! with the encrypted metadata, send the ciphertext in one `PUT`, then
//! complete it. If anything fails after the create, or the user presses
//! Ctrl-C before the caller hands over the link, the upload is deleted again
//! on a best-effort basis.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indicatif::ProgressBar;
use reqwest::blocking::Body;
use safebox_crypto::{
    DEFAULT_RECORD_SIZE, Encryptor, FileId, Header, LinkSecret, Metadata, ciphertext_size,
    encrypt_metadata,
};
use zeroize::Zeroizing;

use safebox_protocol::{CreateUploadRequest, TokenText};

use crate::api::Api;
use crate::error::Error;
use crate::interrupt::CleanupGuard;

/// Media type sent when the extension matches no known type.
const DEFAULT_MIME: &str = "application/octet-stream";

/// A finished upload whose link is not yet handed over.
///
/// Until [`Uploaded::keep`] is called, the upload is deleted when this value
/// is dropped or the user presses Ctrl-C, so no ciphertext stays stored
/// without anyone holding its link.
#[must_use = "dropping the upload deletes it; call keep() once the link is handed over"]
pub struct Uploaded {
    /// The full link, which contains the key.
    pub link: Zeroizing<String>,
    /// The file id on the server.
    pub id: FileId,
    /// Expiry of an undownloaded file, in Unix seconds.
    pub expires_at: u64,
    api: Api,
    owner_token: Arc<TokenText>,
    /// Deletes the upload on drop or Ctrl-C.
    deletion: CleanupGuard,
}

impl Uploaded {
    /// Keeps the upload on the server, because its link was handed over.
    pub fn keep(self) {
        self.deletion.disarm();
    }

    /// Deletes the upload with the owner token, because its link could not
    /// be handed over.
    ///
    /// # Errors
    ///
    /// The network and server errors of [`Api::delete_upload`].
    pub fn delete(self) -> Result<(), Error> {
        self.deletion.disarm();
        self.api.delete_upload(self.id.as_str(), &self.owner_token)
    }
}

/// Reads the name, size and media type of the file at `path`, then uploads
/// it with [`upload_reader`].
///
/// # Errors
///
/// [`Error::ReadInput`] or [`Error::NotAFile`] for the local file, and any
/// error of [`upload_reader`].
pub fn upload_file(
    api: &Api,
    path: &Path,
    expires_in: u64,
    progress: &ProgressBar,
) -> Result<Uploaded, Error> {
    let read_error = |source| Error::ReadInput {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let stat = file.metadata().map_err(read_error)?;
    if !stat.is_file() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
        });
    }

    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| Error::NotAFile {
            path: path.to_owned(),
        })?;
    let mime = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or(DEFAULT_MIME)
        .to_owned();
    let metadata = Metadata {
        name,
        mime,
        size: stat.len(),
    };

    upload_reader(api, file, metadata, path, expires_in, progress)
}

/// Uploads exactly `metadata.size` bytes from `source` under `metadata`,
/// which is encrypted as given (the recipient sanitizes the name).
///
/// `path` names the source in error messages.
///
/// # Errors
///
/// [`Error::InputChanged`] if `source` contains fewer or more bytes than
/// `metadata.size`, [`Error::TooLarge`] over the server's limit, and the
/// network and server errors of [`Api`].
pub fn upload_reader<R: Read + Send + 'static>(
    api: &Api,
    source: R,
    metadata: Metadata,
    path: &Path,
    expires_in: u64,
    progress: &ProgressBar,
) -> Result<Uploaded, Error> {
    progress.set_length(metadata.size);
    let config = api.config()?;
    let size = ciphertext_size(metadata.size, DEFAULT_RECORD_SIZE);
    if size > config.max_size {
        return Err(Error::TooLarge {
            size,
            max: config.max_size,
        });
    }
    if expires_in > config.max_expires_in {
        return Err(Error::InvalidExpiry {
            value: format!("{expires_in}s"),
            reason: format!("the server allows at most {}s", config.max_expires_in),
        });
    }

    let secret = LinkSecret::generate();
    let claim_hash = secret.claim_token().hash().to_base64();
    let sealed_metadata = encrypt_metadata(&secret.metadata_key(), &metadata).map_err(|error| {
        Error::InvalidMetadata {
            path: path.to_owned(),
            reason: error.to_string(),
        }
    })?;
    let sealed_metadata = URL_SAFE_NO_PAD.encode(sealed_metadata);

    let created = api.create_upload(&CreateUploadRequest {
        size,
        expires_in,
        claim_hash,
        metadata: sealed_metadata,
    })?;
    // Checked before it is used in a URL, even the cleanup's.
    let id = FileId::parse(&created.id).map_err(|_| Error::Protocol {
        host: api.host(),
        detail: "the server returned an invalid file id".to_owned(),
    })?;
    let owner_token = Arc::new(created.owner_token);
    let cleanup = arm_delete(api, &id, &owner_token);

    let header =
        Header::new(DEFAULT_RECORD_SIZE).map_err(|error| Error::Encrypt(error.to_string()))?;
    let failure = Arc::new(Mutex::new(None));
    let reader = EncryptingReader::new(
        source,
        Encryptor::new(&secret, header),
        metadata.size,
        path.to_owned(),
        progress.clone(),
        Arc::clone(&failure),
    );
    let sent = api.put_blob(
        &created.upload_url,
        &created.upload_headers,
        Body::sized(reader, size),
    );
    if let Err(error) = sent {
        // A failed read aborts the request; report why the read failed.
        let cause = failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        return Err(match cause.unwrap_or(error) {
            // The server's error body gives only its limit.
            Error::TooLarge { max, .. } => Error::TooLarge { size, max },
            error => error,
        });
    }
    progress.finish_and_clear();

    // The cleanup stays armed: the caller disarms it with
    // `Uploaded::keep` once the link is handed over.
    let completed = api.complete(id.as_str(), &owner_token)?;

    let link =
        Zeroizing::new(safebox_crypto::Link::new(id.clone(), secret).to_url(&config.page_url));
    Ok(Uploaded {
        link,
        id,
        expires_at: completed.expires_at,
        api: api.clone(),
        owner_token,
        deletion: cleanup,
    })
}

/// Arms the deletion of a created upload, for a failure or Ctrl-C before its
/// link is handed over.
fn arm_delete(api: &Api, id: &FileId, owner_token: &Arc<TokenText>) -> CleanupGuard {
    let api = api.clone();
    let id = id.as_str().to_owned();
    let owner_token = Arc::clone(owner_token);
    CleanupGuard::arm(move || {
        // Best effort: an upload never completed expires on the server anyway.
        match api.delete_upload(&id, &owner_token) {
            Ok(()) => eprintln!("The upload was deleted from the server; no link was made."),
            Err(error) => eprintln!(
                "warning: could not delete the upload, which expires by itself; no link was \
                 made: {error}"
            ),
        }
    })
}

/// Slot for the error that ended an [`EncryptingReader`].
type FailureSlot = Arc<Mutex<Option<Error>>>;

/// A [`Read`] of the ciphertext: the header, then each record encrypted as
/// the plaintext is read from `source`.
///
/// It buffers at most one record of plaintext and one of ciphertext, so files
/// of any size stream in constant memory. A read error is kept in `failure`,
/// because the HTTP client reports only that the body failed.
struct EncryptingReader<R> {
    source: R,
    /// `None` once the last record is encrypted.
    encryptor: Option<Encryptor>,
    /// Plaintext bytes not yet read from `source`.
    remaining: u64,
    /// Buffer of one plaintext record, wiped on drop.
    plaintext: Zeroizing<Vec<u8>>,
    /// Ciphertext ready to be sent, and how much of it was sent.
    pending: Vec<u8>,
    sent: usize,
    path: PathBuf,
    progress: ProgressBar,
    failure: FailureSlot,
}

impl<R: Read> EncryptingReader<R> {
    fn new(
        source: R,
        encryptor: Encryptor,
        size: u64,
        path: PathBuf,
        progress: ProgressBar,
        failure: FailureSlot,
    ) -> Self {
        let record_size = encryptor.header().record_size() as usize;
        EncryptingReader {
            source,
            pending: encryptor.header_bytes().to_vec(),
            encryptor: Some(encryptor),
            remaining: size,
            plaintext: Zeroizing::new(vec![0; record_size]),
            sent: 0,
            path,
            progress,
            failure,
        }
    }

    /// Encrypts the next record into `pending`. Returns `false` after the
    /// last one.
    fn encrypt_record(&mut self) -> Result<bool, Error> {
        let Some(mut encryptor) = self.encryptor.take() else {
            return Ok(false);
        };
        let record_size = self.plaintext.len();
        let length = usize::try_from(self.remaining).map_or(record_size, |r| r.min(record_size));

        let record = &mut self.plaintext[..length];
        self.source
            .read_exact(record)
            .map_err(|source| read_error(&self.path, source))?;
        self.remaining -= length as u64;
        self.progress.inc(length as u64);
        if self.remaining == 0 {
            self.check_at_end()?;
        }

        let record = &self.plaintext[..length];
        let sealed = if self.remaining == 0 {
            encryptor.finish(record)
        } else {
            let sealed = encryptor.encrypt_next(record);
            self.encryptor = Some(encryptor);
            sealed
        };
        self.pending = sealed.map_err(|error| Error::Encrypt(error.to_string()))?;
        self.sent = 0;
        Ok(true)
    }

    /// Checks that `source` ends at its declared size.
    fn check_at_end(&mut self) -> Result<(), Error> {
        let mut probe = [0u8; 1];
        loop {
            match self.source.read(&mut probe) {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    return Err(Error::InputChanged {
                        path: self.path.clone(),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(read_error(&self.path, error)),
            }
        }
    }
}

/// Maps a read error of the source: ending early means the file shrank.
fn read_error(path: &Path, source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::UnexpectedEof {
        Error::InputChanged {
            path: path.to_owned(),
        }
    } else {
        Error::ReadInput {
            path: path.to_owned(),
            source,
        }
    }
}

impl<R: Read> Read for EncryptingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.sent == self.pending.len() {
            match self.encrypt_record() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(error) => {
                    let message = error.to_string();
                    *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                    return Err(io::Error::other(message));
                }
            }
        }

        let available = &self.pending[self.sent..];
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        self.sent += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use safebox_crypto::{HEADER_LEN, decrypt_all};

    use super::*;

    /// Returns a reader that encrypts `source`, declared as `size` bytes,
    /// with 16-byte records, and the slot where it keeps its read error.
    fn small_record_reader(
        secret: &LinkSecret,
        source: Vec<u8>,
        size: u64,
    ) -> (EncryptingReader<io::Cursor<Vec<u8>>>, FailureSlot) {
        let header = Header::new(16).expect("record size 16 is valid");
        let failure = Arc::new(Mutex::new(None));
        let reader = EncryptingReader::new(
            io::Cursor::new(source),
            Encryptor::new(secret, header),
            size,
            PathBuf::from("test"),
            ProgressBar::hidden(),
            Arc::clone(&failure),
        );
        (reader, failure)
    }

    #[test]
    fn reader_round_trips_boundaries() {
        let secret = LinkSecret::generate();
        for length in [0usize, 1, 15, 16, 17, 32, 100] {
            let plaintext: Vec<u8> = (0..length).map(|i| i as u8).collect();
            for chunk in [1, 7, 4096] {
                let (mut reader, _) =
                    small_record_reader(&secret, plaintext.clone(), length as u64);
                let mut ciphertext = Vec::new();
                let mut buf = vec![0; chunk];
                loop {
                    let count = reader.read(&mut buf).expect("reading from memory succeeds");
                    if count == 0 {
                        break;
                    }
                    ciphertext.extend_from_slice(&buf[..count]);
                }

                assert_eq!(ciphertext.len() as u64, ciphertext_size(length as u64, 16));
                let decrypted = decrypt_all(&secret, &ciphertext).expect("ciphertext decrypts");
                assert_eq!(decrypted, plaintext, "length {length}, chunk {chunk}");
            }
        }
    }

    #[test]
    fn reader_rejects_short_source() {
        let (mut reader, failure) = small_record_reader(&LinkSecret::generate(), vec![0; 10], 20);
        let mut sink = Vec::new();

        assert!(reader.read_to_end(&mut sink).is_err());
        assert_eq!(sink.len(), HEADER_LEN);
        let stored_error = failure.lock().expect("lock").take();
        assert!(matches!(stored_error, Some(Error::InputChanged { .. })));
    }

    #[test]
    fn reader_rejects_long_source() {
        let (mut reader, failure) = small_record_reader(&LinkSecret::generate(), vec![0; 21], 20);
        let mut sink = Vec::new();

        assert!(reader.read_to_end(&mut sink).is_err());
        let stored_error = failure.lock().expect("lock").take();
        assert!(matches!(stored_error, Some(Error::InputChanged { .. })));
    }
}
