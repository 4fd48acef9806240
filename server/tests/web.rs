//! Tests of the static web app and of the headers on every response.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, LocalFactory, Options, TestServer};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};

common::test_on_each_backend! {
    api_responses_carry_headers,
    unknown_api_path_is_json_404,
    missing_web_app_explains,
}

const INLINE_SCRIPT: &str =
    "\nimport init from '/safebox-web-1a2b3c4d5e6f7a8b.js';\nawait init();\n";

fn write_web_app(dir: &Path) {
    let index = format!(
        "<!DOCTYPE html><html><head>\
         <link rel=\"stylesheet\" href=\"/style-0123456789abcdef.css\">\
         <script type=\"module\">{INLINE_SCRIPT}</script>\
         <script src=\"/extra.js\"></script></head><body></body></html>"
    );
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(
        dir.join("safebox-web-1a2b3c4d5e6f7a8b_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(dir.join("style-0123456789abcdef.css"), "body{}").unwrap();
    std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
    std::fs::write(
        dir.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
}

async fn server_with_web_app() -> (TestServer, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let web_dir = root.path().join("dist");
    std::fs::create_dir(&web_dir).unwrap();
    write_web_app(&web_dir);
    std::fs::write(root.path().join("secret.txt"), "outside the web dir").unwrap();
    let options = Options {
        web_dir: Some(web_dir),
        ..Options::default()
    };
    (TestServer::start_with(&LocalFactory, options).await, root)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

fn assert_security_headers(headers: &HeaderMap, case: &str) {
    let policy = header(headers, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{case}: {directive} in {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{case}: {policy}");
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{case}");
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{case}"
    );
}

async fn api_responses_carry_headers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let upload = server.active_upload(100, 600).await;
    let (_, claim) = server.claim(&upload.id, &upload.claim_token).await;
    let download_url = claim["download_url"].as_str().unwrap().to_owned();

    let mut requests = vec![
        ("config", server.client.get(server.url("/api/v1/config"))),
        ("web config", server.client.get(server.url("/config.json"))),
        (
            "error",
            server
                .client
                .post(server.url("/api/v1/files/AAAAAAAAAAAAAAAA/info")),
        ),
        (
            "unknown API path",
            server.client.get(server.url("/api/v2/anything")),
        ),
    ];
    // Only the local backend serves downloads itself. An AWS download URL
    // points at S3, whose responses do not pass through this server.
    match server.backend {
        Backend::Local => {
            requests.push(("download", server.client.get(&download_url)));
            requests.push((
                "bad signature",
                server.client.get(format!("{download_url}x")),
            ));
        }
        Backend::Aws => assert!(
            download_url.starts_with(&server.blob_url_prefix),
            "{download_url} starts with the S3 endpoint {}",
            server.blob_url_prefix
        ),
    }
    for (case, request) in requests {
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_security_headers(headers, case);
        assert_eq!(header(headers, "cache-control"), "no-store", "{case}");
        let policy = header(headers, "content-security-policy");
        assert!(
            policy.contains(&format!("connect-src 'self' {}", server.base)),
            "{case}: {policy}"
        );
    }
}

async fn unknown_api_path_is_json_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server
        .client
        .get(server.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read_json(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn index_csp_admits_inline_script() {
    let (server, _root) = server_with_web_app().await;
    let script_hash = format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(INLINE_SCRIPT))
    );

    for path in ["/", "/index.html"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_security_headers(&headers, path);
        assert!(
            header(&headers, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(header(&headers, "cache-control"), "no-store", "{path}");
        let policy = header(&headers, "content-security-policy");
        assert!(
            policy.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' {script_hash}"
            )),
            "{path}: {policy}"
        );
        assert_eq!(
            policy.matches("'sha256-").count(),
            1,
            "only the inline script: {policy}"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains(INLINE_SCRIPT), "{path}");
    }
}

#[tokio::test]
async fn hashed_assets_cached_long() {
    let (server, _root) = server_with_web_app().await;
    let cases = [
        (
            "/safebox-web-1a2b3c4d5e6f7a8b_bg.wasm",
            "application/wasm",
            "public, max-age=31536000, immutable",
        ),
        (
            "/style-0123456789abcdef.css",
            "text/css",
            "public, max-age=31536000, immutable",
        ),
        ("/favicon.svg", "image/svg+xml", "no-store"),
    ];
    for (path, content_type, cache) in cases {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_security_headers(headers, path);
        assert!(
            header(headers, "content-type").starts_with(content_type),
            "{path}"
        );
        assert_eq!(header(headers, "cache-control"), cache, "{path}");
    }
}

#[tokio::test]
async fn service_worker_allowed_at_root() {
    let (server, _root) = server_with_web_app().await;
    let response = server
        .client
        .get(server.url("/sw.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(header(headers, "service-worker-allowed"), "/");
    assert!(header(headers, "content-type").starts_with("text/javascript"));
    assert_eq!(header(headers, "cache-control"), "no-store");
}

#[tokio::test]
async fn web_dir_stays_contained() {
    let (server, _root) = server_with_web_app().await;
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/missing.js",
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("outside the web dir"), "{path}");
    }
}

#[tokio::test]
async fn unknown_page_explains_the_hash() {
    let (server, _root) = server_with_web_app().await;
    let path = "/c2FmZWJveC1pZDAx.Wv6wxeHyo7TF1uf4AZKDdA";
    let response = server
        .client
        .get(server.url(path))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let headers = response.headers().clone();
    assert_security_headers(&headers, "404 page");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_eq!(header(&headers, "cache-control"), "no-store");
    let text = response.text().await.unwrap();
    assert!(text.contains("after a <code>#</code>"), "{text}");
    assert!(
        !text.contains("Wv6wxeHyo7TF1uf4AZKDdA"),
        "the page repeats the path"
    );

    // A script or an API client gets the plain 404 as before.
    let response = server
        .client
        .get(server.url("/missing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().is_empty());
}

async fn missing_web_app_explains(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_security_headers(response.headers(), "503");
    let text = response.text().await.unwrap();
    assert!(text.contains("not built"), "{text}");
    assert!(text.contains("scripts/run-local.sh"), "{text}");

    let response = server
        .client
        .get(server.url("/sw.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
