//! 满意度评价 (附件5): the four levels an enterprise rates the handling of its request with.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// 满意度: 非常满意 / 比较满意 / 基本满意 / 不满意 (notice 附件5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    VerySatisfied,
    FairlySatisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Rating {
    pub const ALL: [Rating; 4] = [
        Rating::VerySatisfied,
        Rating::FairlySatisfied,
        Rating::BasicallySatisfied,
        Rating::Unsatisfied,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rating::VerySatisfied => "very_satisfied",
            Rating::FairlySatisfied => "fairly_satisfied",
            Rating::BasicallySatisfied => "basically_satisfied",
            Rating::Unsatisfied => "unsatisfied",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rating::VerySatisfied => "非常满意",
            Rating::FairlySatisfied => "比较满意",
            Rating::BasicallySatisfied => "基本满意",
            Rating::Unsatisfied => "不满意",
        }
    }

    /// The first three levels count as satisfied (满意率: 非常/比较/基本满意 over all rated).
    pub fn is_satisfied(self) -> bool {
        self != Rating::Unsatisfied
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The input named no rating level.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("请选择满意度：非常满意、比较满意、基本满意或不满意")]
pub struct UnknownRating;

impl FromStr for Rating {
    type Err = UnknownRating;

    /// Accepts the code (`fairly_satisfied`) or the Chinese name (比较满意).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        Rating::ALL
            .into_iter()
            .find(|rating| rating.code() == input || rating.label() == input)
            .ok_or(UnknownRating)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_chinese_names_and_knows_what_counts_as_satisfied() {
        assert_eq!("基本满意".parse(), Ok(Rating::BasicallySatisfied));
        assert_eq!("unsatisfied".parse(), Ok(Rating::Unsatisfied));
        assert!(Rating::BasicallySatisfied.is_satisfied());
        assert!(!Rating::Unsatisfied.is_satisfied());
        assert_eq!("一般".parse::<Rating>(), Err(UnknownRating));
    }
}
