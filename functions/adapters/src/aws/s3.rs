//! `S3Media`: the media store in one private bucket. Every object is encrypted (SSE-S3, asked
//! for on each put, not left to the bucket default) and carries its sha256 as metadata, which
//! `get` checks, as the folder store does with its sidecar.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use sha2::{Digest, Sha256};
use shikayat_core::ports::{MediaStore, PortError, PortResult};

use super::error::{code, port_err};
use super::{AwsClients, AwsNames};

/// The metadata key (S3 stores it as `x-amz-meta-sha256`).
const SHA256: &str = "sha256";
/// Presigned links are for one download by one person, soon: never longer than this.
pub const MAX_PRESIGN: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Debug)]
pub struct S3Media {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Media {
    pub fn new(clients: &AwsClients, names: &AwsNames) -> Self {
        Self {
            client: clients.s3.clone(),
            bucket: names.media_bucket().to_string(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A GET link valid for `expiry` (capped at [`MAX_PRESIGN`]), for where a link must do
    /// instead of a re-upload to WhatsApp.
    pub async fn presign_get(&self, key: &str, expiry: Duration) -> PortResult<String> {
        let cfg = PresigningConfig::expires_in(expiry.min(MAX_PRESIGN))
            .map_err(|e| PortError::Permanent(format!("presign {key:?}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| port_err("presign media", e))?;
        Ok(req.uri().to_string())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[async_trait]
impl MediaStore for S3Media {
    /// Refuses bytes that do not match `sha256_hex` (when given), as the folder store does.
    async fn put(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
        sha256_hex_claimed: &str,
    ) -> PortResult<()> {
        let actual = sha256_hex(bytes);
        if !sha256_hex_claimed.is_empty() && !sha256_hex_claimed.eq_ignore_ascii_case(&actual) {
            return Err(PortError::Permanent(format!(
                "media {key:?}: sha256 {actual} does not match the claimed {sha256_hex_claimed}"
            )));
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .content_type(content_type)
            .metadata(SHA256, &actual)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(|e| port_err("put media", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> PortResult<(Vec<u8>, String)> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if matches!(code(&e), Some("NoSuchKey" | "NotFound")) => {
                return Err(PortError::NotFound(format!("media {key:?}")))
            }
            Err(e) => return Err(port_err("get media", e)),
        };
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        let claimed = out.metadata().and_then(|m| m.get(SHA256)).cloned();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| PortError::Transient(format!("media {key:?}: read body: {e}")))?
            .into_bytes()
            .to_vec();
        if let Some(claimed) = claimed {
            if !claimed.eq_ignore_ascii_case(&sha256_hex(&bytes)) {
                return Err(PortError::Permanent(format!(
                    "media {key:?}: stored bytes do not match their sha256"
                )));
            }
        }
        Ok((bytes, content_type))
    }
}
