//! Small bridges between JS callbacks and Rust futures.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// A promise that Rust code resolves later, so an `async fn` can wait for a
/// JS event.
#[derive(Clone)]
pub struct Deferred {
    resolve: Rc<RefCell<Option<Function>>>,
}

impl Deferred {
    /// Creates a pending promise and the handle that resolves it.
    pub fn new() -> (Self, JsFuture) {
        let mut slot = None;
        let promise = Promise::new(&mut |resolve, _reject| slot = Some(resolve));
        (
            Self {
                resolve: Rc::new(RefCell::new(slot)),
            },
            JsFuture::from(promise),
        )
    }

    /// Resolves the promise with `value`. Later calls do nothing.
    pub fn resolve(&self, value: &JsValue) {
        if let Some(resolve) = self.resolve.borrow_mut().take() {
            // Calling a promise's resolve function cannot throw.
            let _ = resolve.call1(&JsValue::UNDEFINED, value);
        }
    }
}

/// Milliseconds since the Unix epoch, from the page's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Fills `bytes` from the browser's CSPRNG.
///
/// # Errors
///
/// The browser's exception when `crypto.getRandomValues` is missing.
pub fn random_bytes(bytes: &mut [u8]) -> Result<(), JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    window.crypto()?.get_random_values_with_u8_array(bytes)?;
    Ok(())
}

/// Origin (`scheme://host:port`) the page was opened at, or empty outside a window.
pub fn page_origin() -> String {
    web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default()
}
