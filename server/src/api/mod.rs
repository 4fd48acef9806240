//! The HTTP API of `docs/API.md`, the static web app and the security
//! headers: one axum router over [`AppState`].
//!
//! Nothing here depends on SQLite, files or AWS: storage is reached only
//! through the [`RecordStore`] and [`BlobStore`] traits.

mod error;
mod headers;
mod recipient;
mod sender;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, delete, get, post};
use safebox_protocol::path;

pub use error::ApiError;
pub use headers::{NO_STORE, SecurityHeaders, content_security_policy};

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{BlobStore, RecordStore};

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Records of uploads.
    pub records: Arc<dyn RecordStore>,
    /// Ciphertext objects.
    pub blobs: Arc<dyn BlobStore>,
    /// Server settings.
    pub config: Arc<Config>,
    /// Source of the current time.
    pub clock: Arc<dyn Clock>,
}

/// Builds the router with every API route, the runtime configuration and
/// the web app. [`app`] adds a backend's own routes and the headers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(path::CONFIG, get(web::api_config))
        .route(path::UPLOADS, post(sender::create_upload))
        .route(
            &path::upload("{id}"),
            get(sender::upload_status).delete(sender::delete_upload),
        )
        .route(&path::complete("{id}"), post(sender::complete_upload))
        .route(&path::file("{id}"), delete(recipient::delete_file))
        .route(&path::info("{id}"), post(recipient::file_info))
        .route(&path::claim("{id}"), post(recipient::claim_file))
        .route("/api/{*rest}", any(web::api_not_found))
        .route("/config.json", get(web::web_config))
        .route("/", get(web::index))
        .route("/index.html", get(web::index))
        .route("/sw.js", get(web::service_worker))
        .fallback(web::asset)
        .with_state(state)
}

/// Builds the whole application: the API router merged with a backend's
/// own routes (the local backend's `/blob` routes, or none), with the
/// security headers and the request log on every response.
pub fn app(state: AppState, backend_routes: Router) -> Router {
    let security = Arc::new(SecurityHeaders::new(&state.config));
    router(state)
        .merge(backend_routes)
        // A route layer runs after routing, so the route pattern is
        // available to the log. Static files from the fallback are not logged.
        .route_layer(axum::middleware::from_fn(headers::log_request))
        .layer(axum::middleware::from_fn_with_state(
            security,
            headers::security_headers,
        ))
}
