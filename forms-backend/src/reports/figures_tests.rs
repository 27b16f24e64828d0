//! Tests of the parent module.
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

    fn push(&mut self, when: &str, kind: EventKind, adjust: impl FnOnce(&mut FactEvent)) -> i64 {
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
fn the_days_the_government_coordinates_are_not_the_units() {
    let mut history = History::new();
    history
        .order()
        .dispatch(
            "2026-03-02T09:00:00+08:00",
            "tax",
            "2026-03-09T23:59:59+08:00",
        )
        .by("2026-03-02T10:00:00+08:00", EventKind::Accepted, "tax");
    history.push(
        "2026-03-05T10:00:00+08:00",
        EventKind::GovernmentReferred,
        |_| {},
    );
    history.push(
        "2026-03-16T10:00:00+08:00",
        EventKind::GovernmentCoordinated,
        |e| e.due_at = Some(at("2026-03-23T23:59:59+08:00")),
    );
    history.resolve("2026-03-20T10:00:00+08:00", "tax", true);
    let tax = fold(&history, march()).tallies["tax"];
    assert_eq!(tax.on_time, Ratio::new(1, 1));
    assert_eq!(tax.overdue, 0);
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
