//! HTTP routes of the forms backend, one router per feature, composed by [`router`]; one [`AppError`] maps every
//! failure to a status and a Chinese message (5xx bodies say nothing internal; details go to the log).

mod console;
mod intake;
mod ledger;
mod limiter;
mod reports;
mod tracking;
mod unit;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Router};
use serde_json::json;
use tera::Context;

pub use limiter::RateLimiter;

use crate::settings::IntakeSettings;
use crate::store::StoreError;
use crate::workflow::{Forms, WorkflowError};

/// Cookie holding the browser's CSRF token (double-submit: the form carries the same value).
pub const CSRF_COOKIE: &str = "qihu_csrf";

/// Shared state of the forms routes.
pub struct FormsState {
    pub forms: Arc<Forms>,
    pub intake: IntakeSettings,
    pub limiter: RateLimiter,
}

/// All forms routes: intake, tracking, escalation, the handling units' pages and the centre's console
/// (推进中心工作台, under `/console`).
pub fn router(state: Arc<FormsState>) -> Router {
    Router::new()
        .merge(intake::routes())
        .merge(tracking::routes())
        .merge(unit::routes(state.intake.max_upload_bytes))
        .merge(reports::routes())
        .route("/healthz", axum::routing::get(healthz))
        .with_state(Arc::clone(&state))
        .merge(console::router(state))
}

/// `GET /healthz`: 200 while this instance can reach its database, else 503 — what a load balancer asks
/// before sending an instance requests.
async fn healthz(
    axum::extract::State(state): axum::extract::State<Arc<FormsState>>,
) -> Result<axum::Json<serde_json::Value>, AppError> {
    state.forms.store.ping().await?;
    Ok(axum::Json(json!({ "status": "ok" })))
}

/// A failure, answered as JSON (`{"error": "..."}`) for API calls or as a page for browsers.
#[derive(Debug)]
pub enum AppError {
    /// 400
    BadRequest(String),
    /// 403: a browser form without its CSRF token.
    Forbidden(String),
    /// 404: also for wrong tokens, so nothing leaks about what exists.
    NotFound,
    /// 409: the step is not allowed in the order's state.
    Conflict(String),
    /// 413
    TooLarge(usize),
    /// 413: an uploaded file over the limit (in bytes).
    FileTooLarge(usize),
    /// 415
    UnsupportedMediaType,
    /// 415: an uploaded file that is not of an accepted kind; the message says which kinds are.
    UnsupportedFile(String),
    /// 422: well-formed, but cannot be taken (an idempotency key reused with another body).
    Unprocessable(String),
    /// 429
    TooManyRequests,
    /// 503: the database cannot take writes now (disk full, I/O error); nothing was saved or acknowledged.
    Unavailable(String),
    /// 500: the details are logged, never shown.
    Internal(String),
}

impl AppError {
    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            AppError::Forbidden(message) => (StatusCode::FORBIDDEN, message.clone()),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "找不到该诉求，或查询链接不正确".to_owned(),
            ),
            AppError::Conflict(message) => (StatusCode::CONFLICT, message.clone()),
            AppError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("提交的内容太大（上限 {} KB）", limit / 1024),
            ),
            AppError::FileTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                crate::domain::UploadError::TooLarge { limit: *limit }.to_string(),
            ),
            AppError::UnsupportedFile(message) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, message.clone())
            }
            AppError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "不支持的提交格式，请以 JSON 或网页表单提交".to_owned(),
            ),
            AppError::Unprocessable(message) => (StatusCode::UNPROCESSABLE_ENTITY, message.clone()),
            AppError::Unavailable(detail) => {
                tracing::error!("数据库暂时不可用：{detail}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "系统暂时无法保存数据，本次提交未被受理，请稍后再试".to_owned(),
                )
            }
            AppError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "提交过于频繁，请稍后再试".to_owned(),
            ),
            AppError::Internal(detail) => {
                tracing::error!("内部错误：{detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器内部错误，请稍后再试；您的数据不会丢失".to_owned(),
                )
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        let mut response = (status, axum::Json(json!({ "error": message }))).into_response();
        error_headers(&mut response);
        response
    }
}

/// Headers every error answer of its status carries, JSON or page: a 503 says when to try again; a 413 closes
/// the connection, because the rest of the body is never read and a client that reused the connection would
/// fail its next request with a broken pipe.
fn error_headers(response: &mut Response) {
    let (name, value) = match response.status() {
        StatusCode::SERVICE_UNAVAILABLE => (header::RETRY_AFTER, "30"),
        StatusCode::PAYLOAD_TOO_LARGE => (header::CONNECTION, "close"),
        _ => return,
    };
    response
        .headers_mut()
        .insert(name, axum::http::HeaderValue::from_static(value));
}

impl From<crate::domain::UploadError> for AppError {
    fn from(error: crate::domain::UploadError) -> Self {
        use crate::domain::UploadError;
        match error {
            UploadError::TooLarge { limit } => AppError::FileTooLarge(limit),
            UploadError::NotAllowed => AppError::UnsupportedFile(error.to_string()),
            UploadError::Empty | UploadError::Truncated(_) => {
                AppError::BadRequest(error.to_string())
            }
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(message) => AppError::Conflict(message),
            StoreError::Unavailable(detail) => AppError::Unavailable(detail),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<WorkflowError> for AppError {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::NotAllowed(message) => AppError::Conflict(message),
            WorkflowError::Invalid(message) => AppError::BadRequest(message),
            WorkflowError::UnknownUnit(unit) => {
                AppError::BadRequest(format!("找不到承办单位“{unit}”"))
            }
            WorkflowError::Store(error) => error.into(),
            WorkflowError::KeyReused => {
                AppError::Unprocessable(WorkflowError::KeyReused.to_string())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// True when the client wants a page rather than JSON (a browser form post or navigation).
pub fn wants_html(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("multipart/form-data")
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A fresh CSRF token for a page with forms, and the response header that sets its cookie (double submit).
pub fn issue_csrf(response: &mut Response, token: &crate::domain::AccessToken) {
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400",
        token.as_str()
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A browser form must carry the CSRF token its page set as a cookie.
pub fn check_csrf(headers: &HeaderMap, presented: Option<&str>) -> Result<(), AppError> {
    let expected = cookie(headers, CSRF_COOKIE);
    let presented = presented.unwrap_or_default();
    if expected
        .as_deref()
        .is_none_or(|expected| expected.is_empty() || expected != presented)
    {
        return Err(AppError::Forbidden(
            "页面已过期或来源不明，请刷新页面后重试".to_owned(),
        ));
    }
    Ok(())
}

/// Renders a page template with the site context; a template error is a 500 with a plain message.
pub fn render_page(
    forms: &Forms,
    template: &str,
    context: &Context,
    status: StatusCode,
) -> Response {
    match forms.templates.render(template, context) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            AppError::Internal(format!("渲染 {template} 失败：{error:?}")).into_response()
        }
    }
}

/// The answer to a step taken on an order: back to `page` for a browser, the new status as JSON otherwise, or
/// the error in the form the client understands.
pub fn step_response(
    forms: &Forms,
    result: Result<crate::store::RequestRow, AppError>,
    browser: bool,
    page: &str,
) -> Response {
    match (result, browser) {
        (Ok(_), true) => axum::response::Redirect::to(page).into_response(),
        (Ok(row), false) => axum::Json(json!({
            "tracking_number": row.tracking_number,
            "status": row.status,
            "status_label": row.status.label(),
        }))
        .into_response(),
        (Err(error), true) => error_page(forms, error),
        (Err(error), false) => error.into_response(),
    }
}

/// A rating as a form or JSON sends it: the level (code or Chinese name) and the 意见建议 (plain text, at most
/// 1,000 characters, control characters except line breaks dropped).
pub fn read_rating(
    level: Option<&str>,
    comment: Option<&str>,
) -> Result<(crate::domain::Rating, String), AppError> {
    let rating = level
        .unwrap_or_default()
        .parse()
        .map_err(|error: crate::domain::UnknownRating| AppError::BadRequest(error.to_string()))?;
    let comment = plain_text(comment).chars().take(1000).collect();
    Ok((rating, comment))
}

/// Text as a user typed it: trimmed, with control characters other than line breaks dropped.
pub fn plain_text(given: Option<&str>) -> String {
    given
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// A required text field (`what` names it for the user): blank or over `max` characters is refused in Chinese.
pub fn required_text(given: Option<&str>, what: &str, max: usize) -> Result<String, AppError> {
    let text = plain_text(given);
    if text.is_empty() {
        return Err(AppError::BadRequest(format!("请填写{what}")));
    }
    if text.chars().count() > max {
        return Err(AppError::BadRequest(format!("{what}不能超过{max}个字")));
    }
    Ok(text)
}

/// The body of a step posted by a browser form or as JSON; unreadable fields are left at their defaults (the
/// step then fails on the missing token or value, in plain words).
pub fn step_body<T: serde::de::DeserializeOwned + Default>(browser: bool, body: &Bytes) -> T {
    if browser {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    } else {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

/// A page explaining an error to a browser user.
pub fn error_page(forms: &Forms, error: AppError) -> Response {
    let (status, message) = error.status_and_message();
    let mut context = forms.page_context.clone();
    context.insert("page_title", "无法完成操作");
    context.insert("message", &message);
    let mut response = render_page(forms, "message.html", &context, status);
    error_headers(&mut response);
    response
}

/// The client's address, for rate limits (see [`limiter::client_behind_proxies`]); unspecified when the server
/// runs without connect info.
pub fn client_address(
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    intake: &IntakeSettings,
) -> IpAddr {
    let peer = connect.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(address))| address.ip(),
    );
    limiter::client_behind_proxies(peer, headers, &intake.trusted_proxies)
}

/// An idempotency key as given (an `Idempotency-Key` header or a form's one-time `form_token`): trimmed, at most
/// 200 characters, none when empty.
pub fn idempotency_key(given: Option<&str>) -> Option<String> {
    given
        .map(|key| key.trim().chars().take(200).collect::<String>())
        .filter(|key| !key.is_empty())
}

/// Reads a browser form as name-value pairs (repeated names, such as check boxes, are kept). Percent-decoding
/// replaces broken UTF-8 with U+FFFD: refuse rather than store mangled text.
pub fn form_pairs(body: &Bytes) -> Result<Vec<(String, String)>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| AppError::BadRequest("无法识别提交的表单".to_owned()))?;
    if pairs
        .iter()
        .any(|(key, value)| key.contains('\u{FFFD}') || value.contains('\u{FFFD}'))
    {
        return Err(AppError::BadRequest(
            "提交的内容不是有效的 UTF-8 编码文字".to_owned(),
        ));
    }
    Ok(pairs)
}
