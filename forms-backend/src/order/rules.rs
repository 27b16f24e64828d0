//! The rules of an order's life (mechanism.md): given the order's state, who acts and the step asked for, which
//! event follows and the state it leaves — or why not. This is the one place these rules live; the workflow
//! builds e-mails and deadlines around the outcome, and the store writes it only if the order is still in the
//! state the decision was made on.

use super::{Actor, Event, EventKind, Status};

/// Notice §二(四)3: after two rounds of handling and reply, a still unsatisfied order goes to the task force.
pub const ROUNDS_BEFORE_VERIFICATION: u32 = 2;

/// What the rules need to know of an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderState<'a> {
    pub status: Status,
    /// The round of handling: 1, and one more after every return to the unit.
    pub round: u32,
    pub lead_unit: Option<&'a str>,
    pub co_units: &'a [String],
}

/// A step someone asks to take on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// "没有解决我的问题，转人工办理".
    Escalate,
    /// 派单, or 改派 before the unit accepted.
    Dispatch,
    /// 受理.
    Accept,
    /// 进展情况 (lead) or 协办情况 (co-handler).
    Progress,
    /// 办理结果 = 申请销号.
    Resolve,
    /// 解决方案 with a committed date.
    Plan,
    /// The centre approves the plan.
    ApprovePlan,
    /// The centre rejects the plan (退回方案), with a reason.
    RejectPlan,
    /// 退单: the lead unit returns a wrongly dispatched order; `late` says its acceptance limit has passed.
    ReturnDispatch { late: bool },
    /// 报推进中心; `local` says whether the unit is a town or the zone.
    Forward { local: bool },
    /// 满意度评价 by the enterprise or a call-back.
    Rate { satisfied: bool },
    /// 承办单位说明 on the verification form.
    Explain,
    /// Upload of the signed and sealed verification form.
    UploadForm,
    /// 专班核查意见: close, or return for rework.
    Opinion { close: bool },
    /// 虚假反馈 recorded at a call-back.
    FalseFeedback,
    /// The rating limit passed without a rating: closed as 未评价.
    LapseRating,
    /// 上报市政府研究解决.
    ReferToGovernment,
    /// The government's coordination came back; `assigned` says a unit held the order when it was referred.
    RecordCoordination { assigned: bool },
}

/// What a step leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub event: EventKind,
    pub next: Status,
    /// The order goes back to the unit for another round of handling.
    pub new_round: bool,
}

impl Outcome {
    /// The event the step records: the workflow builds its payload, the rules chose its kind.
    pub fn records(&self, event: Event) -> Event {
        debug_assert_eq!(
            event.kind(),
            self.event,
            "the event written is not the one the rules decided"
        );
        event
    }
}

/// Why a step cannot be taken now (a 409 for the user, in plain words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(message.into()))
}

fn stays(order: &OrderState<'_>, event: EventKind) -> Result<Outcome, Refusal> {
    moves(event, order.status)
}

fn moves(event: EventKind, next: Status) -> Result<Outcome, Refusal> {
    Ok(Outcome {
        event,
        next,
        new_round: false,
    })
}

fn state_refusal<T>(order: &OrderState<'_>, what: &str) -> Result<T, Refusal> {
    refuse(format!("当前状态为“{}”，不能{what}", order.status.label()))
}

/// The unit's part in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitPart {
    Lead,
    Co,
}

fn unit_part(order: &OrderState<'_>, unit: &str) -> Option<UnitPart> {
    if order.lead_unit == Some(unit) {
        Some(UnitPart::Lead)
    } else if order.co_units.iter().any(|co| co == unit) {
        Some(UnitPart::Co)
    } else {
        None
    }
}

/// Decides a step. Every rule cites the notice (滕政办发〔2022〕1号) or mechanism.md where it comes from.
pub fn decide(order: &OrderState<'_>, actor: &Actor, step: Step) -> Result<Outcome, Refusal> {
    use Status::*;
    match (actor, step) {
        // §二(二)2: an answered consultation the enterprise says is unsolved becomes a work order.
        (Actor::Enterprise { .. }, Step::Escalate) => match order.status {
            Answered => moves(EventKind::Escalated, New),
            _ => refuse("该诉求已在人工办理中"),
        },
        // §二(二): the centre dispatches (派单), and re-dispatches (改派) an open order it finds with the wrong unit —
        // after acceptance too, with a fresh deadline (our rule: a wrong unit must not hold an order). The system
        // only dispatches what waits.
        (Actor::Centre { .. }, Step::Dispatch) => match order.status {
            New | Dispatched | Accepted | Planned | Rework => {
                moves(EventKind::Dispatched, Dispatched)
            }
            _ => state_refusal(order, "派单"),
        },
        (Actor::System { .. }, Step::Dispatch) => match order.status {
            New => moves(EventKind::Dispatched, Dispatched),
            _ => state_refusal(order, "自动派单"),
        },
        (Actor::Unit { id }, step) => decide_for_unit(order, id, step),
        // §二(三): the centre approves a plan for a problem that takes longer; the deadline becomes its date.
        (Actor::Centre { .. }, Step::ApprovePlan) => match order.status {
            Planned => moves(EventKind::PlanApproved, Accepted),
            _ => refuse("该工单没有待审批的解决方案"),
        },
        // §二(三): a plan the centre does not accept goes back to the unit with the reason; it handles on.
        (Actor::Centre { .. }, Step::RejectPlan) => match order.status {
            Planned => moves(EventKind::PlanRejected, Accepted),
            _ => refuse("该工单没有待审批的解决方案"),
        },
        // §二(五)1 一事一评估: the enterprise rates through its link, or the centre records a call-back.
        (Actor::Enterprise { .. } | Actor::Centre { .. }, Step::Rate { satisfied }) => {
            if order.status != Resolved {
                return state_refusal(order, "评价");
            }
            if satisfied {
                // §二(五)1: a satisfied rating closes the order (销号).
                moves(EventKind::Rated, Closed)
            } else if order.round < ROUNDS_BEFORE_VERIFICATION {
                // §二(五)1: 不满意 goes back to the unit the same day, for another round.
                Ok(Outcome {
                    event: EventKind::Returned,
                    next: Rework,
                    new_round: true,
                })
            } else {
                // §二(四)3: still 不满意 after two rounds — the task force verifies.
                moves(EventKind::Rated, Verification)
            }
        }
        // §二(四)3: the task force's opinion closes the order or returns it for another round.
        (Actor::Centre { .. }, Step::Opinion { close }) => match (order.status, close) {
            (Verification, true) => moves(EventKind::VerificationOpinion, Closed),
            (Verification, false) => Ok(Outcome {
                event: EventKind::VerificationOpinion,
                next: Rework,
                new_round: true,
            }),
            _ => state_refusal(order, "记录核查意见"),
        },
        // §二(二): "确需市政府层面综合协调的，由推进中心上报市政府研究解决" — any order not yet resolved; while the
        // government coordinates, the unit's deadline does not run (our rule) and the unit does not act.
        (Actor::Centre { .. }, Step::ReferToGovernment) => match order.status {
            New | Dispatched | Accepted | Planned | Rework => {
                moves(EventKind::GovernmentReferred, Coordinating)
            }
            _ => state_refusal(order, "上报市政府"),
        },
        // The coordination comes back: to the unit with a fresh deadline, or to the queue when no unit had it.
        (Actor::Centre { .. }, Step::RecordCoordination { assigned }) => {
            match (order.status, assigned && order.lead_unit.is_some()) {
                (Coordinating, true) => moves(EventKind::GovernmentCoordinated, Accepted),
                (Coordinating, false) => moves(EventKind::GovernmentCoordinated, New),
                _ => refuse("该工单没有上报市政府协调"),
            }
        }
        // Our rule for §二(五)1 (一事一评估, silent on an enterprise that never rates): past the rating limit the system
        // closes the result as 未评价, with the reason, counted apart from 满意 — nothing stays `resolved` for ever.
        (Actor::System { .. }, Step::LapseRating) => match order.status {
            Resolved => moves(EventKind::RatingLapsed, Closed),
            _ => state_refusal(order, "按未评价办结"),
        },
        // §二(五)3: false feedback is recorded against the unit once the order has been dispatched.
        (Actor::Centre { .. }, Step::FalseFeedback) => match order.status {
            Answered | New => refuse("该诉求尚未派单，不能登记虚假反馈"),
            _ => stays(order, EventKind::FalseFeedback),
        },
        _ => refuse("无权进行此操作"),
    }
}

/// A handling unit's step through its link. §二(二)3 首接负责: only the first-responsible unit accepts, reports
/// the result or submits a plan; co-handlers add their contribution.
fn decide_for_unit(order: &OrderState<'_>, unit: &str, step: Step) -> Result<Outcome, Refusal> {
    use Status::*;
    let Some(part) = unit_part(order, unit) else {
        return refuse("本单位不是该工单的承办单位");
    };
    if matches!(step, Step::Explain | Step::UploadForm) {
        if part != UnitPart::Lead {
            return refuse("不满意诉求审核反馈表由首接单位填写");
        }
        return match (order.status, step) {
            (Verification, Step::Explain) => stays(order, EventKind::VerificationExplained),
            (Verification, _) => stays(order, EventKind::VerificationFormUploaded),
            _ => refuse(format!(
                "当前状态为“{}”，不需要填写不满意诉求审核反馈表",
                order.status.label()
            )),
        };
    }
    if !order.status.is_open() {
        return state_refusal(order, "再操作");
    }
    if part == UnitPart::Co {
        return match step {
            Step::Progress => stays(order, EventKind::Contribution),
            _ => refuse("协办单位可以补充办理情况，受理、反馈结果和提交方案由首接单位负责"),
        };
    }
    match step {
        // §二(二)3 快速响应: the first step is to accept (受理).
        Step::Accept => match order.status {
            Dispatched => moves(EventKind::Accepted, Accepted),
            _ => refuse("已受理，无需重复受理"),
        },
        // §二(二)3 快速响应: a wrongly dispatched order goes back to the centre within the acceptance limit, not
        // after it, and not once accepted (首接负责: an accepted order is the unit's to handle or forward).
        Step::ReturnDispatch { late } => match (order.status, late) {
            (Dispatched, false) => moves(EventKind::DispatchReturned, New),
            (Dispatched, true) => {
                refuse("已超过签收时限，不能退回；请先受理，确非本单位职责的请联系推进中心改派")
            }
            _ => refuse("已受理的工单不能退回；确非本单位职责的请联系推进中心改派"),
        },
        Step::Progress | Step::Resolve | Step::Plan if order.status == Dispatched => {
            refuse("请先受理工单，再填写办理情况")
        }
        Step::Progress => stays(order, EventKind::Progress),
        // §二(三): the result (申请销号) is reported once handled; the enterprise then rates it.
        Step::Resolve => moves(EventKind::Resolved, Resolved),
        // §二(三): a problem that cannot be solved in the short term gets a plan with a committed date.
        Step::Plan => match order.status {
            Planned => refuse("解决方案已提交，等待推进中心审核"),
            _ => moves(EventKind::PlanSubmitted, Planned),
        },
        // §二(二): what the local level cannot solve goes to the centre for dispatch.
        Step::Forward { local: true } => moves(EventKind::Forwarded, New),
        Step::Forward { local: false } => {
            refuse("只有属地镇街或开发区可以把本级不能解决的问题报推进中心")
        }
        _ => refuse("无权进行此操作"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: Status, round: u32) -> OrderState<'static> {
        static CO: [String; 0] = [];
        OrderState {
            status,
            round,
            lead_unit: Some("tax"),
            co_units: &CO,
        }
    }

    fn with_co(status: Status, co: &[String]) -> OrderState<'_> {
        OrderState {
            status,
            round: 1,
            lead_unit: Some("tax"),
            co_units: co,
        }
    }

    #[test]
    fn a_unit_must_accept_before_it_reports() {
        let lead = Actor::unit("tax");
        let dispatched = order(Status::Dispatched, 1);
        assert!(decide(&dispatched, &lead, Step::Resolve).is_err());
        assert!(decide(&dispatched, &lead, Step::Plan).is_err());
        assert_eq!(
            decide(&dispatched, &lead, Step::Accept).unwrap().next,
            Status::Accepted
        );
        let accepted = order(Status::Accepted, 1);
        assert!(decide(&accepted, &lead, Step::Accept).is_err());
        assert_eq!(
            decide(&accepted, &lead, Step::Resolve).unwrap().next,
            Status::Resolved
        );
    }

    #[test]
    fn co_handlers_only_contribute_and_strangers_nothing() {
        let co = vec!["power".to_owned()];
        let state = with_co(Status::Accepted, &co);
        let outcome = decide(&state, &Actor::unit("power"), Step::Progress).unwrap();
        assert_eq!(outcome.event, EventKind::Contribution);
        assert!(decide(&state, &Actor::unit("power"), Step::Resolve).is_err());
        assert!(decide(&state, &Actor::unit("water"), Step::Progress).is_err());
    }

    #[test]
    fn ratings_close_return_or_go_to_verification_by_round() {
        let enterprise = Actor::enterprise();
        let satisfied = Step::Rate { satisfied: true };
        let unsatisfied = Step::Rate { satisfied: false };
        assert_eq!(
            decide(&order(Status::Resolved, 1), &enterprise, satisfied)
                .unwrap()
                .next,
            Status::Closed
        );
        let first = decide(&order(Status::Resolved, 1), &enterprise, unsatisfied).unwrap();
        assert_eq!((first.next, first.new_round), (Status::Rework, true));
        let second = decide(&order(Status::Resolved, 2), &enterprise, unsatisfied).unwrap();
        assert_eq!(
            (second.next, second.new_round),
            (Status::Verification, false)
        );
        // A rating on a closed or reworked order is refused: the first rating won.
        assert!(decide(&order(Status::Closed, 1), &enterprise, unsatisfied).is_err());
        assert!(decide(&order(Status::Rework, 2), &enterprise, satisfied).is_err());
    }

    #[test]
    fn units_cannot_rate_and_enterprises_cannot_dispatch() {
        assert!(
            decide(
                &order(Status::Resolved, 1),
                &Actor::unit("tax"),
                Step::Rate { satisfied: true }
            )
            .is_err()
        );
        assert!(decide(&order(Status::New, 1), &Actor::enterprise(), Step::Dispatch).is_err());
    }

    #[test]
    fn a_unit_returns_a_wrong_order_only_before_accepting_and_within_its_limit() {
        let lead = Actor::unit("tax");
        let dispatched = order(Status::Dispatched, 1);
        let returned = decide(&dispatched, &lead, Step::ReturnDispatch { late: false }).unwrap();
        assert_eq!(
            (returned.event, returned.next),
            (EventKind::DispatchReturned, Status::New)
        );
        assert!(decide(&dispatched, &lead, Step::ReturnDispatch { late: true }).is_err());
        let accepted = order(Status::Accepted, 1);
        assert!(decide(&accepted, &lead, Step::ReturnDispatch { late: false }).is_err());
        let co = vec!["power".to_owned()];
        let shared = with_co(Status::Dispatched, &co);
        assert!(
            decide(
                &shared,
                &Actor::unit("power"),
                Step::ReturnDispatch { late: false }
            )
            .is_err(),
            "a co-handler does not return the order"
        );
    }

    #[test]
    fn the_centre_redispatches_any_open_order_and_the_system_only_waiting_ones() {
        let centre = Actor::centre("zhang");
        let system = Actor::system("auto-dispatch");
        for status in [
            Status::New,
            Status::Dispatched,
            Status::Accepted,
            Status::Planned,
            Status::Rework,
        ] {
            assert_eq!(
                decide(&order(status, 1), &centre, Step::Dispatch)
                    .unwrap()
                    .next,
                Status::Dispatched,
                "{status:?}"
            );
        }
        for status in [Status::Resolved, Status::Verification, Status::Closed] {
            assert!(decide(&order(status, 1), &centre, Step::Dispatch).is_err());
        }
        assert!(decide(&order(Status::New, 1), &system, Step::Dispatch).is_ok());
        assert!(decide(&order(Status::Accepted, 1), &system, Step::Dispatch).is_err());
    }

    #[test]
    fn a_plan_is_approved_or_rejected_only_while_it_waits() {
        let centre = Actor::centre("zhang");
        let rejected = decide(&order(Status::Planned, 1), &centre, Step::RejectPlan).unwrap();
        assert_eq!(
            (rejected.event, rejected.next),
            (EventKind::PlanRejected, Status::Accepted)
        );
        assert!(decide(&order(Status::Accepted, 1), &centre, Step::RejectPlan).is_err());
        assert!(
            decide(
                &order(Status::Planned, 1),
                &Actor::unit("tax"),
                Step::RejectPlan
            )
            .is_err()
        );
    }

    #[test]
    fn only_the_system_closes_an_unrated_result_and_only_while_it_waits() {
        let system = Actor::system("supervision");
        let lapsed = decide(&order(Status::Resolved, 1), &system, Step::LapseRating).unwrap();
        assert_eq!(
            (lapsed.event, lapsed.next),
            (EventKind::RatingLapsed, Status::Closed)
        );
        assert!(decide(&order(Status::Closed, 1), &system, Step::LapseRating).is_err());
        assert!(decide(&order(Status::Rework, 2), &system, Step::LapseRating).is_err());
        assert!(
            decide(
                &order(Status::Resolved, 1),
                &Actor::centre("zhang"),
                Step::LapseRating
            )
            .is_err()
        );
    }

    #[test]
    fn the_centre_refers_an_unresolved_order_to_the_government_and_the_unit_waits() {
        let centre = Actor::centre("zhang");
        let referred = decide(
            &order(Status::Accepted, 1),
            &centre,
            Step::ReferToGovernment,
        )
        .unwrap();
        assert_eq!(
            (referred.event, referred.next),
            (EventKind::GovernmentReferred, Status::Coordinating)
        );
        for status in [Status::Resolved, Status::Verification, Status::Closed] {
            assert!(decide(&order(status, 1), &centre, Step::ReferToGovernment).is_err());
        }
        let coordinating = order(Status::Coordinating, 1);
        assert!(decide(&coordinating, &Actor::unit("tax"), Step::Progress).is_err());
        assert!(!Status::Coordinating.is_open(), "no deadline runs, no card");
        let back = |assigned| {
            decide(
                &coordinating,
                &centre,
                Step::RecordCoordination { assigned },
            )
        };
        assert_eq!(back(true).unwrap().next, Status::Accepted);
        // Referred from the queue: back to the queue, whoever held it before.
        assert_eq!(back(false).unwrap().next, Status::New);
        assert!(
            decide(
                &order(Status::Accepted, 1),
                &centre,
                Step::RecordCoordination { assigned: true }
            )
            .is_err()
        );
    }

    #[test]
    fn the_task_force_decides_only_orders_under_verification() {
        let centre = Actor::centre("zhang");
        let rework = decide(
            &order(Status::Verification, 2),
            &centre,
            Step::Opinion { close: false },
        )
        .unwrap();
        assert_eq!((rework.next, rework.new_round), (Status::Rework, true));
        assert!(
            decide(
                &order(Status::Resolved, 2),
                &centre,
                Step::Opinion { close: true }
            )
            .is_err()
        );
    }
}
