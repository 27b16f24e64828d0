//! 工单状态 (the status of a request and its work order): one enum, stored as its code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a request is in its life (mechanism.md, "The life of an order").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 已即时答复: a consultation answered from the policy base (notice §二(二)2).
    Answered,
    /// 待派单: waiting for the centre (第一时间转办).
    New,
    /// 已派单: sent to the handling unit, not yet accepted.
    Dispatched,
    /// 办理中: the unit accepted it (受理).
    Accepted,
    /// 已提交解决方案: a plan with a committed date, for problems that take longer (notice §二(三)).
    Planned,
    /// 已申请销号: the unit reported the result; the enterprise rates it.
    Resolved,
    /// 重新办理: rated 不满意 and returned to the unit (notice §二(五)1).
    Rework,
    /// 待专班核查: still 不满意 after two rounds of handling (notice §二(四)3).
    Verification,
    /// 市政府协调中: the centre reported it to the city government (notice §二(二) 确需市政府层面综合协调的); the unit's
    /// deadline does not run until the government's coordination comes back.
    Coordinating,
    /// 已办结 (销号).
    Closed,
}

/// A stored status code that names no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的工单状态“{0}”")]
pub struct UnknownStatus(pub String);

impl Status {
    /// Every status, in the order of a work order's life (the answered consultations last: they never become
    /// work orders unless escalated).
    pub const ALL: [Status; 10] = [
        Status::New,
        Status::Dispatched,
        Status::Accepted,
        Status::Planned,
        Status::Resolved,
        Status::Rework,
        Status::Verification,
        Status::Coordinating,
        Status::Closed,
        Status::Answered,
    ];

    /// Orders a unit still has to handle and report on: their deadline runs and earns cards (notice §二(四)).
    pub const OPEN: [Status; 4] = [
        Status::Dispatched,
        Status::Accepted,
        Status::Planned,
        Status::Rework,
    ];

    /// The code kept in the database and used in URLs and JSON.
    pub const fn code(self) -> &'static str {
        match self {
            Status::Answered => "answered",
            Status::New => "new",
            Status::Dispatched => "dispatched",
            Status::Accepted => "accepted",
            Status::Planned => "planned",
            Status::Resolved => "resolved",
            Status::Rework => "rework",
            Status::Verification => "verification",
            Status::Coordinating => "coordinating",
            Status::Closed => "closed",
        }
    }

    /// What the enterprise and the centre read.
    pub fn label(self) -> &'static str {
        match self {
            Status::Answered => "已即时答复",
            Status::New => "待派单",
            Status::Dispatched => "已派单，等待承办单位受理",
            Status::Accepted => "承办单位办理中",
            Status::Planned => "已提交解决方案",
            Status::Resolved => "已办理完毕，等待评价",
            Status::Rework => "评价不满意，已退回承办单位重新办理",
            Status::Verification => "仍不满意，待工作专班核查",
            Status::Coordinating => "已上报市政府协调",
            Status::Closed => "已办结",
        }
    }

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }

    /// The open statuses as an SQL list (`'dispatched', 'accepted', …`), for queries that must agree with
    /// [`Status::is_open`].
    pub fn open_sql_list() -> String {
        Status::OPEN
            .iter()
            .map(|status| format!("'{}'", status.code()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.code() == code)
            .ok_or_else(|| UnknownStatus(code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_code() {
        for status in Status::ALL {
            assert_eq!(status.code().parse::<Status>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.code())
            );
        }
        assert!("finished".parse::<Status>().is_err());
    }

    #[test]
    fn the_sql_list_holds_the_open_statuses() {
        assert_eq!(
            Status::open_sql_list(),
            "'dispatched', 'accepted', 'planned', 'rework'"
        );
    }
}
