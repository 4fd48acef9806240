//! Reading a claimed file's ciphertext over a connection that may break.
//!
//! A claimed link cannot be claimed again, so a download that fails halfway
//! loses the file. [`ResumingDownload`] sends a `Range` request for the rest
//! instead, as long as the short-lived download URL is valid.

use std::io::{self, Read};
use std::thread;
use std::time::Duration;

use indicatif::ProgressBar;
use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::CONTENT_RANGE;

use crate::api::{Api, root_cause};
use crate::error::Error;

/// Pauses before the resumed requests of one download: 31 s in all, so a
/// server that restarts within about half a minute is found again.
const RESUME_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

/// Number of times one download resumes after its connection failed.
pub const MAX_RESUMES: u32 = RESUME_DELAYS.len() as u32;

/// A [`Read`] of the `total` bytes behind a download URL that resumes where
/// it stopped when the connection fails, up to [`MAX_RESUMES`] times in all.
///
/// `Read` can only return an [`io::Error`], so an error of the API (an
/// expired URL, a deleted file, a server that sends other bytes) is kept for
/// [`ResumingDownload::take_failure`].
pub struct ResumingDownload<'a> {
    api: &'a Api,
    url: &'a str,
    host: &'a str,
    total: u64,
    received: u64,
    response: Option<Response>,
    resumes_left: u32,
    progress: &'a ProgressBar,
    failure: Option<Error>,
}

impl<'a> ResumingDownload<'a> {
    /// Sends the first request for `url` and checks that its body is `total`
    /// bytes long.
    ///
    /// # Errors
    ///
    /// The API's and network errors, and [`Error::Protocol`] if the server
    /// announces another length.
    pub fn start(
        api: &'a Api,
        url: &'a str,
        host: &'a str,
        total: u64,
        progress: &'a ProgressBar,
    ) -> Result<Self, Error> {
        let mut download = ResumingDownload {
            api,
            url,
            host,
            total,
            received: 0,
            response: None,
            resumes_left: MAX_RESUMES,
            progress,
            failure: None,
        };
        download.response = Some(download.request_rest()?);
        Ok(download)
    }

    /// Returns the error of the API that ended the download, if one did.
    pub fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// Requests the bytes from `received` on and returns the response,
    /// positioned at byte `received`.
    fn request_rest(&self) -> Result<Response, Error> {
        let mut response = self.api.get_blob(self.url, self.received)?;
        let length = response.content_length();

        if response.status() == StatusCode::PARTIAL_CONTENT {
            let last = self.total.saturating_sub(1);
            let expected = format!("bytes {}-{last}/{}", self.received, self.total);
            let content_range = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|value| value.to_str().ok());
            if content_range != Some(expected.as_str()) {
                return Err(
                    self.protocol_error("the server sent another part than the one requested")
                );
            }
            return Ok(response);
        }

        if length.is_some_and(|length| length != self.total) {
            return Err(self.protocol_error("the download's length differs from the claimed size"));
        }
        // A server that ignores `Range` sends the whole file again, so the
        // part already decrypted is skipped.
        if self.received > 0 {
            let skipped = io::copy(&mut (&mut response).take(self.received), &mut io::sink())
                .map_err(|error| self.network_error(error))?;
            if skipped != self.received {
                return Err(self.network_error(io::ErrorKind::UnexpectedEof.into()));
            }
        }
        Ok(response)
    }

    fn protocol_error(&self, detail: &str) -> Error {
        Error::Protocol {
            host: self.host.to_owned(),
            detail: detail.to_owned(),
        }
    }

    fn network_error(&self, error: io::Error) -> Error {
        Error::Network {
            host: self.host.to_owned(),
            detail: describe_read_error(error),
        }
    }

    /// Resumes after the connection failed with `error`. Returns `Ok` once a
    /// new response continues at byte `received`, or the error that ends the
    /// download.
    fn resume_after(&mut self, error: io::Error) -> io::Result<()> {
        self.response = None;
        let detail = describe_read_error(error);
        let mut reason = format!(
            "The download from {} stopped at byte {} of {} ({detail})",
            self.host, self.received, self.total
        );
        let mut last_error = Error::Network {
            host: self.host.to_owned(),
            detail,
        };
        while self.resumes_left > 0 {
            let used = (MAX_RESUMES - self.resumes_left) as usize;
            let delay = RESUME_DELAYS
                .get(used)
                .copied()
                .unwrap_or(Duration::from_secs(16));
            self.resumes_left -= 1;
            self.progress.suspend(|| {
                eprintln!("{reason}; resuming in {} s.", delay.as_secs());
            });
            thread::sleep(delay);
            match self.request_rest() {
                Ok(response) => {
                    self.response = Some(response);
                    return Ok(());
                }
                // The network or the server may still be down, so it is
                // tried again.
                Err(
                    error @ (Error::Network { .. } | Error::Connect { .. } | Error::Timeout { .. }),
                ) => {
                    reason = format!("Resuming the download failed ({error})");
                    last_error = error;
                }
                // An expired URL or a deleted file does not come back.
                Err(error) => {
                    last_error = error;
                    break;
                }
            }
        }
        let message = last_error.to_string();
        self.failure = Some(last_error);
        Err(io::Error::other(message))
    }
}

impl Read for ResumingDownload<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(response) = self.response.as_mut() else {
                // A failure was already returned; nothing follows it.
                return Err(io::Error::other("the download failed"));
            };
            let error = match response.read(buffer) {
                Ok(0) if self.received < self.total => io::ErrorKind::UnexpectedEof.into(),
                Ok(count) => {
                    self.received += count as u64;
                    return Ok(count);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                // Every byte arrived; a connection that fails after them
                // loses nothing.
                Err(_) if self.received >= self.total => return Ok(0),
                Err(error) => error,
            };
            self.resume_after(error)?;
        }
    }
}

/// Describes a failed read of the download's body for a message, without
/// the download URL, whose query carries a signature.
pub fn describe_read_error(error: io::Error) -> String {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        return "the connection closed before the whole file arrived".to_owned();
    }
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<reqwest::Error>())
    {
        if let Some(inner) = error.into_inner()
            && let Ok(http_error) = inner.downcast::<reqwest::Error>()
        {
            return root_cause(&http_error.without_url());
        }
        return "the connection failed".to_owned();
    }
    root_cause(&error)
}
