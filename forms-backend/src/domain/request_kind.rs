//! 诉求类型: the four kinds of request named in the notice (§二(二)2).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// 诉求类型: what an enterprise raises. Notice §二(二)2: consultations the policy base can answer are answered
/// at once; help, suggestions and complaints become work orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 咨询
    Consultation,
    /// 求助
    Help,
    /// 建议
    Suggestion,
    /// 投诉
    Complaint,
}

impl RequestKind {
    pub const ALL: [RequestKind; 4] = [
        RequestKind::Consultation,
        RequestKind::Help,
        RequestKind::Suggestion,
        RequestKind::Complaint,
    ];

    /// The code used in URLs, forms and the database.
    pub fn code(self) -> &'static str {
        match self {
            RequestKind::Consultation => "consultation",
            RequestKind::Help => "help",
            RequestKind::Suggestion => "suggestion",
            RequestKind::Complaint => "complaint",
        }
    }

    /// The Chinese name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Consultation => "咨询",
            RequestKind::Help => "求助",
            RequestKind::Suggestion => "建议",
            RequestKind::Complaint => "投诉",
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The input named no known kind of request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("诉求类型“{0}”无效，应为咨询、求助、建议或投诉")]
pub struct UnknownRequestKind(pub String);

impl FromStr for RequestKind {
    type Err = UnknownRequestKind;

    /// Accepts the code (`consultation`) or the Chinese name (咨询).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        RequestKind::ALL
            .into_iter()
            .find(|kind| kind.code() == input || kind.label() == input)
            .ok_or_else(|| UnknownRequestKind(input.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_chinese_names() {
        assert_eq!("help".parse(), Ok(RequestKind::Help));
        assert_eq!(" 投诉 ".parse(), Ok(RequestKind::Complaint));
    }

    #[test]
    fn rejects_unknown_kinds_in_plain_chinese() {
        let error = "praise".parse::<RequestKind>().unwrap_err();
        assert!(error.to_string().contains("咨询、求助、建议或投诉"));
    }
}
