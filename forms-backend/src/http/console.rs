//! The centre's console pages (推进中心工作台), server-rendered and usable without JavaScript: login, the queue of
//! requests waiting for dispatch (待派单) with the catalogue's suggestion, every order with search and filters,
//! one order with its whole history and the (re-)dispatch form (派单 / 改派), the knowledge gaps (知识缺口), and
//! the form where the centre enters a request that came by phone or from a town's collector (登记诉求); the
//! supervision cards of every unit and their waivers (`supervision`), and the verification of unsatisfied
//! requests (`verification`).
//!
//! Every page needs a session (cookie `qihu_session`, path `/console`); without one the browser is sent to the
//! login page. Every POST carries the session's CSRF token, and only the centre's role may change anything.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tera::Context;
use tower_http::set_header::SetResponseHeaderLayer;

use super::intake::form_values;
use super::tracking::{TimelineEntry, shanghai, timeline_entry, unit_ref};
use super::{
    AppError, FormsState, RateLimiter, client_address, cookie, form_pairs, idempotency_key,
    render_page,
};
use crate::console::{self, SignedIn};
use crate::dispatch::{Unit, UnitKind};
use crate::domain::{
    AccessToken, Channel, EntryNote, FieldErrors, NewRequest, RequestForm, RequestKind,
};
use crate::order::{Actor, Status, Step, decide};
use crate::store::{EventRow, RequestFilter, RequestRow};
use crate::workflow::{Forms, MailRequest};

mod supervision;
mod verification;

/// The session cookie; it is sent only to the console's paths.
pub const SESSION_COOKIE: &str = "qihu_session";
/// The login form's own CSRF cookie (double submit), before there is a session to hold one.
const LOGIN_CSRF_COOKIE: &str = "qihu_console_login";
/// Login attempts per client address per minute.
const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;
/// Orders per page of the list of every order.
pub const PAGE_SIZE: i64 = 50;
/// Requests shown in the queue at once, each with its dispatch form (oldest first; the rest appear as these are
/// dispatched, and all of them in the list filtered by status).
const QUEUE_LIMIT: i64 = 50;
/// Knowledge gaps shown, newest first.
const KNOWLEDGE_GAP_LIMIT: i64 = 200;
/// The one answer for a failed login, whether or not the user exists.
pub const LOGIN_FAILED: &str = "用户名或密码不正确";
/// What a read-only user is told when they try to change something.
pub const READ_ONLY: &str = "领导账号只能查看，不能登记、派单或修改工单";

/// The console's state: the forms backend and the login limiter (防暴力破解).
pub struct ConsoleState {
    app: Arc<FormsState>,
    login_limiter: RateLimiter,
}

impl ConsoleState {
    pub(super) fn forms(&self) -> &Forms {
        &self.app.forms
    }
}

/// The console's routes, with their own state; security headers on every answer (no caching of pages with
/// personal data, no framing, forms post only to this site).
pub fn router(app: Arc<FormsState>) -> Router {
    let state = Arc::new(ConsoleState {
        app,
        login_limiter: RateLimiter::new(LOGIN_ATTEMPTS_PER_MINUTE),
    });
    let router = Router::new()
        .route("/console", get(queue_page))
        .route("/console/", get(queue_page))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/requests", get(requests_page))
        .route(
            "/console/requests/new",
            get(new_request_page).post(enter_request),
        )
        .route("/console/requests/{tracking_number}", get(order_page))
        .route(
            "/console/requests/{tracking_number}/dispatch",
            post(dispatch),
        )
        .route(
            "/console/requests/{tracking_number}/call-back",
            post(call_back),
        )
        .route(
            "/console/requests/{tracking_number}/approve-plan",
            post(approve_plan),
        )
        .route(
            "/console/requests/{tracking_number}/cards/{card_event_id}/waive",
            post(supervision::waive),
        )
        .route(
            "/console/requests/{tracking_number}/verification-form",
            get(verification::sheet),
        )
        .route(
            "/console/requests/{tracking_number}/verification-forms/{form_id}",
            get(verification::download),
        )
        .route(
            "/console/requests/{tracking_number}/verification-opinion",
            post(verification::opinion),
        )
        .route("/console/units", get(supervision::units_page))
        .route("/console/knowledge-gaps", get(knowledge_gaps_page))
        .merge(super::ledger::routes())
        .merge(super::reports::console_routes())
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let headers = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------------------------

/// A request from a signed-in user. Without a valid session a page answers with a redirect to the login page
/// (303), remembering where the user wanted to go.
pub struct Staff(SignedIn);

impl FromRequestParts<Arc<ConsoleState>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ConsoleState>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default();
        match console::signed_in(&state.forms().store, &token, Utc::now()).await {
            Ok(Some(signed_in)) => Ok(Staff(signed_in)),
            Ok(None) => {
                let wanted = parts
                    .uri
                    .path_and_query()
                    .map_or("/console", |path| path.as_str());
                let location = if parts.method == axum::http::Method::GET && wanted != "/console" {
                    format!(
                        "/console/login?{}",
                        serde_urlencoded::to_string([("next", wanted)]).unwrap_or_default()
                    )
                } else {
                    "/console/login".to_owned()
                };
                Err(Redirect::to(&location).into_response())
            }
            Err(error) => Err(message_page(state.forms(), None, error.into())),
        }
    }
}

impl Staff {
    /// A POST may change something only with the session's CSRF token and a role that acts.
    pub(super) fn may_act(&self, presented_csrf: Option<&str>) -> Result<(), AppError> {
        self.carries_csrf(presented_csrf)?;
        if self.0.role.can_act() {
            Ok(())
        } else {
            Err(AppError::Forbidden(READ_ONLY.to_owned()))
        }
    }

    fn carries_csrf(&self, presented_csrf: Option<&str>) -> Result<(), AppError> {
        if console::csrf_matches(&self.0.csrf_token, presented_csrf.unwrap_or_default()) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "页面已过期或来源不明，请刷新页面后重试".to_owned(),
            ))
        }
    }

    /// Who acted, as the event log writes it.
    pub(super) fn actor(&self) -> String {
        format!("centre:{}", self.0.user.username)
    }
}

/// What every console page shows of the user (the header and the logout form).
#[derive(Debug, Serialize)]
struct StaffView<'a> {
    username: &'a str,
    display_name: &'a str,
    role: &'static str,
    role_label: &'static str,
    can_act: bool,
}

/// The context of a console page: the site, the title, the user and the session's CSRF token.
pub(super) fn page_context(forms: &Forms, staff: Option<&Staff>, title: &str) -> Context {
    let mut context = forms.page_context.clone();
    context.insert("page_title", title);
    if let Some(Staff(signed_in)) = staff {
        context.insert(
            "staff",
            &StaffView {
                username: &signed_in.user.username,
                display_name: &signed_in.user.display_name,
                role: signed_in.role.code(),
                role_label: signed_in.role.label(),
                can_act: signed_in.role.can_act(),
            },
        );
        context.insert("csrf_token", &signed_in.csrf_token);
        let today = Utc::now().with_timezone(&Shanghai).date_naive();
        if let Some(warning) = forms
            .calendar
            .missing_next_year_warning(today, "config/calendar")
        {
            context.insert("calendar_warning", &warning);
        }
    }
    context
}

/// A page explaining why something could not be done, with the way back into the console.
pub(super) fn message_page(forms: &Forms, staff: Option<&Staff>, error: AppError) -> Response {
    let (status, message) = error.status_and_message();
    let mut context = page_context(forms, staff, "无法完成操作");
    context.insert("message", &message);
    render_page(forms, "console/message.html", &context, status)
}

/// `Secure` when the console is served over HTTPS, so the session never travels in clear text.
fn secure_attribute(forms: &Forms) -> &'static str {
    if forms.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub(super) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Only a path inside the console may be the place to go after login (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|next| {
        (*next == "/console" || next.starts_with("/console/") || next.starts_with("/console?"))
            && !next.contains("//")
            && !next.contains('\\')
            && !next.starts_with("/console/login")
    })
    .unwrap_or("/console")
}

// ---------------------------------------------------------------------------------------------------------------
// Login and logout
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<Arc<ConsoleState>>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let next = query.ok().and_then(|Query(query)| query.next);
    // Already signed in: straight to the console.
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    if let Ok(Some(_)) = console::signed_in(&forms.store, &token, Utc::now()).await {
        return Redirect::to(safe_next(next.as_deref())).into_response();
    }
    login_form(forms, "", safe_next(next.as_deref()), None, StatusCode::OK)
}

/// The login form with a fresh CSRF token (cookie and hidden field), the typed username and an error.
fn login_form(
    forms: &Forms,
    username: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = AccessToken::generate();
    let mut context = page_context(forms, None, "推进中心工作台登录");
    context.insert("login_csrf_token", csrf.as_str());
    context.insert("username", username);
    context.insert("next", next);
    context.insert("error", &error);
    let mut response = render_page(forms, "console/login.html", &context, status);
    set_cookie(
        &mut response,
        &format!(
            "{LOGIN_CSRF_COOKIE}={}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            csrf.as_str(),
            secure_attribute(forms)
        ),
    );
    response
}

async fn login(
    State(state): State<Arc<ConsoleState>>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let pairs = match form_pairs(&body) {
        Ok(pairs) => pairs,
        Err(error) => return message_page(forms, None, error),
    };
    let username = field(&pairs, "username").unwrap_or_default().trim();
    let password = field(&pairs, "password").unwrap_or_default();
    let next = safe_next(field(&pairs, "next"));
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !console::csrf_matches(&expected, field(&pairs, "csrf_token").unwrap_or_default()) {
        return login_form(
            forms,
            username,
            next,
            Some("页面已过期，请重新输入用户名和密码"),
            StatusCode::FORBIDDEN,
        );
    }
    // Every attempt counts, so guessing passwords from one address stops after a few tries a minute.
    if !state.login_limiter.allow(client_address(connect), now) {
        return login_form(
            forms,
            username,
            next,
            Some("登录尝试过于频繁，请一分钟后再试"),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = match console::authenticate(&forms.store, username, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!(username, "工作台登录失败");
            return login_form(
                forms,
                username,
                next,
                Some(LOGIN_FAILED),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(error) => return message_page(forms, None, error.into()),
    };
    // A new session on every login: a token planted before login is never promoted (session fixation).
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let _ = console::close_session(&forms.store, &old).await;
    }
    let session = match console::open_session(&forms.store, user.id, now).await {
        Ok(session) => session,
        Err(error) => return message_page(forms, None, error.into()),
    };
    tracing::info!(username = %user.username, "工作台登录");
    let mut response = Redirect::to(next).into_response();
    set_cookie(
        &mut response,
        &format!(
            "{SESSION_COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
            session.token.as_str(),
            console::SESSION_HOURS * 3600,
            secure_attribute(forms)
        ),
    );
    set_cookie(
        &mut response,
        &format!("{LOGIN_CSRF_COOKIE}=; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

/// Logging out is allowed to every role (it changes nothing but the user's own session).
async fn logout(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let checked =
        form_pairs(&body).and_then(|pairs| staff.carries_csrf(field(&pairs, "csrf_token")));
    if let Err(error) = checked {
        return message_page(forms, Some(&staff), error);
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = console::close_session(&forms.store, &token).await
    {
        return message_page(forms, Some(&staff), error.into());
    }
    let mut response = Redirect::to("/console/login").into_response();
    set_cookie(
        &mut response,
        &format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

// ---------------------------------------------------------------------------------------------------------------
// What the pages show
// ---------------------------------------------------------------------------------------------------------------

fn shanghai_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai).format("%Y-%m-%d").to_string()
}

/// A request as the console shows it: every field the e-mails show (with Chinese labels: `kind`, `status`,
/// `submitted_at`), plus the channel, the units by name and the deadline.
#[derive(Debug, Serialize)]
struct OrderView<'a> {
    #[serde(flatten)]
    request: MailRequest<'a>,
    channel_label: &'static str,
    knowledge_gap: bool,
    lead_unit: Option<String>,
    co_units: Vec<String>,
    due_label: Option<String>,
    /// The deadline has passed and the order is still open.
    overdue: bool,
    submitted_date: String,
    updated_label: String,
}

fn is_open(row: &RequestRow) -> bool {
    row.status.is_open()
}

fn order_view<'a>(forms: &Forms, row: &'a RequestRow, now: DateTime<Utc>) -> OrderView<'a> {
    OrderView {
        request: MailRequest::of(row),
        channel_label: row.channel.parse::<Channel>().map_or("", Channel::label),
        knowledge_gap: row.knowledge_gap,
        lead_unit: row.lead_unit.as_deref().map(|id| unit_ref(forms, id).name),
        co_units: row
            .co_units
            .iter()
            .map(|id| unit_ref(forms, id).name)
            .collect(),
        due_label: row.due_at.map(shanghai),
        overdue: is_open(row) && row.due_at.is_some_and(|due| due < now),
        submitted_date: shanghai_date(row.created_at),
        updated_label: shanghai(row.updated_at),
    }
}

/// One choice of unit in the dispatch form.
#[derive(Debug, Serialize)]
pub(super) struct UnitChoice<'a> {
    id: &'a str,
    name: &'a str,
}

/// The units of one kind, for an `<optgroup>` and a group of checkboxes.
#[derive(Debug, Serialize)]
pub(super) struct UnitGroup<'a> {
    label: &'static str,
    units: Vec<UnitChoice<'a>>,
}

/// The directory's units of each of `kinds`, in that order, with the group's Chinese name; empty groups are left
/// out.
fn units_by_kind(
    forms: &Forms,
    kinds: [UnitKind; 3],
) -> impl Iterator<Item = (&'static str, Vec<&Unit>)> {
    kinds.into_iter().filter_map(move |kind| {
        let label = match kind {
            UnitKind::Department => "市直部门",
            UnitKind::Town => "镇街",
            UnitKind::Zone => "开发区",
        };
        let units: Vec<&Unit> = forms
            .directory
            .units
            .iter()
            .filter(|unit| unit.kind == kind)
            .collect();
        (!units.is_empty()).then_some((label, units))
    })
}

pub(super) fn unit_groups(forms: &Forms) -> Vec<UnitGroup<'_>> {
    units_by_kind(
        forms,
        [UnitKind::Department, UnitKind::Town, UnitKind::Zone],
    )
    .map(|(label, units)| UnitGroup {
        label,
        units: units
            .into_iter()
            .map(|unit| UnitChoice {
                id: &unit.id,
                name: &unit.name,
            })
            .collect(),
    })
    .collect()
}

/// The dispatch form of one order: what is chosen when the page opens, and what the catalogue suggests.
#[derive(Debug, Serialize)]
struct DispatchForm {
    /// 改派: the order went to a unit already.
    redispatch: bool,
    lead_unit: String,
    co_units: Vec<String>,
    reason: String,
    suggested_lead: String,
    suggested_co: Vec<String>,
    suggested_reason: String,
    /// The catalogue is sure enough that automatic dispatch would have sent it.
    suggestion_clear: bool,
}

/// A first dispatch starts from the catalogue's suggestion; a re-dispatch from the current units, with the
/// reason left for the centre to write.
fn dispatch_form(forms: &Forms, row: &RequestRow) -> DispatchForm {
    let suggestion = forms.suggest(row);
    let name = |id: &str| unit_ref(forms, id).name;
    let redispatch = row.status != Status::New;
    let (lead_unit, co_units, reason) = match &row.lead_unit {
        Some(lead) if redispatch => (lead.clone(), row.co_units.clone(), String::new()),
        _ => (
            suggestion.lead_unit.clone(),
            suggestion.co_units.clone(),
            suggestion.reason.clone(),
        ),
    };
    DispatchForm {
        redispatch,
        lead_unit,
        co_units,
        reason,
        suggested_lead: name(&suggestion.lead_unit),
        suggested_co: suggestion.co_units.iter().map(|id| name(id)).collect(),
        suggested_reason: suggestion.reason,
        suggestion_clear: suggestion.clear,
    }
}

/// A line of the history as the centre sees it: the enterprise's wording plus who did it and every detail.
#[derive(Debug, Serialize)]
struct ConsoleEvent {
    #[serde(flatten)]
    entry: TimelineEntry,
    actor: String,
    details: Vec<EventDetail>,
}

#[derive(Debug, Serialize)]
struct EventDetail {
    name: String,
    value: String,
}

/// Who acted, in Chinese: `centre:zhang` → 推进中心（zhang）, `unit:power` → the unit's name.
fn actor_label(forms: &Forms, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("centre", username)) => format!("推进中心（{username}）"),
        Some(("unit", id)) => unit_ref(forms, id).name,
        Some(("enterprise", channel)) => match channel.parse::<Channel>() {
            Ok(channel) => format!("企业（{}）", channel.label()),
            Err(_) => "企业".to_owned(),
        },
        Some(("system", "auto-dispatch")) => "系统（按派单目录自动派单）".to_owned(),
        Some(("system", _)) => "系统".to_owned(),
        _ if actor == "enterprise" => "企业".to_owned(),
        _ => actor.to_owned(),
    }
}

/// The order in which an event's details are shown; fields not listed follow, by name.
const DETAIL_ORDER: [&str; 17] = [
    "lead_unit",
    "co_units",
    "due_at",
    "deadline_rule",
    "counted",
    "calendar",
    "calendar_warning",
    "reason",
    "kind",
    "channel",
    "instant_answer",
    "note",
    "solved",
    "method",
    "contact_name",
    "contact_phone",
    "committed_date",
];

/// Payload fields that only serve the program (markers, codes shown by their label instead).
const HIDDEN_DETAILS: [&str; 4] = ["closed", "verification", "conclusion", "cards"];

/// Every field of an event's payload (of an event of kind `kind`), with Chinese names and unit names in place
/// of ids.
fn event_details(forms: &Forms, kind: &str, payload: &serde_json::Value) -> Vec<EventDetail> {
    use serde_json::Value;
    let Some(fields) = payload.as_object() else {
        return Vec::new();
    };
    // Nothing closes without a reason (销号理由), and it is what the centre reads first on a closing event.
    let closing = payload.get("closed") == Some(&Value::Bool(true));
    let mut fields: Vec<(&String, &Value)> = fields
        .iter()
        .filter(|(key, _)| !HIDDEN_DETAILS.contains(&key.as_str()))
        .collect();
    fields.sort_by_key(|(key, _)| {
        if closing && key.as_str() == "reason" {
            return 0;
        }
        1 + DETAIL_ORDER
            .iter()
            .position(|known| known == key)
            .unwrap_or(DETAIL_ORDER.len())
    });
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "是".to_owned(),
        Value::Bool(false) => "否".to_owned(),
        other => other.to_string(),
    };
    fields
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let (name, value) = match key.as_str() {
                "lead_unit" => ("首接单位", unit_ref(forms, &text(value)).name),
                "co_units" => (
                    "协办单位",
                    value
                        .as_array()
                        .map(|units| {
                            units
                                .iter()
                                .map(|unit| unit_ref(forms, &text(unit)).name)
                                .collect::<Vec<_>>()
                                .join("、")
                        })
                        .filter(|names| !names.is_empty())
                        .unwrap_or_else(|| "无".to_owned()),
                ),
                "due_at" => (
                    "办理期限",
                    DateTime::parse_from_rfc3339(&text(value))
                        .map(|due| shanghai(due.with_timezone(&Utc)))
                        .unwrap_or_else(|_| text(value)),
                ),
                "reason" if closing => ("销号理由", text(value)),
                "reason" => ("理由", text(value)),
                "explanation" => ("承办单位说明", text(value)),
                "file_name" => ("文件名", text(value)),
                "media_type" => (
                    "文件类型",
                    crate::domain::MediaType::from_mime(&text(value))
                        .map_or_else(|| text(value), |kind| kind.label().to_owned()),
                ),
                "size" => (
                    "文件大小",
                    value
                        .as_u64()
                        .map_or_else(|| text(value), crate::domain::human_size),
                ),
                "sha256" => ("SHA-256", text(value)),
                "conclusion_label" => ("核查结论", text(value)),
                "opinion" => ("核查意见", text(value)),
                "form_id" => ("依据的审核反馈表", format!("第 {} 号上传文件", text(value))),
                "form_sha256" => ("审核反馈表 SHA-256", text(value)),
                "evidence" => ("事实", text(value)),
                "order" => ("工单", text(value)),
                "orders" => (
                    "涉及工单",
                    value
                        .as_array()
                        .map(|orders| orders.iter().map(&text).collect::<Vec<_>>().join("、"))
                        .unwrap_or_default(),
                ),
                "card" => (
                    "亮牌类别",
                    match text(value).as_str() {
                        "yellow_card" => "黄牌".to_owned(),
                        "red_card" => "红牌警示".to_owned(),
                        "interview" => "约谈主要负责人".to_owned(),
                        other => other.to_owned(),
                    },
                ),
                "card_event_id" => ("亮牌记录编号", text(value)),
                "deadline_rule" => ("期限规则", text(value)),
                "rating" => (
                    "满意度评价",
                    [
                        value.get("rating_label").map(&text),
                        value.get("channel").map(|c| {
                            if text(c) == "call_back" {
                                "电话回访".to_owned()
                            } else {
                                "企业在线评价".to_owned()
                            }
                        }),
                        value
                            .get("comment")
                            .map(&text)
                            .filter(|c| !c.is_empty())
                            .map(|c| format!("意见建议：{c}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("；"),
                ),
                "closure" => ("销号", text(value)),
                "next" => ("下一步", text(value)),
                "statement" => ("企业陈述", text(value)),
                "rule" => ("依据", text(value)),
                "unit" => ("单位", unit_ref(forms, &text(value)).name),
                "calendar" => ("工作日历", text(value)),
                "calendar_warning" => ("提示", text(value)),
                "counted" => (
                    "计入的工作日",
                    value
                        .as_array()
                        .map(|days| days.iter().map(&text).collect::<Vec<_>>().join("、"))
                        .unwrap_or_default(),
                ),
                // On the first event, the note the centre wrote when it entered the request (代录).
                "note" if matches!(kind, "submitted" | "answered") => ("备注", text(value)),
                "note" => ("情况说明", text(value)),
                "solved" => ("是否解决", text(value)),
                "method" => ("解决方式", text(value)),
                "contact_name" => ("联系人", text(value)),
                "contact_phone" => ("联系电话", text(value)),
                "committed_date" => ("承诺办结日期", text(value)),
                "kind" => (
                    "诉求类型",
                    text(value)
                        .parse::<RequestKind>()
                        .map_or_else(|_| text(value), |kind| kind.label().to_owned()),
                ),
                "channel" => (
                    "受理渠道",
                    text(value)
                        .parse::<Channel>()
                        .map_or_else(|_| text(value), |channel| channel.label().to_owned()),
                ),
                "instant_answer" => ("政策库答复", instant_answer_summary(value)),
                other => return (other.to_owned(), text(value)),
            };
            (name.to_owned(), value)
        })
        .map(|(name, value)| EventDetail { name, value })
        .collect()
}

/// 《title》（置信度 0.82） for an answer the policy base gave, or why it did not answer.
fn instant_answer_summary(answer: &serde_json::Value) -> String {
    let confidence = answer
        .get("confidence")
        .and_then(serde_json::Value::as_f64)
        .map(|confidence| format!("（置信度 {confidence:.2}）"))
        .unwrap_or_default();
    let answered = answer.get("answered").and_then(serde_json::Value::as_bool) == Some(true);
    match answer
        .get("answer")
        .and_then(|answer| answer.get("title"))
        .and_then(serde_json::Value::as_str)
    {
        Some(title) if answered => format!("已依据《{title}》即时答复{confidence}"),
        _ => format!("政策库未能答复{confidence}"),
    }
}

fn console_event(forms: &Forms, event: &EventRow) -> ConsoleEvent {
    ConsoleEvent {
        entry: timeline_entry(forms, event),
        actor: actor_label(forms, &event.actor),
        details: event_details(forms, &event.kind, &event.payload),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The queue (待派单)
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct QueueItem<'a> {
    request: OrderView<'a>,
    form: DispatchForm,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct QueueQuery {
    dispatched: Option<String>,
}

/// Requests waiting for the centre, oldest first, each with the catalogue's suggestion and a dispatch form.
async fn queue_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let waiting = RequestFilter {
        status: Some(Status::New.code().to_owned()),
        ..RequestFilter::default()
    };
    let (rows, total) = match tokio::try_join!(
        forms.store.requests_with_status(Status::New, QUEUE_LIMIT),
        forms.store.count_requests(&waiting),
    ) {
        Ok(found) => found,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let items: Vec<QueueItem<'_>> = rows
        .iter()
        .map(|row| QueueItem {
            request: order_view(forms, row, now),
            form: dispatch_form(forms, row),
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "待派单");
    context.insert("items", &items);
    context.insert("total", &total);
    context.insert("unit_groups", &unit_groups(forms));
    context.insert(
        "dispatched",
        &query
            .ok()
            .and_then(|Query(query)| query.dispatched)
            .filter(|number| !number.is_empty()),
    );
    render_page(forms, "console/queue.html", &context, StatusCode::OK)
}

// ---------------------------------------------------------------------------------------------------------------
// Every order (全部诉求)
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ListQuery {
    status: Option<String>,
    unit: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

/// A choice in a filter's `<select>`.
#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
}

/// The status codes the list can be filtered by, in the order of an order's life.
const STATUSES: [Status; 9] = [
    Status::New,
    Status::Dispatched,
    Status::Accepted,
    Status::Planned,
    Status::Resolved,
    Status::Rework,
    Status::Verification,
    Status::Closed,
    Status::Answered,
];

#[derive(Serialize)]
struct Pagination {
    current: i64,
    total: i64,
    prev_url: Option<String>,
    next_url: Option<String>,
    pages: Vec<PageLink>,
}

#[derive(Serialize)]
struct PageLink {
    number: i64,
    url: String,
    current: bool,
}

/// The list URL with the same filters on another page.
fn list_url(query: &ListQuery, page: i64) -> String {
    let mut pairs: Vec<(&str, String)> = [
        ("status", &query.status),
        ("unit", &query.unit),
        ("kind", &query.kind),
        ("q", &query.q),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(|value| (name, value.to_owned()))
    })
    .collect();
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/console/requests".to_owned()
    } else {
        format!("/console/requests?{query}")
    }
}

/// Every order, newest first, with search (受理编号、企业名称、诉求描述) and filters, 50 to a page.
async fn requests_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let Ok(Query(query)) = query else {
        return message_page(
            forms,
            Some(&staff),
            AppError::BadRequest("查询条件无法识别，请重新选择".to_owned()),
        );
    };
    let query = ListQuery {
        q: query.q.map(|q| q.trim().chars().take(100).collect()),
        ..query
    };
    let filter = RequestFilter {
        status: query.status.clone(),
        unit: query.unit.clone(),
        query: query.q.clone(),
        kind: query.kind.clone(),
    };
    let total = match forms.store.count_requests(&filter).await {
        Ok(total) => total,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let current = query
        .page
        .as_deref()
        .and_then(|page| page.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let rows = match forms
        .store
        .requests_page(&filter, PAGE_SIZE, (current - 1) * PAGE_SIZE)
        .await
    {
        Ok(rows) => rows,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let orders: Vec<OrderView<'_>> = rows.iter().map(|row| order_view(forms, row, now)).collect();
    let pagination = Pagination {
        current,
        total: pages,
        prev_url: (current > 1).then(|| list_url(&query, current - 1)),
        next_url: (current < pages).then(|| list_url(&query, current + 1)),
        pages: (1..=pages)
            .map(|number| PageLink {
                number,
                url: list_url(&query, number),
                current: number == current,
            })
            .collect(),
    };
    let statuses: Vec<Choice> = STATUSES
        .iter()
        .map(|status| Choice {
            value: status.code().to_owned(),
            label: status.label().to_owned(),
        })
        .collect();
    let kinds: Vec<Choice> = RequestKind::ALL
        .iter()
        .map(|kind| Choice {
            value: kind.code().to_owned(),
            label: kind.label().to_owned(),
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "全部诉求");
    context.insert("orders", &orders);
    context.insert("count", &total);
    context.insert("pagination", &pagination);
    context.insert("filter", &query);
    context.insert("statuses", &statuses);
    context.insert("kinds", &kinds);
    context.insert("unit_groups", &unit_groups(forms));
    render_page(forms, "console/requests.html", &context, StatusCode::OK)
}

// ---------------------------------------------------------------------------------------------------------------
// One order
// ---------------------------------------------------------------------------------------------------------------

async fn find_order(forms: &Forms, tracking_number: &str) -> Result<RequestRow, AppError> {
    forms
        .store
        .request_by_tracking_number(tracking_number.trim())
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OrderQuery {
    dispatched: Option<String>,
    /// Just entered by the centre (登记诉求).
    entered: Option<String>,
}

/// The whole order: every field, status, units, deadline, the policy base's answer, the complete history with
/// who acted and every detail, and the dispatch or re-dispatch form while that is still possible.
async fn order_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    query: Result<Query<OrderQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let query = query.ok().map(|Query(query)| query).unwrap_or_default();
    let row = match find_order(forms, &tracking_number).await {
        Ok(row) => row,
        Err(error) => return message_page(forms, Some(&staff), error),
    };
    let events = match forms.store.events(row.id).await {
        Ok(events) => events,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let timeline: Vec<ConsoleEvent> = events
        .iter()
        .map(|event| console_event(forms, event))
        .collect();
    let centre = Actor::centre(&staff.0.user.username);
    let can = |step| decide(&row.state(), &centre, step).is_ok();
    let can_dispatch = can(Step::Dispatch);
    let mut context = page_context(
        forms,
        Some(&staff),
        &format!("诉求详情 {}", row.tracking_number),
    );
    context.insert("request", &order_view(forms, &row, Utc::now()));
    context.insert(
        "instant_answer",
        &row.instant_answer
            .as_deref()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .map(|answer| instant_answer_summary(&answer)),
    );
    context.insert("timeline", &timeline);
    context.insert("can_dispatch", &can_dispatch);
    context.insert("can_call_back", &can(Step::Rate { satisfied: true }));
    // The lead unit's supervision card (督办亮牌) today, computed from the card events.
    if let Some(unit) = row.lead_unit.as_deref() {
        match forms.store.supervision_events().await {
            Ok(events) => {
                let card = crate::sla::cards::unit_card_state(&events, unit, Utc::now());
                context.insert("unit_card", &json!({ "code": card, "label": card.label() }));
            }
            Err(error) => tracing::error!("读取督办亮牌记录失败：{error}"),
        }
    }
    context.insert("can_approve_plan", &can(Step::ApprovePlan));
    context.insert("cards", &supervision::order_cards(forms, &events));
    match verification::view(forms, &row, &events).await {
        Ok(view) => context.insert("verification", &view),
        Err(error) => return message_page(forms, Some(&staff), error),
    }
    if can_dispatch {
        context.insert("form", &dispatch_form(forms, &row));
        context.insert("unit_groups", &unit_groups(forms));
    }
    context.insert("dispatched", &query.dispatched.is_some());
    context.insert("entered", &query.entered.is_some());
    render_page(forms, "console/order.html", &context, StatusCode::OK)
}

/// What the dispatch form sends.
struct DispatchChoice {
    lead_unit: String,
    co_units: Vec<String>,
    reason: String,
    back_to_queue: bool,
}

fn read_dispatch(pairs: &[(String, String)], redispatch: bool) -> Result<DispatchChoice, AppError> {
    let lead_unit = field(pairs, "lead_unit")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if lead_unit.is_empty() {
        return Err(AppError::BadRequest("请选择首接单位".to_owned()));
    }
    let mut seen = HashSet::new();
    let co_units: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key == "co_units")
        .map(|(_, value)| value.trim().to_owned())
        .filter(|unit| !unit.is_empty() && *unit != lead_unit && seen.insert(unit.clone()))
        .collect();
    let reason: String = field(pairs, "reason")
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if reason.chars().count() > 500 {
        return Err(AppError::BadRequest("派单说明不能超过500个字".to_owned()));
    }
    let reason = match (reason.is_empty(), redispatch) {
        (true, true) => return Err(AppError::BadRequest("改派请填写改派原因".to_owned())),
        (true, false) => "推进中心研判派单".to_owned(),
        (false, _) => reason,
    };
    Ok(DispatchChoice {
        lead_unit,
        co_units,
        reason,
        back_to_queue: field(pairs, "return_to") == Some("queue"),
    })
}

/// 派单 / 改派: sends the order to the chosen units (e-mails go out through the outbox).
async fn dispatch(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let pairs = form_pairs(&body)?;
        staff.may_act(field(&pairs, "csrf_token"))?;
        let row = find_order(forms, &tracking_number).await?;
        let choice = read_dispatch(&pairs, row.status != Status::New)?;
        let row = forms
            .dispatch(
                &row,
                &choice.lead_unit,
                &choice.co_units,
                &staff.actor(),
                &choice.reason,
                Utc::now(),
            )
            .await?;
        tracing::info!(
            tracking_number = %row.tracking_number,
            lead_unit = %choice.lead_unit,
            actor = %staff.actor(),
            "推进中心派单"
        );
        Ok::<_, AppError>((row, choice.back_to_queue))
    }
    .await;
    match result {
        Ok((row, true)) => Redirect::to(&format!(
            "/console?{}",
            serde_urlencoded::to_string([("dispatched", row.tracking_number.as_str())])
                .unwrap_or_default()
        ))
        .into_response(),
        Ok((row, false)) => Redirect::to(&format!(
            "/console/requests/{}?dispatched=1",
            row.tracking_number
        ))
        .into_response(),
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

/// After a step on an order: back to its page, or the error explained.
fn back_to_order(forms: &Forms, staff: &Staff, result: Result<RequestRow, AppError>) -> Response {
    match result {
        Ok(row) => {
            Redirect::to(&format!("/console/requests/{}", row.tracking_number)).into_response()
        }
        Err(error) => message_page(forms, Some(staff), error),
    }
}

/// The centre approves a unit's plan; the order's deadline becomes the committed date.
async fn approve_plan(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let pairs = form_pairs(&body)?;
        staff.may_act(field(&pairs, "csrf_token"))?;
        let row = find_order(forms, &tracking_number).await?;
        forms
            .approve_plan(&row, &staff.actor(), Utc::now())
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}

/// 电话回访 (notice §二(五)1): the centre calls the enterprise back and records its rating; it can also record that
/// the enterprise says the unit never contacted it (虚假反馈, notice §二(五)3), which the reports count.
async fn call_back(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let pairs = form_pairs(&body)?;
        staff.may_act(field(&pairs, "csrf_token"))?;
        let row = find_order(forms, &tracking_number).await?;
        let (rating, comment) =
            super::read_rating(field(&pairs, "rating"), field(&pairs, "comment"))?;
        let false_feedback = field(&pairs, "false_feedback").is_some_and(|value| !value.is_empty());
        let now = Utc::now();
        if false_feedback {
            forms
                .record_false_feedback(&row, &comment, &staff.actor(), now)
                .await?;
        }
        forms
            .rate(&row, rating, &comment, "call_back", &staff.actor(), now)
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}

// ---------------------------------------------------------------------------------------------------------------
// Entering a request for an enterprise (登记诉求: 电话, 征询专员)
// ---------------------------------------------------------------------------------------------------------------

/// What the entry form sends besides the request's own fields (those are a [`RequestForm`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EntryExtras {
    /// 受理渠道: `phone` or `collector`.
    channel: Option<String>,
    /// 备注, e.g. the reporting unit (提报单位) of a collector's entry.
    note: Option<String>,
    /// One-time token of the page: a double-clicked form enters one request.
    form_token: Option<String>,
}

/// A checked entry: the request with its channel, and the note.
#[derive(Debug)]
struct Entry {
    request: NewRequest,
    note: Option<EntryNote>,
}

/// Checks the entry form: the request's fields exactly as the public form checks them, plus the channel and the
/// note. Every problem is reported at once, keyed by field name.
fn read_entry(form: &RequestForm, extras: &EntryExtras) -> Result<Entry, FieldErrors> {
    let mut errors = FieldErrors::new();
    let channel = match extras.channel.as_deref().map(str::trim) {
        None | Some("") => {
            errors.insert("channel", "请选择受理渠道（电话或征询专员）");
            None
        }
        Some(input) => match input.parse::<Channel>() {
            Ok(channel) if Channel::ENTERED.contains(&channel) => Some(channel),
            // A web request comes only from the enterprise's own form.
            _ => {
                errors.insert("channel", "受理渠道应为电话或征询专员");
                None
            }
        },
    };
    let note = extras
        .note
        .as_deref()
        .map(str::trim)
        .filter(|note| !note.is_empty())
        .map(EntryNote::parse)
        .transpose();
    let note = errors.check("note", note);
    // The request's fields are checked even when the channel is wrong, so every problem shows at once; the
    // stand-in channel never leaves this function, because a wrong channel is an error.
    let request = match NewRequest::parse(form, channel.unwrap_or(Channel::Phone)) {
        Ok(request) => Some(request),
        Err(found) => {
            for (field, message) in found.iter() {
                errors.insert(field, message);
            }
            None
        }
    };
    match (request, channel, note) {
        (Some(request), Some(_), Some(note)) => Ok(Entry { request, note }),
        _ => Err(errors),
    }
}

/// What the entry form shows in its fields: the public form's fields, the channel and the note.
fn entry_values(form: &RequestForm, extras: &EntryExtras) -> serde_json::Value {
    let mut values = form_values(form);
    values["channel"] = json!(extras.channel.as_deref().unwrap_or_default().trim());
    values["note"] = json!(extras.note.as_deref().unwrap_or_default());
    values
}

/// The entry form with the typed values and, after a failed attempt, each error beside its field.
fn entry_form(
    forms: &Forms,
    staff: &Staff,
    values: &serde_json::Value,
    errors: Option<&FieldErrors>,
    status: StatusCode,
) -> Response {
    let title = if errors.is_some() {
        "请修改后重新登记"
    } else {
        "登记诉求"
    };
    let channels: Vec<Choice> = Channel::ENTERED
        .iter()
        .map(|channel| Choice {
            value: channel.code().to_owned(),
            label: channel.label().to_owned(),
        })
        .collect();
    let mut context = page_context(forms, Some(staff), title);
    context.insert("form", values);
    context.insert("errors", &errors);
    context.insert("channels", &channels);
    context.insert("towns", &forms.directory.town_names());
    context.insert("form_token", AccessToken::generate().as_str());
    render_page(forms, "console/new_request.html", &context, status)
}

/// 登记诉求: the form for a request that came by phone or from a town's collector.
async fn new_request_page(State(state): State<Arc<ConsoleState>>, staff: Staff) -> Response {
    let values = entry_values(&RequestForm::default(), &EntryExtras::default());
    entry_form(state.forms(), &staff, &values, None, StatusCode::OK)
}

/// The outcome of posting the entry form.
enum Entered {
    Created(Box<RequestRow>),
    Invalid {
        values: serde_json::Value,
        errors: FieldErrors,
    },
}

/// Enters the request through the workflow, exactly like the enterprise's own submission (instant answer,
/// automatic dispatch, receipt e-mail), with the centre user as the first event's actor; then shows the order.
async fn enter_request(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let pairs = form_pairs(&body)?;
        staff.may_act(field(&pairs, "csrf_token"))?;
        let unreadable = |_| AppError::BadRequest("无法识别提交的表单".to_owned());
        let form: RequestForm = serde_urlencoded::from_bytes(&body).map_err(unreadable)?;
        let extras: EntryExtras = serde_urlencoded::from_bytes(&body).map_err(unreadable)?;
        let entry = match read_entry(&form, &extras) {
            Ok(entry) => entry,
            Err(errors) => {
                return Ok(Entered::Invalid {
                    values: entry_values(&form, &extras),
                    errors,
                });
            }
        };
        let idempotency_key = idempotency_key(extras.form_token.as_deref());
        let submitted = forms
            .submit_entered(
                &entry.request,
                &staff.actor(),
                entry.note.as_ref().map(EntryNote::as_str),
                idempotency_key.as_deref(),
                Utc::now(),
            )
            .await?;
        tracing::info!(
            tracking_number = %submitted.row.tracking_number,
            channel = entry.request.channel.code(),
            actor = %staff.actor(),
            "推进中心登记诉求"
        );
        Ok::<_, AppError>(Entered::Created(Box::new(submitted.row)))
    }
    .await;
    match result {
        Ok(Entered::Created(row)) => Redirect::to(&format!(
            "/console/requests/{}?entered=1",
            row.tracking_number
        ))
        .into_response(),
        Ok(Entered::Invalid { values, errors }) => entry_form(
            forms,
            &staff,
            &values,
            Some(&errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Knowledge gaps (知识缺口)
// ---------------------------------------------------------------------------------------------------------------

/// A knowledge gap: the consultation, and the instant answer it got when the enterprise escalated it anyway.
#[derive(Serialize)]
struct GapView<'a> {
    #[serde(flatten)]
    order: OrderView<'a>,
    answer: Option<GivenAnswer>,
}

/// The instant answer a consultation got (即时答复), as the enterprise saw it.
#[derive(Serialize)]
struct GivenAnswer {
    title: String,
    text: String,
    url: String,
}

/// Consultations the policy base could not answer, and those whose instant answer did not solve the problem,
/// newest first: what the centre adds to or corrects in the policy base next.
async fn knowledge_gaps_page(State(state): State<Arc<ConsoleState>>, staff: Staff) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let rows = match forms.store.knowledge_gaps(KNOWLEDGE_GAP_LIMIT).await {
        Ok(rows) => rows,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let gaps: Vec<GapView<'_>> = rows
        .iter()
        .map(|row| GapView {
            order: order_view(forms, row, now),
            answer: row
                .instant_answer
                .as_deref()
                .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
                .filter(|answer| answer["answered"] == serde_json::Value::Bool(true))
                .map(|answer| GivenAnswer {
                    title: answer["answer"]["title"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    text: answer["answer"]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    url: answer["answer"]["url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                }),
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "知识缺口");
    context.insert("gaps", &gaps);
    context.insert("limit", &KNOWLEDGE_GAP_LIMIT);
    render_page(
        forms,
        "console/knowledge_gaps.html",
        &context,
        StatusCode::OK,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/console/requests?q=1")),
            "/console/requests?q=1"
        );
        assert_eq!(safe_next(Some("/console")), "/console");
        for hostile in [
            "https://evil.example/",
            "//evil.example/console",
            "/console//evil",
            "/consolex",
            "/console/login",
            "/\\evil.example",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/console", "{hostile}");
        }
        assert_eq!(safe_next(None), "/console");
    }

    #[test]
    fn list_urls_keep_the_filters_and_drop_empty_ones() {
        let query = ListQuery {
            status: Some("new".to_owned()),
            unit: Some(String::new()),
            kind: None,
            q: Some("停电 & 电压".to_owned()),
            page: None,
        };
        assert_eq!(
            list_url(&query, 3),
            "/console/requests?status=new&q=%E5%81%9C%E7%94%B5+%26+%E7%94%B5%E5%8E%8B&page=3"
        );
        assert_eq!(list_url(&ListQuery::default(), 1), "/console/requests");
    }

    #[test]
    fn a_redispatch_needs_a_reason_and_co_units_are_unique() {
        let pairs = |reason: &str| {
            vec![
                ("lead_unit".to_owned(), "power".to_owned()),
                ("co_units".to_owned(), "tax".to_owned()),
                ("co_units".to_owned(), "tax".to_owned()),
                ("co_units".to_owned(), "power".to_owned()),
                ("reason".to_owned(), reason.to_owned()),
            ]
        };
        let first = read_dispatch(&pairs(""), false).unwrap();
        assert_eq!(first.co_units, ["tax"]);
        assert_eq!(first.reason, "推进中心研判派单");
        assert!(read_dispatch(&pairs(""), true).is_err());
        assert_eq!(
            read_dispatch(&pairs("原单位职责不符"), true)
                .unwrap()
                .reason,
            "原单位职责不符"
        );
        assert!(read_dispatch(&[], false).is_err());
    }

    fn phoned_in() -> RequestForm {
        RequestForm {
            kind: Some("help".to_owned()),
            enterprise_name: Some("滕州市恒达机械制造有限公司".to_owned()),
            contact_name: Some("王经理".to_owned()),
            contact_phone: Some("0632-5512345".to_owned()),
            town: Some("洪绪镇".to_owned()),
            description: Some("厂区门前道路积水，货车无法进出，请协调修复。".to_owned()),
            ..RequestForm::default()
        }
    }

    #[test]
    fn an_entry_keeps_its_channel_and_note() {
        // Arrange
        let extras = EntryExtras {
            channel: Some(" collector ".to_owned()),
            note: Some("提报单位：洪绪镇（征询专员李明）".to_owned()),
            form_token: None,
        };

        // Act
        let entry = read_entry(&phoned_in(), &extras).expect("valid entry");

        // Assert
        assert_eq!(entry.request.channel, Channel::Collector);
        assert_eq!(
            entry.note.as_ref().map(EntryNote::as_str),
            Some("提报单位：洪绪镇（征询专员李明）")
        );
    }

    #[test]
    fn an_entry_needs_a_centre_channel_and_reports_every_problem_at_once() {
        for channel in [None, Some(""), Some("web"), Some("网站"), Some("wechat")] {
            // Arrange
            let extras = EntryExtras {
                channel: channel.map(str::to_owned),
                note: Some("备".repeat(501)),
                form_token: None,
            };
            let form = RequestForm {
                contact_phone: Some("12345".to_owned()),
                ..phoned_in()
            };

            // Act
            let errors = read_entry(&form, &extras).unwrap_err();

            // Assert
            assert!(errors.get("channel").is_some(), "{channel:?}");
            assert_eq!(
                errors.get("note"),
                Some("备注不能超过500个字（现为501个字）")
            );
            assert!(errors.get("contact_phone").is_some());
            assert_eq!(errors.len(), 3);
        }
    }
}
