//! The officer's side: accept / not my department, and the report (आख्या) matched to its
//! complaint by reply context, complaint number, or by asking.

use chrono::Duration;
use shikayat_core::catalogue::{page_of, Action, Line, Notice};
use shikayat_core::complaint::{Actor, Status};
use shikayat_core::conversation::{match_officer_message, pending_request, Draft, Pending};
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
        Body::Text { text } if pending_request(text).is_some() => {
            let page = pending_request(text).unwrap_or(1);
            let open = ctx.p.complaints.open_by_officer(&ctx.who).await?;
            // One page on the queue and in the message: never past WhatsApp's 4,096 characters.
            let (lines, total) = page_of(open.iter().map(Line::of).collect(), page);
            ctx.reply(Notice::Pending { lines, page, total }, None, true)
                .await
        }
        Body::Text { .. } | Body::Media(_) | Body::Location { .. } | Body::Contacts { .. } => {
            report(ctx).await
        }
    }
}

/// The rules send the full details once accepted, and tell the control room of a decline.
async fn accept(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    match transition(ctx.p, id, Actor::Officer(ctx.who.clone()), |_| Event::Accept).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_refusal() => {
            tracing::info!(complaint = %id, error = %e, "accept refused");
            ctx.reply(Notice::NotAllowed, Some(id), true).await
        }
        Err(e) => Err(e),
    }
}

async fn decline(ctx: &mut Ctx<'_>, id: &ComplaintId) -> Result<(), RouterError> {
    let event = Event::NotMyDepartment { reason: None };
    match transition(ctx.p, id, Actor::Officer(ctx.who.clone()), |_| event.clone()).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_refusal() => ctx.reply(Notice::NotAllowed, Some(id), true).await,
        Err(e) => Err(e),
    }
}

/// A report message: find its complaint, or hold it and ask which.
async fn report(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    let replied = match &ctx.m.context_id {
        Some(ctx_id) => ctx.p.messages.outbound(ctx_id).await?.and_then(|r| r.complaint),
        None => None,
    };
    let code = ctx.p.config.district.code.clone();
    let in_text = text_of(ctx.m).and_then(|t| ComplaintId::find_in(t, &code));
    let target = match_officer_message(replied, in_text, ctx.conv.report_draft.as_ref(), ctx.sent_at());
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
    let c = match shikayat_desk::load(ctx.p, id).await {
        Ok(c) => c,
        Err(e) if e.is_refusal() => return ctx.reply(Notice::NotAllowed, None, true).await,
        Err(e) => return Err(e.into()),
    };
    if c.officer.as_ref() != Some(&ctx.who)
        || !matches!(
            c.status,
            Status::Forwarded | Status::Reported | Status::ReportDelivered
        )
    {
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
    // The rules acknowledge the first part and schedule the settle check.
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
    Ok(())
}
