//! Ranking (排名): units are ranked among units of their own kind — the towns and the development zone (镇街，
//! 含经济技术开发区) in one list, the city departments (市直部门) in another — because the notice assesses them
//! side by side but they handle different matters (notice §二(五)2–3: 镇（街）、市直部门（单位）; 年度测评后两位的镇街
//! 和市直部门向市政府写出书面检查).
//!
//! Score (综合得分, 0–100): the weighted mean of the rates the unit has, minus deductions.
//!
//! ```text
//! base  = 100 × Σ wᵢ·rateᵢ / Σ wᵢ   over the rates with a non-empty denominator
//!         weights: 响应率 0.2 · 按期办结率 0.2 · 解决率 0.3 · 满意率 0.3
//! score = max(0, base − 1·黄牌 − 3·红牌 − 5·约谈 − 5·虚假反馈), rounded to 0.01
//! ```
//!
//! A unit with none of the four rates in the period (no order came due, none was rated) is not ranked (本期无参评
//! 工单). Equal scores share a rank (1, 2, 2, 4); the list shows them by fewer overdue orders, then more orders
//! received, then the directory's order. The centre's own unit (推进中心, which handles what nothing in the
//! catalogue matches) is the assessor and is not ranked.

use serde::Serialize;

use super::figures::{Ratio, Tally};
use crate::dispatch::{Directory, UnitKind};

/// Weights of the rates in the score.
pub const WEIGHT_RESPONSE: f64 = 0.2;
pub const WEIGHT_ON_TIME: f64 = 0.2;
pub const WEIGHT_RESOLUTION: f64 = 0.3;
pub const WEIGHT_SATISFACTION: f64 = 0.3;
/// Points taken off per card or finding.
pub const DEDUCT_YELLOW_CARD: f64 = 1.0;
pub const DEDUCT_RED_CARD: f64 = 3.0;
pub const DEDUCT_INTERVIEW: f64 = 5.0;
pub const DEDUCT_FALSE_FEEDBACK: f64 = 5.0;

/// The two lists units are ranked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitGroup {
    /// 镇街（含经济技术开发区）
    Local,
    /// 市直部门
    Department,
}

impl UnitGroup {
    pub const ALL: [UnitGroup; 2] = [UnitGroup::Local, UnitGroup::Department];

    pub fn of(kind: UnitKind) -> UnitGroup {
        match kind {
            UnitKind::Town | UnitKind::Zone => UnitGroup::Local,
            UnitKind::Department => UnitGroup::Department,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UnitGroup::Local => "镇街（含经济技术开发区）",
            UnitGroup::Department => "市直部门（单位）",
        }
    }
}

/// 评价等次 of a score (quarterly evaluation and annual assessment).
pub fn grade(score: f64) -> &'static str {
    if score >= 90.0 {
        "好"
    } else if score >= 80.0 {
        "较好"
    } else if score >= 60.0 {
        "一般"
    } else {
        "较差"
    }
}

/// One unit's figures for the period, with its score and rank.
#[derive(Debug, Clone, Serialize)]
pub struct UnitFigures {
    pub unit_id: String,
    pub name: String,
    /// The name charts use.
    pub short_name: String,
    pub group: UnitGroup,
    pub group_label: &'static str,
    #[serde(flatten)]
    pub tally: Tally,
    /// 解决率
    pub resolution: Ratio,
    /// 平均办理时长 (working days)
    pub average_working_days: Option<f64>,
    /// `4.0`, or `—` without a report.
    pub average_label: String,
    /// The weighted rates before deductions.
    pub base: Option<f64>,
    pub deduction: f64,
    pub score: Option<f64>,
    /// `74.00`, or `—` without a score.
    pub score_label: String,
    pub rank: Option<u32>,
    pub grade: Option<&'static str>,
    /// Ranked among this many units of its group.
    pub ranked_of: u32,
}

impl UnitFigures {
    pub fn new(
        unit_id: &str,
        name: &str,
        short_name: &str,
        group: UnitGroup,
        tally: Tally,
    ) -> UnitFigures {
        let rates = [
            (tally.response.rate(), WEIGHT_RESPONSE),
            (tally.on_time.rate(), WEIGHT_ON_TIME),
            (tally.resolution().rate(), WEIGHT_RESOLUTION),
            (tally.satisfaction.rate(), WEIGHT_SATISFACTION),
        ];
        let weight: f64 = rates
            .iter()
            .filter(|(rate, _)| rate.is_some())
            .map(|(_, weight)| weight)
            .sum();
        let base = (weight > 0.0).then(|| {
            100.0
                * rates
                    .iter()
                    .filter_map(|(rate, weight)| rate.map(|rate| rate * weight))
                    .sum::<f64>()
                / weight
        });
        let deduction = DEDUCT_YELLOW_CARD * f64::from(tally.yellow_cards)
            + DEDUCT_RED_CARD * f64::from(tally.red_cards)
            + DEDUCT_INTERVIEW * f64::from(tally.interviews)
            + DEDUCT_FALSE_FEEDBACK * f64::from(tally.false_feedback);
        let score = base.map(|base| ((base - deduction).max(0.0) * 100.0).round() / 100.0);
        UnitFigures {
            unit_id: unit_id.to_owned(),
            name: name.to_owned(),
            short_name: short_name.to_owned(),
            group,
            group_label: group.label(),
            resolution: tally.resolution(),
            average_working_days: tally.average_working_days(),
            average_label: tally
                .average_working_days()
                .map_or_else(|| "—".to_owned(), |days| format!("{days:.1}")),
            tally,
            base: base.map(|base| (base * 100.0).round() / 100.0),
            deduction,
            score,
            score_label: score.map_or_else(|| "—".to_owned(), |score| format!("{score:.2}")),
            rank: None,
            grade: score.map(grade),
            ranked_of: 0,
        }
    }
}

/// Every unit of the directory (but the centre's own) with its tally, plus units the events name that the
/// directory no longer has (as departments, under their id). In the directory's order.
pub fn units_with_figures(
    directory: &Directory,
    tallies: &std::collections::BTreeMap<String, Tally>,
) -> Vec<UnitFigures> {
    let centre = directory.centre.name.as_str();
    let mut units: Vec<UnitFigures> = directory
        .units
        .iter()
        .filter(|unit| unit.name != centre)
        .map(|unit| {
            UnitFigures::new(
                &unit.id,
                &unit.name,
                unit.display_name(),
                UnitGroup::of(unit.kind),
                tallies.get(&unit.id).copied().unwrap_or_default(),
            )
        })
        .collect();
    for (id, tally) in tallies {
        if directory.unit(id).is_none() {
            units.push(UnitFigures::new(id, id, id, UnitGroup::Department, *tally));
        }
    }
    units
}

/// Ranks the units of each group (see the module documentation) and orders the list: by group, ranked units by
/// rank, then the units without a rank in their original order.
pub fn rank(units: &mut Vec<UnitFigures>) {
    let mut positioned: Vec<(usize, UnitFigures)> = units.drain(..).enumerate().collect();
    positioned.sort_by(|(a_index, a), (b_index, b)| {
        a.group
            .cmp(&b.group)
            .then_with(|| b.score.is_some().cmp(&a.score.is_some()))
            .then_with(|| {
                b.score
                    .unwrap_or_default()
                    .total_cmp(&a.score.unwrap_or_default())
            })
            .then_with(|| a.tally.overdue.cmp(&b.tally.overdue))
            .then_with(|| b.tally.received.cmp(&a.tally.received))
            .then_with(|| a_index.cmp(b_index))
    });
    for group in UnitGroup::ALL {
        let ranked = positioned
            .iter()
            .filter(|(_, unit)| unit.group == group && unit.score.is_some())
            .count() as u32;
        let mut previous: Option<(f64, u32)> = None;
        for (place, (_, unit)) in (1..).zip(
            positioned
                .iter_mut()
                .filter(|(_, unit)| unit.group == group && unit.score.is_some()),
        ) {
            let score = unit.score.unwrap_or_default();
            let rank = match previous {
                Some((last, rank)) if last == score => rank,
                _ => place,
            };
            previous = Some((score, rank));
            unit.rank = Some(rank);
            unit.ranked_of = ranked;
        }
    }
    units.extend(positioned.into_iter().map(|(_, unit)| unit));
}

/// The bottom two of a group (年度测评后两位, notice §二(五)3), with any unit tied with the second-to-last.
pub fn bottom_two(units: &[UnitFigures], group: UnitGroup) -> Vec<&UnitFigures> {
    let ranked: Vec<&UnitFigures> = units
        .iter()
        .filter(|unit| unit.group == group && unit.rank.is_some())
        .collect();
    if ranked.len() <= 2 {
        return ranked;
    }
    let threshold = ranked[ranked.len() - 2].score;
    ranked
        .into_iter()
        .filter(|unit| unit.score <= threshold)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, group: UnitGroup, adjust: impl FnOnce(&mut Tally)) -> UnitFigures {
        let mut tally = Tally::default();
        adjust(&mut tally);
        UnitFigures::new(id, id, id, group, tally)
    }

    #[test]
    fn the_score_weights_the_rates_it_has_and_takes_off_cards() {
        // Every rate at 100%, no card: 100.
        let perfect = unit("a", UnitGroup::Department, |t| {
            t.response = Ratio::new(2, 2);
            t.on_time = Ratio::new(2, 2);
            t.solved = 2;
            t.resolution_due = 2;
            t.satisfaction = Ratio::new(1, 1);
        });
        assert_eq!(perfect.score, Some(100.0));
        // 75% response and on time, 75% solved, 75% satisfied, one yellow card: 75 − 1.
        let carded = unit("b", UnitGroup::Department, |t| {
            t.response = Ratio::new(3, 4);
            t.on_time = Ratio::new(3, 4);
            t.solved = 3;
            t.resolution_due = 4;
            t.satisfaction = Ratio::new(3, 4);
            t.yellow_cards = 1;
        });
        assert_eq!(carded.score, Some(74.0));
        assert_eq!(carded.grade, Some("一般"));
        // Only satisfaction known (a unit rated on an older order): the score is that rate.
        let rated_only = unit("c", UnitGroup::Department, |t| {
            t.satisfaction = Ratio::new(1, 2);
            t.red_cards = 1;
            t.false_feedback = 1;
        });
        assert_eq!(rated_only.base, Some(50.0));
        assert_eq!(rated_only.score, Some(42.0));
        // Nothing to assess: no score.
        assert_eq!(unit("d", UnitGroup::Department, |_| {}).score, None);
        // Deductions never go below zero.
        let awful = unit("e", UnitGroup::Department, |t| {
            t.response = Ratio::new(0, 1);
            t.yellow_cards = 2;
        });
        assert_eq!(awful.score, Some(0.0));
    }

    #[test]
    fn units_are_ranked_within_their_group_with_shared_ranks() {
        let rate = |n: u32| {
            move |t: &mut Tally| {
                t.satisfaction = Ratio::new(n, 4);
                t.received = n;
            }
        };
        let mut units = vec![
            unit("tax", UnitGroup::Department, rate(2)),
            unit("hongxu", UnitGroup::Local, rate(4)),
            unit("power", UnitGroup::Department, rate(4)),
            unit("idle", UnitGroup::Department, |_| {}),
            unit("land", UnitGroup::Department, rate(2)),
            unit("water", UnitGroup::Department, rate(1)),
            unit("zone", UnitGroup::Local, rate(3)),
        ];
        rank(&mut units);
        let order: Vec<(&str, Option<u32>)> = units
            .iter()
            .map(|unit| (unit.unit_id.as_str(), unit.rank))
            .collect();
        assert_eq!(
            order,
            [
                ("hongxu", Some(1)),
                ("zone", Some(2)),
                ("power", Some(1)),
                ("tax", Some(2)),
                ("land", Some(2)),
                ("water", Some(4)),
                ("idle", None),
            ]
        );
        assert_eq!(units[2].ranked_of, 4);
        // The bottom two departments: water, and tax and land tied for the second-to-last place.
        let bottom: Vec<&str> = bottom_two(&units, UnitGroup::Department)
            .iter()
            .map(|unit| unit.unit_id.as_str())
            .collect();
        assert_eq!(bottom, ["tax", "land", "water"]);
        let bottom: Vec<&str> = bottom_two(&units, UnitGroup::Local)
            .iter()
            .map(|unit| unit.unit_id.as_str())
            .collect();
        assert_eq!(bottom, ["hongxu", "zone"]);
    }
}
