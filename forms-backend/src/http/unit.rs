//! The handling unit's page (承办单位办理页): reached through the link in the dispatch e-mail (token per unit and
//! order, expiring, only its hash stored). The unit accepts, reports progress, reports the result (申请销号, the
//! feedback form's fields) or submits a plan with a committed date; co-handlers add their contribution.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use super::tracking::{TokenQuery, presented_token, timeline_entry};
use super::{
    AppError, FormsState, check_csrf, error_page, issue_csrf, render_page, step_response,
    wants_html,
};
use crate::domain::{AccessToken, Phone, TokenHash};
use crate::store::RequestRow;
use crate::workflow::{Forms, MailRequest, UnitAction, status};

pub fn routes() -> Router<Arc<FormsState>> {
    Router::new().route("/unit/{tracking_number}", get(unit_page).post(unit_post))
}

/// The order and the unit a presented link token belongs to.
async fn authorised(
    forms: &Forms,
    tracking_number: &str,
    token: &str,
) -> Result<(RequestRow, String), AppError> {
    let row = forms
        .store
        .request_by_tracking_number(tracking_number.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    if token.is_empty() {
        return Err(AppError::NotFound);
    }
    let hash = TokenHash::of_presented(token);
    let unit = forms
        .store
        .unit_for_token(row.id, hash.as_str(), Utc::now())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((row, unit))
}

async fn unit_page(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let forms = &state.forms;
    let token = presented_token(query);
    let (row, unit_id) = match authorised(forms, &tracking_number, &token).await {
        Ok(found) => found,
        Err(error) => return error_page(forms, error),
    };
    let events = match forms.store.events(row.id).await {
        Ok(events) => events,
        Err(error) => return error_page(forms, error.into()),
    };
    let csrf = AccessToken::generate();
    let mut context = forms.page_context.clone();
    context.insert("page_title", &format!("工单办理 {}", row.tracking_number));
    context.insert("request", &MailRequest::of(&row));
    context.insert("unit", &forms.directory.unit(&unit_id));
    context.insert(
        "is_lead",
        &(row.lead_unit.as_deref() == Some(unit_id.as_str())),
    );
    context.insert(
        "lead_unit",
        &row.lead_unit
            .as_deref()
            .and_then(|id| forms.directory.unit(id)),
    );
    context.insert("status_label", status::label(&row.status));
    context.insert("open", &status::is_open(&row.status));
    context.insert("accepted", &(row.status != status::DISPATCHED));
    context.insert(
        "due",
        &row.due_at.map(|due| {
            due.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y年%-m月%-d日 %H:%M")
                .to_string()
        }),
    );
    let timeline: Vec<_> = events
        .iter()
        .map(|event| timeline_entry(forms, event))
        .collect();
    context.insert("timeline", &timeline);
    context.insert("token", &token);
    context.insert("csrf_token", csrf.as_str());
    let mut response = render_page(forms, "unit.html", &context, StatusCode::OK);
    issue_csrf(&mut response, &csrf);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An action posted by a unit (form fields or JSON).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionBody {
    token: Option<String>,
    csrf_token: Option<String>,
    action: Option<String>,
    note: Option<String>,
    solved: Option<String>,
    method: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    committed_date: Option<String>,
    reason: Option<String>,
}

/// Reads and checks an action; the messages say what is missing, in Chinese.
fn parse_action(body: &ActionBody) -> Result<UnitAction, AppError> {
    let text = |value: &Option<String>, what: &str, max: usize| -> Result<String, AppError> {
        let value = value.as_deref().unwrap_or_default().trim().to_owned();
        if value.is_empty() {
            return Err(AppError::BadRequest(format!("请填写{what}")));
        }
        if value.chars().count() > max {
            return Err(AppError::BadRequest(format!("{what}不能超过{max}个字")));
        }
        Ok(value
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect())
    };
    match body.action.as_deref().unwrap_or_default() {
        "accept" => Ok(UnitAction::Accept),
        "progress" => Ok(UnitAction::Progress {
            note: text(&body.note, "办理进展", 2000)?,
        }),
        "resolve" => {
            let solved = match body.solved.as_deref() {
                Some("yes" | "true" | "是") => true,
                Some("no" | "false" | "否") => false,
                _ => return Err(AppError::BadRequest("请选择是否解决".to_owned())),
            };
            let phone = text(&body.contact_phone, "联系电话", 30)?;
            let phone =
                Phone::parse(&phone).map_err(|error| AppError::BadRequest(error.to_string()))?;
            Ok(UnitAction::Resolve {
                solved,
                method: text(&body.method, "解决方式", 2000)?,
                contact_name: text(&body.contact_name, "联系人", 50)?,
                contact_phone: phone.as_str().to_owned(),
            })
        }
        "plan" => {
            let date = text(&body.committed_date, "承诺办结日期", 10)?;
            let committed_date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| AppError::BadRequest("承诺办结日期应为 YYYY-MM-DD 格式".to_owned()))?;
            if committed_date <= Utc::now().date_naive() {
                return Err(AppError::BadRequest("承诺办结日期应晚于今天".to_owned()));
            }
            Ok(UnitAction::Plan {
                committed_date,
                reason: text(&body.reason, "延期原因", 2000)?,
            })
        }
        "forward" => Ok(UnitAction::Forward {
            reason: text(&body.reason, "本级不能解决的原因", 2000)?,
        }),
        _ => Err(AppError::BadRequest("请选择要进行的操作".to_owned())),
    }
}

async fn unit_post(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let forms = &state.forms;
    let browser = wants_html(&headers);
    let parsed: Result<ActionBody, AppError> = if browser {
        serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("无法识别提交的表单".to_owned()))
    } else if headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
    {
        serde_json::from_slice(&body)
            .map_err(|_| AppError::BadRequest("提交的内容不是有效的 JSON".to_owned()))
    } else {
        Err(AppError::UnsupportedMediaType)
    };
    let token = parsed
        .as_ref()
        .ok()
        .and_then(|body| body.token.clone())
        .unwrap_or_default();
    let result = async {
        let body = parsed?;
        if browser {
            check_csrf(&headers, body.csrf_token.as_deref())?;
        }
        let (row, unit) = authorised(forms, &tracking_number, &token).await?;
        let action = parse_action(&body)?;
        Ok(forms.unit_action(&row, &unit, &action, Utc::now()).await?)
    }
    .await;
    step_response(
        forms,
        result,
        browser,
        &format!("/unit/{tracking_number}?token={token}"),
    )
}
