//! The approved WhatsApp templates the desk sends, by name. Their wording, parameters and buttons
//! are data in `config/templates/*.json` (pushed to Meta by `shikayat-admin templates push`,
//! loaded by the simulator); the catalogue fills them, and a test here holds every rendered
//! template against its file.

/// One approved template. The body carries the fixed bilingual wording; the catalogue supplies
/// only the variable parts, in `{{n}}` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// To an officer: id, department, subject, due; quick replies accept / not mine.
    NewComplaint,
    /// To an officer: id, department, due.
    Reminder,
    /// To a supervisor and the control room: id, department, due, level.
    Overdue,
    /// To the control room and a supervisor: id, department, times reopened.
    Dissatisfied,
    /// To the officer and the control room: id, the complainant's words.
    ComplainantReason,
    /// To a supervisor: id, the history on one line.
    History,
    /// To the control room: id, why, subject; quick reply "view" (the list and media follow).
    Unassigned,
    /// To the control room: id, who (masked), error code.
    DeliveryFailed,
    /// To the control room and supervisors: date label, the digest on one line.
    Digest,
    /// To a citizen, a report with no evidence: id, department, report, feedback days; quick
    /// replies satisfied / unhappy.
    ReportToCitizen,
    /// To a citizen, a report with evidence, the first item in the header: id, department,
    /// report, evidence count; quick reply "view report" (everything else and the feedback
    /// buttons follow once the tap opens the window).
    ReportWithImage,
    ReportWithVideo,
    ReportWithDocument,
    /// As above when no evidence item can be a header (voice notes only): no header.
    ReportWithEvidence,
    /// To a citizen: id.
    ComplaintReopened,
    /// To a citizen: id, reason.
    ComplaintRejected,
    /// To a citizen: id, feedback days.
    ComplaintClosed,
}

impl Template {
    pub const ALL: [Template; 17] = [
        Template::NewComplaint,
        Template::Reminder,
        Template::Overdue,
        Template::Dissatisfied,
        Template::ComplainantReason,
        Template::History,
        Template::Unassigned,
        Template::DeliveryFailed,
        Template::Digest,
        Template::ReportToCitizen,
        Template::ReportWithImage,
        Template::ReportWithVideo,
        Template::ReportWithDocument,
        Template::ReportWithEvidence,
        Template::ComplaintReopened,
        Template::ComplaintRejected,
        Template::ComplaintClosed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Template::NewComplaint => "shikayat_new_complaint",
            Template::Reminder => "shikayat_reminder",
            Template::Overdue => "shikayat_overdue",
            Template::Dissatisfied => "shikayat_dissatisfied",
            Template::ComplainantReason => "shikayat_complainant_reason",
            Template::History => "shikayat_history",
            Template::Unassigned => "shikayat_unassigned",
            Template::DeliveryFailed => "shikayat_delivery_failed",
            Template::Digest => "shikayat_digest",
            Template::ReportToCitizen => "shikayat_report_to_citizen",
            Template::ReportWithImage => "shikayat_report_with_image",
            Template::ReportWithVideo => "shikayat_report_with_video",
            Template::ReportWithDocument => "shikayat_report_with_document",
            Template::ReportWithEvidence => "shikayat_report_with_evidence",
            Template::ComplaintReopened => "shikayat_complaint_reopened",
            Template::ComplaintRejected => "shikayat_complaint_rejected",
            Template::ComplaintClosed => "shikayat_complaint_closed",
        }
    }
}

#[cfg(test)]
pub(crate) mod definitions {
    //! `config/templates/*.json`, read the way Meta reads them, for the catalogue's tests.

    use serde_json::Value;

    pub struct Definition {
        pub name: String,
        pub body: String,
        pub header: Option<String>,
        pub quick_replies: usize,
    }

    impl Definition {
        /// How many `{{n}}` the body has.
        pub fn params(&self) -> usize {
            (1..)
                .take_while(|n| self.body.contains(&format!("{{{{{n}}}}}")))
                .count()
        }

        pub fn hydrate(&self, params: &[String]) -> String {
            let mut out = self.body.clone();
            for (i, p) in params.iter().enumerate() {
                out = out.replace(&format!("{{{{{}}}}}", i + 1), p);
            }
            out
        }
    }

    pub fn load() -> Vec<Definition> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("config/templates") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("template json");
            let comps = v["components"].as_array().cloned().unwrap_or_default();
            let of = |t: &str| comps.iter().find(|c| c["type"] == t).cloned();
            out.push(Definition {
                name: v["name"].as_str().expect("name").to_string(),
                body: of("BODY")
                    .and_then(|b| b["text"].as_str().map(String::from))
                    .expect("body"),
                header: of("HEADER").and_then(|h| h["format"].as_str().map(String::from)),
                quick_replies: of("BUTTONS")
                    .map(|b| {
                        b["buttons"]
                            .as_array()
                            .map(|a| a.iter().filter(|x| x["type"] == "QUICK_REPLY").count())
                            .unwrap_or(0)
                    })
                    .unwrap_or(0),
            });
        }
        out
    }

    /// The README's template section, written from the files: one entry per template with its
    /// category, header, body and buttons.
    fn readme_block() -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("config/templates")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
            .collect();
        files.sort();
        let mut out = String::from(
            "<!-- templates: written from config/templates by `UPDATE_README=1 cargo test -p shikayat-core templates` -->\n",
        );
        for path in files {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let comps = v["components"].as_array().cloned().unwrap_or_default();
            let mut head = format!(
                "`{}` ({}, {}",
                v["name"].as_str().unwrap_or(""),
                v["category"].as_str().unwrap_or(""),
                v["language"].as_str().unwrap_or("")
            );
            for c in &comps {
                if c["type"] == "HEADER" {
                    head.push_str(&format!("; header {}", c["format"].as_str().unwrap_or("")));
                }
                if c["type"] == "BUTTONS" {
                    let titles: Vec<String> = c["buttons"]
                        .as_array()
                        .map(|b| {
                            b.iter()
                                .map(|x| format!("`{}`", x["text"].as_str().unwrap_or("")))
                                .collect()
                        })
                        .unwrap_or_default();
                    head.push_str(&format!("; quick replies {}", titles.join(", ")));
                }
            }
            head.push_str("):\n\n```\n");
            out.push_str(&head);
            for c in &comps {
                if c["type"] == "BODY" || c["type"] == "FOOTER" {
                    out.push_str(c["text"].as_str().unwrap_or(""));
                    out.push('\n');
                }
            }
            out.push_str("```\n\n");
        }
        out.push_str("<!-- templates: end -->");
        out
    }

    #[test]
    fn the_readme_shows_the_templates_as_the_files_have_them() {
        let readme_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(&readme_path).expect("README.md");
        let start = readme
            .find("<!-- templates: written")
            .expect("the README's templates block");
        let end = readme.find("<!-- templates: end -->").expect("its end") + "<!-- templates: end -->".len();
        let want = readme_block();
        if std::env::var("UPDATE_README").is_ok() {
            let updated = format!("{}{}{}", &readme[..start], want, &readme[end..]);
            std::fs::write(&readme_path, updated).expect("write README.md");
            return;
        }
        assert!(readme[start..end] == want, "README.md's templates differ from config/templates: run UPDATE_README=1 cargo test -p shikayat-core templates");
    }

    #[test]
    fn every_template_the_desk_sends_has_its_definition() {
        let defs = load();
        for t in super::Template::ALL {
            assert!(
                defs.iter().any(|d| d.name == t.name()),
                "config/templates has no {}",
                t.name()
            );
        }
        assert_eq!(
            defs.len(),
            super::Template::ALL.len(),
            "a template file nobody sends"
        );
    }
}
