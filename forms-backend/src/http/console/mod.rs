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

mod callbacks;
mod entry;
mod gaps;
mod lists;
mod orders;
mod supervision;
mod verification;
mod views;

pub(crate) use self::views::unit_groups;

use self::{callbacks::*, entry::*, gaps::*, lists::*, orders::*, views::*};

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
            "/console/requests/{tracking_number}/reject-plan",
            post(reject_plan),
        )
        .route(
            "/console/requests/{tracking_number}/refer-to-government",
            post(refer_to_government),
        )
        .route(
            "/console/requests/{tracking_number}/coordination",
            post(record_coordination),
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
        .route("/console/call-backs", get(call_backs_page))
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
            .current()
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
    if !state
        .login_limiter
        .allow(client_address(connect, &headers, &state.app.intake), now)
    {
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
