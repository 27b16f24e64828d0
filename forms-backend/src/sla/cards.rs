//! Supervision cards (督办亮牌, 红黄绿牌), notice §二(四)2: “如承办单位未在规定时间内向市级平台反馈办理情况，
//! 平台发通知督办，并亮‘黄牌’；连续两次被亮‘黄牌’的单位，予以‘红牌’警示，由市级专班约谈其分管负责人；
//! 连续两次‘红牌’警示的单位，由市政府领导约谈其主要负责人。”
//!
//! The rules as implemented:
//!
//! 1. **Overdue** (逾期未反馈): an order is overdue at `now` when it has a `due_at` earlier than `now` and its
//!    status is open (`dispatched`, `accepted`, `planned` or `rework`). An order with a result reported (`resolved` or later) is
//!    not overdue.
//! 2. **Yellow card** (黄牌 + 督办通知): a pass ([`supervise`]) records, on each overdue order that has no
//!    `yellow_card` event for the same `due_at` yet, an event of kind `yellow_card` (actor
//!    `system:supervision`; payload: `unit` = the order's lead unit, `rule`, `order`, `due_at`, `evidence`
//!    “截至<now>未反馈办理结果”), and e-mails a 督办通知 to the lead unit's handlers. Re-running a pass never
//!    issues a card twice (a waived yellow card is not issued again either); a new deadline (e.g. rework) can
//!    earn a new card.
//! 3. **A unit's sequence**: the card events of all orders (`yellow_card`, `red_card`, `interview`,
//!    `card_waived`) and the unit's result reports (`resolved` events it made as the lead unit), ordered by time
//!    (then event id), up to `now`. An **on-time report** — a `resolved` event at or before the deadline in
//!    force when it was made (recorded with it; the order's deadline for reports recorded before that) — resets
//!    the sequence: the unit is green again. Decided from the facts of the time, a past date replays the same
//!    after a rework, a plan or a re-dispatch (notice §二(四)2).
//! 4. **Red card** (红牌警示, 专班约谈分管负责人): two or more yellow cards in a row (no on-time report, no red
//!    card in between) → one `red_card` event on the order of the latest yellow card (payload: `unit`, `rule`,
//!    `order`, `orders` and `cards` = every yellow card of the row, `evidence`), e-mailed to the task force and
//!    the unit's deputy head. A red card starts a new count of yellow cards. (A unit whose many orders fall
//!    overdue in the same pass thus gets one red card for all of them, not one per pair.)
//! 5. **Interview** (约谈主要负责人): two or more red cards in a row → one `interview` event on the order of the
//!    latest red card, e-mailed to the unit's head and the city leader in charge of the unit. An interview
//!    starts a new count of red cards.
//! 6. **Waiver** (免于亮牌): the centre records `card_waived` (payload `card_event_id`, `reason`, required) on
//!    the card's order ([`waive_card`]). From the waiver's time on, a waived card does not count: a waived
//!    yellow card is ignored; a waived red card (or interview) still closes the yellow (red) cards it was
//!    issued for — they are not escalated again — but does not count as a red card (interview). Waiving a
//!    yellow card after its red card was issued leaves the red card standing (waive it too).
//! 7. **State** (亮牌状态) of a unit at `now` ([`unit_card_state`]), derived from the events up to `now` only
//!    (so it is reproducible for any past date): green with no counted card since the last on-time report;
//!    yellow with a counted yellow card; red once a counted red card or interview, until the next on-time
//!    report.
//!
//! R. **Reminder** (到期提醒, [`remind`]): each pass first e-mails the lead unit's handlers about every open
//!    order due by the end of the next working day (so, one working day before the deadline), once per
//!    deadline: one `deadline_reminder` event per unit and pass listing each order with the `due_at` it was
//!    reminded of.
//!
//! Escalations are re-derived on every pass, so a pass interrupted between a yellow and its red card
//! completes the red card on the next pass.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::order::payload::Waiver;
use crate::order::{Event, Status};
use crate::store::cards::SupervisionEvent;
use crate::store::{Change, RequestRow};
use crate::workflow::{Forms, WorkflowError};

/// The actor of every card.
pub const ACTOR: &str = "system:supervision";
/// Notice §二(四)2, first clause.
pub const YELLOW_RULE: &str =
    "通知§二(四)2：承办单位未在规定时间内向市级平台反馈办理情况，平台发通知督办，并亮“黄牌”";
/// Notice §二(四)2, second clause.
pub const RED_RULE: &str =
    "通知§二(四)2：连续两次被亮“黄牌”的单位，予以“红牌”警示，由市级专班约谈其分管负责人";
/// Notice §二(四)2, third clause.
pub const INTERVIEW_RULE: &str =
    "通知§二(四)2：连续两次“红牌”警示的单位，由市政府领导约谈其主要负责人";

/// A unit's card (亮牌状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// 绿牌: on time.
    Green,
    /// 黄牌
    Yellow,
    /// 红牌
    Red,
}

impl CardState {
    pub fn label(self) -> &'static str {
        match self {
            CardState::Green => "绿牌",
            CardState::Yellow => "黄牌",
            CardState::Red => "红牌",
        }
    }
}

pub use super::pass::{IssuedCard, PassReport, supervise};
pub use super::reminders::remind;
pub use crate::order::CardKind;

/// A counted card of a unit's current sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardRef {
    pub event_id: i64,
    pub request_id: i64,
    pub tracking_number: String,
    pub at: DateTime<Utc>,
}

/// Where a unit stands at `now`: its state and the cards that count towards the next escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitStanding {
    pub state: CardState,
    /// Yellow cards in a row since the last on-time report or red card.
    pub yellow_in_row: Vec<CardRef>,
    /// Red cards in a row since the last on-time report or interview.
    pub red_in_row: Vec<CardRef>,
}

pub(super) fn card_unit(event: &SupervisionEvent) -> Option<&str> {
    event.event.event.card().map(|(_, card)| card.unit.as_str())
}

pub(super) fn card_ref(event: &SupervisionEvent) -> CardRef {
    CardRef {
        event_id: event.event.id,
        request_id: event.request_id,
        tracking_number: event.tracking_number.clone(),
        at: event.event.at,
    }
}

/// The ids of the cards waived at or before `now`.
pub(super) fn waived_cards(events: &[SupervisionEvent], now: DateTime<Utc>) -> BTreeSet<i64> {
    events
        .iter()
        .filter(|event| event.event.at <= now)
        .filter_map(|event| match &event.event.event {
            Event::CardWaived(waiver) => Some(waiver.card_event_id),
            _ => None,
        })
        .collect()
}

/// Folds the unit's sequence up to `now` (rules 3 to 7 of the module documentation).
pub fn unit_standing(events: &[SupervisionEvent], unit: &str, now: DateTime<Utc>) -> UnitStanding {
    let waived = waived_cards(events, now);
    let mut standing = UnitStanding {
        state: CardState::Green,
        yellow_in_row: Vec::new(),
        red_in_row: Vec::new(),
    };
    // Only the unit's own cards and result reports (waivers are in `waived`).
    let mut ordered: Vec<&SupervisionEvent> = events
        .iter()
        .filter(|event| event.event.at <= now)
        .filter(|event| match event.report() {
            Some((reporter, _)) => reporter == unit,
            None => card_unit(event) == Some(unit),
        })
        .collect();
    ordered.sort_by_key(|event| (event.event.at, event.event.id));
    for event in ordered {
        if let Some((_, on_time)) = event.report() {
            if on_time {
                standing.state = CardState::Green;
                standing.yellow_in_row.clear();
                standing.red_in_row.clear();
            }
            continue;
        }
        let Some((card, issued)) = event.event.event.card() else {
            continue;
        };
        if issued.unit != unit {
            continue;
        }
        let counted = !waived.contains(&event.event.id);
        match card {
            CardKind::YellowCard if counted => {
                standing.yellow_in_row.push(card_ref(event));
                standing.state = standing.state.max(CardState::Yellow);
            }
            CardKind::YellowCard => {}
            CardKind::RedCard => {
                standing.yellow_in_row.clear();
                if counted {
                    standing.red_in_row.push(card_ref(event));
                    standing.state = CardState::Red;
                }
            }
            CardKind::Interview => {
                standing.red_in_row.clear();
                if counted {
                    standing.state = CardState::Red;
                }
            }
        }
    }
    standing
}

/// A unit's card at `now` (green / yellow / red), derived from the events up to `now` only.
pub fn unit_card_state(events: &[SupervisionEvent], unit: &str, now: DateTime<Utc>) -> CardState {
    unit_standing(events, unit, now).state
}

/// The escalation the unit's sequence calls for, if any: a red card for two (or more) yellow cards in a row,
/// an interview for two (or more) red cards in a row. The escalation covers every card of the row, so a unit
/// with many overdue orders at once gets one red card, not one per pair.
pub fn escalation_due(standing: &UnitStanding) -> Option<(CardKind, Vec<CardRef>)> {
    if standing.yellow_in_row.len() >= 2 {
        return Some((CardKind::RedCard, standing.yellow_in_row.clone()));
    }
    if standing.red_in_row.len() >= 2 {
        return Some((CardKind::Interview, standing.red_in_row.clone()));
    }
    None
}

/// Whether `order` already has a yellow card for its current deadline (waived or not).
pub fn has_yellow_card(events: &[SupervisionEvent], order: &RequestRow) -> bool {
    let Some(due) = order.due_at else {
        return false;
    };
    events.iter().any(|event| {
        event.request_id == order.id
            && matches!(&event.event.event, Event::YellowCard(card) if card.due_at == Some(due))
    })
}

/// Whether an overdue order earns a yellow card: not while its plan waits for the centre's approval (our rule for
/// notice §二(三): the days the centre takes are not the unit's; a rejected plan moves the deadline by them).
pub fn may_be_carded(order: &RequestRow) -> bool {
    order.status != Status::Planned
}

/// Whether an order is overdue at `now` (rule 1).
pub fn is_overdue(order: &RequestRow, now: DateTime<Utc>) -> bool {
    order.due_at.is_some_and(|due| due < now) && order.status.is_open()
}

/// The centre waives a card (免于亮牌) with a reason: a `card_waived` event on the card's order (rule 6).
pub async fn waive_card(
    forms: &Forms,
    card_event_id: i64,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<i64, WorkflowError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(WorkflowError::NotAllowed("请填写免于亮牌的理由".to_owned()));
    }
    let Some((request_id, card)) = forms.store.event_by_id(card_event_id).await? else {
        return Err(WorkflowError::NotAllowed(format!(
            "找不到编号为 {card_event_id} 的亮牌记录"
        )));
    };
    let Some((kind, issued)) = card.event.card() else {
        return Err(WorkflowError::NotAllowed(format!(
            "编号为 {card_event_id} 的记录不是亮牌"
        )));
    };
    let events = forms.store.supervision_events().await?;
    if waived_cards(&events, DateTime::<Utc>::MAX_UTC).contains(&card_event_id) {
        return Err(WorkflowError::NotAllowed("该亮牌已经免除".to_owned()));
    }
    let event_id = forms
        .store
        .record(
            request_id,
            &Change::new(
                actor,
                Event::CardWaived(Waiver {
                    card_event_id,
                    card: kind,
                    unit: Some(issued.unit.clone()),
                    reason: reason.to_owned(),
                }),
            ),
            now,
        )
        .await?;
    Ok(event_id.0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::order::Status;
    use crate::store::EventRow;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    /// An event `id` of `kind` on order `request_id` (lead unit `tax`, due on March `due_day`).
    fn event(
        id: i64,
        request_id: i64,
        kind: &str,
        when: DateTime<Utc>,
        due_day: u32,
        payload: serde_json::Value,
    ) -> SupervisionEvent {
        SupervisionEvent {
            request_id,
            tracking_number: format!("QH-{request_id}"),
            lead_unit: Some("tax".to_owned()),
            due_at: Some(at(due_day, 15)),
            event: EventRow::from_parts(id, when, ACTOR, kind, &payload).unwrap(),
        }
    }

    fn card(id: i64, request_id: i64, kind: &str, when: DateTime<Utc>) -> SupervisionEvent {
        event(id, request_id, kind, when, 1, json!({ "unit": "tax" }))
    }

    fn waiver(id: i64, card_id: i64, when: DateTime<Utc>) -> SupervisionEvent {
        event(
            id,
            99,
            "card_waived",
            when,
            1,
            json!({ "card_event_id": card_id, "card": "yellow_card", "reason": "系统故障" }),
        )
    }

    #[test]
    fn a_unit_without_cards_is_green() {
        assert_eq!(unit_card_state(&[], "tax", at(10, 0)), CardState::Green);
    }

    #[test]
    fn one_yellow_card_is_yellow_and_two_call_for_a_red_card() {
        let mut events = vec![card(1, 1, "yellow_card", at(2, 1))];
        assert_eq!(unit_card_state(&events, "tax", at(2, 2)), CardState::Yellow);
        assert_eq!(
            escalation_due(&unit_standing(&events, "tax", at(2, 2))),
            None
        );
        events.push(card(2, 2, "yellow_card", at(5, 1)));
        let (kind, cards) = escalation_due(&unit_standing(&events, "tax", at(5, 2))).unwrap();
        assert_eq!(kind, CardKind::RedCard);
        assert_eq!(cards.iter().map(|c| c.event_id).collect::<Vec<_>>(), [1, 2]);
        // Reproducible for a past date: before the second card, only one yellow card.
        assert_eq!(
            escalation_due(&unit_standing(&events, "tax", at(4, 0))),
            None
        );
        // Another unit's cards do not count.
        assert_eq!(unit_card_state(&events, "land", at(6, 0)), CardState::Green);
    }

    #[test]
    fn an_on_time_report_in_between_resets_the_count() {
        let events = vec![
            card(1, 1, "yellow_card", at(2, 1)),
            // Order 3 resolved on March 3, before its due date (March 4).
            event(2, 3, "resolved", at(3, 9), 4, json!({})),
            card(3, 2, "yellow_card", at(5, 1)),
        ];
        let standing = unit_standing(&events, "tax", at(6, 0));
        assert_eq!(standing.state, CardState::Yellow);
        assert_eq!(standing.yellow_in_row.len(), 1);
        assert_eq!(escalation_due(&standing), None);
        assert_eq!(unit_card_state(&events, "tax", at(4, 0)), CardState::Green);
    }

    #[test]
    fn a_report_is_judged_by_the_deadline_of_its_day_not_by_a_later_one() {
        // Order 1 was due on March 1 and reported late on March 3; a rework later gave it a deadline on March 20.
        // The card history of March 6 stays as it was: the late report reset nothing.
        let due_then = Utc.with_ymd_and_hms(2026, 3, 1, 15, 59, 59).unwrap();
        let events = vec![
            card(1, 1, "yellow_card", at(2, 1)),
            event(
                2,
                1,
                "resolved",
                at(3, 9),
                20,
                json!({ "solved": true, "due_at": due_then }),
            ),
            card(3, 2, "yellow_card", at(5, 1)),
        ];
        let (kind, cards) = escalation_due(&unit_standing(&events, "tax", at(6, 0))).unwrap();
        assert_eq!((kind, cards.len()), (CardKind::RedCard, 2));
    }

    #[test]
    fn a_late_report_does_not_reset_the_count() {
        let events = vec![
            card(1, 1, "yellow_card", at(2, 1)),
            // Resolved on March 3 although due on March 1.
            event(2, 1, "resolved", at(3, 9), 1, json!({})),
            card(3, 2, "yellow_card", at(5, 1)),
        ];
        let (kind, _) = escalation_due(&unit_standing(&events, "tax", at(6, 0))).unwrap();
        assert_eq!(kind, CardKind::RedCard);
    }

    #[test]
    fn two_red_cards_in_a_row_call_for_an_interview() {
        let events = vec![
            card(1, 1, "yellow_card", at(2, 1)),
            card(2, 2, "yellow_card", at(3, 1)),
            card(3, 2, "red_card", at(3, 1)),
            card(4, 3, "yellow_card", at(4, 1)),
            card(5, 4, "yellow_card", at(5, 1)),
            card(6, 4, "red_card", at(5, 1)),
        ];
        let standing = unit_standing(&events, "tax", at(6, 0));
        assert_eq!(standing.state, CardState::Red);
        let (kind, cards) = escalation_due(&standing).unwrap();
        assert_eq!(kind, CardKind::Interview);
        assert_eq!(cards.iter().map(|c| c.event_id).collect::<Vec<_>>(), [3, 6]);
        let mut after = events.clone();
        after.push(card(7, 4, "interview", at(5, 1)));
        let standing = unit_standing(&after, "tax", at(6, 0));
        assert_eq!(standing.state, CardState::Red);
        assert_eq!(escalation_due(&standing), None);
        // Red until an on-time report.
        after.push(event(8, 5, "resolved", at(7, 1), 9, json!({})));
        assert_eq!(unit_card_state(&after, "tax", at(8, 0)), CardState::Green);
        assert_eq!(unit_card_state(&after, "tax", at(6, 0)), CardState::Red);
    }

    #[test]
    fn waived_cards_do_not_count_from_the_waiver_on() {
        let events = vec![
            card(1, 1, "yellow_card", at(2, 1)),
            waiver(2, 1, at(3, 1)),
            card(3, 2, "yellow_card", at(5, 1)),
        ];
        assert_eq!(
            unit_card_state(&events, "tax", at(2, 12)),
            CardState::Yellow
        );
        assert_eq!(unit_card_state(&events, "tax", at(4, 0)), CardState::Green);
        let standing = unit_standing(&events, "tax", at(6, 0));
        assert_eq!(standing.yellow_in_row.len(), 1);
        assert_eq!(escalation_due(&standing), None);
    }

    #[test]
    fn a_waived_red_card_closes_its_yellow_cards_without_counting() {
        let events = vec![
            card(1, 1, "yellow_card", at(2, 1)),
            card(2, 2, "yellow_card", at(3, 1)),
            card(3, 2, "red_card", at(3, 1)),
            waiver(4, 3, at(3, 5)),
        ];
        let standing = unit_standing(&events, "tax", at(4, 0));
        assert_eq!(standing.state, CardState::Yellow);
        assert!(standing.red_in_row.is_empty());
        assert_eq!(escalation_due(&standing), None);
        assert_eq!(unit_card_state(&events, "tax", at(3, 2)), CardState::Red);
    }

    #[test]
    fn only_unreported_orders_past_their_deadline_are_overdue() {
        let mut order = RequestRow {
            id: 1,
            tracking_number: "QH-1".to_owned(),
            token_hash: String::new(),
            idempotency_fingerprint: None,
            kind: "help".to_owned(),
            channel: "web".to_owned(),
            enterprise_name: "企业".to_owned(),
            credit_code: None,
            contact_name: "王".to_owned(),
            contact_phone: "13812345678".to_owned(),
            contact_email: None,
            town: "荆河街道".to_owned(),
            description: "停电".to_owned(),
            suggested_department: None,
            policy: None,
            status: Status::Accepted,
            instant_answer: None,
            knowledge_gap: false,
            lead_unit: Some("tax".to_owned()),
            co_units: Vec::new(),
            due_at: Some(at(5, 15)),
            version: 0,
            round: 1,
            created_at: at(1, 0),
            updated_at: at(1, 0),
        };
        assert!(!is_overdue(&order, at(5, 15)));
        assert!(is_overdue(&order, at(5, 16)));
        order.status = Status::Resolved;
        assert!(!is_overdue(&order, at(6, 0)));
        order.status = Status::Planned;
        assert!(is_overdue(&order, at(6, 0)));
        let carded = vec![event(
            1,
            1,
            "yellow_card",
            at(6, 0),
            5,
            json!({ "unit": "tax", "due_at": at(5, 15) }),
        )];
        assert!(has_yellow_card(&carded, &order));
        order.due_at = Some(at(9, 15));
        assert!(!has_yellow_card(&carded, &order));
    }
}
