//! The AWS backend: records in DynamoDB, ciphertext in S3, and the Lambda
//! entry points, behind the cargo feature `aws`.
//!
//! The same [`api::app`](crate::api::app) router runs here as in the local
//! backend, either under the Lambda runtime ([`lambda`]) or as a plain HTTP
//! server (`safebox-server --backend aws`). The local backend's sweeper maps
//! onto AWS as follows:
//!
//! - expiry and unconfirmed claims: the sweeper runs on an EventBridge
//!   schedule ([`events`]) and queries the table's [`DUE_INDEX`];
//! - old records: DynamoDB TTL removes each item a grace period after its
//!   expiry, and the table's stream delivers the removal to [`events`],
//!   which deletes the object as well;
//! - anything both miss: the bucket's lifecycle rule expires objects under
//!   [`UPLOAD_PREFIX`] (see `deploy/template.yaml`).
//!
//! Settings come from flags or the environment ([`AwsArgs`]). Endpoints,
//! region and credentials come from the standard AWS variables, which
//! `aws-config` reads: `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ACCESS_KEY_ID`
//! and the rest of the credential chain.

mod blobs;
mod cors;
pub mod events;
pub mod lambda;
mod provision;
mod records;

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use clap::ValueEnum;

pub use blobs::{MAX_SINGLE_PUT, S3BlobStore, S3Error, UPLOAD_PREFIX};
pub use cors::cors_layer;
pub use records::{DUE_INDEX, DynamoError, DynamoRecordStore, InvalidItem, TTL_ATTRIBUTE};

use crate::api::AppState;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::store::BlobError;

/// Settings of the AWS backend. Each can be set by flag or environment
/// variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// DynamoDB table of upload records (AWS backend).
    #[arg(long, env = "SAFEBOX_TABLE")]
    pub table: Option<String>,

    /// S3 bucket of ciphertext objects (AWS backend).
    #[arg(long, env = "SAFEBOX_BUCKET")]
    pub bucket: Option<String>,

    /// Origin of the static web page (`https://host[:port]`) that may call
    /// the API from a browser. Without it, no cross-origin request is
    /// allowed.
    #[arg(long, env = "SAFEBOX_ALLOWED_ORIGIN")]
    pub allowed_origin: Option<String>,

    /// Create the table and the bucket if they are missing, with the key
    /// schema, index and TTL attribute of deploy/template.yaml, then serve.
    #[arg(long, env = "SAFEBOX_CREATE_MISSING")]
    pub create_missing: bool,

    /// Events this Lambda function handles: `http` (API Gateway requests)
    /// or `events` (DynamoDB stream records and the sweep schedule).
    #[arg(long, env = "SAFEBOX_LAMBDA_HANDLER", value_enum, default_value_t = LambdaHandler::Http)]
    pub lambda_handler: LambdaHandler,
}

/// The two Lambda functions that run this binary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LambdaHandler {
    /// API Gateway HTTP API requests, served by the router.
    #[default]
    Http,
    /// DynamoDB stream records (TTL removals) and scheduled sweeps.
    Events,
}

/// Errors that stop the AWS backend from starting.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A required setting is missing.
    #[error("missing {name}: set {flag} or the environment variable {env}")]
    MissingSetting {
        /// Description of the setting.
        name: &'static str,
        /// The command-line flag.
        flag: &'static str,
        /// The environment variable.
        env: &'static str,
    },
    /// No AWS region is configured.
    #[error(
        "no AWS region configured: set AWS_REGION (any region name works with a custom endpoint)"
    )]
    MissingRegion,
    /// The maximum upload size exceeds what one presigned `PUT` can write.
    #[error(
        "max size {max_size} bytes exceeds the 5 GiB ({MAX_SINGLE_PUT} bytes) limit of one S3 PUT; \
         set --max-size (SAFEBOX_MAX_SIZE) to at most {MAX_SINGLE_PUT}"
    )]
    MaxSizeTooLarge {
        /// The configured maximum in bytes.
        max_size: u64,
    },
    /// The allowed origin is not `scheme://host[:port]`.
    #[error("invalid allowed origin {0:?}: expected http(s)://host[:port] without a path")]
    InvalidOrigin(String),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Creating or checking the table or bucket failed.
    #[error("cannot prepare {resource}: {detail}")]
    Provision {
        /// The table or bucket involved.
        resource: String,
        /// What failed.
        detail: String,
    },
    /// Presigning a probe URL failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The Lambda runtime stopped with an error.
    #[error("Lambda runtime failed: {0}")]
    Lambda(#[source] lambda_http::Error),
}

/// Loads the AWS settings from the environment, the shared config files and
/// the credential chain, and checks that a region is set.
pub async fn load_sdk_config() -> Result<SdkConfig, AwsError> {
    let sdk_config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    if sdk_config.region().is_none() {
        return Err(AwsError::MissingRegion);
    }
    Ok(sdk_config)
}

/// Time limits for each S3 and DynamoDB call. The SDK's defaults limit only
/// the connect time, so a server that stops responding could stall a call.
/// Here a stalled attempt is dropped and retried on a new connection, and
/// the whole call gives up before the Lambda's 10 s timeout.
fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(4))
        .operation_attempt_timeout(Duration::from_secs(4))
        .operation_timeout(Duration::from_secs(9))
        .build()
}

/// The AWS backend: SDK clients built once and the two stores over them.
#[derive(Clone)]
pub struct AwsBackend {
    dynamodb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    table: String,
    bucket: String,
    records: Arc<DynamoRecordStore>,
    blobs: Arc<S3BlobStore>,
}

impl AwsBackend {
    /// Builds the backend from the settings: loads the SDK configuration,
    /// checks the limits, and creates the table and bucket first if
    /// `--create-missing` is set.
    pub async fn open(
        args: &AwsArgs,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AwsError> {
        let table = args.table.as_deref().ok_or(AwsError::MissingSetting {
            name: "DynamoDB table name",
            flag: "--table",
            env: "SAFEBOX_TABLE",
        })?;
        let bucket = args.bucket.as_deref().ok_or(AwsError::MissingSetting {
            name: "S3 bucket name",
            flag: "--bucket",
            env: "SAFEBOX_BUCKET",
        })?;
        if let Some(origin) = args.allowed_origin.as_deref() {
            cors::validate_origin(origin)?;
        }

        let sdk_config = load_sdk_config().await?;
        let backend = Self::from_sdk_config(&sdk_config, table, bucket, config, clock)?;
        if args.create_missing {
            backend
                .create_missing(args.allowed_origin.as_deref())
                .await?;
        }
        Ok(backend)
    }

    /// Builds the backend over `table` and `bucket` with the given SDK
    /// settings. Sends no request.
    pub fn from_sdk_config(
        sdk_config: &SdkConfig,
        table: &str,
        bucket: &str,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AwsError> {
        Self::from_service_configs(sdk_config, sdk_config, table, bucket, config, clock)
    }

    /// Builds the backend with separate SDK settings for S3 and DynamoDB,
    /// as tests need for two local endpoints. Sends no request.
    ///
    /// S3 is addressed path-style (`http://endpoint/bucket/key`) whenever a
    /// custom endpoint is configured, since local S3 servers rarely resolve
    /// bucket subdomains.
    pub fn from_service_configs(
        s3_sdk_config: &SdkConfig,
        dynamodb_sdk_config: &SdkConfig,
        table: &str,
        bucket: &str,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AwsError> {
        if config.max_size > MAX_SINGLE_PUT {
            return Err(AwsError::MaxSizeTooLarge {
                max_size: config.max_size,
            });
        }

        let custom_s3_endpoint = s3_sdk_config.endpoint_url().is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(s3_sdk_config)
            .force_path_style(custom_s3_endpoint)
            // Checksums only where S3 requires them: a presigned PUT must
            // not carry a checksum of an empty body.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(timeout_config())
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(s3_config);
        let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(dynamodb_sdk_config)
            .timeout_config(timeout_config())
            .build();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb_config);

        Ok(Self {
            records: Arc::new(DynamoRecordStore::new(
                dynamodb.clone(),
                table,
                config.claim_grace,
            )),
            blobs: Arc::new(S3BlobStore::new(s3.clone(), bucket, clock)),
            dynamodb,
            s3,
            table: table.to_owned(),
            bucket: bucket.to_owned(),
        })
    }

    /// Returns the request handlers' state over this backend.
    pub fn state(&self, config: Config, clock: Arc<dyn Clock>) -> AppState {
        AppState {
            records: self.records.clone(),
            blobs: self.blobs.clone(),
            config: Arc::new(config),
            clock,
        }
    }

    /// Returns the record store.
    pub fn records(&self) -> Arc<DynamoRecordStore> {
        self.records.clone()
    }

    /// Returns the blob store.
    pub fn blobs(&self) -> Arc<S3BlobStore> {
        self.blobs.clone()
    }

    /// Returns the S3 client.
    pub fn s3_client(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// Returns the DynamoDB client.
    pub fn dynamodb_client(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    /// Returns the table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Returns the bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Lets a page served by this server reach the bucket's presigned URLs
    /// by adding the bucket's origin to the Content-Security-Policy.
    pub async fn allow_bucket_in_page(&self, config: &mut Config) -> Result<(), AwsError> {
        let origin = self.blobs.url_origin().await?;
        config.add_connect_source(&origin)?;
        Ok(())
    }
}

/// Builds the application over an AWS backend's state: the API router,
/// with CORS for `allowed_origin` when one is set. The Lambda function and
/// `safebox-server --backend aws` both serve this.
pub fn app(state: AppState, allowed_origin: Option<&str>) -> Result<axum::Router, AwsError> {
    let app = crate::api::app(state, axum::Router::new());
    match allowed_origin {
        Some(origin) => Ok(app.layer(cors_layer(origin)?)),
        None => Ok(app),
    }
}
