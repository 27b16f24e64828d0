//! Time limits (办结时限). Notice §二(三): a unit solves and reports within 5 working days of receiving the
//! work order; working days come from [`crate::calendar::Calendar`].

pub mod cards;
mod lapses;
pub mod order_supervision;
mod pass;
mod reminders;

/// Notice §二(三): solve and report within 5 working days.
pub const RESOLUTION_WORKING_DAYS: u32 = 5;

/// Notice §二(二): the centre dispatches a request “第一时间”; our reading is within one working day of its
/// submission (`[dispatch] dispatch_working_days`), the same limit as for the units' acceptance.
pub const DISPATCH_WORKING_DAYS: u32 = 1;

/// When a request submitted at `submitted_at` must have been dispatched: the end of the `working_days`-th working
/// day after the day of submission.
pub fn dispatch_due(
    calendar: &crate::calendar::Calendar,
    submitted_at: chrono::DateTime<chrono::Utc>,
    working_days: u32,
) -> chrono::DateTime<chrono::Utc> {
    calendar.due(submitted_at, working_days)
}

/// Notice §二(二)3 快速响应: a unit signs for (受理/签收) a dispatched order within one working day of the dispatch
/// (`[dispatch] accept_working_days`); the 5 working days are for the result.
pub const ACCEPT_WORKING_DAYS: u32 = 1;

/// When an order dispatched at `dispatched_at` must have been signed for (or returned): the end of the
/// `working_days`-th working day after the day of dispatch.
pub fn accept_due(
    calendar: &crate::calendar::Calendar,
    dispatched_at: chrono::DateTime<chrono::Utc>,
    working_days: u32,
) -> chrono::DateTime<chrono::Utc> {
    calendar.due(dispatched_at, working_days)
}

/// Our rule for notice §二(五)1 一事一评估: the enterprise (or the centre's call-back) rates a reported result within
/// 5 working days (`[dispatch] rating_working_days`); after that the order is closed as 未评价.
pub const RATING_WORKING_DAYS: u32 = 5;

/// When a result reported at `resolved_at` that is still unrated is closed as 未评价: the end of the
/// `working_days`-th working day after the day of the report.
pub fn rating_lapses_at(
    calendar: &crate::calendar::Calendar,
    resolved_at: chrono::DateTime<chrono::Utc>,
    working_days: u32,
) -> chrono::DateTime<chrono::Utc> {
    calendar.due(resolved_at, working_days)
}

/// One dispatch (派单 or 改派) and the first thing that followed it: the lead unit's acceptance, its return (退单), or
/// another dispatch; `None` while nothing has.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchResponse {
    pub dispatched_at: chrono::DateTime<chrono::Utc>,
    /// As recorded with the dispatch; counted from it for dispatches recorded before the limit existed.
    pub accept_due: Option<chrono::DateTime<chrono::Utc>>,
    pub response: Option<(crate::order::EventKind, chrono::DateTime<chrono::Utc>)>,
}

/// How a dispatch counts for 签收及时率.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Signed for (受理) or returned (退单) within the limit.
    OnTime,
    /// Signed for or returned after it, or still waiting past it, or taken away by the centre after it.
    Late,
    /// Not counted: the limit has not passed, or the centre re-dispatched within it.
    NotCounted,
}

/// Our rule for 签收及时率 (notice §二(二)3 第一时间接收, §二(三)1 快速响应): each dispatch is answered by the lead
/// unit's acceptance or return; within the acceptance limit it is on time, after it late. A dispatch still waiting
/// at `as_of` is late once its limit has passed; one the centre re-dispatched counts only if the limit had passed.
pub fn acceptance(
    dispatch: &DispatchResponse,
    calendar: &crate::calendar::Calendar,
    working_days: u32,
    as_of: chrono::DateTime<chrono::Utc>,
) -> Acceptance {
    use crate::order::EventKind;
    let due = dispatch
        .accept_due
        .unwrap_or_else(|| accept_due(calendar, dispatch.dispatched_at, working_days));
    match dispatch.response {
        Some((EventKind::Accepted | EventKind::DispatchReturned, at)) if at <= due => {
            Acceptance::OnTime
        }
        Some((EventKind::Accepted | EventKind::DispatchReturned, _)) => Acceptance::Late,
        Some((_, at)) if at <= due => Acceptance::NotCounted,
        Some(_) => Acceptance::Late,
        None if due < as_of => Acceptance::Late,
        None => Acceptance::NotCounted,
    }
}

/// The working days between two instants (the days after `from`'s day up to and including `until`'s day that are
/// working days): how long the centre took over a plan, which the unit's deadline is moved by when the plan is
/// rejected.
pub fn working_days_between(
    calendar: &crate::calendar::Calendar,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> u32 {
    use chrono_tz::Asia::Shanghai;
    let mut day = from.with_timezone(&Shanghai).date_naive();
    let last = until.with_timezone(&Shanghai).date_naive();
    let mut counted = 0;
    while day < last {
        day = day + chrono::Days::new(1);
        if calendar.is_working_day(day) {
            counted += 1;
        }
    }
    counted
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_request_is_due_for_dispatch_by_the_end_of_the_next_working_day() {
        let calendar = crate::calendar::Calendar::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar"),
        )
        .unwrap();
        // Friday evening → Monday.
        assert_eq!(
            super::dispatch_due(&calendar, at("2026-11-27T18:30:00+08:00"), 1),
            at("2026-11-30T23:59:59+08:00")
        );
        // The day before National Day 2026 (1–7 October, 10 October worked) → Thursday 8 October.
        assert_eq!(
            super::dispatch_due(&calendar, at("2026-09-30T09:00:00+08:00"), 1),
            at("2026-10-08T23:59:59+08:00")
        );
    }

    #[test]
    fn a_unit_signs_for_an_order_by_the_end_of_the_next_working_day() {
        let calendar = crate::calendar::Calendar::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar"),
        )
        .unwrap();
        // Dispatched on Wednesday → Thursday.
        assert_eq!(
            super::accept_due(&calendar, at("2026-11-25T10:00:00+08:00"), 1),
            at("2026-11-26T23:59:59+08:00")
        );
        // Dispatched on Friday 9 October 2026, the day before the worked Saturday 10 October → Saturday.
        assert_eq!(
            super::accept_due(&calendar, at("2026-10-09T16:00:00+08:00"), 1),
            at("2026-10-10T23:59:59+08:00")
        );
    }

    #[test]
    fn a_dispatch_is_on_time_when_accepted_or_returned_within_its_limit() {
        use super::{Acceptance, DispatchResponse, acceptance};
        use crate::order::EventKind;
        let calendar = crate::calendar::Calendar::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar"),
        )
        .unwrap();
        // Dispatched Friday 27 November 2026 at 16:00: the limit is the end of Monday 30 November.
        let dispatch = |response: Option<(EventKind, &str)>| DispatchResponse {
            dispatched_at: at("2026-11-27T16:00:00+08:00"),
            accept_due: None,
            response: response.map(|(kind, when)| (kind, at(when))),
        };
        let as_of = at("2026-12-10T00:00:00+08:00");
        let judge = |d: &DispatchResponse| acceptance(d, &calendar, 1, as_of);
        assert_eq!(
            judge(&dispatch(Some((
                EventKind::Accepted,
                "2026-11-30T23:00:00+08:00"
            )))),
            Acceptance::OnTime
        );
        assert_eq!(
            judge(&dispatch(Some((
                EventKind::DispatchReturned,
                "2026-11-28T09:00:00+08:00"
            )))),
            Acceptance::OnTime
        );
        assert_eq!(
            judge(&dispatch(Some((
                EventKind::Accepted,
                "2026-12-01T08:00:00+08:00"
            )))),
            Acceptance::Late
        );
        // Re-dispatched by the centre on Monday: not the unit's to answer.
        assert_eq!(
            judge(&dispatch(Some((
                EventKind::Dispatched,
                "2026-11-30T10:00:00+08:00"
            )))),
            Acceptance::NotCounted
        );
        assert_eq!(judge(&dispatch(None)), Acceptance::Late);
        // Still within the limit at the report's end: not counted yet.
        assert_eq!(
            acceptance(
                &dispatch(None),
                &calendar,
                1,
                at("2026-11-30T12:00:00+08:00")
            ),
            Acceptance::NotCounted
        );
        // The limit recorded with the dispatch wins over the one counted now.
        let recorded = DispatchResponse {
            accept_due: Some(at("2026-12-02T23:59:59+08:00")),
            ..dispatch(Some((EventKind::Accepted, "2026-12-01T08:00:00+08:00")))
        };
        assert_eq!(judge(&recorded), Acceptance::OnTime);
    }

    #[test]
    fn the_days_the_centre_took_are_counted_in_working_days() {
        let calendar = crate::calendar::Calendar::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar"),
        )
        .unwrap();
        // The same day: none.
        assert_eq!(
            super::working_days_between(
                &calendar,
                at("2026-11-25T09:00:00+08:00"),
                at("2026-11-25T17:00:00+08:00")
            ),
            0
        );
        // Friday → Tuesday: Monday and Tuesday.
        assert_eq!(
            super::working_days_between(
                &calendar,
                at("2026-11-27T09:00:00+08:00"),
                at("2026-12-01T09:00:00+08:00")
            ),
            2
        );
        // Over National Day 2026 (1–7 October off): 30 September → 9 October counts 8 and 9 October.
        assert_eq!(
            super::working_days_between(
                &calendar,
                at("2026-09-30T09:00:00+08:00"),
                at("2026-10-09T09:00:00+08:00")
            ),
            2
        );
    }
}
