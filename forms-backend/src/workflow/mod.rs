//! The life of a request (诉求) and its work order (工单): intake, instant answer, escalation, dispatch, the
//! handling unit's actions and the enterprise's rating. Which step may be taken is decided by the order rules
//! ([`crate::order::decide`]); this module builds the e-mails, links and deadlines around each decision, and the
//! store writes it atomically, only if the order is still in the state the decision was made on.
//! Every function takes `now`: only the HTTP edge reads the clock.

mod dispatch;
mod government;
mod handling;
mod intake;
mod plans;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tera::{Context, Tera};

use crate::answer::InstantAnswerer;
use crate::calendar::LiveCalendar;
use crate::dispatch::{Catalogue, Directory};
use crate::domain::{RequestKind, TokenHash};
use crate::order::{Actor, Link, LinkRole, Refusal};
use crate::settings::DispatchSettings;
use crate::store::{OutgoingMail, RequestRow, Store, StoreError};

pub use crate::order::rules::ROUNDS_BEFORE_VERIFICATION;
pub use intake::AUTO_DISPATCH;

/// A step could not be taken; the message is for the user.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("邮件模板有误：{0}")]
    Template(String),
    #[error("{0}")]
    NotAllowed(String),
    /// The input is missing or wrong (a 400 for the user, not a conflict with the order's state).
    #[error("{0}")]
    Invalid(String),
    #[error("找不到承办单位“{0}”")]
    UnknownUnit(String),
    /// The idempotency key came with a different body than the first time (a 422 for the client).
    #[error("该提交编号（Idempotency-Key）已用于另一份不同内容的诉求，请更换编号后重新提交")]
    KeyReused,
}

impl From<Refusal> for WorkflowError {
    fn from(refusal: Refusal) -> Self {
        WorkflowError::NotAllowed(refusal.0)
    }
}

/// The typed actor of an actor text the HTTP layer or a command wrote (`centre:zhang`, `enterprise`).
pub(crate) fn actor(text: &str) -> Result<Actor, WorkflowError> {
    text.parse()
        .map_err(|error: crate::order::UnknownActor| WorkflowError::Invalid(error.to_string()))
}

/// Everything the workflow needs, shared by the HTTP handlers.
pub struct Forms {
    pub store: Store,
    pub directory: Directory,
    pub catalogue: Catalogue,
    pub dispatch: DispatchSettings,
    /// Working days with statutory holidays and 调休 (reloaded while the server runs).
    pub calendar: LiveCalendar,
    pub answerer: Arc<dyn InstantAnswerer>,
    /// Pages and e-mails (`site-templates/`).
    pub templates: Arc<Tera>,
    /// The `site` object every page template expects.
    pub page_context: Context,
    /// Public address for links in e-mails, ending without `/`.
    pub public_url: String,
    /// Server secret: idempotent submissions get the same tracking token back.
    pub secret: Vec<u8>,
}

/// What a presented link opens.
#[derive(Debug)]
pub enum LinkOpening {
    /// The order, and the link that grants the role asked for now.
    Opens(Box<RequestRow>, Link),
    /// A real link of that role which no longer grants it: its unit left the order, or its round ended (a rating
    /// already given). The holder is the link's rightful owner, so saying so leaks nothing.
    Outlived,
    /// A missing or wrong token, an expired link, or a link of another role.
    Nothing,
}

impl LinkOpening {
    /// The order and link, when the link grants its role now.
    pub fn granted(self) -> Option<(RequestRow, Link)> {
        match self {
            LinkOpening::Opens(row, link) => Some((*row, link)),
            _ => None,
        }
    }
}

/// The outcome of an intake.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub row: RequestRow,
    /// The tracking token, shown once (only its hash is stored).
    pub token: String,
    pub instant_answer: Option<serde_json::Value>,
}

/// Notice §二(五)1: an unsatisfied order is redone and reported within 3 working days.
pub const REWORK_WORKING_DAYS: u32 = 3;
/// How a rework deadline is counted, in the words the order's history records.
pub const REWORK_RULE: &str = "3个工作日（不含退回当日，按国务院节假日安排计算）";

/// What a plain notice e-mail says ([`Forms::notice_mails`]).
pub(crate) struct Notice<'a> {
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// A link `(url, label)`; none when the reader acts through a link it already holds.
    pub action: Option<(String, &'a str)>,
    /// The notice clause cited.
    pub rule: &'a str,
}

/// What a handling unit does through its link.
#[derive(Debug, Clone)]
pub enum UnitAction {
    /// 受理
    Accept,
    /// 进展情况
    Progress { note: String },
    /// 办理结果 = 申请销号 (附件4: 是否解决, 解决方式, 联系人及联系方式).
    Resolve {
        solved: bool,
        method: String,
        contact_name: String,
        contact_phone: String,
    },
    /// 解决方案: a committed completion date and the reason for the delay.
    Plan {
        committed_date: NaiveDate,
        reason: String,
    },
    /// 报推进中心: a town or the zone cannot solve it at its level and hands it to the centre (notice §二(二)).
    Forward { reason: String },
    /// 退单: the order is not the unit's; back to the centre within the acceptance limit, before accepting.
    Return { reason: String },
    /// 承办单位说明 on the 不满意诉求审核反馈表, while the order waits for verification (notice §二(四)3).
    Explain { explanation: String },
}

impl Forms {
    pub fn tracking_url(&self, tracking_number: &str, token: &str) -> String {
        format!("{}/track/{tracking_number}?token={token}", self.public_url)
    }

    /// The enterprise's link to rate the result (附件5).
    pub fn rating_url(&self, tracking_number: &str, token: &str) -> String {
        format!("{}/rate/{tracking_number}?token={token}", self.public_url)
    }

    pub fn unit_url(&self, tracking_number: &str, token: &str) -> String {
        format!("{}/unit/{tracking_number}?token={token}", self.public_url)
    }

    /// What a presented link opens for `role` at `now` ([`LinkOpening`]).
    pub async fn open_link(
        &self,
        tracking_number: &str,
        token: &str,
        role: LinkRole,
        now: DateTime<Utc>,
    ) -> Result<LinkOpening, StoreError> {
        if token.is_empty() {
            return Ok(LinkOpening::Nothing);
        }
        let Some(row) = self
            .store
            .request_by_tracking_number(tracking_number.trim())
            .await?
        else {
            return Ok(LinkOpening::Nothing);
        };
        let hash = TokenHash::of_presented(token);
        Ok(
            match self
                .store
                .link_for_token(row.id, hash.as_str(), now)
                .await?
            {
                Some(link) if link.grants(role, &row.state()) => {
                    LinkOpening::Opens(Box::new(row), link)
                }
                Some(link) if link.role == role => LinkOpening::Outlived,
                _ => LinkOpening::Nothing,
            },
        )
    }

    /// Whether a unit is a town or the zone (属地), which may hand what it cannot solve to the centre.
    pub fn is_local_unit(&self, unit_id: &str) -> bool {
        self.directory
            .unit(unit_id)
            .is_some_and(|unit| unit.kind != crate::dispatch::UnitKind::Department)
    }

    pub(crate) async fn reload(&self, id: i64) -> Result<RequestRow, WorkflowError> {
        Ok(self
            .store
            .request_by_id(id)
            .await?
            .ok_or(StoreError::NotFound)?)
    }

    /// Checks a presented tracking token against the stored hash, in constant time.
    pub fn tracking_token_matches(row: &RequestRow, presented: &str) -> bool {
        !presented.is_empty()
            && TokenHash::from_stored(&row.token_hash)
                .is_ok_and(|stored| TokenHash::of_presented(presented).matches(&stored))
    }

    pub(crate) fn mail_context(
        &self,
        row: &RequestRow,
        tracking_token: Option<&str>,
        due: Option<DateTime<Utc>>,
    ) -> Result<Context, WorkflowError> {
        let mut context = self.page_context.clone();
        context.insert("request", &MailRequest::of(row));
        if let Some(token) = tracking_token {
            context.insert(
                "tracking_url",
                &self.tracking_url(&row.tracking_number, token),
            );
        }
        if let Some(due) = due {
            context.insert("due", &crate::calendar::minute_label(due));
        }
        Ok(context)
    }

    /// A plain notice (`email/notice`) about `row`: the greeting, the paragraphs, an optional link `(url, label)` and
    /// the rule it cites, addressed once to each distinct recipient.
    pub(crate) fn notice_mails<'r>(
        &self,
        row: &RequestRow,
        recipients: impl IntoIterator<Item = &'r str>,
        subject: &str,
        notice: Notice<'_>,
    ) -> Result<Vec<OutgoingMail>, WorkflowError> {
        let mut context = self.mail_context(row, None, None)?;
        context.insert("greeting", &notice.greeting);
        context.insert("paragraphs", &notice.paragraphs);
        let (url, label) = notice.action.unwrap_or_default();
        context.insert("action_url", &url);
        context.insert("action_label", label);
        context.insert("rule", notice.rule);
        let mut seen = std::collections::HashSet::new();
        recipients
            .into_iter()
            .filter(|recipient| seen.insert(*recipient))
            .map(|recipient| self.mail(recipient, subject.to_owned(), "email/notice", &context))
            .collect()
    }

    pub(crate) fn mail(
        &self,
        recipient: &str,
        subject: String,
        template: &str,
        context: &Context,
    ) -> Result<OutgoingMail, WorkflowError> {
        let render = |extension: &str| {
            self.templates
                .render(&format!("{template}.{extension}"), context)
                .map_err(|error| {
                    WorkflowError::Template(format!("{template}.{extension}：{error:?}"))
                })
        };
        Ok(OutgoingMail {
            recipient: recipient.to_owned(),
            subject,
            text_body: render("txt")?,
            html_body: render("html")?,
        })
    }
}

/// What e-mail templates see of a request.
#[derive(Debug, Clone, Serialize)]
pub struct MailRequest<'a> {
    pub tracking_number: &'a str,
    pub kind: &'static str,
    pub enterprise_name: &'a str,
    pub credit_code: Option<&'a str>,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
    pub contact_email: Option<&'a str>,
    pub town: &'a str,
    pub description: &'a str,
    pub suggested_department: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub status: &'static str,
    pub submitted_at: String,
}

impl<'a> MailRequest<'a> {
    pub fn of(row: &'a RequestRow) -> MailRequest<'a> {
        MailRequest {
            tracking_number: &row.tracking_number,
            kind: row
                .kind
                .parse::<RequestKind>()
                .map_or("诉求", RequestKind::label),
            enterprise_name: &row.enterprise_name,
            credit_code: row.credit_code.as_deref(),
            contact_name: &row.contact_name,
            contact_phone: &row.contact_phone,
            contact_email: row.contact_email.as_deref(),
            town: &row.town,
            description: &row.description,
            suggested_department: row.suggested_department.as_deref(),
            policy: row.policy.as_deref(),
            status: row.status.label(),
            submitted_at: crate::calendar::minute_label(row.created_at),
        }
    }
}
