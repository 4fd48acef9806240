//! The receive page: the file behind the link, and the Download button.

use yew::prelude::*;

use crate::components::{Message, ProgressBar};
use crate::format;
use crate::hooks::use_receive;
use crate::receive::FileDetails;
use crate::state::{Notice, NoticeKind, ReceiveStatus};

/// Properties of [`ReceivePage`].
#[derive(Properties, PartialEq)]
pub struct ReceivePageProps {
    /// The URL fragment without `#`. It contains the link's secret.
    pub fragment: AttrValue,
}

/// Renders the receive page, shown when the URL has a fragment.
#[function_component(ReceivePage)]
pub fn receive_page(props: &ReceivePageProps) -> Html {
    let receive = use_receive(&props.fragment);
    let state = &*receive.state;

    // After the download the file is gone from the server, so its expiry no
    // longer applies.
    let downloaded = matches!(state.status, ReceiveStatus::Done { .. });
    let details = state
        .details
        .as_ref()
        .map(|details| details_view(details, !downloaded));
    let in_memory_notice = state.in_memory.then(|| {
        html! {
            <p class="notice" data-testid="in-memory-notice">
                { "This browser cannot save the file while it downloads (that needs HTTPS), so the \
                   whole file is kept in memory until it is complete. Very large files may fail." }
            </p>
        }
    });

    let body = match &state.status {
        ReceiveStatus::Loading => html! {
            <p class="loading" aria-live="polite">{ "Checking the link…" }</p>
        },
        ReceiveStatus::Ready => {
            let download = receive.download.clone();
            let onclick = Callback::from(move |_: MouseEvent| download.emit(()));
            html! {
                <>
                    { for in_memory_notice }
                    <p class="hint">
                        { "The link works once: downloading uses it up and deletes the file from the server." }
                    </p>
                    <button type="button" class="button primary" data-testid="download-button" {onclick}>
                        { "Download and decrypt" }
                    </button>
                </>
            }
        }
        ReceiveStatus::Downloading(progress) => html! {
            <>
                { for in_memory_notice }
                <ProgressBar progress={progress.clone()} />
            </>
        },
        ReceiveStatus::Done { confirmed } => html! {
            <>
                { for in_memory_notice }
                <p class="success" data-testid="download-done" role="status">
                    { "Download complete. The file was decrypted and checked, and " }
                    { if *confirmed {
                        "it has been deleted from the server."
                    } else {
                        "the server will delete its copy shortly."
                    } }
                </p>
            </>
        },
        ReceiveStatus::Failed { notice, retry } => {
            let on_retry = retry.is_some().then(|| receive.retry.clone());
            let server_page_url = server_page_url(notice, &props.fragment);
            html! { <Message notice={notice.clone()} {on_retry} {server_page_url} /> }
        }
    };

    html! {
        <section class="receive">
            <h1>{ "Receive a file" }</h1>
            { for details }
            { body }
            <p class="hint"><a href="./">{ "Send a file of your own" }</a></p>
        </section>
    }
}

/// Builds the URL of this page, fragment included, at the server's origin
/// when `notice` reports that the page was opened at another origin.
fn server_page_url(notice: &Notice, fragment: &str) -> Option<AttrValue> {
    if notice.kind != NoticeKind::WrongOrigin {
        return None;
    }
    let server_origin = notice.server_origin.as_deref()?;
    let location = web_sys::window()?.location();
    let path = location.pathname().unwrap_or_default();
    let query = location.search().unwrap_or_default();
    Some(format!("{server_origin}{path}{query}#{fragment}").into())
}

fn details_view(details: &FileDetails, show_expiry: bool) -> Html {
    let expiry = show_expiry.then(|| {
        html! {
            <>
                <dt>{ "Expires" }</dt>
                <dd data-testid="expires-at">{ format::local_time(details.expires_at) }{ " (your local time)" }</dd>
            </>
        }
    });
    html! {
        <dl class="file-details">
            <dt>{ "File" }</dt>
            <dd class="file-name" data-testid="file-name">{ &details.name }</dd>
            <dt>{ "Size" }</dt>
            <dd data-testid="file-size" data-bytes={details.size.to_string()}>{ format::size(details.size) }</dd>
            { for expiry }
        </dl>
    }
}
