//! The send page: pick a file and an expiry, encrypt, upload, share the link.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::{LinkBox, Message, ProgressBar};
use crate::format;
use crate::hooks::use_send;
use crate::state::{EXPIRY_CHOICES, NoticeKind, SendStatus};

/// Renders the send page, shown when the URL has no fragment.
#[function_component(SendPage)]
pub fn send_page() -> Html {
    let send = use_send();
    let dragging = use_state(|| false);
    let state = &*send.state;
    let working = state.is_working();

    if let SendStatus::Done(sent) = &state.status {
        let reset = send.reset.clone();
        let on_reset = Callback::from(move |_: MouseEvent| reset.emit(()));
        return html! {
            <>
                <p class="selected-file" data-testid="sent-file">
                    { "Sent " }
                    <span class="file-name" data-testid="sent-file-name">{ &sent.name }</span>
                    { " · " }
                    <span data-testid="sent-file-size" data-bytes={sent.size.to_string()}>{ format::size(sent.size) }</span>
                </p>
                <LinkBox link={sent.link.clone()} expires_at={sent.expires_at} />
                <button type="button" class="button" onclick={on_reset}>{ "Send another file" }</button>
            </>
        };
    }

    let on_file_change = {
        let pick = send.pick.clone();
        Callback::from(move |event: Event| {
            let file = event
                .target_dyn_into::<HtmlInputElement>()
                .and_then(|input| input.files())
                .and_then(|files| files.get(0));
            if let Some(file) = file {
                pick.emit(file);
            }
        })
    };

    let on_drag_over = {
        let dragging = dragging.clone();
        Callback::from(move |event: DragEvent| {
            // Without preventDefault the browser opens the dropped file instead.
            event.prevent_default();
            if !*dragging {
                dragging.set(true);
            }
        })
    };
    let on_drag_leave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let on_drop = {
        let dragging = dragging.clone();
        let pick = send.pick.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            dragging.set(false);
            if working {
                return;
            }
            let file = event
                .data_transfer()
                .and_then(|transfer| transfer.files())
                .and_then(|files| files.get(0));
            if let Some(file) = file {
                pick.emit(file);
            }
        })
    };

    let on_expiry_change = {
        let set_expiry = send.set_expiry.clone();
        Callback::from(move |event: Event| {
            let seconds = event
                .target_dyn_into::<HtmlSelectElement>()
                .and_then(|select| select.value().parse::<u64>().ok());
            if let Some(seconds) = seconds {
                set_expiry.emit(seconds);
            }
        })
    };

    let on_submit = {
        let start = send.start.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            start.emit(());
        })
    };

    let on_cancel = {
        let cancel = send.cancel.clone();
        Callback::from(move |_: MouseEvent| cancel.emit(()))
    };

    let selected = state.file.as_ref().map(|file| {
        html! {
            <p class="selected-file">
                <span class="file-name">{ file.name() }</span>
                { " · " }
                <span>{ format::size(file.size() as u64) }</span>
            </p>
        }
    });

    let activity = match &state.status {
        SendStatus::Working {
            progress,
            cancelling,
        } => html! {
            <div class="activity">
                <ProgressBar progress={progress.clone()} />
                <button
                    type="button"
                    class="button"
                    data-testid="cancel-button"
                    disabled={*cancelling}
                    onclick={on_cancel}
                >
                    { if *cancelling { "Cancelling…" } else { "Cancel" } }
                </button>
            </div>
        },
        SendStatus::Failed(notice) => {
            let on_retry = (notice.kind == NoticeKind::Network).then(|| send.start.clone());
            html! { <Message notice={notice.clone()} {on_retry} /> }
        }
        SendStatus::Idle | SendStatus::Done(_) => html! {},
    };

    html! {
        <form class="send-form" onsubmit={on_submit}>
            <h1>{ "Send a file" }</h1>
            <div
                data-testid="drop-zone"
                class={classes!("drop-zone", dragging.then_some("dragging"))}
                ondragenter={on_drag_over.clone()}
                ondragover={on_drag_over}
                ondragleave={on_drag_leave}
                ondrop={on_drop}
            >
                <input
                    id="file-input"
                    data-testid="file-input"
                    class="visually-hidden"
                    type="file"
                    disabled={working}
                    onchange={on_file_change}
                />
                <label for="file-input" class="button">{ "Choose a file" }</label>
                <p class="hint">{ "or drop it here" }</p>
                { for selected }
            </div>

            <div class="field">
                <label for="expiry" class="field-label">{ "Delete the file if nobody downloads it within" }</label>
                <select id="expiry" data-testid="expiry" disabled={working} onchange={on_expiry_change}>
                    { for EXPIRY_CHOICES.iter().map(|(seconds, label)| html! {
                        <option value={seconds.to_string()} selected={*seconds == state.expires_in}>{ *label }</option>
                    }) }
                </select>
            </div>

            <button
                type="submit"
                class="button primary"
                data-testid="send-button"
                disabled={working || state.file.is_none()}
            >
                { "Encrypt and send" }
            </button>

            { activity }
        </form>
    }
}
