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
pub const FOLD_KINDS: [EventKind; 18] = [
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
    // A plan waiting for the centre holds the result's lateness: the days the centre takes are not the unit's
    // (the same rule as the cards, `sla::cards::may_be_carded`); the decision sets the deadline that counts.
    let mut plan_waiting = false;
    for event in events {
        let at = event.at;
        if at >= window.as_of {
            break;
        }
        settle_if_late(&mut response_owed, at, window, tallies, response);
        if !plan_waiting {
            settle_if_late(&mut result_owed, at, window, tallies, on_time);
        }
        plan_waiting = event.kind == EventKind::PlanSubmitted
            || (plan_waiting
                && !matches!(
                    event.kind,
                    EventKind::PlanApproved
                        | EventKind::PlanRejected
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
            EventKind::PlanApproved | EventKind::PlanRejected => {
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
    if !plan_waiting {
        settle_if_late(&mut result_owed, window.as_of, window, tallies, on_time);
    }
    let overdue = open && !plan_waiting && due.is_some_and(|due| due < window.as_of);
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
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar() -> Calendar {
        Calendar::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar"))
            .unwrap()
    }

    /// Builds an order's events in order, ids counting up.
    struct History {
        log: FactLog,
        request_id: i64,
    }

    impl History {
        fn new() -> History {
            History {
                log: FactLog::default(),
                request_id: 0,
            }
        }

        fn unit(&mut self, id: &str) -> Option<UnitIndex> {
            Some(self.log.unit(id))
        }

        fn order(&mut self) -> &mut History {
            self.request_id += 1;
            self
        }

        fn push(
            &mut self,
            when: &str,
            kind: EventKind,
            adjust: impl FnOnce(&mut FactEvent),
        ) -> i64 {
            let id = self.log.events.len() as i64 + 1;
            let mut event = FactEvent {
                request_id: self.request_id,
                id,
                at: at(when),
                kind,
                actor_unit: None,
                unit: None,
                due_at: None,
                yes: None,
                closure: false,
                waived_card: None,
            };
            adjust(&mut event);
            self.log.events.push(event);
            id
        }

        fn dispatch(&mut self, when: &str, unit: &str, due: &str) -> &mut History {
            let unit = self.unit(unit);
            self.push(when, EventKind::Dispatched, |e| {
                e.unit = unit;
                e.due_at = Some(at(due));
            });
            self
        }

        fn by(&mut self, when: &str, kind: EventKind, unit: &str) -> &mut History {
            let unit = self.unit(unit);
            self.push(when, kind, |e| e.actor_unit = unit);
            self
        }

        fn resolve(&mut self, when: &str, unit: &str, solved: bool) -> &mut History {
            let unit = self.unit(unit);
            self.push(when, EventKind::Resolved, |e| {
                e.actor_unit = unit;
                e.yes = Some(solved);
            });
            self
        }

        fn rate(&mut self, when: &str, satisfied: bool) -> &mut History {
            self.push(when, EventKind::Rated, |e| {
                e.yes = Some(satisfied);
                e.closure = satisfied;
            });
            self
        }

        fn returned(&mut self, when: &str, due: &str) -> &mut History {
            self.push(when, EventKind::Returned, |e| {
                e.yes = Some(false);
                e.due_at = Some(at(due));
            });
            self
        }

        fn card(&mut self, when: &str, kind: EventKind, unit: &str) -> i64 {
            let unit = self.unit(unit);
            self.push(when, kind, |e| e.unit = unit)
        }
    }

    /// March 2026 (no holidays; 22 working days), reported at its end.
    fn march() -> Window {
        Window {
            start: at("2026-03-01T00:00:00+08:00"),
            as_of: at("2026-04-01T00:00:00+08:00"),
        }
    }

    fn run(history: &History, window: Window) -> BTreeMap<String, Tally> {
        fold(history, window).tallies
    }

    fn fold(history: &History, window: Window) -> Folded {
        let calendar = calendar();
        let days = WorkingDays::new(
            &calendar,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        let mut log = history.log.clone();
        log.sort();
        tally(&log, window, &days)
    }

    /// Four orders of the tax bureau in March 2026, with known answers:
    /// 1. dispatched Mon 2 Mar (due Mon 9 Mar), accepted the same day, solved Wed 4 Mar, rated 非常满意.
    /// 2. dispatched Tue 3 Mar (due Tue 10 Mar), accepted Wed 11 Mar (late), reported Thu 12 Mar (late, yellow
    ///    card on 11 Mar), rated 比较满意.
    /// 3. dispatched Wed 4 Mar (due Wed 11 Mar), accepted, reported Mon 9 Mar, rated 不满意 on 10 Mar → rework due
    ///    Fri 13 Mar, reported again Thu 12 Mar, rated 基本满意 on 13 Mar.
    /// 4. dispatched Mon 23 Mar (due Mon 30 Mar), accepted 24 Mar, never reported: overdue at the end of March.
    fn four_orders() -> History {
        let mut history = History::new();
        history
            .order()
            .dispatch(
                "2026-03-02T09:00:00+08:00",
                "tax",
                "2026-03-09T23:59:59+08:00",
            )
            .by("2026-03-02T10:00:00+08:00", EventKind::Accepted, "tax")
            .resolve("2026-03-04T16:00:00+08:00", "tax", true)
            .rate("2026-03-05T09:00:00+08:00", true);
        history.order().dispatch(
            "2026-03-03T09:00:00+08:00",
            "tax",
            "2026-03-10T23:59:59+08:00",
        );
        history.card("2026-03-11T00:05:00+08:00", EventKind::YellowCard, "tax");
        history
            .by("2026-03-11T09:00:00+08:00", EventKind::Accepted, "tax")
            .resolve("2026-03-12T09:00:00+08:00", "tax", true)
            .rate("2026-03-12T15:00:00+08:00", true);
        history
            .order()
            .dispatch(
                "2026-03-04T09:00:00+08:00",
                "tax",
                "2026-03-11T23:59:59+08:00",
            )
            .by("2026-03-04T11:00:00+08:00", EventKind::Accepted, "tax")
            .resolve("2026-03-09T09:00:00+08:00", "tax", true)
            .returned("2026-03-10T09:00:00+08:00", "2026-03-13T23:59:59+08:00")
            .resolve("2026-03-12T09:00:00+08:00", "tax", true)
            .rate("2026-03-13T09:00:00+08:00", true);
        history
            .order()
            .dispatch(
                "2026-03-23T09:00:00+08:00",
                "tax",
                "2026-03-30T23:59:59+08:00",
            )
            .by("2026-03-24T09:00:00+08:00", EventKind::Accepted, "tax");
        history
    }

    #[test]
    fn four_orders_one_late_one_unsatisfied_with_rework() {
        // Act
        let tallies = run(&four_orders(), march());

        // Assert
        let tax = tallies["tax"];
        assert_eq!(tax.received, 4);
        // Responses: 1, 3, 4 on time; 2 accepted after its deadline.
        assert_eq!(tax.response, Ratio::new(3, 4));
        // Results: 1 on time, 2 late, 3 on time and its rework on time, 4 late (due 30 Mar, nothing by 1 Apr).
        assert_eq!(tax.on_time, Ratio::new(3, 5));
        // Reported in March: orders 1, 2, 3 (all 已解决); order 4 overdue at the end: 3 of 4.
        assert_eq!(tax.reported, 3);
        assert_eq!(tax.resolution(), Ratio::new(3, 4));
        assert_eq!(tax.overdue, 1);
        // Ratings: 非常满意, 比较满意, 不满意, 基本满意 → 3 of 4 satisfied.
        assert_eq!(tax.satisfaction, Ratio::new(3, 4));
        assert_eq!(tax.rework_rounds, 1);
        assert_eq!(tax.closed, 3);
        assert_eq!(tax.yellow_cards, 1);
        // Working days to the first report: 2 (2→4 Mar), 7 (3→12 Mar), 3 (4→9 Mar) = 12 over 3 orders.
        assert_eq!((tax.working_days_sum, tax.working_days_count), (12, 3));
        assert_eq!(tax.average_working_days(), Some(4.0));
    }

    #[test]
    fn the_task_forces_opinion_closes_an_order_or_returns_it_for_another_round() {
        // Arrange: two orders still 不满意 after two rounds; the task force closes one and sends the other back.
        let mut history = History::new();
        for closes in [true, false] {
            history
                .order()
                .dispatch(
                    "2026-03-02T09:00:00+08:00",
                    "tax",
                    "2026-03-09T23:59:59+08:00",
                )
                .by("2026-03-03T09:00:00+08:00", EventKind::Accepted, "tax")
                .resolve("2026-03-04T09:00:00+08:00", "tax", true)
                .returned("2026-03-05T09:00:00+08:00", "2026-03-10T23:59:59+08:00")
                .resolve("2026-03-06T09:00:00+08:00", "tax", true)
                .rate("2026-03-09T09:00:00+08:00", false);
            history.push(
                "2026-03-12T09:00:00+08:00",
                EventKind::VerificationOpinion,
                |e| {
                    e.closure = closes;
                    e.due_at = (!closes).then(|| at("2026-03-17T23:59:59+08:00"));
                },
            );
        }

        // Act: at the end of March the returned order has not been reported again.
        let tax = run(&history, march())["tax"];

        // Assert
        assert_eq!(tax.closed, 1);
        assert_eq!(tax.rework_rounds, 3);
        assert_eq!(tax.overdue, 1);
    }

    #[test]
    fn a_past_period_is_reproduced_from_events_before_its_end() {
        // February knows nothing of March; mid-March the fourth order is not yet due.
        let history = four_orders();
        let february = Window {
            start: at("2026-02-01T00:00:00+08:00"),
            as_of: at("2026-03-01T00:00:00+08:00"),
        };
        assert!(run(&history, february).is_empty());
        let mid_march = Window {
            start: at("2026-03-01T00:00:00+08:00"),
            as_of: at("2026-03-25T00:00:00+08:00"),
        };
        let tax = run(&history, mid_march)["tax"];
        assert_eq!(tax.received, 4);
        assert_eq!(tax.overdue, 0);
        // Order 4's response was met on 24 March; its result is not yet due.
        assert_eq!(tax.response, Ratio::new(3, 4));
        assert_eq!(tax.on_time, Ratio::new(3, 4));
        // April sees only what falls due or happens in April.
        let april = Window {
            start: at("2026-04-01T00:00:00+08:00"),
            as_of: at("2026-05-01T00:00:00+08:00"),
        };
        let tax = run(&history, april)["tax"];
        assert_eq!(tax.received, 0);
        assert_eq!(tax.overdue, 1);
        assert_eq!(tax.on_time, Ratio::default());
        // Still overdue and never reported: it counts against April's resolution too.
        assert_eq!(tax.resolution(), Ratio::new(0, 1));
    }

    #[test]
    fn a_redispatch_before_the_deadline_moves_the_order_without_penalty() {
        let mut history = History::new();
        history
            .order()
            .dispatch(
                "2026-03-02T09:00:00+08:00",
                "tax",
                "2026-03-09T23:59:59+08:00",
            )
            .dispatch(
                "2026-03-03T09:00:00+08:00",
                "power",
                "2026-03-10T23:59:59+08:00",
            )
            .by("2026-03-03T10:00:00+08:00", EventKind::Accepted, "power")
            .resolve("2026-03-05T10:00:00+08:00", "power", false);
        let folded = fold(&history, march());
        // One order, dispatched twice: dispatched once.
        assert_eq!(folded.dispatched, 1);
        let tallies = folded.tallies;
        let tax = tallies["tax"];
        assert_eq!(tax.received, 1);
        assert_eq!(tax.response, Ratio::default());
        assert_eq!(tax.on_time, Ratio::default());
        let power = tallies["power"];
        assert_eq!(power.received, 1);
        assert_eq!(power.response, Ratio::new(1, 1));
        assert_eq!(power.on_time, Ratio::new(1, 1));
        // Reported 未能解决.
        assert_eq!(power.resolution(), Ratio::new(0, 1));
        assert_eq!(power.average_working_days(), Some(2.0));
    }

    #[test]
    fn a_return_is_the_units_response_and_a_rejected_plan_moves_the_deadline() {
        let mut history = History::new();
        history
            .order()
            .dispatch(
                "2026-03-02T09:00:00+08:00",
                "tax",
                "2026-03-09T23:59:59+08:00",
            )
            .by(
                "2026-03-02T15:00:00+08:00",
                EventKind::DispatchReturned,
                "tax",
            )
            .dispatch(
                "2026-03-03T09:00:00+08:00",
                "power",
                "2026-03-10T23:59:59+08:00",
            )
            .by("2026-03-03T10:00:00+08:00", EventKind::Accepted, "power")
            .by(
                "2026-03-06T10:00:00+08:00",
                EventKind::PlanSubmitted,
                "power",
            );
        history.push("2026-03-11T10:00:00+08:00", EventKind::PlanRejected, |e| {
            e.due_at = Some(at("2026-03-13T23:59:59+08:00"));
        });
        history.resolve("2026-03-12T10:00:00+08:00", "power", true);
        let tallies = fold(&history, march()).tallies;
        let tax = tallies["tax"];
        assert_eq!(tax.received, 1);
        assert_eq!(
            tax.response,
            Ratio::new(1, 1),
            "the return answered the dispatch"
        );
        assert_eq!(tax.on_time, Ratio::default(), "and owes no result");
        let power = tallies["power"];
        // Reported on 12 March, after the first deadline but within the one the rejection moved.
        assert_eq!(power.on_time, Ratio::new(1, 1));
        assert_eq!(power.overdue, 0);
    }

    #[test]
    fn an_approved_plan_moves_the_deadline_and_a_hand_back_is_a_response() {
        let mut history = History::new();
        history
            .order()
            .dispatch(
                "2026-03-02T09:00:00+08:00",
                "tax",
                "2026-03-09T23:59:59+08:00",
            )
            .by("2026-03-03T09:00:00+08:00", EventKind::PlanSubmitted, "tax");
        history.push("2026-03-04T09:00:00+08:00", EventKind::PlanApproved, |e| {
            e.due_at = Some(at("2026-03-20T23:59:59+08:00"))
        });
        history.resolve("2026-03-18T09:00:00+08:00", "tax", true);
        history
            .order()
            .dispatch(
                "2026-03-02T09:00:00+08:00",
                "hongxu",
                "2026-03-09T23:59:59+08:00",
            )
            .by("2026-03-03T09:00:00+08:00", EventKind::Forwarded, "hongxu");
        let tallies = run(&history, march());
        assert_eq!(tallies["tax"].on_time, Ratio::new(1, 1));
        assert_eq!(tallies["tax"].response, Ratio::new(1, 1));
        let town = tallies["hongxu"];
        assert_eq!(town.response, Ratio::new(1, 1));
        assert_eq!(town.on_time, Ratio::default());
        assert_eq!(town.overdue, 0);
    }

    #[test]
    fn waived_cards_and_false_feedback_are_counted_for_the_unit_named() {
        let mut history = History::new();
        history.order().dispatch(
            "2026-03-02T09:00:00+08:00",
            "tax",
            "2026-03-09T23:59:59+08:00",
        );
        let yellow = history.card("2026-03-10T00:05:00+08:00", EventKind::YellowCard, "tax");
        history.card("2026-03-16T00:05:00+08:00", EventKind::YellowCard, "tax");
        history.card("2026-03-16T00:05:00+08:00", EventKind::RedCard, "tax");
        history.push("2026-03-17T09:00:00+08:00", EventKind::CardWaived, |e| {
            e.waived_card = Some(yellow)
        });
        history.resolve("2026-03-18T09:00:00+08:00", "tax", true);
        let tax = history.unit("tax");
        history.push("2026-03-19T09:00:00+08:00", EventKind::FalseFeedback, |e| {
            e.unit = tax
        });
        let tax = run(&history, march())["tax"];
        assert_eq!((tax.yellow_cards, tax.red_cards), (1, 1));
        assert_eq!(tax.false_feedback, 1);
        // Reported 已解决, but the enterprise says nobody contacted it.
        assert_eq!(tax.resolution(), Ratio::new(0, 1));
        // Before the waiver the first card still counts.
        let before = Window {
            start: march().start,
            as_of: at("2026-03-17T00:00:00+08:00"),
        };
        assert_eq!(run(&history, before)["tax"].yellow_cards, 2);
    }

    #[test]
    fn working_days_skip_holidays_and_weekends() {
        let calendar = calendar();
        let days = WorkingDays::new(
            &calendar,
            NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        );
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        // 30 Sep (Wed) → 9 Oct (Fri): 1–7 Oct is the National Day break; 8 and 9 Oct are working days.
        assert_eq!(days.between(day(9, 30), day(10, 9)), 2);
        assert_eq!(days.between(day(10, 9), day(10, 9)), 0);
        // 10 Oct is a Saturday worked for the break (调休上班); 11 Oct is a Sunday.
        assert_eq!(days.between(day(10, 9), day(10, 12)), 2);
        // Outside the fast range the days are counted one by one.
        assert_eq!(days.between(day(8, 28), day(9, 1)), 2);
        assert_eq!(days.between(day(8, 28), day(8, 31)), 1);
    }
}
