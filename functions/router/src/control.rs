//! The control room's commands (only from control-room numbers) and supervisors' messages.

use shikayat_core::catalogue::{Action, Line, Notice};
use shikayat_core::command::{Command, Outbound};
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
            _ => ctx.reply(Notice::ControlRoomHelp, None, true).await,
        };
    }
    let text = text_of(ctx.m).unwrap_or_default().trim().to_string();
    let mut words = text.split_whitespace();
    let verb = words.next().unwrap_or_default().to_lowercase();
    let id = words.next().and_then(ComplaintId::parse);
    let rest: Vec<&str> = words.collect();
    match (verb.as_str(), id) {
        ("assign", Some(id)) if rest.len() == 1 => assign(ctx, &id, rest[0]).await,
        ("reject", Some(id)) if !rest.is_empty() => reject(ctx, &id, &rest.join(" ")).await,
        ("unassigned", _) => {
            let lines = ctx
                .p
                .complaints
                .unassigned()
                .await?
                .iter()
                .map(Line::of)
                .collect();
            ctx.reply(Notice::Pending { lines }, None, true).await
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
