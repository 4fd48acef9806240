//! Safebox web app: encrypts files in the browser and shares them through
//! one-time links (`docs/FORMAT.md`, `docs/API.md`).
//!
//! The binary in `main.rs` mounts [`components::App`]. The library exists so
//! the browser tests in `tests/` can reach the record cipher.

pub mod api;
pub mod blob_builder;
pub mod cipher;
pub mod components;
pub mod download;
pub mod format;
pub mod hooks;
pub mod jsutil;
pub mod receive;
pub mod save;
pub mod send;
pub mod state;
pub mod upload;

// Unit tests use the page's JS objects (Blob, Date, crypto), so they run in
// a browser, not in Node.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
