//! Encrypting a picked file into a `Blob` and sending it with one `PUT`.
//!
//! The file is read one record at a time with `Blob.slice`, so neither the
//! JS heap nor WASM memory ever contains more than a batch of records. The
//! ciphertext goes into a [`BlobBuilder`], whose data lives in the browser's
//! blob storage. It is sent with `XMLHttpRequest`, not `fetch`, because
//! Chromium streams `fetch` request bodies only over HTTP/2 and reports no
//! upload progress for `fetch`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use js_sys::Uint8Array;
use safebox_crypto::Header;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Event, ProgressEvent, XmlHttpRequest};
use zeroize::Zeroizing;

use crate::blob_builder::BlobBuilder;
use crate::cipher::{CipherError, RecordCipher, describe};
use crate::jsutil::Deferred;

/// Records read and handed to WebCrypto together (1 MiB at the default
/// record size).
const BATCH_RECORDS: u64 = 16;

/// Failure while encrypting or sending the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadError {
    /// The user pressed Cancel.
    Cancelled,
    /// The browser could not read the picked file.
    ReadFailed(String),
    /// The file has another size than when it was picked.
    FileChanged,
    /// Encryption failed.
    Cipher(CipherError),
    /// The browser could not store the ciphertext.
    Storage(String),
    /// The `PUT` got no response.
    Network(String),
    /// The storage rejected the `PUT` with an error status.
    Rejected {
        /// HTTP status of the response.
        status: u16,
    },
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("the upload was cancelled"),
            Self::ReadFailed(reason) => write!(f, "the file could not be read ({reason})"),
            Self::FileChanged => {
                f.write_str("the file changed while it was being read; pick it again")
            }
            Self::Cipher(error) => error.fmt(f),
            Self::Storage(reason) => write!(
                f,
                "the browser could not keep the encrypted file ({reason})"
            ),
            Self::Network(reason) => write!(f, "the upload failed ({reason})"),
            Self::Rejected { status } => {
                write!(f, "the storage rejected the upload with status {status}")
            }
        }
    }
}

impl From<CipherError> for UploadError {
    fn from(error: CipherError) -> Self {
        Self::Cipher(error)
    }
}

/// Shared flag that stops an encryption or upload in progress.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Rc<CancelState>,
}

#[derive(Default)]
struct CancelState {
    cancelled: Cell<bool>,
    request: RefCell<Option<XmlHttpRequest>>,
}

impl CancelToken {
    /// Creates a token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the work as cancelled and aborts a running `PUT`.
    pub fn cancel(&self) {
        self.inner.cancelled.set(true);
        if let Some(request) = self.inner.request.borrow_mut().take() {
            // abort() throws only for a request that was never opened.
            let _ = request.abort();
        }
    }

    /// Returns whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.get()
    }

    fn check(&self) -> Result<(), UploadError> {
        if self.is_cancelled() {
            Err(UploadError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Encrypts `file` record by record under `cipher` and returns the whole
/// ciphertext (header first) as a `Blob`.
///
/// `on_progress` receives the plaintext bytes read so far after each record.
///
/// # Errors
///
/// [`UploadError::Cancelled`] once `cancel` is set, and the read, cipher and
/// storage errors described on [`UploadError`].
pub async fn encrypt_file(
    file: &Blob,
    header: &Header,
    cipher: &RecordCipher,
    cancel: &CancelToken,
    on_progress: &dyn Fn(u64),
) -> Result<Blob, UploadError> {
    let size = file.size() as u64;
    let record_size = u64::from(header.record_size());
    let record_count = size.div_ceil(record_size).max(1);

    let mut output = BlobBuilder::new();
    output
        .push(&header.to_bytes())
        .map_err(|error| UploadError::Storage(describe(&error)))?;

    let mut index = 0;
    while index < record_count {
        cancel.check()?;

        // One read covers a batch of records, and every record of the batch
        // is handed to WebCrypto before the first result is awaited.
        let batch_end = (index + BATCH_RECORDS).min(record_count);
        let start = index * record_size;
        let end = (batch_end * record_size).min(size);
        let plaintext = read_range(file, start, end).await?;
        if plaintext.len() as u64 != end - start {
            return Err(UploadError::FileChanged);
        }

        let pending: Vec<_> = (index..batch_end)
            .zip(
                plaintext
                    .chunks(record_size as usize)
                    .chain(std::iter::once(&[][..])),
            )
            .map(|(record, bytes)| cipher.start_seal(record, record + 1 == record_count, bytes))
            .collect();
        drop(plaintext);

        for (record, seal) in (index..batch_end).zip(pending) {
            let sealed = seal.finish().await?;
            output
                .push(&sealed)
                .map_err(|error| UploadError::Storage(describe(&error)))?;
            on_progress(((record + 1) * record_size).min(size));
        }
        index = batch_end;
    }
    cancel.check()?;

    output
        .finish("application/octet-stream")
        .map_err(|error| UploadError::Storage(describe(&error)))
}

/// Reads bytes `start..end` of `file` into WASM memory.
async fn read_range(file: &Blob, start: u64, end: u64) -> Result<Zeroizing<Vec<u8>>, UploadError> {
    let slice = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|error| UploadError::ReadFailed(describe(&error)))?;
    let buffer = JsFuture::from(slice.array_buffer())
        .await
        .map_err(|error| UploadError::ReadFailed(describe(&error)))?;

    let view = Uint8Array::new(&buffer);
    let bytes = Zeroizing::new(view.to_vec());
    view.fill(0, 0, view.length());
    Ok(bytes)
}

/// Headers that `XMLHttpRequest.setRequestHeader` ignores because the
/// browser sets them itself (Fetch standard, "forbidden request-header").
fn is_forbidden_header(name: &str) -> bool {
    const FORBIDDEN: [&str; 8] = [
        "content-length",
        "host",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
    ];
    FORBIDDEN.contains(&name.to_ascii_lowercase().as_str())
}

/// Sends `body` as `PUT url` with `headers`, reporting uploaded bytes to
/// `on_progress` as the browser sends them.
///
/// # Errors
///
/// [`UploadError::Cancelled`] when `cancel` aborts the request,
/// [`UploadError::Network`] when no response arrives, and
/// [`UploadError::Rejected`] for a status outside 200..=299.
pub async fn put_blob(
    url: &str,
    headers: &BTreeMap<String, String>,
    body: &Blob,
    cancel: &CancelToken,
    on_progress: Rc<dyn Fn(u64)>,
) -> Result<(), UploadError> {
    cancel.check()?;
    let network = |error: wasm_bindgen::JsValue| UploadError::Network(describe(&error));

    let request = XmlHttpRequest::new().map_err(network)?;
    request.open("PUT", url).map_err(network)?;
    for (name, value) in headers {
        if !is_forbidden_header(name) {
            request.set_request_header(name, value).map_err(network)?;
        }
    }

    let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded() as u64);
    });
    request
        .upload()
        .map_err(network)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));

    // `loadend` fires exactly once, after load, error, abort or timeout.
    let (finished, settled) = Deferred::new();
    let on_end = Closure::<dyn Fn(Event)>::new(move |_event: Event| {
        finished.resolve(&wasm_bindgen::JsValue::TRUE)
    });
    request.set_onloadend(Some(on_end.as_ref().unchecked_ref()));

    *cancel.inner.request.borrow_mut() = Some(request.clone());
    request.send_with_opt_blob(Some(body)).map_err(network)?;
    // The promise is never rejected, so the result carries nothing.
    let _ = settled.await;
    cancel.inner.request.borrow_mut().take();

    // The closures must outlive every event of the request.
    drop(progress);
    drop(on_end);

    cancel.check()?;
    match request.status().map_err(network)? {
        0 => Err(UploadError::Network("no response from the storage".into())),
        200..=299 => Ok(()),
        status => Err(UploadError::Rejected { status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn forbidden_header_any_case() {
        assert!(is_forbidden_header("Content-Length"));
        assert!(is_forbidden_header("host"));
        assert!(!is_forbidden_header("Content-Type"));
        assert!(!is_forbidden_header("x-amz-meta-id"));
    }
}
