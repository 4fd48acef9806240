//! Saving decrypted bytes as a download.
//!
//! [`Saver::Stream`] hands the bytes to the browser's download manager as
//! they are decrypted, through the service worker in `web/static/sw.js`, so
//! a file of any size passes through memory a few records at a time.
//! Service workers exist only in secure contexts (HTTPS or localhost), so
//! elsewhere [`Saver::Memory`] gathers the whole file in a `Blob` and saves
//! it at the end. The page shows a notice in that case.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    HtmlAnchorElement, HtmlIFrameElement, MessageChannel, MessageEvent, MessagePort, ServiceWorker,
    Url,
};

use crate::blob_builder::BlobBuilder;
use crate::cipher::describe;
use crate::jsutil::{Deferred, now_ms, random_bytes};

/// How long to wait for the service worker to become active.
const WORKER_READY_TIMEOUT_MS: u32 = 5_000;
/// How long to wait for the worker to reply to a message or for the browser
/// to start reading the download.
const WORKER_ANSWER_TIMEOUT_MS: u32 = 10_000;
/// Interval of keep-alive messages, below the 30 s after which Chromium
/// stops an idle service worker.
const PING_INTERVAL_MS: f64 = 10_000.0;
/// Delay before the object URL of an in-memory download is revoked, so the
/// browser has started reading it.
const REVOKE_DELAY_MS: u32 = 60_000;

/// Failure to save the decrypted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveError {
    /// The user cancelled the download in the browser.
    Cancelled,
    /// The browser could not create or store the download.
    Failed(String),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("the download was cancelled in the browser"),
            Self::Failed(reason) => write!(f, "the file could not be saved ({reason})"),
        }
    }
}

/// Destination of decrypted bytes.
pub enum Saver {
    /// Streamed to the download manager through the service worker.
    Stream(StreamSaver),
    /// Gathered in a `Blob`, saved when complete.
    Memory(MemorySaver),
}

impl Saver {
    /// Starts a download of `size` bytes named `name`: streamed when the
    /// service worker is available and replies, in memory otherwise.
    ///
    /// `name` is used as given, so it must come from
    /// [`safebox_crypto::Metadata::safe_file_name`].
    pub async fn open(name: &str, size: u64) -> Self {
        if streaming_supported()
            && let Ok(saver) = StreamSaver::open(name, size).await
        {
            return Self::Stream(saver);
        }
        Self::Memory(MemorySaver::new(name))
    }

    /// Returns whether the whole file is gathered in memory first.
    pub fn is_in_memory(&self) -> bool {
        matches!(self, Self::Memory(_))
    }

    /// Appends `bytes` to the file, waiting while the download manager is
    /// behind.
    ///
    /// # Errors
    ///
    /// [`SaveError::Cancelled`] when the user cancelled the download,
    /// [`SaveError::Failed`] when the browser cannot take more data.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), SaveError> {
        match self {
            Self::Stream(saver) => saver.write(bytes).await,
            Self::Memory(saver) => saver.write(bytes),
        }
    }

    /// Ends the file and lets the browser finish saving it.
    ///
    /// # Errors
    ///
    /// [`SaveError::Failed`] when the in-memory file cannot be saved.
    pub fn finish(self) -> Result<(), SaveError> {
        match self {
            Self::Stream(saver) => {
                saver.finish();
                Ok(())
            }
            Self::Memory(saver) => saver.finish(),
        }
    }

    /// Stops the download so that no partial file is kept as complete.
    pub fn abort(self) {
        if let Self::Stream(saver) = self {
            saver.abort();
        }
    }
}

/// Returns whether this page can stream downloads: it needs a secure context and
/// `navigator.serviceWorker`.
pub fn streaming_supported() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let service_workers = Reflect::get(&window.navigator(), &JsValue::from_str("serviceWorker"));
    window.is_secure_context() && service_workers.is_ok_and(|value| !value.is_undefined())
}

/// Registers `sw.js` (next to the page) so it is active before a download
/// starts. Safe to call more than once.
///
/// # Errors
///
/// The browser's exception when registration fails.
pub async fn register_worker() -> Result<(), SaveError> {
    let window = web_sys::window().ok_or_else(|| SaveError::Failed("no window".into()))?;
    let registration = window.navigator().service_worker().register("./sw.js");
    let registered = with_timeout(&registration, WORKER_READY_TIMEOUT_MS).await?;
    if registered.is_undefined() {
        return Err(SaveError::Failed(
            "service worker registration timed out".into(),
        ));
    }
    Ok(())
}

/// `Content-Disposition` for an attachment named `name`: an ASCII fallback
/// in `filename` and the exact name in `filename*` (RFC 6266 and RFC 5987).
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();

    let mut encoded = String::new();
    for byte in name.bytes() {
        let plain = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
        if plain {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }

    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Streams a download through the service worker.
pub struct StreamSaver {
    port: MessagePort,
    shared: Rc<PortState>,
    worker: ServiceWorker,
    frame: HtmlIFrameElement,
    last_ping_ms: Cell<f64>,
    _on_message: Closure<dyn Fn(MessageEvent)>,
}

/// Messages the worker has posted on the port so far.
#[derive(Default)]
struct PortState {
    registered: Cell<bool>,
    rejected: Cell<bool>,
    cancelled: Cell<bool>,
    /// Chunks the stream has requested and not yet received.
    credits: Cell<u32>,
    waiter: RefCell<Option<Deferred>>,
}

impl PortState {
    fn wake(&self) {
        if let Some(waiter) = self.waiter.borrow_mut().take() {
            waiter.resolve(&JsValue::UNDEFINED);
        }
    }

    /// Waits for the next message on the port, or `timeout_ms` at most.
    async fn next_event(&self, timeout_ms: u32) {
        let (waiter, woken) = Deferred::new();
        *self.waiter.borrow_mut() = Some(waiter.clone());
        let timer = Timeout::new(timeout_ms, move || waiter.resolve(&JsValue::UNDEFINED));
        // The promise is never rejected.
        let _ = woken.await;
        drop(timer);
    }

    /// Waits until `ready` returns true or `timeout_ms` passes.
    async fn wait_for(&self, timeout_ms: u32, ready: impl Fn(&Self) -> bool) -> bool {
        let deadline = now_ms() + f64::from(timeout_ms);
        while !ready(self) {
            let left = deadline - now_ms();
            if left <= 0.0 {
                return false;
            }
            self.next_event(left as u32 + 1).await;
        }
        true
    }
}

impl StreamSaver {
    async fn open(name: &str, size: u64) -> Result<Self, SaveError> {
        let failed = |error: JsValue| SaveError::Failed(describe(&error));
        let window = web_sys::window().ok_or_else(|| SaveError::Failed("no window".into()))?;
        let document = window
            .document()
            .ok_or_else(|| SaveError::Failed("no document".into()))?;

        register_worker().await?;
        let worker = active_worker(&window).await?;
        let scope_url = Reflect::get(&worker, &JsValue::from_str("scriptURL"))
            .ok()
            .and_then(|url| url.as_string())
            .ok_or_else(|| SaveError::Failed("the service worker has no script URL".into()))?;

        let channel = MessageChannel::new().map_err(failed)?;
        let port = channel.port1();
        let shared = Rc::new(PortState::default());
        let on_message = {
            let shared = Rc::clone(&shared);
            Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
                let kind = Reflect::get(&event.data(), &JsValue::from_str("type"))
                    .ok()
                    .and_then(|kind| kind.as_string())
                    .unwrap_or_default();
                match kind.as_str() {
                    "registered" => shared.registered.set(true),
                    "rejected" => shared.rejected.set(true),
                    "pull" => shared.credits.set(shared.credits.get() + 1),
                    "cancel" => shared.cancelled.set(true),
                    _ => {}
                }
                shared.wake();
            })
        };
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let stream_url =
            Url::new_with_base(&format!("download-stream/{}", random_token()?), &scope_url)
                .map_err(failed)?
                .href();
        let message = Object::new();
        set(&message, "type", &"register".into());
        set(&message, "url", &stream_url.as_str().into());
        set(&message, "headers", &download_headers(name, size).into());
        worker
            .post_message_with_transferable(&message, &Array::of1(&channel.port2()))
            .map_err(failed)?;

        let answered = shared
            .wait_for(WORKER_ANSWER_TIMEOUT_MS, |s| {
                s.registered.get() || s.rejected.get()
            })
            .await;
        if !answered || shared.rejected.get() {
            port.close();
            return Err(SaveError::Failed(
                "the service worker did not accept the download".into(),
            ));
        }

        let frame = document
            .create_element("iframe")
            .map_err(failed)?
            .dyn_into::<HtmlIFrameElement>()
            .map_err(|_| SaveError::Failed("could not create an iframe".into()))?;
        frame.set_class_name("download-frame");
        frame.set_src(&stream_url);
        frame.set_attribute("aria-hidden", "true").map_err(failed)?;
        frame.set_tab_index(-1);
        let body = document
            .body()
            .ok_or_else(|| SaveError::Failed("no document body".into()))?;
        body.append_child(&frame).map_err(failed)?;

        let saver = Self {
            port,
            shared,
            worker,
            frame,
            last_ping_ms: Cell::new(now_ms()),
            _on_message: on_message,
        };

        // The first "pull" shows that the worker took the iframe's request.
        let started = saver
            .shared
            .wait_for(WORKER_ANSWER_TIMEOUT_MS, |s| s.credits.get() > 0)
            .await;
        if !started {
            saver.abort();
            return Err(SaveError::Failed(
                "the browser did not start the download".into(),
            ));
        }
        Ok(saver)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SaveError> {
        loop {
            if self.shared.cancelled.get() {
                return Err(SaveError::Cancelled);
            }
            self.ping_if_due();
            if self.shared.credits.get() > 0 {
                break;
            }
            self.shared.next_event(PING_INTERVAL_MS as u32).await;
        }
        self.shared.credits.set(self.shared.credits.get() - 1);

        let chunk = Uint8Array::from(bytes);
        let message = Object::new();
        set(&message, "type", &"chunk".into());
        set(&message, "bytes", &chunk);
        self.port
            .post_message_with_transferable(&message, &Array::of1(&chunk.buffer()))
            .map_err(|error| SaveError::Failed(describe(&error)))
    }

    /// Keeps the worker alive while the download runs.
    fn ping_if_due(&self) {
        if now_ms() - self.last_ping_ms.get() >= PING_INTERVAL_MS {
            let message = Object::new();
            set(&message, "type", &"ping".into());
            // A lost ping only risks the case the ping guards against.
            let _ = self.worker.post_message(&message);
            self.last_ping_ms.set(now_ms());
        }
    }

    fn finish(self) {
        self.post_control("end");
        // The iframe stays until the browser has taken over the response.
        let frame = self.frame.clone();
        Timeout::new(REVOKE_DELAY_MS, move || frame.remove()).forget();
    }

    fn abort(self) {
        self.post_control("abort");
        self.frame.remove();
    }

    fn post_control(&self, kind: &str) {
        let message = Object::new();
        set(&message, "type", &kind.into());
        // Fails only once the worker closed the port, when nothing is left to send it.
        let _ = self.port.post_message(&message);
    }
}

impl Drop for StreamSaver {
    fn drop(&mut self) {
        // The worker may still post "pull" after the end; the handler must
        // go before its closure is freed.
        self.port.set_onmessage(None);
    }
}

/// Returns the active service worker of this page's registration.
async fn active_worker(window: &web_sys::Window) -> Result<ServiceWorker, SaveError> {
    let container = window.navigator().service_worker();
    let ready = container
        .ready()
        .map_err(|error| SaveError::Failed(describe(&error)))?;

    let registration = with_timeout(&ready, WORKER_READY_TIMEOUT_MS).await?;

    if registration.is_undefined() {
        return Err(SaveError::Failed(
            "the service worker did not become active".into(),
        ));
    }
    Reflect::get(&registration, &JsValue::from_str("active"))
        .ok()
        .and_then(|worker| worker.dyn_into::<ServiceWorker>().ok())
        .ok_or_else(|| SaveError::Failed("the service worker is not active".into()))
}

/// Waits for `promise`, or `timeout_ms` at most, after which it returns
/// `undefined`. `navigator.serviceWorker.ready` never settles when no
/// registration covers the page, and `register` can hang where a browser
/// policy blocks service workers.
async fn with_timeout(promise: &js_sys::Promise, timeout_ms: u32) -> Result<JsValue, SaveError> {
    let window = web_sys::window().ok_or_else(|| SaveError::Failed("no window".into()))?;
    let timeout = js_sys::Promise::new(&mut |resolve, _reject| {
        // setTimeout fails only without a window, and then `promise` decides alone.
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, timeout_ms as i32);
    });
    JsFuture::from(js_sys::Promise::race(&Array::of2(promise, &timeout)))
        .await
        .map_err(|error| SaveError::Failed(describe(&error)))
}

/// Gathers a download in memory and saves it once complete.
pub struct MemorySaver {
    name: String,
    data: BlobBuilder,
}

impl MemorySaver {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            data: BlobBuilder::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SaveError> {
        self.data
            .push(bytes)
            .map_err(|error| SaveError::Failed(describe(&error)))
    }

    fn finish(self) -> Result<(), SaveError> {
        let failed = |error: JsValue| SaveError::Failed(describe(&error));
        let blob = self
            .data
            .finish("application/octet-stream")
            .map_err(failed)?;
        let url = Url::create_object_url_with_blob(&blob).map_err(failed)?;

        let document = web_sys::window()
            .and_then(|window| window.document())
            .ok_or_else(|| SaveError::Failed("no document".into()))?;
        let anchor = document
            .create_element("a")
            .map_err(failed)?
            .dyn_into::<HtmlAnchorElement>()
            .map_err(|_| SaveError::Failed("could not create a link".into()))?;
        anchor.set_href(&url);
        anchor.set_download(&self.name);
        anchor.set_class_name("download-frame");
        let body = document
            .body()
            .ok_or_else(|| SaveError::Failed("no document body".into()))?;
        body.append_child(&anchor).map_err(failed)?;
        anchor.click();
        anchor.remove();

        Timeout::new(REVOKE_DELAY_MS, move || {
            // Revoking an unknown URL does nothing, so the result carries nothing.
            let _ = Url::revoke_object_url(&url);
        })
        .forget();
        Ok(())
    }
}

fn download_headers(name: &str, size: u64) -> Object {
    let headers = Object::new();
    set(&headers, "Content-Type", &"application/octet-stream".into());
    set(
        &headers,
        "Content-Disposition",
        &content_disposition(name).into(),
    );
    set(&headers, "Content-Length", &size.to_string().into());
    set(&headers, "X-Content-Type-Options", &"nosniff".into());
    headers
}

fn random_token() -> Result<String, SaveError> {
    let mut bytes = [0_u8; 16];
    random_bytes(&mut bytes).map_err(|error| SaveError::Failed(describe(&error)))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Reflect.set on a plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn disposition_ascii_name() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
    }

    #[wasm_bindgen_test]
    fn disposition_unicode_and_quotes() {
        assert_eq!(
            content_disposition("Ünïcode \"x\".txt"),
            "attachment; filename=\"_n_code _x_.txt\"; filename*=UTF-8''%C3%9Cn%C3%AFcode%20%22x%22.txt"
        );
    }
}
