//! Every message a person receives, Hindi first and then English, in one message. Button titles
//! fit WhatsApp's 20-character limit and carry ids such as `feedback:dissatisfied:AMT-2026-000123`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::complaint::{Complaint, MediaItem, MediaKind, Report, Status, TimelineEntry};
use crate::config::DistrictConfig;
use crate::ids::ComplaintId;
use crate::outbound::{
    buttons, buttons_under, param, text, ListRow, MediaSource, OutboundMessage, Outgoing, Rendered,
    TemplateMedia,
};
use crate::templates::Template;

pub const SATISFIED: &str = "संतुष्ट / Satisfied";
pub const UNHAPPY: &str = "असंतुष्ट / Unhappy";
pub const ACCEPT: &str = "स्वीकार / Accept";
pub const NOT_MINE: &str = "अन्य विभाग/Not mine";
pub const SAME: &str = "वही / Same one";
pub const NEW: &str = "नई / New one";

/// Button and list ids: what a tap means. Routed on these, never on titles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Satisfied(ComplaintId),
    Dissatisfied(ComplaintId),
    Accept(ComplaintId),
    NotMine(ComplaintId),
    SameComplaint(ComplaintId),
    NewComplaint,
    /// Officer picks which complaint their held message reports on.
    ReportOn(ComplaintId),
    /// Control room picks a department for a complaint.
    Assign(ComplaintId, String),
    /// Control room picks an unassigned complaint: answered with the department list for it.
    Pick(ComplaintId),
    /// A template's "view" quick reply: the tap opens the window, and what the template could
    /// only announce follows (a report's evidence, an unassigned complaint's media).
    View(ComplaintId),
}

impl Action {
    pub fn id(&self) -> String {
        match self {
            Action::Satisfied(c) => format!("feedback:satisfied:{c}"),
            Action::Dissatisfied(c) => format!("feedback:dissatisfied:{c}"),
            Action::Accept(c) => format!("officer:accept:{c}"),
            Action::NotMine(c) => format!("officer:decline:{c}"),
            Action::SameComplaint(c) => format!("burst:same:{c}"),
            Action::NewComplaint => "burst:new".into(),
            Action::ReportOn(c) => format!("report:{c}"),
            Action::Assign(c, d) => format!("assign:{c}:{d}"),
            Action::Pick(c) => format!("pick:{c}"),
            Action::View(c) => format!("view:{c}"),
        }
    }

    pub fn parse(id: &str) -> Option<Action> {
        let lower = id.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let cid = |s: &str| ComplaintId::parse(s);
        Some(match parts.as_slice() {
            ["feedback", "satisfied", c] => Action::Satisfied(cid(c)?),
            ["feedback", "dissatisfied", c] => Action::Dissatisfied(cid(c)?),
            ["officer", "accept", c] => Action::Accept(cid(c)?),
            ["officer", "decline", c] => Action::NotMine(cid(c)?),
            ["burst", "same", c] => Action::SameComplaint(cid(c)?),
            ["burst", "new"] => Action::NewComplaint,
            ["report", c] => Action::ReportOn(cid(c)?),
            ["assign", c, d] if !d.is_empty() => Action::Assign(cid(c)?, d.to_string()),
            ["pick", c] => Action::Pick(cid(c)?),
            ["view", c] => Action::View(cid(c)?),
            _ => return None,
        })
    }
}

/// One complaint in a status answer or a pending list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub id: ComplaintId,
    pub status: Status,
    pub subject: String,
    pub department: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

impl Line {
    pub fn of(c: &Complaint) -> Self {
        Self {
            id: c.id.clone(),
            status: c.status,
            subject: c.subject(60),
            department: c.department.clone(),
            due_at: c.due_at,
        }
    }
}

/// What a person is told, as data (it travels on the queues); `render` turns it into messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    // --- to citizens
    Welcome,
    Registered {
        id: ComplaintId,
    },
    Status {
        lines: Vec<Line>,
    },
    NotYours {
        id: ComplaintId,
    },
    SameOrNew {
        id: ComplaintId,
        subject: String,
    },
    Added {
        id: ComplaintId,
    },
    AskReason {
        id: ComplaintId,
    },
    ThanksSatisfied {
        id: ComplaintId,
    },
    ReasonNoted {
        id: ComplaintId,
    },
    Rejected {
        id: ComplaintId,
        reason: String,
    },
    ClosedNoFeedback {
        id: ComplaintId,
    },
    Unsupported,
    MediaTooLarge,
    // --- to officers
    ReportReceived {
        id: ComplaintId,
    },
    WhichComplaint {
        lines: Vec<Line>,
    },
    /// One page of the officer's open complaints (`page` from 1, `total` in all).
    Pending {
        lines: Vec<Line>,
        #[serde(default)]
        page: usize,
        #[serde(default)]
        total: usize,
    },
    OfficerHelp,
    /// The report is due soon (template `reminder` outside the window: id, due date).
    Reminder {
        id: ComplaintId,
        department: Option<String>,
        due_at: Option<DateTime<Utc>>,
    },
    /// The complaint's whole history, for a supervisor (a second "not satisfied").
    History {
        id: ComplaintId,
        summary: String,
    },
    /// The complainant said why they were not satisfied (to the officer and the control room).
    ComplainantReason {
        id: ComplaintId,
        reason: String,
    },
    // --- to the control room and supervisors
    Unassigned {
        id: ComplaintId,
        subject: String,
        why: String,
        /// The complaint's photos, video and voice notes, so a complaint of media alone can be
        /// assigned from WhatsApp.
        #[serde(default)]
        media: Vec<MediaItem>,
    },
    Dissatisfied {
        id: ComplaintId,
        department: Option<String>,
        reopen_count: u32,
    },
    DeliveryFailed {
        id: ComplaintId,
        who: String,
        code: i64,
    },
    Assigned {
        id: ComplaintId,
        department: String,
    },
    /// To the officer who said "not my department".
    Declined {
        id: ComplaintId,
    },
    Overdue {
        id: ComplaintId,
        department: Option<String>,
        due_at: Option<DateTime<Utc>>,
        level: u32,
    },
    /// The daily digest (`digest::Digest::text`); outside the window the `escalation` template
    /// with `label` (`DIGEST-2026-11-28`) as its id parameter and the text clipped.
    Digest {
        label: String,
        text: String,
    },
    /// A complaint looked up by the control room (`lookup`), as `lookup_text` wrote it.
    Lookup {
        id: ComplaintId,
        text: String,
    },
    /// A control-room note added to a complaint's timeline.
    NoteAdded {
        id: ComplaintId,
    },
    /// To the control-room number that rejected a complaint: it is done and the citizen is told.
    RejectDone {
        id: ComplaintId,
    },
    /// A command named a complaint number that does not exist (a typo): answered, not retried.
    NoSuchComplaint {
        id: ComplaintId,
    },
    /// Pick a complaint from the unassigned register (each row opens the department list).
    UnassignedList {
        lines: Vec<Line>,
        #[serde(default)]
        page: usize,
        #[serde(default)]
        total: usize,
    },
    /// The department list for one complaint (rows assign it).
    PickDepartment {
        id: ComplaintId,
    },
    ControlRoomHelp,
    NotAllowed,
}

fn date(cfg: &DistrictConfig, t: &Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => t
            .with_timezone(&cfg.timezone())
            .format("%d-%m-%Y %H:%M %Z")
            .to_string(),
        None => "-".into(),
    }
}

fn dept(cfg: &DistrictConfig, id: &Option<String>) -> String {
    match id.as_deref().and_then(|d| cfg.department(d)) {
        Some(d) => d.label(),
        None => "अनिर्दिष्ट / unassigned".into(),
    }
}

fn lines_text(cfg: &DistrictConfig, lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| {
            let (hi, en) = l.status.label();
            format!(
                "• {} — {} / {} — {}\n  {} | नियत / due {}",
                l.id,
                hi,
                en,
                dept(cfg, &l.department),
                l.subject,
                date(cfg, &l.due_at)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn list_rows(lines: &[Line], action: fn(ComplaintId) -> String) -> Vec<ListRow> {
    lines
        .iter()
        .take(10)
        .map(|l| ListRow {
            id: action(l.id.clone()),
            title: l.id.to_string(),
            description: Some(l.subject.chars().take(72).collect()),
        })
        .collect()
}

/// Complaints per page of a `pending` or `unassigned` answer: a list message holds ten rows.
pub const PAGE: usize = 10;

/// " (11–20 / 37)", or nothing when everything fits on one page.
fn page_range(page: usize, shown: usize, total: usize) -> String {
    let page = page.max(1);
    if total <= shown && page == 1 {
        return String::new();
    }
    let from = (page - 1) * PAGE + 1;
    format!(" ({from}–{} / {total})", from + shown.saturating_sub(1))
}

/// The command for the next page, when there is one.
fn more_hint(verb: &str, page: usize, shown: usize, total: usize) -> String {
    let page = page.max(1);
    if (page - 1) * PAGE + shown >= total {
        return String::new();
    }
    format!("\nआगे के लिए लिखें / for more, send: {verb} {}", page + 1)
}

/// One page of a list: the page's lines and how many there are in all.
pub fn page_of(lines: Vec<Line>, page: usize) -> (Vec<Line>, usize) {
    let total = lines.len();
    let start = (page.max(1) - 1) * PAGE;
    (lines.into_iter().skip(start).take(PAGE).collect(), total)
}

/// An approved template (`config/templates`) with its parameters, each already made one line
/// by `param`.
fn template(
    cfg: &DistrictConfig,
    t: Template,
    params: Vec<String>,
    quick_replies: Vec<String>,
) -> OutboundMessage {
    OutboundMessage::Template {
        name: t.name().into(),
        language: cfg.templates.language.clone(),
        params,
        quick_replies,
        header: None,
    }
}

/// Parameter lengths: every template's body stays far inside Meta's 1,024 characters once these
/// are filled in (the catalogue's tests check each one against its file).
const ID: usize = 40;
const LABEL: usize = 60;
const LONG: usize = 600;

/// List rows assigning `id` to each department (a list holds at most ten rows).
fn department_rows(cfg: &DistrictConfig, id: &ComplaintId) -> Vec<ListRow> {
    cfg.departments
        .iter()
        .take(10)
        .map(|dep| ListRow {
            id: Action::Assign(id.clone(), dep.id.clone()).id(),
            title: clip(&dep.name, 24),
            description: Some(clip(&dep.name_hi, 72)),
        })
        .collect()
}

pub fn clip(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn only(o: Outgoing) -> Rendered {
    Rendered {
        free_form: vec![o],
        template: None,
    }
}

pub fn render(notice: &Notice, cfg: &DistrictConfig) -> Rendered {
    let d = &cfg.district;
    match notice {
        Notice::Welcome => only(text(format!(
            "नमस्ते! यह जिलाधिकारी {} का शिकायत नंबर है। अपनी शिकायत लिखकर भेजें — साथ में फ़ोटो, वीडियो, दस्तावेज़, वॉइस नोट या लोकेशन भी भेज सकते हैं। आपको तुरंत शिकायत संख्या मिलेगी। स्थिति जानने के लिए \"स्थिति\" लिखें।\n\nNamaste! This is the District Magistrate {}'s complaint number. Write your complaint — you may add photos, videos, documents, a voice note or your location. You will get a complaint number at once. Send \"status\" to check on it.",
            d.name_hi, d.name
        ))),
        Notice::Registered { id } => only(text(format!(
            "आपकी शिकायत दर्ज हो गई है। शिकायत संख्या: {id}\nअगले कुछ मिनट में भेजी गई फ़ोटो/वीडियो इसी शिकायत में जुड़ जाएंगी। संबंधित अधिकारी की आख्या इसी नंबर पर भेजी जाएगी।\n\nYour complaint is registered. Complaint number: {id}\nPhotos or videos you send in the next few minutes join this complaint. The officer's action-taken report will be sent to you on this number."
        ))),
        Notice::Status { lines } if lines.is_empty() => only(text(
            "इस नंबर से कोई शिकायत दर्ज नहीं है। अपनी शिकायत लिखकर भेजें।\n\nNo complaint is registered from this number. Write your complaint to register one.",
        )),
        Notice::Status { lines } => only(text(format!(
            "आपकी शिकायतें / Your complaints:\n{}",
            lines_text(cfg, lines)
        ))),
        Notice::NotYours { id } => only(text(format!(
            "शिकायत {id} इस नंबर से दर्ज नहीं है, इसलिए इसकी जानकारी नहीं दी जा सकती।\n\nComplaint {id} was not registered from this number, so we cannot share it."
        ))),
        Notice::SameOrNew { id, subject } => only(buttons(
            format!(
                "क्या यह संदेश आपकी शिकायत {id} (\"{}\") के बारे में है, या नई शिकायत है?\n\nIs this message about your complaint {id} (\"{}\"), or a new complaint?",
                clip(subject, 80),
                clip(subject, 80)
            ),
            &[(crate::catalogue::Action::SameComplaint(id.clone()).id(), SAME), (Action::NewComplaint.id(), NEW)],
        )),
        Notice::Added { id } => only(text(format!(
            "आपका संदेश शिकायत {id} में जोड़ दिया गया है।\n\nYour message was added to complaint {id}."
        ))),
        Notice::AskReason { id } => Rendered {
            free_form: vec![text(format!(
                "खेद है कि आप संतुष्ट नहीं हैं। शिकायत {id} दोबारा खोल दी गई है और नियंत्रण कक्ष को सूचित कर दिया गया है। कृपया बताएं कि क्या कमी रह गई।\n\nWe are sorry you are not satisfied. Complaint {id} has been reopened and the control room has been told. Please tell us what is still wrong."
            ))],
            template: Some(template(cfg, Template::ComplaintReopened, vec![param(id.as_str(), ID)], vec![])),
        },
        Notice::ThanksSatisfied { id } => Rendered {
            free_form: vec![text(format!(
                "धन्यवाद! शिकायत {id} संतुष्टि के साथ बंद कर दी गई है।\n\nThank you! Complaint {id} is closed with your satisfaction."
            ))],
            template: None,
        },
        Notice::ReasonNoted { id } => only(text(format!(
            "आपकी बात शिकायत {id} में दर्ज कर ली गई है और अधिकारी व नियंत्रण कक्ष को भेज दी गई है।\n\nYour words are recorded on complaint {id} and sent to the officer and the control room."
        ))),
        Notice::Rejected { id, reason } => {
            let reason = clip(reason, 1500);
            let body = format!(
                "शिकायत {id} इस व्यवस्था के दायरे से बाहर होने के कारण बंद की गई। कारण: {reason}\n\nComplaint {id} was closed as outside the scope of this service. Reason: {reason}"
            );
            let params = vec![param(id.as_str(), ID), param(&reason, LONG)];
            Rendered { template: Some(template(cfg, Template::ComplaintRejected, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::ClosedNoFeedback { id } => {
            let body = format!(
                "शिकायत {id} पर आपकी प्रतिक्रिया {} दिनों में नहीं मिली, इसलिए इसे बंद कर दिया गया है। समस्या बनी हो तो नई शिकायत भेजें।\n\nWe did not hear back on complaint {id} within {} days, so it is closed. If the problem remains, send a new complaint.",
                d.feedback_days, d.feedback_days
            );
            let params = vec![param(id.as_str(), ID), d.feedback_days.to_string()];
            Rendered { template: Some(template(cfg, Template::ComplaintClosed, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::Unsupported => only(text(
            "क्षमा करें, इस प्रकार का संदेश हम नहीं पढ़ पाते। कृपया अपनी शिकायत लिखकर, या फ़ोटो, वीडियो, दस्तावेज़, वॉइस नोट या लोकेशन के रूप में भेजें।\n\nSorry, we cannot read this kind of message. Please send your complaint as text, or as a photo, video, document, voice note or location.",
        )),
        Notice::MediaTooLarge => only(text(
            "यह फ़ाइल बहुत बड़ी है या डाउनलोड नहीं हो सकी। कृपया छोटी फ़ाइल (100 MB से कम) दोबारा भेजें।\n\nThis file is too large or could not be downloaded. Please send a smaller file (under 100 MB) again.",
        )),
        Notice::ReportReceived { id } => only(text(format!(
            "शिकायत {id} पर आपकी आख्या प्राप्त हुई। कुछ मिनट में और फ़ोटो/वीडियो भेजें तो वे भी जुड़ जाएंगे; फिर आख्या शिकायतकर्ता को भेज दी जाएगी।\n\nYour report on complaint {id} is received. Photos or videos sent in the next few minutes are added too; then it goes to the complainant."
        ))),
        Notice::WhichComplaint { lines } => only(
            OutboundMessage::List {
                body: "यह संदेश किस शिकायत की आख्या है? सूची से चुनें, या शिकायत संख्या के साथ भेजें।\n\nWhich complaint is this report for? Pick it from the list, or send it again with the complaint number.".into(),
                button: "शिकायतें / List".into(),
                rows: list_rows(lines, |id| Action::ReportOn(id).id()),
            }
            .into(),
        ),
        Notice::Pending { lines, .. } if lines.is_empty() => only(text("आपके पास कोई लंबित शिकायत नहीं है।\n\nYou have no pending complaints.")),
        Notice::Pending { lines, page, total } => only(text(format!(
            "आपकी लंबित शिकायतें / Your pending complaints{}:\n{}{}",
            page_range(*page, lines.len(), *total),
            lines_text(cfg, lines),
            more_hint("pending", *page, lines.len(), *total)
        ))),
        Notice::OfficerHelp => only(text(
            "आख्या भेजने के लिए शिकायत के संदेश का जवाब (reply) दें, या शिकायत संख्या लिखें, फिर फ़ोटो/वीडियो भेजें। लंबित सूची के लिए \"pending\" या \"लंबित\" लिखें।\n\nTo report, reply to the complaint's message (or write its number), then send photos or videos. Send \"pending\" for your list.",
        )),
        Notice::Reminder { id, department, due_at } => {
            let body = format!(
                "अनुस्मारक: शिकायत {id} ({}) की आख्या {} तक देय है। कृपया समय से आख्या भेजें।\n\nReminder: the report on complaint {id} ({}) is due by {}. Please send it in time.",
                dept(cfg, department),
                date(cfg, due_at),
                dept(cfg, department),
                date(cfg, due_at)
            );
            Rendered {
                template: Some(template(
                    cfg,
                    Template::Reminder,
                    vec![param(id.as_str(), ID), param(&dept(cfg, department), LABEL), date(cfg, due_at)],
                    vec![],
                )),
                free_form: vec![text(body)],
            }
        }
        Notice::History { id, summary } => {
            let body = format!(
                "दूसरी बार असंतुष्ट, पूरा विवरण / Not satisfied a second time, the whole history:\n{}",
                clip(summary, 3800)
            );
            let params = vec![param(id.as_str(), ID), param(summary, 800)];
            Rendered { template: Some(template(cfg, Template::History, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::ComplainantReason { id, reason } => {
            let reason = clip(reason, 1500);
            let body = format!("शिकायत {id}: शिकायतकर्ता असंतुष्ट — \"{reason}\"\n\nComplaint {id}: the complainant is not satisfied — \"{reason}\"");
            let params = vec![param(id.as_str(), ID), param(&reason, LONG)];
            Rendered { template: Some(template(cfg, Template::ComplainantReason, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::Unassigned { id, subject, why, media } => {
            let subject = if subject.trim().is_empty() && !media.is_empty() {
                format!("(केवल मीडिया / media only: {})", media_summary(media))
            } else {
                subject.clone()
            };
            let body = format!(
                "शिकायत {id} किसी विभाग को नहीं भेजी जा सकी ({why})। विषय: \"{}\"\nसूची से विभाग चुनें, या लिखें: assign {id} <विभाग>\n\nComplaint {id} could not be routed ({why}). Subject: \"{}\"\nPick a department from the list, or write: assign {id} <department id>",
                clip(&subject, 200),
                clip(&subject, 200)
            );
            let rows = department_rows(cfg, id);
            let mut free_form: Vec<Outgoing> = media_of(id, media).collect();
            // The list last, so the operator picks the department with the photos in view.
            free_form.push(OutboundMessage::List { body: clip(&body, 4096), button: "विभाग / Department".into(), rows }.into());
            let params = vec![param(id.as_str(), ID), param(why, 200), param(&subject, 500)];
            Rendered {
                template: Some(template(cfg, Template::Unassigned, params, vec![Action::View(id.clone()).id()])),
                free_form,
            }
        }
        Notice::Dissatisfied { id, department, reopen_count } => {
            let body = format!(
                "शिकायतकर्ता आख्या से असंतुष्ट: शिकायत {id} ({}) दोबारा खोली गई (कुल {reopen_count} बार)।\n\nComplainant not satisfied with the report: complaint {id} ({}) reopened (times reopened: {reopen_count}).",
                dept(cfg, department),
                dept(cfg, department)
            );
            let params = vec![param(id.as_str(), ID), param(&dept(cfg, department), LABEL), reopen_count.to_string()];
            Rendered { template: Some(template(cfg, Template::Dissatisfied, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::DeliveryFailed { id, who, code } => {
            let body = format!(
                "शिकायत {id}: {who} को संदेश नहीं पहुंचा (त्रुटि {code})। कृपया फ़ोन से संपर्क करें।\n\nComplaint {id}: a message to {who} could not be delivered (error {code}). Please reach them by phone."
            );
            let params = vec![param(id.as_str(), ID), param(who, LABEL), code.to_string()];
            Rendered { template: Some(template(cfg, Template::DeliveryFailed, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::Assigned { id, department } => only(text(format!(
            "शिकायत {id} {} को भेजी गई।\n\nComplaint {id} sent to {}.",
            dept(cfg, &Some(department.clone())),
            dept(cfg, &Some(department.clone()))
        ))),
        Notice::Overdue { id, department, due_at, level } => {
            let body = format!(
                "समय-सीमा पार: शिकायत {id} ({}) की आख्या {} तक देय थी, अभी तक नहीं मिली (स्तर {level})।\n\nDeadline missed: the report on complaint {id} ({}) was due by {} and has not come (level {level}).",
                dept(cfg, department),
                date(cfg, due_at),
                dept(cfg, department),
                date(cfg, due_at)
            );
            let params = vec![
                param(id.as_str(), ID),
                param(&dept(cfg, department), LABEL),
                date(cfg, due_at),
                level.to_string(),
            ];
            Rendered { template: Some(template(cfg, Template::Overdue, params, vec![])), free_form: vec![text(body)] }
        }
        Notice::Declined { id } => only(text(format!(
            "शिकायत {id} नियंत्रण कक्ष को वापस भेज दी गई है; वे सही विभाग को भेजेंगे।\n\nComplaint {id} is back with the control room, who will send it to the right department."
        ))),
        Notice::ControlRoomHelp => only(text(
            "नियंत्रण कक्ष के आदेश:\n• AMT-2026-000123 (या lookup/status AMT-2026-000123) — स्थिति, विभाग, अधिकारी, समय-सीमा, इतिहास\n• assign AMT-2026-000123 water — विभाग को भेजें / दोबारा भेजें\n• reject AMT-2026-000123 <कारण> — दायरे से बाहर (शिकायतकर्ता को बताया जाएगा)\n• note AMT-2026-000123 <टिप्पणी> — टिप्पणी जोड़ें\n• unassigned — अनिर्दिष्ट शिकायतों की सूची\n\nControl room commands:\n• AMT-2026-000123 (or lookup/status AMT-2026-000123) — status, department, officer, due date, history\n• assign AMT-2026-000123 water — send (or re-send) to a department\n• reject AMT-2026-000123 <reason> — out of scope (the complainant is told)\n• note AMT-2026-000123 <text> — add a note to the timeline\n• unassigned — the unassigned complaints, as a list to pick from",
        )),
        Notice::Digest { label, text: body } => Rendered {
            free_form: vec![text(clip(body, 4096))],
            template: Some(template(cfg, Template::Digest, vec![param(label, ID), param(body, 800)], vec![])),
        },
        Notice::Lookup { text: body, .. } => only(text(clip(body, 4096))),
        Notice::NoteAdded { id } => only(text(format!(
            "टिप्पणी शिकायत {id} के इतिहास में जोड़ दी गई।\n\nThe note is added to complaint {id}'s timeline."
        ))),
        Notice::RejectDone { id } => only(text(format!(
            "शिकायत {id} अस्वीकृत की गई; शिकायतकर्ता को कारण भेज दिया गया।\n\nComplaint {id} is rejected; the complainant has been sent the reason."
        ))),
        Notice::NoSuchComplaint { id } => only(text(format!(
            "शिकायत संख्या {id} नहीं मिली। संख्या जाँचकर फिर भेजें।\n\nThere is no complaint {id}. Check the number and send it again."
        ))),
        Notice::UnassignedList { lines, .. } if lines.is_empty() => only(text(
            "कोई अनिर्दिष्ट शिकायत नहीं है।\n\nThere are no unassigned complaints.",
        )),
        Notice::UnassignedList { lines, page, total } => only(
            OutboundMessage::List {
                // The page and the way to the next come first, where clipping cannot reach.
                body: clip(
                    &format!(
                        "अनिर्दिष्ट शिकायतें / Unassigned complaints{} — चुनें, फिर विभाग चुनें / pick one, then its department.{}\n{}",
                        page_range(*page, lines.len(), *total),
                        more_hint("unassigned", *page, lines.len(), *total),
                        lines_text(cfg, lines)
                    ),
                    4096,
                ),
                button: "शिकायतें / List".into(),
                rows: list_rows(lines, |id| Action::Pick(id).id()),
            }
            .into(),
        ),
        Notice::PickDepartment { id } => only(
            OutboundMessage::List {
                body: format!("शिकायत {id} किस विभाग को भेजें?\n\nWhich department should complaint {id} go to?"),
                button: "विभाग / Department".into(),
                rows: department_rows(cfg, id),
            }
            .into(),
        ),
        Notice::NotAllowed => only(text(
            "यह कार्य आपके नंबर से अनुमत नहीं है।\n\nThis action is not allowed from your number.",
        )),
    }
}

/// A complaint as the control room looks it up: status, department, officer (masked), due date,
/// times reopened, escalation level, and the last few timeline entries (district time).
pub fn lookup(c: &Complaint, timeline: &[TimelineEntry], cfg: &DistrictConfig) -> String {
    let (hi, en) = c.status.label();
    let officer = c
        .officer
        .as_ref()
        .map(|p| p.masked())
        .unwrap_or_else(|| "-".into());
    let mut out = format!(
        "शिकायत / Complaint {}\nस्थिति / Status: {hi} / {en}\nविभाग / Department: {}\nअधिकारी / Officer: {officer}\nनियत / Due: {}\nपुनः खोली / Reopened: {}\nस्तर / Escalation level: {}\n\"{}\"\nहाल का इतिहास / Latest steps:",
        c.id,
        dept(cfg, &c.department),
        date(cfg, &c.due_at),
        c.reopen_count,
        c.escalation_level,
        c.subject(120),
    );
    const LAST: usize = 5;
    let tz = cfg.timezone();
    for e in &timeline[timeline.len().saturating_sub(LAST)..] {
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", clip(&e.detail, 80))
        };
        out.push_str(&format!(
            "\n• {} {} ({}){detail}",
            e.at.with_timezone(&tz).format("%d-%m %H:%M"),
            e.event,
            e.actor.describe_masked()
        ));
    }
    out
}

/// A complaint's whole history in one short message, for a supervisor (it must fit a template
/// parameter when they are outside the window): what it is, then one line per step (district
/// time), oldest first. The complainant's and officer's pieces (`add_detail`, `report_part`)
/// are counted, not listed; a long history keeps its first two and last ten steps.
pub fn history(c: &Complaint, timeline: &[TimelineEntry], cfg: &DistrictConfig) -> String {
    let mut out = format!(
        "{} — {}\n\"{}\"\n",
        c.id,
        dept(cfg, &c.department),
        clip(c.text.lines().next().unwrap_or(""), 120),
    );
    if let Some(r) = &c.report {
        out.push_str(&format!("आख्या / report: \"{}\"\n", clip(&r.text, 120)));
    }
    let pieces = |name: &str| timeline.iter().filter(|e| e.event == name).count();
    out.push_str(&format!(
        "({} message(s) from the complainant, {} report part(s))\n",
        pieces("add_detail") + 1,
        pieces("report_part")
    ));
    let lines: Vec<String> = timeline
        .iter()
        .filter(|e| !matches!(e.event.as_str(), "add_detail" | "report_part" | "registered"))
        .map(|e| {
            let who = match &e.actor {
                crate::complaint::Actor::Complainant(_) => "complainant",
                crate::complaint::Actor::Officer(_) => "officer",
                crate::complaint::Actor::ControlRoom(_) => "control room",
                crate::complaint::Actor::Supervisor(_) => "supervisor",
                crate::complaint::Actor::System => "",
            };
            let detail = if e.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", clip(&e.detail, 60))
            };
            let when = e.at.with_timezone(&cfg.timezone()).format("%d-%m %H:%M");
            let who = if who.is_empty() {
                String::new()
            } else {
                format!(" ({who})")
            };
            format!("• {when} {}{who}{detail}", e.event)
        })
        .collect();
    const KEEP: usize = 12;
    if lines.len() > KEEP {
        out.push_str(&lines[..2].join("\n"));
        out.push_str(&format!("\n… {} more …\n", lines.len() - KEEP));
        out.push_str(&lines[lines.len() - (KEEP - 2)..].join("\n"));
    } else {
        out.push_str(&lines.join("\n"));
    }
    out
}

/// A new (or reopened) complaint to its officer, with accept / not-mine buttons. Outside the
/// window, the `new_complaint` template with the same buttons as quick replies.
pub fn new_complaint(c: &Complaint, cfg: &DistrictConfig) -> Rendered {
    let label = dept(cfg, &c.department);
    let due = date(cfg, &c.due_at);
    let subject = clip(&c.text, 700);
    let new_label = if c.reopen_count > 0 {
        format!("{label} (दोबारा खोली गई / reopened)")
    } else {
        label.clone()
    };
    // A reopened complaint is not new to its officer: say what changed and ask again.
    let body = if c.reopen_count > 0 {
        format!(
            "⚠ दोबारा खोली गई शिकायत {} — {label} (शिकायतकर्ता आख्या से असंतुष्ट)\n{subject}\nनई अंतिम तिथि / New due date: {due}\n\nReopened complaint {}: the complainant is not satisfied with the report. Please act again and send a new report, or say it is not your department.",
            c.id, c.id
        )
    } else {
        format!(
            "नई शिकायत {} — {label}\n{subject}\nआख्या की अंतिम तिथि / Report due: {due}\n\nNew complaint {} — please accept, or say it is not your department.",
            c.id, c.id
        )
    };
    let ids = [
        Action::Accept(c.id.clone()).id(),
        Action::NotMine(c.id.clone()).id(),
    ];
    Rendered {
        free_form: vec![buttons(
            clip(&body, 1024),
            &[(ids[0].clone(), ACCEPT), (ids[1].clone(), NOT_MINE)],
        )],
        template: Some(template(
            cfg,
            Template::NewComplaint,
            vec![
                param(c.id.as_str(), ID),
                param(&new_label, LABEL + 30),
                param(&subject_or_media(c), LONG),
                due,
            ],
            ids.to_vec(),
        )),
    }
}

fn media_message(m: &MediaItem, caption: Option<String>) -> Outgoing {
    OutboundMessage::Media {
        kind: m.kind,
        media: MediaSource::Stored { key: m.key.clone() },
        mime_type: m.mime_type.clone(),
        caption: caption.map(|c| clip(&c, 1024)),
        filename: m.filename.clone(),
    }
    .into()
}

/// Everything the complainant sent, for an officer who has accepted (inside their window).
pub fn complaint_details(c: &Complaint, cfg: &DistrictConfig) -> Rendered {
    let mut body = format!(
        "शिकायत {} का पूरा विवरण / Full complaint {}\nविभाग / Department: {}\nनियत / Due: {}\n\n{}",
        c.id,
        c.id,
        dept(cfg, &c.department),
        date(cfg, &c.due_at),
        if c.text.is_empty() {
            "(केवल मीडिया / media only)"
        } else {
            &c.text
        }
    );
    if let Some(l) = &c.location {
        body.push_str(&format!(
            "\n📍 https://maps.google.com/?q={:.6},{:.6} {}",
            l.latitude,
            l.longitude,
            l.name.clone().or_else(|| l.address.clone()).unwrap_or_default()
        ));
    }
    body.push_str("\n\nआख्या भेजने के लिए इस संदेश का जवाब दें। / Reply to this message with your report.");
    let mut free_form = vec![text(clip(&body, 4096))];
    for (i, m) in c.media.iter().enumerate() {
        free_form.push(media_message(
            m,
            Some(format!("{} ({}/{})", c.id, i + 1, c.media.len())),
        ));
    }
    Rendered {
        free_form,
        template: None,
    }
}

/// The officer's report with every piece of evidence and the feedback buttons, in as few
/// messages as WhatsApp allows: the buttons carry the first photo, video or document as their
/// header and the report as their body; the rest of the evidence goes before them, and a report
/// too long for a buttons body (1,024 characters) goes as its own text first.
///
/// Outside the window the citizen can only get a template, and is never asked for feedback on
/// evidence they cannot see: a report with no evidence goes as `report_to_citizen` with the
/// feedback quick replies; a report with evidence goes with its first photo, video or document
/// in the template's header and one quick reply, *View report*. The tap opens the window, and
/// then this same message goes free-form: the text, every piece of evidence, the buttons.
pub fn report_to_citizen(c: &Complaint, cfg: &DistrictConfig) -> Rendered {
    let report = c.report.clone().unwrap_or_default();
    let label = dept(cfg, &c.department);
    let ids = [
        Action::Satisfied(c.id.clone()).id(),
        Action::Dissatisfied(c.id.clone()).id(),
    ];
    let heading = format!(
        "शिकायत {} पर {label} की आख्या / Action-taken report on complaint {} from {label}:\n\n{}",
        c.id, c.id, report.text
    );
    let question = format!(
        "क्या आप शिकायत {} पर हुई कार्रवाई से संतुष्ट हैं? {} दिन में उत्तर न मिलने पर शिकायत बंद हो जाएगी।\n\nAre you satisfied with the action taken on complaint {}? Without an answer in {} days it will be closed.",
        c.id, cfg.district.feedback_days, c.id, cfg.district.feedback_days
    );
    let header = report
        .media
        .iter()
        .position(|m| header_template(m.kind).is_some());
    let together = format!("{heading}\n\n{question}");
    let mut free_form = Vec::new();
    let body = if together.chars().count() <= 1024 {
        together
    } else {
        free_form.push(text(clip(&heading, 4096)));
        question
    };
    free_form.extend(
        evidence(c, &report, 0)
            .enumerate()
            .filter(|(i, _)| Some(*i) != header)
            .map(|(_, m)| m),
    );
    free_form.push(buttons_under(
        header.map(|i| header_media(&report.media[i])),
        body,
        &[(ids[0].clone(), SATISFIED), (ids[1].clone(), UNHAPPY)],
    ));
    let report_text = if report.text.trim().is_empty() {
        "(केवल साक्ष्य / evidence only)".to_string()
    } else {
        report.text.clone()
    };
    let template = if report.media.is_empty() {
        template(
            cfg,
            Template::ReportToCitizen,
            vec![
                param(c.id.as_str(), ID),
                param(&label, LABEL),
                param(&report_text, LONG),
                cfg.district.feedback_days.to_string(),
            ],
            ids.to_vec(),
        )
    } else {
        let header = report.media.iter().find(|m| header_template(m.kind).is_some());
        let kind = header
            .and_then(|m| header_template(m.kind))
            .unwrap_or(Template::ReportWithEvidence);
        let mut t = template(
            cfg,
            kind,
            vec![
                param(c.id.as_str(), ID),
                param(&label, LABEL),
                param(&report_text, LONG),
                media_summary(&report.media),
            ],
            vec![Action::View(c.id.clone()).id()],
        );
        if let (OutboundMessage::Template { header: h, .. }, Some(m)) = (&mut t, header) {
            *h = Some(header_media(m));
        }
        t
    };
    Rendered {
        free_form,
        template: Some(template),
    }
}

/// A stored piece of evidence as a header (of the report's template or of its buttons).
fn header_media(m: &MediaItem) -> TemplateMedia {
    TemplateMedia {
        kind: m.kind,
        media: MediaSource::Stored { key: m.key.clone() },
        mime_type: m.mime_type.clone(),
        filename: m.filename.clone(),
    }
}

/// The report template whose header can carry this kind of media (a voice note cannot).
fn header_template(kind: MediaKind) -> Option<Template> {
    match kind {
        MediaKind::Image => Some(Template::ReportWithImage),
        MediaKind::Video => Some(Template::ReportWithVideo),
        MediaKind::Document => Some(Template::ReportWithDocument),
        _ => None,
    }
}

/// "2 फ़ोटो / photo(s), 1 वीडियो / video": what a list of media holds, on one line.
pub fn media_summary(media: &[MediaItem]) -> String {
    let count = |k: MediaKind| media.iter().filter(|m| m.kind == k).count();
    let parts: Vec<String> = [
        (MediaKind::Image, "फ़ोटो / photo(s)"),
        (MediaKind::Video, "वीडियो / video(s)"),
        (MediaKind::Audio, "ऑडियो / voice note(s)"),
        (MediaKind::Document, "दस्तावेज़ / document(s)"),
    ]
    .iter()
    .filter(|(k, _)| count(*k) > 0)
    .map(|(k, label)| format!("{} {label}", count(*k)))
    .collect();
    if parts.is_empty() {
        format!("{} मीडिया / media", media.len())
    } else {
        parts.join(", ")
    }
}

/// A complaint's first line, or what media it has when it has no text.
fn subject_or_media(c: &Complaint) -> String {
    if c.text.trim().is_empty() && !c.media.is_empty() {
        format!("(केवल मीडिया / media only: {})", media_summary(&c.media))
    } else {
        c.subject(LONG)
    }
}

/// A complaint's own media, numbered, for the control room.
fn media_of<'a>(id: &'a ComplaintId, media: &'a [MediaItem]) -> impl Iterator<Item = Outgoing> + 'a {
    media
        .iter()
        .enumerate()
        .map(move |(i, m)| media_message(m, Some(format!("{id} ({}/{})", i + 1, media.len()))))
}

/// The report's evidence from item `skip` on, each numbered against the whole report.
fn evidence<'a>(c: &'a Complaint, report: &'a Report, skip: usize) -> impl Iterator<Item = Outgoing> + 'a {
    report.media.iter().enumerate().skip(skip).map(move |(i, m)| {
        media_message(
            m,
            Some(format!(
                "साक्ष्य / Evidence {}/{} — {}",
                i + 1,
                report.media.len(),
                c.id
            )),
        )
    })
}

/// What reached the report after it was delivered (or while it was being delivered): the new
/// text and evidence, without asking for feedback again. Outside the window, the report's
/// template carries it.
pub fn more_evidence(c: &Complaint, cfg: &DistrictConfig) -> Rendered {
    let report = c.report.clone().unwrap_or_default();
    let from = report.delivered.unwrap_or_default();
    let mut free_form = Vec::new();
    let new_text: String = report.text.chars().skip(from.text_chars).collect();
    if !new_text.trim().is_empty() {
        free_form.push(text(clip(
            &format!(
                "शिकायत {} की आख्या में और / More on the report for complaint {}:\n\n{}",
                c.id,
                c.id,
                new_text.trim()
            ),
            4096,
        )));
    }
    free_form.extend(evidence(c, &report, from.media));
    Rendered {
        free_form,
        template: report_to_citizen(c, cfg).template,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample;
    use crate::ids::Phone;

    fn every_notice() -> Vec<Notice> {
        let id = ComplaintId::new("AMT", 2026, 7);
        let line = Line {
            id: id.clone(),
            status: Status::Forwarded,
            subject: "पानी".into(),
            department: Some("water".into()),
            due_at: None,
        };
        vec![
            Notice::Welcome,
            Notice::Registered { id: id.clone() },
            Notice::Status { lines: vec![] },
            Notice::Status {
                lines: vec![line.clone()],
            },
            Notice::NotYours { id: id.clone() },
            Notice::SameOrNew {
                id: id.clone(),
                subject: "x".into(),
            },
            Notice::Added { id: id.clone() },
            Notice::AskReason { id: id.clone() },
            Notice::ThanksSatisfied { id: id.clone() },
            Notice::ReasonNoted { id: id.clone() },
            Notice::Rejected {
                id: id.clone(),
                reason: "न्यायालय में\n\nविचाराधीन\t(court)     case".repeat(40),
            },
            Notice::ClosedNoFeedback { id: id.clone() },
            Notice::Unsupported,
            Notice::MediaTooLarge,
            Notice::ReportReceived { id: id.clone() },
            Notice::WhichComplaint {
                lines: vec![line.clone()],
            },
            Notice::Pending {
                lines: vec![],
                page: 1,
                total: 0,
            },
            Notice::Pending {
                lines: vec![line.clone(); PAGE],
                page: 2,
                total: 40,
            },
            Notice::Pending {
                lines: vec![line],
                page: 1,
                total: 1,
            },
            Notice::OfficerHelp,
            Notice::Reminder {
                id: id.clone(),
                department: Some("water".into()),
                due_at: None,
            },
            Notice::History {
                id: id.clone(),
                summary: "x".repeat(5000),
            },
            Notice::ComplainantReason {
                id: id.clone(),
                reason: "नल\nअभी भी\r\nखराब\t\tहै     ".repeat(100),
            },
            Notice::Unassigned {
                id: id.clone(),
                subject: "s\n\nt".into(),
                why: "w".into(),
                media: vec![],
            },
            Notice::Unassigned {
                id: id.clone(),
                subject: String::new(),
                why: "no keyword matched".into(),
                media: vec![media_item(1, MediaKind::Image), media_item(2, MediaKind::Audio)],
            },
            Notice::Dissatisfied {
                id: id.clone(),
                department: None,
                reopen_count: 1,
            },
            Notice::DeliveryFailed {
                id: id.clone(),
                who: "91******5678".into(),
                code: 131026,
            },
            Notice::Assigned {
                id,
                department: "water".into(),
            },
            Notice::Overdue {
                id: ComplaintId::new("AMT", 2026, 8),
                department: None,
                due_at: None,
                level: 1,
            },
            Notice::Declined {
                id: ComplaintId::new("AMT", 2026, 9),
            },
            Notice::Digest {
                label: "DIGEST-2026-11-28".into(),
                text: "दैनिक सारांश / Daily digest".repeat(300),
            },
            Notice::Lookup {
                id: ComplaintId::new("AMT", 2026, 9),
                text: "शिकायत / Complaint".into(),
            },
            Notice::NoteAdded {
                id: ComplaintId::new("AMT", 2026, 9),
            },
            Notice::RejectDone {
                id: ComplaintId::new("AMT", 2026, 9),
            },
            Notice::NoSuchComplaint {
                id: ComplaintId::new("AMT", 2026, 999_999),
            },
            Notice::UnassignedList {
                lines: vec![],
                page: 1,
                total: 0,
            },
            Notice::UnassignedList {
                lines: vec![
                    Line {
                        id: ComplaintId::new("AMT", 2026, 9),
                        status: Status::Registered,
                        subject: "x".repeat(300),
                        department: None,
                        due_at: None,
                    };
                    PAGE
                ],
                page: 1,
                total: 1000,
            },
            Notice::PickDepartment {
                id: ComplaintId::new("AMT", 2026, 9),
            },
            Notice::ControlRoomHelp,
            Notice::NotAllowed,
        ]
    }

    fn media_item(n: usize, kind: MediaKind) -> MediaItem {
        MediaItem {
            wamid: format!("w{n}"),
            kind,
            mime_type: "image/jpeg".into(),
            sha256: String::new(),
            bytes: 1,
            key: format!("k{n}"),
            caption: None,
            filename: None,
            voice: false,
        }
    }

    /// Complaints with reports of every shape: none, text only, and each kind of evidence first.
    fn reported_complaints() -> Vec<Complaint> {
        let mut out = Vec::new();
        for media in [
            vec![],
            vec![media_item(1, MediaKind::Image), media_item(2, MediaKind::Video)],
            vec![media_item(1, MediaKind::Video)],
            vec![
                media_item(1, MediaKind::Audio),
                media_item(2, MediaKind::Document),
            ],
            vec![media_item(1, MediaKind::Audio)],
        ] {
            let mut c = Complaint::new(
                ComplaintId::new("AMT", 2026, 1),
                Phone::new("919812345678"),
                None,
                Utc::now(),
            );
            c.department = Some("water".into());
            c.text = "हैंडपंप\n\nखराब\t है".repeat(300);
            c.report = Some(crate::complaint::Report {
                text: "पाइप बदला\n\nनया     नल".repeat(300),
                media,
                ..Default::default()
            });
            out.push(c);
        }
        out
    }

    /// Every template the desk can send, as Meta checks it against its approved definition:
    /// known name, as many parameters as the body has, each one line and never empty (132018),
    /// the filled body within 1,024 characters, the quick replies the template has, and a media
    /// header exactly where the template has one.
    #[test]
    fn every_template_is_one_meta_accepts() {
        let cfg = sample();
        let defs = crate::templates::definitions::load();
        let mut rendered: Vec<Rendered> = every_notice().iter().map(|n| render(n, &cfg)).collect();
        for c in reported_complaints() {
            rendered.push(report_to_citizen(&c, &cfg));
            rendered.push(more_evidence(&c, &cfg));
            rendered.push(new_complaint(&c, &cfg));
        }
        let mut seen = std::collections::HashSet::new();
        for r in rendered {
            let Some(OutboundMessage::Template {
                name,
                params,
                quick_replies,
                header,
                ..
            }) = r.template
            else {
                continue;
            };
            let def = defs
                .iter()
                .find(|d| d.name == name)
                .unwrap_or_else(|| panic!("no template {name}"));
            assert_eq!(params.len(), def.params(), "{name}: parameter count");
            for p in &params {
                assert!(!p.trim().is_empty(), "{name}: empty parameter");
                assert!(
                    !p.contains(['\n', '\r', '\t']) && !p.contains("     "),
                    "{name}: {p:?}"
                );
            }
            let body = def.hydrate(&params);
            assert!(
                body.chars().count() <= 1024,
                "{name}: {} characters",
                body.chars().count()
            );
            assert_eq!(quick_replies.len(), def.quick_replies, "{name}: quick replies");
            assert!(quick_replies
                .iter()
                .all(|q| Action::parse(q).is_some() && q.len() <= 256));
            let media_header = matches!(def.header.as_deref(), Some("IMAGE" | "VIDEO" | "DOCUMENT"));
            assert_eq!(header.is_some(), media_header, "{name}: header");
            if let Some(h) = header {
                assert_eq!(
                    Some(h.kind.as_str().to_uppercase()),
                    def.header,
                    "{name}: header kind"
                );
            }
            seen.insert(name);
        }
        for t in crate::templates::Template::ALL {
            assert!(seen.contains(t.name()), "{} is never rendered here", t.name());
        }
    }

    #[test]
    fn parameters_are_one_line() {
        use crate::outbound::param;
        assert_eq!(param("a\n\nb\r\n c\t\td      e ", 100), "a · b · c d e");
        assert_eq!(param(" \n\t ", 10), "-");
        assert_eq!(param("", 10), "-");
        assert_eq!(param("शिकायत बहुत लंबी है", 6).chars().count(), 6);
    }

    fn check_limits(o: &OutboundMessage) {
        match o {
            OutboundMessage::Text { body } => assert!(body.chars().count() <= 4096),
            OutboundMessage::Buttons { body, buttons, .. } => {
                assert!(body.chars().count() <= 1024 && (1..=3).contains(&buttons.len()));
                for b in buttons {
                    assert!(b.title.chars().count() <= 20, "{}", b.title);
                    assert!(Action::parse(&b.id).is_some(), "{}", b.id);
                }
            }
            OutboundMessage::List { body, button, rows } => {
                assert!(body.chars().count() <= 4096, "a list body holds 4,096");
                assert!(button.chars().count() <= 20 && rows.len() <= 10);
                for r in rows {
                    assert!(r.title.chars().count() <= 24 && Action::parse(&r.id).is_some());
                    assert!(r.id.len() <= 200);
                }
            }
            OutboundMessage::Template { quick_replies, .. } => {
                assert!(quick_replies.iter().all(|q| Action::parse(q).is_some()))
            }
            OutboundMessage::Media { .. } => {}
        }
    }

    #[test]
    fn history_is_one_message_with_every_step() {
        use crate::complaint::{Actor, Complaint, TimelineEntry};
        let cfg = sample();
        let mut c = Complaint::new(
            ComplaintId::new("AMT", 2026, 7),
            Phone::new("919812345678"),
            None,
            chrono::Utc::now(),
        );
        c.text = "पानी नहीं आ रहा".into();
        c.department = Some("water".into());
        c.reopen_count = 2;
        let entry = |event: &str, actor: Actor| TimelineEntry {
            at: c.created_at,
            actor,
            event: event.into(),
            from: Status::Registered,
            to: Status::Forwarded,
            detail: "detail".into(),
        };
        let timeline: Vec<_> = (0..50)
            .map(|i| {
                entry(
                    &format!("step{i}"),
                    Actor::Complainant(Phone::new("919812345678")),
                )
            })
            .collect();
        let h = history(&c, &timeline[..3], &cfg);
        assert!(
            h.contains("AMT-2026-000007") && h.contains("पानी नहीं आ रहा"),
            "{h}"
        );
        assert!(h.contains("step0") && h.contains("step2"), "{h}");
        assert!(!h.contains("919812345678"), "numbers are masked: {h}");
        let h = history(&c, &timeline, &cfg);
        assert!(
            h.contains("step0") && h.contains("step49") && h.contains("38 more"),
            "{h}"
        );
        let r = render(
            &Notice::History {
                id: c.id.clone(),
                summary: h,
            },
            &cfg,
        );
        assert!(r.template.is_some());
    }

    #[test]
    fn every_message_is_bilingual_and_within_limits() {
        let cfg = sample();
        for n in every_notice() {
            let r = render(&n, &cfg);
            assert!(!r.free_form.is_empty(), "{n:?}");
            for o in r.free_form.iter().map(|o| &o.message).chain(r.template.iter()) {
                check_limits(o);
            }
            // The words of the notice (media may come before them, as for an unassigned complaint).
            let first = r
                .free_form
                .iter()
                .find_map(|o| match &o.message {
                    OutboundMessage::Text { body }
                    | OutboundMessage::Buttons { body, .. }
                    | OutboundMessage::List { body, .. } => Some(body.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no words in {n:?}"));
            let hindi = first.find(|c: char| ('\u{0900}'..='\u{097F}').contains(&c));
            let english = first.find(|c: char| c.is_ascii_alphabetic() && c != 'A' && c != 'M' && c != 'T');
            assert!(hindi.is_some() && english.is_some(), "not bilingual: {first}");
            assert!(
                hindi < english || first.starts_with("आप") || first.starts_with('•'),
                "Hindi first: {first}"
            );
        }
    }

    #[test]
    fn actions_round_trip() {
        let id = ComplaintId::new("AMT", 2026, 123);
        for a in [
            Action::Satisfied(id.clone()),
            Action::Dissatisfied(id.clone()),
            Action::Accept(id.clone()),
            Action::NotMine(id.clone()),
            Action::SameComplaint(id.clone()),
            Action::NewComplaint,
            Action::ReportOn(id.clone()),
            Action::Assign(id.clone(), "water".into()),
            Action::Pick(id.clone()),
            Action::View(id.clone()),
        ] {
            assert_eq!(Action::parse(&a.id()), Some(a));
        }
        assert_eq!(
            Action::parse("FEEDBACK:DISSATISFIED:AMT-2026-000123"),
            Some(Action::Dissatisfied(id))
        );
        assert_eq!(Action::parse("feedback:maybe:AMT-2026-000123"), None);
        assert_eq!(Action::parse("संतुष्ट"), None);
    }

    #[test]
    fn report_carries_every_piece_of_evidence() {
        let cfg = sample();
        let mut c = Complaint::new(
            ComplaintId::new("AMT", 2026, 1),
            Phone::new("919812345678"),
            None,
            Utc::now(),
        );
        c.department = Some("water".into());
        let item = |n: usize| media_item(n, MediaKind::Image);
        c.report = Some(crate::complaint::Report {
            text: "पाइप बदला".into(),
            media: vec![item(1), item(2)],
            ..Default::default()
        });
        let r = report_to_citizen(&c, &cfg);
        // Two messages for a report and two photos: the second photo, then the buttons with
        // the first photo above the report.
        assert_eq!(r.free_form.len(), 2, "{:?}", r.free_form);
        assert!(
            matches!(&r.free_form[0].message, OutboundMessage::Media { media: MediaSource::Stored { key }, .. } if key == "k2")
        );
        assert!(
            matches!(&r.free_form[1].message, OutboundMessage::Buttons { body, header: Some(TemplateMedia { media: MediaSource::Stored { key }, .. }), .. }
                if key == "k1" && body.contains("पाइप बदला") && body.contains("Are you satisfied"))
        );
        // A report too long for a buttons body goes as its own text first.
        c.report.as_mut().expect("report").text = "पाइप बदला। ".repeat(120);
        let long = report_to_citizen(&c, &cfg);
        assert_eq!(long.free_form.len(), 3);
        assert!(
            matches!(&long.free_form[0].message, OutboundMessage::Text { body } if body.contains("पाइप बदला"))
        );
        for o in &long.free_form {
            check_limits(&o.message);
        }
        c.report.as_mut().expect("report").text = "पाइप बदला".into();
        // Outside the window: the first photo in the header, and "view report" rather than the
        // feedback buttons, which come only with the evidence.
        assert!(
            matches!(r.template, Some(OutboundMessage::Template { ref quick_replies, ref header, .. })
                if quick_replies == &vec![Action::View(c.id.clone()).id()]
                    && matches!(header, Some(TemplateMedia { media: MediaSource::Stored { key }, .. }) if key == "k1"))
        );
        let n = new_complaint(&c, &cfg);
        assert!(
            matches!(n.template, Some(OutboundMessage::Template { ref params, .. }) if params.len() == 4)
        );
    }
}
