//! The SDK clients, built from one configuration load (credentials, region and endpoint are
//! resolved once per process, outside any handler).

use aws_config::BehaviorVersion;

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// The standard chain: `AWS_REGION`, credentials from the environment or the Lambda role,
    /// and `AWS_ENDPOINT_URL` (or per-service `AWS_ENDPOINT_URL_<SERVICE>`) to point at moto.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_conf(&shared)
    }

    pub fn from_conf(shared: &aws_config::SdkConfig) -> Self {
        // Virtual-hosted buckets (`bucket.host`) do not resolve on a local endpoint such as
        // 127.0.0.1; real S3 prefers them, so path style only when an endpoint is overridden
        // (`AWS_ENDPOINT_URL` shows in the loaded config; the S3-only variable does not).
        let path_style = shared.endpoint_url().is_some()
            || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|s| !s.is_empty());
        let s3 = aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(path_style)
            .build();
        Self {
            dynamo: aws_sdk_dynamodb::Client::new(shared),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(shared),
            secrets: aws_sdk_secretsmanager::Client::new(shared),
        }
    }
}
