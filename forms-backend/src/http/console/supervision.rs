//! The console's view of the supervision cards (督办亮牌, notice §二(四)2): every unit's card at now with the
//! cards that count and its open and overdue orders (`/console/units`), the cards of one order with their rule
//! and evidence, and the waiver (免于亮牌) the centre records with a reason.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    ConsoleState, Staff, back_to_order, field, message_page, page_context, posted_on_order,
    units_by_kind,
};
use crate::dispatch::UnitKind;
use crate::http::tracking::shanghai;
use crate::http::{AppError, render_page, required_text};
use crate::order::Event;
use crate::sla::cards::{CardKind, CardRef, CardState, unit_standing, waive_card};
use crate::store::EventRow;
use crate::workflow::Forms;

/// Longest waiver reason, in characters.
const MAX_WAIVER_REASON: usize = 500;

/// A card state with its colour class and its words (never colour alone).
#[derive(Debug, Serialize)]
pub(super) struct StateView {
    code: CardState,
    label: &'static str,
    meaning: &'static str,
}

impl StateView {
    fn of(state: CardState) -> StateView {
        StateView {
            code: state,
            label: state.label(),
            meaning: match state {
                CardState::Green => "按时反馈",
                CardState::Yellow => "有逾期未反馈被亮黄牌",
                CardState::Red => "红牌警示，约谈负责人",
            },
        }
    }
}

/// A waiver as the order page shows it.
#[derive(Debug, Serialize)]
struct WaiverView {
    reason: String,
    by: String,
    at: String,
}

/// One card of an order: what, whom, when, why, and whether it was waived.
#[derive(Debug, Serialize)]
pub(super) struct CardView {
    event_id: i64,
    label: &'static str,
    code: &'static str,
    unit: String,
    at: String,
    rule: String,
    evidence: String,
    waived: Option<WaiverView>,
}

/// The cards issued on an order (its own events), oldest first, each with its waiver if any.
pub(super) fn order_cards(forms: &Forms, events: &[EventRow]) -> Vec<CardView> {
    events
        .iter()
        .filter_map(|event| {
            let (kind, card) = event.event.card()?;
            let waived = events
                .iter()
                .find_map(|waiver| match &waiver.event {
                    Event::CardWaived(waived) if waived.card_event_id == event.id => {
                        Some((waiver, waived))
                    }
                    _ => None,
                })
                .map(|(waiver, waived)| WaiverView {
                    reason: waived.reason.clone(),
                    by: super::actor_label(forms, &waiver.actor),
                    at: shanghai(waiver.at),
                });
            Some(CardView {
                event_id: event.id,
                label: kind.label(),
                code: kind.code(),
                unit: crate::http::tracking::unit_ref(forms, &card.unit).name,
                at: shanghai(event.at),
                rule: card.rule.clone(),
                evidence: card.evidence.clone(),
                waived,
            })
        })
        .collect()
}

/// 免于亮牌: the centre waives one card of this order with a reason.
pub(super) async fn waive(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path((tracking_number, card_event_id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        // Only a card of this order, so the page the centre acted on is the one that changes.
        match forms.store.event_by_id(card_event_id).await? {
            Some((request_id, event)) if request_id == row.id && event.event.card().is_some() => {}
            _ => return Err(AppError::NotFound),
        }
        let reason = required_text(field(&pairs, "reason"), "免于亮牌的理由", MAX_WAIVER_REASON)?;
        // Notice §二(四)2 leaves exceptions to the centre; the reason is kept with the waiver.
        waive_card(forms, card_event_id, &staff.actor(), &reason, Utc::now()).await?;
        tracing::info!(
            tracking_number = %row.tracking_number,
            card_event_id,
            actor = %staff.actor(),
            "推进中心免于亮牌"
        );
        Ok(row)
    }
    .await;
    back_to_order(forms, &staff, result)
}

/// A card that counts towards the unit's next escalation, linking to its order.
#[derive(Debug, Serialize)]
struct CountedCard {
    label: &'static str,
    tracking_number: String,
    at: String,
}

/// One unit's line on the units page.
#[derive(Debug, Serialize)]
struct UnitLine<'a> {
    id: &'a str,
    name: &'a str,
    state: StateView,
    cards: Vec<CountedCard>,
    open: i64,
    overdue: i64,
}

#[derive(Debug, Serialize)]
struct UnitSection<'a> {
    label: &'static str,
    units: Vec<UnitLine<'a>>,
}

fn counted(cards: &[CardRef], kind: CardKind) -> impl Iterator<Item = CountedCard> + '_ {
    cards.iter().map(move |card| CountedCard {
        label: kind.label(),
        tracking_number: card.tracking_number.clone(),
        at: shanghai(card.at),
    })
}

/// Every unit — towns, the zone, departments — with its card at `now`, the cards that count, and its open and
/// overdue orders.
pub(super) async fn units_page(State(state): State<Arc<ConsoleState>>, staff: Staff) -> Response {
    let forms = state.forms();
    let now: DateTime<Utc> = Utc::now();
    let (events, counts) = match tokio::try_join!(
        forms.store.supervision_events(),
        forms.store.unit_order_counts(now)
    ) {
        Ok(found) => found,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let counts: HashMap<&str, (i64, i64)> = counts
        .iter()
        .map(|count| (count.unit_id.as_str(), (count.open, count.overdue)))
        .collect();
    let sections: Vec<UnitSection<'_>> = units_by_kind(
        forms,
        [UnitKind::Town, UnitKind::Zone, UnitKind::Department],
    )
    .map(|(label, units)| UnitSection {
        label,
        units: units
            .into_iter()
            .map(|unit| {
                let standing = unit_standing(&events, &unit.id, now);
                let (open, overdue) = counts.get(unit.id.as_str()).copied().unwrap_or_default();
                UnitLine {
                    id: &unit.id,
                    name: &unit.name,
                    state: StateView::of(standing.state),
                    cards: counted(&standing.red_in_row, CardKind::RedCard)
                        .chain(counted(&standing.yellow_in_row, CardKind::YellowCard))
                        .collect(),
                    open,
                    overdue,
                }
            })
            .collect(),
    })
    .collect();
    let tally = |state: CardState| {
        sections
            .iter()
            .flat_map(|section| &section.units)
            .filter(|unit| unit.state.code == state)
            .count()
    };
    let mut context = page_context(forms, Some(&staff), "单位亮牌情况");
    context.insert("sections", &sections);
    context.insert("as_of", &shanghai(now));
    context.insert(
        "tally",
        &[
            (CardState::Red.label(), tally(CardState::Red)),
            (CardState::Yellow.label(), tally(CardState::Yellow)),
            (CardState::Green.label(), tally(CardState::Green)),
        ],
    );
    render_page(forms, "console/units.html", &context, StatusCode::OK)
}
