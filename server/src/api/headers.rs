//! Security headers on every response, and the request log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;

/// `Cache-Control` for anything that could hold a link or a token.
pub const NO_STORE: &str = "no-store";

/// Builds the Content-Security-Policy, adding the given hash sources for
/// inline scripts and styles.
pub fn content_security_policy(
    config: &Config,
    script_hashes: &[String],
    style_hashes: &[String],
) -> String {
    let join = |sources: &[String]| {
        sources
            .iter()
            .map(|source| format!(" {source}"))
            .collect::<String>()
    };
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; \
         style-src 'self'{styles}; img-src 'self' data:; connect-src 'self'{connect}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        scripts = join(script_hashes),
        styles = join(style_hashes),
        connect = join(config.connect_sources()),
    )
}

/// Shared state of [`security_headers`]: the default policy, built once.
#[derive(Clone)]
pub struct SecurityHeaders {
    policy: HeaderValue,
}

impl SecurityHeaders {
    /// Builds the default headers from the settings.
    pub fn new(config: &Config) -> Self {
        let policy = content_security_policy(config, &[], &[]);
        // Origins come from parsed URLs, so the policy is always a valid
        // header value; the fallback only guards against a future change.
        let policy = HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        Self { policy }
    }
}

/// Adds the security headers to a response, keeping a policy or a cache
/// setting that the handler chose itself.
pub async fn security_headers(
    State(headers): State<Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let map = response.headers_mut();
    map.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert_with(|| headers.policy.clone());
    map.entry(header::CACHE_CONTROL)
        .or_insert_with(|| HeaderValue::from_static(NO_STORE));
    map.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    map.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Logs each request at debug level with its route pattern, never the
/// concrete path or query: those may hold ids, signatures or a pasted link.
pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |path| path.as_str().to_owned());
    let started = Instant::now();

    let response = next.run(request).await;

    tracing::debug!(
        %method,
        route,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis(),
        "request handled"
    );
    response
}
