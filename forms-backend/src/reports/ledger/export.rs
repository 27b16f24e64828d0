//! Writing a table: orders stream from the database one at a time into an XLSX workbook (rust_xlsxwriter in
//! constant-memory mode: each row goes to a temporary file as it is written), a CSV file (UTF-8 with BOM) or a
//! printable page (tera, A4 landscape).
//!
//! Text from users never becomes a formula: a CSV cell that begins with `=`, `+`, `-`, `@`, tab or carriage
//! return gets a leading `'` (OWASP's advice for CSV injection); in XLSX every text is written as a string and
//! such cells are also marked quote-prefixed, so Excel keeps them as text even when the cell is edited.

use std::borrow::Cow;
use std::io::{Seek, Write};

use chrono::NaiveDate;
use rust_xlsxwriter::{Format as CellFormat, FormatAlign, FormatBorder, Workbook, Worksheet};
use serde::Serialize;
use tera::{Context, Tera};

use super::tables::{UnitFilter, cells};
use super::{Column, Format, Heading, LedgerError, Selection};
use crate::dispatch::Directory;
use crate::store::Store;

/// The byte-order mark that tells Excel a CSV file is UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The printable page's template (`site-templates/reports/ledger.html`).
pub const PRINT_TEMPLATE: &str = "reports/ledger.html";

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// Rows of the table (orders or events), not counting the title and header lines.
    pub rows: u64,
}

/// Writes `selection` as `format` to `out`, reading the orders one at a time. `today` is the 提报时间;
/// `templates` and `page` (the site context every page sees) are used for the printable page only.
#[allow(clippy::too_many_arguments)]
pub async fn export<W: Write + Seek + Send>(
    store: &Store,
    directory: &Directory,
    templates: &Tera,
    page: &Context,
    selection: &Selection,
    format: Format,
    today: NaiveDate,
    out: W,
) -> Result<Exported, LedgerError> {
    let unit = selection
        .unit
        .as_deref()
        .map(|id| {
            directory
                .unit(id)
                .ok_or_else(|| LedgerError::UnknownUnit(id.to_owned()))
        })
        .transpose()?;
    let heading = Heading::new(selection, unit, directory, today);
    let columns = selection.table.columns();
    let mut sink = match format {
        Format::Xlsx => Sink::Xlsx(
            Box::new(XlsxSink::begin(&heading, selection.table.label(), columns)?),
            out,
        ),
        Format::Csv => Sink::Csv(Box::new(CsvSink::begin(&heading, columns, out)?)),
        Format::Html => Sink::Html(Vec::new(), out),
    };
    let mut filter = UnitFilter::new(directory, unit);
    let (start, end) = selection.period.instants();
    let mut rows = 0u64;
    store
        .each_ledger_entry(selection.table.source(), start, end, |entry| {
            if !filter.admits(&entry) {
                return Ok(());
            }
            rows += 1;
            sink.row(rows, cells(selection.table, &entry, directory))
        })
        .await?;
    match sink {
        Sink::Xlsx(xlsx, out) => xlsx.finish(out)?,
        Sink::Csv(csv) => csv.finish()?,
        Sink::Html(rows, mut out) => {
            let mut context = page.clone();
            context.insert("heading", &heading);
            context.insert("columns", columns);
            // The page shares the workbook's proportions: each column's share of the width, in per cent.
            let total: f64 = columns.iter().map(|column| column.width).sum();
            let widths: Vec<String> = columns
                .iter()
                .map(|column| format!("{:.1}%", column.width / total * 100.0))
                .collect();
            context.insert("widths", &widths);
            context.insert("rows", &rows);
            let html = templates
                .render(PRINT_TEMPLATE, &context)
                .map_err(|error| LedgerError::Template(format!("{error:?}")))?;
            out.write_all(html.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Exported { rows })
}

/// Where rows go while they stream in, and where the finished table is written.
enum Sink<W: Write> {
    Xlsx(Box<XlsxSink>, W),
    Csv(Box<CsvSink<W>>),
    /// The printable page is rendered whole at the end.
    Html(Vec<PrintRow>, W),
}

/// A row of the printable page.
#[derive(Debug, Serialize)]
struct PrintRow {
    number: u64,
    cells: Vec<String>,
}

impl<W: Write> Sink<W> {
    fn row(&mut self, number: u64, cells: Vec<String>) -> Result<(), LedgerError> {
        match self {
            Sink::Xlsx(xlsx, _) => xlsx.row(number, &cells),
            Sink::Csv(csv) => csv.row(number, &cells),
            Sink::Html(rows, _) => {
                rows.push(PrintRow { number, cells });
                Ok(())
            }
        }
    }
}

/// True when a spreadsheet would read the text as a formula (or a DDE command): it begins with `=`, `+`, `-`,
/// `@`, a tab or a carriage return.
pub fn is_formula_like(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The text as a CSV cell that no spreadsheet runs: formula-like text gets a leading `'`.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if is_formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------------------------------------------

/// Rows above the data: title, the header lines, the column headers.
const HEADER_ROWS: u32 = 3;
/// Paper size 9 is A4 in Excel's numbering.
const A4: u8 = 9;
/// 宋体: the body font of Chinese official tables.
const FONT: &str = "宋体";

struct XlsxSink {
    workbook: Workbook,
    body: CellFormat,
    /// The body format with Excel's quote prefix, for formula-like text.
    quoted: CellFormat,
    number: CellFormat,
}

fn xlsx_error(error: rust_xlsxwriter::XlsxError) -> LedgerError {
    LedgerError::Xlsx(error.to_string())
}

impl XlsxSink {
    fn begin(heading: &Heading, sheet: &str, columns: &[Column]) -> Result<XlsxSink, LedgerError> {
        let mut workbook = Workbook::new();
        let worksheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        Self::frame(worksheet, heading, sheet, columns).map_err(xlsx_error)?;
        let body = CellFormat::new()
            .set_font_name(FONT)
            .set_font_size(11)
            .set_text_wrap()
            .set_align(FormatAlign::Top)
            .set_border(FormatBorder::Thin);
        Ok(XlsxSink {
            quoted: body.clone().set_quote_prefix(),
            number: body.clone().set_align(FormatAlign::Center),
            body,
            workbook,
        })
    }

    /// The title, header lines and column headers, column widths and the print setup: A4 landscape, one page
    /// wide, the first three rows repeated on every page, frozen below the column headers.
    fn frame(
        worksheet: &mut Worksheet,
        heading: &Heading,
        sheet: &str,
        columns: &[Column],
    ) -> Result<(), rust_xlsxwriter::XlsxError> {
        let last = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0);
        worksheet.set_name(sheet)?;
        for (index, column) in (0u16..).zip(columns) {
            worksheet.set_column_width(index, column.width)?;
        }
        let title = CellFormat::new()
            .set_font_name(FONT)
            .set_font_size(18)
            .set_bold()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        let line = CellFormat::new()
            .set_font_name(FONT)
            .set_font_size(11)
            .set_align(FormatAlign::VerticalCenter);
        let header = CellFormat::new()
            .set_font_name(FONT)
            .set_font_size(11)
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_border(FormatBorder::Thin)
            .set_background_color(rust_xlsxwriter::Color::RGB(0xF2F2F2));
        worksheet.set_row_height(0, 36)?;
        worksheet.merge_range(0, 0, 0, last, heading.title, &title)?;
        worksheet.set_row_height(1, 22)?;
        if heading.reporting_lines && last >= 1 {
            let middle = last.div_ceil(2);
            worksheet.merge_range(1, 0, 1, middle - 1, &heading.unit_line(), &line)?;
            worksheet.merge_range(
                1,
                middle,
                1,
                last,
                &heading.period_line(),
                &line.clone().set_align(FormatAlign::Right),
            )?;
        } else {
            worksheet.merge_range(1, 0, 1, last, &heading.period_line(), &line)?;
        }
        worksheet.set_row_height(2, 32)?;
        for (index, column) in (0u16..).zip(columns) {
            worksheet.write_string_with_format(2, index, column.header, &header)?;
        }
        worksheet.set_freeze_panes(HEADER_ROWS, 0)?;
        worksheet.set_landscape();
        worksheet.set_paper_size(A4);
        worksheet.set_print_fit_to_pages(1, 0);
        worksheet.set_print_center_horizontally(true);
        worksheet.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
        worksheet.set_repeat_rows(0, HEADER_ROWS - 1)?;
        worksheet.set_footer("&C第 &P 页，共 &N 页");
        Ok(())
    }

    fn row(&mut self, number: u64, cells: &[String]) -> Result<(), LedgerError> {
        let row = u32::try_from(number)
            .ok()
            .and_then(|number| number.checked_add(HEADER_ROWS - 1))
            .ok_or_else(|| LedgerError::Xlsx("行数超过 Excel 的上限".to_owned()))?;
        let worksheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        worksheet
            .write_number_with_format(row, 0, number as f64, &self.number)
            .map_err(xlsx_error)?;
        for (index, cell) in (1u16..).zip(cells) {
            let format = if is_formula_like(cell) {
                &self.quoted
            } else {
                &self.body
            };
            worksheet
                .write_string_with_format(row, index, cell, format)
                .map_err(xlsx_error)?;
        }
        Ok(())
    }

    fn finish<W: Write + Seek + Send>(mut self, out: W) -> Result<(), LedgerError> {
        self.workbook.save_to_writer(out).map_err(xlsx_error)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------------------------

struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
}

fn csv_error(error: csv::Error) -> LedgerError {
    LedgerError::Csv(error.to_string())
}

impl<W: Write> CsvSink<W> {
    /// The BOM, then the same lines the workbook has above its data: title, header lines, column headers.
    fn begin(heading: &Heading, columns: &[Column], mut out: W) -> Result<CsvSink<W>, LedgerError> {
        out.write_all(UTF8_BOM)?;
        let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
        writer.write_record([heading.title]).map_err(csv_error)?;
        if heading.reporting_lines {
            writer
                .write_record([heading.unit_line(), heading.period_line()])
                .map_err(csv_error)?;
        } else {
            writer
                .write_record([heading.period_line()])
                .map_err(csv_error)?;
        }
        writer
            .write_record(columns.iter().map(|column| column.header))
            .map_err(csv_error)?;
        Ok(CsvSink { writer })
    }

    fn row(&mut self, number: u64, cells: &[String]) -> Result<(), LedgerError> {
        let number = number.to_string();
        let record = std::iter::once(Cow::Borrowed(number.as_str()))
            .chain(cells.iter().map(|cell| neutralise(cell)));
        self.writer
            .write_record(record.map(|cell| cell.into_owned()))
            .map_err(csv_error)
    }

    fn finish(mut self) -> Result<(), LedgerError> {
        self.writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_is_neutralised_for_csv() {
        for hostile in [
            "=1+1",
            "+SUM(A1)",
            "-2+3",
            "@cmd",
            "\t=1",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert!(is_formula_like(hostile), "{hostile}");
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        for harmless in ["王经理 13812345678", "已协调解决", "５万元", "", "a=b"] {
            assert!(!is_formula_like(harmless), "{harmless}");
            assert_eq!(neutralise(harmless), harmless);
        }
    }
}
