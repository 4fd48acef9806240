//! `safebox-server`: serves the Safebox API, blob URLs and web app.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use safebox_server::cli::{Args, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only help a terminal: CloudWatch and log files would show
    // them as text, so Lambda logs and redirected output go out plain.
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let colour = !in_lambda && std::io::stdout().is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .init();

    #[cfg(feature = "aws")]
    if safebox_server::aws::lambda::is_lambda_runtime() {
        return match safebox_server::aws::lambda::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "safebox Lambda function failed");
                ExitCode::FAILURE
            }
        };
    }

    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Only to stderr: the log goes to stdout, and a terminal would
            // show the error twice.
            eprintln!("error: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
