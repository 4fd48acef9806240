//! Reading a claimed file: the ciphertext stream is cut into records,
//! each record is decrypted, and the plaintext goes to a [`Saver`].

use std::collections::VecDeque;
use std::fmt;

use js_sys::{Reflect, Uint8Array};
use safebox_crypto::{DecryptError, HEADER_LEN, Header, LinkSecret, RecordLayout};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use crate::api::{self, ApiError};
use crate::cipher::{PendingOpen, RecordCipher, describe};
use crate::save::{SaveError, Saver};

/// Records decrypting in WebCrypto at the same time.
const OPEN_WINDOW: usize = 16;

/// Failure while downloading, decrypting or saving a claimed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadError {
    /// The ciphertext could not be fetched; the download URL may still work.
    Api(ApiError),
    /// The connection broke while reading.
    Interrupted(String),
    /// Wrong key, or the data was modified or truncated.
    Decrypt,
    /// The browser could not save the file.
    Save(SaveError),
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(error) => error.fmt(f),
            Self::Interrupted(reason) => write!(f, "the download was interrupted ({reason})"),
            Self::Decrypt => DecryptError.fmt(f),
            Self::Save(error) => error.fmt(f),
        }
    }
}

impl From<DecryptError> for DownloadError {
    fn from(_: DecryptError) -> Self {
        Self::Decrypt
    }
}

/// Splits a ciphertext that arrives in chunks of any size into the header
/// and the sealed records, using the total size to find the last record.
pub struct RecordSplitter {
    total: u64,
    buffer: Vec<u8>,
    state: SplitState,
}

enum SplitState {
    Header,
    Records { layout: RecordLayout, next: u64 },
    Done,
}

/// One piece cut from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// The content header, always first.
    Header {
        /// The parsed header.
        header: Header,
        /// Plaintext size implied by the header and the total size.
        plaintext_len: u64,
    },
    /// Sealed record `index` (ciphertext and tag).
    Record {
        /// Position of the record, from 0.
        index: u64,
        /// Whether this is the last record.
        last: bool,
        /// The sealed bytes.
        sealed: Vec<u8>,
    },
}

impl RecordSplitter {
    /// Prepares to split a ciphertext of `total` bytes, header included.
    pub fn new(total: u64) -> Self {
        Self {
            total,
            buffer: Vec::new(),
            state: SplitState::Header,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Returns the next complete piece, or `None` until more bytes arrive.
    ///
    /// # Errors
    ///
    /// [`DecryptError`] for a header that cannot be read, a total size that
    /// does not fit the header's record size, or bytes past the last record.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, DecryptError> {
        match &mut self.state {
            SplitState::Header => {
                if self.buffer.len() < HEADER_LEN {
                    return Ok(None);
                }
                let header = Header::parse(&self.buffer[..HEADER_LEN]).map_err(|_| DecryptError)?;
                let layout = RecordLayout::new(self.total, &header).map_err(|_| DecryptError)?;
                self.buffer.drain(..HEADER_LEN);
                self.state = SplitState::Records { layout, next: 0 };
                Ok(Some(Piece::Header {
                    header,
                    plaintext_len: layout.plaintext_len(),
                }))
            }
            SplitState::Records { layout, next, .. } => {
                let index = *next;
                let range = layout.record_range(index).ok_or(DecryptError)?;
                let len = usize::try_from(range.end - range.start).map_err(|_| DecryptError)?;
                if self.buffer.len() < len {
                    return Ok(None);
                }
                let sealed: Vec<u8> = self.buffer.drain(..len).collect();
                let last = layout.is_last(index);
                *next += 1;
                if last {
                    if !self.buffer.is_empty() {
                        return Err(DecryptError);
                    }
                    self.state = SplitState::Done;
                }
                Ok(Some(Piece::Record {
                    index,
                    last,
                    sealed,
                }))
            }
            SplitState::Done if self.buffer.is_empty() => Ok(None),
            SplitState::Done => Err(DecryptError),
        }
    }

    /// Whether the last record has been cut.
    pub fn is_done(&self) -> bool {
        matches!(self.state, SplitState::Done)
    }
}

/// Receiver of the progress and results that [`download_file`] reports while it runs.
pub trait DownloadEvents {
    /// The saver is chosen; `in_memory` when the file is gathered in memory.
    fn saver_opened(&self, in_memory: bool);
    /// `received` ciphertext bytes have arrived.
    fn progress(&self, received: u64);
}

/// Fetches `download_url`, decrypts it with `secret` and saves the plaintext
/// as `name`.
///
/// `total` is the ciphertext size the server announced at claim time. The
/// download is opened once the header shows the exact plaintext size. On
/// success every record has authenticated, the last one included; on
/// failure the browser's download is aborted.
///
/// # Errors
///
/// [`DownloadError::Api`] when the `GET` fails, [`DownloadError::Interrupted`]
/// when the stream breaks, [`DownloadError::Decrypt`] for any failed check on
/// the data (including a stream that ends early or runs long), and
/// [`DownloadError::Save`] when saving fails.
pub async fn download_file(
    download_url: &str,
    total: u64,
    secret: &LinkSecret,
    name: &str,
    events: &dyn DownloadEvents,
) -> Result<(), DownloadError> {
    let mut saver = None;
    let copied = copy_decrypted(download_url, total, secret, name, &mut saver, events).await;
    match (copied, saver) {
        (Ok(()), Some(saver)) => saver.finish().map_err(DownloadError::Save),
        (Ok(()), None) => Err(DownloadError::Decrypt),
        (Err(error), saver) => {
            if let Some(saver) = saver {
                saver.abort();
            }
            Err(error)
        }
    }
}

async fn copy_decrypted(
    download_url: &str,
    total: u64,
    secret: &LinkSecret,
    name: &str,
    saver: &mut Option<Saver>,
    events: &dyn DownloadEvents,
) -> Result<(), DownloadError> {
    let response = api::get_stream(download_url)
        .await
        .map_err(DownloadError::Api)?;
    let reader = response
        .body()
        .ok_or_else(|| DownloadError::Interrupted("the response has no body".into()))?
        .get_reader()
        .dyn_into::<ReadableStreamDefaultReader>()
        .map_err(|_| DownloadError::Interrupted("the body cannot be read as a stream".into()))?;

    let mut splitter = RecordSplitter::new(total);
    let mut cipher: Option<RecordCipher> = None;
    let mut pending: VecDeque<PendingOpen> = VecDeque::new();
    let mut received: u64 = 0;

    while let Some(chunk) = read_chunk(&reader).await? {
        received += chunk.len() as u64;
        if received > total {
            return Err(DownloadError::Decrypt);
        }
        splitter.push(&chunk);

        while let Some(piece) = splitter.next_piece()? {
            match piece {
                Piece::Header {
                    header,
                    plaintext_len,
                } => {
                    cipher = Some(RecordCipher::new(secret.content_key(&header)).await);
                    let opened = Saver::open(name, plaintext_len).await;
                    events.saver_opened(opened.is_in_memory());
                    *saver = Some(opened);
                }
                Piece::Record {
                    index,
                    last,
                    sealed,
                } => {
                    let cipher = cipher.as_ref().ok_or(DecryptError)?;
                    pending.push_back(cipher.start_open(index, last, &sealed));
                }
            }
            // Records keep decrypting in WebCrypto while the next ones
            // arrive. The oldest is written once the window is full.
            if pending.len() >= OPEN_WINDOW {
                write_next(&mut pending, saver).await?;
            }
        }
        events.progress(received);
    }

    while !pending.is_empty() {
        write_next(&mut pending, saver).await?;
    }
    if splitter.is_done() {
        Ok(())
    } else {
        Err(DownloadError::Decrypt)
    }
}

/// Waits for the oldest record in `pending` and writes its plaintext.
async fn write_next(
    pending: &mut VecDeque<PendingOpen>,
    saver: &mut Option<Saver>,
) -> Result<(), DownloadError> {
    let (Some(open), Some(saver)) = (pending.pop_front(), saver.as_mut()) else {
        return Err(DownloadError::Decrypt);
    };
    let plaintext = open.finish().await?;
    saver.write(&plaintext).await.map_err(DownloadError::Save)
}

/// Reads the next chunk of the body, or `None` at its end.
async fn read_chunk(
    reader: &ReadableStreamDefaultReader,
) -> Result<Option<Vec<u8>>, DownloadError> {
    let result = JsFuture::from(reader.read())
        .await
        .map_err(|error| DownloadError::Interrupted(describe(&error)))?;
    let done = Reflect::get(&result, &JsValue::from_str("done"))
        .map(|done| done.is_truthy())
        .unwrap_or(true);
    if done {
        return Ok(None);
    }
    let value = Reflect::get(&result, &JsValue::from_str("value"))
        .map_err(|error| DownloadError::Interrupted(describe(&error)))?;
    let bytes = value.dyn_into::<Uint8Array>().map_err(|_| {
        DownloadError::Interrupted("the body returned a chunk that is not bytes".into())
    })?;
    Ok(Some(bytes.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use safebox_crypto::TAG_LEN;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn header_bytes(record_size: u32) -> Vec<u8> {
        Header::with_salt(record_size, [7; 16])
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    /// Feeds `data` in chunks of `chunk` bytes and returns (index, last, len)
    /// of every record.
    fn split(
        total: u64,
        data: &[u8],
        chunk: usize,
    ) -> Result<Vec<(u64, bool, usize)>, DecryptError> {
        let mut splitter = RecordSplitter::new(total);
        let mut records = Vec::new();
        for part in data.chunks(chunk) {
            splitter.push(part);
            while let Some(piece) = splitter.next_piece()? {
                if let Piece::Record {
                    index,
                    last,
                    sealed,
                } = piece
                {
                    records.push((index, last, sealed.len()));
                }
            }
        }
        assert!(splitter.is_done());
        Ok(records)
    }

    #[wasm_bindgen_test]
    fn splitter_three_records_any_chunking() {
        // Record size 16: two full records of 32 sealed bytes and a last of 21.
        let mut data = header_bytes(16);
        data.extend(std::iter::repeat_n(0xAA, 2 * (16 + TAG_LEN) + 5 + TAG_LEN));
        let total = data.len() as u64;
        let expected = vec![(0, false, 32), (1, false, 32), (2, true, 21)];
        for chunk in [1, 7, 28, 32, 1000] {
            assert_eq!(
                split(total, &data, chunk).unwrap(),
                expected,
                "chunk size {chunk}"
            );
        }
    }

    #[wasm_bindgen_test]
    fn splitter_empty_plaintext_one_tag() {
        let mut data = header_bytes(16);
        data.extend([0; TAG_LEN]);
        assert_eq!(
            split(data.len() as u64, &data, 5).unwrap(),
            vec![(0, true, TAG_LEN)]
        );
    }

    #[wasm_bindgen_test]
    fn splitter_rejects_extra_bytes() {
        let mut data = header_bytes(16);
        data.extend([0; TAG_LEN + 1]);
        let mut splitter = RecordSplitter::new((HEADER_LEN + TAG_LEN) as u64);
        splitter.push(&data);
        assert!(matches!(
            splitter.next_piece(),
            Ok(Some(Piece::Header { .. }))
        ));
        assert_eq!(splitter.next_piece(), Err(DecryptError));
    }

    #[wasm_bindgen_test]
    fn splitter_rejects_bad_header() {
        let mut splitter = RecordSplitter::new(100);
        splitter.push(&[0; HEADER_LEN]);
        assert_eq!(splitter.next_piece(), Err(DecryptError));
    }

    #[wasm_bindgen_test]
    fn splitter_rejects_impossible_total() {
        // 28 + 32 + 16: an empty last record after a full one.
        let mut splitter = RecordSplitter::new((HEADER_LEN + 32 + TAG_LEN) as u64);
        splitter.push(&header_bytes(16));
        assert_eq!(splitter.next_piece(), Err(DecryptError));
    }
}
