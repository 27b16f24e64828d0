//! The working-day calendar (工作日历): statutory holidays and adjusted working days (调休上班) from the State
//! Council's yearly notice (国务院办公厅关于YYYY年部分节假日安排的通知), one data file per year in
//! `config/calendar/`. Adding next year is one file, no code.
//!
//! Rules (Asia/Shanghai): a working day is a Monday–Friday that is not a holiday, or a weekend day listed as an
//! adjusted working day. A period of N working days does not count the day it starts (the day the order is
//! received or returned, Shanghai time) and ends at 23:59:59 (+08:00) of the N-th working day after it; 0 working
//! days ("same day") ends at the end of the start day. A year without a file falls back to Monday–Friday, loudly.

mod check;
mod live;

pub use check::{YearCheck, check_file};
pub use live::LiveCalendar;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Shown on an order whose deadline was counted without the year's holiday notice.
pub const FALLBACK_WARNING: &str = "节假日安排未发布，按周一至周五计算";

/// An instant as users read it, in Beijing time: `2026年11月25日 10:00`. The one format of every page and e-mail.
pub fn minute_label(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai)
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

/// A calendar file is missing or wrong.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("读取工作日历 {path} 失败：{source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("工作日历 {path} 格式有误：{message}")]
    Format { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
struct YearFile {
    year: i32,
    notice: String,
    #[serde(default)]
    doc_number: Option<String>,
    #[serde(default)]
    published: Option<toml::value::Datetime>,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
    #[serde(default)]
    adjusted_working_day: Vec<AdjustedEntry>,
}

#[derive(Debug, Clone, Deserialize)]
struct HolidayEntry {
    name: String,
    days: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct AdjustedEntry {
    date: String,
    #[serde(rename = "for")]
    holiday: String,
}

/// One year's notice, as loaded.
#[derive(Debug, Clone, Serialize)]
pub struct YearNotice {
    pub year: i32,
    pub notice: String,
    pub doc_number: Option<String>,
    pub published: Option<String>,
}

/// What a calendar day is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// 工作日 (Monday–Friday).
    Working,
    /// 调休上班: a weekend day that is a working day.
    AdjustedWorkingDay { holiday: String },
    /// 周末
    Weekend,
    /// 法定节假日
    Holiday { name: String },
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::AdjustedWorkingDay { .. })
    }
}

/// The loaded calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    holidays: BTreeMap<NaiveDate, String>,
    adjusted: BTreeMap<NaiveDate, String>,
    notices: Vec<YearNotice>,
    version: String,
}

/// A computed deadline and why (the `qihu deadline --json` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    #[serde(serialize_with = "serialize_shanghai")]
    pub from: DateTime<Utc>,
    pub start_date: NaiveDate,
    pub working_days: u32,
    /// RFC 3339 with +08:00 in JSON.
    #[serde(serialize_with = "serialize_shanghai")]
    pub due: DateTime<Utc>,
    pub counted: Vec<NaiveDate>,
    pub skipped: Vec<Skipped>,
    pub calendar: String,
    pub fallback: bool,
}

/// A day the count passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub date: NaiveDate,
    pub reason: String,
}

fn serialize_shanghai<S: serde::Serializer>(
    due: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&due.with_timezone(&Shanghai).to_rfc3339())
}

fn parse_day(text: &str, path: &str) -> Result<NaiveDate, CalendarError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| CalendarError::Format {
        path: path.to_owned(),
        message: format!("日期“{text}”应为 YYYY-MM-DD"),
    })
}

fn weekday_label(date: NaiveDate) -> &'static str {
    match date.weekday() {
        Weekday::Sat => "周六",
        Weekday::Sun => "周日",
        _ => "工作日",
    }
}

/// The calendar files in `dir` (`*.toml`), in name order.
pub fn year_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, CalendarError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| CalendarError::Read {
            path: dir.display().to_string(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The statutory holidays on fixed dates, by 《全国年节及纪念日放假办法》 art. 2: month, day, name and the first year
/// of the rule (the 2024 revision, in force from 2025, made 劳动节 two days).
const FIXED_HOLIDAYS: [(u32, u32, &str, i32); 6] = [
    (1, 1, "元旦", i32::MIN),
    (5, 1, "劳动节", i32::MIN),
    (5, 2, "劳动节", 2025),
    (10, 1, "国庆节", i32::MIN),
    (10, 2, "国庆节", i32::MIN),
    (10, 3, "国庆节", i32::MIN),
];

/// The statutory holiday on a fixed date that `date` is, whether or not a notice lists it.
fn fixed_holiday_on(date: NaiveDate) -> Option<&'static str> {
    FIXED_HOLIDAYS
        .iter()
        .find(|(month, day, _, since)| {
            date.month() == *month && date.day() == *day && date.year() >= *since
        })
        .map(|(_, _, name, _)| *name)
}

impl Calendar {
    /// Reads every `YYYY.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<Calendar, CalendarError> {
        let mut texts = Vec::new();
        for path in year_files(dir)? {
            let text = std::fs::read_to_string(&path).map_err(|source| CalendarError::Read {
                path: path.display().to_string(),
                source,
            })?;
            texts.push((path.display().to_string(), text));
        }
        Calendar::from_texts(&texts)
    }

    /// Builds a calendar from `(name, TOML text)` pairs.
    pub fn from_texts(texts: &[(String, String)]) -> Result<Calendar, CalendarError> {
        let mut holidays = BTreeMap::new();
        let mut adjusted = BTreeMap::new();
        let mut notices = Vec::new();
        let mut hasher = Sha256::new();
        for (path, text) in texts {
            hasher.update(text.as_bytes());
            let file: YearFile = toml::from_str(text).map_err(|error| CalendarError::Format {
                path: path.clone(),
                message: error.to_string(),
            })?;
            for holiday in &file.holiday {
                for day in &holiday.days {
                    holidays.insert(parse_day(day, path)?, holiday.name.clone());
                }
            }
            for day in &file.adjusted_working_day {
                let date = parse_day(&day.date, path)?;
                if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                    return Err(CalendarError::Format {
                        path: path.clone(),
                        message: format!("调休上班日 {date} 不是周末"),
                    });
                }
                adjusted.insert(date, day.holiday.clone());
            }
            notices.push(YearNotice {
                year: file.year,
                notice: file.notice,
                doc_number: file.doc_number,
                published: file.published.map(|date| date.to_string()),
            });
        }
        notices.sort_by_key(|notice| notice.year);
        let hash = hasher.finalize();
        let years = match (notices.first(), notices.last()) {
            (Some(first), Some(last)) => format!("{}–{}", first.year, last.year),
            _ => "无".to_owned(),
        };
        let mut version = format!("工作日历 {years} #");
        for byte in &hash[..4] {
            let _ = write!(version, "{byte:02x}");
        }
        Ok(Calendar {
            holidays,
            adjusted,
            notices,
            version,
        })
    }

    /// Names the data this calendar was built from (years and a content hash), frozen on every deadline.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn notices(&self) -> &[YearNotice] {
        &self.notices
    }

    /// True when the year's holiday notice is loaded.
    pub fn covers(&self, year: i32) -> bool {
        self.notices.iter().any(|notice| notice.year == year)
    }

    /// The year whose notice is missing and matters now: this year's all through the year, next year's from
    /// November on (when the State Council usually publishes it). `None` while both are there.
    pub fn missing_next_year(&self, today: NaiveDate) -> Option<i32> {
        let this = today.year();
        if !self.covers(this) {
            return Some(this);
        }
        let next = this + 1;
        (today.month() >= 11 && !self.covers(next)).then_some(next)
    }

    /// The warning staff see (console banner, start-up log) while a notice that matters is missing, naming the
    /// file to add.
    pub fn missing_next_year_warning(&self, today: NaiveDate, dir: &str) -> Option<String> {
        self.missing_next_year(today).map(|year| {
            format!(
                "工作日历缺少{year}年的节假日安排：请在国务院办公厅关于{year}年部分节假日安排的通知发布后添加 \
                 {dir}/{year}.toml；在此之前，{year}年的办理期限按周一至周五计算（元旦、劳动节、国庆节的法定日期仍不计入）。"
            )
        })
    }

    /// A statutory holiday on a fixed date in a year without a notice: 元旦 (1 January), 劳动节 (1–2 May), 国庆节
    /// (1–3 October), by 《全国年节及纪念日放假办法》 (2024 revision, in force from 2025) art. 2. The holidays of the
    /// lunar calendar (春节, 端午, 中秋) and 清明 move from year to year and come only with the notice.
    fn fixed_holiday(&self, date: NaiveDate) -> Option<&'static str> {
        // The day of the year first (stored in the date, unlike month and day): this runs for every day a
        // deadline counts.
        // These ordinals hold every date of FIXED_HOLIDAYS in common and leap years.
        if !matches!(date.ordinal(), 1 | 121..=123 | 274..=277) {
            return None;
        }
        fixed_holiday_on(date).filter(|_| !self.covers(date.year()))
    }

    pub fn day(&self, date: NaiveDate) -> DayKind {
        if let Some(holiday) = self.adjusted.get(&date) {
            return DayKind::AdjustedWorkingDay {
                holiday: holiday.clone(),
            };
        }
        if let Some(name) = self.holidays.get(&date) {
            return DayKind::Holiday { name: name.clone() };
        }
        if let Some(name) = self.fixed_holiday(date) {
            return DayKind::Holiday {
                name: name.to_owned(),
            };
        }
        match date.weekday() {
            Weekday::Sat | Weekday::Sun => DayKind::Weekend,
            _ => DayKind::Working,
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.adjusted.contains_key(&date) {
            return true;
        }
        !self.holidays.contains_key(&date)
            && !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && self.fixed_holiday(date).is_none()
    }

    /// The due instant of a period of `working_days` starting at `from` (fast path, no explanation).
    pub fn due(&self, from: DateTime<Utc>, working_days: u32) -> DateTime<Utc> {
        let mut day = from.with_timezone(&Shanghai).date_naive();
        let mut counted = 0;
        while counted < working_days {
            day = day + Days::new(1);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        end_of_day(day)
    }

    /// The due instant with the explanation: which days counted, which were skipped and why.
    pub fn deadline(&self, from: DateTime<Utc>, working_days: u32) -> Deadline {
        let start_date = from.with_timezone(&Shanghai).date_naive();
        let mut day = start_date;
        let mut counted = Vec::with_capacity(working_days as usize);
        let mut skipped = Vec::new();
        let mut fallback = !self.covers(start_date.year()) && working_days == 0;
        while counted.len() < working_days as usize {
            day = day + Days::new(1);
            if !self.covers(day.year()) {
                fallback = true;
            }
            match self.day(day) {
                kind if kind.is_working() => counted.push(day),
                DayKind::Holiday { name } => skipped.push(Skipped {
                    date: day,
                    reason: format!("{name}假期"),
                }),
                _ => skipped.push(Skipped {
                    date: day,
                    reason: format!("{}（休息日）", weekday_label(day)),
                }),
            }
        }
        Deadline {
            from,
            start_date,
            working_days,
            due: end_of_day(day),
            counted,
            skipped,
            calendar: self.version.clone(),
            fallback,
        }
    }
}

/// 23:59:59 (+08:00) of `day`.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
    Shanghai.from_local_datetime(&end).single().map_or_else(
        || Utc.from_utc_datetime(&end),
        |due| due.with_timezone(&Utc),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shipped() -> Calendar {
        Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar"))
            .expect("shipped calendar loads")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn spring_festival_2026_with_its_adjusted_saturdays() {
        // Received Friday 2026-02-13. 14 Feb (Sat) is a working day; 15–23 Feb is the break; 28 Feb (Sat) works.
        let deadline = shipped().deadline(at("2026-02-13T09:30:00+08:00"), 5);
        assert_eq!(
            deadline.counted,
            [
                "2026-02-14",
                "2026-02-24",
                "2026-02-25",
                "2026-02-26",
                "2026-02-27"
            ]
            .map(date)
        );
        assert_eq!(deadline.due, at("2026-02-27T23:59:59+08:00"));
        assert!(deadline.skipped.iter().any(|s| s.reason == "春节假期"));
        assert!(!deadline.fallback);
    }

    #[test]
    fn national_day_2025_with_mid_autumn() {
        // Received Friday 2025-09-26: 28 Sep (Sun) works, 1–8 Oct off, 11 Oct (Sat) works.
        let deadline = shipped().deadline(at("2025-09-26T16:00:00+08:00"), 5);
        assert_eq!(
            deadline.counted,
            [
                "2025-09-28",
                "2025-09-29",
                "2025-09-30",
                "2025-10-09",
                "2025-10-10"
            ]
            .map(date)
        );
        assert_eq!(deadline.due, at("2025-10-10T23:59:59+08:00"));
    }

    #[test]
    fn the_start_day_is_the_shanghai_day_and_same_day_ends_at_midnight() {
        let calendar = shipped();
        // 17:00 UTC on Tuesday is already Wednesday in Shanghai.
        let deadline = calendar.deadline(at("2026-11-24T17:00:00Z"), 1);
        assert_eq!(deadline.start_date, date("2026-11-25"));
        assert_eq!(deadline.due, at("2026-11-26T23:59:59+08:00"));
        assert_eq!(
            calendar.due(at("2026-11-25T10:00:00+08:00"), 0),
            at("2026-11-25T23:59:59+08:00")
        );
    }

    #[test]
    fn a_year_without_a_notice_falls_back_to_weekdays_loudly() {
        let calendar = shipped();
        // Friday 1 October 2027 is 国庆节 by law even without the notice; then the weekend.
        let deadline = calendar.deadline(at("2027-09-30T10:00:00+08:00"), 3);
        assert!(deadline.fallback);
        assert_eq!(deadline.due, at("2027-10-06T23:59:59+08:00"));
        assert_eq!(deadline.skipped[0].reason, "国庆节假期");
        assert_eq!(calendar.missing_next_year(date("2026-11-25")), Some(2027));
        assert_eq!(calendar.missing_next_year(date("2026-10-31")), None);
        // All through a year without its notice, not only from the November before.
        assert_eq!(calendar.missing_next_year(date("2027-06-15")), Some(2027));
        let warning = calendar
            .missing_next_year_warning(date("2026-11-25"), "config/calendar")
            .unwrap();
        assert!(warning.contains("config/calendar/2027.toml"), "{warning}");
        assert!(warning.contains("按周一至周五计算"), "{warning}");
    }

    #[test]
    fn without_a_notice_the_fixed_statutory_holidays_still_rest() {
        let calendar = shipped();
        // Friday 28 April 2028: Monday 1 and Tuesday 2 May are 劳动节, so one working day ends on Wednesday.
        let deadline = calendar.deadline(at("2028-04-28T10:00:00+08:00"), 1);
        assert_eq!(deadline.due, at("2028-05-03T23:59:59+08:00"));
        assert!(deadline.fallback);
        assert_eq!(
            calendar.day(date("2028-05-02")),
            DayKind::Holiday {
                name: "劳动节".to_owned()
            }
        );
        assert!(!calendar.is_working_day(date("2027-01-01")));
        assert!(!calendar.is_working_day(date("2028-10-03")));
        assert!(calendar.is_working_day(date("2028-10-09")));
        // Where the notice is loaded, it alone decides (2026: 1 May–5 May, with 9 May worked).
        assert!(calendar.is_working_day(date("2026-05-09")));
        assert_eq!(
            calendar.due(at("2028-04-28T10:00:00+08:00"), 1),
            deadline.due
        );
    }

    #[test]
    fn each_year_has_the_working_days_of_its_notice() {
        let calendar = shipped();
        for (year, expected) in [
            (2022, 249),
            (2023, 249),
            (2024, 251),
            (2025, 248),
            (2026, 248),
        ] {
            let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            let days = first.iter_days().take_while(|d| d.year() == year);
            assert_eq!(
                days.filter(|d| calendar.is_working_day(*d)).count(),
                expected,
                "{year}"
            );
        }
    }

    proptest! {
        #[test]
        fn due_days_are_working_days_with_exactly_n_between(
            start in 0i64..(5 * 366), minutes in 0i64..1440, n in 0u32..30
        ) {
            let calendar = shipped();
            let from = at("2022-01-01T00:00:00+08:00") + chrono::Duration::days(start) + chrono::Duration::minutes(minutes);
            let deadline = calendar.deadline(from, n);
            let due_day = deadline.due.with_timezone(&Shanghai).date_naive();
            if n > 0 {
                prop_assert!(calendar.is_working_day(due_day));
            }
            let between = deadline.start_date.iter_days().skip(1).take_while(|d| *d <= due_day)
                .filter(|d| calendar.is_working_day(*d)).count();
            prop_assert_eq!(between, n as usize);
            prop_assert_eq!(deadline.due, calendar.due(from, n));
        }

        #[test]
        fn later_starts_never_give_earlier_deadlines(start in 0i64..(5 * 366), gap in 0i64..(60 * 24 * 20), n in 0u32..15) {
            let calendar = shipped();
            let from = at("2022-01-01T00:00:00+08:00") + chrono::Duration::days(start);
            let later = from + chrono::Duration::minutes(gap);
            prop_assert!(calendar.due(later, n) >= calendar.due(from, n));
        }
    }
}
