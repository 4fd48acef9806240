//! AES-256-GCM on content records, in the browser.
//!
//! Records go through WebCrypto (`crypto.subtle`) when the page has it, which
//! is far faster than AES compiled to WASM. Browsers expose `crypto.subtle`
//! only in secure contexts, so a page served over plain HTTP on a LAN address
//! falls back to [`ContentKey::seal_record`] and [`ContentKey::open_record`]
//! from `safebox-crypto`. Both backends take the nonce from
//! [`safebox_crypto::record_nonce`] and produce the same bytes, which the
//! vector tests in `web/tests/` check.

use std::fmt;

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use safebox_crypto::{ContentKey, DecryptError, FormatError, TAG_LEN, record_nonce};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

/// Implementation of AES-GCM behind a [`RecordCipher`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// WebCrypto, `crypto.subtle`.
    Subtle,
    /// The `aes-gcm` crate compiled to WASM.
    Portable,
}

/// Failure to set up WebCrypto or to seal a record.
///
/// Opening a record fails only with the opaque [`DecryptError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CipherError {
    /// `crypto.subtle` is missing or rejected the key.
    SubtleUnavailable(String),
    /// `crypto.subtle.encrypt` rejected a record.
    SealFailed(String),
    /// The record index or length is beyond what the format allows.
    Format(FormatError),
}

impl fmt::Display for CipherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SubtleUnavailable(reason) => write!(f, "WebCrypto is not available: {reason}"),
            Self::SealFailed(reason) => write!(f, "encryption failed in WebCrypto: {reason}"),
            Self::Format(error) => error.fmt(f),
        }
    }
}

impl From<FormatError> for CipherError {
    fn from(error: FormatError) -> Self {
        Self::Format(error)
    }
}

/// Seals and opens the content records of one file.
pub struct RecordCipher {
    inner: Inner,
}

enum Inner {
    Subtle {
        subtle: SubtleCrypto,
        key: CryptoKey,
    },
    // Boxed because the expanded AES key schedule is large.
    Portable(Box<ContentKey>),
}

impl fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordCipher({:?}, <key redacted>)", self.backend())
    }
}

impl RecordCipher {
    /// Uses WebCrypto when the page has it and it accepts the key, and the
    /// portable implementation otherwise.
    pub async fn new(key: ContentKey) -> Self {
        match Self::subtle(&key).await {
            Ok(cipher) => cipher,
            Err(_) => Self::portable(key),
        }
    }

    /// Imports `key` into WebCrypto as a non-extractable AES-GCM key.
    ///
    /// # Errors
    ///
    /// [`CipherError::SubtleUnavailable`] when `crypto.subtle` is undefined
    /// (an insecure context) or rejects the key.
    pub async fn subtle(key: &ContentKey) -> Result<Self, CipherError> {
        let subtle = subtle_crypto().ok_or_else(|| {
            CipherError::SubtleUnavailable(
                "crypto.subtle is undefined (the page is not a secure context)".into(),
            )
        })?;

        let raw = Uint8Array::from(key.expose_bytes().as_slice());
        let usages = Array::of2(&JsValue::from_str("encrypt"), &JsValue::from_str("decrypt"));
        let algorithm = Object::new();
        set(&algorithm, "name", &JsValue::from_str("AES-GCM"));
        let imported = subtle
            .import_key_with_object("raw", &raw, &algorithm, false, &usages)
            .map(JsFuture::from);
        let result = match imported {
            Ok(future) => future.await,
            Err(error) => Err(error),
        };
        // The copy of the key in the JS heap is no longer needed either way.
        raw.fill(0, 0, raw.length());

        let key = result
            .map_err(|error| CipherError::SubtleUnavailable(describe(&error)))?
            .dyn_into::<CryptoKey>()
            .map_err(|_| {
                CipherError::SubtleUnavailable("importKey did not return a CryptoKey".into())
            })?;
        Ok(Self {
            inner: Inner::Subtle { subtle, key },
        })
    }

    /// Uses the `aes-gcm` crate, which works in any context.
    pub fn portable(key: ContentKey) -> Self {
        Self {
            inner: Inner::Portable(Box::new(key)),
        }
    }

    /// The implementation in use.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Subtle { .. } => Backend::Subtle,
            Inner::Portable(_) => Backend::Portable,
        }
    }

    /// Encrypts record `index` and returns its ciphertext followed by the tag.
    ///
    /// Like [`ContentKey::seal_record`], this checks no record lengths: the
    /// caller keeps every record but the last exactly the record size long.
    ///
    /// # Errors
    ///
    /// [`CipherError::Format`] past the last record index the format allows,
    /// [`CipherError::SealFailed`] when WebCrypto rejects the record.
    pub async fn seal(
        &self,
        index: u64,
        last: bool,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        self.start_seal(index, last, plaintext).finish().await
    }

    /// Starts encrypting record `index` and returns at once, so several
    /// records can be in WebCrypto at the same time. WebCrypto copies
    /// `plaintext` before this returns. The portable backend finishes here.
    pub fn start_seal(&self, index: u64, last: bool, plaintext: &[u8]) -> PendingSeal {
        let nonce = match record_nonce(index, last) {
            Ok(nonce) => nonce,
            Err(error) => return PendingSeal::Ready(Err(error.into())),
        };
        match &self.inner {
            Inner::Portable(key) => {
                PendingSeal::Ready(key.seal_record(index, last, plaintext).map_err(Into::into))
            }
            Inner::Subtle { subtle, key } => {
                match subtle.encrypt_with_object_and_u8_array(&gcm_params(&nonce), key, plaintext) {
                    Ok(promise) => PendingSeal::Subtle(JsFuture::from(promise)),
                    Err(error) => {
                        PendingSeal::Ready(Err(CipherError::SealFailed(describe(&error))))
                    }
                }
            }
        }
    }

    /// Decrypts record `index` (ciphertext followed by its tag). No plaintext
    /// is released unless the tag matches.
    ///
    /// # Errors
    ///
    /// [`DecryptError`], and nothing more specific, for a record shorter than
    /// a tag, a wrong tag, a wrong index or last flag, or a WebCrypto failure.
    pub async fn open(
        &self,
        index: u64,
        last: bool,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        self.start_open(index, last, sealed).finish().await
    }

    /// Starts decrypting record `index` and returns at once, so several
    /// records can be in WebCrypto at the same time. WebCrypto copies
    /// `sealed` before this returns. The portable backend finishes here.
    pub fn start_open(&self, index: u64, last: bool, sealed: &[u8]) -> PendingOpen {
        match &self.inner {
            Inner::Portable(key) => {
                PendingOpen::Ready(key.open_record(index, last, sealed).map(Zeroizing::new))
            }
            Inner::Subtle { subtle, key } => {
                if sealed.len() < TAG_LEN {
                    return PendingOpen::Ready(Err(DecryptError));
                }
                let Ok(nonce) = record_nonce(index, last) else {
                    return PendingOpen::Ready(Err(DecryptError));
                };
                match subtle.decrypt_with_object_and_u8_array(&gcm_params(&nonce), key, sealed) {
                    Ok(promise) => PendingOpen::Subtle(JsFuture::from(promise)),
                    Err(_) => PendingOpen::Ready(Err(DecryptError)),
                }
            }
        }
    }
}

/// A record started by [`RecordCipher::start_open`].
pub enum PendingOpen {
    /// Already opened, or failed.
    Ready(Result<Zeroizing<Vec<u8>>, DecryptError>),
    /// Running in WebCrypto.
    Subtle(JsFuture),
}

impl PendingOpen {
    /// Waits for the plaintext of the record.
    ///
    /// # Errors
    ///
    /// As for [`RecordCipher::open`].
    pub async fn finish(self) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        match self {
            Self::Ready(result) => result,
            Self::Subtle(future) => {
                let opened = future.await.map_err(|_| DecryptError)?;
                let opened = opened.dyn_into::<ArrayBuffer>().map_err(|_| DecryptError)?;

                let view = Uint8Array::new(&opened);
                let plaintext = Zeroizing::new(view.to_vec());
                view.fill(0, 0, view.length());
                Ok(plaintext)
            }
        }
    }
}

/// A record started by [`RecordCipher::start_seal`].
pub enum PendingSeal {
    /// Already sealed, or failed.
    Ready(Result<Vec<u8>, CipherError>),
    /// Running in WebCrypto.
    Subtle(JsFuture),
}

impl PendingSeal {
    /// Waits for the sealed record: ciphertext followed by the tag.
    ///
    /// # Errors
    ///
    /// As for [`RecordCipher::seal`].
    pub async fn finish(self) -> Result<Vec<u8>, CipherError> {
        match self {
            Self::Ready(result) => result,
            Self::Subtle(future) => {
                let sealed = future
                    .await
                    .map_err(|error| CipherError::SealFailed(describe(&error)))?;
                Ok(Uint8Array::new(&sealed).to_vec())
            }
        }
    }
}

/// `crypto.subtle`, looked up on the global object so it works in a window
/// and in a worker, or `None` where it is undefined.
fn subtle_crypto() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    if crypto.is_undefined() || crypto.is_null() {
        return None;
    }
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle")).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

fn gcm_params(nonce: &[u8; 12]) -> AesGcmParams {
    let params = AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(nonce.as_slice()));
    params.set_tag_length(128);
    params
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Reflect.set on a plain object cannot fail, so the result carries nothing.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// Formats a JS exception as short text, such as `OperationError: ...`.
pub(crate) fn describe(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", error.name(), error.message());
    }
    error.as_string().unwrap_or_else(|| "unknown error".into())
}
