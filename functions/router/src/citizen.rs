//! The citizen's side of the conversation (DESIGN §2).

use chrono::{Datelike, Duration};
use shikayat_core::catalogue::{Action, Line, Notice};
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::{Actor, Complaint, Status, TimelineEntry};
use shikayat_core::conversation::{
    classify_citizen_text, place_citizen_content, CitizenText, Draft, Pending, Placement,
};
use shikayat_core::inbound::{Body, InboundMessage};
use shikayat_core::lifecycle::{apply, Event};
use shikayat_core::rules::{decide, registered};
use shikayat_core::ComplaintId;
use shikayat_desk::DeskError;

use crate::intake::{detail, is_lost_media};
use crate::{transition, Ctx, RouterError};

pub(crate) async fn handle(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    let code = ctx.p.config.district.code.clone();
    match &ctx.m.body {
        Body::Interactive { id, .. } | Body::TemplateButton { payload: id, .. } => match Action::parse(id) {
            Some(Action::Satisfied(cid)) => feedback(ctx, &cid, true).await,
            Some(Action::Dissatisfied(cid)) => feedback(ctx, &cid, false).await,
            Some(Action::SameComplaint(cid)) => same_or_new(ctx, Some(cid)).await,
            Some(Action::NewComplaint) => same_or_new(ctx, None).await,
            Some(Action::View(cid)) => view_report(ctx, &cid).await,
            Some(_) => ctx.reply(Notice::NotAllowed, None, false).await,
            None => ctx.reply(Notice::Unsupported, None, false).await,
        },
        Body::Reaction { .. } => Ok(()),
        Body::System { kind, .. } => {
            tracing::info!(%kind, "system message");
            Ok(())
        }
        Body::Unsupported {
            error_code: Some(131052),
            ..
        } => ctx.reply(Notice::MediaTooLarge, None, false).await,
        Body::Unsupported { .. } | Body::Unknown { .. } => ctx.reply(Notice::Unsupported, None, false).await,
        Body::Text { text } => {
            if let Some(Pending::DissatisfactionReason { complaint }) = ctx.conv.pending.clone() {
                if reason(ctx, &complaint, text).await? {
                    return Ok(());
                }
            }
            match classify_citizen_text(text, &code) {
                CitizenText::Greeting => ctx.reply(Notice::Welcome, None, false).await,
                CitizenText::Status(id) => status(ctx, id).await,
                CitizenText::Content => content(ctx).await,
            }
        }
        Body::Media(_) | Body::Location { .. } | Body::Contacts { .. } => content(ctx).await,
    }
}

async fn status(ctx: &mut Ctx<'_>, id: Option<ComplaintId>) -> Result<(), RouterError> {
    let mine = ctx.p.complaints.by_complainant(&ctx.who).await?;
    let notice = match id {
        Some(id) => match mine.iter().find(|c| c.id == id) {
            Some(c) => Notice::Status {
                lines: vec![Line::of(c)],
            },
            // A citizen sees only their own complaints.
            None => Notice::NotYours { id },
        },
        None => Notice::Status {
            lines: mine.iter().take(5).map(Line::of).collect(),
        },
    };
    ctx.reply(notice, None, false).await
}

/// The citizen's latest complaints, newest first, read by id (strongly consistent): a burst of
/// photos must not become two complaints because an index had not caught up. A conversation
/// from before `recent` existed falls back to the index once.
async fn recent(ctx: &Ctx<'_>) -> Result<Vec<Complaint>, RouterError> {
    if ctx.conv.recent.is_empty() {
        return Ok(ctx.p.complaints.by_complainant(&ctx.who).await?);
    }
    let mut out = Vec::new();
    for id in &ctx.conv.recent {
        if let Some(c) = ctx.p.complaints.get(id).await? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Messages held while "same complaint or new?" waits for its answer, at most.
const MAX_HELD: usize = 20;

/// Complaint content: joins the open burst, asks about the open complaint, or registers.
async fn content(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    let mine = recent(ctx).await?;
    if let Some(done) = mine.iter().find(|c| c.has_wamid(&ctx.m.wamid)) {
        // Processed before a crash: send whatever that step still owes, decide nothing again.
        shikayat_desk::load(ctx.p, &done.id).await?;
        return Ok(());
    }
    // A draft whose complaint was never written (a crash between the two writes) is dropped.
    if let Some(d) = &ctx.conv.draft {
        if !mine.iter().any(|c| c.id == d.complaint) {
            ctx.conv.draft = None;
        }
    }
    let latest_open = mine.iter().find(|c| c.status.is_open()).map(|c| c.id.clone());
    match place_citizen_content(ctx.conv, latest_open.as_ref(), ctx.sent_at()) {
        Placement::JoinDraft(id) => join(ctx, &id, std::slice::from_ref(ctx.m), true).await,
        Placement::AskSameOrNew(id) => {
            if let Some(Pending::SameOrNew { complaint, held }) = &mut ctx.conv.pending {
                if *complaint == id {
                    if held.len() < MAX_HELD {
                        held.push(ctx.m.clone());
                        return Ok(());
                    }
                    // Past the cap the question is asked again rather than the record growing
                    // without bound (it is read and rewritten on every message).
                    let subject = mine
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| c.subject(80))
                        .unwrap_or_default();
                    return ctx
                        .reply(
                            Notice::SameOrNew {
                                id: id.clone(),
                                subject,
                            },
                            Some(&id),
                            false,
                        )
                        .await;
                }
            }
            ctx.conv.pending = Some(Pending::SameOrNew {
                complaint: id.clone(),
                held: vec![ctx.m.clone()],
            });
            let subject = mine
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.subject(80))
                .unwrap_or_default();
            ctx.reply(
                Notice::SameOrNew {
                    id: id.clone(),
                    subject,
                },
                Some(&id),
                false,
            )
            .await
        }
        Placement::Register => register(ctx, std::slice::from_ref(ctx.m)).await,
    }
}

fn settle(ctx: &Ctx<'_>) -> chrono::DateTime<chrono::Utc> {
    ctx.now + Duration::seconds(i64::from(ctx.p.settings.settle_seconds))
}

async fn register(ctx: &mut Ctx<'_>, messages: &[InboundMessage]) -> Result<(), RouterError> {
    let p = ctx.p;
    let year = ctx.now.with_timezone(&p.config.timezone()).year();
    let seq = p.complaints.next_sequence(&p.config.district.code, year).await?;
    let id = ComplaintId::new(&p.config.district.code, year, seq);
    let settles_at = settle(ctx);
    // The conversation learns the number before the complaint is written: a retry after a crash
    // in between finds it by id, never by an index that may lag (at worst a number is skipped).
    ctx.conv.remember(id.clone());
    ctx.conv.draft = Some(Draft {
        complaint: id.clone(),
        settles_at,
    });
    p.conversations.put(ctx.conv).await?;
    let mut c = Complaint::new(id.clone(), ctx.who.clone(), ctx.m.sender.name.clone(), ctx.now);
    let mut timeline = vec![TimelineEntry {
        at: ctx.now,
        actor: Actor::Complainant(ctx.who.clone()),
        event: "registered".into(),
        from: Status::Registered,
        to: Status::Registered,
        detail: format!("via WhatsApp {}", ctx.p.ids.wamid(&ctx.m.wamid)),
    }];
    for m in messages {
        match detail(p, &id, "inbound", m).await {
            Ok(Some(d)) => {
                let e = Event::AddDetail {
                    wamid: m.wamid.clone(),
                    detail: d,
                    settles_at: Some(settles_at),
                };
                timeline.push(apply(&mut c, e, Actor::Complainant(ctx.who.clone()), ctx.now)?);
            }
            Ok(None) => {}
            Err(e) if is_lost_media(&e) => ctx.reply(Notice::MediaTooLarge, None, false).await?,
            Err(e) => return Err(e),
        }
    }
    c.settles_at = Some(settles_at);
    // The ack and the settle check are written with the complaint (the outbox).
    let effects = registered(&c);
    shikayat_desk::create(p, c, &timeline, effects).await?;
    ctx.conv.draft = Some(Draft {
        complaint: id.clone(),
        settles_at,
    });
    Ok(())
}

/// Adds messages to an open complaint in one write; within a burst, pushes the settle time on
/// (the rules schedule the settle check), otherwise the citizen hears it was added.
async fn join(
    ctx: &mut Ctx<'_>,
    id: &ComplaintId,
    messages: &[InboundMessage],
    burst: bool,
) -> Result<(), RouterError> {
    let settles_at = burst.then(|| settle(ctx));
    let mut details = Vec::new();
    for m in messages {
        match detail(ctx.p, id, "inbound", m).await {
            Ok(Some(d)) => details.push((m.wamid.clone(), d)),
            Ok(None) => {}
            Err(e) if is_lost_media(&e) => ctx.reply(Notice::MediaTooLarge, Some(id), false).await?,
            Err(e) => return Err(e),
        }
    }
    let actor = Actor::Complainant(ctx.who.clone());
    loop {
        let mut c = shikayat_desk::load(ctx.p, id).await?;
        let mut entries = Vec::new();
        let mut effects = Vec::new();
        for (wamid, d) in &details {
            if c.has_wamid(wamid) {
                continue; // added before a crash
            }
            let event = Event::AddDetail {
                wamid: wamid.clone(),
                detail: d.clone(),
                settles_at,
            };
            match decide(&c, event, actor.clone(), ctx.now) {
                Ok(decision) => {
                    c = decision.complaint;
                    entries.push(decision.entry);
                    // One settle check (or one "added") for the whole batch: the last one's.
                    effects = decision.effects;
                }
                // Closed meanwhile: the citizen hears where it stands rather than silence.
                Err(_) => return status(ctx, Some(id.clone())).await,
            }
        }
        if entries.is_empty() {
            break;
        }
        match shikayat_desk::commit(ctx.p, c, &entries, effects).await {
            Ok(_) => break,
            Err(DeskError::Port(shikayat_core::ports::PortError::Conflict(_))) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(settles_at) = settles_at {
        ctx.conv.draft = Some(Draft {
            complaint: id.clone(),
            settles_at,
        });
    }
    Ok(())
}

/// The answer to "is this about your open complaint?".
async fn same_or_new(ctx: &mut Ctx<'_>, same: Option<ComplaintId>) -> Result<(), RouterError> {
    let Some(Pending::SameOrNew { complaint, held }) = ctx.conv.pending.clone() else {
        return Ok(()); // a second tap on an old question
    };
    ctx.conv.pending = None;
    match same {
        Some(id) if id == complaint => join(ctx, &id, &held, false).await,
        Some(_) => ctx.reply(Notice::NotAllowed, None, false).await,
        None => register(ctx, &held).await,
    }
}

async fn feedback(ctx: &mut Ctx<'_>, id: &ComplaintId, satisfied: bool) -> Result<(), RouterError> {
    let actor = Actor::Complainant(ctx.who.clone());
    let event = if satisfied {
        Event::Satisfied
    } else {
        Event::Dissatisfied { reason: None }
    };
    // An unanswered "why?" about an earlier round expires: this tap answers the new report.
    if matches!(&ctx.conv.pending, Some(Pending::DissatisfactionReason { .. })) {
        ctx.conv.pending = None;
    }
    let mut tries = 0;
    loop {
        match transition(ctx.p, id, actor.clone(), |_| event.clone()).await {
            Ok(_) => break,
            Err(e) if e.is_refusal() => {
                // The buttons reach the citizen a moment before the notifier records the
                // delivery: a tap in that moment is early, not wrong. Once more after a second,
                // then the event goes back on its queue and comes again.
                let still_sending = ctx
                    .p
                    .complaints
                    .get(id)
                    .await?
                    .is_some_and(|c| c.status == Status::Reported && c.complainant == ctx.who);
                if still_sending {
                    tries += 1;
                    if tries == 1 {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                    return Err(RouterError::Desk(DeskError::Port(
                        shikayat_core::ports::PortError::Transient(format!(
                            "feedback on {id} before its report's delivery was recorded"
                        )),
                    )));
                }
                // Not theirs, or already answered: tell them where it stands instead.
                return status(ctx, Some(id.clone())).await;
            }
            Err(e) => return Err(e),
        }
    }
    if satisfied {
        return Ok(());
    }
    ctx.conv.pending = Some(Pending::DissatisfactionReason {
        complaint: id.clone(),
    });
    Ok(())
}

/// *View report* on the report's template: the tap has opened the window, so the notifier can
/// now send the whole report, every piece of evidence, and the feedback buttons.
async fn view_report(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    let Some(c) = ctx.p.complaints.get(id).await? else {
        return ctx.reply(Notice::NotYours { id: id.clone() }, None, false).await;
    };
    if c.complainant != ctx.who {
        return ctx.reply(Notice::NotYours { id: id.clone() }, None, false).await;
    }
    if !c.report.as_ref().is_some_and(|r| r.announced()) {
        // Already shown in full (a second tap): where it stands, not the report again.
        return status(ctx, Some(id.clone())).await;
    }
    let key = format!("view:{}", ctx.p.ids.wamid(&ctx.m.wamid));
    let out = Outbound::notify(key, Command::DeliverReport { id: id.clone() });
    ctx.p.queue.send(&out).await?;
    Ok(())
}

/// The citizen's words after "why were you not satisfied?". False when the question has
/// expired (the complaint moved on): the text is then an ordinary message.
async fn reason(ctx: &mut Ctx<'_>, id: &ComplaintId, text: &str) -> Result<bool, RouterError> {
    ctx.conv.pending = None;
    let reason = text.trim().to_string();
    let actor = Actor::Complainant(ctx.who.clone());
    let event = Event::DissatisfactionReason { reason };
    match transition(ctx.p, id, actor, |_| event.clone()).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_refusal() => {
            tracing::info!(complaint = %id, "the question for a reason has expired");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
