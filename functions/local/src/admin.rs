//! `shikayat-admin`: operator commands against the AWS resources that `AWS_ENDPOINT_URL` (or the
//! ambient AWS account) and `SHIKAYAT_AWS_PREFIX` point at.
//!
//! - `provision`: create every table (with its indexes), queue (with its dead-letter queue and
//!   redrive) and the media bucket. For development and tests; production uses infra/.

use anyhow::{bail, Context};
use shikayat_adapters::aws::{provision, AwsClients, AwsNames};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("provision") => {
            let names = AwsNames::from_env();
            let clients = AwsClients::from_env().await;
            provision(&clients, &names).await.context("provisioning")?;
            eprintln!(
                "provisioned the tables, queues and bucket for prefix {:?}",
                names.prefix()
            );
            Ok(())
        }
        _ => bail!("usage: shikayat-admin provision"),
    }
}
