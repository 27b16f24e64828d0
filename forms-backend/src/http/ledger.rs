//! The console's ledger pages (台账报表): download the notice's tables (附件2–5) for a period and perhaps one unit,
//! as XLSX, CSV or a printable page — the centre and leaders alike — and the centre's upload of a town's or the
//! zone's weekly 问题台账 (附件2), with every bad row explained by its row number.
//!
//! Routes are merged into the console's router, so they share its session, CSRF token, roles and headers.

use std::io::Cursor;
use std::sync::Arc;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};

use super::console::{ConsoleState, Staff, message_page, page_context, unit_groups};
use super::{AppError, render_page};
use crate::dispatch::UnitKind;
use crate::reports::ledger::{
    self, Format, ImportError, ImportMode, ImportReport, LedgerError, Period, Selection, Table,
};
use crate::workflow::Forms;

/// Largest ledger file the console accepts.
pub const IMPORT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// The printable page's own policy: its styles are inline, and it loads nothing.
const PRINT_PAGE_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'";

pub(super) fn routes() -> Router<Arc<ConsoleState>> {
    Router::new()
        .route("/console/ledgers", get(ledgers_page))
        .route("/console/ledgers/export", get(download))
        .route(
            "/console/ledgers/import",
            get(import_page)
                .post(import)
                .layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES)),
        )
}

// ---------------------------------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------------------------------

/// What the download form sends; every field is read by hand so mistakes are explained in Chinese.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ExportQuery {
    table: Option<String>,
    from: Option<String>,
    to: Option<String>,
    unit: Option<String>,
    format: Option<String>,
}

#[derive(Debug, Serialize)]
struct Choice {
    value: &'static str,
    label: String,
}

fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn read_date(value: &Option<String>, name: &str) -> Result<NaiveDate, String> {
    let text = given(value).ok_or_else(|| format!("请选择{name}"))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{name}“{text}”无效，应为 年-月-日（如 2026-11-01）"))
}

/// The selection and format the form asks for, or what is wrong with it.
fn read_export(query: &ExportQuery, forms: &Forms) -> Result<(Selection, Format), String> {
    let table: Table = given(&query.table)
        .ok_or("请选择表格")?
        .parse()
        .map_err(|error: ledger::UnknownTable| error.to_string())?;
    let format: Format = given(&query.format)
        .unwrap_or("xlsx")
        .parse()
        .map_err(|error: ledger::UnknownFormat| error.to_string())?;
    let from = read_date(&query.from, "开始日期")?;
    let to = read_date(&query.to, "结束日期")?;
    let period = Period::new(from, to).map_err(|error| error.to_string())?;
    let unit = given(&query.unit).map(str::to_owned);
    if let Some(id) = &unit
        && forms.directory.unit(id).is_none()
    {
        return Err(format!("找不到单位“{id}”"));
    }
    Ok((
        Selection {
            table,
            period,
            unit,
        },
        format,
    ))
}

/// The download form, pre-set to this month (Shanghai) or to what was asked, with an error when there is one.
fn ledgers_form(
    forms: &Forms,
    staff: &Staff,
    query: &ExportQuery,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let today = Utc::now().with_timezone(&Shanghai).date_naive();
    let first_of_month = today.with_day(1).unwrap_or(today);
    let values = ExportQuery {
        table: Some(given(&query.table).unwrap_or("ledger").to_owned()),
        from: Some(given(&query.from).map_or_else(|| first_of_month.to_string(), str::to_owned)),
        to: Some(given(&query.to).map_or_else(|| today.to_string(), str::to_owned)),
        unit: Some(given(&query.unit).unwrap_or_default().to_owned()),
        format: Some(given(&query.format).unwrap_or("xlsx").to_owned()),
    };
    let tables: Vec<Choice> = Table::ALL
        .iter()
        .map(|table| Choice {
            value: table.code(),
            label: format!("{} {}", table.attachment(), table.title()),
        })
        .collect();
    let formats: Vec<Choice> = Format::ALL
        .iter()
        .map(|format| Choice {
            value: format.code(),
            label: format.label().to_owned(),
        })
        .collect();
    let mut context = page_context(forms, Some(staff), "台账报表");
    context.insert("form", &values);
    context.insert("tables", &tables);
    context.insert("formats", &formats);
    context.insert("unit_groups", &unit_groups(forms));
    context.insert("error", &error);
    render_page(forms, "console/ledgers.html", &context, status)
}

/// 台账报表: the download form.
async fn ledgers_page(State(state): State<Arc<ConsoleState>>, staff: Staff) -> Response {
    ledgers_form(
        state.forms(),
        &staff,
        &ExportQuery::default(),
        None,
        StatusCode::OK,
    )
}

/// `filename*` of a Content-Disposition header (RFC 5987): UTF-8, percent-encoded.
fn encoded_file_name(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Writes the table the form asks for: a file to save (XLSX, CSV) or the printable page. Reading the leader's
/// own tables changes nothing, so both roles may download.
async fn download(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let Ok(Query(query)) = query else {
        return message_page(
            forms,
            Some(&staff),
            AppError::BadRequest("查询条件无法识别，请重新选择".to_owned()),
        );
    };
    let (selection, format) = match read_export(&query, forms) {
        Ok(read) => read,
        Err(message) => {
            return ledgers_form(
                forms,
                &staff,
                &query,
                Some(&message),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let today = Utc::now().with_timezone(&Shanghai).date_naive();
    let task_state = Arc::clone(&state);
    let task_selection = selection.clone();
    // Writing a large workbook is CPU work: off the async workers, reading the database through this runtime.
    let written = tokio::task::spawn_blocking(move || {
        let forms = task_state.forms();
        let mut out = Cursor::new(Vec::new());
        tokio::runtime::Handle::current()
            .block_on(ledger::export(
                &forms.store,
                &forms.directory,
                &forms.templates,
                &forms.page_context,
                &task_selection,
                format,
                today,
                &mut out,
            ))
            .map(|exported| (exported, out.into_inner()))
    })
    .await;
    let (exported, bytes) = match written {
        Ok(Ok(written)) => written,
        Ok(Err(LedgerError::UnknownUnit(unit))) => {
            return message_page(
                forms,
                Some(&staff),
                AppError::BadRequest(format!("找不到单位“{unit}”")),
            );
        }
        Ok(Err(error)) => {
            return message_page(forms, Some(&staff), AppError::Internal(error.to_string()));
        }
        Err(error) => {
            return message_page(
                forms,
                Some(&staff),
                AppError::Internal(format!("导出任务失败：{error}")),
            );
        }
    };
    tracing::info!(
        table = selection.table.code(),
        rows = exported.rows,
        user = %staff.actor(),
        "导出台账"
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if format == Format::Html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PRINT_PAGE_POLICY),
        );
    } else {
        let name = selection.file_name(&forms.directory, format);
        let fallback = format!(
            "{}_{}_{}.{}",
            selection.table.code(),
            selection.period.from(),
            selection.period.to(),
            format.code()
        );
        if let Ok(value) = HeaderValue::from_str(&format!(
            "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
            encoded_file_name(&name)
        )) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

// ---------------------------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------------------------

/// A town or the zone, the units whose collectors send a ledger.
#[derive(Debug, Serialize)]
struct LocalUnit<'a> {
    id: &'a str,
    name: &'a str,
}

/// The import form (and, after an upload, what became of every row).
fn import_form(
    forms: &Forms,
    staff: &Staff,
    unit: &str,
    valid_only: bool,
    outcome: Result<Option<&ImportReport>, &str>,
    status: StatusCode,
) -> Response {
    let units: Vec<LocalUnit<'_>> = forms
        .directory
        .units
        .iter()
        .filter(|unit| unit.kind != UnitKind::Department)
        .map(|unit| LocalUnit {
            id: &unit.id,
            name: &unit.name,
        })
        .collect();
    let mut context = page_context(forms, Some(staff), "导入问题台账");
    context.insert("units", &units);
    context.insert("unit", unit);
    context.insert("valid_only", &valid_only);
    context.insert("max_mb", &(IMPORT_MAX_BYTES / 1024 / 1024));
    match outcome {
        Ok(report) => context.insert("report", &report),
        Err(error) => context.insert("error", error),
    }
    render_page(forms, "console/ledger_import.html", &context, status)
}

async fn import_page(State(state): State<Arc<ConsoleState>>, staff: Staff) -> Response {
    import_form(state.forms(), &staff, "", false, Ok(None), StatusCode::OK)
}

/// What the upload form sends.
#[derive(Debug, Default)]
struct Upload {
    csrf_token: Option<String>,
    unit: String,
    valid_only: bool,
    file: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(IMPORT_MAX_BYTES)
        } else {
            AppError::BadRequest("上传的内容无法识别，请重新选择文件后提交".to_owned())
        }
    };
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "file" => upload.file = field.bytes().await.map_err(unreadable)?.to_vec(),
            "csrf_token" => upload.csrf_token = Some(field.text().await.map_err(unreadable)?),
            "unit" => upload.unit = field.text().await.map_err(unreadable)?.trim().to_owned(),
            "valid_only" => upload.valid_only = !field.text().await.map_err(unreadable)?.is_empty(),
            _ => {}
        }
    }
    Ok(upload)
}

/// 导入问题台账: checks every row; creates the requests when all are valid (or only the valid ones when asked);
/// shows what became of each row. Only the centre may import.
async fn import(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let forms = state.forms();
    let upload = match multipart {
        Ok(multipart) => read_upload(multipart).await,
        Err(_) => Err(AppError::BadRequest(
            "请通过页面上的上传表单提交台账文件".to_owned(),
        )),
    };
    let upload = match upload.and_then(|upload| {
        staff.may_act(upload.csrf_token.as_deref())?;
        Ok(upload)
    }) {
        Ok(upload) => upload,
        Err(error) => return message_page(forms, Some(&staff), error),
    };
    let refuse = |message: &str| {
        import_form(
            forms,
            &staff,
            &upload.unit,
            upload.valid_only,
            Err(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if upload.unit.is_empty() {
        return refuse("请选择报送台账的镇街或开发区");
    }
    if upload.file.is_empty() {
        return refuse("请选择要导入的台账文件（.xlsx、.xls 或 .csv）");
    }
    let file = match ledger::read_ledger(&upload.file) {
        Ok(file) => file,
        Err(error) => return refuse(&error.to_string()),
    };
    let mode = if upload.valid_only {
        ImportMode::ValidOnly
    } else {
        ImportMode::AllOrNothing
    };
    let report =
        match ledger::import_ledger(forms, &upload.unit, &file, mode, &staff.actor(), Utc::now())
            .await
        {
            Ok(report) => report,
            Err(error @ (ImportError::UnknownUnit(_) | ImportError::NotLocal(_))) => {
                return refuse(&error.to_string());
            }
            Err(error) => {
                return message_page(forms, Some(&staff), AppError::Internal(error.to_string()));
            }
        };
    tracing::info!(
        unit = %upload.unit,
        created = report.created.len(),
        problems = report.problems.len(),
        user = %staff.actor(),
        "导入问题台账"
    );
    let status = if report.applied {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    import_form(
        forms,
        &staff,
        &upload.unit,
        upload.valid_only,
        Ok(Some(&report)),
        status,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_file_names_are_percent_encoded_for_the_header() {
        assert_eq!(
            encoded_file_name("附件2 a.xlsx"),
            "%E9%99%84%E4%BB%B62%20a.xlsx"
        );
    }
}
