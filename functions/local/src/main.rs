//! `shikayat-local`: all five functions in one process on the embedded adapters.

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_env("SHIKAYAT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SHIKAYAT_LOG_FORMAT").is_ok_and(|f| f == "json");
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    } else {
        // Colours only for a terminal: a log file or a collector gets plain text.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_env_filter(filter)
            .init();
    }
    let settings = shikayat_local::LocalSettings::from_env()?;
    shikayat_local::run(settings).await
}
