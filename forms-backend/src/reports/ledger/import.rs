//! 问题台账导入: the weekly ledger (附件2) a town's or the zone's collector (问题征询专员) sends to the centre
//! (notice §二(一): collected at least weekly and reported to the centre every week), read from XLSX (or old
//! XLS) or CSV — UTF-8 with or without BOM, UTF-16 with BOM, or GB18030/GBK as older Excel saves it.
//!
//! Rules:
//! - The header row is found by its Chinese headers (企业名称, 存在问题、困难、诉求描述, 企业联系人及联系方式; 建议解决部门
//!   and 备注 when present) among the first rows of the first sheet; the lines above it (提报单位, 提报时间) are read
//!   when present. Blank rows, and the notice's hint row, are skipped.
//! - Every row is checked exactly as the intake form checks a request (the same [`NewRequest::parse`]): the
//!   contact cell is split into a name and a phone number. A bad row is reported with the row number the
//!   spreadsheet shows and every reason, in Chinese.
//! - Nothing is created unless every row is valid, or the user asked for the valid rows only.
//! - Each row is entered through the same intake as a request the centre enters (`Forms::submit_entered`),
//!   channel `collector`, 属地 the importing unit, with an idempotency key made of the unit and the row's
//!   content: importing the same file again (or a row again in next week's file) creates nothing new.

use std::io::Cursor;

use calamine::{Data, Reader};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dispatch::UnitKind;
use crate::domain::{Channel, EntryNote, NewRequest, RequestForm, fold_full_width};
use crate::store::StoreError;
use crate::workflow::{Forms, WorkflowError};

/// Rows of one file at most (a town's week is a few dozen).
pub const MAX_ROWS: usize = 5_000;
/// How far down the first sheet the header row is looked for.
const HEADER_SEARCH_ROWS: usize = 30;
/// The hint the notice prints in the first row of 附件2's description column.
const TEMPLATE_HINT: &str = "问题描述应符合政策要求，简明、准确";
/// Kind of an imported request whose row gives none: the ledger (附件2) lists problems and difficulties to solve
/// (求助). A town may add a column 诉求类型 (咨询、求助、建议、投诉), and the kind it gives is kept.
const IMPORTED_KIND: &str = "help";

/// The file as a whole cannot be imported; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("文件是空的")]
    Empty,
    #[error("无法读取文件：{0}")]
    Unreadable(String),
    #[error(
        "找不到问题台账的表头：第一张工作表的前{HEADER_SEARCH_ROWS}行中应有“企业名称”“存在问题、困难、诉求描述”“企业联系人及联系方式”三列（附件2格式）"
    )]
    NoHeader,
    #[error("表头下方没有问题记录")]
    NoRows,
    #[error("一次最多导入{MAX_ROWS}行，本文件有{0}行，请分批导入")]
    TooManyRows(usize),
    #[error("找不到单位“{0}”，请使用 config/units.toml 中的单位编号")]
    UnknownUnit(String),
    #[error("“{0}”不是镇街或开发区：问题台账由镇街、开发区的问题征询专员报送")]
    NotLocal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

/// One data row of a ledger as read, before any check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerRow {
    /// The row number the spreadsheet shows (1 for the first line of the file).
    pub row: usize,
    pub enterprise_name: String,
    pub description: String,
    pub suggested_department: String,
    /// 企业联系人及联系方式, as typed.
    pub contact: String,
    pub remark: String,
    /// 诉求类型, when the file has that column (not in 附件2 itself).
    pub kind: String,
}

/// A ledger file as read: its data rows and the header lines above the table.
#[derive(Debug, Clone, Default)]
pub struct LedgerFile {
    pub rows: Vec<LedgerRow>,
    /// 提报单位, as written in the file.
    pub reporting_unit: Option<String>,
    /// 提报时间, as written in the file.
    pub reported_on: Option<String>,
}

/// Whether a file with bad rows is refused whole or its valid rows are imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Nothing is created unless every row is valid.
    AllOrNothing,
    /// The valid rows are created; the bad ones are reported.
    ValidOnly,
}

/// A row that was (or had been) imported.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedRow {
    pub row: usize,
    pub tracking_number: String,
    pub enterprise_name: String,
    /// The earlier row of the same file with the same content, if that is why nothing was created.
    pub same_as_row: Option<usize>,
}

/// A row that cannot be imported, with every reason.
#[derive(Debug, Clone, Serialize)]
pub struct RowProblem {
    pub row: usize,
    pub reasons: Vec<String>,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第{}行：{}", self.row, self.reasons.join("；"))
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The importing unit's full name.
    pub unit: String,
    /// Data rows read from the file.
    pub rows: usize,
    pub created: Vec<ImportedRow>,
    /// Rows imported before (same unit, same content): nothing new was created for them.
    pub already: Vec<ImportedRow>,
    pub problems: Vec<RowProblem>,
    /// False when the file was refused because of its problems: nothing was created.
    pub applied: bool,
    /// Things worth a look that did not stop the import (e.g. a different 提报单位 in the file).
    pub warnings: Vec<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the file
// ---------------------------------------------------------------------------------------------------------------

/// Reads a ledger from the bytes of an XLSX, XLS or CSV file (which one is told by its content, not its name).
pub fn read_ledger(bytes: &[u8]) -> Result<LedgerFile, ImportError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let grid = if bytes.starts_with(b"PK\x03\x04") {
        spreadsheet::<calamine::Xlsx<_>>(bytes, "XLSX")?
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        spreadsheet::<calamine::Xls<_>>(bytes, "XLS")?
    } else {
        csv_grid(bytes)?
    };
    ledger_from_grid(&grid)
}

/// A sheet as rows of text, each with the row number the spreadsheet shows.
type Grid = Vec<(usize, Vec<String>)>;

fn spreadsheet<R>(bytes: &[u8], kind: &str) -> Result<Grid, ImportError>
where
    R: Reader<Cursor<Vec<u8>>>,
    R::Error: std::fmt::Display,
{
    let broken = |error: &dyn std::fmt::Display| {
        ImportError::Unreadable(format!(
            "{kind} 文件已损坏或不是 Excel 表格，请用 Excel 或 WPS 打开后另存为 .xlsx 再导入（{error}）"
        ))
    };
    let mut workbook: R =
        calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).map_err(|e| broken(&e))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| ImportError::Unreadable("工作簿中没有工作表".to_owned()))?
        .map_err(|e| broken(&e))?;
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    let first_column = range.start().map_or(0, |(_, column)| column as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(index, cells)| {
            // Columns keep their place from column A, so the header and the data line up however the sheet starts.
            let mut row = vec![String::new(); first_column];
            row.extend(cells.iter().map(cell_text));
            (first_row + index + 1, row)
        })
        .collect())
}

/// A cell as text: whole numbers (phone numbers typed as numbers) without a decimal point.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(text) => text.clone(),
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            format!("{}", *number as i64)
        }
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// Decodes a CSV file (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030) and splits it into rows; a row's
/// number is its record's place, as Excel shows it.
fn csv_grid(bytes: &[u8]) -> Result<Grid, ImportError> {
    let text = match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom)) => encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .map(|text| text.into_owned()),
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Some(text.to_owned()),
            Err(_) => encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned()),
        },
    };
    let text = text.filter(|text| !text.contains('\0')).ok_or_else(|| {
        ImportError::Unreadable(
            "文件既不是 Excel 表格，也不是 UTF-8 或 GB18030（GBK）编码的 CSV 文件".to_owned(),
        )
    })?;
    let first_line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| {
            ImportError::Unreadable(format!("CSV 第{}行无法解析：{error}", index + 1))
        })?;
        grid.push((index + 1, record.iter().map(str::to_owned).collect()));
    }
    Ok(grid)
}

/// Where the columns of the ledger are in the header row.
#[derive(Debug, Default)]
struct Columns {
    enterprise_name: Option<usize>,
    description: Option<usize>,
    suggested_department: Option<usize>,
    contact: Option<usize>,
    remark: Option<usize>,
    kind: Option<usize>,
}

/// A header as compared: without spaces, with half-width punctuation folded to the notice's full-width.
fn header_key(cell: &str) -> String {
    fold_full_width(cell)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            ',' | '，' => '、',
            '(' => '（',
            ')' => '）',
            other => other,
        })
        .collect()
}

impl Columns {
    fn of(cells: &[String]) -> Columns {
        let mut columns = Columns::default();
        for (index, cell) in cells.iter().enumerate() {
            let key = header_key(cell);
            let slot = if key == "企业名称" {
                &mut columns.enterprise_name
            } else if key.contains("诉求描述") || key.contains("问题描述") {
                &mut columns.description
            } else if key.contains("联系人") {
                &mut columns.contact
            } else if key.contains("解决部门") {
                &mut columns.suggested_department
            } else if key == "备注" {
                &mut columns.remark
            } else if key.contains("诉求类型") || key == "问题类型" || key == "类型" {
                &mut columns.kind
            } else {
                continue;
            };
            slot.get_or_insert(index);
        }
        columns
    }

    fn complete(&self) -> bool {
        self.enterprise_name.is_some() && self.description.is_some() && self.contact.is_some()
    }
}

/// The text after `label：` in a header line, up to the next label.
fn header_line_value(line: &str, label: &str) -> Option<String> {
    let rest = line.split_once(label)?.1;
    let rest = rest.trim_start_matches([':', '：', ' ', '\u{3000}']);
    let end = ["提报单位", "提报时间"]
        .iter()
        .filter_map(|other| rest.find(other))
        .min()
        .unwrap_or(rest.len());
    let value = rest[..end].trim_matches([' ', '\u{3000}', '\t']).to_owned();
    (!value.is_empty()).then_some(value)
}

fn ledger_from_grid(grid: &Grid) -> Result<LedgerFile, ImportError> {
    let (header_at, columns) = grid
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(at, (_, cells))| (at, Columns::of(cells)))
        .find(|(_, columns)| columns.complete())
        .ok_or(ImportError::NoHeader)?;
    let mut file = LedgerFile::default();
    for line in grid[..header_at].iter().flat_map(|(_, cells)| cells) {
        file.reporting_unit = file
            .reporting_unit
            .take()
            .or_else(|| header_line_value(line, "提报单位"));
        file.reported_on = file
            .reported_on
            .take()
            .or_else(|| header_line_value(line, "提报时间"));
    }
    let cell = |cells: &[String], column: Option<usize>| {
        column
            .and_then(|column| cells.get(column))
            .map(|text| text.trim().to_owned())
            .unwrap_or_default()
    };
    for (row, cells) in &grid[header_at + 1..] {
        let read = LedgerRow {
            row: *row,
            enterprise_name: cell(cells, columns.enterprise_name),
            description: cell(cells, columns.description),
            suggested_department: cell(cells, columns.suggested_department),
            contact: cell(cells, columns.contact),
            remark: cell(cells, columns.remark),
            kind: cell(cells, columns.kind),
        };
        let data = [
            &read.enterprise_name,
            &read.suggested_department,
            &read.contact,
            &read.remark,
        ];
        let description_only = data.iter().all(|text| text.is_empty());
        if description_only && (read.description.is_empty() || read.description == TEMPLATE_HINT) {
            continue;
        }
        file.rows.push(read);
    }
    if file.rows.is_empty() {
        return Err(ImportError::NoRows);
    }
    if file.rows.len() > MAX_ROWS {
        return Err(ImportError::TooManyRows(file.rows.len()));
    }
    Ok(file)
}

// ---------------------------------------------------------------------------------------------------------------
// Checking a row
// ---------------------------------------------------------------------------------------------------------------

const CONTACT_EXAMPLE: &str = "如“王经理 13812345678”";

/// Splits 企业联系人及联系方式 into a name and a phone number: `王经理 13812345678`, `王经理，0632-5512345`,
/// `13812345678（王经理）`, `联系人：王经理 电话：138 1234 5678`. The first run of digits (with spaces, hyphens,
/// brackets, `+` and `转`) that holds at least seven digits is the number; the name is what stands before it, or
/// after it when nothing does, without labels and punctuation.
pub(crate) fn split_contact(typed: &str) -> Result<(String, String), String> {
    let folded = fold_full_width(typed);
    let in_number = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | ' ' | '转');
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (at, c) in folded.char_indices().chain([(folded.len(), '\n')]) {
        match (in_number(c), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                runs.push((from, at));
                start = None;
            }
            _ => {}
        }
    }
    let number = runs.into_iter().find(|&(from, to)| {
        folded[from..to]
            .chars()
            .filter(char::is_ascii_digit)
            .count()
            >= 7
    });
    let Some((from, to)) = number else {
        return Err(format!("请写明联系电话（{CONTACT_EXAMPLE}）"));
    };
    let before = name_part(&folded[..from]);
    let name = if before.is_empty() {
        name_part(&folded[to..])
    } else {
        before
    };
    if name.is_empty() {
        return Err(format!("请写明企业联系人（{CONTACT_EXAMPLE}）"));
    }
    let number = folded[from..to].trim_matches([' ', '(', ')', '-']);
    Ok((name, number.to_owned()))
}

/// A name without the labels and punctuation around it (联系人：, 电话, brackets, commas).
fn name_part(text: &str) -> String {
    const LABELS: [&str; 8] = [
        "联系电话",
        "联系方式",
        "手机号码",
        "手机号",
        "联系人",
        "手机",
        "电话",
        "姓名",
    ];
    let separators = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ':' | '：'
                    | ','
                    | '，'
                    | '、'
                    | '/'
                    | ';'
                    | '；'
                    | '('
                    | ')'
                    | '（'
                    | '）'
                    | '-'
                    | '—'
                    | '.'
                    | '。'
            )
    };
    let mut name = text.trim_matches(separators);
    loop {
        let before = name;
        for label in LABELS {
            name = name.strip_prefix(label).unwrap_or(name);
            name = name.strip_suffix(label).unwrap_or(name);
        }
        name = name.trim_matches(separators);
        if name == before {
            return name.to_owned();
        }
    }
}

/// A valid row, ready to enter.
struct CheckedRow {
    request: NewRequest,
    remark: Option<EntryNote>,
    key: String,
}

/// The ledger column each intake field comes from, with its place in the ledger (reasons are listed in column
/// order).
fn column_of(field: &str) -> (usize, &'static str) {
    match field {
        "enterprise_name" => (1, "企业名称"),
        "description" => (2, "存在问题、困难、诉求描述"),
        "suggested_department" => (3, "建议解决部门"),
        "contact_name" | "contact_phone" => (4, "企业联系人及联系方式"),
        "town" => (0, "提报单位"),
        "kind" => (5, "诉求类型"),
        _ => (6, "其他"),
    }
}

/// Checks one row as the intake form checks a request, for the importing `unit` (its id) and `town` (属地).
fn check_row(row: &LedgerRow, unit: &str, town: &str) -> Result<CheckedRow, RowProblem> {
    let mut reasons: Vec<(usize, String)> = Vec::new();
    let contact_column = column_of("contact_name");
    let contact = if row.contact.trim().is_empty() {
        None
    } else {
        match split_contact(&row.contact) {
            Ok(contact) => Some(contact),
            Err(message) => {
                reasons.push((contact_column.0, format!("{}：{message}", contact_column.1)));
                None
            }
        }
    };
    let split = contact.is_some();
    let (contact_name, contact_phone) = contact.unwrap_or_default();
    let form = RequestForm {
        kind: Some(if row.kind.is_empty() {
            IMPORTED_KIND.to_owned()
        } else {
            row.kind.clone()
        }),
        enterprise_name: Some(row.enterprise_name.clone()),
        contact_name: Some(contact_name),
        contact_phone: Some(contact_phone),
        town: Some(town.to_owned()),
        description: Some(row.description.clone()),
        suggested_department: Some(row.suggested_department.clone()),
        ..RequestForm::default()
    };
    let request = match NewRequest::parse(&form, Channel::Collector) {
        Ok(request) => Some(request),
        Err(errors) => {
            for (field, message) in errors.iter() {
                let (place, column) = column_of(field);
                if field.starts_with("contact_") && !split {
                    // An empty contact cell is one reason, not two; one that could not be split is reported above.
                    if row.contact.trim().is_empty() && field == "contact_name" {
                        reasons.push((
                            place,
                            format!("{column}：请填写企业联系人及联系方式（{CONTACT_EXAMPLE}）"),
                        ));
                    }
                    continue;
                }
                reasons.push((place, format!("{column}：{message}")));
            }
            None
        }
    };
    let remark = match row.remark.trim() {
        "" => None,
        remark => match EntryNote::parse(remark) {
            Ok(note) => Some(note),
            Err(error) => {
                reasons.push((5, format!("备注：{error}")));
                None
            }
        },
    };
    match request {
        Some(request) if reasons.is_empty() => {
            let key = idempotency_key(unit, &request, remark.as_ref());
            Ok(CheckedRow {
                request,
                remark,
                key,
            })
        }
        _ => {
            reasons.sort_by_key(|(place, _)| *place);
            Err(RowProblem {
                row: row.row,
                reasons: reasons.into_iter().map(|(_, reason)| reason).collect(),
            })
        }
    }
}

/// `ledger:<unit>:<SHA-256 of the row's checked content>`: the same row from the same unit is the same request,
/// whichever file or row it comes in.
fn idempotency_key(unit: &str, request: &NewRequest, remark: Option<&EntryNote>) -> String {
    let mut hash = Sha256::new();
    for part in [
        request.enterprise_name.as_str(),
        request.description.as_str(),
        request.contact_name.as_str(),
        request.contact_phone.as_str(),
        request
            .suggested_department
            .as_ref()
            .map_or("", |text| text.as_str()),
        remark.map_or("", EntryNote::as_str),
    ] {
        hash.update(part.as_bytes());
        hash.update([0x1f]);
    }
    let digest: String = hash
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("ledger:{unit}:{digest}")
}

// ---------------------------------------------------------------------------------------------------------------
// Importing
// ---------------------------------------------------------------------------------------------------------------

/// Imports `file` as the ledger of unit `unit_id` (a town or the zone): every row checked first, then (all valid,
/// or [`ImportMode::ValidOnly`]) each valid row entered through the intake with `actor` on its first event.
pub async fn import_ledger(
    forms: &Forms,
    unit_id: &str,
    file: &LedgerFile,
    mode: ImportMode,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let unit = forms
        .directory
        .unit(unit_id.trim())
        .ok_or_else(|| ImportError::UnknownUnit(unit_id.trim().to_owned()))?;
    if unit.kind == UnitKind::Department {
        return Err(ImportError::NotLocal(unit.name.clone()));
    }
    let mut report = ImportReport {
        unit: unit.name.clone(),
        rows: file.rows.len(),
        created: Vec::new(),
        already: Vec::new(),
        problems: Vec::new(),
        applied: false,
        warnings: Vec::new(),
    };
    if let Some(named) = file.reporting_unit.as_deref()
        && forms
            .directory
            .town_unit(named)
            .is_some_and(|other| other.id != unit.id)
    {
        report.warnings.push(format!(
            "文件中的提报单位为“{named}”，与所选单位“{}”不一致，请确认",
            unit.name
        ));
    }
    let mut valid = Vec::new();
    for row in &file.rows {
        match check_row(row, &unit.id, unit.display_name()) {
            Ok(checked) => valid.push((row.row, checked)),
            Err(problem) => report.problems.push(problem),
        }
    }
    if !report.problems.is_empty() && mode == ImportMode::AllOrNothing {
        return Ok(report);
    }
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (row, checked) in valid {
        let enterprise_name = checked.request.enterprise_name.as_str().to_owned();
        if let Some((_, first)) = seen.iter().find(|(key, _)| *key == checked.key) {
            let tracking_number = report
                .created
                .iter()
                .chain(&report.already)
                .find(|imported| imported.row == *first)
                .map(|imported| imported.tracking_number.clone())
                .unwrap_or_default();
            report.already.push(ImportedRow {
                row,
                tracking_number,
                enterprise_name,
                same_as_row: Some(*first),
            });
            continue;
        }
        seen.push((checked.key.clone(), row));
        if let Some(existing) = forms.store.request_by_idempotency_key(&checked.key).await? {
            report.already.push(ImportedRow {
                row,
                tracking_number: existing.tracking_number,
                enterprise_name,
                same_as_row: None,
            });
            continue;
        }
        let note = match &checked.remark {
            Some(remark) => format!("问题台账导入（{}，第{row}行）；备注：{remark}", unit.name),
            None => format!("问题台账导入（{}，第{row}行）", unit.name),
        };
        let submitted = forms
            .submit_entered(
                &checked.request,
                actor,
                Some(&note),
                Some(&checked.key),
                now,
            )
            .await?;
        report.created.push(ImportedRow {
            row,
            tracking_number: submitted.row.tracking_number,
            enterprise_name,
            same_as_row: None,
        });
    }
    report.applied = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_cell_splits_into_name_and_phone() {
        let cases = [
            ("王经理 13812345678", "王经理", "13812345678"),
            ("王经理，0632-5512345", "王经理", "0632-5512345"),
            ("13812345678（王经理）", "王经理", "13812345678"),
            (
                "联系人：王经理 电话：138 1234 5678",
                "王经理",
                "138 1234 5678",
            ),
            ("李明/１３８１２３４５６７８", "李明", "13812345678"),
            ("张三 0632-5512345转123", "张三", "0632-5512345转123"),
        ];
        for (typed, name, phone) in cases {
            assert_eq!(
                split_contact(typed),
                Ok((name.to_owned(), phone.to_owned())),
                "{typed}"
            );
        }
        assert_eq!(
            split_contact("王经理").unwrap_err(),
            "请写明联系电话（如“王经理 13812345678”）"
        );
        assert_eq!(
            split_contact("电话：13812345678").unwrap_err(),
            "请写明企业联系人（如“王经理 13812345678”）"
        );
    }

    fn grid(rows: &[&[&str]]) -> Grid {
        rows.iter()
            .enumerate()
            .map(|(index, cells)| (index + 1, cells.iter().map(|c| (*c).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn the_header_row_is_found_below_the_title_and_header_lines() {
        // Arrange: the notice's layout, with the hint row and a blank numbered row.
        let grid = grid(&[
            &["企业发展、项目建设问题台账"],
            &["提报单位：洪绪镇          提报时间：2026年11月20日"],
            &[
                "序号",
                "企业名称",
                "存在问题、困难、诉求描述",
                "建议解决部门",
                "企业联系人及联系方式",
                "备注",
            ],
            &["", "", TEMPLATE_HINT, "", "", ""],
            &[
                "1",
                "滕州市恒达机械制造有限公司",
                "厂区门前道路积水，货车无法进出。",
                "住建局",
                "王经理 13812345678",
                "",
            ],
            &["2", "", "", "", "", ""],
        ]);

        // Act
        let file = ledger_from_grid(&grid).unwrap();

        // Assert
        assert_eq!(file.reporting_unit.as_deref(), Some("洪绪镇"));
        assert_eq!(file.reported_on.as_deref(), Some("2026年11月20日"));
        assert_eq!(file.rows.len(), 1);
        assert_eq!(file.rows[0].row, 5);
        assert_eq!(file.rows[0].suggested_department, "住建局");
        assert_eq!(file.rows[0].kind, "", "附件2 has no kind column");
    }

    #[test]
    fn a_kind_column_keeps_each_rows_kind_and_names_a_wrong_one() {
        let grid = grid(&[
            &[
                "企业名称",
                "诉求类型",
                "存在问题、困难、诉求描述",
                "企业联系人及联系方式",
            ],
            &[
                "滕州市恒达机械制造有限公司",
                "咨询",
                "想了解技术改造补贴的申报条件。",
                "王经理 13812345678",
            ],
            &[
                "滕州市恒达机械制造有限公司",
                "",
                "厂区门前道路积水，货车无法进出。",
                "王经理 13812345678",
            ],
            &[
                "滕州市恒达机械制造有限公司",
                "表扬",
                "感谢税务局上门服务。",
                "王经理 13812345678",
            ],
        ]);
        let file = ledger_from_grid(&grid).unwrap();
        let kinds: Vec<&str> = file.rows.iter().map(|row| row.kind.as_str()).collect();
        assert_eq!(kinds, ["咨询", "", "表扬"]);

        let consultation = check_row(&file.rows[0], "hongxu", "洪绪镇").ok().unwrap();
        assert_eq!(
            consultation.request.kind,
            crate::domain::RequestKind::Consultation
        );
        let help = check_row(&file.rows[1], "hongxu", "洪绪镇").ok().unwrap();
        assert_eq!(help.request.kind, crate::domain::RequestKind::Help);
        let wrong = check_row(&file.rows[2], "hongxu", "洪绪镇").err().unwrap();
        let reasons = format!("{wrong:?}");
        assert!(reasons.contains("诉求类型"), "{reasons}");
    }

    #[test]
    fn a_file_without_the_ledger_headers_is_refused() {
        let grid = grid(&[&["姓名", "电话"], &["王经理", "13812345678"]]);
        assert!(matches!(
            ledger_from_grid(&grid),
            Err(ImportError::NoHeader)
        ));
    }

    #[test]
    fn every_problem_of_a_row_is_named_by_its_column() {
        // Arrange
        let row = LedgerRow {
            row: 7,
            enterprise_name: String::new(),
            description: "路坏了".to_owned(),
            suggested_department: "部".repeat(101),
            contact: "王经理".to_owned(),
            remark: String::new(),
            kind: String::new(),
        };

        // Act
        let problem = check_row(&row, "hongxu", "洪绪镇").err().unwrap();

        // Assert
        assert_eq!(
            problem.to_string(),
            "第7行：企业名称：请填写企业名称；存在问题、困难、诉求描述：请把问题描述得具体一些（至少10个字）；\
             建议解决部门：此项不能超过100个字（现为101个字）；\
             企业联系人及联系方式：请写明联系电话（如“王经理 13812345678”）"
        );
    }

    #[test]
    fn the_key_of_a_row_depends_on_unit_and_content_not_on_spacing() {
        let row = |contact: &str| LedgerRow {
            row: 3,
            enterprise_name: "滕州市恒达机械制造有限公司".to_owned(),
            description: "厂区门前道路积水，货车无法进出。".to_owned(),
            contact: contact.to_owned(),
            ..LedgerRow::default()
        };
        let key = |row: &LedgerRow, unit: &str| check_row(row, unit, "洪绪镇").ok().unwrap().key;
        let first = key(&row("王经理 13812345678"), "hongxu");
        assert_eq!(first, key(&row(" 王经理  138 1234 5678 "), "hongxu"));
        assert_ne!(first, key(&row("王经理 13812345678"), "longquan"));
        assert!(first.starts_with("ledger:hongxu:"));
    }
}
