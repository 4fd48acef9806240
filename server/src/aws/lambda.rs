//! The Lambda entry point: the same router under the Lambda runtime.
//!
//! One binary serves two functions, chosen by `SAFEBOX_LAMBDA_HANDLER`:
//! `http` runs the router behind API Gateway through `lambda_http`, and
//! `events` runs [`events::handle`] for the table's stream and the sweep
//! schedule. The SDK clients are built once per cold start and shared by
//! every invocation.

use std::sync::Arc;

use lambda_http::{LambdaEvent, service_fn};
use serde_json::Value;

use super::{AwsBackend, AwsError, LambdaHandler, events};
use crate::cli::Args;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;

/// Tells whether the Lambda runtime started this process.
pub fn is_lambda_runtime() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Builds the backend and serves Lambda invocations until the runtime stops.
///
/// The API's public URL defaults to the page URL: the Lambda function
/// cannot know its API Gateway address without a dependency cycle in the
/// template, and only `/config.json` of the API would show it.
pub async fn run(args: Args) -> Result<(), AwsError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let public_url = args
        .public_url
        .clone()
        .or_else(|| args.page_url.clone())
        .ok_or(AwsError::MissingSetting {
            name: "page URL",
            flag: "--page-url",
            env: "SAFEBOX_PAGE_URL",
        })?;
    let config = Config::new(
        &public_url,
        args.page_url.as_deref(),
        args.web_dir.clone(),
        args.max_size,
    )?;
    let backend = AwsBackend::open(&args.aws, &config, clock.clone()).await?;
    let state = backend.state(config, clock);

    match args.aws.lambda_handler {
        LambdaHandler::Http => {
            let app = super::app(state, args.aws.allowed_origin.as_deref())?;
            tracing::info!(
                table = backend.table(),
                bucket = backend.bucket(),
                "Lambda HTTP handler started"
            );
            lambda_http::run(app).await.map_err(AwsError::Lambda)
        }
        LambdaHandler::Events => {
            tracing::info!(
                table = backend.table(),
                bucket = backend.bucket(),
                "Lambda events handler started"
            );
            let handler = service_fn(move |event: LambdaEvent<Value>| {
                let state = state.clone();
                async move {
                    events::handle(&state, event.payload)
                        .await
                        .map_err(lambda_http::Error::from)
                }
            });
            lambda_http::lambda_runtime::run(handler)
                .await
                .map_err(AwsError::Lambda)
        }
    }
}
