//! `--create-missing`: creates the table and the bucket as
//! `deploy/template.yaml` declares them, for local API servers and quick
//! trials. A production deployment creates both with the template instead.

use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CorsConfiguration, CorsRule, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, PublicAccessBlockConfiguration,
};

use super::{AwsBackend, AwsError, DUE_INDEX, TTL_ATTRIBUTE, UPLOAD_PREFIX};

/// How long to wait for a new table and its index to become active.
const TABLE_READY_TIMEOUT: Duration = Duration::from_secs(120);
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Days after which the lifecycle rule expires an object under the upload
/// prefix. S3 counts whole days, and no file lives longer than one day plus
/// the claim grace period, so two days never cut a live file short.
pub const LIFECYCLE_EXPIRATION_DAYS: i32 = 2;

fn failure(resource: &str, detail: impl std::fmt::Display) -> AwsError {
    AwsError::Provision {
        resource: resource.to_owned(),
        detail: detail.to_string(),
    }
}

/// Returns whether an S3 call failed because the server does not implement
/// it, the error local S3 servers return for bucket settings they lack.
fn is_not_implemented<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error.code() == Some("NotImplemented")
}

impl AwsBackend {
    /// Creates the table and the bucket if they do not exist. An existing
    /// table must have the [`DUE_INDEX`] index.
    pub async fn create_missing(&self, allowed_origin: Option<&str>) -> Result<(), AwsError> {
        self.create_table_if_missing().await?;
        self.enable_ttl().await?;
        self.create_bucket_if_missing(allowed_origin).await?;
        Ok(())
    }

    async fn create_table_if_missing(&self) -> Result<(), AwsError> {
        let table = self.table();
        let described = self
            .dynamodb_client()
            .describe_table()
            .table_name(table)
            .send()
            .await;
        match described {
            Ok(output) => {
                let has_index = output
                    .table()
                    .map(|table| table.global_secondary_indexes())
                    .unwrap_or_default()
                    .iter()
                    .any(|index| index.index_name() == Some(DUE_INDEX));
                if !has_index {
                    return Err(failure(
                        table,
                        format!(
                            "the table exists without the global secondary index {DUE_INDEX}; \
                             create it as deploy/template.yaml does, or use another table name"
                        ),
                    ));
                }
                tracing::info!(table, "DynamoDB table exists");
                return Ok(());
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_resource_not_found_exception()) => {}
            Err(error) => return Err(failure(table, DisplayErrorContext(&error))),
        }

        let attribute = |name: &str, kind| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(DUE_INDEX)
            .key_schema(key("due_state", KeyType::Hash).map_err(|error| failure(table, error))?)
            .key_schema(key("due_at", KeyType::Range).map_err(|error| failure(table, error))?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|error| failure(table, error))?;
        let stream = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::KeysOnly)
            .build()
            .map_err(|error| failure(table, error))?;

        self.dynamodb_client()
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                attribute("id", ScalarAttributeType::S).map_err(|error| failure(table, error))?,
            )
            .attribute_definitions(
                attribute("due_state", ScalarAttributeType::S)
                    .map_err(|error| failure(table, error))?,
            )
            .attribute_definitions(
                attribute("due_at", ScalarAttributeType::N)
                    .map_err(|error| failure(table, error))?,
            )
            .key_schema(key("id", KeyType::Hash).map_err(|error| failure(table, error))?)
            .global_secondary_indexes(index)
            .stream_specification(stream)
            .send()
            .await
            .map_err(|error| failure(table, DisplayErrorContext(&error)))?;
        tracing::info!(table, "DynamoDB table created");

        self.wait_for_table().await
    }

    /// Polls until the table and every index are active.
    async fn wait_for_table(&self) -> Result<(), AwsError> {
        let table = self.table();
        let deadline = tokio::time::Instant::now() + TABLE_READY_TIMEOUT;
        loop {
            let output = self
                .dynamodb_client()
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|error| failure(table, DisplayErrorContext(&error)))?;
            let description = output.table();
            let table_active =
                description.and_then(|table| table.table_status()) == Some(&TableStatus::Active);
            let indexes_active = description
                .map(|table| table.global_secondary_indexes())
                .unwrap_or_default()
                .iter()
                .all(|index| {
                    index.index_status() == Some(&aws_sdk_dynamodb::types::IndexStatus::Active)
                });
            if table_active && indexes_active {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(failure(
                    table,
                    format!(
                        "the table is not active after {} s",
                        TABLE_READY_TIMEOUT.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(TABLE_POLL_INTERVAL).await;
        }
    }

    /// Enables TTL on [`TTL_ATTRIBUTE`] unless it already is.
    async fn enable_ttl(&self) -> Result<(), AwsError> {
        let table = self.table();
        let described = self
            .dynamodb_client()
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|error| failure(table, DisplayErrorContext(&error)))?;
        if let Some(description) = described.time_to_live_description() {
            let status = description.time_to_live_status();
            let attribute = description.attribute_name();
            if matches!(
                status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) {
                if attribute == Some(TTL_ATTRIBUTE) {
                    return Ok(());
                }
                return Err(failure(
                    table,
                    format!(
                        "TTL is enabled on the attribute {attribute:?}, but this server writes {TTL_ATTRIBUTE:?}"
                    ),
                ));
            }
        }

        let specification = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL_ATTRIBUTE)
            .build()
            .map_err(|error| failure(table, error))?;
        let result = self
            .dynamodb_client()
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(specification)
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(table, attribute = TTL_ATTRIBUTE, "DynamoDB TTL enabled");
                Ok(())
            }
            // Some local DynamoDB servers do not implement TTL. Records then
            // stay until removed by hand; the sweeper still deletes their
            // ciphertext on time.
            Err(error) if error.code() == Some("UnknownOperationException") => {
                tracing::warn!(
                    table,
                    "the DynamoDB endpoint does not implement UpdateTimeToLive; records will not be removed automatically"
                );
                Ok(())
            }
            Err(error) => Err(failure(table, DisplayErrorContext(&error))),
        }
    }

    async fn create_bucket_if_missing(&self, allowed_origin: Option<&str>) -> Result<(), AwsError> {
        let bucket = self.bucket();
        let s3 = self.s3_client();
        match s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => {
                tracing::info!(bucket, "S3 bucket exists");
                return Ok(());
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_not_found()) => {}
            Err(error) => return Err(failure(bucket, DisplayErrorContext(&error))),
        }

        let mut create = s3.create_bucket().bucket(bucket);
        // us-east-1 is the default location and must not be named.
        let region = s3
            .config()
            .region()
            .map(|region| region.as_ref().to_owned());
        if let Some(region) = region.filter(|region| region != "us-east-1") {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        create
            .send()
            .await
            .map_err(|error| failure(bucket, DisplayErrorContext(&error)))?;
        tracing::info!(bucket, "S3 bucket created");

        self.configure_bucket(allowed_origin).await
    }

    /// Blocks public access, sets CORS for the page's origin and the
    /// lifecycle rule. Settings the server does not implement are skipped
    /// with a warning.
    async fn configure_bucket(&self, allowed_origin: Option<&str>) -> Result<(), AwsError> {
        let bucket = self.bucket();
        let s3 = self.s3_client();

        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        let result = s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(block)
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(error) if is_not_implemented(&error) => {
                tracing::warn!(
                    bucket,
                    "the S3 endpoint does not implement PutPublicAccessBlock; skipped"
                );
            }
            Err(error) => return Err(failure(bucket, DisplayErrorContext(&error))),
        }

        if let Some(origin) = allowed_origin {
            let rule = CorsRule::builder()
                .allowed_origins(origin)
                .allowed_methods("PUT")
                .allowed_methods("GET")
                .allowed_methods("HEAD")
                .allowed_headers("content-type")
                .expose_headers("etag")
                .max_age_seconds(600)
                .build()
                .map_err(|error| failure(bucket, error))?;
            let cors = CorsConfiguration::builder()
                .cors_rules(rule)
                .build()
                .map_err(|error| failure(bucket, error))?;
            let result = s3
                .put_bucket_cors()
                .bucket(bucket)
                .cors_configuration(cors)
                .send()
                .await;
            match result {
                Ok(_) => tracing::info!(bucket, origin, "S3 bucket CORS set"),
                Err(error) if is_not_implemented(&error) => {
                    tracing::warn!(
                        bucket,
                        "the S3 endpoint does not implement PutBucketCors; browsers cannot upload to it"
                    );
                }
                Err(error) => return Err(failure(bucket, DisplayErrorContext(&error))),
            }
        }

        let rule = LifecycleRule::builder()
            .id("expire-uploads")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(UPLOAD_PREFIX).build())
            .expiration(
                LifecycleExpiration::builder()
                    .days(LIFECYCLE_EXPIRATION_DAYS)
                    .build(),
            )
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(1)
                    .build(),
            )
            .build()
            .map_err(|error| failure(bucket, error))?;
        let lifecycle = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|error| failure(bucket, error))?;
        let result = s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(lifecycle)
            .send()
            .await;
        match result {
            Ok(_) => tracing::info!(
                bucket,
                days = LIFECYCLE_EXPIRATION_DAYS,
                "S3 lifecycle rule set"
            ),
            Err(error) if is_not_implemented(&error) => {
                tracing::warn!(
                    bucket,
                    "the S3 endpoint does not implement lifecycle rules; skipped"
                );
            }
            Err(error) => return Err(failure(bucket, DisplayErrorContext(&error))),
        }
        Ok(())
    }
}
