//! The monthly questionnaire (评价问卷), notice §二(五): “每月对问题解决情况进行汇总和统计分析，同时向问题征询企业下发
//! 评价问卷并收集汇总”. The centre sends the satisfaction form of 附件5 (问题描述, 解决情况, 解决部门, 满意度评价,
//! 意见建议) by e-mail to every enterprise whose order was closed (销号) in a month.
//!
//! - Each order gets one questionnaire, ever: a `questionnaire_sent` event with its e-mail and a link of its own
//!   (`/questionnaire/{number}?token=…`, only the token's hash kept, valid [`LINK_DAYS`] days). A unique index
//!   makes sending twice — a double click, two staff members, a second run for the same month — write nothing
//!   and e-mail nobody again.
//! - The answer is a `questionnaire` event (payload `rating` like a rating's, `unit` = the order's
//!   first-responsible unit): it never reopens the order or changes its status, and an order takes one answer.
//! - The reports count answers in the period they arrive in (问卷满意率, apart from the score).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

use super::{Period, ReportError, ReportKind};
use crate::domain::{AccessToken, Rating};
use crate::order::payload::{self, RatingChannel, RatingRecord};
use crate::order::{Actor, Event, EventKind, Link, LinkRole};
use crate::store::{Change, NewLink, RequestRow};
use crate::workflow::{Forms, MailRequest};

/// How long a questionnaire link works.
pub const LINK_DAYS: i64 = 30;

/// What a send did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// Orders closed in the month.
    pub closed: u32,
    /// Questionnaires e-mailed now.
    pub sent: u32,
    /// Orders whose questionnaire had been sent before (nothing done).
    pub already: u32,
    /// Orders without an e-mail address (the centre asks those by phone).
    pub without_email: u32,
}

/// Where a month's questionnaire stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub closed: u32,
    pub with_email: u32,
    pub sent: u32,
    pub answered: u32,
}

fn month_only(month: Period) -> Result<Period, ReportError> {
    if month.kind() == ReportKind::Monthly {
        Ok(month)
    } else {
        Err(ReportError::Period(super::PeriodError::WrongKind {
            label: "评价问卷",
            noun: "月份",
            hint: ReportKind::Monthly.period_hint(),
            input: month.to_string(),
            given: month.kind().period_noun(),
        }))
    }
}

/// Sends the questionnaire to every enterprise with an e-mail address whose order was closed in `month`, once per
/// order; the e-mails go out through the outbox.
pub async fn send(
    forms: &Forms,
    month: Period,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Sent, ReportError> {
    let month = month_only(month)?;
    if now <= month.start() {
        return Err(ReportError::NotStarted(month.label()));
    }
    let closed = forms
        .store
        .orders_closed_between(month.start(), month.end())
        .await?;
    let mut report = Sent {
        closed: closed.len() as u32,
        ..Sent::default()
    };
    let expires = now + Duration::days(LINK_DAYS);
    for row in &closed {
        let Some(email) = &row.contact_email else {
            report.without_email += 1;
            continue;
        };
        let token = AccessToken::generate();
        let unit_name = row
            .lead_unit
            .as_deref()
            .and_then(|id| forms.directory.unit(id))
            .map(|unit| unit.name.clone());
        let mut context = forms.page_context.clone();
        context.insert("request", &MailRequest::of(row));
        context.insert("month_label", &month.label());
        context.insert("unit_name", &unit_name);
        context.insert(
            "questionnaire_url",
            &questionnaire_url(forms, &row.tracking_number, token.as_str()),
        );
        context.insert(
            "expires",
            &expires
                .with_timezone(&Shanghai)
                .format("%Y年%-m月%-d日")
                .to_string(),
        );
        let mail = forms
            .mail(
                email,
                format!(
                    "【满意度评价】请评价诉求 {} 的解决情况",
                    row.tracking_number
                ),
                "email/questionnaire",
                &context,
            )
            .map_err(|error| ReportError::Template(error.to_string()))?;
        let change = Change {
            mails: vec![mail],
            links: vec![NewLink {
                link: Link::questionnaire(),
                token_hash: token.hash().as_str().to_owned(),
                expires,
            }],
            ..Change::new(
                actor,
                Event::QuestionnaireSent(payload::QuestionnaireSent {
                    period: month.to_string(),
                    unit: row.lead_unit.clone(),
                    recipient: email.to_owned(),
                }),
            )
        };
        match forms.store.record_once(row.id, &change, now).await? {
            Some(_) => report.sent += 1,
            None => report.already += 1,
        }
    }
    Ok(report)
}

/// Where `month`'s questionnaire stands: orders closed, with an address, sent, answered.
pub async fn progress(forms: &Forms, month: Period) -> Result<Progress, ReportError> {
    let month = month_only(month)?;
    let closed = forms
        .store
        .orders_closed_between(month.start(), month.end())
        .await?;
    let ids: Vec<i64> = closed.iter().map(|row| row.id).collect();
    Ok(Progress {
        closed: closed.len() as u32,
        with_email: closed
            .iter()
            .filter(|row| row.contact_email.is_some())
            .count() as u32,
        sent: forms
            .store
            .count_with_event(&ids, EventKind::QuestionnaireSent)
            .await?,
        answered: forms
            .store
            .count_with_event(&ids, EventKind::Questionnaire)
            .await?,
    })
}

/// The enterprise's link to the questionnaire of an order.
pub fn questionnaire_url(forms: &Forms, tracking_number: &str, token: &str) -> String {
    format!(
        "{}/questionnaire/{tracking_number}?token={token}",
        forms.public_url
    )
}

/// The order a questionnaire link opens, if the link is valid at `now`.
pub async fn target(
    forms: &Forms,
    tracking_number: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<RequestRow>, ReportError> {
    let opened = forms
        .open_link(tracking_number, token, LinkRole::Questionnaire, now)
        .await?;
    Ok(opened.granted().map(|(row, _)| row))
}

/// Records the enterprise's answer (once; the order's state does not change).
pub async fn answer(
    forms: &Forms,
    row: &RequestRow,
    rating: Rating,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<(), ReportError> {
    let change = Change::new(
        Actor::enterprise(),
        Event::Questionnaire(payload::QuestionnaireAnswer {
            rating: RatingRecord::new(rating, comment, RatingChannel::Questionnaire, None),
            unit: row.lead_unit.clone(),
        }),
    );
    match forms.store.record_once(row.id, &change, now).await? {
        Some(_) => Ok(()),
        None => Err(ReportError::AlreadyAnswered),
    }
}
