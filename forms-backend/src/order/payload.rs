//! 工单事件 with what each one records: [`Event`] is one variant per [`EventKind`], each with its own payload type.
//! The store keeps the kind in its column and the payload as a JSON object beside it (readable in the database,
//! unchanged from the untyped version, so no migration was needed); [`Event::from_stored`] reads the pair back and
//! [`Event::payload_json`] writes it. Every field a later version added is optional or defaulted, so old rows read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CardKind, Conclusion, EventKind, Status};
use crate::calendar::{Deadline, FALLBACK_WARNING};
use crate::domain::{Channel, Rating, RequestKind};

/// The one list of events and their payloads: the enum, its kind and its stored form come from it.
macro_rules! events {
    ($($(#[$doc:meta])* $variant:ident($payload:ty),)*) => {
        /// One event in an order's history, with what it records.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
        pub enum Event {
            $($(#[$doc])* $variant($payload),)*
        }

        impl Event {
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Event::$variant(_) => EventKind::$variant,)*
                }
            }

            /// The event a stored row holds: its kind column and its payload text.
            pub fn from_stored(kind: EventKind, payload: &str) -> Result<Event, serde_json::Error> {
                Ok(match kind {
                    $(EventKind::$variant => Event::$variant(serde_json::from_str(payload)?),)*
                })
            }

            /// The payload as a JSON value (for pages that list every field).
            pub fn payload(&self) -> Value {
                let value = match self {
                    $(Event::$variant(payload) => serde_json::to_value(payload),)*
                };
                value.unwrap_or(Value::Null)
            }

            /// The payload as the store writes it (a JSON object).
            pub fn payload_json(&self) -> String {
                let text = match self {
                    $(Event::$variant(payload) => serde_json::to_string(payload),)*
                };
                // Every payload type is plain data (strings, numbers, dates): serialising it cannot fail.
                text.unwrap_or_else(|_| "{}".to_owned())
            }
        }
    };
}

events! {
    /// 提交.
    Submitted(Intake),
    /// 即时答复.
    Answered(Intake),
    /// 转人工办理.
    Escalated(Reason),
    /// 派单 / 改派.
    Dispatched(Dispatch),
    /// 受理.
    Accepted(Nothing),
    /// 进展情况.
    Progress(Note),
    /// 协办情况.
    Contribution(Note),
    /// 办理结果 = 申请销号.
    Resolved(Resolution),
    /// 报推进中心.
    Forwarded(Reason),
    /// 提交解决方案.
    PlanSubmitted(Plan),
    /// 批准解决方案.
    PlanApproved(PlanApproval),
    /// 退回解决方案.
    PlanRejected(PlanRejection),
    /// 退单.
    DispatchReturned(Reason),
    /// 上报市政府.
    GovernmentReferred(Referral),
    /// 市政府协调意见.
    GovernmentCoordinated(Coordination),
    /// 评价 that closes the order or sends it to verification.
    Rated(Rated),
    /// 不满意，退回重新办理.
    Returned(Returned),
    /// 未评价办结.
    RatingLapsed(Lapse),
    /// 虚假反馈.
    FalseFeedback(FalseFeedback),
    /// 承办单位说明.
    VerificationExplained(Explanation),
    /// 审核反馈表 uploaded.
    VerificationFormUploaded(FormUpload),
    /// 专班核查意见.
    VerificationOpinion(Opinion),
    /// 黄牌.
    YellowCard(Card),
    /// 红牌警示.
    RedCard(Card),
    /// 约谈.
    Interview(Card),
    /// 撤销亮牌.
    CardWaived(Waiver),
    /// 到期提醒.
    DeadlineReminder(Reminder),
    /// 满意度问卷 sent.
    QuestionnaireSent(QuestionnaireSent),
    /// 满意度问卷 answered.
    Questionnaire(QuestionnaireAnswer),
}

impl Event {
    /// The reason a closing event records (not blank); `None` for an event that does not close the order.
    pub fn closure_reason(&self) -> Option<&str> {
        let reason = match self {
            Event::Rated(rated) if rated.closed => rated.reason.as_deref(),
            Event::VerificationOpinion(opinion) if opinion.closed => opinion.reason.as_deref(),
            Event::RatingLapsed(lapse) => Some(lapse.reason.as_str()),
            _ => None,
        }?;
        Some(reason.trim()).filter(|reason| !reason.is_empty())
    }

    /// Whether the event closes the order (销号).
    pub fn closes(&self) -> bool {
        match self {
            Event::Rated(rated) => rated.closed,
            Event::VerificationOpinion(opinion) => opinion.closed,
            Event::RatingLapsed(_) => true,
            _ => false,
        }
    }

    /// The card the event is, if it is one.
    pub fn card(&self) -> Option<(CardKind, &Card)> {
        match self {
            Event::YellowCard(card) => Some((CardKind::YellowCard, card)),
            Event::RedCard(card) => Some((CardKind::RedCard, card)),
            Event::Interview(card) => Some((CardKind::Interview, card)),
            _ => None,
        }
    }

    /// A card event of `kind`.
    pub fn of_card(kind: CardKind, card: Card) -> Event {
        match kind {
            CardKind::YellowCard => Event::YellowCard(card),
            CardKind::RedCard => Event::RedCard(card),
            CardKind::Interview => Event::Interview(card),
        }
    }

    /// The enterprise's rating the event records (a rating, a return, a questionnaire answer).
    pub fn rating(&self) -> Option<&RatingRecord> {
        match self {
            Event::Rated(rated) => Some(&rated.rating),
            Event::Returned(returned) => Some(&returned.rating),
            Event::Questionnaire(answer) => Some(&answer.rating),
            _ => None,
        }
    }

    /// The unit the event is about, where it names one apart from the order (cards, waivers, reminders,
    /// false feedback, questionnaires).
    pub fn unit(&self) -> Option<&str> {
        match self {
            Event::YellowCard(card) | Event::RedCard(card) | Event::Interview(card) => {
                Some(&card.unit)
            }
            Event::CardWaived(waiver) => waiver.unit.as_deref(),
            Event::DeadlineReminder(reminder) => Some(&reminder.unit),
            Event::FalseFeedback(feedback) => feedback.unit.as_deref(),
            Event::QuestionnaireSent(sent) => sent.unit.as_deref(),
            Event::Questionnaire(answer) => answer.unit.as_deref(),
            _ => None,
        }
    }
}

/// An event that records nothing but that it happened (受理).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Nothing {}

/// 提交 / 即时答复: the request's kind and channel, the instant answer it got, and the collector's note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intake {
    pub kind: RequestKind,
    pub channel: Channel,
    #[serde(default)]
    pub instant_answer: Option<Value>,
    /// 备注 of a request entered by the centre or a collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A step with its reason (转人工办理, 报推进中心).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reason {
    pub reason: String,
}

/// 进展情况 / 协办情况.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Note {
    pub note: String,
}

/// The deadline a step set, and how it was counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineNote {
    pub due_at: DateTime<Utc>,
    /// The rule in words: "5个工作日（不含派单当日，按国务院节假日安排计算）".
    #[serde(default)]
    pub deadline_rule: String,
    /// The calendar files the count read.
    #[serde(default)]
    pub calendar: String,
    /// Set when the count ran past the published holiday arrangements.
    #[serde(default)]
    pub calendar_warning: Option<String>,
}

impl DeadlineNote {
    pub fn of(deadline: &Deadline, rule: &str) -> DeadlineNote {
        DeadlineNote {
            due_at: deadline.due,
            deadline_rule: rule.to_owned(),
            calendar: deadline.calendar.clone(),
            calendar_warning: deadline.fallback.then(|| FALLBACK_WARNING.to_owned()),
        }
    }
}

/// 派单: the first-responsible unit, the co-handlers, the centre's reason and the deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    pub lead_unit: String,
    #[serde(default)]
    pub co_units: Vec<String>,
    #[serde(default)]
    pub reason: String,
    #[serde(flatten)]
    pub deadline: DeadlineNote,
    /// The working days counted.
    #[serde(default)]
    pub counted: Vec<NaiveDate>,
    /// 快速响应: when the unit must have signed for (受理) or returned the order. Dispatches written before the
    /// acceptance limit existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_due_at: Option<DateTime<Utc>>,
}

impl Dispatch {
    /// The units the dispatch names: the lead unit first, then the co-handlers.
    pub fn units(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.lead_unit.as_str()).chain(self.co_units.iter().map(String::as_str))
    }
}

/// 办理结果 (附件4: 是否解决, 解决方式, 联系人及联系方式).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resolution {
    pub solved: bool,
    pub method: String,
    pub contact_name: String,
    pub contact_phone: String,
    /// The deadline in force when the result was reported, so whether it came on time is decided from the facts
    /// of that moment (a later rework or plan does not rewrite a unit's card history). Reports recorded before it
    /// was kept have none; readers fall back on the order's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
}

impl Resolution {
    pub fn solved_label(&self) -> &'static str {
        if self.solved {
            "已解决"
        } else {
            "未能解决"
        }
    }

    /// 联系人及联系方式, as one line.
    pub fn contact(&self) -> String {
        format!("{} {}", self.contact_name, self.contact_phone)
            .trim()
            .to_owned()
    }
}

/// 解决方案: the committed completion date and why it takes longer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub committed_date: NaiveDate,
    #[serde(default)]
    pub reason: String,
}

/// 批准解决方案: the order's deadline becomes the end of the committed date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanApproval {
    pub committed_date: NaiveDate,
    pub due_at: DateTime<Utc>,
}

/// 退回解决方案: why, and the deadline the unit has now (moved by the working days the centre took).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRejection {
    #[serde(default)]
    pub reason: String,
    pub due_at: DateTime<Utc>,
    /// Working days the deadline moved by: those the plan waited for the centre.
    #[serde(default)]
    pub moved_days: u32,
}

/// 上报市政府: why, and where the order stood (it goes back there: to its unit, or to the queue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub reason: String,
    pub from: Status,
}

/// 市政府协调意见: which leader coordinated, what was decided, and the deadline the unit has from now (none when the
/// order goes back to the centre's queue, having no unit yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coordination {
    pub leader: String,
    pub note: String,
    #[serde(flatten)]
    pub deadline: Option<DeadlineNote>,
}

/// How a rating came in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingChannel {
    /// Through the enterprise's own link.
    #[default]
    Web,
    /// 电话回访 recorded by the centre.
    CallBack,
    /// The monthly 满意度问卷.
    Questionnaire,
}

impl RatingChannel {
    pub fn label(self) -> &'static str {
        match self {
            RatingChannel::Web => "企业在线评价",
            RatingChannel::CallBack => "电话回访",
            RatingChannel::Questionnaire => "满意度问卷",
        }
    }
}

/// 满意度评价 (附件5) as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingRecord {
    pub rating: Rating,
    #[serde(default)]
    pub rating_label: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub channel: RatingChannel,
    /// The round of handling rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
}

impl RatingRecord {
    pub fn new(rating: Rating, comment: &str, channel: RatingChannel, round: Option<u32>) -> Self {
        RatingRecord {
            rating,
            rating_label: rating.label().to_owned(),
            comment: comment.to_owned(),
            channel,
            round,
        }
    }
}

/// A rating that closes the order (`closed`, with its reason) or sends it to verification (`verification`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rated {
    pub rating: RatingRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verification: bool,
    /// What happens next, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// 不满意: back to the unit with a new deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    pub rating: RatingRecord,
    #[serde(flatten)]
    pub deadline: DeadlineNote,
}

/// 未评价办结: closed because the enterprise gave no rating within the limit (counted apart from 满意 and 不满意).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lapse {
    pub reason: String,
    /// When the result was reported.
    pub resolved_at: DateTime<Utc>,
    /// The rating limit, in working days after the report.
    #[serde(default)]
    pub working_days: u32,
    /// Always true: the event closes the order (销号), as the stored JSON says for every closing event.
    #[serde(default = "yes")]
    pub closed: bool,
}

fn yes() -> bool {
    true
}

/// 虚假反馈 against the first-responsible unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FalseFeedback {
    pub unit: Option<String>,
    pub statement: String,
    pub rule: String,
}

/// 承办单位说明.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Explanation {
    pub explanation: String,
}

/// The signed and sealed form as uploaded (the file itself is in the store's own table).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormUpload {
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

/// 专班核查意见: closes the order (with the opinion as its reason) or returns it with a new deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opinion {
    pub conclusion: Conclusion,
    #[serde(default)]
    pub conclusion_label: String,
    #[serde(default)]
    pub opinion: String,
    #[serde(default)]
    pub form_id: i64,
    #[serde(default)]
    pub form_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    #[serde(flatten)]
    pub deadline: Option<DeadlineNote>,
}

/// 督办亮牌: the unit, the rule, the order it was issued on and the evidence; a yellow card names the deadline
/// missed, a red card or an interview the orders and cards of the row it escalates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Card {
    pub unit: String,
    pub rule: String,
    pub order: String,
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<i64>,
}

/// 免于亮牌: the card withdrawn and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    pub card_event_id: i64,
    pub card: CardKind,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// 到期提醒 to one unit, listing every order of it due.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reminder {
    pub unit: String,
    pub orders: Vec<RemindedOrder>,
}

/// One order a reminder lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemindedOrder {
    pub id: i64,
    #[serde(default)]
    pub tracking_number: String,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
}

/// 满意度问卷 sent for a month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuestionnaireSent {
    pub period: String,
    pub unit: Option<String>,
    pub recipient: String,
}

/// 满意度问卷 answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionnaireAnswer {
    pub rating: RatingRecord,
    #[serde(default)]
    pub unit: Option<String>,
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
