//! 工单事件 (what happened to an order): every kind of event the log holds, as one enum stored by its code.
//! Payloads stay JSON objects (readable in the database); the kinds are typed here so no code compares strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of one event in an order's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// 提交: a request came in and waits for dispatch.
    Submitted,
    /// 即时答复: a consultation answered from the policy base.
    Answered,
    /// 转人工办理: the enterprise said the instant answer did not solve its problem.
    Escalated,
    /// 派单 (or 改派 before acceptance).
    Dispatched,
    /// 受理 by the first-responsible unit.
    Accepted,
    /// 进展情况 of the first-responsible unit.
    Progress,
    /// 协办情况 of a co-handler.
    Contribution,
    /// 办理结果 = 申请销号.
    Resolved,
    /// 报推进中心: a town or the zone hands the order to the centre.
    Forwarded,
    /// 提交解决方案.
    PlanSubmitted,
    /// 批准解决方案.
    PlanApproved,
    /// 退回解决方案: the centre rejects the plan, with its reason; the unit handles on.
    PlanRejected,
    /// 退单: the lead unit returns a wrongly dispatched order to the centre, within its acceptance limit.
    DispatchReturned,
    /// 上报市政府: the centre refers the order to the city government for coordination.
    GovernmentReferred,
    /// 市政府协调意见: the government's coordination, recorded by the centre; the order goes back to its unit.
    GovernmentCoordinated,
    /// 评价: satisfied (closes) or the second round's 不满意 (to verification).
    Rated,
    /// 不满意，退回重新办理.
    Returned,
    /// 未评价办结: the enterprise did not rate the result within the rating limit; closed as unrated.
    RatingLapsed,
    /// 虚假反馈 found at a call-back.
    FalseFeedback,
    /// 承办单位说明 on the 不满意诉求审核反馈表.
    VerificationExplained,
    /// The signed and sealed form was uploaded.
    VerificationFormUploaded,
    /// 专班核查意见.
    VerificationOpinion,
    /// 黄牌.
    YellowCard,
    /// 红牌.
    RedCard,
    /// 约谈.
    Interview,
    /// A card withdrawn by the centre (撤销亮牌), with its reason.
    CardWaived,
    /// 到期提醒.
    DeadlineReminder,
    /// 满意度问卷 sent (附件5, monthly).
    QuestionnaireSent,
    /// 满意度问卷 answered.
    Questionnaire,
}

/// A stored event kind this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的事件类型“{0}”")]
pub struct UnknownEventKind(pub String);

impl EventKind {
    pub const ALL: [EventKind; 29] = [
        EventKind::Submitted,
        EventKind::Answered,
        EventKind::Escalated,
        EventKind::Dispatched,
        EventKind::Accepted,
        EventKind::Progress,
        EventKind::Contribution,
        EventKind::Resolved,
        EventKind::Forwarded,
        EventKind::PlanSubmitted,
        EventKind::PlanApproved,
        EventKind::PlanRejected,
        EventKind::DispatchReturned,
        EventKind::GovernmentReferred,
        EventKind::GovernmentCoordinated,
        EventKind::Rated,
        EventKind::Returned,
        EventKind::RatingLapsed,
        EventKind::FalseFeedback,
        EventKind::VerificationExplained,
        EventKind::VerificationFormUploaded,
        EventKind::VerificationOpinion,
        EventKind::YellowCard,
        EventKind::RedCard,
        EventKind::Interview,
        EventKind::CardWaived,
        EventKind::DeadlineReminder,
        EventKind::QuestionnaireSent,
        EventKind::Questionnaire,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            EventKind::Submitted => "submitted",
            EventKind::Answered => "answered",
            EventKind::Escalated => "escalated",
            EventKind::Dispatched => "dispatched",
            EventKind::Accepted => "accepted",
            EventKind::Progress => "progress",
            EventKind::Contribution => "contribution",
            EventKind::Resolved => "resolved",
            EventKind::Forwarded => "forwarded",
            EventKind::PlanSubmitted => "plan_submitted",
            EventKind::PlanApproved => "plan_approved",
            EventKind::PlanRejected => "plan_rejected",
            EventKind::DispatchReturned => "dispatch_returned",
            EventKind::GovernmentReferred => "government_referred",
            EventKind::GovernmentCoordinated => "government_coordinated",
            EventKind::Rated => "rated",
            EventKind::Returned => "returned",
            EventKind::RatingLapsed => "rating_lapsed",
            EventKind::FalseFeedback => "false_feedback",
            EventKind::VerificationExplained => "verification_explained",
            EventKind::VerificationFormUploaded => "verification_form_uploaded",
            EventKind::VerificationOpinion => "verification_opinion",
            EventKind::YellowCard => "yellow_card",
            EventKind::RedCard => "red_card",
            EventKind::Interview => "interview",
            EventKind::CardWaived => "card_waived",
            EventKind::DeadlineReminder => "deadline_reminder",
            EventKind::QuestionnaireSent => "questionnaire_sent",
            EventKind::Questionnaire => "questionnaire",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
            .ok_or_else(|| UnknownEventKind(code.to_owned()))
    }
}

impl PartialEq<EventKind> for str {
    fn eq(&self, kind: &EventKind) -> bool {
        self == kind.code()
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, code: &&str) -> bool {
        self.code() == *code
    }
}

impl PartialEq<EventKind> for String {
    fn eq(&self, kind: &EventKind) -> bool {
        self.as_str() == kind.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_code() {
        for kind in EventKind::ALL {
            assert_eq!(kind.code().parse::<EventKind>(), Ok(kind));
        }
        let codes: std::collections::HashSet<_> =
            EventKind::ALL.iter().map(|kind| kind.code()).collect();
        assert_eq!(codes.len(), EventKind::ALL.len());
    }
}
