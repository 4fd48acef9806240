//! The URL fragment, kept current on `hashchange`.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

/// The fragment of the page URL without `#`, or `None` when it is empty.
///
/// The fragment contains a link's secret: it is read here and never written to
/// another URL, a log or storage.
#[hook]
pub fn use_fragment() -> Option<String> {
    let fragment = use_state(current_fragment);

    {
        let fragment = fragment.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn Fn(Event)>::new(move |_event: Event| {
                fragment.set(current_fragment())
            });
            let window = web_sys::window();
            if let Some(window) = &window {
                // Adding a listener to a window cannot fail.
                let _ = window.add_event_listener_with_callback(
                    "hashchange",
                    listener.as_ref().unchecked_ref(),
                );
            }
            move || {
                if let Some(window) = &window {
                    let _ = window.remove_event_listener_with_callback(
                        "hashchange",
                        listener.as_ref().unchecked_ref(),
                    );
                }
                drop(listener);
            }
        });
    }

    (*fragment).clone()
}

fn current_fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let fragment = hash.strip_prefix('#').unwrap_or(&hash);
    (!fragment.is_empty()).then(|| fragment.to_owned())
}
