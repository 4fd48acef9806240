//! Blocking client of the Safebox HTTP API, version 1.
//!
//! Each method sends one request and turns error responses into [`Error`]
//! values by the `error` code of the body, never by its message. Error
//! messages name the server's host and port only: the full URL of a blob can
//! carry a signature.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use reqwest::Url;
use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, HOST, HeaderMap, HeaderName, HeaderValue, RANGE,
};
use reqwest::redirect::Policy;
use safebox_protocol::{
    ClaimResponse, ClaimTokenRequest, CompleteResponse, CreateUploadRequest, CreateUploadResponse,
    ErrorBody, ErrorCode, FileInfoResponse, ServerConfig, TokenText, WebConfig, path,
};
use zeroize::Zeroizing;

use crate::error::{Error, printable};

/// API base URL used when neither `--server` nor `SAFEBOX_SERVER` is set.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Maximum size of a JSON response read, in bytes. The API's responses are
/// a few hundred bytes; the encrypted metadata is at most 4096 bytes.
const MAX_JSON_BODY: u64 = 64 * 1024;

/// Time to set up a TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Time for a JSON request and its response, and for each read of a download.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Time that sent upload data may stay unacknowledged before the connection
/// is dropped (Linux `TCP_USER_TIMEOUT`; elsewhere an upload has no timeout).
const UPLOAD_STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Returns the `Authorization` value for an owner token, marked sensitive
/// so that it is never printed.
fn bearer(owner_token: &TokenText) -> Result<HeaderValue, Error> {
    let value = Zeroizing::new(format!("Bearer {}", owner_token.expose()));
    let mut header = HeaderValue::try_from(value.as_str()).map_err(|_| Error::Protocol {
        host: "the server".to_owned(),
        detail: "the owner token is not a valid header value".to_owned(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// A connection to one Safebox API.
#[derive(Clone)]
pub struct Api {
    base: Url,
    http: Client,
    upload_http: Client,
}

impl Api {
    /// Creates a client of the API at `base` (scheme, host, port and an
    /// optional path prefix; `/api/v1/...` is appended).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidServerUrl`] if `base` is not an http(s) URL, and
    /// [`Error::Network`] if the TLS backend cannot be set up.
    pub fn new(base: &str) -> Result<Api, Error> {
        let base = parse_base_url(base)?;
        let network = |error: reqwest::Error| network_error(&base, error);

        // Redirects are not followed, so a claim or owner token is never
        // sent again to a host the user did not choose.
        let http = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(Policy::none())
            .build()
            .map_err(network)?;
        // The blocking client's timeout covers a whole request including its
        // body, which a large upload cannot meet, so uploads use a client
        // that detects a stalled connection instead.
        let upload_http = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(None)
            .tcp_user_timeout(UPLOAD_STALL_TIMEOUT)
            .redirect(Policy::none())
            .build()
            .map_err(network)?;

        Ok(Api {
            base,
            http,
            upload_http,
        })
    }

    /// Returns the API's base URL, ending with `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Returns the API's host and port, for messages.
    pub fn host(&self) -> String {
        host_of(&self.base)
    }

    /// Fetches `GET /api/v1/config`.
    ///
    /// # Errors
    ///
    /// [`Error::NotSafeboxServer`] for an HTTP error or a body that is not
    /// the configuration, as from a `--server` with an extra path or another
    /// web server. Network errors pass through unchanged.
    pub fn config(&self) -> Result<ServerConfig, Error> {
        let url = self.endpoint(path::CONFIG)?;
        let result = self.send_json(&url, self.http.get(url.clone()));
        result.map_err(|error| {
            let detail = match error {
                Error::NotFound { .. } => format!("GET {} returned HTTP 404", url.path()),
                Error::Server { status, .. } => {
                    format!("GET {} returned HTTP {status}", url.path())
                }
                Error::Protocol { detail, .. } => detail,
                error @ (Error::Connect { .. }
                | Error::Timeout { .. }
                | Error::Network { .. }
                | Error::InvalidServerUrl { .. }) => return error,
                error => error.to_string(),
            };
            Error::NotSafeboxServer {
                url: self.base.to_string(),
                detail,
                link_unused: false,
            }
        })
    }

    /// Creates an upload with `POST /api/v1/uploads`.
    pub fn create_upload(
        &self,
        request: &CreateUploadRequest,
    ) -> Result<CreateUploadResponse, Error> {
        let url = self.endpoint(path::UPLOADS)?;
        let result = self.send_json(&url, self.http.post(url.clone()).json(request));
        result.map_err(|error| match error {
            Error::TooLarge { max, .. } => Error::TooLarge {
                size: request.size,
                max,
            },
            error => error,
        })
    }

    /// Sends the whole ciphertext as one `PUT` to `upload_url`, with the
    /// headers from the create response and `Content-Length: len`.
    pub fn put_blob(
        &self,
        upload_url: &str,
        headers: &BTreeMap<String, String>,
        body: Body,
    ) -> Result<(), Error> {
        let url = parse_absolute(upload_url, &self.base, "upload_url")?;
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            let invalid = || Error::Protocol {
                host: self.host(),
                detail: format!(
                    "upload header {:?} is not a valid HTTP header",
                    printable(name)
                ),
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
            // The body sets its own length, and the URL its own host.
            if name != CONTENT_LENGTH && name != HOST {
                header_map.append(name, value);
            }
        }

        let request = self
            .upload_http
            .put(url.clone())
            .headers(header_map)
            .body(body);
        let response = request.send().map_err(|error| network_error(&url, error))?;
        self.check(&url, response).map(drop)
    }

    /// Moves the upload to active with `POST /api/v1/uploads/{id}/complete`.
    pub fn complete(&self, id: &str, owner_token: &TokenText) -> Result<CompleteResponse, Error> {
        let url = self.endpoint(&path::complete(id))?;
        let request = self
            .http
            .post(url.clone())
            .header(AUTHORIZATION, bearer(owner_token)?);
        self.send_json(&url, request)
    }

    /// Deletes an upload early with `DELETE /api/v1/uploads/{id}`.
    pub fn delete_upload(&self, id: &str, owner_token: &TokenText) -> Result<(), Error> {
        let url = self.endpoint(&path::upload(id))?;
        let request = self
            .http
            .delete(url.clone())
            .header(AUTHORIZATION, bearer(owner_token)?);
        self.send_empty(&url, request)
    }

    /// Reads a file's size, expiry and encrypted metadata with
    /// `POST /api/v1/files/{id}/info`, which does not use up the link.
    pub fn info(&self, id: &str, claim_token: &str) -> Result<FileInfoResponse, Error> {
        let url = self.endpoint(&path::info(id))?;
        let request = self
            .http
            .post(url.clone())
            .json(&ClaimTokenRequest::new(claim_token));
        self.send_json(&url, request)
    }

    /// Claims a file with `POST /api/v1/files/{id}/claim`: from here on the
    /// link no longer works. A claim repeated with the same `claim_attempt`
    /// after a lost response gets a new download URL.
    pub fn claim(
        &self,
        id: &str,
        claim_token: &str,
        claim_attempt: &str,
    ) -> Result<ClaimResponse, Error> {
        let url = self.endpoint(&path::claim(id))?;
        let request = self
            .http
            .post(url.clone())
            .json(&ClaimTokenRequest::with_attempt(claim_token, claim_attempt));
        self.send_json(&url, request)
    }

    /// Starts `GET download_url` for the bytes from `offset` on and returns
    /// the response once its status is a success. The caller reads the body
    /// as a stream. Above offset 0 the request carries `Range: bytes=OFFSET-`.
    /// A server may ignore that header, so the caller checks the status.
    pub fn get_blob(&self, download_url: &str, offset: u64) -> Result<Response, Error> {
        let url = parse_absolute(download_url, &self.base, "download_url")?;
        let mut request = self.http.get(url.clone());
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let response = request.send().map_err(|error| network_error(&url, error))?;
        self.check(&url, response)
    }

    /// Confirms a finished download with `DELETE /api/v1/files/{id}`, so the
    /// server deletes the ciphertext now.
    pub fn confirm(&self, id: &str, claim_token: &str) -> Result<(), Error> {
        let url = self.endpoint(&path::file(id))?;
        let request = self
            .http
            .delete(url.clone())
            .json(&ClaimTokenRequest::new(claim_token));
        self.send_empty(&url, request)
    }

    /// Returns the URL of an endpoint below the base URL. `path` starts with
    /// `/`, which is dropped so that a base with a path prefix is kept.
    fn endpoint(&self, path: &str) -> Result<Url, Error> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|error| Error::InvalidServerUrl {
                url: self.base.to_string(),
                reason: error.to_string(),
            })
    }

    fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        request: RequestBuilder,
    ) -> Result<T, Error> {
        let response = request.send().map_err(|error| network_error(url, error))?;
        let response = self.check(url, response)?;
        let body = read_limited(response).map_err(|error| Error::Network {
            host: host_of(url),
            detail: printable(&error.to_string()),
        })?;
        serde_json::from_slice(&body).map_err(|error| Error::Protocol {
            host: host_of(url),
            detail: format!("invalid JSON from {}: {error}", url.path()),
        })
    }

    fn send_empty(&self, url: &Url, request: RequestBuilder) -> Result<(), Error> {
        let response = request.send().map_err(|error| network_error(url, error))?;
        self.check(url, response).map(drop)
    }

    /// Passes a success through and turns an error response into an [`Error`].
    fn check(&self, url: &Url, response: Response) -> Result<Response, Error> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }

        let host = host_of(url);
        let body: Option<ErrorBody> = read_limited(response)
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok());
        let Some(body) = body else {
            return Err(Error::Server {
                host,
                status: status.as_u16(),
                code: "unknown".to_owned(),
                message: status.canonical_reason().unwrap_or("no message").to_owned(),
            });
        };

        let error = match (
            body.code(),
            body.downloaded_at,
            body.expires_at,
            body.max_size,
        ) {
            (Some(ErrorCode::NotFound), ..) => Error::NotFound { host },
            (Some(ErrorCode::AlreadyDownloaded), Some(at), ..) => Error::AlreadyDownloaded { at },
            (Some(ErrorCode::Expired), _, Some(at), _) => Error::Expired { at },
            (Some(ErrorCode::TooLarge), .., Some(max)) => Error::TooLarge { size: 0, max },
            _ => Error::Server {
                host,
                status: status.as_u16(),
                code: printable(&body.error),
                message: if body.message.is_empty() {
                    "no message".to_owned()
                } else {
                    printable(&body.message)
                },
            },
        };
        Err(error)
    }
}

/// Fetches `config.json` next to the web page at `page_url` and returns the
/// API URL it names, resolved against it. Returns `None` when the page has
/// no such file or it names no API, so the caller falls back to the page's
/// origin.
pub fn discover_api_url(page_url: &Url) -> Option<Url> {
    let mut page = page_url.clone();
    page.set_fragment(None);
    page.set_query(None);
    let config_url = page.join("config.json").ok()?;

    let client = Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .ok()?;
    let response = client.get(config_url.clone()).send().ok()?;
    if !response.status().is_success() {
        return None;
    }
    let config: WebConfig = serde_json::from_slice(&read_limited(response).ok()?).ok()?;
    let api_url = config_url.join(config.api_url?.as_str()).ok()?;
    matches!(api_url.scheme(), "http" | "https").then_some(api_url)
}

/// Reads a JSON body of at most [`MAX_JSON_BODY`] bytes, so a hostile
/// server cannot exhaust memory; longer bodies are cut and then fail to
/// parse.
fn read_limited(response: Response) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    response.take(MAX_JSON_BODY).read_to_end(&mut body)?;
    Ok(body)
}

/// Parses an API base URL and makes its path end with `/`, so endpoints
/// join below it.
fn parse_base_url(text: &str) -> Result<Url, Error> {
    let invalid = |reason: String| Error::InvalidServerUrl {
        url: printable(text),
        reason,
    };
    let text = text.trim();
    // "127.0.0.1:8080" is not a URL, and "localhost:8080" reads as one with
    // the scheme "localhost".
    if !text.contains("://") {
        return Err(invalid(format!(
            "it does not start with http:// or https://, as in http://{}",
            printable(text)
        )));
    }
    let mut url = Url::parse(text).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".to_owned()));
    }
    if url.host_str().is_none() {
        return Err(invalid("the URL has no host".to_owned()));
    }
    url.set_fragment(None);
    url.set_query(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Parses a URL returned by the server, which must be absolute http(s).
fn parse_absolute(text: &str, base: &Url, field: &str) -> Result<Url, Error> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(Error::Protocol {
            host: host_of(base),
            detail: format!("{field} is not an absolute http(s) URL"),
        }),
    }
}

/// Returns `host:port` of a URL.
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "the server".to_owned(),
    }
}

/// Turns a transport error into a network error naming the host only.
fn network_error(url: &Url, error: reqwest::Error) -> Error {
    let host = host_of(url);
    if error.is_timeout() {
        Error::Timeout { host }
    } else if error.is_connect() {
        Error::Connect {
            host,
            detail: root_cause(&error.without_url()),
        }
    } else {
        Error::Network {
            host,
            detail: root_cause(&error.without_url()),
        }
    }
}

/// Returns the message of the innermost error in the chain, which is the
/// most specific one ("Connection refused"). Remove any URL from `error`
/// first.
pub(crate) fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    printable(&cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_trailing_slash() {
        let url = parse_base_url("http://127.0.0.1:8080/safebox").ok();
        assert_eq!(
            url.map(|url| url.to_string()).as_deref(),
            Some("http://127.0.0.1:8080/safebox/")
        );
    }

    #[test]
    fn base_url_without_scheme_shows_the_fix() {
        for text in ["127.0.0.1:8080", "localhost:8080"] {
            let message = parse_base_url(text).err().map(|error| error.to_string());
            assert!(
                message
                    .as_deref()
                    .is_some_and(|message| message.contains(&format!("as in http://{text}"))),
                "{text}: {message:?}"
            );
        }
    }

    #[test]
    fn base_url_rejects_other_schemes() {
        assert!(parse_base_url("ftp://127.0.0.1/").is_err());
        assert!(parse_base_url("127.0.0.1:8080").is_err());
        assert!(parse_base_url("").is_err());
    }

    #[test]
    fn host_of_adds_default_port() {
        let url = Url::parse("https://example.invalid/x?sig=secret").ok();
        assert_eq!(
            url.map(|url| host_of(&url)).as_deref(),
            Some("example.invalid:443")
        );
    }

    #[test]
    fn endpoint_keeps_path_prefix() {
        let api = Api::new("http://127.0.0.1:8080/safebox").ok();
        let url = api.and_then(|api| api.endpoint(path::UPLOADS).ok());
        assert_eq!(
            url.map(|url| url.to_string()).as_deref(),
            Some("http://127.0.0.1:8080/safebox/api/v1/uploads")
        );
    }
}
