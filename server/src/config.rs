//! Server settings and the limits of `docs/API.md`.

use std::path::PathBuf;

use axum::http::Uri;

/// Smallest ciphertext in bytes: a 28-byte header and one 16-byte tag.
pub const MIN_SIZE: u64 = 44;
/// Default maximum ciphertext size in bytes (4 GiB).
pub const DEFAULT_MAX_SIZE: u64 = 4 * 1024 * 1024 * 1024;
/// Shortest lifetime of an upload in seconds.
pub const MIN_EXPIRES_IN: u64 = 60;
/// Maximum lifetime of an upload in seconds (one day).
pub const MAX_EXPIRES_IN: u64 = 86_400;
/// Maximum size of the encrypted metadata in bytes.
pub const MAX_METADATA_LEN: usize = 4096;
/// Maximum size of a JSON request body in bytes.
pub const MAX_JSON_BODY: usize = 16 * 1024;
/// Lifetime of a download URL handed out by a claim, in seconds.
///
/// It must be shorter than [`CLAIM_GRACE`], so that the sweeper never
/// deletes ciphertext while a download URL for it is still valid.
pub const DOWNLOAD_URL_TTL: u64 = 10 * 60;
/// Time in seconds after a claim before the sweeper deletes ciphertext whose
/// claimant never confirmed the download.
pub const CLAIM_GRACE: u64 = 30 * 60;

const _: () = assert!(DOWNLOAD_URL_TTL < CLAIM_GRACE);

/// Errors in the server settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A URL setting is not an absolute `http` or `https` URL.
    #[error(
        "invalid {name} {value:?}: expected an absolute http:// or https:// URL without query or fragment"
    )]
    InvalidUrl {
        /// Name of the setting.
        name: &'static str,
        /// The rejected value.
        value: String,
    },
    /// The maximum size is below the minimum ciphertext size.
    #[error("invalid max size {0}: it must be at least {MIN_SIZE} bytes")]
    MaxSizeTooSmall(u64),
}

/// Server settings shared by every request.
#[derive(Debug, Clone)]
pub struct Config {
    public_url: String,
    public_origin: String,
    page_url: String,
    connect_sources: Vec<String>,
    /// Maximum ciphertext size in bytes.
    pub max_size: u64,
    /// Directory of the built web app.
    pub web_dir: PathBuf,
    /// Lifetime of download URLs in seconds.
    pub download_url_ttl: u64,
    /// Seconds after a claim before unconfirmed ciphertext is deleted.
    pub claim_grace: u64,
}

impl Config {
    /// Builds the settings.
    ///
    /// `public_url` is where clients reach this server. `page_url`, the
    /// address of the web page that links point to, defaults to it.
    pub fn new(
        public_url: &str,
        page_url: Option<&str>,
        web_dir: PathBuf,
        max_size: u64,
    ) -> Result<Self, ConfigError> {
        let public_origin = url_origin(public_url).ok_or_else(|| ConfigError::InvalidUrl {
            name: "public URL",
            value: public_url.to_owned(),
        })?;
        let public_url = public_url.trim_end_matches('/').to_owned();

        let page_url = match page_url {
            Some(page_url) => {
                url_origin(page_url).ok_or_else(|| ConfigError::InvalidUrl {
                    name: "page URL",
                    value: page_url.to_owned(),
                })?;
                page_url.to_owned()
            }
            None => format!("{public_url}/"),
        };

        if max_size < MIN_SIZE {
            return Err(ConfigError::MaxSizeTooSmall(max_size));
        }

        Ok(Self {
            connect_sources: vec![public_origin.clone()],
            public_url,
            public_origin,
            page_url,
            max_size,
            web_dir,
            download_url_ttl: DOWNLOAD_URL_TTL,
            claim_grace: CLAIM_GRACE,
        })
    }

    /// Returns the public URL without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Returns the origin (`scheme://host[:port]`) of the public URL.
    pub fn public_origin(&self) -> &str {
        &self.public_origin
    }

    /// Returns the URL of the web page that links point to.
    pub fn page_url(&self) -> &str {
        &self.page_url
    }

    /// Returns the origins the web page may connect to besides its own.
    pub fn connect_sources(&self) -> &[String] {
        &self.connect_sources
    }

    /// Adds an origin the web page may connect to, such as a storage bucket
    /// that presigned URLs point at. It must be an absolute URL.
    pub fn add_connect_source(&mut self, url: &str) -> Result<(), ConfigError> {
        let origin = url_origin(url).ok_or_else(|| ConfigError::InvalidUrl {
            name: "connect source",
            value: url.to_owned(),
        })?;
        if !self.connect_sources.contains(&origin) {
            self.connect_sources.push(origin);
        }
        Ok(())
    }
}

/// Returns `scheme://authority` of an absolute http(s) URL without query or
/// fragment, or `None` for anything else.
fn url_origin(url: &str) -> Option<String> {
    if url.contains(['?', '#']) {
        return None;
    }
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_derives_origin_and_page() {
        let config = Config::new(
            "https://box.example:8443/",
            None,
            PathBuf::from("dist"),
            1000,
        );
        let config = config.ok();
        assert_eq!(
            config.as_ref().map(Config::public_url),
            Some("https://box.example:8443")
        );
        assert_eq!(
            config.as_ref().map(Config::public_origin),
            Some("https://box.example:8443")
        );
        assert_eq!(
            config.as_ref().map(Config::page_url),
            Some("https://box.example:8443/")
        );
    }

    #[test]
    fn config_rejects_bad_urls() {
        for url in [
            "box.example",
            "ftp://box.example",
            "https://box.example/?a=b",
            "https://u@box.example",
            "/relative",
        ] {
            assert!(
                Config::new(url, None, PathBuf::from("dist"), 1000).is_err(),
                "{url}"
            );
        }
        assert!(
            Config::new(
                "http://127.0.0.1:1",
                Some("javascript:x"),
                PathBuf::new(),
                1000
            )
            .is_err()
        );
    }

    #[test]
    fn config_rejects_tiny_max_size() {
        assert!(Config::new("http://127.0.0.1:1", None, PathBuf::new(), MIN_SIZE - 1).is_err());
    }
}
