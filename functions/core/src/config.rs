//! The district configuration: one TOML file (config/amethi.toml) that local mode reads directly
//! and an admin command loads into the settings and directory tables.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::ids::Phone;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistrictConfig {
    pub district: District,
    #[serde(rename = "department")]
    pub departments: Vec<Department>,
    #[serde(rename = "person", default)]
    pub people: Vec<Person>,
    #[serde(default)]
    pub templates: Templates,
    /// Reminders, escalation, the reopened deadline, auto-close and the digest. Optional: every
    /// field has a default (see `Escalation`).
    #[serde(default)]
    pub escalation: Escalation,
}

/// `[escalation]`: the deadline policy the escalator applies. Durations are humantime.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Escalation {
    /// Reminders to the officer, as offsets before `due_at` (`["2d", "4h"]`); each sent once.
    pub reminders: Vec<String>,
    /// After the first breach (level 1, the officer's `reports_to`), the next level up after
    /// each further period, up to the top of the chain.
    pub escalate_every: String,
    /// The deadline of a reopened complaint: a duration (`"3d"`) or a fraction of the
    /// department's SLA (`"50%"`); never longer than the department's SLA.
    pub reopened_sla: String,
    /// When the daily digest goes out, district time (`"21:00"`).
    pub digest_time: String,
    /// Overrides `district.feedback_days` with a humantime period (tests use seconds).
    pub feedback_period: Option<String>,
}

impl Default for Escalation {
    fn default() -> Self {
        Self {
            reminders: vec!["2d".into(), "4h".into()],
            escalate_every: "1d".into(),
            reopened_sla: "50%".into(),
            digest_time: "21:00".into(),
            feedback_period: None,
        }
    }
}

/// How a reopened complaint's deadline is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReopenedSla {
    Fixed(Duration),
    /// A fraction (0, 1] of the department's SLA.
    Fraction(f64),
}

impl ReopenedSla {
    /// The reopened deadline's length for a department with `sla`: never longer than `sla`.
    pub fn for_sla(self, sla: Duration) -> Duration {
        match self {
            ReopenedSla::Fixed(d) => d.min(sla),
            ReopenedSla::Fraction(f) => sla.mul_f64(f),
        }
    }
}

/// `[escalation]` parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub reminders: Vec<Duration>,
    pub escalate_every: Duration,
    pub reopened_sla: ReopenedSla,
    pub digest_time: chrono::NaiveTime,
    pub feedback_period: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct District {
    /// Upper-case code that starts every complaint number (`AMT`).
    pub code: String,
    pub name: String,
    pub name_hi: String,
    /// IANA zone name; deadlines and the digest are in district time.
    pub timezone: String,
    /// Days a complainant has to answer satisfied / not satisfied before the complaint closes.
    pub feedback_days: u32,
    /// The public WhatsApp number, shown in messages (digits).
    #[serde(default)]
    pub whatsapp_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub name_hi: String,
    /// Time allowed for the action-taken report, humantime (`7d`, `36h`, `30s`).
    pub sla: String,
    pub keywords: Vec<String>,
}

impl Department {
    pub fn sla(&self) -> Result<Duration, CoreError> {
        humantime::parse_duration(&self.sla)
            .map_err(|e| CoreError::Config(format!("department {}: sla {:?}: {e}", self.id, self.sla)))
    }

    /// `जल निगम / Water` — how a department is named to people.
    pub fn label(&self) -> String {
        format!("{} / {}", self.name_hi, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    ControlRoom,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::ControlRoom => "control_room",
            Role::Supervisor => "supervisor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub phone: Phone,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub departments: Vec<String>,
    /// The phone of the next person up the chain (escalations go there).
    #[serde(default)]
    pub reports_to: Option<Phone>,
    #[serde(default)]
    pub designation: Option<String>,
}

/// `[templates]`: the language of the approved templates (their names and wording are
/// `config/templates/*.json`, see `templates::Template`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Templates {
    pub language: String,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            language: "hi".into(),
        }
    }
}

impl DistrictConfig {
    pub fn from_toml(text: &str) -> Result<Self, CoreError> {
        let cfg: DistrictConfig =
            toml::from_str(text).map_err(|e| CoreError::Config(e.message().to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what TOML's types cannot: references, duplicates and durations.
    pub fn validate(&self) -> Result<(), CoreError> {
        let d = &self.district;
        if d.code.len() < 2 || !d.code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(CoreError::Config(format!(
                "district.code {:?} must be 2-5 upper-case letters",
                d.code
            )));
        }
        if d.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(CoreError::Config(format!(
                "district.timezone {:?} is not an IANA time zone",
                d.timezone
            )));
        }
        if self.departments.is_empty() {
            return Err(CoreError::Config("no [[department]]".into()));
        }
        let mut ids = HashSet::new();
        for dep in &self.departments {
            if !ids.insert(dep.id.as_str()) {
                return Err(CoreError::Config(format!("duplicate department id {:?}", dep.id)));
            }
            dep.sla()?;
        }
        let mut phones = HashSet::new();
        for p in &self.people {
            if p.phone.as_str().is_empty() {
                return Err(CoreError::Config(format!("person {:?} has no phone", p.name)));
            }
            if !phones.insert(p.phone.clone()) {
                return Err(CoreError::Config(format!(
                    "duplicate phone for person {:?}",
                    p.name
                )));
            }
            for dep in &p.departments {
                if !ids.contains(dep.as_str()) {
                    return Err(CoreError::Config(format!(
                        "person {:?} names unknown department {dep:?}",
                        p.name
                    )));
                }
            }
        }
        for p in &self.people {
            if let Some(up) = &p.reports_to {
                if !phones.contains(up) {
                    return Err(CoreError::Config(format!(
                        "person {:?} reports_to a phone that is not in the directory",
                        p.name
                    )));
                }
            }
        }
        if !self.people.iter().any(|p| p.role == Role::ControlRoom) {
            return Err(CoreError::Config("no person with role control_room".into()));
        }
        self.policy()?;
        if self.templates.language.trim().is_empty() {
            return Err(CoreError::Config("templates.language is empty".into()));
        }
        Ok(())
    }

    /// The escalation policy; `validate` has checked it, so callers may rely on `Ok`.
    pub fn policy(&self) -> Result<Policy, CoreError> {
        let e = &self.escalation;
        let dur = |name: &str, v: &str| {
            humantime::parse_duration(v)
                .map_err(|err| CoreError::Config(format!("escalation.{name} {v:?}: {err}")))
        };
        let reminders = e
            .reminders
            .iter()
            .map(|r| dur("reminders", r))
            .collect::<Result<Vec<_>, _>>()?;
        let escalate_every = dur("escalate_every", &e.escalate_every)?;
        if escalate_every.is_zero() {
            return Err(CoreError::Config(
                "escalation.escalate_every must be positive".into(),
            ));
        }
        let reopened_sla = match e.reopened_sla.trim().strip_suffix('%') {
            Some(pct) => match pct.trim().parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 100.0 => ReopenedSla::Fraction(p / 100.0),
                _ => {
                    return Err(CoreError::Config(format!(
                        "escalation.reopened_sla {:?}: a percentage must be in (0, 100]",
                        e.reopened_sla
                    )))
                }
            },
            None => ReopenedSla::Fixed(dur("reopened_sla", &e.reopened_sla)?),
        };
        let digest_time =
            chrono::NaiveTime::parse_from_str(e.digest_time.trim(), "%H:%M").map_err(|err| {
                CoreError::Config(format!(
                    "escalation.digest_time {:?}: {err} (HH:MM)",
                    e.digest_time
                ))
            })?;
        let feedback_period = match &e.feedback_period {
            Some(v) => dur("feedback_period", v)?,
            None => Duration::from_secs(u64::from(self.district.feedback_days) * 86_400),
        };
        Ok(Policy {
            reminders,
            escalate_every,
            reopened_sla,
            digest_time,
            feedback_period,
        })
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.district.timezone.parse().unwrap_or(chrono_tz::Asia::Kolkata)
    }

    pub fn person(&self, phone: &Phone) -> Option<&Person> {
        self.people.iter().find(|p| &p.phone == phone)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const SAMPLE: &str = r#"
[district]
code = "AMT"
name = "Amethi"
name_hi = "अमेठी"
timezone = "Asia/Kolkata"
feedback_days = 7

[[department]]
id = "water"
name = "Water Supply"
name_hi = "जल आपूर्ति"
sla = "3d"
keywords = ["पानी", "paani", "pani", "water", "hand pump", "हैंडपंप", "नल"]

[[department]]
id = "electricity"
name = "Electricity"
name_hi = "विद्युत"
sla = "36h"
keywords = ["बिजली", "bijli", "electricity", "transformer", "ट्रांसफार्मर", "light"]

[[department]]
id = "roads"
name = "Public Works"
name_hi = "लोक निर्माण"
sla = "7d"
keywords = ["सड़क", "sadak", "road", "गड्ढा", "pothole"]

[[person]]
phone = "919000000001"
name = "Jal Nigam AE"
role = "officer"
departments = ["water"]
reports_to = "919000000009"

[[person]]
phone = "919000000002"
name = "Vidyut SDO"
role = "officer"
departments = ["electricity"]
reports_to = "919000000009"

[[person]]
phone = "919000000003"
name = "PWD JE"
role = "officer"
departments = ["roads"]
reports_to = "919000000009"

[[person]]
phone = "919000000008"
name = "Control Room"
role = "control_room"

[[person]]
phone = "919000000009"
name = "SDM"
role = "supervisor"

[templates]
language = "hi"
"#;

    pub fn sample() -> DistrictConfig {
        DistrictConfig::from_toml(SAMPLE).expect("sample config")
    }

    #[test]
    fn sample_config_is_valid() {
        let cfg = sample();
        assert_eq!(cfg.departments.len(), 3);
        assert_eq!(
            cfg.department("electricity").map(|d| d.sla()),
            Some(Ok(Duration::from_secs(36 * 3600)))
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let bad = SAMPLE.replace("departments = [\"roads\"]", "departments = [\"sewer\"]");
        let err = DistrictConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown department \"sewer\""), "{err}");
        let bad = SAMPLE.replace("sla = \"3d\"", "sla = \"three days\"");
        assert!(DistrictConfig::from_toml(&bad).is_err());
        let bad = SAMPLE.replace("919000000002", "919000000001");
        let err = DistrictConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("duplicate phone"), "{err}");
        let bad = SAMPLE.replace("language = \"hi\"", "language = \" \"");
        let err = DistrictConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("templates.language"), "{err}");
        let bad = format!("{SAMPLE}\n[escalation]\nescalate_every = \"soon\"\n");
        let err = DistrictConfig::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains("escalation.escalate_every"), "{err}");
        let bad = format!("{SAMPLE}\n[escalation]\nreopened_sla = \"150%\"\n");
        assert!(DistrictConfig::from_toml(&bad).is_err());
        let bad = format!("{SAMPLE}\n[escalation]\ndigest_time = \"9pm\"\n");
        assert!(DistrictConfig::from_toml(&bad).is_err());
    }

    #[test]
    fn escalation_section_is_optional_and_parsed() {
        let p = sample().policy().expect("defaults");
        assert_eq!(
            p.reminders,
            [Duration::from_secs(2 * 86_400), Duration::from_secs(4 * 3600)]
        );
        assert_eq!(p.escalate_every, Duration::from_secs(86_400));
        assert_eq!(p.reopened_sla, ReopenedSla::Fraction(0.5));
        assert_eq!(p.feedback_period, Duration::from_secs(7 * 86_400));
        assert_eq!(p.digest_time.to_string(), "21:00:00");
        let text = format!(
            "{SAMPLE}\n[escalation]\nreminders = [\"10s\"]\nescalate_every = \"5s\"\nreopened_sla = \"3d\"\ndigest_time = \"20:30\"\nfeedback_period = \"30s\"\n"
        );
        let p = DistrictConfig::from_toml(&text)
            .expect("config")
            .policy()
            .expect("policy");
        assert_eq!(p.reminders, [Duration::from_secs(10)]);
        assert_eq!(p.escalate_every, Duration::from_secs(5));
        assert_eq!(p.feedback_period, Duration::from_secs(30));
        let day = Duration::from_secs(86_400);
        assert_eq!(p.reopened_sla.for_sla(7 * day), 3 * day);
        assert_eq!(
            p.reopened_sla.for_sla(2 * day),
            2 * day,
            "never longer than the SLA"
        );
        assert_eq!(ReopenedSla::Fraction(0.5).for_sla(2 * day), day);
    }
}
