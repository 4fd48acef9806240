//! The static web app, its runtime configuration, and the API's own
//! configuration endpoint.

use std::io::ErrorKind;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use safebox_protocol::{ServerConfig, WebConfig};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::AppState;
use super::error::ApiError;
use super::headers::{NO_STORE, content_security_policy};
use crate::config::MAX_EXPIRES_IN;

/// `Cache-Control` for files whose name carries a hash of their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /api/v1/config`: what clients need before an upload.
pub(super) async fn api_config(State(state): State<AppState>) -> Response {
    Json(ServerConfig {
        page_url: state.config.page_url().to_owned(),
        max_size: state.config.max_size,
        max_expires_in: MAX_EXPIRES_IN,
    })
    .into_response()
}

/// `GET /config.json`: the runtime configuration the web page reads.
pub(super) async fn web_config(State(state): State<AppState>) -> Response {
    Json(WebConfig {
        api_url: Some(state.config.public_url().to_owned()),
    })
    .into_response()
}

/// Any path under `/api/` that no route matches.
pub(super) async fn api_not_found() -> Response {
    ApiError::NotFound.into_response()
}

/// `GET /` and `/index.html`: the page, with a Content-Security-Policy that
/// admits its inline scripts and styles by hash.
///
/// Trunk writes the module script that loads the wasm inline, so `'self'`
/// alone would block the app. Hashes admit exactly the bytes that are in
/// the file and nothing injected later.
pub(super) async fn index(State(state): State<AppState>) -> Response {
    let path = state.config.web_dir.join("index.html");
    let html = match tokio::fs::read(&path).await {
        Ok(html) => html,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            tracing::warn!(path = %path.display(), "web app not built: index.html is missing");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The Safebox web app is not built. Build it with scripts/run-local.sh, \
                 or start the server with --web-dir pointing at a built copy.\n",
            )
                .into_response();
        }
        Err(error) => {
            tracing::error!(path = %path.display(), %error, "failed to read index.html");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "failed to read the web app\n",
            )
                .into_response();
        }
    };

    let script_hashes = inline_element_hashes(&html, b"script");
    let style_hashes = inline_element_hashes(&html, b"style");
    let policy = content_security_policy(&state.config, &script_hashes, &style_hashes);

    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        html,
    )
        .into_response();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// `GET /sw.js`: the web app's service worker, allowed to control `/`.
pub(super) async fn service_worker(State(state): State<AppState>) -> Response {
    let path = state.config.web_dir.join("sw.js");
    match tokio::fs::read(&path).await {
        Ok(script) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, NO_STORE),
                (
                    header::HeaderName::from_static("service-worker-allowed"),
                    "/",
                ),
            ],
            script,
        )
            .into_response(),
        Err(error) => {
            if error.kind() != ErrorKind::NotFound {
                tracing::error!(path = %path.display(), %error, "failed to read sw.js");
            }
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

/// Serves any other path from the web directory. Files with a content hash
/// in their name are cached for a year, everything else not at all.
pub(super) async fn asset(State(state): State<AppState>, request: Request) -> Response {
    let wants_page = request.method() == Method::GET && accepts_html(request.headers());
    let cacheable = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(is_content_hashed);

    let service = ServeDir::new(&state.config.web_dir).append_index_html_on_directories(false);
    let mut response = match service.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(infallible) => match infallible {},
    };

    if response.status() == StatusCode::NOT_FOUND && wants_page {
        return not_found_page();
    }

    let header_value = if cacheable && response.status() == StatusCode::OK {
        IMMUTABLE
    } else {
        NO_STORE
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(header_value),
    );
    response
}

/// Returns whether a request comes from a browser loading a page.
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Returns the `404` page for a browser that opened an unknown path. The
/// likeliest cause is a link whose `#` was replaced by `/`, so the page
/// explains where the key goes. It does not repeat the path, which may
/// contain that key.
fn not_found_page() -> Response {
    const PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>Not found - Safebox</title></head><body><h1>Page not found</h1>\
        <p>A Safebox link has its key after a <code>#</code>, as in \
        <code>https://host/#id.key</code>. If you typed or pasted this address, check that \
        it contains the <code>#</code> and open it again.</p>\
        <p><a href=\"/\">Send a file</a></p></body></html>\n";
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        PAGE,
    )
        .into_response()
}

/// Tells whether a file name carries a content hash as Trunk writes it: a
/// `-`-separated segment of 8 to 16 lowercase hex digits, as in
/// `app-1a2b3c4d5e6f7a8b_bg.wasm`, `style-1a2b3c4d5e6f7a8b.css` or
/// `1a2b3c4d5e6f7a8b-init.js`.
///
/// Trunk 0.21 prints a 64-bit hash with `{:x}`, which drops leading zeros,
/// so a real hash can be shorter than 16 digits.
fn is_content_hashed(file_name: &str) -> bool {
    let stem = file_name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let segments: Vec<&str> = stem.split('-').collect();
    segments.len() >= 2
        && segments
            .iter()
            .any(|segment| (8..=16).contains(&segment.len()) && segment.chars().all(is_hex_digit))
}

fn is_hex_digit(character: char) -> bool {
    matches!(character, '0'..='9' | 'a'..='f')
}

/// Returns the CSP hash sources (`'sha256-…'`) of every inline element
/// `<tag>…</tag>` in `html` that has no `src` attribute.
fn inline_element_hashes(html: &[u8], tag: &[u8]) -> Vec<String> {
    let open = [b"<".as_slice(), tag].concat();
    let close = [b"</".as_slice(), tag].concat();
    let mut hashes = Vec::new();
    let mut position = 0;

    while let Some(start) = find_ignore_case(html, &open, position) {
        let after_name = start + open.len();
        position = after_name;
        // `<scripts>` or `<style-x>` are other elements.
        let name_ends = html
            .get(after_name)
            .is_some_and(|&byte| byte.is_ascii_whitespace() || byte == b'>');
        if !name_ends {
            continue;
        }
        let Some(tag_end) = find_ignore_case(html, b">", after_name) else {
            break;
        };
        let Some(content_end) = find_ignore_case(html, &close, tag_end + 1) else {
            break;
        };

        let attributes = &html[after_name..tag_end];
        if !has_src_attribute(attributes) {
            let digest = Sha256::digest(&html[tag_end + 1..content_end]);
            hashes.push(format!("'sha256-{}'", STANDARD.encode(digest)));
        }
        position = content_end + close.len();
    }
    hashes
}

fn has_src_attribute(attributes: &[u8]) -> bool {
    attributes
        .split(|byte| byte.is_ascii_whitespace())
        .any(|word| {
            let name = word.split(|&byte| byte == b'=').next().unwrap_or_default();
            name.eq_ignore_ascii_case(b"src")
        })
}

fn find_ignore_case(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
        .map(|offset| from + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_detected() {
        assert!(is_content_hashed("safebox-web-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_content_hashed("safebox-web-1a2b3c4d5e6f7a8b.js"));
        assert!(is_content_hashed("style-0a2b3c4d5e6f7a8.css"));
        assert!(is_content_hashed("1a2b3c4d5e6f7a8b-init.js"));
        assert!(!is_content_hashed("index.html"));
        assert!(!is_content_hashed("sw.js"));
        assert!(!is_content_hashed("safebox-web.js"));
        assert!(!is_content_hashed("deadbeef.js"));
        assert!(!is_content_hashed("logo-ABCDEF0123456789.png"));
    }

    #[test]
    fn inline_hashes_skip_src_scripts() {
        let html = b"<html><script src=\"/a.js\"></script>\
            <SCRIPT type=\"module\">run()</SCRIPT><scripts>x</scripts>\
            <style>p{}</style></html>";
        let run_hash = format!("'sha256-{}'", STANDARD.encode(Sha256::digest(b"run()")));
        let style_hash = format!("'sha256-{}'", STANDARD.encode(Sha256::digest(b"p{}")));
        assert_eq!(inline_element_hashes(html, b"script"), vec![run_hash]);
        assert_eq!(inline_element_hashes(html, b"style"), vec![style_hash]);
    }
}
