//! Figures per unit and period (单位指标), folded from the event log alone, so any past period can be reproduced:
//! only events before the period's end (or before `as_of` while the period runs) are read, and "overdue" means
//! overdue at that instant. `docs/reports.md` writes down every formula; this module is their one implementation.
//!
//! The rule behind the rates: an **obligation** (a unit owes a response or a result by a deadline) is counted in
//! the period in which it is met or falls due, whichever comes first. Met at or before its deadline it is on
//! time; not met by its deadline it is late, counted in the period the deadline fell in. An obligation that ends
//! because the order left the unit (改派 to another unit, or a town hands it to the centre, 报推进中心) before its
//! deadline is not counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

use crate::calendar::Calendar;
use crate::order::EventKind;

/// The event kinds the figures are folded from; the others (submissions, progress notes, reminders …) do not
/// change a figure.
pub const FOLD_KINDS: [EventKind; 20] = [
    EventKind::Dispatched,
    EventKind::Accepted,
    EventKind::PlanSubmitted,
    EventKind::PlanApproved,
    EventKind::PlanRejected,
    EventKind::Resolved,
    EventKind::Returned,
    EventKind::Rated,
    EventKind::RatingLapsed,
    EventKind::Forwarded,
    EventKind::DispatchReturned,
    EventKind::GovernmentReferred,
    EventKind::GovernmentCoordinated,
    EventKind::YellowCard,
    EventKind::RedCard,
    EventKind::Interview,
    EventKind::CardWaived,
    EventKind::FalseFeedback,
    EventKind::Questionnaire,
    EventKind::VerificationOpinion,
];

/// A unit as the events of a [`FactLog`] name it: an index into [`FactLog::units`].
pub type UnitIndex = u16;

/// One event as the reports read it: what the figures need and nothing more (no payload).
#[derive(Debug, Clone, PartialEq)]
pub struct FactEvent {
    pub request_id: i64,
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// The unit of a `unit:<id>` actor.
    pub actor_unit: Option<UnitIndex>,
    /// The unit the payload names: the lead unit of a dispatch; the unit of a card, of false feedback, of a
    /// questionnaire answer.
    pub unit: Option<UnitIndex>,
    /// The deadline a dispatch, a return or an approved plan sets.
    pub due_at: Option<DateTime<Utc>>,
    /// `resolved`: 是否解决; `rated`, `returned`, `questionnaire`: whether the level counts as satisfied.
    pub yes: Option<bool>,
    /// `rated`, `verification_opinion`: the event closed the order (销号; its payload says `closed: true`).
    pub closure: bool,
    /// `card_waived`: the card event waived.
    pub waived_card: Option<i64>,
}

/// The events a fold reads, with each unit id kept once.
#[derive(Debug, Clone, Default)]
pub struct FactLog {
    /// The unit ids the events name, by [`UnitIndex`].
    pub units: Vec<String>,
    index: HashMap<String, UnitIndex>,
    /// Grouped by order (request id), each order's events in time order ([`FactLog::sort`]).
    pub events: Vec<FactEvent>,
}

impl FactLog {
    /// The index of unit `id`, added when new.
    pub fn unit(&mut self, id: &str) -> UnitIndex {
        if let Some(index) = self.index.get(id) {
            return *index;
        }
        let index = UnitIndex::try_from(self.units.len()).unwrap_or(UnitIndex::MAX);
        self.units.push(id.to_owned());
        self.index.insert(id.to_owned(), index);
        index
    }

    /// Puts the events in the order the fold reads them: by order, then time, then id.
    pub fn sort(&mut self) {
        self.events
            .sort_unstable_by_key(|event| (event.request_id, event.at, event.id));
    }
}

/// What a fold found: one tally per unit (by id) and the orders dispatched in the period.
#[derive(Debug, Clone, Default)]
pub struct Folded {
    pub tallies: BTreeMap<String, Tally>,
    /// 派单: orders with a dispatch in the period (an order dispatched twice counts once).
    pub dispatched: u32,
}

/// A count that is part of a whole: a rate when the whole is not empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratio {
    pub numerator: u32,
    pub denominator: u32,
}

impl Ratio {
    pub fn new(numerator: u32, denominator: u32) -> Ratio {
        Ratio {
            numerator,
            denominator,
        }
    }

    /// Between 0 and 1; none when there is nothing to count.
    pub fn rate(&self) -> Option<f64> {
        (self.denominator > 0).then(|| f64::from(self.numerator) / f64::from(self.denominator))
    }

    /// `93.5%`, or `—` when there is nothing to count.
    pub fn label(&self) -> String {
        self.rate()
            .map_or_else(|| "—".to_owned(), |rate| format!("{:.1}%", rate * 100.0))
    }

    fn add(&mut self, other: Ratio) {
        self.numerator += other.numerator;
        self.denominator += other.denominator;
    }
}

impl Serialize for Ratio {
    /// `{numerator, denominator, rate, percent, label}` for templates.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Ratio", 5)?;
        state.serialize_field("numerator", &self.numerator)?;
        state.serialize_field("denominator", &self.denominator)?;
        state.serialize_field("rate", &self.rate())?;
        state.serialize_field("percent", &self.rate().map(|rate| rate * 100.0))?;
        state.serialize_field("label", &self.label())?;
        state.end()
    }
}

/// The raw counts of one unit in one period; the rates are ratios of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// 接收工单: orders dispatched to the unit as first-responsible unit in the period.
    pub received: u32,
    /// 反馈办理结果: orders on which the unit reported a result in the period.
    pub reported: u32,
    /// 已解决: of those, orders whose latest report in the period says 已解决 and without false feedback.
    pub solved: u32,
    /// 应解决: orders reported in the period or overdue at its end (the denominator of 解决率).
    pub resolution_due: u32,
    /// 销号: orders of the unit closed in the period.
    pub closed: u32,
    /// 未评价办结: of those, closed because the enterprise never rated the result.
    pub unrated: u32,
    /// 响应: response obligations counted in the period and those met on time.
    pub response: Ratio,
    /// 按期办结: result obligations (first round and rework rounds) counted in the period and those met on time.
    pub on_time: Ratio,
    /// 满意: ratings in the period (online and call-back) and those 非常/比较/基本满意.
    pub satisfaction: Ratio,
    /// 问卷: questionnaire answers received in the period and those satisfied.
    pub questionnaire: Ratio,
    /// Sum and count of working days from dispatch to the first result report, for reports in the period.
    pub working_days_sum: u32,
    pub working_days_count: u32,
    /// 逾期未反馈 at the end of the period (or at `as_of`).
    pub overdue: u32,
    /// 重新办理: orders returned to the unit after an unsatisfied rating in the period.
    pub rework_rounds: u32,
    pub yellow_cards: u32,
    pub red_cards: u32,
    pub interviews: u32,
    /// 虚假反馈 found in the period.
    pub false_feedback: u32,
}

impl Tally {
    /// 解决率
    pub fn resolution(&self) -> Ratio {
        Ratio::new(self.solved, self.resolution_due)
    }

    /// 平均办理时长 (working days), one decimal.
    pub fn average_working_days(&self) -> Option<f64> {
        (self.working_days_count > 0).then(|| {
            let average = f64::from(self.working_days_sum) / f64::from(self.working_days_count);
            (average * 10.0).round() / 10.0
        })
    }

    /// Whether anything at all happened to the unit in the period.
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    /// Adds another unit's counts (the city's totals).
    pub fn add(&mut self, other: &Tally) {
        self.received += other.received;
        self.reported += other.reported;
        self.solved += other.solved;
        self.resolution_due += other.resolution_due;
        self.closed += other.closed;
        self.unrated += other.unrated;
        self.response.add(other.response);
        self.on_time.add(other.on_time);
        self.satisfaction.add(other.satisfaction);
        self.questionnaire.add(other.questionnaire);
        self.working_days_sum += other.working_days_sum;
        self.working_days_count += other.working_days_count;
        self.overdue += other.overdue;
        self.rework_rounds += other.rework_rounds;
        self.yellow_cards += other.yellow_cards;
        self.red_cards += other.red_cards;
        self.interviews += other.interviews;
        self.false_feedback += other.false_feedback;
    }
}

/// The instants a fold counts between: events at or after `start` and before `as_of` count for the period;
/// events before `start` only set the state the period begins with.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: DateTime<Utc>,
    /// The end of the period, or the moment of the report while the period runs.
    pub as_of: DateTime<Utc>,
}

impl Window {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.as_of
    }
}

/// Working days from one day to another: the days after `from` up to and including `to` (the convention of the
/// deadlines: the day an order is received does not count; solved the same day is 0).
pub struct WorkingDays<'a> {
    calendar: &'a Calendar,
    base: NaiveDate,
    /// `prefix[i]`: working days in `(base, base + i]`.
    prefix: Vec<u32>,
}

impl<'a> WorkingDays<'a> {
    /// Fast counting for days from `first` to `last`; other days are counted one by one.
    pub fn new(calendar: &'a Calendar, first: NaiveDate, last: NaiveDate) -> WorkingDays<'a> {
        let mut prefix = vec![0];
        let mut day = first;
        let mut count = 0;
        while day < last {
            day = day + Days::new(1);
            if calendar.is_working_day(day) {
                count += 1;
            }
            prefix.push(count);
        }
        WorkingDays {
            calendar,
            base: first,
            prefix,
        }
    }

    fn index(&self, day: NaiveDate) -> Option<usize> {
        let offset = usize::try_from((day - self.base).num_days()).ok()?;
        (offset < self.prefix.len()).then_some(offset)
    }

    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        if let (Some(a), Some(b)) = (self.index(from), self.index(to)) {
            return self.prefix[b] - self.prefix[a];
        }
        from.iter_days()
            .skip(1)
            .take_while(|day| *day <= to)
            .filter(|day| self.calendar.is_working_day(*day))
            .count() as u32
    }
}

fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// Something a unit owes by a deadline.
#[derive(Debug, Clone)]
struct Obligation {
    unit: UnitIndex,
    due: Option<DateTime<Utc>>,
}

/// Folds the events into one [`Tally`] per unit. `log` holds every event (of [`FOLD_KINDS`]) before
/// `window.as_of` of each order that matters for the period, sorted ([`FactLog::sort`]).
pub fn tally(log: &FactLog, window: Window, working_days: &WorkingDays<'_>) -> Folded {
    let events = &log.events;
    let waived: BTreeSet<i64> = events
        .iter()
        .filter(|event| event.kind == EventKind::CardWaived && event.at < window.as_of)
        .filter_map(|event| event.waived_card)
        .collect();
    let mut tallies = vec![Tally::default(); log.units.len()];
    let mut dispatched = 0;
    let mut start = 0;
    while start < events.len() {
        let request_id = events[start].request_id;
        let end = events[start..]
            .iter()
            .position(|event| event.request_id != request_id)
            .map_or(events.len(), |length| start + length);
        let order = &events[start..end];
        debug_assert!(
            order
                .windows(2)
                .all(|pair| (pair[0].at, pair[0].id) <= (pair[1].at, pair[1].id))
        );
        if fold_order(order, window, &waived, working_days, &mut tallies) {
            dispatched += 1;
        }
        start = end;
    }
    Folded {
        tallies: log
            .units
            .iter()
            .zip(tallies)
            .filter(|(_, tally)| !tally.is_empty())
            .map(|(unit, tally)| (unit.clone(), tally))
            .collect(),
        dispatched,
    }
}

/// Settles an obligation whose deadline passed before `at`: late, counted where the deadline fell.
fn settle_if_late(
    obligation: &mut Option<Obligation>,
    at: DateTime<Utc>,
    window: Window,
    tallies: &mut [Tally],
    rate: fn(&mut Tally) -> &mut Ratio,
) {
    let late = obligation
        .as_ref()
        .and_then(|ob| ob.due)
        .is_some_and(|due| due < at);
    if late && let Some(ob) = obligation.take() {
        let due = ob.due.unwrap_or(at);
        if window.contains(due) {
            rate(&mut tallies[usize::from(ob.unit)]).denominator += 1;
        }
    }
}

/// Meets an obligation at `at` (its deadline has not passed: late ones were settled before).
fn meet(
    obligation: &mut Option<Obligation>,
    unit: UnitIndex,
    at: DateTime<Utc>,
    window: Window,
    tallies: &mut [Tally],
    rate: fn(&mut Tally) -> &mut Ratio,
) {
    if obligation.as_ref().is_some_and(|ob| ob.unit == unit) {
        obligation.take();
        if window.contains(at) {
            let ratio = rate(&mut tallies[usize::from(unit)]);
            ratio.denominator += 1;
            ratio.numerator += 1;
        }
    }
}

fn response(tally: &mut Tally) -> &mut Ratio {
    &mut tally.response
}

fn on_time(tally: &mut Tally) -> &mut Ratio {
    &mut tally.on_time
}

/// One order's events in time order; true when it was dispatched in the period.
fn fold_order(
    events: &[FactEvent],
    window: Window,
    waived: &BTreeSet<i64>,
    working_days: &WorkingDays<'_>,
    tallies: &mut [Tally],
) -> bool {
    let mut lead: Option<UnitIndex> = None;
    let mut open = false;
    let mut due: Option<DateTime<Utc>> = None;
    let mut dispatched = false;
    // When the current lead unit got the order, until its first result report (平均办理时长).
    let mut assigned_at: Option<DateTime<Utc>> = None;
    let mut response_owed: Option<Obligation> = None;
    let mut result_owed: Option<Obligation> = None;
    // The unit's latest result report in the period: (unit, 是否解决).
    let mut reported: Option<(UnitIndex, bool)> = None;
    let mut false_feedback = false;
    // A plan waiting for the centre, or an order the city government coordinates, holds the result's lateness: the
    // days the centre or the government take are not the unit's (the same rule as the cards,
    // `sla::cards::may_be_carded`); the decision sets the deadline that counts.
    let mut paused = false;
    for event in events {
        let at = event.at;
        if at >= window.as_of {
            break;
        }
        settle_if_late(&mut response_owed, at, window, tallies, response);
        if !paused {
            settle_if_late(&mut result_owed, at, window, tallies, on_time);
        }
        paused = matches!(
            event.kind,
            EventKind::PlanSubmitted | EventKind::GovernmentReferred
        ) || (paused
            && !matches!(
                event.kind,
                EventKind::PlanApproved
                    | EventKind::PlanRejected
                    | EventKind::GovernmentCoordinated
                    | EventKind::Resolved
                    | EventKind::Dispatched
                    | EventKind::Forwarded
                    | EventKind::DispatchReturned
            ));
        let in_period = window.contains(at);
        let actor = event.actor_unit;
        match event.kind {
            EventKind::Dispatched => {
                let Some(unit) = event.unit else {
                    continue;
                };
                dispatched |= in_period;
                if lead != Some(unit) {
                    // Re-dispatched to another unit (or after a hand-back): what the previous unit owed lapses.
                    result_owed = None;
                    assigned_at = Some(at);
                    if in_period {
                        tallies[usize::from(unit)].received += 1;
                    }
                    response_owed = Some(Obligation {
                        unit,
                        due: event.due_at,
                    });
                } else if let Some(ob) = response_owed.as_mut() {
                    ob.due = event.due_at;
                }
                match result_owed.as_mut() {
                    Some(ob) if lead == Some(unit) => ob.due = event.due_at,
                    _ => {
                        result_owed = Some(Obligation {
                            unit,
                            due: event.due_at,
                        })
                    }
                }
                lead = Some(unit);
                due = event.due_at;
                open = true;
            }
            EventKind::Accepted | EventKind::PlanSubmitted => {
                if let Some(unit) = actor {
                    meet(&mut response_owed, unit, at, window, tallies, response);
                }
                open = true;
            }
            // An approved plan's committed date, or a rejected plan's deadline moved by the days it waited.
            EventKind::PlanApproved
            | EventKind::PlanRejected
            | EventKind::GovernmentCoordinated => {
                if let Some(ob) = result_owed.as_mut() {
                    ob.due = event.due_at.or(ob.due);
                }
                due = event.due_at.or(due);
                open = true;
            }
            EventKind::Resolved => {
                let Some(unit) = actor else { continue };
                meet(&mut response_owed, unit, at, window, tallies, response);
                meet(&mut result_owed, unit, at, window, tallies, on_time);
                if in_period {
                    reported = Some((unit, event.yes == Some(true)));
                    if let Some(assigned) = assigned_at.take() {
                        let tally = &mut tallies[usize::from(unit)];
                        tally.working_days_sum +=
                            working_days.between(shanghai_day(assigned), shanghai_day(at));
                        tally.working_days_count += 1;
                    }
                } else {
                    assigned_at = None;
                }
                open = false;
            }
            EventKind::Returned => {
                if let Some(unit) = lead {
                    if in_period {
                        let tally = &mut tallies[usize::from(unit)];
                        tally.satisfaction.denominator += 1;
                        tally.rework_rounds += 1;
                    }
                    // Notice §二(五)1: redone and reported within 3 working days — a new result obligation.
                    result_owed = Some(Obligation {
                        unit,
                        due: event.due_at,
                    });
                }
                due = event.due_at.or(due);
                open = true;
            }
            EventKind::Rated => {
                if let Some(unit) = lead
                    && in_period
                {
                    let tally = &mut tallies[usize::from(unit)];
                    tally.satisfaction.denominator += 1;
                    if event.yes == Some(true) {
                        tally.satisfaction.numerator += 1;
                    }
                    if event.closure {
                        tally.closed += 1;
                    }
                }
                open = false;
            }
            // 未评价办结: closed (销号) without a rating; not part of 满意率.
            EventKind::RatingLapsed => {
                if let Some(unit) = lead
                    && in_period
                {
                    let tally = &mut tallies[usize::from(unit)];
                    tally.closed += 1;
                    tally.unrated += 1;
                }
                open = false;
            }
            EventKind::VerificationOpinion if event.closure => {
                if let Some(unit) = lead
                    && in_period
                {
                    tallies[usize::from(unit)].closed += 1;
                }
                open = false;
            }
            EventKind::VerificationOpinion => {
                // 退回重办: like a return after 不满意, a new result owed within 3 working days (no new rating).
                if let Some(unit) = lead {
                    if in_period {
                        tallies[usize::from(unit)].rework_rounds += 1;
                    }
                    result_owed = Some(Obligation {
                        unit,
                        due: event.due_at,
                    });
                }
                due = event.due_at.or(due);
                open = true;
            }
            EventKind::Forwarded | EventKind::DispatchReturned => {
                if let Some(unit) = actor {
                    // Handing a matter the town cannot solve to the centre is a response (notice §二(二)), and so is
                    // a return (退单) within the acceptance limit; 退单率 counts returns apart.
                    meet(&mut response_owed, unit, at, window, tallies, response);
                }
                result_owed = None;
                assigned_at = None;
                lead = None;
                open = false;
            }
            EventKind::YellowCard | EventKind::RedCard | EventKind::Interview => {
                if in_period
                    && !waived.contains(&event.id)
                    && let Some(unit) = event.unit
                {
                    let tally = &mut tallies[usize::from(unit)];
                    match event.kind {
                        EventKind::YellowCard => tally.yellow_cards += 1,
                        EventKind::RedCard => tally.red_cards += 1,
                        _ => tally.interviews += 1,
                    }
                }
            }
            EventKind::FalseFeedback => {
                false_feedback = true;
                if in_period && let Some(unit) = event.unit.or(lead) {
                    tallies[usize::from(unit)].false_feedback += 1;
                }
            }
            EventKind::Questionnaire => {
                if in_period && let Some(unit) = event.unit.or(lead) {
                    let ratio = &mut tallies[usize::from(unit)].questionnaire;
                    ratio.denominator += 1;
                    if event.yes == Some(true) {
                        ratio.numerator += 1;
                    }
                }
            }
            // Waivers are read before the fold; the other kinds are not in FOLD_KINDS.
            _ => {}
        }
    }
    settle_if_late(&mut response_owed, window.as_of, window, tallies, response);
    if !paused {
        settle_if_late(&mut result_owed, window.as_of, window, tallies, on_time);
    }
    let overdue = open && !paused && due.is_some_and(|due| due < window.as_of);
    let overdue_unit = lead.filter(|_| overdue);
    if let Some(unit) = overdue_unit {
        tallies[usize::from(unit)].overdue += 1;
    }
    if let Some((unit, solved)) = reported {
        let tally = &mut tallies[usize::from(unit)];
        tally.reported += 1;
        tally.resolution_due += 1;
        if solved && !false_feedback {
            tally.solved += 1;
        }
    }
    if let Some(unit) = overdue_unit
        && reported.is_none_or(|(reporter, _)| reporter != unit)
    {
        tallies[usize::from(unit)].resolution_due += 1;
    }
    dispatched
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
