//! 未评价办结: a reported result the enterprise has not rated within `[dispatch] rating_working_days` (5) working days
//! is closed by the supervision pass as 未评价, with the reason, and counted apart from 满意 (our rule for notice
//! §二(五)1, which is silent on an enterprise that never rates: nothing may stay `resolved` for ever). Until then the
//! centre's call-back worklist (待回访评价) lists it.

use chrono::{DateTime, Utc};

use crate::order::payload::Lapse;
use crate::order::{Actor, Event, Step, decide};
use crate::store::{Change, StoreError};
use crate::workflow::{Forms, WorkflowError};

/// The actor of the closure.
const ACTOR: &str = "system:supervision";

/// Closes every result still unrated past its limit at `now`; returns how many. An order rated meanwhile (its
/// version moved) is left as the rating left it.
pub async fn lapse_ratings(forms: &Forms, now: DateTime<Utc>) -> Result<usize, WorkflowError> {
    let calendar = forms.calendar.current();
    let days = forms.dispatch.rating_working_days;
    let mut closed = 0;
    for (order, resolved_at) in forms.store.awaiting_rating().await? {
        let lapses = crate::sla::rating_lapses_at(&calendar, resolved_at, days);
        if lapses >= now {
            continue;
        }
        let Ok(outcome) = decide(
            &order.state(),
            &Actor::system("supervision"),
            Step::LapseRating,
        ) else {
            continue;
        };
        let reason = format!(
            "企业在办理结果反馈后 {days} 个工作日内（截至{}）未评价，按未评价办结",
            crate::calendar::minute_label(lapses)
        );
        let change = Change {
            status: Some(outcome.next),
            ..Change::new(
                ACTOR,
                outcome.records(Event::RatingLapsed(Lapse {
                    reason,
                    resolved_at,
                    working_days: days,
                    closed: true,
                })),
            )
            .expecting(order.version)
        };
        match forms.store.record(order.id, &change, now).await {
            Ok(_) => closed += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(closed)
}
