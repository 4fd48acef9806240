//! Client for the Safebox HTTP API, version 1 (`docs/API.md`).
//!
//! Every call returns an [`ApiError`] that the UI maps to one message. Tokens
//! travel only in request bodies or the `Authorization` header, never in a URL.

use std::cell::RefCell;
use std::fmt;

use gloo_net::http::{Request, RequestBuilder, Response};
use safebox_protocol::{
    ClaimResponse, ClaimTokenRequest, CompleteResponse, CreateUploadRequest, CreateUploadResponse,
    ErrorBody, ErrorCode, FileInfoResponse, ServerConfig, TokenText, WebConfig, path,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use web_sys::{RequestCache, RequestCredentials};
use zeroize::Zeroizing;

/// Client for the API at the `api_url` of `./config.json`, or at the page's origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Api {
    base: String,
}

/// Failure of an API call, sorted the way the UI reacts to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The request got no response (offline, server down, CORS, abort).
    Network(String),
    /// `404 not_found`: unknown id, wrong claim token or wrong owner token.
    NotFound,
    /// `410 already_downloaded`, with the Unix time of the download.
    AlreadyDownloaded {
        /// When the file was claimed, if the response included it.
        downloaded_at: Option<u64>,
    },
    /// `410 expired`, with the Unix time of the expiry.
    Expired {
        /// When the file expired, if the response included it.
        expires_at: Option<u64>,
    },
    /// `413 too_large`, with the server's limit.
    TooLarge {
        /// Largest accepted ciphertext in bytes, if the response included it.
        max_size: Option<u64>,
    },
    /// `409 incomplete_upload`: the stored object is missing or of another size.
    IncompleteUpload,
    /// Any other error response.
    Server {
        /// HTTP status.
        status: u16,
        /// The `error` code of the body, or empty when the body had none.
        code: String,
        /// The `message` of the body, or empty when the body had none.
        message: String,
    },
    /// A success status with a body that does not match the API.
    InvalidResponse(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(reason) => write!(f, "the server could not be reached ({reason})"),
            Self::NotFound => f.write_str("not found"),
            Self::AlreadyDownloaded { .. } => f.write_str("the file was already downloaded"),
            Self::Expired { .. } => f.write_str("the file has expired"),
            Self::TooLarge {
                max_size: Some(max),
            } => {
                write!(
                    f,
                    "the file is larger than the server accepts ({max} bytes)"
                )
            }
            Self::TooLarge { max_size: None } => {
                f.write_str("the file is larger than the server accepts")
            }
            Self::IncompleteUpload => f.write_str("the server did not receive the whole file"),
            Self::Server {
                status,
                code,
                message,
            } if message.is_empty() => {
                write!(f, "the server responded with status {status} {code}")
            }
            Self::Server {
                status, message, ..
            } => write!(f, "the server responded with status {status}: {message}"),
            Self::InvalidResponse(reason) => {
                write!(f, "the server sent an invalid response ({reason})")
            }
        }
    }
}

thread_local! {
    static SHARED: RefCell<Option<Api>> = const { RefCell::new(None) };
}

impl Api {
    /// Creates a client for the API at `base` (scheme, host and optional path,
    /// without the `/api/v1` suffix).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// Loads `./config.json` next to the page and returns a client for its
    /// `api_url`, or for the page's origin when the file, the field or its
    /// value is missing or empty.
    pub async fn discover() -> Self {
        let origin = web_sys::window()
            .and_then(|window| window.location().origin().ok())
            .unwrap_or_default();

        let configured = match Request::get("./config.json")
            .cache(RequestCache::NoCache)
            .send()
            .await
        {
            Ok(response) if response.ok() => response
                .json::<WebConfig>()
                .await
                .ok()
                .and_then(|config| config.api_url),
            _ => None,
        };

        match configured {
            Some(url) if !url.trim().is_empty() => Self::new(url.trim()),
            _ => Self::new(&origin),
        }
    }

    /// Returns the client for this page, discovered on first use and reused after.
    pub async fn shared() -> Self {
        if let Some(api) = SHARED.with(|shared| shared.borrow().clone()) {
            return api;
        }
        let api = Self::discover().await;
        SHARED.with(|shared| *shared.borrow_mut() = Some(api.clone()));
        api
    }

    /// Base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Origin (`scheme://host:port`) of the base URL, or `None` when the base
    /// is not an absolute URL.
    pub fn origin(&self) -> Option<String> {
        web_sys::Url::new(&self.base).ok().map(|url| url.origin())
    }

    /// Returns the URL of an endpoint, given its path from [`path`].
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /api/v1/uploads`: reserves an id and a presigned upload URL.
    pub async fn create_upload(
        &self,
        body: &CreateUploadRequest,
    ) -> Result<CreateUploadResponse, ApiError> {
        let request = json_request(Request::post(&self.url(path::UPLOADS)), body)?;
        let response = send(request).await?;
        parse_json(response, 201).await
    }

    /// `POST /api/v1/uploads/{id}/complete`: makes the uploaded file available.
    pub async fn complete_upload(
        &self,
        id: &str,
        owner_token: &TokenText,
    ) -> Result<CompleteResponse, ApiError> {
        let request = with_owner(Request::post(&self.url(&path::complete(id))), owner_token)
            .build()
            .map_err(|error| ApiError::Network(error.to_string()))?;
        let response = send(request).await?;
        parse_json(response, 200).await
    }

    /// `DELETE /api/v1/uploads/{id}`: removes an upload early.
    pub async fn delete_upload(&self, id: &str, owner_token: &TokenText) -> Result<(), ApiError> {
        let request = with_owner(Request::delete(&self.url(&path::upload(id))), owner_token)
            .build()
            .map_err(|error| ApiError::Network(error.to_string()))?;
        let response = send(request).await?;
        expect_empty(response).await
    }

    /// `POST /api/v1/files/{id}/info`: size, expiry and encrypted metadata.
    /// Burns nothing.
    pub async fn file_info(
        &self,
        id: &str,
        claim_token: &str,
    ) -> Result<FileInfoResponse, ApiError> {
        let request = json_request(
            Request::post(&self.url(&path::info(id))),
            &ClaimTokenRequest::new(claim_token),
        )?;
        let response = send(request).await?;
        parse_json(response, 200).await
    }

    /// `POST /api/v1/files/{id}/claim`: the one transition that makes the link
    /// used up, returning a short-lived download URL. A claim repeated with
    /// the same `claim_attempt` after a lost response gets a new URL.
    pub async fn claim(
        &self,
        id: &str,
        claim_token: &str,
        claim_attempt: &str,
    ) -> Result<ClaimResponse, ApiError> {
        let request = json_request(
            Request::post(&self.url(&path::claim(id))),
            &ClaimTokenRequest::with_attempt(claim_token, claim_attempt),
        )?;
        let response = send(request).await?;
        parse_json(response, 200).await
    }

    /// `DELETE /api/v1/files/{id}`: confirms a complete download so the server
    /// deletes the ciphertext now.
    pub async fn confirm_download(&self, id: &str, claim_token: &str) -> Result<(), ApiError> {
        let request = json_request(
            Request::delete(&self.url(&path::file(id))),
            &ClaimTokenRequest::new(claim_token),
        )?;
        let response = send(request).await?;
        expect_empty(response).await
    }
}

/// Returns whether the server at `origin` serves the Safebox API, by reading
/// its configuration. Called only after a failure, to distinguish a page
/// opened at the wrong address from a network outage.
pub async fn serves_api(origin: &str) -> bool {
    let Ok(request) = base_builder(Request::get(&Api::new(origin).url(path::CONFIG))).build()
    else {
        return false;
    };
    match request.send().await {
        Ok(response) if response.ok() => response.json::<ServerConfig>().await.is_ok(),
        _ => false,
    }
}

/// Opens `GET url` and returns the response once its status is known, so the
/// caller can read the body as a stream.
pub async fn get_stream(url: &str) -> Result<Response, ApiError> {
    let request = base_builder(Request::get(url))
        .build()
        .map_err(|error| ApiError::Network(error.to_string()))?;
    let response = send(request).await?;
    if response.ok() {
        Ok(response)
    } else {
        Err(error_from(response).await)
    }
}

/// Sets requests to carry no cookies and to bypass the HTTP cache, because the
/// API authenticates with tokens and every response reflects the current state.
fn base_builder(builder: RequestBuilder) -> RequestBuilder {
    builder
        .credentials(RequestCredentials::Omit)
        .cache(RequestCache::NoStore)
}

fn with_owner(builder: RequestBuilder, owner_token: &TokenText) -> RequestBuilder {
    let value = Zeroizing::new(format!("Bearer {}", owner_token.expose()));
    base_builder(builder).header("Authorization", &value)
}

fn json_request<T: Serialize>(builder: RequestBuilder, body: &T) -> Result<Request, ApiError> {
    base_builder(builder)
        .json(body)
        .map_err(|error| ApiError::InvalidResponse(format!("request body: {error}")))
}

async fn send(request: Request) -> Result<Response, ApiError> {
    request
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))
}

async fn parse_json<T: DeserializeOwned>(response: Response, expected: u16) -> Result<T, ApiError> {
    if response.status() != expected {
        return Err(error_from(response).await);
    }
    response
        .json::<T>()
        .await
        .map_err(|error| ApiError::InvalidResponse(error.to_string()))
}

async fn expect_empty(response: Response) -> Result<(), ApiError> {
    if response.ok() {
        Ok(())
    } else {
        Err(error_from(response).await)
    }
}

/// Sorts an error response by its status and `error` code.
async fn error_from(response: Response) -> ApiError {
    let status = response.status();
    let body = response.json::<ErrorBody>().await.unwrap_or_default();
    classify_error(status, body)
}

fn classify_error(status: u16, body: ErrorBody) -> ApiError {
    match (status, body.code()) {
        (404, _) => ApiError::NotFound,
        (410, Some(ErrorCode::AlreadyDownloaded)) => ApiError::AlreadyDownloaded {
            downloaded_at: body.downloaded_at,
        },
        (410, _) => ApiError::Expired {
            expires_at: body.expires_at,
        },
        (413, _) => ApiError::TooLarge {
            max_size: body.max_size,
        },
        (409, Some(ErrorCode::IncompleteUpload)) => ApiError::IncompleteUpload,
        _ => ApiError::Server {
            status,
            code: body.error,
            message: body.message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn body(error: &str) -> ErrorBody {
        ErrorBody {
            error: error.to_owned(),
            ..ErrorBody::default()
        }
    }

    #[wasm_bindgen_test]
    fn classify_not_found_ignores_code() {
        assert_eq!(classify_error(404, body("whatever")), ApiError::NotFound);
    }

    #[wasm_bindgen_test]
    fn classify_gone_by_code() {
        let downloaded = ErrorBody {
            downloaded_at: Some(7),
            ..body("already_downloaded")
        };
        assert_eq!(
            classify_error(410, downloaded),
            ApiError::AlreadyDownloaded {
                downloaded_at: Some(7)
            }
        );
        let expired = ErrorBody {
            expires_at: Some(9),
            ..body("expired")
        };
        assert_eq!(
            classify_error(410, expired),
            ApiError::Expired {
                expires_at: Some(9)
            }
        );
    }

    #[wasm_bindgen_test]
    fn api_origin_drops_path() {
        assert_eq!(
            Api::new("http://127.0.0.1:8080/prefix/")
                .origin()
                .as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(Api::new("not a url").origin(), None);
    }

    #[wasm_bindgen_test]
    fn api_base_drops_trailing_slash() {
        assert_eq!(
            Api::new("http://127.0.0.1:8080/").url(path::UPLOADS),
            "http://127.0.0.1:8080/api/v1/uploads"
        );
    }
}
