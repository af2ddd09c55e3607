//! Plain argument parsing: a command, positionals, `--name value` (or `--name=value`) options
//! and flags. Anything left over is an error, so a typo never passes silently.

use anyhow::{bail, Context};
use chrono::NaiveDate;

pub struct Args {
    rest: Vec<String>,
}

impl Args {
    pub fn new(argv: Vec<String>) -> Self {
        Self { rest: argv }
    }

    /// The first argument.
    pub fn command(&mut self) -> Option<String> {
        (!self.rest.is_empty()).then(|| self.rest.remove(0))
    }

    /// The first argument that is not an option.
    pub fn positional(&mut self, what: &str) -> anyhow::Result<String> {
        match self.rest.iter().position(|a| !a.starts_with("--")) {
            Some(i) => Ok(self.rest.remove(i)),
            None => bail!("missing {what}"),
        }
    }

    pub fn optional(&mut self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        let i = self
            .rest
            .iter()
            .position(|a| a == name || a.starts_with(&prefix))?;
        let arg = self.rest.remove(i);
        match arg.strip_prefix(&prefix) {
            Some(v) => Some(v.to_string()),
            None if i < self.rest.len() && !self.rest[i].starts_with("--") => Some(self.rest.remove(i)),
            None => Some(String::new()),
        }
    }

    pub fn required(&mut self, name: &str) -> anyhow::Result<String> {
        match self.optional(name) {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            _ => bail!("{name} <value> is required"),
        }
    }

    pub fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn date(&mut self, name: &str) -> anyhow::Result<NaiveDate> {
        let v = self.required(name)?;
        NaiveDate::parse_from_str(&v, "%Y-%m-%d")
            .with_context(|| format!("{name} {v:?}: expected YYYY-MM-DD"))
    }

    pub fn number(&mut self, name: &str, default: usize) -> anyhow::Result<usize> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("{name} {v:?}: expected a positive number")),
        }
    }

    /// Fails on anything not consumed.
    pub fn finish(self) -> anyhow::Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            bail!(
                "unexpected argument(s): {} (run shikayat-admin --help)",
                self.rest.join(" ")
            )
        }
    }
}
