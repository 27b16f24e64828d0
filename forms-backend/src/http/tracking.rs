//! Following a request (查询进度): the JSON status, the enterprise's tracking page, and escalation of an instant
//! answer to a person. The tracking token is checked against its stored hash; a wrong or missing token answers
//! exactly like a number that does not exist.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    AppError, FormsState, check_csrf, error_page, issue_csrf, render_page, step_body,
    step_response, wants_html,
};
use crate::domain::{AccessToken, RequestKind};
use crate::order::payload::{RatingChannel, RatingRecord};
use crate::order::{Event, Status};
use crate::sla::order_supervision::order_supervision;
use crate::store::{EventRow, RequestRow};
use crate::workflow::{Forms, LinkOpening};

pub fn routes() -> Router<Arc<FormsState>> {
    Router::new()
        .route("/api/requests/{tracking_number}", get(status_json))
        .route("/api/requests/{tracking_number}/escalate", post(escalate))
        .route("/track/{tracking_number}", get(tracking_page))
        .route("/rate/{tracking_number}", get(rating_page).post(rate))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    pub token: Option<String>,
}

/// The `?token=` of a link (empty when missing or unreadable: it then matches nothing).
pub(crate) fn presented_token(query: Result<Query<TokenQuery>, QueryRejection>) -> String {
    query
        .ok()
        .and_then(|Query(query)| query.token)
        .unwrap_or_default()
}

/// The request, if `token` is its tracking token.
async fn authorised(
    forms: &Forms,
    tracking_number: &str,
    token: Option<&str>,
) -> Result<RequestRow, AppError> {
    let row = forms
        .store
        .request_by_tracking_number(tracking_number.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    if Forms::tracking_token_matches(&row, token.unwrap_or_default()) {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// One line of the timeline, in plain Chinese.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub at_label: String,
    pub kind: String,
    pub label: String,
    pub detail: Option<String>,
}

/// The public status object of `GET /api/requests/{tracking_number}`.
#[derive(Debug, Clone, Serialize)]
pub struct PublicStatus {
    pub tracking_number: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub unit: Option<UnitRef>,
    pub co_units: Vec<UnitRef>,
    pub deadline: Option<DateTime<Utc>>,
    pub deadline_label: Option<String>,
    pub instant_answer: Option<serde_json::Value>,
    pub timeline: Vec<TimelineEntry>,
    /// 督办情况: overdue and the cards issued on this order, in plain sentences; empty when all is well.
    pub supervision: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitRef {
    pub id: String,
    pub name: String,
}

pub(crate) use crate::calendar::minute_label as shanghai;

pub(crate) fn unit_ref(forms: &Forms, id: &str) -> UnitRef {
    UnitRef {
        id: id.to_owned(),
        name: forms
            .directory
            .unit(id)
            .map_or_else(|| id.to_owned(), |unit| unit.name.clone()),
    }
}

/// What an event means for the enterprise.
pub fn timeline_entry(forms: &Forms, event: &EventRow) -> TimelineEntry {
    let unit_name = |id: &str| unit_ref(forms, id).name;
    let actor_unit = || {
        event
            .actor
            .strip_prefix("unit:")
            .map(unit_name)
            .unwrap_or_default()
    };
    let written = |text: &str| Some(text.to_owned()).filter(|text| !text.trim().is_empty());
    let comment = |rating: &RatingRecord| {
        Some(rating.comment.as_str())
            .filter(|comment| !comment.is_empty())
            .map(|comment| format!("意见建议：{comment}"))
    };
    let (label, detail) = match &event.event {
        // Entered by the centre (代录): says so and by which channel, never which staff member.
        Event::Submitted(intake) if event.actor.starts_with("centre:") => (
            format!("推进中心已登记诉求（受理渠道：{}）", intake.channel.label()),
            None,
        ),
        Event::Submitted(_) => ("诉求已提交".to_owned(), None),
        Event::Answered(_) => ("政策库已即时答复".to_owned(), None),
        Event::Escalated(_) => ("已转人工办理".to_owned(), None),
        Event::GovernmentReferred(_) => ("推进中心已上报市政府协调解决".to_owned(), None),
        Event::GovernmentCoordinated(coordination) => (
            "市政府已协调，承办单位按协调意见办理".to_owned(),
            coordination
                .deadline
                .as_ref()
                .map(|deadline| format!("办理期限：{}", shanghai(deadline.due_at))),
        ),
        Event::RatingLapsed(lapse) => (
            format!("{} 个工作日内未收到评价，按未评价办结", lapse.working_days),
            None,
        ),
        Event::PlanRejected(rejection) => (
            "推进中心退回了解决方案，承办单位继续办理".to_owned(),
            Some(format!("办理期限：{}", shanghai(rejection.due_at))),
        ),
        // The enterprise reads that its request is being re-routed, not the unit's wording.
        Event::DispatchReturned(_) => (
            format!(
                "{}认为不属于本单位职责，已退回推进中心重新派单",
                actor_unit()
            ),
            None,
        ),
        Event::PlanApproved(approval) => (
            "推进中心批准了解决方案".to_owned(),
            Some(format!("办结时限改为 {}", approval.committed_date)),
        ),
        Event::FalseFeedback(_) => ("推进中心回访：企业反映承办单位未与其联系".to_owned(), None),
        Event::QuestionnaireSent(_) => ("推进中心已发送满意度评价问卷".to_owned(), None),
        Event::Questionnaire(answer) => (
            format!("企业填写评价问卷：{}", answer.rating.rating.label()),
            comment(&answer.rating),
        ),
        Event::Returned(returned) => (
            format!(
                "评价：{}，已退回承办单位重新办理",
                returned.rating.rating.label()
            ),
            comment(&returned.rating),
        ),
        Event::Rated(rated) => {
            let level = rated.rating.rating.label();
            let label = if event.event.closure_reason().is_some() {
                format!("评价：{level}，已办结")
            } else {
                format!("评价：{level}，待工作专班核查")
            };
            (label, comment(&rated.rating))
        }
        // Notice §二(四)3: the unsatisfied request's verification. The unit's explanation and the file stay in the
        // console; the enterprise reads that the form went to the task force and what it decided.
        Event::VerificationExplained(_) => {
            (format!("{}填写了不满意诉求审核说明", actor_unit()), None)
        }
        Event::VerificationFormUploaded(_) => (
            format!(
                "{}上传了签字盖章的不满意诉求审核反馈表，待工作专班核查",
                actor_unit()
            ),
            None,
        ),
        Event::VerificationOpinion(opinion) if opinion.closed => {
            ("工作专班核查：情况属实，予以销号，已办结".to_owned(), None)
        }
        Event::VerificationOpinion(opinion) => (
            "工作专班核查：退回承办单位重新办理".to_owned(),
            Some(format!(
                "核查意见：{}{}",
                opinion.opinion,
                opinion
                    .deadline
                    .as_ref()
                    .map(|deadline| format!("；办理期限：{}", shanghai(deadline.due_at)))
                    .unwrap_or_default()
            )),
        ),
        // Notice §二(四)2: the supervision cards issued on this order.
        Event::YellowCard(_) => (
            "承办单位逾期未反馈办理结果，平台已发督办通知并亮黄牌".to_owned(),
            None,
        ),
        Event::RedCard(_) => ("承办单位连续两次被亮黄牌，予以红牌警示".to_owned(), None),
        Event::Interview(_) => (
            "承办单位连续两次被红牌警示，由市政府领导约谈其主要负责人".to_owned(),
            None,
        ),
        Event::CardWaived(_) => ("推进中心决定免于亮牌".to_owned(), None),
        Event::DeadlineReminder(_) => ("办理期限将至，平台已提醒承办单位按期反馈".to_owned(), None),
        Event::Forwarded(forwarded) => (
            format!("{}报推进中心（本级不能解决）", actor_unit()),
            written(&forwarded.reason),
        ),
        Event::Dispatched(dispatch) => (
            format!("已派单至{}", unit_name(&dispatch.lead_unit)),
            Some(format!("办理期限：{}", shanghai(dispatch.deadline.due_at))),
        ),
        Event::Accepted(_) => (format!("{}已受理", actor_unit()), None),
        Event::Progress(note) => (format!("{}反馈办理进展", actor_unit()), written(&note.note)),
        Event::Contribution(note) => (
            format!("协办单位{}补充办理情况", actor_unit()),
            written(&note.note),
        ),
        Event::PlanSubmitted(plan) => (
            format!("{}提交了解决方案", actor_unit()),
            Some(format!(
                "承诺办结日期：{}；原因：{}",
                plan.committed_date, plan.reason
            )),
        ),
        Event::Resolved(resolution) => (
            format!("{}反馈办理结果", actor_unit()),
            Some(format!(
                "{}。解决方式：{}",
                resolution.solved_label(),
                resolution.method
            )),
        ),
    };
    // Nothing closes without a recorded reason, and the reason is shown wherever the closure is.
    let detail = match (event.event.closure_reason(), detail) {
        (Some(reason), Some(detail)) => Some(format!("销号理由：{reason}；{detail}")),
        (Some(reason), None) => Some(format!("销号理由：{reason}")),
        (None, detail) => detail,
    };
    TimelineEntry {
        at: event.at,
        at_label: shanghai(event.at),
        kind: event.kind().code().to_owned(),
        label,
        detail,
    }
}

async fn public_status(
    forms: &Forms,
    row: &RequestRow,
    now: DateTime<Utc>,
) -> Result<PublicStatus, AppError> {
    let events = forms.store.events(row.id).await?;
    Ok(PublicStatus {
        tracking_number: row.tracking_number.clone(),
        kind: row.kind.clone(),
        kind_label: row
            .kind
            .parse::<RequestKind>()
            .map_or("诉求", RequestKind::label),
        status: row.status.code().to_owned(),
        status_label: row.status.label(),
        unit: row.lead_unit.as_deref().map(|id| unit_ref(forms, id)),
        co_units: row.co_units.iter().map(|id| unit_ref(forms, id)).collect(),
        deadline: row.due_at,
        deadline_label: row.due_at.map(shanghai),
        instant_answer: row
            .instant_answer
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        timeline: events
            .iter()
            .map(|event| timeline_entry(forms, event))
            .collect(),
        supervision: order_supervision(row, &events, now),
    })
}

async fn status_json(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Json<PublicStatus>, AppError> {
    let token = query.ok().and_then(|Query(query)| query.token);
    let row = authorised(&state.forms, &tracking_number, token.as_deref()).await?;
    Ok(Json(public_status(&state.forms, &row, Utc::now()).await?))
}

/// The enterprise's tracking page: status, unit, deadline, timeline, and the instant answer with the button
/// "没有解决我的问题，转人工办理".
async fn tracking_page(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let forms = &state.forms;
    let token = presented_token(query);
    let row = match authorised(forms, &tracking_number, Some(&token)).await {
        Ok(row) => row,
        Err(error) => return error_page(forms, error),
    };
    let status = match public_status(forms, &row, Utc::now()).await {
        Ok(status) => status,
        Err(error) => return error_page(forms, error),
    };
    let csrf = AccessToken::generate();
    let mut context = forms.page_context.clone();
    context.insert("page_title", &format!("诉求进度 {}", row.tracking_number));
    context.insert("status", &status);
    context.insert("token", &token);
    context.insert("csrf_token", csrf.as_str());
    context.insert("can_escalate", &(row.status == Status::Answered));
    let mut response = render_page(forms, "track.html", &context, StatusCode::OK);
    issue_csrf(&mut response, &csrf);
    // The page holds a secret link: keep it out of shared caches and referrers.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EscalateBody {
    token: Option<String>,
    csrf_token: Option<String>,
}

/// "没有解决我的问题，转人工办理": JSON `{"token"}` (or `?token=`) from scripts, or the tracking page's form.
async fn escalate(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let browser = wants_html(&headers);
    let forms = &state.forms;
    let body: EscalateBody = step_body(browser, &body);
    let token = body
        .token
        .clone()
        .or_else(|| query.ok().and_then(|Query(query)| query.token))
        .unwrap_or_default();
    let result = async {
        if browser {
            check_csrf(&headers, body.csrf_token.as_deref())?;
        }
        let row = authorised(forms, &tracking_number, Some(&token)).await?;
        Ok(forms.escalate(&row, Utc::now()).await?)
    }
    .await;
    step_response(
        forms,
        result,
        browser,
        &format!("/track/{tracking_number}?token={token}"),
    )
}

/// The order a rating link opens, if the link is valid.
/// The order a rating link opens. Only a rating link of the round in progress opens the form; a unit's link or
/// an earlier round's does not. For the rating itself (`rating`), a link whose round has just ended is the
/// enterprise's own second submission of that round: a 409 saying it was rated, like the other losers of a race.
async fn rating_target(
    forms: &Forms,
    tracking_number: &str,
    token: &str,
    rating: bool,
) -> Result<RequestRow, AppError> {
    match forms
        .open_link(
            tracking_number,
            token,
            crate::order::LinkRole::Rating,
            Utc::now(),
        )
        .await?
    {
        LinkOpening::Opens(row, _) => Ok(*row),
        LinkOpening::Outlived if rating => Err(AppError::Conflict(
            "本轮办理结果已经评价，不能重复评价".to_owned(),
        )),
        _ => Err(AppError::NotFound),
    }
}

/// 满意度评价表 (附件5) for the enterprise: 问题描述, 解决情况, 解决部门, 满意度评价, 意见建议.
async fn rating_page(
    State(state): State<Arc<FormsState>>,
    Path(tracking_number): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let forms = &state.forms;
    let token = presented_token(query);
    let row = match rating_target(forms, &tracking_number, &token, false).await {
        Ok(row) => row,
        Err(error) => return error_page(forms, error),
    };
    let events = forms.store.events(row.id).await.unwrap_or_default();
    let result = events
        .iter()
        .rev()
        .find(|event| matches!(event.event, Event::Resolved(_)))
        .map(|event| timeline_entry(forms, event).detail.unwrap_or_default())
        .unwrap_or_default();
    let csrf = AccessToken::generate();
    let mut context = forms.page_context.clone();
    context.insert("page_title", "满意度评价");
    context.insert("request", &crate::workflow::MailRequest::of(&row));
    context.insert("result", &result);
    context.insert(
        "unit_name",
        &row.lead_unit
            .as_deref()
            .map(|id| unit_ref(forms, id).name)
            .unwrap_or_default(),
    );
    context.insert("can_rate", &(row.status == Status::Resolved));
    context.insert("status_label", row.status.label());
    context.insert("token", &token);
    context.insert("csrf_token", csrf.as_str());
    let mut response = render_page(forms, "rate.html", &context, StatusCode::OK);
    issue_csrf(&mut response, &csrf);
    response
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RatingBody {
    pub(super) token: Option<String>,
    pub(super) csrf_token: Option<String>,
    pub(super) rating: Option<String>,
    pub(super) comment: Option<String>,
}

/// The enterprise's rating, from the form or as JSON `{"token", "rating", "comment"}`.
async fn rate(
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
        let row = rating_target(forms, &tracking_number, &token, true).await?;
        let (rating, comment) =
            super::read_rating(body.rating.as_deref(), body.comment.as_deref())?;
        Ok(forms
            .rate(
                &row,
                rating,
                &comment,
                RatingChannel::Web,
                "enterprise",
                Utc::now(),
            )
            .await?)
    }
    .await;
    step_response(
        forms,
        result,
        browser,
        &format!("/rate/{tracking_number}?token={token}"),
    )
}
