//! Paths of the API's endpoints, each starting with `/`.
//!
//! The functions take a file id and return the concrete path; the server
//! passes `"{id}"` to get its route pattern.

/// Prefix of every endpoint.
pub const PREFIX: &str = "/api/v1";

/// Path of the server's limits and page URL (`GET`).
pub const CONFIG: &str = "/api/v1/config";

/// Path to create an upload (`POST`).
pub const UPLOADS: &str = "/api/v1/uploads";

/// Returns the path to read an upload's status (`GET`) or delete it early
/// (`DELETE`), for its owner.
pub fn upload(id: &str) -> String {
    format!("{UPLOADS}/{id}")
}

/// Returns the path to complete an upload once its ciphertext is stored
/// (`POST`).
pub fn complete(id: &str) -> String {
    format!("{UPLOADS}/{id}/complete")
}

/// Returns the path where the claimant confirms the download (`DELETE`).
pub fn file(id: &str) -> String {
    format!("{PREFIX}/files/{id}")
}

/// Returns the path to read a file's size, expiry and encrypted metadata
/// (`POST`), which does not use up the link.
pub fn info(id: &str) -> String {
    format!("{PREFIX}/files/{id}/info")
}

/// Returns the path to claim a file, once (`POST`).
pub fn claim(id: &str) -> String {
    format!("{PREFIX}/files/{id}/claim")
}
