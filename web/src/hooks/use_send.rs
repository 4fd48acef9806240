//! The send flow as a hook: state, and callbacks that start and cancel it.

use std::cell::Cell;
use std::rc::Rc;

use web_sys::File;
use yew::prelude::*;

use super::explain_network_failure;
use crate::api::Api;
use crate::jsutil::now_ms;
use crate::send::{page_url, send_file};
use crate::state::{Notice, Phase, SendAction, SendState};
use crate::upload::CancelToken;

/// Minimum time between two progress renders, in ms.
const REPORT_INTERVAL_MS: f64 = 100.0;

/// The send page's state and what it can do.
pub struct SendHandle {
    /// Current state.
    pub state: UseReducerHandle<SendState>,
    /// Picks a file.
    pub pick: Callback<File>,
    /// Sets the expiry in seconds.
    pub set_expiry: Callback<u64>,
    /// Encrypts and uploads the picked file.
    pub start: Callback<()>,
    /// Stops a running send and deletes what was uploaded.
    pub cancel: Callback<()>,
    /// Clears the form for another file.
    pub reset: Callback<()>,
}

/// Runs sends from the send page.
#[hook]
pub fn use_send() -> SendHandle {
    let state = use_reducer(SendState::default);
    let cancel_token = use_mut_ref(CancelToken::new);

    let pick = {
        let state = state.clone();
        Callback::from(move |file: File| state.dispatch(SendAction::PickFile(file)))
    };

    let set_expiry = {
        let state = state.clone();
        Callback::from(move |seconds: u64| state.dispatch(SendAction::SetExpiry(seconds)))
    };

    let start = {
        let state = state.clone();
        let cancel_token = cancel_token.clone();
        Callback::from(move |()| {
            let (Some(file), false) = (state.file.clone(), state.is_working()) else {
                return;
            };
            let expires_in = state.expires_in;
            let token = CancelToken::new();
            *cancel_token.borrow_mut() = token.clone();
            state.dispatch(SendAction::Start);

            let dispatcher = state.dispatcher();
            wasm_bindgen_futures::spawn_local(async move {
                let report = throttled_report(dispatcher.clone());
                let api = Api::shared().await;
                let result = send_file(&api, &file, expires_in, &page_url(), &token, report).await;
                let result = match result {
                    Ok(sent) => Ok(sent),
                    Err(error) => {
                        Err(explain_network_failure(Notice::from_send(&error), &api).await)
                    }
                };
                dispatcher.dispatch(SendAction::Finished(result));
            });
        })
    };

    let cancel = {
        let state = state.clone();
        Callback::from(move |()| {
            cancel_token.borrow().cancel();
            state.dispatch(SendAction::Cancel);
        })
    };

    let reset = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(SendAction::Reset))
    };

    SendHandle {
        state,
        pick,
        set_expiry,
        start,
        cancel,
        reset,
    }
}

/// A progress callback that renders at most every [`REPORT_INTERVAL_MS`],
/// and always at the start and end of a phase.
fn throttled_report(dispatcher: UseReducerDispatcher<SendState>) -> Rc<dyn Fn(Phase, u64, u64)> {
    let last_ms = Cell::new(f64::NEG_INFINITY);
    let last_phase = Cell::new(None);
    Rc::new(move |phase: Phase, done: u64, total: u64| {
        let now = now_ms();
        let boundary = done == 0 || done >= total || last_phase.get() != Some(phase);
        if boundary || now - last_ms.get() >= REPORT_INTERVAL_MS {
            last_ms.set(now);
            last_phase.set(Some(phase));
            dispatcher.dispatch(SendAction::Report {
                phase,
                done,
                total,
                now_ms: now,
            });
        }
    })
}
