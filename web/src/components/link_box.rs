//! The share link with a Copy button and what the link allows.

use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::format;

/// Properties of [`LinkBox`].
#[derive(Properties, PartialEq)]
pub struct LinkBoxProps {
    /// The share link, secret included.
    pub link: AttrValue,
    /// Unix seconds after which the file is gone.
    pub expires_at: u64,
}

/// Outcome of the last Copy click.
#[derive(Clone, Copy, PartialEq)]
enum CopyState {
    Idle,
    Copied,
    /// The clipboard refused; the text is selected for the user to copy.
    Selected,
}

/// Renders a read-only field with the link, a Copy button and the expiry note.
#[function_component(LinkBox)]
pub fn link_box(props: &LinkBoxProps) -> Html {
    let input = use_node_ref();
    let copy_state = use_state(|| CopyState::Idle);

    let on_copy = {
        let input = input.clone();
        let copy_state = copy_state.clone();
        let link = props.link.clone();
        Callback::from(move |_: MouseEvent| {
            let input = input.clone();
            let copy_state = copy_state.clone();
            let link = link.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if write_clipboard(&link).await {
                    copy_state.set(CopyState::Copied);
                } else {
                    if let Some(input) = input.cast::<HtmlInputElement>() {
                        input.select();
                    }
                    copy_state.set(CopyState::Selected);
                }
            });
        })
    };

    let on_focus = Callback::from(|event: FocusEvent| {
        if let Some(input) = event.target_dyn_into::<HtmlInputElement>() {
            input.select();
        }
    });

    let copy_label = match *copy_state {
        CopyState::Idle => "Copy",
        CopyState::Copied => "Copied",
        CopyState::Selected => "Copy",
    };
    let copy_hint = match *copy_state {
        CopyState::Idle => "",
        CopyState::Copied => "The link is on your clipboard.",
        CopyState::Selected => {
            "Copying was blocked; the link is selected, press Ctrl+C (⌘C on a Mac)."
        }
    };

    html! {
        <section class="link-box">
            <h2>{ "Your link is ready" }</h2>
            <label for="share-link" class="field-label">{ "Share this link" }</label>
            <div class="link-row">
                <input
                    id="share-link"
                    ref={input}
                    data-testid="share-link"
                    class="link-input"
                    type="text"
                    readonly=true
                    spellcheck="false"
                    autocomplete="off"
                    value={props.link.clone()}
                    onfocus={on_focus}
                />
                <button type="button" class="button primary" data-testid="copy-button" onclick={on_copy}>
                    { copy_label }
                </button>
            </div>
            <p class="copy-hint" aria-live="polite">{ copy_hint }</p>
            <p class="expiry-note" data-testid="expiry-note">
                { "This link works once: the first download deletes the file. If nobody downloads it, \
                   it expires on " }
                <time>{ format::local_time(props.expires_at) }</time>
                { " (your local time)." }
            </p>
            <p class="hint">{ "Anyone with the link can download the file, so send it over a channel you trust." }</p>
        </section>
    }
}

/// Writes `text` to the clipboard. `navigator.clipboard` exists only in
/// secure contexts and may still refuse, so `false` means "not copied".
async fn write_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let available = Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|value| !value.is_undefined());
    available
        && JsFuture::from(navigator.clipboard().write_text(text))
            .await
            .is_ok()
}
