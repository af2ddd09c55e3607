//! The control room's commands (only from control-room numbers) and supervisors' messages.

use shikayat_core::catalogue::{page_of, Action, Line, Notice};
use shikayat_core::complaint::Actor;
use shikayat_core::inbound::Body;
use shikayat_core::lifecycle::Event;
use shikayat_core::ComplaintId;

use crate::intake::text_of;
use crate::{transition, Ctx, RouterError};

pub(crate) async fn handle(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    if let Body::Interactive { id, .. } | Body::TemplateButton { payload: id, .. } = &ctx.m.body {
        return match Action::parse(id) {
            Some(Action::Assign(cid, dept)) => assign(ctx, &cid, &dept).await,
            Some(Action::View(cid)) => view(ctx, &cid).await,
            Some(Action::Pick(cid)) => {
                ctx.reply(Notice::PickDepartment { id: cid.clone() }, Some(&cid), true)
                    .await
            }
            _ => ctx.reply(Notice::ControlRoomHelp, None, true).await,
        };
    }
    let text = text_of(ctx.m).unwrap_or_default().trim().to_string();
    let mut words = text.split_whitespace();
    let verb = words.next().unwrap_or_default().to_lowercase();
    let id = words.next().and_then(ComplaintId::parse);
    let rest: Vec<&str> = words.collect();
    // A bare complaint number looks it up.
    if let Some(id) = ComplaintId::parse(&verb) {
        if rest.is_empty() && text.split_whitespace().count() == 1 {
            return lookup(ctx, &id).await;
        }
    }
    match (verb.as_str(), id) {
        ("assign", Some(id)) if rest.len() == 1 => assign(ctx, &id, rest[0]).await,
        ("reject", Some(id)) if !rest.is_empty() => reject(ctx, &id, &rest.join(" ")).await,
        ("note", Some(id)) if !rest.is_empty() => note(ctx, &id, &note_text(&text)).await,
        ("status" | "lookup", Some(id)) if rest.is_empty() => lookup(ctx, &id).await,
        ("unassigned", _) => {
            let page = shikayat_core::conversation::split_page(&text.to_lowercase()).1;
            let all = ctx
                .p
                .complaints
                .unassigned()
                .await?
                .iter()
                .map(Line::of)
                .collect();
            // One page on the queue: a thousand unassigned complaints would pass SQS's 256 KB.
            let (lines, total) = page_of(all, page);
            ctx.reply(Notice::UnassignedList { lines, page, total }, None, true)
                .await
        }
        _ => ctx.reply(Notice::ControlRoomHelp, None, true).await,
    }
}

pub(crate) async fn supervisor(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    match &ctx.m.body {
        Body::Reaction { .. } | Body::System { .. } => Ok(()),
        _ => ctx.reply(Notice::ControlRoomHelp, None, true).await,
    }
}

/// The same choice of officer and deadline as the relay's routing (`desk::assignment`); the
/// rules forward it and confirm to the operator.
async fn assign(ctx: &mut Ctx<'_>, id: &ComplaintId, department: &str) -> Result<(), RouterError> {
    let p = ctx.p;
    let Some(dep) = p.config.department(department) else {
        return ctx.reply(Notice::ControlRoomHelp, Some(id), true).await;
    };
    let Some((officer, due_at)) = shikayat_desk::assignment(p, dep, None, false).await? else {
        let why = format!("no officer for {}", dep.id);
        let notice = Notice::Unassigned {
            id: id.clone(),
            subject: String::new(),
            why,
            media: Vec::new(),
        };
        return ctx.reply(notice, Some(id), true).await;
    };
    let event = Event::Forward {
        department: dep.id.clone(),
        officer,
        due_at,
    };
    match transition(p, id, Actor::ControlRoom(ctx.who.clone()), |_| event.clone()).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_refusal() && !is_unknown(&e) => {
            tracing::info!(complaint = %id, error = %e, "assign refused");
            ctx.reply(Notice::NotAllowed, Some(id), true).await
        }
        Err(e) => Err(e),
    }
}

/// A number that does not exist is answered as such by the router (`NoSuchComplaint`).
fn is_unknown(e: &RouterError) -> bool {
    matches!(e, RouterError::Desk(shikayat_desk::DeskError::NoSuchComplaint(_)))
}

async fn reject(ctx: &mut Ctx<'_>, id: &ComplaintId, reason: &str) -> Result<(), RouterError> {
    let event = Event::Reject {
        reason: reason.to_string(),
    };
    match transition(ctx.p, id, Actor::ControlRoom(ctx.who.clone()), |_| event.clone()).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_refusal() && !is_unknown(&e) => ctx.reply(Notice::NotAllowed, Some(id), true).await,
        Err(e) => Err(e),
    }
}

/// The note as written: everything after the verb and the number, line breaks kept.
fn note_text(text: &str) -> String {
    let mut rest = text.trim_start();
    for _ in 0..2 {
        rest = rest
            .find(char::is_whitespace)
            .map_or("", |i| &rest[i..])
            .trim_start();
    }
    rest.trim_end().to_string()
}

async fn note(ctx: &mut Ctx<'_>, id: &ComplaintId, text: &str) -> Result<(), RouterError> {
    let event = Event::Note {
        text: text.to_string(),
    };
    match transition(ctx.p, id, Actor::ControlRoom(ctx.who.clone()), |_| event.clone()).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_refusal() && !is_unknown(&e) => ctx.reply(Notice::NotAllowed, Some(id), true).await,
        Err(e) => Err(e),
    }
}

/// *View* on the unassigned template: the tap has opened the operator's window, so the complaint
/// follows with its photos, video and voice notes, and the department list.
async fn view(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    let Some(c) = ctx.p.complaints.get(id).await? else {
        return ctx
            .reply(Notice::NoSuchComplaint { id: id.clone() }, Some(id), true)
            .await;
    };
    let notice = Notice::Unassigned {
        id: id.clone(),
        subject: shikayat_core::rules::unassigned_subject(&c),
        why: "अनिर्दिष्ट / unassigned".into(),
        media: c.media.clone(),
    };
    ctx.reply(notice, Some(id), true).await
}

async fn lookup(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    let Some(c) = ctx.p.complaints.get(id).await? else {
        return ctx
            .reply(Notice::NoSuchComplaint { id: id.clone() }, Some(id), true)
            .await;
    };
    let timeline = ctx.p.complaints.timeline(id).await?;
    let text = shikayat_core::catalogue::lookup(&c, &timeline, &ctx.p.config);
    ctx.reply(Notice::Lookup { id: id.clone(), text }, Some(id), true)
        .await
}
