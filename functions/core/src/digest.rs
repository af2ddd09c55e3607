//! The daily digest: per department — new today, pending (open), overdue (awaiting a report past
//! its deadline), reports received today, dissatisfied (reopened and still open), closed today —
//! and the five oldest overdue complaints. Pure: the escalator reads the department registers
//! (never a scan) and this counts them and writes the message, in district time.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::catalogue::clip;
use crate::complaint::{Complaint, Status};
use crate::config::DistrictConfig;
use crate::ids::ComplaintId;

/// How many overdue complaints the digest names.
pub const OLDEST: usize = 5;

/// The district day `now` falls in: its date and its start, as UTC.
pub fn district_day(cfg: &DistrictConfig, now: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
    let tz = cfg.timezone();
    let date = now.with_timezone(&tz).date_naive();
    let start = tz
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    (date, start)
}

/// The district date whose digest is due at `now` (its time has passed today), if any.
pub fn due(cfg: &DistrictConfig, digest_time: NaiveTime, now: DateTime<Utc>) -> Option<NaiveDate> {
    let local = now.with_timezone(&cfg.timezone());
    (local.time() >= digest_time).then(|| local.date_naive())
}

/// What the registers hold for one department today.
#[derive(Debug, Clone, Copy)]
pub struct DepartmentDay<'a> {
    pub department: &'a str,
    /// Created today (the department register from the day's start).
    pub new_today: &'a [Complaint],
    /// Open now.
    pub open: &'a [Complaint],
    /// Closed or rejected today.
    pub closed_today: &'a [Complaint],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub new: usize,
    pub pending: usize,
    pub overdue: usize,
    pub reports: usize,
    pub dissatisfied: usize,
    pub closed: usize,
}

impl Counts {
    fn is_empty(&self) -> bool {
        *self == Counts::default()
    }

    fn add(&mut self, o: &Counts) {
        self.new += o.new;
        self.pending += o.pending;
        self.overdue += o.overdue;
        self.reports += o.reports;
        self.dissatisfied += o.dissatisfied;
        self.closed += o.closed;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverdueLine {
    pub id: ComplaintId,
    pub department: String,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub date: NaiveDate,
    /// (department id, counts), in the order given.
    pub rows: Vec<(String, Counts)>,
    /// Oldest deadline first, at most `OLDEST`.
    pub oldest_overdue: Vec<OverdueLine>,
}

/// Awaiting the officer's report past its deadline.
fn is_overdue(c: &Complaint, now: DateTime<Utc>) -> bool {
    c.status == Status::Forwarded && c.due_at.is_some_and(|d| d < now)
}

pub fn build(
    date: NaiveDate,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    days: &[DepartmentDay<'_>],
) -> Digest {
    let today = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= start && t <= now);
    let mut rows = Vec::new();
    let mut overdue = Vec::new();
    for d in days {
        let open = || d.open.iter().filter(|c| c.status.is_open());
        let counts = Counts {
            new: d.new_today.iter().filter(|c| today(Some(c.created_at))).count(),
            pending: open().count(),
            overdue: open().filter(|c| is_overdue(c, now)).count(),
            reports: open()
                .chain(d.closed_today.iter())
                .filter(|c| today(c.reported_at))
                .count(),
            dissatisfied: open().filter(|c| c.reopen_count > 0).count(),
            closed: d
                .closed_today
                .iter()
                .filter(|c| c.status == Status::Closed && today(c.closed_at))
                .count(),
        };
        overdue.extend(open().filter(|c| is_overdue(c, now)).filter_map(|c| {
            Some(OverdueLine {
                id: c.id.clone(),
                department: d.department.to_string(),
                due_at: c.due_at?,
            })
        }));
        rows.push((d.department.to_string(), counts));
    }
    overdue.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    overdue.truncate(OLDEST);
    Digest {
        date,
        rows,
        oldest_overdue: overdue,
    }
}

impl Digest {
    /// The template's id parameter: `DIGEST-2026-11-28`.
    pub fn label(&self) -> String {
        format!("DIGEST-{}", self.date.format("%Y-%m-%d"))
    }

    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for (_, c) in &self.rows {
            t.add(c);
        }
        t
    }

    /// The message: one line per department with anything to count, the total, and the oldest
    /// overdue complaints. Hindi first; the counts carry both words.
    pub fn text(&self, cfg: &DistrictConfig) -> String {
        let line = |c: &Counts| {
            format!(
                "नए/new {} · लंबित/pending {} · समय-पार/overdue {} · आख्या/reports {} · असंतुष्ट/dissatisfied {} · बंद/closed {}",
                c.new, c.pending, c.overdue, c.reports, c.dissatisfied, c.closed
            )
        };
        let mut out = format!(
            "दैनिक सारांश / Daily digest — {} ({})\n",
            self.date.format("%d-%m-%Y"),
            cfg.district.name
        );
        let mut quiet = 0;
        for (dep, c) in &self.rows {
            if c.is_empty() {
                quiet += 1;
                continue;
            }
            let label = cfg
                .department(dep)
                .map(|d| d.label())
                .unwrap_or_else(|| dep.clone());
            out.push_str(&format!("• {label}: {}\n", line(c)));
        }
        if quiet > 0 {
            out.push_str(&format!(
                "({quiet} अन्य विभागों में कुछ नहीं / nothing in {quiet} other department(s))\n"
            ));
        }
        out.push_str(&format!("कुल / Total: {}\n", line(&self.total())));
        if self.oldest_overdue.is_empty() {
            out.push_str("कोई शिकायत समय-पार नहीं / Nothing overdue.");
        } else {
            out.push_str("सबसे पुरानी समय-पार / Oldest overdue:");
            let tz = cfg.timezone();
            for o in &self.oldest_overdue {
                let name = cfg
                    .department(&o.department)
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "\n• {} — {} — नियत/due {}",
                    o.id,
                    clip(&name, 40),
                    o.due_at.with_timezone(&tz).format("%d-%m-%Y %H:%M")
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample;
    use crate::ids::Phone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn c(n: u64, created: &str, status: Status) -> Complaint {
        let mut c = Complaint::new(
            ComplaintId::new("AMT", 2026, n),
            Phone::new("919800000001"),
            None,
            t(created),
        );
        c.status = status;
        c
    }

    #[test]
    fn the_district_day_and_when_the_digest_is_due() {
        let cfg = sample();
        // 21:10 IST on 28 Nov is 15:40 UTC; the day began at 18:30 UTC the day before.
        let now = t("2026-11-28T15:40:00Z");
        let (date, start) = district_day(&cfg, now);
        assert_eq!(date.to_string(), "2026-11-28");
        assert_eq!(start, t("2026-11-27T18:30:00Z"));
        let nine = NaiveTime::from_hms_opt(21, 0, 0).expect("time");
        assert_eq!(due(&cfg, nine, now), Some(date));
        assert_eq!(due(&cfg, nine, t("2026-11-28T15:29:00Z")), None, "20:59 IST");
        // 00:30 IST on the 29th belongs to the 29th, whose digest has not come yet.
        assert_eq!(due(&cfg, nine, t("2026-11-28T19:00:00Z")), None);
    }

    #[test]
    fn counts_per_department_and_the_oldest_overdue() {
        let cfg = sample();
        let now = t("2026-11-28T15:40:00Z");
        let (date, start) = district_day(&cfg, now);
        let mut a = c(1, "2026-11-28T04:00:00Z", Status::Forwarded); // new, overdue
        a.due_at = Some(t("2026-11-28T10:00:00Z"));
        let mut b = c(2, "2026-11-20T04:00:00Z", Status::Forwarded); // old, overdue, reopened
        b.due_at = Some(t("2026-11-25T10:00:00Z"));
        b.reopen_count = 1;
        let mut r = c(3, "2026-11-26T04:00:00Z", Status::ReportDelivered); // reported today
        r.due_at = Some(t("2026-11-27T10:00:00Z"));
        r.reported_at = Some(t("2026-11-28T06:00:00Z"));
        let mut f = c(4, "2026-11-28T05:00:00Z", Status::Forwarded); // new, not yet due
        f.due_at = Some(t("2026-12-01T10:00:00Z"));
        let mut closed = c(5, "2026-11-25T04:00:00Z", Status::Closed); // reported and closed today
        closed.reported_at = Some(t("2026-11-28T01:00:00Z"));
        closed.closed_at = Some(t("2026-11-28T09:00:00Z"));
        let mut rejected = c(6, "2026-11-28T03:00:00Z", Status::Rejected);
        rejected.closed_at = Some(t("2026-11-28T03:30:00Z"));
        let mut roads = c(7, "2026-11-10T04:00:00Z", Status::Forwarded);
        roads.due_at = Some(t("2026-11-12T10:00:00Z"));

        let water_new = [a.clone(), f.clone(), rejected.clone()];
        let water_open = [b.clone(), r.clone(), a.clone(), f.clone()];
        let water_closed = [closed.clone(), rejected.clone()];
        let roads_open = [roads.clone()];
        let days = [
            DepartmentDay {
                department: "water",
                new_today: &water_new,
                open: &water_open,
                closed_today: &water_closed,
            },
            DepartmentDay {
                department: "electricity",
                new_today: &[],
                open: &[],
                closed_today: &[],
            },
            DepartmentDay {
                department: "roads",
                new_today: &[],
                open: &roads_open,
                closed_today: &[],
            },
        ];
        let d = build(date, start, now, &days);
        assert_eq!(
            d.rows[0].1,
            Counts {
                new: 3,
                pending: 4,
                overdue: 2,
                reports: 2,
                dissatisfied: 1,
                closed: 1
            }
        );
        assert_eq!(d.rows[1].1, Counts::default());
        assert_eq!(d.total().overdue, 3);
        let oldest: Vec<String> = d.oldest_overdue.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(oldest, ["AMT-2026-000007", "AMT-2026-000002", "AMT-2026-000001"]);
        assert_eq!(d.label(), "DIGEST-2026-11-28");
        let text = d.text(&cfg);
        assert!(
            text.starts_with("दैनिक सारांश / Daily digest — 28-11-2026"),
            "{text}"
        );
        assert!(
            text.contains("जल आपूर्ति / Water Supply: नए/new 3 · लंबित/pending 4 · समय-पार/overdue 2 · आख्या/reports 2 · असंतुष्ट/dissatisfied 1 · बंद/closed 1"),
            "{text}"
        );
        assert!(
            !text.contains("Electricity"),
            "quiet departments are summed up: {text}"
        );
        assert!(text.contains("nothing in 1 other department(s)"), "{text}");
        assert!(
            text.contains("• AMT-2026-000007 — Public Works — नियत/due 12-11-2026 15:30"),
            "{text}"
        );
    }

    #[test]
    fn five_oldest_at_most() {
        let cfg = sample();
        let now = t("2026-11-28T15:40:00Z");
        let (date, start) = district_day(&cfg, now);
        let open: Vec<Complaint> = (1..=8)
            .map(|n| {
                let mut x = c(n, "2026-11-01T00:00:00Z", Status::Forwarded);
                x.due_at = Some(t("2026-11-20T00:00:00Z") - chrono::Duration::hours(n as i64));
                x
            })
            .collect();
        let days = [DepartmentDay {
            department: "water",
            new_today: &[],
            open: &open,
            closed_today: &[],
        }];
        let d = build(date, start, now, &days);
        let oldest: Vec<u64> = d
            .oldest_overdue
            .iter()
            .map(|o| o.id.as_str()[9..].parse().unwrap_or(0))
            .collect();
        assert_eq!(oldest, [8, 7, 6, 5, 4]);
        assert!(!d.text(&cfg).contains("Nothing overdue"));
    }
}
