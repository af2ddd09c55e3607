//! The control room's commands (only from control-room numbers) and supervisors' messages.

use shikayat_core::catalogue::{Action, Line, Notice};
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::Actor;
use shikayat_core::inbound::Body;
use shikayat_core::lifecycle::Event;
use shikayat_core::ports::PortError;
use shikayat_core::ComplaintId;

use crate::intake::text_of;
use crate::{transition, Ctx, RouterError};

pub(crate) async fn handle(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    if let Body::Interactive { id, .. } | Body::TemplateButton { payload: id, .. } = &ctx.m.body {
        return match Action::parse(id) {
            Some(Action::Assign(cid, dept)) => assign(ctx, &cid, &dept).await,
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
            let lines = ctx
                .p
                .complaints
                .unassigned()
                .await?
                .iter()
                .map(Line::of)
                .collect();
            ctx.reply(Notice::UnassignedList { lines }, None, true).await
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

async fn assign(ctx: &mut Ctx<'_>, id: &ComplaintId, department: &str) -> Result<(), RouterError> {
    let p = ctx.p;
    let Some(dep) = p.config.department(department) else {
        return ctx.reply(Notice::ControlRoomHelp, Some(id), true).await;
    };
    let Some(officer) = p.directory.officers_of(&dep.id).await?.into_iter().next() else {
        let why = format!("no officer for {}", dep.id);
        return ctx
            .reply(
                Notice::Unassigned {
                    id: id.clone(),
                    subject: String::new(),
                    why,
                },
                Some(id),
                true,
            )
            .await;
    };
    let sla = dep.sla()?;
    let due_at = ctx.now + chrono::Duration::from_std(sla).unwrap_or(chrono::Duration::days(7));
    let event = Event::Forward {
        department: dep.id.clone(),
        officer: officer.phone.clone(),
        due_at,
    };
    match transition(p, id, Actor::ControlRoom(ctx.who.clone()), |_| event.clone()).await {
        Ok(_) => {}
        Err(RouterError::Core(e)) => {
            tracing::info!(complaint = %id, error = %e, "assign refused");
            return ctx.reply(Notice::NotAllowed, Some(id), true).await;
        }
        Err(e) => return Err(e),
    }
    let fwd = Command::ForwardComplaint { id: id.clone() };
    p.queue
        .send(&Outbound::relay(format!("forward:{id}:{}", ctx.m.wamid), fwd))
        .await?;
    ctx.reply(
        Notice::Assigned {
            id: id.clone(),
            department: dep.id.clone(),
        },
        Some(id),
        true,
    )
    .await
}

async fn reject(ctx: &mut Ctx<'_>, id: &ComplaintId, reason: &str) -> Result<(), RouterError> {
    let event = Event::Reject {
        reason: reason.to_string(),
    };
    let (c, _) = match transition(ctx.p, id, Actor::ControlRoom(ctx.who.clone()), |_| event.clone()).await {
        Ok(x) => x,
        Err(RouterError::Core(_)) => return ctx.reply(Notice::NotAllowed, Some(id), true).await,
        Err(e) => return Err(e),
    };
    let notice = Notice::Rejected {
        id: id.clone(),
        reason: reason.to_string(),
    };
    ctx.tell(&c.complainant, Some(id), notice, false).await
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
        Ok(_) => {
            ctx.reply(Notice::NoteAdded { id: id.clone() }, Some(id), true)
                .await
        }
        Err(RouterError::Core(_)) | Err(RouterError::Port(PortError::NotFound(_))) => {
            ctx.reply(Notice::NotAllowed, Some(id), true).await
        }
        Err(e) => Err(e),
    }
}

async fn lookup(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    let Some(c) = ctx.p.complaints.get(id).await? else {
        return ctx.reply(Notice::NotAllowed, Some(id), true).await;
    };
    let timeline = ctx.p.complaints.timeline(id).await?;
    let text = shikayat_core::catalogue::lookup(&c, &timeline, &ctx.p.config);
    ctx.reply(Notice::Lookup { id: id.clone(), text }, Some(id), true)
        .await
}
