//! Time limits (办结时限). Notice §二(三): a unit solves and reports within 5 working days of receiving the
//! work order; working days come from [`crate::calendar::Calendar`].

pub mod cards;
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
}
