//! Tests of the parent module.
use chrono::TimeZone;
use serde_json::json;

use super::*;

fn stored(event: &Event) -> Value {
    serde_json::from_str(&event.payload_json()).unwrap()
}

#[test]
fn payloads_are_written_as_the_untyped_version_wrote_them() {
    let due = Utc.with_ymd_and_hms(2026, 10, 15, 15, 59, 59).unwrap();
    let dispatch = Event::Dispatched(Dispatch {
        lead_unit: "tax".to_owned(),
        co_units: vec!["power".to_owned()],
        reason: "目录匹配".to_owned(),
        deadline: DeadlineNote {
            due_at: due,
            deadline_rule: "5个工作日".to_owned(),
            calendar: "2026".to_owned(),
            calendar_warning: None,
        },
        counted: vec![NaiveDate::from_ymd_opt(2026, 10, 9).unwrap()],
        accept_due_at: None,
    });
    assert_eq!(
        stored(&dispatch),
        json!({
            "lead_unit": "tax", "co_units": ["power"], "reason": "目录匹配",
            "due_at": "2026-10-15T15:59:59Z", "deadline_rule": "5个工作日", "calendar": "2026",
            "calendar_warning": null, "counted": ["2026-10-09"],
        })
    );
    let closing = Event::Rated(Rated {
        rating: RatingRecord::new(
            Rating::FairlySatisfied,
            "",
            RatingChannel::CallBack,
            Some(1),
        ),
        reason: Some("电话回访，企业评价满意（比较满意）".to_owned()),
        closed: true,
        verification: false,
        next: None,
    });
    assert_eq!(
        stored(&closing),
        json!({
            "rating": {"rating": "fairly_satisfied", "rating_label": "比较满意", "comment": "",
                       "channel": "call_back", "round": 1},
            "reason": "电话回访，企业评价满意（比较满意）", "closed": true,
        })
    );
    assert_eq!(stored(&Event::Accepted(Nothing {})), json!({}));
}

#[test]
fn every_event_reads_back_from_its_stored_form() {
    let due = Utc.with_ymd_and_hms(2026, 10, 15, 15, 59, 59).unwrap();
    let events = [
        Event::Escalated(Reason {
            reason: "即时答复未解决问题".to_owned(),
        }),
        Event::Accepted(Nothing {}),
        Event::VerificationOpinion(Opinion {
            conclusion: Conclusion::Rework,
            conclusion_label: Conclusion::Rework.label().to_owned(),
            opinion: "答复不充分".to_owned(),
            form_id: 3,
            form_sha256: "ab".to_owned(),
            reason: None,
            closed: false,
            deadline: Some(DeadlineNote {
                due_at: due,
                deadline_rule: "3个工作日".to_owned(),
                calendar: "2026".to_owned(),
                calendar_warning: Some(FALLBACK_WARNING.to_owned()),
            }),
        }),
        Event::of_card(
            CardKind::RedCard,
            Card {
                unit: "tax".to_owned(),
                orders: vec!["QH1".to_owned()],
                cards: vec![7, 9],
                ..Card::default()
            },
        ),
    ];
    for event in events {
        let back = Event::from_stored(event.kind(), &event.payload_json()).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn a_closing_event_needs_a_reason_that_is_not_blank() {
    let rated = |reason: &str| {
        Event::Rated(Rated {
            rating: RatingRecord::new(Rating::VerySatisfied, "", RatingChannel::Web, None),
            reason: Some(reason.to_owned()),
            closed: true,
            verification: false,
            next: None,
        })
    };
    assert_eq!(
        rated(" 企业评价满意 ").closure_reason(),
        Some("企业评价满意")
    );
    assert_eq!(rated("  ").closure_reason(), None);
    assert!(rated("").closes());
}

#[test]
fn a_row_this_version_cannot_read_is_an_error_not_a_guess() {
    assert!(Event::from_stored(EventKind::PlanSubmitted, r#"{"reason":"x"}"#).is_err());
    assert!(Event::from_stored(EventKind::Accepted, "not json").is_err());
    // Fields added later default in rows written before them.
    let old = Event::from_stored(EventKind::Resolved, r#"{"solved":true}"#).unwrap();
    assert!(matches!(
        old,
        Event::Resolved(Resolution { solved: true, .. })
    ));
}
