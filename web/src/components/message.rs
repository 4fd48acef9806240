//! A message about a failed or finished step, with an optional Retry button.

use yew::prelude::*;

use crate::format;
use crate::state::{Notice, NoticeKind};

/// Properties of [`Message`].
#[derive(Properties, PartialEq)]
pub struct MessageProps {
    /// The notice to show.
    pub notice: Notice,
    /// Shows a Retry button that calls this.
    #[prop_or_default]
    pub on_retry: Option<Callback<()>>,
    /// For [`NoticeKind::WrongOrigin`]: the same page at the server's origin,
    /// shown as a link. It may contain the link's secret.
    #[prop_or_default]
    pub server_page_url: Option<AttrValue>,
}

/// Renders a titled message box whose `data-kind` is [`NoticeKind::data_kind`].
#[function_component(Message)]
pub fn message(props: &MessageProps) -> Html {
    let notice = &props.notice;
    let (title, text) = describe(notice);

    let retry = props.on_retry.as_ref().map(|on_retry| {
        let on_retry = on_retry.clone();
        let onclick = Callback::from(move |_: MouseEvent| on_retry.emit(()));
        html! { <button type="button" class="button" data-testid="retry-button" {onclick}>{ "Retry" }</button> }
    });

    let open_at_server = props.server_page_url.as_ref().map(|href| {
        html! {
            <p>
                <a class="button primary" data-testid="open-at-server" href={href.clone()}>
                    { "Open this page at " }{ notice.server_origin.clone().unwrap_or_default() }
                </a>
            </p>
        }
    });

    let detail = (!notice.detail.is_empty())
        .then(|| html! { <p class="message-detail">{ &notice.detail }</p> });
    let severity = if notice.kind == NoticeKind::Cancelled {
        "message info"
    } else {
        "message error"
    };

    html! {
        <section class={severity} data-testid="message" data-kind={notice.kind.data_kind()} role="alert">
            <h2 class="message-title">{ title }</h2>
            <p>{ text }</p>
            { for open_at_server }
            { for detail }
            { for retry }
        </section>
    }
}

/// Title and explanation of a notice: what happened, then what to do.
fn describe(notice: &Notice) -> (&'static str, String) {
    let when = |prefix: &str| {
        notice
            .at
            .map(|at| format!(" {prefix} {} (your local time)", format::local_time(at)))
            .unwrap_or_default()
    };
    match notice.kind {
        NoticeKind::AlreadyDownloaded => (
            "This file was already downloaded",
            format!(
                "Someone downloaded it{}. Each link works only once, and the file has been deleted. \
                 Ask the sender for a new link. If you did not download it yourself, tell the \
                 sender: someone else opened the link first.",
                when("on")
            ),
        ),
        NoticeKind::Expired => (
            "This link has expired",
            format!(
                "The file expired or was deleted by its sender{}. Ask the sender to share it again.",
                when("on")
            ),
        ),
        NoticeKind::InvalidLink => (
            "This link is invalid or truncated",
            "Check that you copied the whole link, including everything after the #.".to_owned(),
        ),
        NoticeKind::NotFound => (
            "File not found",
            "No file matches this link. Either the link was changed when it was copied, or the \
             file is gone: a file is removed a while after it was downloaded or expired. Check \
             the link or ask the sender for a new one."
                .to_owned(),
        ),
        NoticeKind::DecryptFailed => (
            "Decryption failed",
            "The key in the link is wrong or the data was modified, so the download was stopped. \
             Do not trust any partial file; ask the sender to share the file again."
                .to_owned(),
        ),
        NoticeKind::Network => (
            "Network error",
            "The server could not be reached or did not complete the request. Check your \
             connection and try again."
                .to_owned(),
        ),
        NoticeKind::WrongOrigin => {
            let page = notice.page_origin.as_deref().unwrap_or("another address");
            let server = notice.server_origin.as_deref().unwrap_or("another address");
            (
                "Page opened at the wrong address",
                format!(
                    "This page was opened at {page} but its server is at {server}, so the browser \
                     blocked its requests. Open the page at {server} instead."
                ),
            )
        }
        NoticeKind::TooLarge => (
            "File too large",
            match notice.limit {
                Some(limit) => format!("This server accepts files up to {}. Pick a smaller file.", format::size(limit)),
                None => "This server does not accept a file this large. Pick a smaller file.".to_owned(),
            },
        ),
        NoticeKind::UploadFailed => (
            "Upload failed",
            "The file was not shared. Try again, or pick the file again if it changed.".to_owned(),
        ),
        NoticeKind::Cancelled => ("Upload cancelled", "Nothing was shared.".to_owned()),
        NoticeKind::SaveFailed => (
            "The download was not saved",
            "The browser stopped saving the file. You can retry for a few minutes with the same link.".to_owned(),
        ),
    }
}
