//! Time limits (办结时限). Notice §二(三): a unit solves and reports within 5 working days of receiving the
//! work order. This first version counts Monday–Friday only; the working-day calendar with statutory holidays
//! and 调休 replaces [`due_after_working_days`] (and keeps its signature).

use chrono::{DateTime, Datelike, Days, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;

/// Notice §二(三): solve and report within 5 working days.
pub const RESOLUTION_WORKING_DAYS: u32 = 5;

/// The deadline `working_days` working days after `from`: the start day (Shanghai time) is not counted, and the
/// period ends at 23:59:59 (+08:00) of the N-th working day after it.
pub fn due_after_working_days(from: DateTime<Utc>, working_days: u32) -> DateTime<Utc> {
    let mut day = from.with_timezone(&Shanghai).date_naive();
    let mut counted = 0;
    while counted < working_days {
        day = day + Days::new(1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            counted += 1;
        }
    }
    let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
    Shanghai
        .from_local_datetime(&end)
        .single()
        .map_or(from, |due| due.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn five_working_days_skip_the_weekend_and_end_at_midnight_shanghai() {
        // Wednesday 2026-11-25 10:00 in Shanghai → Wednesday 2026-12-02 23:59:59 +08:00.
        let due = due_after_working_days(at("2026-11-25T10:00:00+08:00"), 5);
        assert_eq!(due, at("2026-12-02T23:59:59+08:00"));
    }

    #[test]
    fn the_start_day_is_the_shanghai_day() {
        // 20:00 UTC on Friday is already Saturday in Shanghai: counting starts on Monday.
        let due = due_after_working_days(at("2026-11-27T20:00:00Z"), 1);
        assert_eq!(due, at("2026-11-30T23:59:59+08:00"));
    }
}
