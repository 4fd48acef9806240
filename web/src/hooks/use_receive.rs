//! The receive flow as a hook: state, and callbacks for Download and Retry.

use std::cell::Cell;
use std::rc::Rc;

use yew::prelude::*;

use safebox_protocol::ClaimResponse;

use super::explain_network_failure;
use crate::api::Api;
use crate::download::DownloadEvents;
use crate::jsutil::now_ms;
use crate::receive::{ReceiveError, Recipient};
use crate::save::{register_worker, streaming_supported};
use crate::state::{Notice, NoticeKind, ReceiveAction, ReceiveState, ReceiveStatus, RetryStep};

/// Minimum time between two progress renders, in ms.
const REPORT_INTERVAL_MS: f64 = 100.0;

/// The receive page's state and what it can do.
pub struct ReceiveHandle {
    /// Current state.
    pub state: UseReducerHandle<ReceiveState>,
    /// Claims the file, then downloads and decrypts it.
    pub download: Callback<()>,
    /// Runs the failed step again.
    pub retry: Callback<()>,
}

type Dispatcher = UseReducerDispatcher<ReceiveState>;

/// Runs the receive flow for the link fragment `fragment` (without `#`).
///
/// Opening the page only requests the file's details, which burns nothing;
/// only [`ReceiveHandle::download`] claims the file.
#[hook]
pub fn use_receive(fragment: &str) -> ReceiveHandle {
    let state = use_reducer(|| ReceiveState::new(!streaming_supported()));
    let recipient = use_memo(fragment.to_owned(), |fragment| {
        Recipient::from_fragment(fragment).map(Rc::new)
    });

    {
        let dispatcher = state.dispatcher();
        let recipient = recipient.clone();
        use_effect_with(fragment.to_owned(), move |_| {
            match &*recipient {
                Err(error) => fail(&dispatcher, error),
                Ok(recipient) => {
                    if streaming_supported() {
                        // Registered now so the worker is active by the time
                        // Download is pressed; failure shows up there.
                        wasm_bindgen_futures::spawn_local(async {
                            let _ = register_worker().await;
                        });
                    }
                    wasm_bindgen_futures::spawn_local(load_details(
                        dispatcher,
                        Rc::clone(recipient),
                    ));
                }
            }
        });
    }

    // Set by the first click, so a double click cannot claim twice.
    let claim_started = use_mut_ref(|| false);
    let download = {
        let state = state.clone();
        let recipient = recipient.clone();
        Callback::from(move |()| {
            if *claim_started.borrow() {
                return;
            }
            if let (ReceiveStatus::Ready, Ok(recipient)) = (&state.status, &*recipient) {
                *claim_started.borrow_mut() = true;
                let name = state
                    .details
                    .as_ref()
                    .map(|details| details.name.clone())
                    .unwrap_or_default();
                wasm_bindgen_futures::spawn_local(claim_and_download(
                    state.dispatcher(),
                    Rc::clone(recipient),
                    name,
                ));
            }
        })
    };

    let retry = {
        let state = state.clone();
        Callback::from(move |()| {
            let (
                ReceiveStatus::Failed {
                    retry: Some(step), ..
                },
                Ok(recipient),
            ) = (&state.status, &*recipient)
            else {
                return;
            };
            let dispatcher = state.dispatcher();
            let recipient = Rc::clone(recipient);
            let name = state
                .details
                .as_ref()
                .map(|details| details.name.clone())
                .unwrap_or_default();
            match step.clone() {
                RetryStep::Details => {
                    dispatcher.dispatch(ReceiveAction::Reload);
                    wasm_bindgen_futures::spawn_local(load_details(dispatcher, recipient));
                }
                RetryStep::Claim => {
                    wasm_bindgen_futures::spawn_local(claim_and_download(
                        dispatcher, recipient, name,
                    ));
                }
                RetryStep::Download(claimed) => {
                    wasm_bindgen_futures::spawn_local(run_download(
                        dispatcher, recipient, claimed, name,
                    ));
                }
            }
        })
    };

    ReceiveHandle {
        state,
        download,
        retry,
    }
}

async fn load_details(dispatcher: Dispatcher, recipient: Rc<Recipient>) {
    let api = Api::shared().await;
    match recipient.details(&api).await {
        Ok(details) => dispatcher.dispatch(ReceiveAction::Loaded(details)),
        Err(error) => fail_with_retry(&dispatcher, &api, &error, RetryStep::Details).await,
    }
}

async fn claim_and_download(dispatcher: Dispatcher, recipient: Rc<Recipient>, name: String) {
    dispatcher.dispatch(ReceiveAction::Downloading);
    let api = Api::shared().await;
    match recipient.claim(&api).await {
        Ok(claimed) => run_download(dispatcher, recipient, claimed, name).await,
        Err(error) => fail_with_retry(&dispatcher, &api, &error, RetryStep::Claim).await,
    }
}

async fn run_download(
    dispatcher: Dispatcher,
    recipient: Rc<Recipient>,
    claimed: ClaimResponse,
    name: String,
) {
    dispatcher.dispatch(ReceiveAction::Downloading);
    let api = Api::shared().await;
    let events = PageEvents {
        dispatcher: dispatcher.clone(),
        total: claimed.size,
        last_ms: Cell::new(f64::NEG_INFINITY),
    };
    match recipient.download(&api, &claimed, &name, &events).await {
        Ok(confirmed) => dispatcher.dispatch(ReceiveAction::Done { confirmed }),
        Err(error) => {
            fail_with_retry(&dispatcher, &api, &error, RetryStep::Download(claimed)).await;
        }
    }
}

fn fail(dispatcher: &Dispatcher, error: &ReceiveError) {
    dispatcher.dispatch(ReceiveAction::Failed {
        notice: Notice::from_receive(error),
        retry: None,
    });
}

/// Reports `error`, offering `step` again when the failure may be passing
/// and retrying burns nothing new. A page opened at the wrong address gets
/// [`NoticeKind::WrongOrigin`], which no retry can fix.
async fn fail_with_retry(
    dispatcher: &Dispatcher,
    api: &Api,
    error: &ReceiveError,
    step: RetryStep,
) {
    let notice = explain_network_failure(Notice::from_receive(error), api).await;
    let retry = matches!(notice.kind, NoticeKind::Network | NoticeKind::SaveFailed).then_some(step);
    dispatcher.dispatch(ReceiveAction::Failed { notice, retry });
}

/// Forwards download events to the page, rendering progress at most every
/// [`REPORT_INTERVAL_MS`].
struct PageEvents {
    dispatcher: Dispatcher,
    total: u64,
    last_ms: Cell<f64>,
}

impl DownloadEvents for PageEvents {
    fn saver_opened(&self, in_memory: bool) {
        self.dispatcher
            .dispatch(ReceiveAction::SaverOpened { in_memory });
    }

    fn progress(&self, received: u64) {
        let now = now_ms();
        if received >= self.total || now - self.last_ms.get() >= REPORT_INTERVAL_MS {
            self.last_ms.set(now);
            self.dispatcher.dispatch(ReceiveAction::Report {
                done: received,
                total: self.total,
                now_ms: now,
            });
        }
    }
}
