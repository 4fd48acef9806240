//! Custom hooks: the page's URL fragment and the send and receive flows.

mod use_fragment;
mod use_receive;
mod use_send;

pub use use_fragment::use_fragment;
pub use use_receive::{ReceiveHandle, use_receive};
pub use use_send::{SendHandle, use_send};
