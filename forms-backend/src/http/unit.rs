//! The handling unit's page (承办单位办理页): reached through the link in the dispatch e-mail (token per unit and
//! order, expiring, only its hash stored). The unit accepts, reports progress, reports the result (申请销号, the
//! feedback form's fields) or submits a plan with a committed date; co-handlers add their contribution. When the
//! enterprise is still unsatisfied after two rounds, the lead unit writes its explanation, prints the
//! 不满意诉求审核反馈表 and uploads the signed and sealed scan (notice §二(四)3).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::tracking::{TokenQuery, presented_token, timeline_entry};
use super::{
    AppError, FormsState, check_csrf, error_page, issue_csrf, render_page, step_response,
    wants_html,
};
use crate::domain::{AccessToken, MediaType, Phone, UploadedFile, human_size};
use crate::order::{Actor, LinkRole, Status, Step, decide};
use crate::sla::order_supervision::order_supervision;
use crate::store::RequestRow;
use crate::store::verification::VerificationFormRow;
use crate::verification::{self, VerificationSheet};
use crate::workflow::{Forms, MailRequest, UnitAction};

/// Room for the upload form's other fields and the multipart framing around the file.
const UPLOAD_OVERHEAD_BYTES: usize = 64 * 1024;

/// The unit's routes; the upload accepts bodies up to `max_upload_bytes` plus the form's framing.
pub fn routes(max_upload_bytes: usize) -> Router<Arc<FormsState>> {
    Router::new()
        .route("/unit/{tracking_number}", get(unit_page).post(unit_post))
        .route(
            "/unit/{tracking_number}/verification-form",
            get(sheet_page).post(upload).layer(DefaultBodyLimit::max(
                max_upload_bytes.saturating_add(UPLOAD_OVERHEAD_BYTES),
            )),
        )
}

/// An uploaded form as the unit's page and the console list it.
#[derive(Debug, Serialize)]
pub(crate) struct UploadView {
    pub id: i64,
    pub file_name: String,
    pub kind: &'static str,
    pub size: String,
    pub uploaded_at: String,
    pub sha256: String,
    /// The newest upload of the current verification: the one that counts.
    pub current: bool,
}

impl UploadView {
    pub(crate) fn of(form: &VerificationFormRow, current: bool) -> UploadView {
        UploadView {
            id: form.id,
            file_name: form.file_name.clone(),
            kind: MediaType::from_mime(&form.media_type).map_or("文件", MediaType::label),
            size: human_size(u64::try_from(form.size).unwrap_or_default()),
            uploaded_at: super::tracking::shanghai(form.uploaded_at),
            sha256: form.sha256.clone(),
            current,
        }
    }

    /// The uploads of the current verification, newest first; the first is the one that counts.
    pub(crate) fn current(
        events: &[crate::store::EventRow],
        forms: &[VerificationFormRow],
    ) -> Vec<UploadView> {
        verification::current_forms(events, forms)
            .into_iter()
            .enumerate()
            .map(|(index, form)| UploadView::of(form, index == 0))
            .collect()
    }
}

/// What the unit may do on its page now, as the order rules decide: only these forms are shown.
#[derive(Debug, Serialize)]
struct UnitCan {
    accept: bool,
    progress: bool,
    resolve: bool,
    plan: bool,
    forward: bool,
    /// 退单, before accepting and within the acceptance limit.
    give_back: bool,
    any: bool,
}

impl UnitCan {
    fn of(forms: &Forms, row: &RequestRow, unit_id: &str, late: bool) -> UnitCan {
        let local = forms.is_local_unit(unit_id);
        let actor = Actor::unit(unit_id);
        let allowed = |step| decide(&row.state(), &actor, step).is_ok();
        let (accept, progress, resolve, plan) = (
            allowed(Step::Accept),
            allowed(Step::Progress),
            allowed(Step::Resolve),
            allowed(Step::Plan),
        );
        // A department's link never offers 报推进中心 (only towns and the zone forward).
        let forward = local && allowed(Step::Forward { local });
        let give_back = allowed(Step::ReturnDispatch { late });
        UnitCan {
            accept,
            progress,
            resolve,
            plan,
            forward,
            give_back,
            any: accept || progress || resolve || plan || forward || give_back,
        }
    }
}

/// The order and the unit a presented link token belongs to: a unit's link (not the enterprise's rating or
/// questionnaire link), for a unit still on the order, made for the current round, not expired.
async fn authorised(
    forms: &Forms,
    tracking_number: &str,
    token: &str,
) -> Result<(RequestRow, String), AppError> {
    let (row, link) = forms
        .open_link(tracking_number, token, LinkRole::Unit, Utc::now())
        .await?
        .granted()
        .ok_or(AppError::NotFound)?;
    Ok((row, link.holder))
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
    let (events, uploads) = match tokio::try_join!(
        forms.store.events(row.id),
        forms.store.verification_forms(row.id)
    ) {
        Ok(found) => found,
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
    context.insert("status_label", row.status.label());
    context.insert("open", &row.status.is_open());
    let now = Utc::now();
    // Notice §二(二)3 / §二(三)1: the lead unit signs for a dispatched order within its acceptance limit.
    let accept_due = (row.status == Status::Dispatched)
        .then(|| forms.acceptance_due_in(&events))
        .flatten();
    let late = accept_due.is_some_and(|due| now > due);
    context.insert("can", &UnitCan::of(forms, &row, &unit_id, late));
    context.insert("accept_due", &accept_due.map(crate::calendar::minute_label));
    context.insert("accept_late", &late);
    context.insert("waiting", "当前无需操作，请等待推进中心或企业的下一步。");
    context.insert("due", &row.due_at.map(crate::calendar::minute_label));
    let timeline: Vec<_> = events
        .iter()
        .map(|event| timeline_entry(forms, event))
        .collect();
    context.insert("timeline", &timeline);
    context.insert("supervision", &order_supervision(&row, &events, now));
    // Notice §二(四)3: the 不满意诉求审核反馈表, once the order went to verification.
    context.insert("verification", &(row.status == Status::Verification));
    context.insert("has_verification", &verification::has_verification(&events));
    context.insert(
        "explanation",
        &verification::current_explanation(&events).unwrap_or_default(),
    );
    context.insert("uploads", &UploadView::current(&events, &uploads));
    context.insert(
        "upload_limit",
        &human_size(state.intake.max_upload_bytes as u64),
    );
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
    explanation: Option<String>,
}

/// Reads and checks an action; the messages say what is missing, in Chinese.
fn parse_action(body: &ActionBody) -> Result<UnitAction, AppError> {
    let text = |value: &Option<String>, what: &str, max: usize| {
        super::required_text(value.as_deref(), what, max)
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
        "return" => Ok(UnitAction::Return {
            reason: text(&body.reason, "退回理由", 2000)?,
        }),
        "explain" => Ok(UnitAction::Explain {
            explanation: text(&body.explanation, "承办单位说明", verification::MAX_TEXT)?,
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

/// The printable 不满意诉求审核反馈表 of the order (A4), for the unit to sign and seal.
async fn sheet_page(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let forms = &state.forms;
    let token = presented_token(query);
    let result = async {
        let (row, _) = authorised(forms, &tracking_number, &token).await?;
        let events = forms.store.events(row.id).await?;
        Ok::<_, AppError>((row, events))
    }
    .await;
    let (row, events) = match result {
        Ok(found) => found,
        Err(error) => return error_page(forms, error),
    };
    let back = format!("/unit/{}?token={token}", row.tracking_number);
    let mut response = render_sheet(forms, &row, &events, &back);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Renders the form of an order that went to verification (409 with the reason otherwise), with a link back to
/// `back`.
pub(crate) fn render_sheet(
    forms: &Forms,
    row: &RequestRow,
    events: &[crate::store::EventRow],
    back: &str,
) -> Response {
    if !verification::has_verification(events) {
        return error_page(
            forms,
            AppError::Conflict(
                "该工单尚未进入不满意诉求审核（经两次办理答复企业仍不满意后才需填写此表）"
                    .to_owned(),
            ),
        );
    }
    let mut context = forms.page_context.clone();
    context.insert(
        "page_title",
        &format!("不满意诉求审核反馈表 {}", row.tracking_number),
    );
    context.insert("sheet", &VerificationSheet::of(forms, row, events));
    context.insert("back", back);
    render_page(forms, "verification_form.html", &context, StatusCode::OK)
}

/// A multipart failure: over the body limit is a 413 naming the file limit; anything else could not be read.
fn multipart_error(limit: usize) -> impl Fn(MultipartError) -> AppError {
    move |error| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::FileTooLarge(limit)
        } else {
            AppError::BadRequest("无法读取上传的文件，请重新选择文件上传".to_owned())
        }
    }
}

/// Reads a file part up to `limit` bytes. Past the limit the rest is read and dropped (the body limit bounds
/// it), so the browser gets the 413 page rather than a broken connection.
async fn read_file(mut field: Field<'_>, limit: usize) -> Result<Vec<u8>, AppError> {
    let mut content = Vec::new();
    let mut over = false;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error(limit))? {
        if over {
            continue;
        }
        if content.len() + chunk.len() > limit {
            over = true;
            content = Vec::new();
        } else {
            content.extend_from_slice(&chunk);
        }
    }
    if over {
        return Err(AppError::FileTooLarge(limit));
    }
    Ok(content)
}

/// The lead unit uploads the signed and sealed form (multipart: `token`, `csrf_token`, then `file`). The file is
/// read only after the link, the page's CSRF token and the order's state have been checked, so a stranger
/// cannot make the server hold a file; the fields the page puts first must come first.
async fn upload(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let forms = &state.forms;
    let limit = state.intake.max_upload_bytes;
    let mut token = presented_token(query);
    let result = async {
        let mut multipart = multipart.map_err(|_| {
            AppError::UnsupportedFile("请在办理页面选择文件后点击“上传”提交".to_owned())
        })?;
        let mut csrf: Option<String> = None;
        let mut received = None;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(multipart_error(limit))?
        {
            let unreadable = |_| AppError::BadRequest("无法识别提交的表单".to_owned());
            let part = field.name().map(str::to_owned);
            match part.as_deref() {
                Some("token") => token = field.text().await.map_err(unreadable)?.trim().to_owned(),
                Some("csrf_token") => csrf = Some(field.text().await.map_err(unreadable)?),
                Some("file") if received.is_none() => {
                    check_csrf(&headers, csrf.as_deref())?;
                    let (row, unit) = authorised(forms, &tracking_number, &token).await?;
                    Forms::check_verification_step(&row, &unit)?;
                    let name = field.file_name().unwrap_or_default().to_owned();
                    let content = read_file(field, limit).await?;
                    received = Some((row, unit, name, content));
                }
                // Other parts (a second file, unknown fields) are read and dropped.
                _ => {
                    read_file(field, limit).await?;
                }
            }
        }
        let Some((row, unit, name, content)) = received else {
            // Without a file, the link and the page are still checked first, so the answer reveals nothing.
            check_csrf(&headers, csrf.as_deref())?;
            authorised(forms, &tracking_number, &token).await?;
            return Err(AppError::BadRequest(
                "请选择要上传的不满意诉求审核反馈表扫描件".to_owned(),
            ));
        };
        let file = UploadedFile::parse(&name, content, limit)?;
        let form_id = forms
            .upload_verification_form(&row, &unit, &file, Utc::now())
            .await?;
        tracing::info!(
            tracking_number = %row.tracking_number,
            unit = %unit,
            form_id,
            size = file.size(),
            "承办单位上传不满意诉求审核反馈表"
        );
        Ok(row)
    }
    .await;
    step_response(
        forms,
        result,
        true,
        &format!("/unit/{tracking_number}?token={token}#verification"),
    )
}
