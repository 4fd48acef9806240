//! Custom hooks: the page's URL fragment and the send and receive flows.

mod use_fragment;
mod use_receive;
mod use_send;

use crate::api::{self, Api};
use crate::jsutil::page_origin;
use crate::state::{Notice, NoticeKind};

pub use use_fragment::use_fragment;
pub use use_receive::{ReceiveHandle, use_receive};
pub use use_send::{SendHandle, use_send};

/// Returns `notice`, replaced by [`NoticeKind::WrongOrigin`] when the page
/// was opened at another address of the API's own server.
///
/// That is the case when a request failed on the network, `api` is on
/// another origin than the page, and the page's origin serves the API too.
/// The browser then blocked the request as cross-origin, for example with
/// the page at `localhost` and the server's public URL at `127.0.0.1`. A
/// deployment with the page and the API on different hosts gets the
/// network message, because its page host has no API.
async fn explain_network_failure(notice: Notice, api: &Api) -> Notice {
    let page_origin = page_origin();
    let api_origin = api.origin();
    let other_origin = api_origin
        .as_deref()
        .is_some_and(|origin| origin != page_origin);
    if notice.kind == NoticeKind::Network && other_origin && api::serves_api(&page_origin).await {
        notice.check_origin(&page_origin, api_origin.as_deref())
    } else {
        notice
    }
}
