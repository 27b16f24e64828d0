//! The official tables (台账) of the notice 滕政办发〔2022〕1号, exactly as its attachments print them:
//! 附件2 问题台账 (`ledger`), 附件3 问题转办清单 (`dispatch_list`), 附件4 问题解决反馈表 (`feedback_form`) and
//! 附件5 问题解决情况满意度评价表 (`satisfaction_form`) — written as XLSX, CSV (UTF-8 with BOM) or a printable
//! page — and the weekly import of a town's or the zone's 问题台账 (notice §二(一)).
//!
//! Which orders a table lists for a period, and what a unit filter keeps, is decided in `tables`; how a table is
//! written in each format in `export`; reading and checking an uploaded ledger in `import`.

mod export;
mod import;
mod tables;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

pub use export::{Exported, export};
pub use import::{
    ImportError, ImportMode, ImportReport, ImportedRow, LedgerFile, RowProblem, import_ledger,
    read_ledger,
};

use crate::dispatch::{Directory, Unit};
use crate::store::StoreError;
use crate::store::ledger::LedgerSource;

/// One of the four official tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// 附件2 企业发展、项目建设问题台账
    Ledger,
    /// 附件3 企业发展、项目建设问题转办清单
    DispatchList,
    /// 附件4 企业发展、项目建设问题解决反馈表
    FeedbackForm,
    /// 附件5 企业发展、项目建设问题解决情况满意度评价表
    SatisfactionForm,
}

/// A column of a table: its header as the notice prints it and its width in Excel's character units (a Chinese
/// character takes about two).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub header: &'static str,
    pub width: f64,
}

const fn column(header: &'static str, width: f64) -> Column {
    Column { header, width }
}

/// Notice 附件2.
const LEDGER_COLUMNS: [Column; 6] = [
    column("序号", 6.0),
    column("企业名称", 26.0),
    column("存在问题、困难、诉求描述", 50.0),
    column("建议解决部门", 18.0),
    column("企业联系人及联系方式", 24.0),
    column("备注", 26.0),
];

/// Notice 附件3.
const DISPATCH_COLUMNS: [Column; 5] = [
    column("序号", 6.0),
    column("企业名称", 26.0),
    column("存在问题、困难、诉求描述", 56.0),
    column("企业联系人及联系方式", 24.0),
    column("建议解决部门", 32.0),
];

/// Notice 附件4.
const FEEDBACK_COLUMNS: [Column; 8] = [
    column("序号", 6.0),
    column("企业名称", 22.0),
    column("存在问题、困难、诉求描述", 40.0),
    column("是否解决", 10.0),
    column("解决方式", 36.0),
    column("所属镇街（部门）", 22.0),
    column("镇街（部门）联系人及联系方式", 24.0),
    column("备注", 20.0),
];

/// Notice 附件5.
const SATISFACTION_COLUMNS: [Column; 6] = [
    column("序号", 6.0),
    column("问题描述", 48.0),
    column("解决情况", 40.0),
    column("解决部门", 24.0),
    column("满意度评价", 14.0),
    column("意见建议", 32.0),
];

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Ledger,
        Table::DispatchList,
        Table::FeedbackForm,
        Table::SatisfactionForm,
    ];

    /// The name on the command line and in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Table::Ledger => "ledger",
            Table::DispatchList => "dispatch",
            Table::FeedbackForm => "feedback",
            Table::SatisfactionForm => "satisfaction",
        }
    }

    /// 附件2 … 附件5.
    pub fn attachment(self) -> &'static str {
        match self {
            Table::Ledger => "附件2",
            Table::DispatchList => "附件3",
            Table::FeedbackForm => "附件4",
            Table::SatisfactionForm => "附件5",
        }
    }

    /// The title exactly as the notice prints it.
    pub fn title(self) -> &'static str {
        match self {
            Table::Ledger => "企业发展、项目建设问题台账",
            Table::DispatchList => "企业发展、项目建设问题转办清单",
            Table::FeedbackForm => "企业发展、项目建设问题解决反馈表",
            Table::SatisfactionForm => "企业发展、项目建设问题解决情况满意度评价表",
        }
    }

    /// The short name used for sheets, files and menus.
    pub fn label(self) -> &'static str {
        match self {
            Table::Ledger => "问题台账",
            Table::DispatchList => "问题转办清单",
            Table::FeedbackForm => "问题解决反馈表",
            Table::SatisfactionForm => "满意度评价表",
        }
    }

    /// The columns exactly as the notice prints them, 序号 first.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Ledger => &LEDGER_COLUMNS,
            Table::DispatchList => &DISPATCH_COLUMNS,
            Table::FeedbackForm => &FEEDBACK_COLUMNS,
            Table::SatisfactionForm => &SATISFACTION_COLUMNS,
        }
    }

    /// 附件2, 4 and 5 carry the lines 提报单位 and 提报时间 above the table; 附件3 does not.
    pub fn has_reporting_lines(self) -> bool {
        self != Table::DispatchList
    }

    /// Which orders the table lists (see `docs/forms.md`, "Ledgers").
    pub(crate) fn source(self) -> LedgerSource {
        match self {
            Table::Ledger => LedgerSource::Received,
            Table::DispatchList => LedgerSource::Dispatched,
            Table::FeedbackForm => LedgerSource::Resolved,
            Table::SatisfactionForm => LedgerSource::Rated,
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.attachment(), self.label())
    }
}

/// The input named no table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "表格“{0}”无效，应为 ledger（附件2 问题台账）、dispatch（附件3 问题转办清单）、feedback（附件4 问题解决反馈表）或 satisfaction（附件5 满意度评价表）"
)]
pub struct UnknownTable(pub String);

impl FromStr for Table {
    type Err = UnknownTable;

    /// Accepts the code (`feedback`), the short name (问题解决反馈表) or the attachment (附件4).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        Table::ALL
            .into_iter()
            .find(|table| {
                table.code() == input || table.label() == input || table.attachment() == input
            })
            .ok_or_else(|| UnknownTable(input.to_owned()))
    }
}

/// How a table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Excel workbook: title, header lines, bold frozen header row, A4 landscape print setup.
    Xlsx,
    /// UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly.
    Csv,
    /// A printable page (A4 landscape).
    Html,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Xlsx, Format::Csv, Format::Html];

    /// The name on the command line and in URLs, and the file extension.
    pub fn code(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Xlsx => "Excel 表格（.xlsx）",
            Format::Csv => "CSV 文件（.csv）",
            Format::Html => "打印页面（.html）",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// The input named no format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("格式“{0}”无效，应为 xlsx、csv 或 html")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        Format::ALL
            .into_iter()
            .find(|format| format.code().eq_ignore_ascii_case(input))
            .ok_or_else(|| UnknownFormat(input.to_owned()))
    }
}

/// 统计期间: whole days in China Standard Time, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, LedgerError> {
        if to < from {
            return Err(LedgerError::Period { from, to });
        }
        Ok(Period { from, to })
    }

    pub fn from(self) -> NaiveDate {
        self.from
    }

    pub fn to(self) -> NaiveDate {
        self.to
    }

    /// The instants `[start, end)`: from 00:00 of the first day to 00:00 after the last, Shanghai time.
    pub fn instants(self) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |day: NaiveDate| {
            Shanghai
                .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
                .earliest()
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let after = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        (midnight(self.from), midnight(after))
    }

    /// 2026年11月1日至2026年11月30日 (one date when both ends are the same day).
    pub fn label(self) -> String {
        if self.from == self.to {
            chinese_date(self.from)
        } else {
            format!("{}至{}", chinese_date(self.from), chinese_date(self.to))
        }
    }
}

/// 2026年11月1日
pub fn chinese_date(day: NaiveDate) -> String {
    day.format("%Y年%-m月%-d日").to_string()
}

/// What to write: a table, its period and perhaps one unit.
#[derive(Debug, Clone)]
pub struct Selection {
    pub table: Table,
    pub period: Period,
    /// Only the orders that concern this unit (its id in `config/units.toml`): see `tables::UnitFilter`.
    pub unit: Option<String>,
}

impl Selection {
    /// A file name that says what the file holds: `附件2问题台账_2026-11-01至2026-11-30[_洪绪镇].xlsx`.
    pub fn file_name(&self, directory: &Directory, format: Format) -> String {
        let unit = self
            .unit
            .as_deref()
            .and_then(|id| directory.unit(id))
            .map(|unit| format!("_{}", unit.display_name()))
            .unwrap_or_default();
        format!(
            "{}{}_{}至{}{unit}.{}",
            self.table.attachment(),
            self.table.label(),
            self.period.from,
            self.period.to,
            format.code()
        )
    }
}

/// The lines above a table: title, 提报单位, 提报时间 and the period it covers.
#[derive(Debug, Clone, Serialize)]
pub struct Heading {
    pub attachment: &'static str,
    pub title: &'static str,
    /// 附件2, 4, 5: the lines 提报单位 and 提报时间.
    pub reporting_lines: bool,
    /// 提报单位: the unit the table is for, or the centre.
    pub reporting_unit: String,
    /// 提报时间: the day the table is produced.
    pub reported_on: String,
    /// 统计期间
    pub period: String,
}

impl Heading {
    fn new(
        selection: &Selection,
        unit: Option<&Unit>,
        directory: &Directory,
        today: NaiveDate,
    ) -> Heading {
        Heading {
            attachment: selection.table.attachment(),
            title: selection.table.title(),
            reporting_lines: selection.table.has_reporting_lines(),
            reporting_unit: unit
                .map_or_else(|| directory.centre.name.clone(), |unit| unit.name.clone()),
            reported_on: chinese_date(today),
            period: selection.period.label(),
        }
    }

    /// `提报单位：…`
    pub fn unit_line(&self) -> String {
        format!("提报单位：{}", self.reporting_unit)
    }

    /// `统计期间：…` and, for the tables that have it, `提报时间：…`.
    pub fn period_line(&self) -> String {
        if self.reporting_lines {
            format!(
                "统计期间：{}　　提报时间：{}",
                self.period, self.reported_on
            )
        } else {
            format!("统计期间：{}", self.period)
        }
    }
}

/// A table could not be written; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("结束日期（{to}）不能早于开始日期（{from}）")]
    Period { from: NaiveDate, to: NaiveDate },
    #[error("找不到单位“{0}”，请使用 config/units.toml 中的单位编号")]
    UnknownUnit(String),
    #[error("生成 Excel 文件失败：{0}")]
    Xlsx(String),
    #[error("生成 CSV 文件失败：{0}")]
    Csv(String),
    #[error("写入文件失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("打印页面模板有误：{0}")]
    Template(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_read_from_codes_names_and_attachments() {
        assert_eq!("feedback".parse(), Ok(Table::FeedbackForm));
        assert_eq!(" 附件3 ".parse(), Ok(Table::DispatchList));
        assert_eq!("问题台账".parse(), Ok(Table::Ledger));
        assert!("附件6".parse::<Table>().is_err());
        assert_eq!("XLSX".parse(), Ok(Format::Xlsx));
        assert_eq!(
            "pdf".parse::<Format>().unwrap_err().to_string(),
            "格式“pdf”无效，应为 xlsx、csv 或 html"
        );
    }

    #[test]
    fn the_columns_are_those_the_notice_prints() {
        let headers = |table: Table| -> Vec<&str> {
            table.columns().iter().map(|column| column.header).collect()
        };
        assert_eq!(
            headers(Table::Ledger),
            [
                "序号",
                "企业名称",
                "存在问题、困难、诉求描述",
                "建议解决部门",
                "企业联系人及联系方式",
                "备注"
            ]
        );
        assert_eq!(
            headers(Table::DispatchList),
            [
                "序号",
                "企业名称",
                "存在问题、困难、诉求描述",
                "企业联系人及联系方式",
                "建议解决部门"
            ]
        );
        assert_eq!(
            headers(Table::FeedbackForm),
            [
                "序号",
                "企业名称",
                "存在问题、困难、诉求描述",
                "是否解决",
                "解决方式",
                "所属镇街（部门）",
                "镇街（部门）联系人及联系方式",
                "备注"
            ]
        );
        assert_eq!(
            headers(Table::SatisfactionForm),
            [
                "序号",
                "问题描述",
                "解决情况",
                "解决部门",
                "满意度评价",
                "意见建议"
            ]
        );
        assert!(!Table::DispatchList.has_reporting_lines());
    }

    #[test]
    fn a_period_is_whole_shanghai_days() {
        // Arrange
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();

        // Act
        let period = Period::new(day(1), day(30)).unwrap();
        let (start, end) = period.instants();

        // Assert: 00:00 +08:00 is 16:00 UTC the day before.
        assert_eq!(start.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(period.label(), "2026年11月1日至2026年11月30日");
        assert_eq!(
            Period::new(day(2), day(1)).unwrap_err().to_string(),
            "结束日期（2026-11-01）不能早于开始日期（2026-11-02）"
        );
    }
}
