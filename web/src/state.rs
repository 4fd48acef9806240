//! App state: what the send and receive pages show, the actions that change
//! it and the reducers that apply them.
//!
//! Reducers are pure: anything that depends on the clock or the browser
//! arrives inside the action.

use std::rc::Rc;

use web_sys::File;
use yew::Reducible;

use safebox_protocol::ClaimResponse;

use crate::api::ApiError;
use crate::download::DownloadError;
use safebox_crypto::LinkError;

use crate::receive::{FileDetails, ReceiveError};
use crate::save::SaveError;
use crate::send::{SendError, SentFile};
use crate::upload::UploadError;

/// Expiry choices of the send page: seconds and label.
pub const EXPIRY_CHOICES: [(u64, &str); 3] =
    [(300, "5 minutes"), (3600, "1 hour"), (86_400, "1 day")];

/// Expiry selected when the page opens, in seconds.
pub const DEFAULT_EXPIRY: u64 = 86_400;

/// The step a progress bar is measuring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading and encrypting the picked file.
    Encrypting,
    /// Sending the ciphertext.
    Uploading,
    /// Receiving and decrypting the ciphertext.
    Downloading,
}

/// Progress of one phase.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The step being measured.
    pub phase: Phase,
    /// Bytes done.
    pub done: u64,
    /// Bytes in the phase.
    pub total: u64,
    /// Page clock (ms) when the phase started.
    pub started_ms: f64,
    /// Page clock (ms) of the latest update.
    pub updated_ms: f64,
}

impl Progress {
    fn start(phase: Phase, total: u64, now_ms: f64) -> Self {
        Self {
            phase,
            done: 0,
            total,
            started_ms: now_ms,
            updated_ms: now_ms,
        }
    }

    /// Applies a report, starting over when the phase changes.
    fn advance(previous: Option<&Self>, phase: Phase, done: u64, total: u64, now_ms: f64) -> Self {
        let mut next = match previous {
            Some(progress) if progress.phase == phase => progress.clone(),
            _ => Self::start(phase, total, now_ms),
        };
        next.done = done.min(total);
        next.total = total;
        next.updated_ms = now_ms;
        next
    }

    /// Fraction done, from 0 to 1. An empty phase counts as done.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        }
    }

    /// Average bytes per second since the phase started, once measurable.
    pub fn bytes_per_second(&self) -> Option<f64> {
        let seconds = (self.updated_ms - self.started_ms) / 1000.0;
        (seconds >= 0.5 && self.done > 0).then(|| self.done as f64 / seconds)
    }

    /// Estimated seconds left at the average speed.
    pub fn seconds_left(&self) -> Option<f64> {
        self.bytes_per_second()
            .map(|speed| (self.total - self.done) as f64 / speed)
    }
}

/// Kind of message a page shows. [`NoticeKind::data_kind`] is the stable
/// `data-kind` attribute that tests select on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// The link was used already.
    AlreadyDownloaded,
    /// The file expired or was deleted by its sender.
    Expired,
    /// The link cannot be parsed.
    InvalidLink,
    /// No file for this id and key.
    NotFound,
    /// Authentication of the metadata or content failed.
    DecryptFailed,
    /// The server could not be reached or failed.
    Network,
    /// A request failed because the page's origin differs from its server's,
    /// so the browser blocked it as cross-origin.
    WrongOrigin,
    /// The file is larger than the server accepts.
    TooLarge,
    /// The upload failed for another reason than the network.
    UploadFailed,
    /// The user cancelled the upload.
    Cancelled,
    /// The browser could not save the download.
    SaveFailed,
}

impl NoticeKind {
    /// The `data-kind` attribute value.
    pub fn data_kind(self) -> &'static str {
        match self {
            Self::AlreadyDownloaded => "already-downloaded",
            Self::Expired => "expired",
            Self::InvalidLink => "invalid-link",
            Self::NotFound => "not-found",
            Self::DecryptFailed => "decrypt-failed",
            Self::Network => "network",
            Self::WrongOrigin => "wrong-origin",
            Self::TooLarge => "too-large",
            Self::UploadFailed => "upload-failed",
            Self::Cancelled => "cancelled",
            Self::SaveFailed => "save-failed",
        }
    }
}

/// A message for the user: its kind and the facts it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Which message.
    pub kind: NoticeKind,
    /// Unix seconds of the download or expiry, when the server returned it.
    pub at: Option<u64>,
    /// Bytes, for [`NoticeKind::TooLarge`].
    pub limit: Option<u64>,
    /// Technical reason as a sentence, shown under the message, or empty.
    /// Never contains a secret.
    pub detail: String,
    /// Origin the page was opened at, for [`NoticeKind::WrongOrigin`].
    pub page_origin: Option<String>,
    /// Origin of the server's API, for [`NoticeKind::WrongOrigin`].
    pub server_origin: Option<String>,
}

/// Capitalizes `text` and ends it with a period, so a technical reason reads
/// as a sentence.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Describes what is wrong with a link, without the advice to copy it again
/// that the message already gives.
fn link_problem(error: &LinkError) -> &'static str {
    match error {
        LinkError::MissingFragment => "The link has no key after the #.",
        LinkError::Malformed => "The part after the # is not in the expected format.",
        LinkError::Truncated => "The link is shorter than expected, probably cut off when copied.",
        LinkError::TooLong => {
            "The link is longer than expected, probably with extra characters pasted after it."
        }
    }
}

impl Notice {
    fn new(kind: NoticeKind, detail: impl ToString) -> Self {
        Self {
            kind,
            at: None,
            limit: None,
            detail: sentence(&detail.to_string()),
            page_origin: None,
            server_origin: None,
        }
    }

    /// Replaces a network failure with [`NoticeKind::WrongOrigin`] when the
    /// page was opened at `page_origin` but its API is at `api_origin`. The
    /// browser then blocks every request as cross-origin, for example when
    /// the page is opened at `localhost` and the server's public URL names
    /// `127.0.0.1`. Other notices are returned unchanged. The hooks call it
    /// only once the page's own origin was found to serve the API too, so a
    /// deployment with the page and the API on different hosts keeps the
    /// network message.
    pub fn check_origin(self, page_origin: &str, api_origin: Option<&str>) -> Self {
        match api_origin {
            Some(api_origin) if self.kind == NoticeKind::Network && api_origin != page_origin => {
                Self {
                    page_origin: Some(page_origin.to_owned()),
                    server_origin: Some(api_origin.to_owned()),
                    ..Self::new(NoticeKind::WrongOrigin, "")
                }
            }
            _ => self,
        }
    }

    fn from_api(error: &ApiError) -> Self {
        match error {
            ApiError::NotFound => Self::new(NoticeKind::NotFound, ""),
            ApiError::AlreadyDownloaded { downloaded_at } => Self {
                at: *downloaded_at,
                ..Self::new(NoticeKind::AlreadyDownloaded, "")
            },
            ApiError::Expired { expires_at } => Self {
                at: *expires_at,
                ..Self::new(NoticeKind::Expired, "")
            },
            ApiError::TooLarge { max_size } => Self {
                limit: *max_size,
                ..Self::new(NoticeKind::TooLarge, "")
            },
            ApiError::Network(reason) => {
                Self::new(NoticeKind::Network, format!("Technical detail: {reason}"))
            }
            ApiError::Server { .. } | ApiError::InvalidResponse(_) => {
                Self::new(NoticeKind::Network, error)
            }
            ApiError::IncompleteUpload => Self::new(NoticeKind::UploadFailed, error),
        }
    }

    /// The message for a failed send.
    pub fn from_send(error: &SendError) -> Self {
        match error {
            SendError::Api(error) => Self::from_api(error),
            SendError::Upload(UploadError::Cancelled) => Self::new(NoticeKind::Cancelled, ""),
            SendError::Upload(UploadError::Network(_)) => Self::new(NoticeKind::Network, error),
            SendError::Upload(UploadError::Rejected { status }) if *status >= 500 => {
                Self::new(NoticeKind::Network, error)
            }
            SendError::Upload(_) | SendError::Metadata(_) | SendError::InvalidId => {
                Self::new(NoticeKind::UploadFailed, error)
            }
        }
    }

    /// The message for a failed receive step.
    pub fn from_receive(error: &ReceiveError) -> Self {
        match error {
            ReceiveError::InvalidLink(reason) => {
                Self::new(NoticeKind::InvalidLink, link_problem(reason))
            }
            ReceiveError::Api(error) => Self::from_api(error),
            ReceiveError::DecryptFailed => Self::new(NoticeKind::DecryptFailed, ""),
            ReceiveError::Download(DownloadError::Save(SaveError::Cancelled)) => {
                Self::new(NoticeKind::SaveFailed, error)
            }
            ReceiveError::Download(DownloadError::Save(_)) => {
                Self::new(NoticeKind::SaveFailed, error)
            }
            ReceiveError::Download(DownloadError::Api(_) | DownloadError::Interrupted(_)) => {
                Self::new(NoticeKind::Network, error)
            }
            ReceiveError::Download(DownloadError::Decrypt) => {
                Self::new(NoticeKind::DecryptFailed, "")
            }
        }
    }
}

/// What the send page is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum SendStatus {
    /// Waiting for a file and a click on Send.
    Idle,
    /// Encrypting or uploading; `cancelling` once Cancel was pressed.
    Working {
        /// Progress of the current phase, once it has started.
        progress: Option<Progress>,
        /// Whether Cancel was pressed.
        cancelling: bool,
    },
    /// The link is ready.
    Done(SentFile),
    /// The send failed; the form stays filled in for another try.
    Failed(Notice),
}

/// State of the send page.
#[derive(Clone, Debug, PartialEq)]
pub struct SendState {
    /// The picked file.
    pub file: Option<File>,
    /// Chosen lifetime in seconds.
    pub expires_in: u64,
    /// What the page is doing.
    pub status: SendStatus,
}

impl Default for SendState {
    fn default() -> Self {
        Self {
            file: None,
            expires_in: DEFAULT_EXPIRY,
            status: SendStatus::Idle,
        }
    }
}

impl SendState {
    /// Whether a send is running.
    pub fn is_working(&self) -> bool {
        matches!(self.status, SendStatus::Working { .. })
    }
}

/// Changes to [`SendState`].
#[derive(Debug)]
pub enum SendAction {
    /// A file was picked or dropped.
    PickFile(File),
    /// Another expiry was chosen.
    SetExpiry(u64),
    /// Send was pressed.
    Start,
    /// A progress report from the running send.
    Report {
        /// The step measured.
        phase: Phase,
        /// Bytes done.
        done: u64,
        /// Bytes in the step.
        total: u64,
        /// Page clock in ms.
        now_ms: f64,
    },
    /// Cancel was pressed.
    Cancel,
    /// The send finished.
    Finished(Result<SentFile, Notice>),
    /// Back to an empty form.
    Reset,
}

impl Reducible for SendState {
    type Action = SendAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            SendAction::PickFile(_) | SendAction::SetExpiry(_) | SendAction::Start
                if self.is_working() =>
            {
                return self;
            }
            SendAction::PickFile(file) => {
                next.file = Some(file);
                next.status = SendStatus::Idle;
            }
            SendAction::SetExpiry(seconds) => next.expires_in = seconds,
            SendAction::Start => {
                if next.file.is_none() {
                    return self;
                }
                next.status = SendStatus::Working {
                    progress: None,
                    cancelling: false,
                };
            }
            SendAction::Report {
                phase,
                done,
                total,
                now_ms,
            } => {
                let SendStatus::Working {
                    progress,
                    cancelling,
                } = &self.status
                else {
                    return self;
                };
                let progress = Progress::advance(progress.as_ref(), phase, done, total, now_ms);
                next.status = SendStatus::Working {
                    progress: Some(progress),
                    cancelling: *cancelling,
                };
            }
            SendAction::Cancel => {
                let SendStatus::Working { progress, .. } = &self.status else {
                    return self;
                };
                next.status = SendStatus::Working {
                    progress: progress.clone(),
                    cancelling: true,
                };
            }
            SendAction::Finished(Ok(sent)) => next.status = SendStatus::Done(sent),
            SendAction::Finished(Err(notice)) => next.status = SendStatus::Failed(notice),
            SendAction::Reset => next = SendState::default(),
        }
        Rc::new(next)
    }
}

/// A receive step that may be run again after a network failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryStep {
    /// `POST info` and the metadata.
    Details,
    /// `POST claim`; if the failed claim did reach the server, the retry
    /// shows "already downloaded".
    Claim,
    /// The `GET` of a download URL that the claim returned.
    Download(ClaimResponse),
}

/// What the receive page is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum ReceiveStatus {
    /// Asking the server about the file.
    Loading,
    /// Showing the file and the Download button.
    Ready,
    /// Claiming, downloading and decrypting.
    Downloading(Option<Progress>),
    /// Saved; `confirmed` when the server was told to delete the ciphertext.
    Done {
        /// Whether the confirmation reached the server.
        confirmed: bool,
    },
    /// A step failed.
    Failed {
        /// Message for the user.
        notice: Notice,
        /// The step a Retry button runs again, when nothing was burned.
        retry: Option<RetryStep>,
    },
}

/// State of the receive page.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiveState {
    /// The file, once its metadata was decrypted.
    pub details: Option<FileDetails>,
    /// Whether the download is gathered in memory before saving.
    pub in_memory: bool,
    /// What the page is doing.
    pub status: ReceiveStatus,
}

impl ReceiveState {
    /// A page that starts loading; `in_memory` when downloads cannot stream.
    pub fn new(in_memory: bool) -> Self {
        Self {
            details: None,
            in_memory,
            status: ReceiveStatus::Loading,
        }
    }
}

/// Changes to [`ReceiveState`].
#[derive(Debug)]
pub enum ReceiveAction {
    /// A retry of the details started.
    Reload,
    /// The details arrived.
    Loaded(FileDetails),
    /// Download was pressed, or a claim or download is retried.
    Downloading,
    /// The download has chosen where bytes go.
    SaverOpened {
        /// Whether the file is gathered in memory.
        in_memory: bool,
    },
    /// Ciphertext bytes received.
    Report {
        /// Bytes received.
        done: u64,
        /// Ciphertext size.
        total: u64,
        /// Page clock in ms.
        now_ms: f64,
    },
    /// The file was saved.
    Done {
        /// Whether the confirmation reached the server.
        confirmed: bool,
    },
    /// A step failed.
    Failed {
        /// Message for the user.
        notice: Notice,
        /// The step a Retry button runs again.
        retry: Option<RetryStep>,
    },
}

impl Reducible for ReceiveState {
    type Action = ReceiveAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            ReceiveAction::Reload => next.status = ReceiveStatus::Loading,
            ReceiveAction::Loaded(details) => {
                next.details = Some(details);
                next.status = ReceiveStatus::Ready;
            }
            ReceiveAction::Downloading => next.status = ReceiveStatus::Downloading(None),
            ReceiveAction::SaverOpened { in_memory } => next.in_memory = in_memory,
            ReceiveAction::Report {
                done,
                total,
                now_ms,
            } => {
                let ReceiveStatus::Downloading(progress) = &self.status else {
                    return self;
                };
                let progress =
                    Progress::advance(progress.as_ref(), Phase::Downloading, done, total, now_ms);
                next.status = ReceiveStatus::Downloading(Some(progress));
            }
            ReceiveAction::Done { confirmed } => next.status = ReceiveStatus::Done { confirmed },
            ReceiveAction::Failed { notice, retry } => {
                next.status = ReceiveStatus::Failed { notice, retry }
            }
        }
        Rc::new(next)
    }
}

#[cfg(test)]
// A failed match in a test reports through panic, as assert does.
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn report(phase: Phase, done: u64, total: u64, now_ms: f64) -> SendAction {
        SendAction::Report {
            phase,
            done,
            total,
            now_ms,
        }
    }

    fn working(progress: Option<Progress>) -> SendState {
        SendState {
            status: SendStatus::Working {
                progress,
                cancelling: false,
            },
            ..SendState::default()
        }
    }

    #[wasm_bindgen_test]
    fn progress_restarts_on_new_phase() {
        let state = Rc::new(working(None));
        let state = state.reduce(report(Phase::Encrypting, 10, 100, 1_000.0));
        let state = state.reduce(report(Phase::Encrypting, 60, 100, 3_000.0));
        let SendStatus::Working {
            progress: Some(progress),
            ..
        } = &state.status
        else {
            panic!("not working: {:?}", state.status);
        };
        assert_eq!(progress.started_ms, 1_000.0);
        assert_eq!(progress.bytes_per_second(), Some(30.0));
        assert_eq!(progress.seconds_left(), Some(40.0 / 30.0));

        let state = state.reduce(report(Phase::Uploading, 5, 200, 4_000.0));
        let SendStatus::Working {
            progress: Some(progress),
            ..
        } = &state.status
        else {
            panic!("not working: {:?}", state.status);
        };
        assert_eq!(progress.phase, Phase::Uploading);
        assert_eq!(progress.started_ms, 4_000.0);
        assert_eq!(progress.bytes_per_second(), None);
    }

    #[wasm_bindgen_test]
    fn report_ignored_when_not_working() {
        let state = Rc::new(SendState::default());
        let after = Rc::clone(&state).reduce(report(Phase::Encrypting, 1, 2, 0.0));
        assert_eq!(after.status, SendStatus::Idle);
    }

    #[wasm_bindgen_test]
    fn start_needs_a_file() {
        let state = Rc::new(SendState::default()).reduce(SendAction::Start);
        assert_eq!(state.status, SendStatus::Idle);
    }

    #[wasm_bindgen_test]
    fn cancel_keeps_progress() {
        let progress = Progress::start(Phase::Uploading, 10, 0.0);
        let state = Rc::new(working(Some(progress.clone()))).reduce(SendAction::Cancel);
        assert_eq!(
            state.status,
            SendStatus::Working {
                progress: Some(progress),
                cancelling: true
            }
        );
    }

    #[wasm_bindgen_test]
    fn empty_phase_counts_as_done() {
        assert_eq!(Progress::start(Phase::Downloading, 0, 0.0).fraction(), 1.0);
    }

    #[wasm_bindgen_test]
    fn api_errors_map_to_kinds() {
        let cases = [
            (ApiError::NotFound, "not-found"),
            (
                ApiError::AlreadyDownloaded {
                    downloaded_at: Some(5),
                },
                "already-downloaded",
            ),
            (ApiError::Expired { expires_at: None }, "expired"),
            (ApiError::Network("offline".into()), "network"),
            (
                ApiError::Server {
                    status: 500,
                    code: "internal".into(),
                    message: String::new(),
                },
                "network",
            ),
        ];
        for (error, kind) in cases {
            let notice = Notice::from_receive(&ReceiveError::Api(error.clone()));
            assert_eq!(notice.kind.data_kind(), kind, "{error:?}");
        }
        let downloaded = Notice::from_receive(&ReceiveError::Api(ApiError::AlreadyDownloaded {
            downloaded_at: Some(5),
        }));
        assert_eq!(downloaded.at, Some(5));
    }

    #[wasm_bindgen_test]
    fn network_error_on_other_origin() {
        let network = Notice::from_receive(&ReceiveError::Api(ApiError::Network(
            "TypeError: Failed to fetch".into(),
        )));
        assert_eq!(
            network.detail,
            "Technical detail: TypeError: Failed to fetch."
        );

        let moved = network
            .clone()
            .check_origin("http://localhost:8080", Some("http://127.0.0.1:8080"));
        assert_eq!(moved.kind, NoticeKind::WrongOrigin);
        assert_eq!(moved.page_origin.as_deref(), Some("http://localhost:8080"));
        assert_eq!(
            moved.server_origin.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(moved.detail, "");
    }

    #[wasm_bindgen_test]
    fn network_error_on_same_origin() {
        let network = Notice::from_receive(&ReceiveError::Api(ApiError::Network("x".into())));
        let same = network
            .clone()
            .check_origin("http://127.0.0.1:8080", Some("http://127.0.0.1:8080"));
        assert_eq!(same, network);
        let unknown = network.clone().check_origin("http://localhost:8080", None);
        assert_eq!(unknown, network);
    }

    #[wasm_bindgen_test]
    fn other_errors_keep_kind_on_other_origin() {
        let expired =
            Notice::from_receive(&ReceiveError::Api(ApiError::Expired { expires_at: None }));
        let checked = expired
            .clone()
            .check_origin("http://localhost:8080", Some("http://127.0.0.1:8080"));
        assert_eq!(checked, expired);
    }

    #[wasm_bindgen_test]
    fn detail_reads_as_sentence() {
        assert_eq!(
            sentence("the upload failed (timeout)"),
            "The upload failed (timeout)."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
        let invalid = Notice::from_receive(&ReceiveError::InvalidLink(LinkError::Truncated));
        assert!(!invalid.detail.contains("copy"), "{}", invalid.detail);
        assert!(invalid.detail.starts_with("The link"), "{}", invalid.detail);
    }

    #[wasm_bindgen_test]
    fn decrypt_failures_share_one_kind() {
        let from_metadata = Notice::from_receive(&ReceiveError::DecryptFailed);
        let from_content = Notice::from_receive(&ReceiveError::Download(DownloadError::Decrypt));
        assert_eq!(from_metadata, from_content);
        assert_eq!(from_metadata.kind.data_kind(), "decrypt-failed");
    }
}
