//! Intake (受理): `POST /api/requests` (JSON or the HTML form) and the server-rendered request form.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{
    AppError, FormsState, check_csrf, client_address, error_page, form_pairs, idempotency_key,
    issue_csrf, render_page, wants_html,
};
use crate::domain::{AccessToken, Channel, NewRequest, RequestForm};

pub fn routes() -> Router<Arc<FormsState>> {
    Router::new()
        .route("/api/requests", post(submit))
        .route("/request", get(form_page))
        .route("/request/", get(form_page))
}

/// What the browser form sends besides the request's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FormExtras {
    csrf_token: Option<String>,
    form_token: Option<String>,
    website: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FormQuery {
    policy: Option<String>,
}

/// The request form, rendered on the server with a CSRF token (cookie + hidden field) and a one-time form
/// token that makes a double-clicked submission one request.
async fn form_page(
    State(state): State<Arc<FormsState>>,
    query: Result<Query<FormQuery>, QueryRejection>,
) -> Response {
    let forms = &state.forms;
    let csrf = AccessToken::generate();
    let mut context = forms.page_context.clone();
    context.insert("page_title", "我要咨询 / 我要反映诉求");
    context.insert("csrf_token", csrf.as_str());
    context.insert("form_token", AccessToken::generate().as_str());
    context.insert("towns", &forms.directory.town_names());
    let policy = query
        .ok()
        .and_then(|Query(query)| query.policy)
        .unwrap_or_default();
    let form = RequestForm {
        policy: Some(policy.chars().take(100).collect()),
        ..RequestForm::default()
    };
    context.insert("form", &form_values(&form));
    let mut response = render_page(forms, "request.html", &context, StatusCode::OK);
    issue_csrf(&mut response, &csrf);
    response
}

async fn submit(
    State(state): State<Arc<FormsState>>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let browser = wants_html(&headers);
    let result = accept(&state, connect, &headers, body).await;
    match (result, browser) {
        (Ok(Accepted::Created(created)), false) => {
            (StatusCode::CREATED, Json(created)).into_response()
        }
        (Ok(Accepted::Created(created)), true) => {
            let location = created["tracking_url"].as_str().unwrap_or("/").to_owned();
            Redirect::to(&location).into_response()
        }
        (Ok(Accepted::Invalid { form, errors }), false) => {
            let _ = form;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "errors": errors })),
            )
                .into_response()
        }
        (Ok(Accepted::Invalid { form, errors }), true) => {
            // The form again, with what was typed and each error beside its field.
            let forms = &state.forms;
            let csrf = AccessToken::generate();
            let mut context = forms.page_context.clone();
            context.insert("page_title", "请修改后重新提交");
            context.insert("csrf_token", csrf.as_str());
            context.insert("form_token", AccessToken::generate().as_str());
            context.insert("towns", &forms.directory.town_names());
            context.insert("form", &form_values(&form));
            context.insert("errors", &errors);
            let mut response = render_page(
                forms,
                "request.html",
                &context,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
            issue_csrf(&mut response, &csrf);
            response
        }
        (Err(error), false) => error.into_response(),
        (Err(error), true) => error_page(&state.forms, error),
    }
}

/// What the form shows in its fields: every field present, empty when not given. The centre's entry form
/// (`console/new_request.html`) shows the same fields.
pub(super) fn form_values(form: &RequestForm) -> serde_json::Value {
    let value = |field: &Option<String>| field.clone().unwrap_or_default();
    json!({
        "kind": value(&form.kind),
        "enterprise_name": value(&form.enterprise_name),
        "credit_code": value(&form.credit_code),
        "contact_name": value(&form.contact_name),
        "contact_phone": value(&form.contact_phone),
        "contact_email": value(&form.contact_email),
        "town": value(&form.town),
        "description": value(&form.description),
        "suggested_department": value(&form.suggested_department),
        "policy": value(&form.policy),
    })
}

enum Accepted {
    Created(serde_json::Value),
    Invalid {
        form: Box<RequestForm>,
        errors: serde_json::Value,
    },
}

async fn accept(
    state: &FormsState,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Accepted, AppError> {
    let now = Utc::now();
    let client = client_address(connect, headers, &state.intake);
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(state.intake.max_body_bytes)
        } else {
            AppError::BadRequest("无法读取提交的内容".to_owned())
        }
    })?;
    if body.len() > state.intake.max_body_bytes {
        return Err(AppError::TooLarge(state.intake.max_body_bytes));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let browser = content_type.starts_with("application/x-www-form-urlencoded");
    let (form, extras): (RequestForm, FormExtras) = if content_type.starts_with("application/json")
    {
        let text = std::str::from_utf8(&body)
            .map_err(|_| AppError::BadRequest("提交的内容不是有效的 UTF-8 编码文字".to_owned()))?;
        let form = serde_json::from_str(text)
            .map_err(|_| AppError::BadRequest("提交的内容不是有效的 JSON".to_owned()))?;
        (form, FormExtras::default())
    } else if browser {
        // Percent-decoding replaces broken UTF-8 with U+FFFD: refuse rather than store mangled text.
        form_pairs(&body)?;
        let form = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("无法识别提交的表单".to_owned()))?;
        let extras = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("无法识别提交的表单".to_owned()))?;
        (form, extras)
    } else {
        return Err(AppError::UnsupportedMediaType);
    };
    if browser {
        check_csrf(headers, extras.csrf_token.as_deref())?;
    }
    let honeypot = extras
        .website
        .as_deref()
        .or(form.website.as_deref())
        .is_some_and(|value| !value.trim().is_empty());
    if honeypot {
        tracing::warn!(%client, "表单防机器人字段被填写，已拒绝");
        return Err(AppError::BadRequest(
            "提交未通过校验，请刷新页面后重新填写".to_owned(),
        ));
    }
    if !state.limiter.allow(client, now) {
        return Err(AppError::TooManyRequests);
    }
    let request = match NewRequest::parse(&form, Channel::Web) {
        Ok(request) => request,
        Err(errors) => {
            return Ok(Accepted::Invalid {
                errors: serde_json::to_value(&errors).unwrap_or_default(),
                form: Box::new(form),
            });
        }
    };
    let idempotency_key = idempotency_key(
        headers
            .get("idempotency-key")
            .and_then(|value| value.to_str().ok())
            .or(extras.form_token.as_deref()),
    );
    let submitted = state
        .forms
        .submit(&request, idempotency_key.as_deref(), now)
        .await?;
    let tracking_path = format!(
        "/track/{}?token={}",
        submitted.row.tracking_number, submitted.token
    );
    Ok(Accepted::Created(json!({
        "tracking_number": submitted.row.tracking_number,
        "tracking_url": if browser {
            tracking_path
        } else {
            state.forms.tracking_url(&submitted.row.tracking_number, &submitted.token)
        },
        "status": submitted.row.status,
        "status_label": submitted.row.status.label(),
        "instant_answer": submitted.instant_answer,
    })))
}
