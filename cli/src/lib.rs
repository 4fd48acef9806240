//! Safebox command-line client: uploads a file encrypted on this machine and
//! downloads the file behind a link, speaking the same protocol as the web
//! page.
//!
//! The binary `safebox` is a thin layer over these modules; tests use them
//! directly to craft uploads the command line cannot make.

pub mod api;
pub mod download;
pub mod error;
pub mod expiry;
pub mod interrupt;
pub mod progress;
pub mod resume;
pub mod upload;

pub use error::Error;
