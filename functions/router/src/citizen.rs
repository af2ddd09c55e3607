//! The citizen's side of the conversation (DESIGN §2).

use chrono::{Datelike, Duration};
use shikayat_core::catalogue::{history, Action, Line, Notice};
use shikayat_core::command::{Command, Outbound};
use shikayat_core::complaint::{Actor, Complaint, Status, TimelineEntry};
use shikayat_core::conversation::{
    classify_citizen_text, place_citizen_content, CitizenText, Draft, Pending, Placement,
};
use shikayat_core::inbound::{Body, InboundMessage};
use shikayat_core::lifecycle::{apply, Event};
use shikayat_core::ports::PortError;
use shikayat_core::ComplaintId;

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
                return reason(ctx, &complaint, text).await;
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

/// Complaint content: joins the open burst, asks about the open complaint, or registers.
async fn content(ctx: &mut Ctx<'_>) -> Result<(), RouterError> {
    let mine = ctx.p.complaints.by_complainant(&ctx.who).await?;
    if mine.iter().any(|c| c.has_wamid(&ctx.m.wamid)) {
        return Ok(()); // processed before a crash; its commands were sent then
    }
    let latest_open = mine.iter().find(|c| c.status.is_open()).map(|c| c.id.clone());
    match place_citizen_content(ctx.conv, latest_open.as_ref(), ctx.now) {
        Placement::JoinDraft(id) => join(ctx, &id, std::slice::from_ref(ctx.m), true).await,
        Placement::AskSameOrNew(id) => {
            if let Some(Pending::SameOrNew { complaint, held }) = &mut ctx.conv.pending {
                if *complaint == id {
                    held.push(ctx.m.clone());
                    return Ok(());
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

async fn schedule_settle(
    ctx: &Ctx<'_>,
    id: &ComplaintId,
    after: &str,
    settles_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), RouterError> {
    let cmd = Outbound::relay(
        format!("settle:{id}:{after}"),
        Command::SettleComplaint {
            id: id.clone(),
            settles_at: Some(settles_at),
        },
    )
    .delayed(ctx.p.settings.settle_seconds);
    ctx.p.queue.send(&cmd).await?;
    Ok(())
}

async fn register(ctx: &mut Ctx<'_>, messages: &[InboundMessage]) -> Result<(), RouterError> {
    let p = ctx.p;
    let year = ctx.now.with_timezone(&p.config.timezone()).year();
    let seq = p.complaints.next_sequence(&p.config.district.code, year).await?;
    let id = ComplaintId::new(&p.config.district.code, year, seq);
    let settles_at = settle(ctx);
    let mut c = Complaint::new(id.clone(), ctx.who.clone(), ctx.m.sender.name.clone(), ctx.now);
    let mut timeline = vec![TimelineEntry {
        at: ctx.now,
        actor: Actor::Complainant(ctx.who.clone()),
        event: "registered".into(),
        from: Status::Registered,
        to: Status::Registered,
        detail: format!("via WhatsApp {}", ctx.m.wamid),
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
    p.complaints.create(&mut c, &timeline).await?;
    tracing::info!(complaint = %id, "registered");
    ctx.conv.draft = Some(Draft {
        complaint: id.clone(),
        settles_at,
    });
    let ack = Command::Tell {
        to: ctx.who.clone(),
        complaint: Some(id.clone()),
        notice: Notice::Registered { id: id.clone() },
    };
    p.queue.send(&Outbound::notify(format!("ack:{id}"), ack)).await?;
    schedule_settle(ctx, &id, &ctx.m.wamid, settles_at).await
}

/// Adds messages to an open complaint; within a burst, pushes the settle time on.
async fn join(
    ctx: &mut Ctx<'_>,
    id: &ComplaintId,
    messages: &[InboundMessage],
    burst: bool,
) -> Result<(), RouterError> {
    let settles_at = burst.then(|| settle(ctx));
    for m in messages {
        let d = match detail(ctx.p, id, "inbound", m).await {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(e) if is_lost_media(&e) => {
                ctx.reply(Notice::MediaTooLarge, Some(id), false).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        if ctx
            .p
            .complaints
            .get(id)
            .await?
            .is_some_and(|c| c.has_wamid(&m.wamid))
        {
            continue; // added before a crash
        }
        let event = Event::AddDetail {
            wamid: m.wamid.clone(),
            detail: d,
            settles_at,
        };
        match transition(ctx.p, id, Actor::Complainant(ctx.who.clone()), |_| event.clone()).await {
            Ok(_) => {}
            // Closed meanwhile: the citizen hears where it stands rather than silence.
            Err(RouterError::Core(_)) => return status(ctx, Some(id.clone())).await,
            Err(e) => return Err(e),
        }
    }
    if let Some(settles_at) = settles_at {
        ctx.conv.draft = Some(Draft {
            complaint: id.clone(),
            settles_at,
        });
        schedule_settle(ctx, id, &ctx.m.wamid, settles_at).await?;
    } else {
        ctx.reply(Notice::Added { id: id.clone() }, Some(id), false)
            .await?;
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
    let (c, _) = match transition(ctx.p, id, actor, |_| event.clone()).await {
        Ok(x) => x,
        Err(RouterError::Core(_)) | Err(RouterError::Port(PortError::NotFound(_))) => {
            // Not theirs, or already answered: tell them where it stands instead.
            return status(ctx, Some(id.clone())).await;
        }
        Err(e) => return Err(e),
    };
    // These two lines feed the dashboard's metric filters (infra/template.yaml).
    if satisfied {
        tracing::info!(complaint = %id, "closed: satisfied");
        return ctx
            .reply(Notice::ThanksSatisfied { id: id.clone() }, Some(id), false)
            .await;
    }
    tracing::info!(complaint = %id, reopen_count = c.reopen_count, "dissatisfied: reopened");
    ctx.conv.pending = Some(Pending::DissatisfactionReason {
        complaint: id.clone(),
    });
    ctx.reply(Notice::AskReason { id: id.clone() }, Some(id), false)
        .await?;
    let told = Notice::Dissatisfied {
        id: id.clone(),
        department: c.department.clone(),
        reopen_count: c.reopen_count,
    };
    ctx.tell_control_room(id, told.clone()).await?;
    if let Some(officer) = &c.officer {
        if let Some(up) = ctx.p.directory.person(officer).await?.and_then(|o| o.reports_to) {
            ctx.tell(&up, Some(id), told, true).await?;
            // Not satisfied a second time: the supervisor gets the whole history to act on.
            if c.reopen_count >= 2 {
                let timeline = ctx.p.complaints.timeline(id).await?;
                let summary = history(&c, &timeline, &ctx.p.config);
                let notice = Notice::History {
                    id: id.clone(),
                    summary,
                };
                ctx.tell(&up, Some(id), notice, true).await?;
            }
        }
    }
    let fwd = Command::ForwardComplaint { id: id.clone() };
    ctx.p
        .queue
        .send(&Outbound::relay(
            format!("reforward:{id}:{}", c.reopen_count),
            fwd,
        ))
        .await?;
    Ok(())
}

async fn reason(ctx: &mut Ctx<'_>, id: &ComplaintId, text: &str) -> Result<(), RouterError> {
    ctx.conv.pending = None;
    let reason = text.trim().to_string();
    let actor = Actor::Complainant(ctx.who.clone());
    let (c, _) = transition(ctx.p, id, actor, |_| Event::DissatisfactionReason {
        reason: reason.clone(),
    })
    .await?;
    ctx.reply(Notice::ReasonNoted { id: id.clone() }, Some(id), false)
        .await?;
    let notice = Notice::ComplainantReason {
        id: id.clone(),
        reason,
    };
    ctx.tell_control_room(id, notice.clone()).await?;
    if let Some(officer) = &c.officer {
        ctx.tell(officer, Some(id), notice.clone(), true).await?;
        // The supervisor who was told of the reopening hears why, too.
        if let Some(up) = ctx.p.directory.person(officer).await?.and_then(|o| o.reports_to) {
            ctx.tell(&up, Some(id), notice, true).await?;
        }
    }
    Ok(())
}
