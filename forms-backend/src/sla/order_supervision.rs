//! The supervision state of one order (本工单督办情况) as the enterprise and the handling unit read it on their
//! pages: plain facts from the order's own events — overdue now, the cards issued on it — and nothing when the
//! order is on time. Waived cards (免于亮牌) are left out: the centre decided they do not count. No internal
//! addresses or names of people appear.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;

use crate::order::Event;
use crate::store::{EventRow, RequestRow};

use super::cards::is_overdue;

fn day(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai)
        .format("%Y年%-m月%-d日")
        .to_string()
}

use crate::calendar::minute_label as minute;

/// The sentences that describe the order's supervision at `now`, oldest card first; empty when the order is on
/// time and no card stands. Notice §二(四)2: overdue → supervision notice and yellow card; two yellow → red card
/// (the task force interviews the deputy head); two red → a city leader interviews the head.
pub fn order_supervision(row: &RequestRow, events: &[EventRow], now: DateTime<Utc>) -> Vec<String> {
    let waived: Vec<i64> = events
        .iter()
        .filter(|event| event.at <= now)
        .filter_map(|event| match &event.event {
            Event::CardWaived(waiver) => Some(waiver.card_event_id),
            _ => None,
        })
        .collect();
    let mut facts = Vec::new();
    let mut carded_current_deadline = false;
    for event in events
        .iter()
        .filter(|event| event.at <= now && !waived.contains(&event.id))
    {
        let fact = match &event.event {
            Event::YellowCard(card) => {
                let due = card.due_at;
                if due.is_some() && due == row.due_at {
                    carded_current_deadline = true;
                }
                format!(
                    "{}：本工单{}逾期未反馈办理结果，平台已发督办通知，对承办单位亮黄牌",
                    day(event.at),
                    due.map(|due| format!("超过办理期限（{}）", minute(due)))
                        .unwrap_or_default()
                )
            }
            Event::RedCard(_) => format!(
                "{}：承办单位连续两次被亮黄牌，予以红牌警示，由工作专班约谈其分管负责人",
                day(event.at)
            ),
            Event::Interview(_) => format!(
                "{}：承办单位连续两次被红牌警示，由市政府领导约谈其主要负责人",
                day(event.at)
            ),
            _ => continue,
        };
        facts.push(fact);
    }
    if is_overdue(row, now)
        && !carded_current_deadline
        && let Some(due) = row.due_at
    {
        facts.push(format!(
            "本工单已超过办理期限（{}），承办单位尚未反馈办理结果",
            minute(due)
        ));
    }
    facts
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn order(status: &str, due: DateTime<Utc>) -> RequestRow {
        RequestRow {
            id: 1,
            tracking_number: "QH20260302-0001".to_owned(),
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
            status: status.parse().unwrap(),
            instant_answer: None,
            knowledge_gap: false,
            lead_unit: Some("power".to_owned()),
            co_units: Vec::new(),
            due_at: Some(due),
            version: 0,
            round: 1,
            created_at: at(1, 0),
            updated_at: at(1, 0),
        }
    }

    fn event(id: i64, kind: &str, when: DateTime<Utc>, payload: serde_json::Value) -> EventRow {
        EventRow::from_parts(id, when, "system:supervision", kind, &payload).unwrap()
    }

    #[test]
    fn an_order_on_time_says_nothing() {
        assert!(order_supervision(&order("accepted", at(9, 15)), &[], at(5, 0)).is_empty());
    }

    #[test]
    fn an_overdue_order_says_so_and_then_names_its_yellow_card() {
        let row = order("accepted", at(5, 15));
        let overdue = order_supervision(&row, &[], at(6, 0));
        assert_eq!(
            overdue,
            ["本工单已超过办理期限（2026年3月5日 23:00），承办单位尚未反馈办理结果"]
        );
        let carded = [event(
            7,
            "yellow_card",
            at(6, 1),
            json!({ "unit": "power", "due_at": at(5, 15) }),
        )];
        let facts = order_supervision(&row, &carded, at(6, 2));
        assert_eq!(facts.len(), 1);
        assert!(facts[0].contains("亮黄牌"), "{facts:?}");
        // Reproducible for a past date: before the card, only the overdue fact.
        assert!(!order_supervision(&row, &carded, at(6, 0))[0].contains("黄牌"));
    }

    #[test]
    fn red_cards_show_and_waived_cards_do_not() {
        let row = order("resolved", at(5, 15));
        let events = [
            event(7, "yellow_card", at(6, 1), json!({ "due_at": at(5, 15) })),
            event(8, "red_card", at(6, 1), json!({})),
            event(
                9,
                "card_waived",
                at(7, 1),
                json!({ "card_event_id": 8, "card": "red_card" }),
            ),
        ];
        let before = order_supervision(&row, &events, at(6, 12));
        assert_eq!(before.len(), 2);
        assert!(before[1].contains("红牌警示"));
        let after = order_supervision(&row, &events, at(8, 0));
        assert_eq!(after.len(), 1);
        assert!(after[0].contains("黄牌"));
    }
}
