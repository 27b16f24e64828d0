//! Checking a year's file before it goes live (`qihu calendar check`): the centre copies the State Council's
//! notice into `config/calendar/YYYY.toml` by hand once a year, and a wrong date would move every deadline of the
//! year. What is checked:
//!
//! - the file reads as a calendar file, and its name (`YYYY.toml`) is its `year`;
//! - every date lies in that year or within a month of it (元旦 may begin on 31 December);
//! - no date is listed twice, nor as both a holiday and an adjusted working day;
//! - an adjusted working day (调休上班) is a weekend day and names one of the file's holidays;
//! - the statutory holidays on fixed dates are all there: 元旦 (1 January), 劳动节 (1 May, and 2 May from 2025),
//!   国庆节 (1–3 October), by 《全国年节及纪念日放假办法》 art. 2;
//! - the year's working days are counted and, outside 240–255, flagged as worth a second look (a warning).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

use super::{Calendar, YearFile, parse_day};

/// What the check found in one year's file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct YearCheck {
    pub path: String,
    pub year: Option<i32>,
    pub notice: Option<String>,
    /// Holiday days and adjusted working days listed.
    pub holidays: usize,
    pub adjusted: usize,
    /// Working days of the year by this file.
    pub working_days: Option<usize>,
    /// Mistakes: the file must not go live with any.
    pub problems: Vec<String>,
    /// Worth a second look, not necessarily wrong.
    pub warnings: Vec<String>,
}

impl YearCheck {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The statutory holidays on fixed dates of `year`.
fn fixed_dates(year: i32) -> Vec<(NaiveDate, &'static str)> {
    super::FIXED_HOLIDAYS
        .iter()
        .filter(|(_, _, _, since)| year >= *since)
        .filter_map(|(month, day, name, _)| {
            NaiveDate::from_ymd_opt(year, *month, *day).map(|date| (date, *name))
        })
        .collect()
}

/// Checks the text of the file at `path`.
pub fn check_file(path: &str, text: &str) -> YearCheck {
    let mut check = YearCheck {
        path: path.to_owned(),
        ..YearCheck::default()
    };
    let file: YearFile = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            check.problems.push(format!("格式有误：{error}"));
            return check;
        }
    };
    check.year = Some(file.year);
    check.notice = Some(file.notice.clone());
    let stem = std::path::Path::new(path)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    if stem != file.year.to_string() {
        check.problems.push(format!(
            "文件名应为 {}.toml（year = {}）",
            file.year, file.year
        ));
    }
    let near = |date: NaiveDate| {
        (date.year() - file.year).abs() <= 1 && {
            let start = NaiveDate::from_ymd_opt(file.year, 1, 1).unwrap_or(date) - Days::new(31);
            let end = NaiveDate::from_ymd_opt(file.year, 12, 31).unwrap_or(date) + Days::new(31);
            (start..=end).contains(&date)
        }
    };
    let mut listed: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let mut holiday_names = BTreeSet::new();
    for holiday in &file.holiday {
        holiday_names.insert(holiday.name.as_str());
        for day in &holiday.days {
            let Ok(date) = parse_day(day, path) else {
                check
                    .problems
                    .push(format!("{}：日期“{day}”应写作 YYYY-MM-DD", holiday.name));
                continue;
            };
            if !near(date) {
                check
                    .problems
                    .push(format!("{}：{date} 不在 {} 年", holiday.name, file.year));
            }
            if let Some(earlier) = listed.insert(date, holiday.name.clone()) {
                check
                    .problems
                    .push(format!("{date} 重复列出（{earlier}、{}）", holiday.name));
            }
            check.holidays += 1;
        }
    }
    for day in &file.adjusted_working_day {
        let Ok(date) = parse_day(&day.date, path) else {
            check
                .problems
                .push(format!("调休上班日“{}”应写作 YYYY-MM-DD", day.date));
            continue;
        };
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            check
                .problems
                .push(format!("调休上班日 {date} 不是周六或周日"));
        }
        if !near(date) {
            check
                .problems
                .push(format!("调休上班日 {date} 不在 {} 年", file.year));
        }
        if let Some(holiday) = listed.get(&date) {
            check
                .problems
                .push(format!("{date} 既是{holiday}假期又是调休上班日"));
        }
        if !holiday_names.contains(day.holiday.as_str()) {
            check.problems.push(format!(
                "调休上班日 {date} 注明为“{}”调休，但文件中没有这个节日",
                day.holiday
            ));
        }
        check.adjusted += 1;
    }
    for (date, name) in fixed_dates(file.year) {
        if !listed.contains_key(&date) {
            check.problems.push(format!(
                "缺少法定节假日 {date}（{name}，《全国年节及纪念日放假办法》第二条）"
            ));
        }
    }
    if let Ok(calendar) = Calendar::from_texts(&[(path.to_owned(), text.to_owned())]) {
        let working = (1..=366)
            .filter_map(|ordinal| NaiveDate::from_yo_opt(file.year, ordinal))
            .filter(|date| calendar.is_working_day(*date))
            .count();
        check.working_days = Some(working);
        if !(240..=255).contains(&working) {
            check.warnings.push(format!(
                "全年工作日 {working} 天，通常在 245 至 251 天之间，请再核对一遍"
            ));
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(year: i32) -> (String, String) {
        let path = format!(
            "{}/../config/calendar/{year}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        (format!("{year}.toml"), text)
    }

    #[test]
    fn every_shipped_year_passes() {
        for year in 2022..=2026 {
            let (path, text) = shipped(year);
            let check = check_file(&path, &text);
            assert!(check.passed(), "{year}: {:?}", check.problems);
            assert!(check.warnings.is_empty(), "{year}: {:?}", check.warnings);
        }
        // 2026: 261 weekdays, 19 of them holidays (元旦 2, 春节 6, 清明 1, 劳动节 3, 端午 1, 中秋 1, 国庆 5), and
        // 6 weekend days worked.
        assert_eq!(
            check_file("2026.toml", &shipped(2026).1).working_days,
            Some(261 - 19 + 6)
        );
    }

    #[test]
    fn the_mistakes_of_a_hand_copied_notice_are_named() {
        let (_, text) = shipped(2026);
        // National Day typed as November, 9 May (an adjusted Saturday) also listed as a holiday, a weekday
        // listed as an adjusted working day, and the file saved under the wrong year.
        let wrong = text
            .replace("\"2026-10-01\"", "\"2026-11-01\"")
            .replace("\"2026-05-05\"]", "\"2026-05-05\", \"2026-05-09\"]")
            .replacen("date = \"2026-01-04\"", "date = \"2026-01-05\"", 1);
        let check = check_file("2027.toml", &wrong);
        let problems = check.problems.join("\n");
        assert!(problems.contains("文件名应为 2026.toml"), "{problems}");
        assert!(
            problems.contains("缺少法定节假日 2026-10-01（国庆节"),
            "{problems}"
        );
        assert!(
            problems.contains("2026-05-09 既是劳动节假期又是调休上班日"),
            "{problems}"
        );
        assert!(
            problems.contains("调休上班日 2026-01-05 不是周六或周日"),
            "{problems}"
        );
        assert!(!check.passed());

        let broken = check_file("2026.toml", "year = 2026\nnotice = ");
        assert!(
            broken.problems[0].starts_with("格式有误"),
            "{:?}",
            broken.problems
        );
    }
}
