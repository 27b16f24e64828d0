//! The two outcomes the notice names within an order's life, as subsets of its events: the supervision cards
//! (督办亮牌: 黄牌, 红牌警示, 约谈; notice §二(三)) and the task force's conclusion on a verified order
//! (核查结论, notice §二(四)3).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::EventKind;

/// The kinds of card events: the card events of [`EventKind`], as their own type so a card is never anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    YellowCard,
    RedCard,
    Interview,
}

impl CardKind {
    /// The event a card of this kind is recorded as.
    pub fn event(self) -> EventKind {
        match self {
            CardKind::YellowCard => EventKind::YellowCard,
            CardKind::RedCard => EventKind::RedCard,
            CardKind::Interview => EventKind::Interview,
        }
    }

    pub fn code(self) -> &'static str {
        self.event().code()
    }

    pub fn label(self) -> &'static str {
        match self {
            CardKind::YellowCard => "黄牌（督办通知）",
            CardKind::RedCard => "红牌警示（专班约谈分管负责人）",
            CardKind::Interview => "约谈主要负责人（市政府领导约谈）",
        }
    }

    /// The card an event is, if it is one.
    pub fn of_event(kind: EventKind) -> Option<CardKind> {
        match kind {
            EventKind::YellowCard => Some(CardKind::YellowCard),
            EventKind::RedCard => Some(CardKind::RedCard),
            EventKind::Interview => Some(CardKind::Interview),
            _ => None,
        }
    }

    /// The card a stored event kind names, if it is one.
    pub fn of(code: &str) -> Option<CardKind> {
        code.parse().ok().and_then(CardKind::of_event)
    }
}

/// 核查结论: what the task force decides on a verified order (notice §二(四)3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// 情况属实，予以销号: the unit handled the request as law and policy allow; the remaining dissatisfaction
    /// cannot be met. The order is closed with the opinion as its reason.
    Close,
    /// 退回重办: the handling falls short; the lead unit redoes it within 3 working days.
    Rework,
}

/// A conclusion that is neither of the two.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("请选择核查结论：情况属实，予以销号；或退回承办单位重新办理")]
pub struct UnknownConclusion;

impl Conclusion {
    pub const ALL: [Conclusion; 2] = [Conclusion::Close, Conclusion::Rework];

    pub fn code(self) -> &'static str {
        match self {
            Conclusion::Close => "close",
            Conclusion::Rework => "rework",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Conclusion::Close => "情况属实，予以销号",
            Conclusion::Rework => "退回承办单位重新办理",
        }
    }
}

impl FromStr for Conclusion {
    type Err = UnknownConclusion;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Conclusion::ALL
            .into_iter()
            .find(|conclusion| conclusion.code() == input.trim())
            .ok_or(UnknownConclusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_one_of_the_three_card_events_and_nothing_else() {
        for kind in EventKind::ALL {
            match CardKind::of_event(kind) {
                Some(card) => assert_eq!(card.event(), kind),
                None => assert!(
                    ![
                        EventKind::YellowCard,
                        EventKind::RedCard,
                        EventKind::Interview
                    ]
                    .contains(&kind)
                ),
            }
        }
        assert_eq!(CardKind::of("red_card"), Some(CardKind::RedCard));
        assert_eq!(CardKind::of("dispatched"), None);
    }

    #[test]
    fn the_conclusion_is_read_from_its_code_only() {
        assert_eq!("close".parse::<Conclusion>(), Ok(Conclusion::Close));
        assert_eq!(" rework ".parse::<Conclusion>(), Ok(Conclusion::Rework));
        assert!("予以销号".parse::<Conclusion>().is_err());
        assert!("".parse::<Conclusion>().is_err());
    }
}
