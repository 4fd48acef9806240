//! Command-line options and the entry point of the `safebox-server` binary.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, DEFAULT_MAX_SIZE};
use crate::local::{LocalBackend, LocalError};
use crate::serve::serve_until_stopped;
use crate::sweeper;

/// Serves the Safebox API and web app. Every option can also be set through
/// the environment variable shown with it.
#[derive(Debug, Parser)]
#[command(name = "safebox-server", version)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, env = "SAFEBOX_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Storage backend: `local` (SQLite and files in --data-dir) or `aws`
    /// (DynamoDB and S3, when built with the `aws` feature).
    #[arg(long, env = "SAFEBOX_BACKEND", value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,

    /// Directory of the local backend's records, ciphertext and URL signing
    /// key. Created with mode 0700 if missing.
    #[arg(long, env = "SAFEBOX_DATA_DIR", default_value = "./safebox-data")]
    pub data_dir: PathBuf,

    /// Absolute URL where clients reach this server, the base of API and
    /// blob URLs [default: http://<listen address>].
    #[arg(long, env = "SAFEBOX_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Absolute URL of the web page that links point to [default: the
    /// public URL].
    #[arg(long, env = "SAFEBOX_PAGE_URL")]
    pub page_url: Option<String>,

    /// Directory of the built web app, served at /.
    #[arg(long, env = "SAFEBOX_WEB_DIR", default_value = "dist")]
    pub web_dir: PathBuf,

    /// Maximum ciphertext size of one upload, in bytes (default 4 GiB).
    #[arg(long, env = "SAFEBOX_MAX_SIZE", default_value_t = DEFAULT_MAX_SIZE)]
    pub max_size: u64,

    /// Seconds between sweeps that delete unconfirmed and expired
    /// ciphertext.
    #[arg(
        long,
        env = "SAFEBOX_SWEEP_INTERVAL",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub sweep_interval: u64,

    /// Seconds that open requests, such as downloads, get to finish after
    /// Ctrl-C or SIGTERM. A second signal stops the server at once.
    #[arg(long, env = "SAFEBOX_SHUTDOWN_GRACE", default_value_t = 10)]
    pub shutdown_grace: u64,

    /// Settings of the AWS backend.
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: crate::aws::AwsArgs,
}

/// Storage backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// SQLite records and ciphertext files in the data directory.
    Local,
    /// DynamoDB records and S3 objects (--table, --bucket).
    #[cfg(feature = "aws")]
    Aws,
}

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address from --listen.
        address: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The local backend could not open its data directory.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// The AWS backend could not start.
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl RunError {
    /// Returns what to do about the error, where there is a usual remedy.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            RunError::Bind { source, .. } if source.kind() == ErrorKind::AddrInUse => Some(
                "another program uses this port: stop it, or pass --listen with another port, \
                 for example --listen 127.0.0.1:8081",
            ),
            RunError::Bind { source, .. } if source.kind() == ErrorKind::PermissionDenied => {
                Some("ports below 1024 need extra privileges: pass --listen with a higher port")
            }
            _ => None,
        }
    }
}

/// Starts the server and serves until Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> Result<(), RunError> {
    let bind_error = |source| RunError::Bind {
        address: args.listen,
        source,
    };
    let listener = TcpListener::bind(args.listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;

    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
    let mut config = Config::new(
        &public_url,
        args.page_url.as_deref(),
        args.web_dir.clone(),
        args.max_size,
    )?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let (state, backend_routes) = match args.backend {
        Backend::Local => {
            let backend = LocalBackend::open(&args.data_dir, config.public_url(), clock.clone())?;
            let state = AppState {
                records: backend.records(),
                blobs: backend.blobs(),
                config: Arc::new(config),
                clock,
            };
            (state, backend.routes())
        }
        #[cfg(feature = "aws")]
        Backend::Aws => {
            let backend = crate::aws::AwsBackend::open(&args.aws, &config, clock.clone()).await?;
            backend.allow_bucket_in_page(&mut config).await?;
            (backend.state(config, clock), axum::Router::new())
        }
    };

    let app = api::app(state.clone(), backend_routes);
    #[cfg(feature = "aws")]
    let app = match args.aws.allowed_origin.as_deref() {
        Some(origin) => app.layer(crate::aws::cors_layer(origin).map_err(RunError::Aws)?),
        None => app,
    };
    let sweeper = sweeper::spawn(state.clone(), Duration::from_secs(args.sweep_interval));

    tracing::info!(
        %address,
        public_url = state.config.public_url(),
        data_dir = %args.data_dir.display(),
        web_dir = %state.config.web_dir.display(),
        backend = ?args.backend,
        "safebox server started"
    );
    println!("Safebox server listening on {}", state.config.public_url());

    let served = serve_until_stopped(listener, app, Duration::from_secs(args.shutdown_grace)).await;
    sweeper.abort();
    served.map_err(RunError::Serve)?;
    tracing::info!("safebox server stopped");
    Ok(())
}
