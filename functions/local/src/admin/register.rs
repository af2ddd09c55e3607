//! `export-register`: one department's register for a date range as CSV, in the paper register's
//! columns. Read through the `by-department` index (department, created_at): one query per
//! export, paged, never a scan.

use std::io::Write;

use anyhow::{bail, Context};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use shikayat_adapters::aws::DynamoStore;
use shikayat_core::complaint::{Complaint, Feedback};
use shikayat_core::config::DistrictConfig;
use shikayat_core::ports::ComplaintStore;

pub const HEADER: [&str; 10] = [
    "number",
    "date",
    "complainant",
    "subject",
    "department",
    "officer",
    "due",
    "report date",
    "feedback",
    "status",
];

pub async fn export(
    store: &DynamoStore,
    cfg: &DistrictConfig,
    department: &str,
    from: NaiveDate,
    to: NaiveDate,
    out: Option<&str>,
    mask_phones: bool,
) -> anyhow::Result<()> {
    if cfg.department(department).is_none() {
        let known: Vec<&str> = cfg.departments.iter().map(|d| d.id.as_str()).collect();
        bail!(
            "unknown department {department:?}; the district's departments are: {}",
            known.join(", ")
        );
    }
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    // District days: [from 00:00, the day after `to` 00:00) in the district's time zone.
    let start = local_midnight(cfg, from)?;
    let end = local_midnight(
        cfg,
        to.checked_add_days(Days::new(1))
            .context("--to is out of range")?,
    )?;
    let complaints = store
        .by_department(department, start, end)
        .await
        .map_err(|e| anyhow::anyhow!("reading the {department} register: {e}"))?;
    let mut csv = String::from('\u{feff}');
    push_row(&mut csv, HEADER.iter().map(|h| h.to_string()));
    for c in &complaints {
        push_row(&mut csv, row(c, cfg, mask_phones));
    }
    match out {
        Some(path) => {
            std::fs::write(path, csv.as_bytes()).with_context(|| format!("writing {path}"))?;
            // Counts only: the rows hold personal data and never go to a log.
            eprintln!(
                "wrote {} complaints of {department} from {from} to {to} to {path}",
                complaints.len()
            );
        }
        None => {
            std::io::stdout()
                .write_all(csv.as_bytes())
                .context("writing to standard output")?;
        }
    }
    Ok(())
}

fn local_midnight(cfg: &DistrictConfig, day: NaiveDate) -> anyhow::Result<DateTime<Utc>> {
    let tz = cfg.timezone();
    let midnight = day.and_hms_opt(0, 0, 0).context("midnight")?;
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{day} 00:00 does not exist in {}", cfg.district.timezone))
}

/// District time, as a spreadsheet sorts and reads it.
fn when(cfg: &DistrictConfig, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| {
        t.with_timezone(&cfg.timezone())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

/// One complaint as the paper register's row.
///
/// The complainant column carries the name and the full number. The register is the office's
/// official record and its paper form has always held the complainant's name and mobile number:
/// it is what the office calls back on and checks disposal against, and whoever can run this
/// command can already read the complaints table. What must not happen is the file leaking
/// further, so it goes only where `--out` says (or to standard output), the rows never go to a
/// log, and `--mask-phones` makes a copy fit to share beyond the office (`91******5678`).
pub fn row(c: &Complaint, cfg: &DistrictConfig, mask_phones: bool) -> Vec<String> {
    let phone = if mask_phones {
        c.complainant.masked()
    } else {
        c.complainant.as_str().to_string()
    };
    let complainant = match c.complainant_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => format!("{name} ({phone})"),
        _ => phone,
    };
    let department = c
        .department
        .as_deref()
        .map(|d| {
            cfg.department(d)
                .map(|d| d.label())
                .unwrap_or_else(|| d.to_string())
        })
        .unwrap_or_default();
    // Officers' numbers are official (CUG) numbers, shown in full.
    let officer = c
        .officer
        .as_ref()
        .map(|o| match cfg.person(o) {
            Some(p) => format!("{} ({})", p.designation.as_deref().unwrap_or(&p.name), o.as_str()),
            None => o.as_str().to_string(),
        })
        .unwrap_or_default();
    let feedback = match &c.feedback {
        Some(Feedback::Satisfied { .. }) => "संतुष्ट / satisfied".to_string(),
        Some(Feedback::Dissatisfied { reason, .. }) => match reason {
            Some(r) if !r.trim().is_empty() => format!("असंतुष्ट / not satisfied: {}", r.trim()),
            _ => "असंतुष्ट / not satisfied".to_string(),
        },
        Some(Feedback::NoAnswer { .. }) => "उत्तर नहीं / no answer".to_string(),
        None => String::new(),
    };
    let (hi, en) = c.status.label();
    let mut status = format!("{hi} / {en}");
    if c.reopen_count > 0 {
        status.push_str(&format!(" (reopened {}×)", c.reopen_count));
    }
    vec![
        c.id.to_string(),
        when(cfg, Some(c.created_at)),
        text_cell(&complainant),
        text_cell(&c.subject(200)),
        department,
        text_cell(&officer),
        when(cfg, c.due_at),
        when(cfg, c.reported_at),
        text_cell(&feedback),
        status,
    ]
}

/// Text that came from a citizen: a spreadsheet would run a cell starting with `=`, `+`, `-` or
/// `@` as a formula, so such a cell starts with an apostrophe (OWASP's advice for CSV injection).
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF rows.
/// The file starts with a byte-order mark so that Excel reads the Hindi as UTF-8.
pub fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') || f.ends_with(' ') {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}
