//! The page frame and the choice between sending and receiving.

use yew::prelude::*;

use crate::components::{ReceivePage, SendPage};
use crate::hooks::use_fragment;

/// Shows the receive page when the URL has a fragment (a link was opened)
/// and the send page otherwise.
#[function_component(App)]
pub fn app() -> Html {
    let fragment = use_fragment();

    let page = match fragment {
        // Keyed by the fragment so a different link starts from a clean state.
        Some(fragment) => {
            html! { <ReceivePage key={fragment.as_str()} fragment={fragment.clone()} /> }
        }
        None => html! { <SendPage /> },
    };

    html! {
        <>
            <header class="site-header">
                <a class="brand" href="./">{ "Safebox" }</a>
                <p class="tagline">{ "End-to-end encrypted file sharing. Each link works once." }</p>
            </header>
            <main class="card">{ page }</main>
            <footer class="site-footer">
                <p>
                    { "Files are encrypted in your browser. The key stays in the part of the link after #, \
                       which browsers never send to the server." }
                </p>
            </footer>
        </>
    }
}
