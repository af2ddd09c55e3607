//! `shikayat-admin`: operator commands against the AWS resources that `AWS_ENDPOINT_URL` (or the
//! ambient AWS account) and `SHIKAYAT_AWS_PREFIX` point at. Run with no arguments for the usage.
//!
//! - `provision`: create every table (with its indexes), queue (with its dead-letter queue and
//!   redrive) and the media bucket. For development and tests; production uses infra/.
//! - `load-config`: validate a district TOML and load it into the directory and settings tables.
//! - `export-register`: one department's register for a date range, as CSV.
//! - `timeline`: everything that happened to one complaint.
//! - `overdue`: open complaints whose report is past due.
//! - `templates push` / `templates check`: the WhatsApp templates in config/templates against the
//!   WABA's templates at Meta (Graph API, not AWS).
//!
//! Every read goes through a key or an index (`department-state`, `open-next`); nothing scans.

// The crate root is src/admin.rs, so its modules are named by path.
#[path = "admin/args.rs"]
mod args;
#[path = "admin/register.rs"]
mod register;
#[path = "admin/reports.rs"]
mod reports;
#[path = "admin/templates.rs"]
mod templates;

use anyhow::{bail, Context};
use shikayat_adapters::aws::{provision, AwsClients, AwsNames, DynamoStore};
use shikayat_core::config::DistrictConfig;

use args::Args;

const USAGE: &str = "\
shikayat-admin: operator commands on the AWS resources named by SHIKAYAT_AWS_PREFIX
(default `shikayat-`). Credentials and region come from the usual AWS variables or profile
(AWS_PROFILE, AWS_REGION); AWS_ENDPOINT_URL points at an AWS-compatible endpoint such as moto.

usage:
  shikayat-admin load-config <district.toml>
      Check the district configuration (departments, people, SLAs, template names) and load it
      into the directory and settings tables. Nothing is written if it is invalid.
  shikayat-admin export-register --department <id> --from <YYYY-MM-DD> --to <YYYY-MM-DD>
                                 [--out <file.csv>] [--mask-phones]
      One department's register: complaints received from `from` to `to` inclusive (district
      time), one CSV row each. To standard output unless --out is given.
  shikayat-admin timeline <complaint number>
      Everything that happened to a complaint, e.g. AMT-2026-000123.
  shikayat-admin overdue [--department <id>] [--limit <n>]
      Open complaints whose report is past due, most overdue first.
  shikayat-admin provision
      Create the tables, queues and bucket (development and tests; production uses infra/).
  shikayat-admin templates push --waba-id <id> [--dir config/templates]
      Create at Meta the templates that are missing and edit those that differ, one line each.
  shikayat-admin templates check --waba-id <id> [--dir config/templates]
      List every template missing at Meta, not APPROVED, or with a differing component; exits
      non-zero if there is any. Both use WHATSAPP_ACCESS_TOKEN, WHATSAPP_API_BASE_URL (default
      https://graph.facebook.com) and WHATSAPP_API_VERSION (default v25.0).";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHIKAYAT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv.iter().any(|a| a == "-h" || a == "--help" || a == "help") {
        println!("{USAGE}");
        return if argv.is_empty() {
            std::process::ExitCode::from(2)
        } else {
            std::process::ExitCode::SUCCESS
        };
    }
    match run(argv).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shikayat-admin: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(argv: Vec<String>) -> anyhow::Result<()> {
    let mut args = Args::new(argv);
    let command = args.command().unwrap_or_default();
    match command.as_str() {
        "provision" => {
            args.finish()?;
            let names = AwsNames::from_env();
            let clients = AwsClients::from_env().await;
            provision(&clients, &names).await.context("provisioning")?;
            eprintln!(
                "provisioned the tables, queues and bucket for prefix {:?}",
                names.prefix()
            );
            Ok(())
        }
        "load-config" => {
            let path = args.positional("the district TOML file")?;
            args.finish()?;
            load_config(&path).await
        }
        "export-register" => {
            let department = args.required("--department")?;
            let from = args.date("--from")?;
            let to = args.date("--to")?;
            let out = args.optional("--out");
            let mask = args.flag("--mask-phones");
            args.finish()?;
            let (store, cfg) = connect().await?;
            register::export(&store, &cfg, &department, from, to, out.as_deref(), mask).await
        }
        "timeline" => {
            let id = args.positional("a complaint number (AMT-2026-000123)")?;
            args.finish()?;
            let (store, cfg) = connect().await?;
            reports::timeline(&store, &cfg, &id).await
        }
        "overdue" => {
            let department = args.optional("--department");
            let limit = args.number("--limit", 1000)?;
            args.finish()?;
            let (store, cfg) = connect().await?;
            reports::overdue(&store, &cfg, department.as_deref(), limit).await
        }
        "templates" => {
            let action = args.positional("push or check")?;
            let waba = args.required("--waba-id")?;
            let dir = args
                .optional("--dir")
                .unwrap_or_else(|| "config/templates".into());
            args.finish()?;
            let graph = templates::Graph::from_env()?;
            let dir = std::path::Path::new(&dir);
            match action.as_str() {
                "push" => templates::push(&graph, &waba, dir).await,
                "check" => templates::check(&graph, &waba, dir).await,
                other => bail!("templates {other:?}: use push or check"),
            }
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// Validates first: an invalid file writes nothing. Then the directory (people and their
/// departments), then the settings item the functions read their configuration from. Both
/// writes are idempotent, so a run cut short is simply run again.
async fn load_config(path: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let cfg =
        DistrictConfig::from_toml(&text).map_err(|e| anyhow::anyhow!("{path}: {e}; nothing was loaded"))?;
    let names = AwsNames::from_env();
    let store = DynamoStore::new(&AwsClients::from_env().await, &names);
    store
        .load_directory(&cfg)
        .await
        .map_err(|e| anyhow::anyhow!("loading the directory into {}: {e}", names.directory()))?;
    store
        .put_district_config(&text)
        .await
        .map_err(|e| anyhow::anyhow!("saving the district config in {}: {e}", names.settings()))?;
    let demo = cfg
        .people
        .iter()
        .filter(|p| p.phone.as_str().starts_with("919000000"))
        .count();
    eprintln!(
        "loaded district {} ({}): {} departments, {} people into {} and {}",
        cfg.district.code,
        cfg.district.name,
        cfg.departments.len(),
        cfg.people.len(),
        names.directory(),
        names.settings()
    );
    if demo > 0 {
        eprintln!(
            "warning: {demo} people have the demo directory's fake numbers (919000000xxx); replace them with real ones before going live"
        );
    }
    Ok(())
}

/// The store and the district configuration that `load-config` stored (time zone, department
/// and people's names).
async fn connect() -> anyhow::Result<(DynamoStore, DistrictConfig)> {
    let names = AwsNames::from_env();
    let store = DynamoStore::new(&AwsClients::from_env().await, &names);
    let text = store
        .district_config()
        .await
        .map_err(|e| anyhow::anyhow!("reading the district config from {}: {e}", names.settings()))?
        .with_context(|| {
            format!(
                "no district configuration in {}: run `shikayat-admin load-config <district.toml>` first",
                names.settings()
            )
        })?;
    let cfg = DistrictConfig::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("the stored district configuration is invalid: {e}"))?;
    Ok((store, cfg))
}
