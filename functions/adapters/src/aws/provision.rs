//! Creates every table, queue and the bucket on whatever `AWS_ENDPOINT_URL` points at (moto in
//! tests, a sandbox account in development; production uses infra/). Idempotent: what exists is
//! left as it is, except queue attributes and bucket settings, which are set again.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Transition, TransitionStorageClass,
    VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use shikayat_core::command::QueueName;

use super::dynamo::index;
use super::error::{code, AwsError};
use super::{AwsClients, AwsNames};

#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// How long a received message stays hidden: longer than a handler takes (Lambda's timeout
    /// plus margin). Tests use a second or two.
    pub visibility_timeout: Duration,
    /// Receives before a message goes to its DLQ.
    pub max_receives: u32,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(60),
            max_receives: 5,
        }
    }
}

/// `provision_with` the default options (60 s visibility, DLQ after 5 receives).
pub async fn provision(clients: &AwsClients, names: &AwsNames) -> Result<(), AwsError> {
    provision_with(clients, names, &ProvisionOptions::default()).await
}

pub async fn provision_with(
    clients: &AwsClients,
    names: &AwsNames,
    opts: &ProvisionOptions,
) -> Result<(), AwsError> {
    for t in tables(names) {
        create_table(&clients.dynamo, &t).await?;
    }
    for t in tables(names) {
        wait_active(&clients.dynamo, &t.name).await?;
    }
    for t in tables(names) {
        if let Some(attr) = t.ttl {
            enable_ttl(&clients.dynamo, &t.name, attr).await?;
        }
    }
    for q in QueueName::ALL {
        create_queue_pair(&clients.sqs, names, q, opts).await?;
    }
    create_bucket(&clients.s3, names.media_bucket()).await
}

/// What an index copies of an item besides the keys.
#[derive(Clone, Copy)]
enum Proj {
    /// The whole item (the directory: small items, read whole).
    All,
    /// The table's and the index's keys only.
    Keys,
    /// The keys and these attributes.
    Include(&'static [&'static str]),
}

/// A table: hash key, optional range key, GSIs (name, hash, optional range, projection), and
/// the TTL attribute if its items expire. Every key attribute is a string.
struct TableSpec {
    name: String,
    hash: &'static str,
    range: Option<&'static str>,
    indexes: Vec<(&'static str, &'static str, Option<&'static str>, Proj)>,
    ttl: Option<&'static str>,
}

fn tables(names: &AwsNames) -> Vec<TableSpec> {
    vec![
        // The register: kept for ever. Its indexes hold keys, readers fetch by key (complaints.rs).
        TableSpec {
            name: names.complaints(),
            hash: "id",
            range: None,
            indexes: vec![
                (index::COMPLAINANT, "complainant", Some("created_at"), Proj::Keys),
                (
                    index::OFFICER_OPEN,
                    "open_officer",
                    Some("officer_due"),
                    Proj::Keys,
                ),
                (
                    index::DEPARTMENT_STATE,
                    "dept",
                    Some("dept_state"),
                    Proj::Include(&["created_at"]),
                ),
                (
                    index::OPEN_NEXT,
                    "open_shard",
                    Some("open_next"),
                    Proj::Include(&["due_at"]),
                ),
            ],
            ttl: None,
        },
        TableSpec {
            name: names.complaint_events(),
            hash: "id",
            range: Some("at_seq"),
            indexes: vec![],
            ttl: None,
        },
        TableSpec {
            name: names.messages(),
            hash: "wamid",
            range: None,
            indexes: vec![],
            ttl: Some("expires_at"),
        },
        // Conversation state and pacing slots: transient (conversations.rs).
        TableSpec {
            name: names.conversations(),
            hash: "phone",
            range: None,
            indexes: vec![],
            ttl: Some("expires_at"),
        },
        TableSpec {
            name: names.directory(),
            hash: "phone",
            range: Some("entry"),
            indexes: vec![
                (
                    index::DIRECTORY_BY_DEPARTMENT,
                    "department",
                    Some("rank"),
                    Proj::All,
                ),
                (index::DIRECTORY_BY_ROLE, "role", Some("rank"), Proj::All),
            ],
            ttl: None,
        },
        TableSpec {
            name: names.settings(),
            hash: "name",
            range: None,
            indexes: vec![],
            ttl: None,
        },
    ]
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, AwsError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| AwsError::new("key schema", e))
}

fn keys(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>, AwsError> {
    let mut v = vec![key(hash, KeyType::Hash)?];
    if let Some(r) = range {
        v.push(key(r, KeyType::Range)?);
    }
    Ok(v)
}

async fn create_table(client: &aws_sdk_dynamodb::Client, t: &TableSpec) -> Result<(), AwsError> {
    let mut attrs: Vec<&str> = vec![t.hash];
    attrs.extend(t.range);
    for (_, h, r, _) in &t.indexes {
        attrs.push(h);
        attrs.extend(*r);
    }
    attrs.sort_unstable();
    attrs.dedup();
    let mut req = client
        .create_table()
        .table_name(&t.name)
        .billing_mode(BillingMode::PayPerRequest)
        // No SSE specification: encrypted with the AWS owned key, DynamoDB's default. `enabled`
        // would switch to the AWS managed aws/dynamodb KMS key and bill every KMS request.
        .deletion_protection_enabled(true)
        .set_key_schema(Some(keys(t.hash, t.range)?));
    for a in attrs {
        // `rank` (directory order) is a number; every other key is a string.
        let ty = if a == "rank" {
            ScalarAttributeType::N
        } else {
            ScalarAttributeType::S
        };
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ty)
                .build()
                .map_err(|e| AwsError::new("attribute definition", e))?,
        );
    }
    for (name, h, r, proj) in &t.indexes {
        let projection = match proj {
            Proj::All => Projection::builder().projection_type(ProjectionType::All),
            Proj::Keys => Projection::builder().projection_type(ProjectionType::KeysOnly),
            Proj::Include(attrs) => Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(attrs.iter().map(|a| a.to_string()).collect())),
        };
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*name)
                .set_key_schema(Some(keys(h, *r)?))
                .projection(projection.build())
                .build()
                .map_err(|e| AwsError::new("index", e))?,
        );
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(sdk_err(format!("create table {}", t.name), e)),
    }
}

async fn wait_active(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), AwsError> {
    for _ in 0..600 {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| AwsError::new(format!("describe table {table}"), e))?;
        if out.table.and_then(|t| t.table_status) == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(AwsError::new(
        format!("table {table}"),
        "not ACTIVE after 5 minutes",
    ))
}

async fn enable_ttl(client: &aws_sdk_dynamodb::Client, table: &str, attr: &str) -> Result<(), AwsError> {
    // DynamoDB refuses to enable TTL twice, so look first.
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| sdk_err(format!("describe time to live on {table}"), e))?;
    let enabled = current
        .time_to_live_description
        .is_some_and(|d| d.attribute_name.as_deref() == Some(attr));
    if !enabled {
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attr)
            .build()
            .map_err(|e| AwsError::new("time to live", e))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| sdk_err(format!("time to live on {table}"), e))?;
    }
    Ok(())
}

/// The DLQ, then the queue with its redrive policy. Queues are created with only what must be
/// fixed at creation (FIFO-ness) and the rest is set afterwards, so running this again with
/// other options updates them instead of failing with "exists with different attributes".
async fn create_queue_pair(
    client: &aws_sdk_sqs::Client,
    names: &AwsNames,
    q: QueueName,
    opts: &ProvisionOptions,
) -> Result<(), AwsError> {
    let fifo = q == QueueName::Inbound;
    let dlq_url = create_queue(client, &names.dead_letter_queue(q), fifo).await?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sdk_err("dead-letter queue ARN", e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| AwsError::new(names.dead_letter_queue(q), "no ARN"))?;
    // Dead letters are kept the longest SQS allows, for someone to look at.
    set_attributes(
        client,
        &dlq_url,
        vec![
            (QueueAttributeName::MessageRetentionPeriod, "1209600".into()),
            (QueueAttributeName::SqsManagedSseEnabled, "true".into()),
        ],
    )
    .await?;
    let url = create_queue(client, &names.queue(q), fifo).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": opts.max_receives,
    })
    .to_string();
    let mut attrs = vec![
        (
            QueueAttributeName::VisibilityTimeout,
            opts.visibility_timeout.as_secs().max(1).to_string(),
        ),
        (QueueAttributeName::RedrivePolicy, redrive),
        (QueueAttributeName::MessageRetentionPeriod, "345600".into()),
        (QueueAttributeName::SqsManagedSseEnabled, "true".into()),
    ];
    if fifo {
        // Deduplication is on the envelope key we send, never on the body.
        attrs.push((QueueAttributeName::ContentBasedDeduplication, "false".into()));
        // High-throughput FIFO: order and deduplication per message group (one sender), which
        // is all the desk needs, and the throughput limit per group instead of per queue.
        attrs.push((QueueAttributeName::DeduplicationScope, "messageGroup".into()));
        attrs.push((
            QueueAttributeName::FifoThroughputLimit,
            "perMessageGroupId".into(),
        ));
    }
    set_attributes(client, &url, attrs).await
}

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> Result<String, AwsError> {
    let mut req = client.create_queue().queue_name(name);
    if fifo {
        req = req
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    }
    let out = req
        .send()
        .await
        .map_err(|e| sdk_err(format!("create queue {name}"), e))?;
    out.queue_url
        .ok_or_else(|| AwsError::new(format!("create queue {name}"), "no URL returned"))
}

async fn set_attributes(
    client: &aws_sdk_sqs::Client,
    url: &str,
    attrs: Vec<(QueueAttributeName, String)>,
) -> Result<(), AwsError> {
    let mut req = client.set_queue_attributes().queue_url(url);
    for (k, v) in attrs {
        req = req.attributes(k, v);
    }
    req.send()
        .await
        .map_err(|e| sdk_err(format!("queue attributes of {url}"), e))?;
    Ok(())
}

/// Private, encrypted by default, versioned, older media to cheaper storage after 90 days.
async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), AwsError> {
    let s3err = |what: &str| format!("{what} on bucket {bucket}");
    let region = client.config().region().map(|r| r.to_string());
    let mut req = client.create_bucket().bucket(bucket);
    // us-east-1 is the one region that must not be named as a location constraint.
    if let Some(r) = region.filter(|r| r != "us-east-1") {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(r.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) if matches!(code(&e), Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")) => {}
        Err(e) => return Err(sdk_err(s3err("create"), e)),
    }
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(|e| AwsError::new("encryption rule", e))?,
        )
        .build();
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| AwsError::new("encryption", e))?,
        )
        .send()
        .await
        .map_err(|e| sdk_err(s3err("encryption"), e))?;
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_err(s3err("public access block"), e))?;
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_err(s3err("versioning"), e))?;
    let lifecycle = LifecycleRule::builder()
        .id("media-to-infrequent-access")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("media/").build())
        .transitions(
            Transition::builder()
                .days(90)
                .storage_class(TransitionStorageClass::StandardIa)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::new("lifecycle rule", e))?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(lifecycle)
                .build()
                .map_err(|e| AwsError::new("lifecycle", e))?,
        )
        .send()
        .await
        .map_err(|e| sdk_err(s3err("lifecycle"), e))?;
    Ok(())
}

fn sdk_err<E: std::error::Error + 'static>(what: impl Into<String>, e: E) -> AwsError {
    AwsError::new(what, aws_sdk_dynamodb::error::DisplayErrorContext(e))
}
