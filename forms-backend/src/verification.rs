//! 办结核查 (verification), notice §二(四)3: “承办单位经两次办理答复后，企业仍不满意的，填写《企业诉求‘接诉即办’
//! 不满意诉求审核反馈表》，由本单位主要负责同志签字并加盖单位公章，上传至市级专班，由专班提出核查意见。”
//!
//! The rules as implemented:
//!
//! 1. An order enters `verification` when the enterprise is still 不满意 after two rounds of handling and reply
//!    ([`crate::workflow::Forms::rate`]); the lead unit's handlers get an e-mail with a fresh link to its page.
//! 2. Through that page the lead unit (only the lead unit, only while the order is in `verification`) writes its
//!    explanation (承办单位说明, [`Forms::explain_for_verification`]), prints the 不满意诉求审核反馈表 (the order,
//!    both rounds with their ratings, the explanation, blank places for the head's signature and the seal), and
//!    uploads the signed and sealed scan ([`Forms::upload_verification_form`]): PDF, JPEG or PNG recognised by
//!    content, at most `[intake] max_upload_bytes`. Every upload is kept; the newest counts. The task force and
//!    the centre are e-mailed.
//! 3. The centre records the task force's verification opinion (核查意见, [`Forms::record_verification_opinion`]) —
//!    only once the current verification has an uploaded form — with one of two conclusions ([`Conclusion`]):
//!    情况属实，予以销号 closes the order with the opinion as its reason; 退回重办 returns it to the lead unit with 3
//!    working days and a new link, after which the enterprise rates again (and, still 不满意, it comes back here).
//! 4. A "current verification" starts at the rating that opened it: explanations, uploads and opinions of an
//!    earlier verification (before a 退回重办) do not count for the current one.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::{AccessToken, RequestKind, UploadedFile, human_size};
use crate::order::payload::{self, DeadlineNote, RatingChannel};
use crate::order::{Actor, Event, Link, Step, decide};
use crate::store::verification::{NewVerificationForm, VerificationFormRow};
use crate::store::{Change, EventRow, NewLink, OutgoingMail, RequestRow};
use crate::workflow::{Forms, REWORK_RULE, REWORK_WORKING_DAYS, WorkflowError};
/// The form's title, as the notice names it.
pub const FORM_TITLE: &str = "企业诉求“接诉即办”不满意诉求审核反馈表";
/// Notice §二(四)3, cited in e-mails and on the form.
pub const RULE: &str = "滕政办发〔2022〕1号 二（四）3：承办单位经两次办理答复后，企业仍不满意的，填写《企业诉求“接诉即办”不满意诉求审核反馈表》，由本单位主要负责同志签字并加盖单位公章，上传至市级专班，由专班提出核查意见";
/// Longest explanation and opinion, in characters.
pub const MAX_TEXT: usize = 2000;

pub use crate::order::Conclusion;

/// Whether `event` is a 退回重办 by the task force (it starts another round of handling).
pub fn is_task_force_rework(event: &EventRow) -> bool {
    matches!(&event.event, Event::VerificationOpinion(opinion) if opinion.conclusion == Conclusion::Rework)
}

/// The id of the event that opened the current verification: the last rating that moved the order to
/// `verification`. `None` when the order never went there.
pub fn current_verification_start(events: &[EventRow]) -> Option<i64> {
    events
        .iter()
        .rev()
        .find(|event| matches!(&event.event, Event::Rated(rated) if rated.verification))
        .map(|event| event.id)
}

/// The uploads that count for the current verification, newest first.
pub fn current_forms<'a>(
    events: &[EventRow],
    forms: &'a [VerificationFormRow],
) -> Vec<&'a VerificationFormRow> {
    let Some(start) = current_verification_start(events) else {
        return Vec::new();
    };
    forms.iter().filter(|form| form.event_id > start).collect()
}

/// The lead unit's explanation for the current verification (the newest one written).
pub fn current_explanation(events: &[EventRow]) -> Option<String> {
    let start = current_verification_start(events)?;
    events
        .iter()
        .rev()
        .take_while(|event| event.id > start)
        .find_map(|event| match &event.event {
            Event::VerificationExplained(explained) => Some(explained.explanation.clone()),
            _ => None,
        })
}

/// One round of handling and reply (办理答复) and the enterprise's rating of it.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub number: usize,
    pub reported_at: String,
    /// 已解决 / 未能解决, as the unit reported.
    pub solved: &'static str,
    pub method: String,
    pub contact: String,
    pub rating: Option<String>,
    pub comment: Option<String>,
    /// 企业在线评价 / 电话回访.
    pub rated_by: Option<&'static str>,
    pub rated_at: Option<String>,
}

use crate::calendar::minute_label as shanghai;

/// Every round of handling: each result the lead unit reported, with the rating that followed it.
pub fn rounds(events: &[EventRow]) -> Vec<Round> {
    let mut rounds: Vec<Round> = Vec::new();
    for event in events {
        match &event.event {
            Event::Resolved(resolution) => rounds.push(Round {
                number: rounds.len() + 1,
                reported_at: shanghai(event.at),
                solved: resolution.solved_label(),
                method: resolution.method.clone(),
                contact: resolution.contact(),
                rating: None,
                comment: None,
                rated_by: None,
                rated_at: None,
            }),
            Event::Rated(payload::Rated { rating, .. })
            | Event::Returned(payload::Returned { rating, .. }) => {
                if let Some(round) = rounds.last_mut().filter(|round| round.rating.is_none()) {
                    round.rating = Some(rating.rating.label().to_owned());
                    round.comment =
                        Some(rating.comment.clone()).filter(|comment| !comment.is_empty());
                    round.rated_by = Some(if rating.channel == RatingChannel::CallBack {
                        RatingChannel::CallBack.label()
                    } else {
                        RatingChannel::Web.label()
                    });
                    round.rated_at = Some(shanghai(event.at));
                }
            }
            _ => {}
        }
    }
    rounds
}

/// The task force's opinion as the form prints it.
#[derive(Debug, Clone, Serialize)]
pub struct OpinionView {
    pub conclusion: String,
    pub opinion: String,
    pub at: String,
}

/// Everything the printable 不满意诉求审核反馈表 shows.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationSheet {
    pub title: &'static str,
    pub rule: &'static str,
    pub tracking_number: String,
    pub enterprise_name: String,
    pub credit_code: Option<String>,
    pub contact: String,
    pub town: String,
    pub kind: &'static str,
    pub submitted_at: String,
    pub description: String,
    pub lead_unit: String,
    pub co_units: Vec<String>,
    pub rounds: Vec<Round>,
    pub explanation: Option<String>,
    /// The opinion of the current verification, once recorded; the printed form leaves its box blank before.
    pub opinion: Option<OpinionView>,
}

impl VerificationSheet {
    pub fn of(forms: &Forms, row: &RequestRow, events: &[EventRow]) -> VerificationSheet {
        let name = |id: &str| {
            forms
                .directory
                .unit(id)
                .map_or_else(|| id.to_owned(), |unit| unit.name.clone())
        };
        let start = current_verification_start(events).unwrap_or(i64::MAX);
        let opinion = events
            .iter()
            .rev()
            .take_while(|event| event.id > start)
            .find_map(|event| match &event.event {
                Event::VerificationOpinion(opinion) => Some(OpinionView {
                    conclusion: opinion.conclusion.label().to_owned(),
                    opinion: opinion.opinion.clone(),
                    at: shanghai(event.at),
                }),
                _ => None,
            });
        VerificationSheet {
            title: FORM_TITLE,
            rule: RULE,
            tracking_number: row.tracking_number.clone(),
            enterprise_name: row.enterprise_name.clone(),
            credit_code: row.credit_code.clone(),
            contact: format!("{} {}", row.contact_name, row.contact_phone),
            town: row.town.clone(),
            kind: row
                .kind
                .parse::<RequestKind>()
                .map_or("诉求", RequestKind::label),
            submitted_at: shanghai(row.created_at),
            description: row.description.clone(),
            lead_unit: row.lead_unit.as_deref().map(&name).unwrap_or_default(),
            co_units: row.co_units.iter().map(|id| name(id)).collect(),
            rounds: rounds(events),
            explanation: current_explanation(events),
            opinion,
        }
    }
}

/// Whether the order has (or had) a verification, so its form can be printed.
pub fn has_verification(events: &[EventRow]) -> bool {
    current_verification_start(events).is_some()
}

impl Forms {
    /// Only the lead unit acts on the verification, and only while the order waits for it (the order rules).
    pub fn check_verification_step(row: &RequestRow, unit_id: &str) -> Result<(), WorkflowError> {
        decide(&row.state(), &Actor::unit(unit_id), Step::UploadForm)?;
        Ok(())
    }

    /// The lead unit's explanation (承办单位说明), printed on the form; the newest one counts.
    pub async fn explain_for_verification(
        &self,
        row: &RequestRow,
        unit_id: &str,
        explanation: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let outcome = decide(&row.state(), &Actor::unit(unit_id), Step::Explain)?;
        let change = Change::new(
            Actor::unit(unit_id),
            outcome.records(Event::VerificationExplained(payload::Explanation {
                explanation: explanation.to_owned(),
            })),
        )
        .expecting(row.version);
        Ok(self.store.record(row.id, &change, now).await?.1)
    }

    /// Stores the signed and sealed form the lead unit uploaded (all uploads are kept; the newest counts) and
    /// tells the task force and the centre. Returns the stored form's id.
    pub async fn upload_verification_form(
        &self,
        row: &RequestRow,
        unit_id: &str,
        file: &UploadedFile,
        now: DateTime<Utc>,
    ) -> Result<i64, WorkflowError> {
        Self::check_verification_step(row, unit_id)?;
        let unit_name = self
            .directory
            .unit(unit_id)
            .map_or_else(|| unit_id.to_owned(), |unit| unit.name.clone());
        let mut context = self.mail_context(row, None, None)?;
        context.insert("greeting", "工作专班、推进中心：");
        context.insert(
            "paragraphs",
            &[
                format!(
                    "{unit_name}已上传受理编号 {} 的《{FORM_TITLE}》（{}，{}，SHA-256 {}）。",
                    row.tracking_number,
                    file.media_type.label(),
                    human_size(file.size() as u64),
                    &file.sha256[..16]
                ),
                "请工作专班审核后提出核查意见，由推进中心在工作台记录：情况属实的予以销号，否则退回承办单位重新办理。"
                    .to_owned(),
            ],
        );
        context.insert(
            "action_url",
            &format!(
                "{}/console/requests/{}",
                self.public_url, row.tracking_number
            ),
        );
        context.insert("action_label", "在推进中心工作台查看并记录核查意见");
        context.insert("rule", RULE);
        let subject = format!(
            "【不满意诉求审核】{}：{}已上传审核反馈表，请提出核查意见",
            row.tracking_number, unit_name
        );
        let mut seen = std::collections::HashSet::new();
        let mails = self
            .directory
            .task_force
            .emails
            .iter()
            .chain(&self.directory.centre.emails)
            .filter(|recipient| seen.insert(recipient.as_str()))
            .map(|recipient| self.mail(recipient, subject.clone(), "email/notice", &context))
            .collect::<Result<Vec<_>, _>>()?;
        let (_, form_id) = self
            .store
            .record_verification_form(
                row.id,
                &Change {
                    mails,
                    ..Change::new(
                        Actor::unit(unit_id),
                        Event::VerificationFormUploaded(payload::FormUpload {
                            file_name: file.file_name.clone(),
                            media_type: file.media_type.mime().to_owned(),
                            size: file.size() as u64,
                            sha256: file.sha256.clone(),
                        }),
                    )
                    .expecting(row.version)
                },
                &NewVerificationForm {
                    unit_id,
                    media_type: file.media_type.mime(),
                    file_name: &file.file_name,
                    sha256: &file.sha256,
                    content: &file.content,
                },
                now,
            )
            .await?;
        Ok(form_id)
    }

    /// The task force's verification opinion (核查意见), recorded by the centre on an order whose current
    /// verification has an uploaded form: 予以销号 closes it with the opinion as the reason; 退回重办 returns it
    /// to the lead unit with 3 working days and a new link.
    pub async fn record_verification_opinion(
        &self,
        row: &RequestRow,
        conclusion: Conclusion,
        opinion: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestRow, WorkflowError> {
        let outcome = decide(
            &row.state(),
            &crate::workflow::actor(actor)?,
            Step::Opinion {
                close: conclusion == Conclusion::Close,
            },
        )?;
        let opinion = opinion.trim();
        if opinion.is_empty() {
            return Err(WorkflowError::Invalid(
                "请填写工作专班的核查意见".to_owned(),
            ));
        }
        let events = self.store.events(row.id).await?;
        let uploads = self.store.verification_forms(row.id).await?;
        // Notice §二(四)3: the task force gives its opinion on the signed and sealed form the unit uploaded.
        let Some(form) = current_forms(&events, &uploads).first().copied() else {
            return Err(WorkflowError::NotAllowed(
                "承办单位尚未上传签字盖章的不满意诉求审核反馈表，暂不能提出核查意见".to_owned(),
            ));
        };
        let mut recorded = payload::Opinion {
            conclusion,
            conclusion_label: conclusion.label().to_owned(),
            opinion: opinion.to_owned(),
            form_id: form.id,
            form_sha256: form.sha256.clone(),
            reason: None,
            closed: false,
            deadline: None,
        };
        let mut context = self.mail_context(row, None, None)?;
        context.insert("rule", RULE);
        let change = match conclusion {
            Conclusion::Close => {
                recorded.reason =
                    Some(format!("专班核查意见（{}）：{opinion}", conclusion.label()));
                recorded.closed = true;
                let mut mails = Vec::new();
                if let Some(email) = &row.contact_email {
                    context.insert("greeting", &format!("{}：", row.enterprise_name));
                    context.insert(
                        "paragraphs",
                        &[
                            format!(
                                "您反映的诉求（受理编号 {}）经承办单位两次办理答复后，“企呼政应、接诉即办”工作专班进行了核查。",
                                row.tracking_number
                            ),
                            format!("核查意见：{opinion}"),
                            "该诉求已办结（销号）。如有疑问，可拨打 12345 政务服务便民热线。".to_owned(),
                        ],
                    );
                    mails.push(self.mail(
                        email,
                        format!("【企业诉求】{} 经工作专班核查已办结", row.tracking_number),
                        "email/notice",
                        &context,
                    )?);
                }
                Change {
                    status: Some(outcome.next),
                    mails,
                    ..Change::new(actor, outcome.records(Event::VerificationOpinion(recorded)))
                }
            }
            Conclusion::Rework => {
                let lead = self.lead_of(row)?;
                // Our rule (the notice is silent): a 退回重办 gets the rework limit of notice §二(五)1, 3 working days.
                let deadline = self.calendar.current().deadline(now, REWORK_WORKING_DAYS);
                let token = AccessToken::generate();
                recorded.deadline = Some(DeadlineNote::of(&deadline, REWORK_RULE));
                let mut context = self.mail_context(row, None, Some(deadline.due))?;
                context.insert("rule", RULE);
                context.insert("greeting", &format!("{}：", lead.name));
                context.insert(
                    "paragraphs",
                    &[
                        "工作专班审核了你单位上传的不满意诉求审核反馈表，核查结论：退回重新办理。"
                            .to_owned(),
                        format!("核查意见：{opinion}"),
                        format!(
                            "请于 {} 前重新办理并在办理页面反馈结果（3个工作日）。",
                            shanghai(deadline.due)
                        ),
                    ],
                );
                context.insert(
                    "action_url",
                    &self.unit_url(&row.tracking_number, token.as_str()),
                );
                context.insert("action_label", "进入办理页面（链接仅限本单位使用）");
                let subject = format!(
                    "【企业诉求工单·专班退回重办】{}：请于{}前重新办理",
                    row.tracking_number,
                    shanghai(deadline.due)
                );
                let mails = lead
                    .handlers
                    .iter()
                    .map(|recipient| {
                        self.mail(recipient, subject.clone(), "email/notice", &context)
                    })
                    .collect::<Result<Vec<OutgoingMail>, _>>()?;
                Change {
                    status: Some(outcome.next),
                    due_at: Some(deadline.due),
                    new_round: outcome.new_round,
                    mails,
                    links: vec![NewLink {
                        link: Link::unit(&lead.id, row.round + 1),
                        token_hash: token.hash().as_str().to_owned(),
                        expires: deadline.due + Duration::days(self.dispatch.link_days.max(1)),
                    }],
                    ..Change::new(actor, outcome.records(Event::VerificationOpinion(recorded)))
                }
            }
        };
        Ok(self
            .store
            .record(row.id, &change.expecting(row.version), now)
            .await?
            .1)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    use serde_json::json;

    fn event(id: i64, kind: &str, payload: serde_json::Value) -> EventRow {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, id as u32, 0, 0).unwrap();
        EventRow::from_parts(id, at, "unit:power", kind, &payload).unwrap()
    }

    fn rating(channel: &str) -> serde_json::Value {
        json!({ "rating": "unsatisfied", "rating_label": "不满意", "comment": "电压仍不稳", "channel": channel })
    }

    fn history() -> Vec<EventRow> {
        vec![
            event(1, "accepted", json!({})),
            event(
                2,
                "resolved",
                json!({ "solved": true, "method": "检修线路", "contact_name": "李工", "contact_phone": "0632-5512345" }),
            ),
            event(
                3,
                "returned",
                json!({ "rating": rating("web"), "due_at": "2026-03-05T09:00:00Z" }),
            ),
            event(
                4,
                "resolved",
                json!({ "solved": false, "method": "更换变压器" }),
            ),
            event(
                5,
                "rated",
                json!({ "rating": rating("call_back"), "verification": true }),
            ),
        ]
    }

    #[test]
    fn the_form_shows_each_round_with_its_rating() {
        let rounds = rounds(&history());
        assert_eq!(rounds.len(), 2);
        assert_eq!(rounds[0].method, "检修线路");
        assert_eq!(rounds[0].solved, "已解决");
        assert_eq!(rounds[0].contact, "李工 0632-5512345");
        assert_eq!(rounds[0].rated_by, Some("企业在线评价"));
        assert_eq!(rounds[1].solved, "未能解决");
        assert_eq!(rounds[1].rating.as_deref(), Some("不满意"));
        assert_eq!(rounds[1].rated_by, Some("电话回访"));
        assert_eq!(rounds[1].comment.as_deref(), Some("电压仍不稳"));
    }

    #[test]
    fn only_the_current_verification_counts() {
        let mut events = history();
        events.push(event(
            6,
            "verification_explained",
            json!({ "explanation": "旧说明" }),
        ));
        assert_eq!(current_explanation(&events).as_deref(), Some("旧说明"));
        // The task force sends it back; a new round ends in verification again.
        events.push(event(
            7,
            "verification_opinion",
            json!({ "conclusion": "rework" }),
        ));
        assert!(is_task_force_rework(&events[6]));
        events.push(event(8, "resolved", json!({ "solved": true })));
        events.push(event(
            9,
            "rated",
            json!({ "rating": rating("web"), "verification": true }),
        ));
        assert_eq!(current_verification_start(&events), Some(9));
        assert_eq!(current_explanation(&events), None);
        let uploaded = |id: i64, event_id: i64| VerificationFormRow {
            id,
            request_id: 1,
            event_id,
            unit_id: "power".to_owned(),
            media_type: "application/pdf".to_owned(),
            file_name: "a.pdf".to_owned(),
            size: 1,
            sha256: String::new(),
            uploaded_at: Utc::now(),
        };
        let uploads = [uploaded(2, 10), uploaded(1, 6)];
        let current: Vec<i64> = current_forms(&events, &uploads)
            .iter()
            .map(|form| form.id)
            .collect();
        assert_eq!(current, [2]);
        assert_eq!(rounds(&events).len(), 3);
    }
}
