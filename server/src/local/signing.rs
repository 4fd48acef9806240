//! HMAC-SHA256 signatures of local blob URLs, the local stand-in for S3
//! presigned URLs.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::file_id::FileId;

/// Length of the signing key in bytes.
const KEY_LEN: usize = 32;

/// The request a signature authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOperation {
    /// `PUT` of exactly `len` bytes.
    Put {
        /// Exact body length in bytes.
        len: u64,
    },
    /// `GET` of the whole object.
    Get,
}

/// Signs and verifies blob URLs with a key private to one data directory.
pub struct BlobSigner {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for BlobSigner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("BlobSigner(<redacted>)")
    }
}

impl BlobSigner {
    /// Reads the key at `path`, or creates it with a random key and mode
    /// 0600 if the file does not exist.
    ///
    /// An existing key file that others can read is restricted to 0600, and
    /// one of the wrong length is an error rather than being replaced, since
    /// replacing it would invalidate every URL handed out.
    pub fn load_or_create(path: &Path) -> io::Result<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(key.as_mut());
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(mut file) => {
                file.write_all(key.as_ref())?;
                file.sync_all()?;
                tracing::info!(path = %path.display(), "created a blob signing key");
                return Ok(Self { key });
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }

        let file = fs::File::open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "blob signing key was readable by others; setting mode 0600");
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
        let mut contents = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        file.take(KEY_LEN as u64 + 1).read_to_end(&mut contents)?;
        if contents.len() != KEY_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "blob signing key {} must be exactly {KEY_LEN} bytes; \
                     remove it to create a new one (this invalidates every blob URL)",
                    path.display()
                ),
            ));
        }
        key.copy_from_slice(&contents);
        Ok(Self { key })
    }

    /// Returns the signature of `operation` on `id` until `expires_at`, as
    /// unpadded base64url.
    pub fn sign(&self, operation: BlobOperation, id: &FileId, expires_at: u64) -> String {
        let tag = self.mac(operation, id, expires_at).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(tag)
    }

    /// Checks a signature in constant time.
    pub fn verify(
        &self,
        operation: BlobOperation,
        id: &FileId,
        expires_at: u64,
        signature: &str,
    ) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac(operation, id, expires_at)
            .verify_slice(&tag)
            .is_ok()
    }

    /// Starts the MAC over the signed fields. Each field is on its own line,
    /// and none can contain a newline, so no two requests share a message.
    fn mac(&self, operation: BlobOperation, id: &FileId, expires_at: u64) -> Hmac<Sha256> {
        let message = match operation {
            BlobOperation::Put { len } => {
                format!("safebox blob v1\nPUT\n{id}\n{len}\n{expires_at}")
            }
            BlobOperation::Get => format!("safebox blob v1\nGET\n{id}\n-\n{expires_at}"),
        };
        // HMAC takes keys of any length (longer ones are hashed first), so
        // `new_from_slice` of hmac 0.12 never fails for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(message.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_verifies_own_signature() {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = BlobSigner::load_or_create(&dir.path().join("key")).expect("signer");
        let id = FileId::generate();
        let put = BlobOperation::Put { len: 100 };
        let signature = signer.sign(put, &id, 1000);

        assert!(signer.verify(put, &id, 1000, &signature));
        assert!(!signer.verify(BlobOperation::Put { len: 101 }, &id, 1000, &signature));
        assert!(!signer.verify(put, &id, 1001, &signature));
        assert!(!signer.verify(BlobOperation::Get, &id, 1000, &signature));
        assert!(!signer.verify(put, &FileId::generate(), 1000, &signature));
        assert!(!signer.verify(put, &id, 1000, "AAAA"));
    }

    #[test]
    fn signer_key_persists_with_mode_0600() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        let first = BlobSigner::load_or_create(&path).expect("first");
        let second = BlobSigner::load_or_create(&path).expect("second");
        let id = FileId::generate();

        let signature = first.sign(BlobOperation::Get, &id, 5);
        assert!(second.verify(BlobOperation::Get, &id, 5, &signature));
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn signer_rejects_short_key_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        fs::write(&path, b"short").expect("write");
        assert!(BlobSigner::load_or_create(&path).is_err());
    }
}
