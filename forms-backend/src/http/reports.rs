//! Report pages. In the console (推进中心工作台): the reports page (统计报表: pick a kind and period, view the
//! printable page, download the workbook, send the month's questionnaire), the printable report itself, the
//! workbook download and the leaders' dashboard (领导看板). Leaders read all of it; only the centre sends
//! questionnaires. In public: the questionnaire (附件5) an enterprise opens from its e-mail.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::console::{ConsoleState, Staff, field, message_page, page_context};
use super::tracking::{RatingBody, TokenQuery, presented_token, timeline_entry, unit_ref};
use super::{
    AppError, FormsState, check_csrf, error_page, form_pairs, issue_csrf, read_rating, render_page,
    step_body, step_response, wants_html,
};
use crate::domain::AccessToken;
use crate::reports::{
    Period, ReportError, ReportKind, bulletin, dashboard, questionnaire, workbook,
};
use crate::workflow::{Forms, MailRequest};

impl From<ReportError> for AppError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::Period(_) | ReportError::NotStarted(_) => {
                AppError::BadRequest(error.to_string())
            }
            ReportError::AlreadyAnswered => AppError::Conflict(error.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// The console's report routes (merged into the console router, which checks sessions and sets headers).
pub(super) fn console_routes() -> Router<Arc<ConsoleState>> {
    Router::new()
        .route("/console/reports", get(reports_page))
        .route("/console/reports/view", get(view))
        .route("/console/reports/download", get(download))
        .route("/console/reports/questionnaire", post(send_questionnaire))
        .route("/console/dashboard", get(dashboard_page))
}

/// The public questionnaire page.
pub(super) fn routes() -> Router<Arc<FormsState>> {
    Router::new().route(
        "/questionnaire/{tracking_number}",
        get(questionnaire_page).post(answer),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Choosing a report
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReportQuery {
    kind: Option<String>,
    period: Option<String>,
}

/// The kind and period asked for; without a period, the last one that is over.
fn chosen(
    query: Result<Query<ReportQuery>, QueryRejection>,
    now: DateTime<Utc>,
) -> Result<Period, AppError> {
    let Ok(Query(query)) = query else {
        return Err(AppError::BadRequest(
            "报表参数无法识别，请重新选择".to_owned(),
        ));
    };
    let kind = match query.kind.as_deref().map(str::trim) {
        None | Some("") => ReportKind::Monthly,
        Some(kind) => kind.parse::<ReportKind>().map_err(ReportError::from)?,
    };
    match query.period.as_deref().map(str::trim) {
        None | Some("") => Ok(Period::containing_instant(kind, now).previous()),
        Some(text) => Ok(Period::parse(kind, text).map_err(ReportError::from)?),
    }
}

/// The report of the kind and period asked for.
async fn chosen_report(
    forms: &Forms,
    query: Result<Query<ReportQuery>, QueryRejection>,
    now: DateTime<Utc>,
) -> Result<bulletin::Report, AppError> {
    let period = chosen(query, now)?;
    Ok(bulletin::make(forms, period, now).await?)
}

/// A quick link of the reports page.
#[derive(Debug, Serialize)]
struct Shortcut {
    label: String,
    kind: &'static str,
    period: String,
}

fn shortcuts(now: DateTime<Utc>) -> Vec<Shortcut> {
    let current = |kind| Period::containing_instant(kind, now);
    let shortcut = |label: &str, period: Period| Shortcut {
        label: format!("{label}（{}）", period.label()),
        kind: period.kind().code(),
        period: period.to_string(),
    };
    vec![
        shortcut("上月通报", current(ReportKind::Monthly).previous()),
        shortcut("本月截至目前", current(ReportKind::Monthly)),
        shortcut("上季度测评", current(ReportKind::Quarterly).previous()),
        shortcut("半年排名", current(ReportKind::HalfYear).previous()),
        shortcut("年终总评", current(ReportKind::Annual).previous()),
    ]
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ReportsPageQuery {
    /// The month of the questionnaire shown.
    month: Option<String>,
    /// After a send: what it did.
    closed: Option<u32>,
    sent: Option<u32>,
    already: Option<u32>,
    without_email: Option<u32>,
}

/// 统计报表: the form to choose a report, quick links, and the questionnaire of a month.
async fn reports_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<ReportsPageQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let month = match query.month.as_deref().map(str::trim) {
        None | Some("") => Ok(Period::containing_instant(ReportKind::Monthly, now).previous()),
        Some(text) => Period::parse(ReportKind::Monthly, text),
    };
    let month = match month {
        Ok(month) => month,
        Err(error) => return message_page(forms, Some(&staff), ReportError::from(error).into()),
    };
    let progress = match questionnaire::progress(forms, month).await {
        Ok(progress) => progress,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let kinds: Vec<serde_json::Value> = ReportKind::ALL
        .iter()
        .map(|kind| {
            serde_json::json!({ "code": kind.code(), "label": kind.label(), "hint": kind.period_hint() })
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "统计报表");
    context.insert("kinds", &kinds);
    context.insert("shortcuts", &shortcuts(now));
    context.insert(
        "default_period",
        &Period::containing_instant(ReportKind::Monthly, now)
            .previous()
            .to_string(),
    );
    context.insert("month", &month.to_string());
    context.insert("month_label", &month.label());
    context.insert("progress", &progress);
    context.insert("result", &query.sent.map(|_| &query));
    render_page(forms, "console/reports.html", &context, StatusCode::OK)
}

// ---------------------------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------------------------

/// The printable report (a whole HTML page of its own, with its style sheet allowed by hash).
async fn view(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let result = async {
        let report = chosen_report(forms, query, now).await?;
        Ok::<_, AppError>(bulletin::render_html(forms, &report)?)
    }
    .await;
    match result {
        Ok(html) => {
            let mut response = (StatusCode::OK, axum::response::Html(html)).into_response();
            let policy = format!(
                "default-src 'none'; style-src '{}'; img-src data:; frame-ancestors 'none'; form-action 'none'",
                bulletin::style_hash()
            );
            if let Ok(value) = HeaderValue::from_str(&policy) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, value);
            }
            response
        }
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

/// `filename*` of a Content-Disposition header (RFC 5987: UTF-8, percent-encoded).
fn encoded_file_name(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The workbook of the report, as a download.
async fn download(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let result = async {
        let report = chosen_report(forms, query, now).await?;
        let bytes = workbook::write(&report)?;
        Ok::<_, AppError>((report, bytes))
    }
    .await;
    match result {
        Ok((report, bytes)) => {
            let disposition = format!(
                "attachment; filename=\"report-{}-{}.xlsx\"; filename*=UTF-8''{}",
                report.kind_code,
                report.period,
                encoded_file_name(&report.file_name("xlsx"))
            );
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

/// 发送评价问卷: the centre sends the month's questionnaire (once per order) and comes back to the reports page.
async fn send_questionnaire(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let pairs = form_pairs(&body)?;
        staff.may_act(field(&pairs, "csrf_token"))?;
        let month = Period::parse(
            ReportKind::Monthly,
            field(&pairs, "month").unwrap_or_default(),
        )
        .map_err(ReportError::from)?;
        let sent = questionnaire::send(forms, month, &staff.actor(), Utc::now()).await?;
        tracing::info!(
            month = %month,
            sent = sent.sent,
            already = sent.already,
            actor = %staff.actor(),
            "推进中心发送评价问卷"
        );
        Ok::<_, AppError>((month, sent))
    }
    .await;
    match result {
        Ok((month, sent)) => {
            let query = serde_urlencoded::to_string([
                ("month", month.to_string()),
                ("closed", sent.closed.to_string()),
                ("sent", sent.sent.to_string()),
                ("already", sent.already.to_string()),
                ("without_email", sent.without_email.to_string()),
            ])
            .unwrap_or_default();
            Redirect::to(&format!("/console/reports?{query}")).into_response()
        }
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

/// 领导看板: the current month at a glance.
async fn dashboard_page(State(state): State<Arc<ConsoleState>>, staff: Staff) -> Response {
    let forms = state.forms();
    match dashboard::build(forms, Utc::now()).await {
        Ok(dashboard) => {
            let mut context = page_context(forms, Some(&staff), "领导看板");
            context.insert("dashboard", &dashboard);
            render_page(forms, "console/dashboard.html", &context, StatusCode::OK)
        }
        Err(error) => message_page(forms, Some(&staff), error.into()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The enterprise's questionnaire (附件5)
// ---------------------------------------------------------------------------------------------------------------

/// The order of a valid questionnaire link; anything else answers 404 like an unknown number.
async fn questionnaire_target(
    forms: &Forms,
    tracking_number: &str,
    token: &str,
) -> Result<crate::store::RequestRow, AppError> {
    questionnaire::target(forms, tracking_number, token, Utc::now())
        .await?
        .ok_or(AppError::NotFound)
}

/// 企业发展、项目建设问题解决情况满意度评价表: 问题描述, 解决情况, 解决部门, 满意度评价, 意见建议 — or, once answered, the
/// answer and thanks.
async fn questionnaire_page(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let forms = &state.forms;
    let token = presented_token(query);
    let row = match questionnaire_target(forms, &tracking_number, &token).await {
        Ok(row) => row,
        Err(error) => return error_page(forms, error),
    };
    let (events, answered) = match tokio::try_join!(
        forms.store.events(row.id),
        forms.store.questionnaire_answer(row.id)
    ) {
        Ok(found) => found,
        Err(error) => return error_page(forms, error.into()),
    };
    let result = events
        .iter()
        .rev()
        .find(|event| matches!(event.event, crate::order::Event::Resolved(_)))
        .and_then(|event| timeline_entry(forms, event).detail)
        .unwrap_or_default();
    let csrf = AccessToken::generate();
    let mut context = forms.page_context.clone();
    context.insert("page_title", "满意度评价问卷");
    context.insert("request", &MailRequest::of(&row));
    context.insert("result", &result);
    context.insert(
        "unit_name",
        &row.lead_unit
            .as_deref()
            .map(|id| unit_ref(forms, id).name)
            .unwrap_or_default(),
    );
    context.insert(
        "answer",
        &answered.map(|(_, answer)| {
            serde_json::json!({
                "label": answer.rating.rating.label(),
                "comment": answer.rating.comment,
            })
        }),
    );
    context.insert("token", &token);
    context.insert("csrf_token", csrf.as_str());
    let mut response = render_page(forms, "questionnaire.html", &context, StatusCode::OK);
    issue_csrf(&mut response, &csrf);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The enterprise's answer, from the form or as JSON `{"token", "rating", "comment"}`: recorded once, the order
/// stays as it is.
async fn answer(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let browser = wants_html(&headers);
    let forms = &state.forms;
    let body: RatingBody = step_body(browser, &body);
    let token = body.token.clone().unwrap_or_default();
    let result = async {
        if browser {
            check_csrf(&headers, body.csrf_token.as_deref())?;
        }
        let row = questionnaire_target(forms, &tracking_number, &token).await?;
        let (rating, comment) = read_rating(body.rating.as_deref(), body.comment.as_deref())?;
        questionnaire::answer(forms, &row, rating, &comment, Utc::now()).await?;
        Ok(row)
    }
    .await;
    step_response(
        forms,
        result,
        browser,
        &format!("/questionnaire/{tracking_number}?token={token}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_percent_encoded_utf8() {
        assert_eq!(
            encoded_file_name("月通报_2026-10.xlsx"),
            "%E6%9C%88%E9%80%9A%E6%8A%A5_2026-10.xlsx"
        );
    }

    #[test]
    fn without_a_period_the_last_finished_one_is_shown() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let query = |kind: &str, period: &str| {
            Ok(Query(ReportQuery {
                kind: Some(kind.to_owned()),
                period: Some(period.to_owned()),
            }))
        };
        assert_eq!(chosen(query("", ""), now).unwrap().to_string(), "2026-10");
        assert_eq!(
            chosen(query("quarterly", ""), now).unwrap().to_string(),
            "2026-Q3"
        );
        assert_eq!(
            chosen(query("annual", ""), now).unwrap().to_string(),
            "2025"
        );
        assert_eq!(
            chosen(query("half-year", "2026-H1"), now)
                .unwrap()
                .to_string(),
            "2026-H1"
        );
        let refused = chosen(query("monthly", "2026-13"), now).unwrap_err();
        assert!(matches!(refused, AppError::BadRequest(message) if message.contains("1 到 12")));
        let refused = chosen(query("weekly", "2026-10"), now).unwrap_err();
        assert!(matches!(refused, AppError::BadRequest(message) if message.contains("报表类型")));
    }
}
