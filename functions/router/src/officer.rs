//! The officer's side: accept / not my department, and the report (आख्या) matched to its
//! complaint by reply context, complaint number, or by asking.

use chrono::Duration;
use shikayat_core::catalogue::{Action, Line, Notice};
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::{Actor, Status};
use shikayat_core::conversation::{is_pending_request, match_officer_message, Draft, Pending};
use shikayat_core::inbound::{Body, InboundMessage};
use shikayat_core::lifecycle::Event;
use shikayat_core::ComplaintId;

use crate::intake::{detail, is_lost_media, text_of};
use crate::{transition, Ctx, RouterError};

pub(crate) async fn handle(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    match &ctx.m.body {
        Body::Interactive { id, .. } | Body::TemplateButton { payload: id, .. } => match Action::parse(id) {
            Some(Action::Accept(cid)) => accept(ctx, &cid).await,
            Some(Action::NotMine(cid)) => decline(ctx, &cid).await,
            Some(Action::ReportOn(cid)) => {
                let held = match ctx.conv.pending.take() {
                    Some(Pending::WhichComplaint { held }) => held,
                    other => {
                        ctx.conv.pending = other;
                        Vec::new()
                    }
                };
                for m in &held {
                    report_part(ctx, &cid, m).await?;
                }
                Ok(())
            }
            _ => ctx.reply(Notice::NotAllowed, None, true).await,
        },
        Body::Reaction { .. } | Body::System { .. } => Ok(()),
        Body::Unsupported { .. } | Body::Unknown { .. } => ctx.reply(Notice::Unsupported, None, true).await,
        Body::Text { text } if is_pending_request(text) => {
            let open = ctx.p.complaints.open_by_officer(&ctx.who).await?;
            ctx.reply(
                Notice::Pending {
                    lines: open.iter().map(Line::of).collect(),
                },
                None,
                true,
            )
            .await
        }
        Body::Text { .. } | Body::Media(_) | Body::Location { .. } | Body::Contacts { .. } => {
            report(ctx).await
        }
    }
}

async fn accept(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    match transition(ctx.p, id, Actor::Officer(ctx.who.clone()), |_| Event::Accept).await {
        Ok(_) => {}
        Err(RouterError::Core(e)) => {
            tracing::info!(complaint = %id, error = %e, "accept refused");
            return ctx.reply(Notice::NotAllowed, Some(id), true).await;
        }
        Err(e) => return Err(e),
    }
    let cmd = Command::SendDetails { id: id.clone() };
    ctx.p
        .queue
        .send(&Outbound::relay(format!("details:{id}:{}", ctx.m.wamid), cmd))
        .await?;
    Ok(())
}

async fn decline(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    let (c, _) = match transition(ctx.p, id, Actor::Officer(ctx.who.clone()), |_| {
        Event::NotMyDepartment { reason: None }
    })
    .await
    {
        Ok(x) => x,
        Err(RouterError::Core(_)) => return ctx.reply(Notice::NotAllowed, Some(id), true).await,
        Err(e) => return Err(e),
    };
    let why = "अधिकारी: मेरा विभाग नहीं / officer: not my department".to_string();
    ctx.tell_control_room(
        id,
        Notice::Unassigned {
            id: id.clone(),
            subject: c.subject(200),
            why,
        },
    )
    .await?;
    ctx.reply(Notice::Declined { id: id.clone() }, Some(id), true)
        .await
}

/// A report message: find its complaint, or hold it and ask which.
async fn report(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    let replied = match &ctx.m.context_id {
        Some(ctx_id) => ctx.p.messages.outbound(ctx_id).await?.and_then(|r| r.complaint),
        None => None,
    };
    let code = ctx.p.config.district.code.clone();
    let in_text = text_of(ctx.m).and_then(|t| ComplaintId::find_in(t, &code));
    let target = match_officer_message(replied, in_text, ctx.conv.report_draft.as_ref(), ctx.now);
    match target {
        Some(id) => report_part(ctx, &id, &ctx.m.clone()).await,
        None => {
            let open = ctx.p.complaints.open_by_officer(&ctx.who).await?;
            if open.is_empty() {
                return ctx.reply(Notice::OfficerHelp, None, true).await;
            }
            match &mut ctx.conv.pending {
                Some(Pending::WhichComplaint { held }) => held.push(ctx.m.clone()),
                _ => {
                    ctx.conv.pending = Some(Pending::WhichComplaint {
                        held: vec![ctx.m.clone()],
                    })
                }
            }
            ctx.reply(
                Notice::WhichComplaint {
                    lines: open.iter().map(Line::of).collect(),
                },
                None,
                true,
            )
            .await
        }
    }
}

async fn report_part(ctx: &mut Ctx<'_>, id: &ComplaintId, m: &InboundMessage) -> Result<(), RouterError> {
    let Some(c) = ctx.p.complaints.get(id).await? else {
        return ctx.reply(Notice::NotAllowed, None, true).await;
    };
    if c.officer.as_ref() != Some(&ctx.who) || !matches!(c.status, Status::Forwarded | Status::Reported) {
        // Only the assigned officer reports, and only while a report is awaited.
        return ctx.reply(Notice::NotAllowed, Some(id), true).await;
    }
    if c.has_wamid(&m.wamid) {
        return Ok(());
    }
    let d = match detail(ctx.p, id, "report", m).await {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(()),
        Err(e) if is_lost_media(&e) => return ctx.reply(Notice::MediaTooLarge, Some(id), true).await,
        Err(e) => return Err(e),
    };
    let settles_at = ctx.now + Duration::seconds(i64::from(ctx.p.settings.settle_seconds));
    let first = c.status == Status::Forwarded;
    let event = Event::ReportPart {
        wamid: m.wamid.clone(),
        detail: d,
        settles_at,
    };
    transition(ctx.p, id, Actor::Officer(ctx.who.clone()), |_| event.clone()).await?;
    ctx.conv.report_draft = Some(Draft {
        complaint: id.clone(),
        settles_at,
    });
    if first {
        ctx.reply(Notice::ReportReceived { id: id.clone() }, Some(id), true)
            .await?;
    }
    let cmd = Outbound::relay(
        format!("settle-report:{id}:{}", m.wamid),
        Command::SettleReport {
            id: id.clone(),
            settles_at: Some(settles_at),
        },
    )
    .delayed(ctx.p.settings.settle_seconds);
    ctx.p.queue.send(&cmd).await?;
    Ok(())
}
