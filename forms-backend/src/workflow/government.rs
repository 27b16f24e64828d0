//! 上报市政府研究解决 (notice §二(二): "确需市政府层面综合协调的，由推进中心上报市政府研究解决"). The centre refers
//! an order it cannot settle through dispatch to the city government, with its reason; the lead unit's leader in
//! charge and handlers are told, and the unit's deadline stops (status `coordinating`, not open: no card). When the
//! government's coordination comes back, the centre records which leader coordinated and what was decided; the
//! order returns to the lead unit with a fresh 5-working-day deadline (our rule), or to the queue when no unit had
//! it yet.

use chrono::{DateTime, Utc};

use super::{Forms, Notice, WorkflowError, actor};
use crate::order::payload::{Coordination, DeadlineNote, Referral};
use crate::order::{Event, Status, Step, decide};
use crate::sla::RESOLUTION_WORKING_DAYS;
use crate::store::{Change, OutgoingMail, RequestRow};

/// Notice §二(二), cited in the e-mails.
pub const GOVERNMENT_RULE: &str = "滕政办发〔2022〕1号 二（二）：本级不能解决的，报推进中心汇总，由推进中心向相关单位派单予以解决，同时报市政府分管领导予以协调；确需市政府层面综合协调的，由推进中心上报市政府研究解决";

impl Forms {
    /// The centre refers the order to the city government, with its reason.
    pub async fn refer_to_government(
        &self,
        row: &RequestRow,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let outcome = decide(&row.state(), &actor(by)?, Step::ReferToGovernment)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(WorkflowError::Invalid(
                "请填写上报市政府协调的理由".to_owned(),
            ));
        }
        let mails = self.unit_notices(
            row,
            format!("【上报市政府】{}：已上报市政府协调", row.tracking_number),
            &[
                format!(
                    "受理编号 {} 的诉求需要市政府层面综合协调，推进中心已上报市政府研究解决。",
                    row.tracking_number
                ),
                format!("上报理由：{reason}"),
                "协调期间办理期限暂停，协调意见反馈后将重新明确办理期限。".to_owned(),
            ],
            true,
        )?;
        let change = Change {
            status: Some(outcome.next),
            mails,
            ..Change::new(
                by,
                outcome.records(Event::GovernmentReferred(Referral {
                    reason: reason.to_owned(),
                    from: row.status,
                })),
            )
            .expecting(row.version)
        };
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// The centre records the government's coordination: who coordinated and what was decided.
    pub async fn record_coordination(
        &self,
        row: &RequestRow,
        leader: &str,
        note: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let referred_from = self
            .store
            .events(row.id)
            .await?
            .into_iter()
            .rev()
            .find_map(|event| match event.event {
                Event::GovernmentReferred(referral) => Some(referral.from),
                _ => None,
            });
        let assigned = referred_from.is_some_and(|from| from != Status::New);
        let outcome = decide(
            &row.state(),
            &actor(by)?,
            Step::RecordCoordination { assigned },
        )?;
        let (leader, note) = (leader.trim(), note.trim());
        if leader.is_empty() || note.is_empty() {
            return Err(WorkflowError::Invalid(
                "请填写协调的市政府领导和协调意见".to_owned(),
            ));
        }
        let deadline = (outcome.next == Status::Accepted).then(|| {
            self.calendar
                .current()
                .deadline(now, RESOLUTION_WORKING_DAYS)
        });
        let mut change = Change::new(
            by,
            outcome.records(Event::GovernmentCoordinated(Coordination {
                leader: leader.to_owned(),
                note: note.to_owned(),
                deadline: deadline.as_ref().map(|deadline| {
                    DeadlineNote::of(
                        deadline,
                        "5个工作日（不含协调意见反馈当日，按国务院节假日安排计算）",
                    )
                }),
            })),
        )
        .expecting(row.version);
        change.status = Some(outcome.next);
        if let Some(deadline) = &deadline {
            change.due_at = Some(deadline.due);
            change.mails = self.unit_notices(
                row,
                format!(
                    "【市政府协调意见】{}：请于{}前办结",
                    row.tracking_number,
                    crate::calendar::minute_label(deadline.due)
                ),
                &[
                    format!(
                        "受理编号 {} 的诉求已经市政府协调（{leader}）。",
                        row.tracking_number
                    ),
                    format!("协调意见：{note}"),
                    format!(
                        "请按协调意见抓紧办理，于 {} 前在办理页面反馈办理结果。",
                        crate::calendar::minute_label(deadline.due)
                    ),
                ],
                false,
            )?;
        }
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// A notice to the lead unit's handlers (and, when `with_leader`, its leader in charge), without a link: the
    /// unit acts through the link it already holds.
    fn unit_notices(
        &self,
        row: &RequestRow,
        subject: String,
        paragraphs: &[String],
        with_leader: bool,
    ) -> Result<Vec<OutgoingMail>, WorkflowError> {
        let Some(unit) = row
            .lead_unit
            .as_deref()
            .and_then(|id| self.directory.unit(id))
        else {
            return Ok(Vec::new());
        };
        let leader = unit
            .leader
            .as_deref()
            .and_then(|id| self.directory.leader(id))
            .filter(|_| with_leader)
            .map(|leader| leader.email.as_str());
        self.notice_mails(
            row,
            unit.handlers.iter().map(String::as_str).chain(leader),
            &subject,
            Notice {
                greeting: format!("{}：", unit.name),
                paragraphs: paragraphs.to_vec(),
                action: None,
                rule: GOVERNMENT_RULE,
            },
        )
    }
}
