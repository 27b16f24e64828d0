//! Report periods (统计期间): a month `2026-10`, a quarter `2026-Q3`, a half-year `2026-H2` or a year `2026`, each
//! running from 00:00 (+08:00) of its first day to 00:00 (+08:00) of the first day after it (notice §二(五)2:
//! 一月一通报、一季度一测评、半年一排名、年终总评). Parsing answers in Chinese, naming the form that was expected.

use std::fmt;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

/// The four reports of notice §二(五)2, each with its period length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    /// 一月一通报: the monthly bulletin (`monthly_bulletin`).
    Monthly,
    /// 一季度一测评: the quarterly evaluation (`quarterly_evaluation`).
    Quarterly,
    /// 半年一排名: the half-year ranking (`half_year_ranking`).
    HalfYear,
    /// 年终总评: the annual assessment (`annual_assessment`).
    Annual,
}

impl ReportKind {
    pub const ALL: [ReportKind; 4] = [
        ReportKind::Monthly,
        ReportKind::Quarterly,
        ReportKind::HalfYear,
        ReportKind::Annual,
    ];

    /// The code used on the command line and in URLs.
    pub fn code(self) -> &'static str {
        match self {
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
            ReportKind::HalfYear => "half-year",
            ReportKind::Annual => "annual",
        }
    }

    /// The report's name as the notice says it.
    pub fn label(self) -> &'static str {
        match self {
            ReportKind::Monthly => "月通报",
            ReportKind::Quarterly => "季度测评",
            ReportKind::HalfYear => "半年排名",
            ReportKind::Annual => "年终总评",
        }
    }

    /// Other names people use for the report (the city's own wording varies: 季度评价, 年终考核).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            ReportKind::Monthly => &["月报", "一月一通报"],
            ReportKind::Quarterly => &["季度评价", "一季度一测评"],
            ReportKind::HalfYear => &["半年一排名"],
            ReportKind::Annual => &["年终考核", "年度考核"],
        }
    }

    /// The name of one period of this kind, for messages.
    pub fn period_noun(self) -> &'static str {
        match self {
            ReportKind::Monthly => "月份",
            ReportKind::Quarterly => "季度",
            ReportKind::HalfYear => "半年",
            ReportKind::Annual => "年度",
        }
    }

    /// How a period of this kind is written, with an example.
    pub fn period_hint(self) -> &'static str {
        match self {
            ReportKind::Monthly => "月份应写作“年-月”，如 2026-10",
            ReportKind::Quarterly => "季度应写作“年-Q季度”，如 2026-Q3（Q1 到 Q4）",
            ReportKind::HalfYear => "半年应写作 2026-H1（上半年）或 2026-H2（下半年）",
            ReportKind::Annual => "年度应写作四位年份，如 2026",
        }
    }

    fn months(self) -> u32 {
        match self {
            ReportKind::Monthly => 1,
            ReportKind::Quarterly => 3,
            ReportKind::HalfYear => 6,
            ReportKind::Annual => 12,
        }
    }
}

impl std::str::FromStr for ReportKind {
    type Err = PeriodError;

    /// Accepts the code (`half-year`, also `half_year`) or the Chinese name (半年排名).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        ReportKind::ALL
            .into_iter()
            .find(|kind| {
                kind.code() == input
                    || kind.code().replace('-', "_") == input
                    || kind.label() == input
                    || kind.aliases().contains(&input)
            })
            .ok_or_else(|| PeriodError::UnknownKind(input.to_owned()))
    }
}

/// A period could not be read; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("请填写统计期间：{0}")]
    Empty(&'static str),
    #[error("无法识别统计期间“{input}”：{hint}")]
    Malformed { input: String, hint: &'static str },
    #[error("{label}的统计期间应为{noun}（{hint}），“{input}”是{given}")]
    WrongKind {
        label: &'static str,
        noun: &'static str,
        hint: &'static str,
        input: String,
        given: &'static str,
    },
    #[error("月份应在 1 到 12 之间，“{0}”不是有效月份")]
    Month(String),
    #[error("季度应为 Q1 到 Q4，“{0}”不是有效季度")]
    Quarter(String),
    #[error("半年应为 H1（上半年）或 H2（下半年），“{0}”无效")]
    Half(String),
    #[error("年份应在 2000 到 2100 之间，“{0}”超出范围")]
    Year(String),
    #[error(
        "报表类型“{0}”无效，应为 monthly（月通报）、quarterly（季度测评）、half-year（半年排名）或 annual（年终总评）"
    )]
    UnknownKind(String),
}

/// One statistical period: `months` months from the first day of `first_month` of `year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    kind: ReportKind,
    year: i32,
    /// 1-based.
    first_month: u32,
}

impl Period {
    /// The month `2026-10`.
    pub fn month(year: i32, month: u32) -> Result<Period, PeriodError> {
        check_year(year)?;
        if !(1..=12).contains(&month) {
            return Err(PeriodError::Month(month.to_string()));
        }
        Ok(Period {
            kind: ReportKind::Monthly,
            year,
            first_month: month,
        })
    }

    /// The period of `kind` that contains `day`.
    pub fn containing(kind: ReportKind, day: NaiveDate) -> Period {
        let span = kind.months();
        Period {
            kind,
            year: day.year(),
            first_month: (day.month() - 1) / span * span + 1,
        }
    }

    /// The period of `kind` that contains the instant `at` (Shanghai time).
    pub fn containing_instant(kind: ReportKind, at: DateTime<Utc>) -> Period {
        Period::containing(kind, at.with_timezone(&Shanghai).date_naive())
    }

    /// Reads a period of the given kind: `2026-10` (also `2026-1`, `2026年10月`), `2026-Q3` (also `2026Q3`,
    /// `2026年第3季度`), `2026-H2` (also `2026年下半年`) or `2026` (also `2026年`).
    pub fn parse(kind: ReportKind, input: &str) -> Result<Period, PeriodError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PeriodError::Empty(kind.period_hint()));
        }
        let period = Period::parse_any(trimmed).map_err(|error| match error {
            PeriodError::Malformed { input, .. } => PeriodError::Malformed {
                input,
                hint: kind.period_hint(),
            },
            other => other,
        })?;
        if period.kind != kind {
            return Err(PeriodError::WrongKind {
                label: kind.label(),
                noun: kind.period_noun(),
                hint: kind.period_hint(),
                input: trimmed.to_owned(),
                given: period.kind.period_noun(),
            });
        }
        Ok(period)
    }

    /// Reads a period of any kind; the form decides the kind.
    pub fn parse_any(input: &str) -> Result<Period, PeriodError> {
        let text: String = input
            .trim()
            .chars()
            .map(|c| match c {
                // Full-width digits and letters as Chinese input methods type them.
                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                    char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                }
                '－' | '—' | '–' | '/' | '.' => '-',
                other => other,
            })
            .filter(|c| !c.is_whitespace())
            .collect();
        let malformed = || PeriodError::Malformed {
            input: input.trim().to_owned(),
            hint: "可写作 2026-10（月）、2026-Q3（季度）、2026-H2（半年）或 2026（年度）",
        };
        if text.is_empty() {
            return Err(PeriodError::Empty(
                "如 2026-10（月）、2026-Q3（季度）、2026-H2（半年）或 2026（年度）",
            ));
        }
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        if digits != 4 {
            return Err(malformed());
        }
        let year: i32 = text[..4].parse().map_err(|_| malformed())?;
        let rest = text[4..].trim_start_matches('-');
        let rest = rest.strip_prefix('年').unwrap_or(rest);
        let rest = rest.strip_suffix("年度").unwrap_or(rest);
        let period = if rest.is_empty() || rest == "度" {
            Period {
                kind: ReportKind::Annual,
                year,
                first_month: 1,
            }
        } else if let Some(quarter) = rest
            .strip_prefix(['Q', 'q'])
            .or_else(|| rest.strip_prefix('第').and_then(|q| q.strip_suffix("季度")))
        {
            let number = match quarter {
                "1" | "一" => 1,
                "2" | "二" => 2,
                "3" | "三" => 3,
                "4" | "四" => 4,
                _ => return Err(PeriodError::Quarter(quarter.to_owned())),
            };
            Period {
                kind: ReportKind::Quarterly,
                year,
                first_month: (number - 1) * 3 + 1,
            }
        } else if let Some(half) = rest.strip_prefix(['H', 'h']) {
            let number = match half {
                "1" => 1,
                "2" => 2,
                _ => return Err(PeriodError::Half(half.to_owned())),
            };
            Period {
                kind: ReportKind::HalfYear,
                year,
                first_month: (number - 1) * 6 + 1,
            }
        } else if rest == "上半年" || rest == "下半年" {
            Period {
                kind: ReportKind::HalfYear,
                year,
                first_month: if rest == "上半年" { 1 } else { 7 },
            }
        } else {
            let month = rest.strip_suffix('月').unwrap_or(rest);
            if month.is_empty() || month.len() > 2 || !month.chars().all(|c| c.is_ascii_digit()) {
                return Err(malformed());
            }
            let number: u32 = month.parse().map_err(|_| malformed())?;
            if !(1..=12).contains(&number) {
                return Err(PeriodError::Month(month.to_owned()));
            }
            Period {
                kind: ReportKind::Monthly,
                year,
                first_month: number,
            }
        };
        check_year(year)?;
        Ok(period)
    }

    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    /// The first calendar day.
    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.first_month, 1).unwrap_or_default()
    }

    /// The first calendar day after the period.
    pub fn day_after(&self) -> NaiveDate {
        self.first_day() + Months::new(self.kind.months())
    }

    /// The last calendar day.
    pub fn last_day(&self) -> NaiveDate {
        self.day_after().pred_opt().unwrap_or_default()
    }

    /// 00:00 (+08:00) of the first day.
    pub fn start(&self) -> DateTime<Utc> {
        shanghai_midnight(self.first_day())
    }

    /// 00:00 (+08:00) of the first day after the period (exclusive end).
    pub fn end(&self) -> DateTime<Utc> {
        shanghai_midnight(self.day_after())
    }

    /// The months of the period, each as a monthly period.
    pub fn months(&self) -> Vec<Period> {
        (0..self.kind.months())
            .map(|offset| Period {
                kind: ReportKind::Monthly,
                year: self.year,
                first_month: self.first_month + offset,
            })
            .collect()
    }

    /// The `count` months ending with the period's last month, oldest first (the trend line).
    pub fn trailing_months(&self, count: u32) -> Vec<Period> {
        let last = self.last_day();
        (0..count)
            .rev()
            .filter_map(|back| last.checked_sub_months(Months::new(back)))
            .map(|day| Period::containing(ReportKind::Monthly, day))
            .collect()
    }

    /// The period just before this one, of the same kind.
    pub fn previous(&self) -> Period {
        let day = self.first_day().pred_opt().unwrap_or_default();
        Period::containing(self.kind, day)
    }

    /// 2026年10月 · 2026年第三季度 · 2026年下半年 · 2026年度
    pub fn label(&self) -> String {
        match self.kind {
            ReportKind::Monthly => format!("{}年{}月", self.year, self.first_month),
            ReportKind::Quarterly => format!(
                "{}年第{}季度",
                self.year,
                ["一", "二", "三", "四"][((self.first_month - 1) / 3) as usize]
            ),
            ReportKind::HalfYear if self.first_month == 1 => format!("{}年上半年", self.year),
            ReportKind::HalfYear => format!("{}年下半年", self.year),
            ReportKind::Annual => format!("{}年度", self.year),
        }
    }

    /// Short label for chart axes: `10月`, or `2026-10` across years.
    pub fn short_label(&self) -> String {
        format!("{}月", self.first_month)
    }
}

impl fmt::Display for Period {
    /// The canonical form: `2026-10`, `2026-Q3`, `2026-H2`, `2026`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ReportKind::Monthly => write!(f, "{}-{:02}", self.year, self.first_month),
            ReportKind::Quarterly => write!(f, "{}-Q{}", self.year, (self.first_month - 1) / 3 + 1),
            ReportKind::HalfYear => write!(f, "{}-H{}", self.year, (self.first_month - 1) / 6 + 1),
            ReportKind::Annual => write!(f, "{}", self.year),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn check_year(year: i32) -> Result<(), PeriodError> {
    if (2000..=2100).contains(&year) {
        Ok(())
    } else {
        Err(PeriodError::Year(year.to_string()))
    }
}

/// 00:00 (+08:00) of `day` (China has no daylight saving time since 1991).
pub fn shanghai_midnight(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Shanghai
        .from_local_datetime(&midnight)
        .single()
        .map_or_else(
            || Utc.from_utc_datetime(&midnight),
            |at| at.with_timezone(&Utc),
        )
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
    fn each_kind_parses_with_shanghai_boundaries() {
        let month = Period::parse(ReportKind::Monthly, "2026-10").unwrap();
        assert_eq!(month.start(), at("2026-10-01T00:00:00+08:00"));
        assert_eq!(month.end(), at("2026-11-01T00:00:00+08:00"));
        assert_eq!(month.label(), "2026年10月");
        assert_eq!(month.to_string(), "2026-10");

        let quarter = Period::parse(ReportKind::Quarterly, "2026-Q3").unwrap();
        assert_eq!(quarter.start(), at("2026-07-01T00:00:00+08:00"));
        assert_eq!(quarter.end(), at("2026-10-01T00:00:00+08:00"));
        assert_eq!(quarter.label(), "2026年第三季度");
        assert_eq!(quarter.months().len(), 3);

        let half = Period::parse(ReportKind::HalfYear, "2026-h2").unwrap();
        assert_eq!(half.start(), at("2026-07-01T00:00:00+08:00"));
        assert_eq!(half.end(), at("2027-01-01T00:00:00+08:00"));
        assert_eq!(half.label(), "2026年下半年");
        assert_eq!(half.to_string(), "2026-H2");

        let year = Period::parse(ReportKind::Annual, " 2026 ").unwrap();
        assert_eq!(year.start(), at("2025-12-31T16:00:00Z"));
        assert_eq!(year.end(), at("2026-12-31T16:00:00Z"));
        assert_eq!(year.label(), "2026年度");
        assert_eq!(year.months().len(), 12);
    }

    #[test]
    fn chinese_and_full_width_forms_are_read() {
        assert_eq!(
            Period::parse_any("2026年3月").unwrap(),
            Period::month(2026, 3).unwrap()
        );
        assert_eq!(
            Period::parse_any("２０２６－１０").unwrap().to_string(),
            "2026-10"
        );
        assert_eq!(
            Period::parse_any("2026年第三季度").unwrap().to_string(),
            "2026-Q3"
        );
        assert_eq!(Period::parse_any("2026Q4").unwrap().to_string(), "2026-Q4");
        assert_eq!(
            Period::parse_any("2026年上半年").unwrap().to_string(),
            "2026-H1"
        );
        assert_eq!(Period::parse_any("2026年度").unwrap().to_string(), "2026");
        assert_eq!(Period::parse_any("2026-1").unwrap().to_string(), "2026-01");
    }

    #[test]
    fn wrong_periods_are_refused_in_chinese() {
        let message = |kind, input| Period::parse(kind, input).unwrap_err().to_string();
        assert_eq!(
            message(ReportKind::Monthly, "2026-13"),
            "月份应在 1 到 12 之间，“13”不是有效月份"
        );
        assert_eq!(
            message(ReportKind::Quarterly, "2026-Q5"),
            "季度应为 Q1 到 Q4，“5”不是有效季度"
        );
        assert_eq!(
            message(ReportKind::HalfYear, "2026-H3"),
            "半年应为 H1（上半年）或 H2（下半年），“3”无效"
        );
        assert_eq!(
            message(ReportKind::Monthly, "2026-Q3"),
            "月通报的统计期间应为月份（月份应写作“年-月”，如 2026-10），“2026-Q3”是季度"
        );
        assert_eq!(
            message(ReportKind::Annual, "十月"),
            "无法识别统计期间“十月”：年度应写作四位年份，如 2026"
        );
        assert_eq!(
            message(ReportKind::Monthly, ""),
            "请填写统计期间：月份应写作“年-月”，如 2026-10"
        );
        assert_eq!(
            message(ReportKind::Annual, "1999"),
            "年份应在 2000 到 2100 之间，“1999”超出范围"
        );
        assert!(Period::parse_any("2026-10-01").is_err());
        assert!(Period::parse_any("26-10").is_err());
    }

    #[test]
    fn trailing_months_and_previous_periods_cross_years() {
        let month = Period::month(2026, 2).unwrap();
        let months: Vec<String> = month
            .trailing_months(4)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(months, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(month.previous().to_string(), "2026-01");
        assert_eq!(
            Period::month(2026, 1).unwrap().previous().to_string(),
            "2025-12"
        );
        let quarter = Period::parse_any("2026-Q1").unwrap();
        assert_eq!(quarter.previous().to_string(), "2025-Q4");
        assert_eq!(
            Period::containing(
                ReportKind::Quarterly,
                NaiveDate::from_ymd_opt(2026, 8, 15).unwrap()
            )
            .to_string(),
            "2026-Q3"
        );
        // 23:30 on 31 October in UTC is already November in Shanghai.
        assert_eq!(
            Period::containing_instant(ReportKind::Monthly, at("2026-10-31T23:30:00Z")).to_string(),
            "2026-11"
        );
        assert_eq!(
            "half_year".parse::<ReportKind>().unwrap(),
            ReportKind::HalfYear
        );
        assert_eq!(
            "年终考核".parse::<ReportKind>().unwrap(),
            ReportKind::Annual
        );
        assert_eq!(
            "季度评价".parse::<ReportKind>().unwrap(),
            ReportKind::Quarterly
        );
        assert!("weekly".parse::<ReportKind>().is_err());
    }
}
