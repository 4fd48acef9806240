//! Cross-origin access for the one static-site origin that hosts the page.

use std::time::Duration;

use axum::http::{HeaderValue, Method, Uri, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::AwsError;

/// How long a browser may cache a preflight response.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Checks that `origin` is exactly `http(s)://host[:port]`, the form a
/// browser sends in its `Origin` header.
pub(crate) fn validate_origin(origin: &str) -> Result<HeaderValue, AwsError> {
    let invalid = || AwsError::InvalidOrigin(origin.to_owned());
    let uri: Uri = origin.parse().map_err(|_| invalid())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let authority_ok = uri
        .authority()
        .is_some_and(|authority| !authority.as_str().contains('@'));
    // `Uri` reads "https://host" with the path "/", so the text itself must
    // end right after the authority.
    let bare = !origin
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .contains(['/', '?', '#']);
    if !(scheme_ok && authority_ok && bare) {
        return Err(invalid());
    }
    HeaderValue::from_str(origin).map_err(|_| invalid())
}

/// Builds the CORS layer that admits requests from `origin` only: the API's
/// methods, the `Content-Type` and `Authorization` request headers, and no
/// credentials. Requests from any other origin get no
/// `Access-Control-Allow-Origin` header, so the browser blocks them.
pub fn cors_layer(origin: &str) -> Result<CorsLayer, AwsError> {
    let origin = validate_origin(origin)?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list([origin]))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(PREFLIGHT_MAX_AGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_accepts_bare_origins() {
        for origin in [
            "https://d111111abcdef8.cloudfront.net",
            "http://127.0.0.1:8080",
        ] {
            assert!(validate_origin(origin).is_ok(), "{origin}");
        }
    }

    #[test]
    fn origin_rejects_others() {
        for origin in [
            "",
            "*",
            "d1.cloudfront.net",
            "https://d1.cloudfront.net/",
            "https://d1.cloudfront.net/index.html",
            "https://user@d1.cloudfront.net",
            "ftp://d1.cloudfront.net",
            "https://d1.cloudfront.net?x=1",
        ] {
            assert!(validate_origin(origin).is_err(), "{origin:?}");
        }
    }
}
