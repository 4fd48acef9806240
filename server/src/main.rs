//! `safebox-server`: serves the Safebox API, blob URLs and web app.

use std::process::ExitCode;

use clap::Parser;
use safebox_server::cli::{Args, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "safebox server failed");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
