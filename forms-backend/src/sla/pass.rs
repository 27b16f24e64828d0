//! The supervision pass (督办巡检, notice §二(四)2): reminders, then yellow cards for overdue orders, then the
//! red cards and interviews the units' sequences call for, with their notices — the rules are in `cards.rs`.
//! One instance at a time runs it, under a lease in the database.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tera::Context;

use super::cards::*;
use super::reminders::remind;
use crate::dispatch::Unit;
use crate::order::Event;
use crate::order::payload::Card;
use crate::store::cards::SupervisionEvent;
use crate::store::{Change, EventRow, OutgoingMail, RequestRow, Store};
use crate::workflow::{Forms, MailRequest, WorkflowError};

/// One card a pass issued.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCard {
    pub kind: CardKind,
    pub unit: String,
    pub tracking_number: String,
    pub event_id: i64,
    pub evidence: String,
    /// How many e-mails were queued.
    pub mails: usize,
}

/// What a pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// Orders reminded of their deadline in this pass.
    pub reminders: usize,
    /// Open orders past their deadline.
    pub overdue: usize,
    pub issued: Vec<IssuedCard>,
    /// Another instance was running a pass, so this one did nothing.
    pub held_elsewhere: bool,
    /// Results closed as 未评价 in this pass (the rating limit passed, `sla::lapses`).
    pub unrated_closed: usize,
}

pub(super) use crate::calendar::minute_label as shanghai;

/// Renders the 督办通知 (`email/supervision_notice.{txt,html}`) for each recipient.
#[allow(clippy::too_many_arguments)]
fn notices(
    forms: &Forms,
    recipients: &[String],
    order: &RequestRow,
    unit: &Unit,
    kind: CardKind,
    rule: &str,
    evidence: &str,
    orders: &[String],
) -> Result<Vec<OutgoingMail>, WorkflowError> {
    let mut context: Context = forms.page_context.clone();
    context.insert("request", &MailRequest::of(order));
    context.insert("unit", unit);
    context.insert("card", kind.code());
    context.insert("card_label", kind.label());
    context.insert("rule", rule);
    context.insert("evidence", evidence);
    context.insert("orders", orders);
    if let Some(due) = order.due_at {
        context.insert("due", &shanghai(due));
    }
    let subject = match kind {
        CardKind::YellowCard => format!(
            "【督办通知·黄牌】{}：{}未按期反馈办理结果",
            order.tracking_number,
            unit.display_name()
        ),
        CardKind::RedCard => format!(
            "【红牌警示】{}连续两次被亮黄牌，请专班约谈其分管负责人",
            unit.display_name()
        ),
        CardKind::Interview => format!(
            "【约谈】{}连续两次被红牌警示，请市政府领导约谈其主要负责人",
            unit.display_name()
        ),
    };
    render_mails(
        forms,
        "email/supervision_notice",
        &context,
        &subject,
        recipients,
    )
}

/// Renders `template`.txt and .html once and addresses a copy to each distinct, non-empty recipient.
pub(super) fn render_mails(
    forms: &Forms,
    template: &str,
    context: &Context,
    subject: &str,
    recipients: &[String],
) -> Result<Vec<OutgoingMail>, WorkflowError> {
    let render = |extension: &str| {
        let template = format!("{template}.{extension}");
        forms
            .templates
            .render(&template, context)
            .map_err(|error| WorkflowError::Template(format!("{template}：{error:?}")))
    };
    let text_body = render("txt")?;
    let html_body = render("html")?;
    let mut seen = BTreeSet::new();
    Ok(recipients
        .iter()
        .filter(|recipient| !recipient.trim().is_empty() && seen.insert(recipient.as_str()))
        .map(|recipient| OutgoingMail {
            recipient: recipient.clone(),
            subject: subject.to_owned(),
            text_body: text_body.clone(),
            html_body: html_body.clone(),
        })
        .collect())
}

/// Who receives the notice of a card: the handlers (yellow), the task force and the deputy head (red), the
/// head and the leader in charge (interview).
fn recipients(forms: &Forms, unit: &Unit, kind: CardKind) -> Vec<String> {
    match kind {
        CardKind::YellowCard => unit.handlers.clone(),
        CardKind::RedCard => forms
            .directory
            .task_force
            .emails
            .iter()
            .cloned()
            .chain(unit.deputy_head.clone())
            .collect(),
        CardKind::Interview => unit
            .head
            .iter()
            .cloned()
            .chain(
                unit.leader
                    .as_deref()
                    .and_then(|id| forms.directory.leader(id))
                    .map(|leader| leader.email.clone()),
            )
            .collect(),
    }
}

/// The change that records one card on `order` with its notices.
#[allow(clippy::too_many_arguments)]
fn card_change(
    forms: &Forms,
    order: &RequestRow,
    unit_id: &str,
    kind: CardKind,
    rule: &str,
    evidence: &str,
    card: Card,
    orders: &[String],
) -> Result<Change, WorkflowError> {
    let mails = match forms.directory.unit(unit_id) {
        Some(unit) => notices(
            forms,
            &recipients(forms, unit, kind),
            order,
            unit,
            kind,
            rule,
            evidence,
            orders,
        )?,
        None => {
            tracing::warn!(unit = unit_id, order = %order.tracking_number, "亮牌单位不在单位名录中，未发送通知");
            Vec::new()
        }
    };
    let card = Card {
        unit: unit_id.to_owned(),
        rule: rule.to_owned(),
        order: order.tracking_number.clone(),
        evidence: evidence.to_owned(),
        ..card
    };
    Ok(Change {
        mails,
        ..Change::new(ACTOR, Event::of_card(kind, card))
    })
}

/// How many changes go into one transaction: large enough that a pass over thousands of overdue orders
/// costs few commits, small enough that intake never waits long for the writer.
const BATCH: usize = 500;

/// Writes `changes` in batches and returns the event ids in order.
pub(super) async fn record_batched(
    store: &Store,
    changes: &[(i64, Change)],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, WorkflowError> {
    let mut ids = Vec::with_capacity(changes.len());
    for chunk in changes.chunks(BATCH) {
        ids.extend(store.record_many(chunk, now).await?);
    }
    Ok(ids)
}

/// The card event as the fold sees it, without reading it back from the database.
fn as_supervision_event(
    order: &RequestRow,
    event_id: i64,
    change: &Change,
    now: DateTime<Utc>,
) -> SupervisionEvent {
    SupervisionEvent {
        request_id: order.id,
        tracking_number: order.tracking_number.clone(),
        lead_unit: order.lead_unit.clone(),
        due_at: order.due_at,
        event: EventRow {
            id: event_id,
            at: now,
            actor: change.actor.clone(),
            event: change.event.clone(),
        },
    }
}

/// One supervision pass at `now`: reminders for orders due by the end of the next working day, yellow cards
/// for overdue orders, then the red cards and interviews the units' sequences call for (rules 1 to 5, R).
/// Idempotent.
pub async fn supervise(forms: &Forms, now: DateTime<Utc>) -> Result<PassReport, WorkflowError> {
    // One pass at a time in a process (the scheduler and a console-triggered pass must not both issue a card).
    static PASS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _pass = PASS.lock().await;
    let store: &Store = &forms.store;
    // One pass at a time among the instances on one database: the pass runs under a lease, which a holder
    // that dies mid-pass loses when it expires.
    if !store
        .try_lease(SUPERVISION_LEASE, now, now + PASS_LEASE)
        .await?
    {
        return Ok(PassReport {
            held_elsewhere: true,
            ..PassReport::default()
        });
    }
    let report = supervise_holding_lease(forms, now).await;
    let released = store.release_lease(SUPERVISION_LEASE).await;
    let report = report?;
    released?;
    Ok(report)
}

/// The lease of the supervision pass, and how long a pass may hold it before another instance may run one.
const SUPERVISION_LEASE: &str = "supervision";
const PASS_LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

async fn supervise_holding_lease(
    forms: &Forms,
    now: DateTime<Utc>,
) -> Result<PassReport, WorkflowError> {
    let store: &Store = &forms.store;
    // Reminders concern orders not yet due, cards orders past due: the reads run side by side.
    let (reminders, overdue, fresh) = tokio::try_join!(
        remind(forms, now),
        async { Ok::<_, WorkflowError>(store.overdue_count(now).await?) },
        async {
            Ok::<_, WorkflowError>(
                store
                    .overdue_without(CardKind::YellowCard.code(), now)
                    .await?,
            )
        },
    )?;
    let unrated_closed = super::lapses::lapse_ratings(forms, now).await?;
    let mut report = PassReport {
        unrated_closed,
        reminders,
        overdue: usize::try_from(overdue).unwrap_or_default(),
        ..PassReport::default()
    };
    let mut yellow = Vec::with_capacity(fresh.len());
    let mut carded = Vec::with_capacity(fresh.len());
    for order in fresh.iter().filter(|order| may_be_carded(order)) {
        let (Some(unit), Some(due)) = (order.lead_unit.as_deref(), order.due_at) else {
            continue;
        };
        let evidence = format!(
            "截至{}未反馈办理结果（办结期限{}）",
            shanghai(now),
            shanghai(due)
        );
        let change = card_change(
            forms,
            order,
            unit,
            CardKind::YellowCard,
            YELLOW_RULE,
            &evidence,
            Card {
                due_at: Some(due),
                status: Some(order.status),
                ..Card::default()
            },
            std::slice::from_ref(&order.tracking_number),
        )?;
        yellow.push((order.id, change));
        carded.push(order);
    }
    let ids = record_batched(store, &yellow, now).await?;
    let mut events = store.supervision_events().await?;
    for ((order, (_, change)), event_id) in carded.iter().zip(&yellow).zip(ids) {
        report.issued.push(IssuedCard {
            kind: CardKind::YellowCard,
            unit: order.lead_unit.clone().unwrap_or_default(),
            tracking_number: order.tracking_number.clone(),
            event_id,
            evidence: change
                .event
                .card()
                .map(|(_, card)| card.evidence.clone())
                .unwrap_or_default(),
            mails: change.mails.len(),
        });
    }

    let units: BTreeSet<String> = events
        .iter()
        .filter(|event| event.event.event.card().is_some())
        .filter_map(|event| card_unit(event).map(str::to_owned))
        .collect();
    // Each escalation consumes the cards it was issued for: a unit needs at most a red card and then an interview.
    // Escalations are decided for every unit, written in one batch, and decided again (bounded, to be safe).
    for _round in 0..3 {
        let mut round = Vec::new();
        for unit in &units {
            let Some((kind, cards)) = escalation_due(&unit_standing(&events, unit, now)) else {
                continue;
            };
            let Some(last) = cards.last() else { continue };
            let Some(order) = store.request_by_id(last.request_id).await? else {
                continue;
            };
            let (rule, what) = match kind {
                CardKind::RedCard => (RED_RULE, "黄牌"),
                _ => (INTERVIEW_RULE, "红牌警示"),
            };
            let orders: Vec<String> = cards
                .iter()
                .map(|card| card.tracking_number.clone())
                .collect();
            let evidence = format!(
                "连续{}次{what}，其间未按期反馈：{}",
                cards.len(),
                cards
                    .iter()
                    .map(|card| format!("{}（{}）", card.tracking_number, shanghai(card.at)))
                    .collect::<Vec<_>>()
                    .join("、")
            );
            let card_ids: Vec<i64> = cards.iter().map(|card| card.event_id).collect();
            let change = card_change(
                forms,
                &order,
                unit,
                kind,
                rule,
                &evidence,
                Card {
                    orders: orders.clone(),
                    cards: card_ids,
                    ..Card::default()
                },
                &orders,
            )?;
            round.push((order, unit.clone(), kind, evidence, change));
        }
        if round.is_empty() {
            break;
        }
        let changes: Vec<(i64, Change)> = round
            .iter()
            .map(|(order, _, _, _, change)| (order.id, change.clone()))
            .collect();
        let ids = record_batched(store, &changes, now).await?;
        for ((order, unit, kind, evidence, change), event_id) in round.into_iter().zip(ids) {
            events.push(as_supervision_event(&order, event_id, &change, now));
            report.issued.push(IssuedCard {
                kind,
                unit,
                tracking_number: order.tracking_number.clone(),
                event_id,
                evidence,
                mails: change.mails.len(),
            });
        }
    }
    Ok(report)
}
