//! The page's components, one per file.

mod app;
mod link_box;
mod message;
mod progress;
mod receive_page;
mod send_page;

pub use app::App;
pub use link_box::LinkBox;
pub use message::Message;
pub use progress::ProgressBar;
pub use receive_page::ReceivePage;
pub use send_page::SendPage;
