//! 操作链接 (the links in e-mails): each token is bound to one order, one role, one holder and one round of
//! handling, and is checked for all four. Only the token's hash is stored.

use std::fmt;
use std::str::FromStr;

use super::OrderState;

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkRole {
    /// A handling unit acts on the order (its page, its forms, the verification form).
    Unit,
    /// The enterprise rates the result of one round (附件5).
    Rating,
    /// The enterprise answers the monthly questionnaire.
    Questionnaire,
}

impl LinkRole {
    pub const fn code(self) -> &'static str {
        match self {
            LinkRole::Unit => "unit",
            LinkRole::Rating => "rating",
            LinkRole::Questionnaire => "questionnaire",
        }
    }
}

impl fmt::Display for LinkRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for LinkRole {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        [LinkRole::Unit, LinkRole::Rating, LinkRole::Questionnaire]
            .into_iter()
            .find(|role| role.code() == code)
            .ok_or_else(|| format!("未知的链接类型“{code}”"))
    }
}

/// A stored link: whose it is and for which round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub role: LinkRole,
    /// The unit id for a unit's link; empty for the enterprise's links.
    pub holder: String,
    /// The round of handling the link was made for.
    pub round: u32,
}

impl Link {
    pub fn unit(id: &str, round: u32) -> Link {
        Link {
            role: LinkRole::Unit,
            holder: id.to_owned(),
            round,
        }
    }

    pub fn rating(round: u32) -> Link {
        Link {
            role: LinkRole::Rating,
            holder: String::new(),
            round,
        }
    }

    pub fn questionnaire() -> Link {
        Link {
            role: LinkRole::Questionnaire,
            holder: String::new(),
            round: 0,
        }
    }

    /// Whether the link lets its holder act as `wanted` on the order as it is now: the role must be the one
    /// asked for; a unit's link holds while the unit is still on the order — the first-responsible unit's only in
    /// the round it was made for (a return for rework sends it a fresh link), a co-handler's (which only adds
    /// notes) for every round; a rating link dies when its round ends.
    pub fn grants(&self, wanted: LinkRole, order: &OrderState<'_>) -> bool {
        if self.role != wanted {
            return false;
        }
        match self.role {
            LinkRole::Unit => {
                if order.lead_unit == Some(self.holder.as_str()) {
                    self.round == order.round
                } else {
                    order.co_units.contains(&self.holder)
                }
            }
            LinkRole::Rating => self.round == order.round,
            LinkRole::Questionnaire => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Status;

    fn order(round: u32, co: &[String]) -> OrderState<'_> {
        OrderState {
            status: Status::Accepted,
            round,
            lead_unit: Some("tax"),
            co_units: co,
        }
    }

    #[test]
    fn a_link_grants_only_its_own_role_unit_and_round() {
        let co = vec!["power".to_owned()];
        let now = order(1, &co);
        assert!(Link::unit("tax", 1).grants(LinkRole::Unit, &now));
        assert!(Link::unit("power", 1).grants(LinkRole::Unit, &now));
        assert!(!Link::unit("water", 1).grants(LinkRole::Unit, &now));
        assert!(!Link::rating(1).grants(LinkRole::Unit, &now));
        assert!(!Link::questionnaire().grants(LinkRole::Unit, &now));
        assert!(!Link::unit("tax", 1).grants(LinkRole::Rating, &now));
        let later = order(2, &co);
        assert!(!Link::unit("tax", 1).grants(LinkRole::Unit, &later));
        assert!(Link::unit("tax", 2).grants(LinkRole::Unit, &later));
        assert!(
            Link::unit("power", 1).grants(LinkRole::Unit, &later),
            "a co-handler keeps adding notes"
        );
        assert!(!Link::rating(1).grants(LinkRole::Rating, &later));
        assert!(Link::rating(2).grants(LinkRole::Rating, &later));
    }
}
