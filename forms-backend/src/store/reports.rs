//! Queries of the reports (统计报表, [`crate::reports`]): the events the figures are folded from, volumes per
//! period, orders closed in a month (for the questionnaire), and writing a questionnaire event at most once.
//!
//! The figures read only what they need from each event: its kind, time, acting unit, and a few payload fields
//! pulled out by SQLite (`json_extract`), never whole payloads. Events are found through the index on
//! `(kind, at, request_id)` (migration `20261125000005_reports.sql`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::cards::SupervisionEvent;
use super::{
    Backend, Change, RequestRow, Store, StoreError, event_from_row, from_text, requests_from,
    to_text,
};
use crate::order::payload::QuestionnaireAnswer;
use crate::order::{Event, EventKind};
use crate::reports::figures::{FOLD_KINDS, FactEvent, FactLog};

/// Intake and dispatch counts of one span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Volume {
    /// 受理诉求: requests submitted (web, phone, collectors), instant answers included.
    pub intake: u32,
    /// 即时答复
    pub instant_answers: u32,
    /// 派单: orders dispatched (an order dispatched twice in the span counts once).
    pub dispatched: u32,
}

/// One line of [`Store::report_events`]: request id, event id, time, kind, acting unit, unit named, deadline,
/// yes/no, closure, waived card — separated by U+001F. `None` for a line that cannot be read (skipped).
fn fact(log: &mut FactLog, line: &str) -> Option<FactEvent> {
    let mut fields = line.split('\u{1f}');
    let mut next = || fields.next().filter(|field| !field.is_empty());
    let request_id = next()?.parse().ok()?;
    let id = next()?.parse().ok()?;
    let at = instant(next()?)?;
    let kind = next()?
        .parse::<EventKind>()
        .ok()
        .filter(|kind| FOLD_KINDS.contains(kind))?;
    let actor_unit = next().map(|unit| log.unit(unit));
    let unit = next().map(|unit| log.unit(unit));
    let due_at = next().and_then(instant);
    let yes = next().map(|yes| yes == "1");
    let closure = next() == Some("1");
    let waived_card = next().and_then(|id| id.parse().ok());
    Some(FactEvent {
        request_id,
        id,
        at,
        kind,
        actor_unit,
        unit,
        due_at,
        yes,
        closure,
        waived_card,
    })
}

/// An instant as the store writes it (`2026-10-08T01:30:00.000000Z`) or as a payload holds it
/// (`2026-10-09T15:59:59Z`), read without the general RFC 3339 parser; anything else goes through it.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes.get(range)?.iter().try_fold(0u32, |value, byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    let simple = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[bytes.len() - 1] == b'Z';
    if simple {
        let micros = match &bytes[19..bytes.len() - 1] {
            [] => Some(0),
            [b'.', digits @ ..] if !digits.is_empty() && digits.len() <= 9 => {
                let value = number(20..20 + digits.len())?;
                Some(
                    value * 10u32.pow(6u32.saturating_sub(digits.len() as u32))
                        / 10u32.pow((digits.len() as u32).saturating_sub(6)),
                )
            }
            _ => None,
        };
        if let Some(micros) = micros {
            let date = chrono::NaiveDate::from_ymd_opt(
                number(0..4)? as i32,
                number(5..7)?,
                number(8..10)?,
            )?;
            let time =
                date.and_hms_micro_opt(number(11..13)?, number(14..16)?, number(17..19)?, micros)?;
            return Some(time.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// `'a', 'b', …` for an SQL `IN` list of constant kinds.
fn kind_list(kinds: &[EventKind]) -> String {
    kinds
        .iter()
        .map(|kind| format!("'{}'", kind.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Every event of [`FOLD_KINDS`] before `as_of` of each order that matters for the period starting at
    /// `start`: orders with such an event in `[start, as_of)`, orders open now (they may have been overdue at
    /// `as_of`), and orders whose result or hand-back came at or after `as_of` (they may have been open at
    /// `as_of`) — of the last kind only those submitted before `as_of`, found by id without reading the requests:
    /// every order submitted before `as_of` has an id at most the largest id submitted before it (a superset when
    /// ids do not follow submission time; the fold sorts the rest out). Sorted for the fold.
    ///
    /// SQLite joins each event's few fields into one line and the lines of 4,096 orders into one text, so a
    /// month of 200,000 events crosses into Rust as a few dozen rows rather than 200,000.
    pub async fn report_events(
        &self,
        start: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<FactLog, StoreError> {
        let kinds = kind_list(&FOLD_KINDS);
        let open = crate::order::Status::open_sql_list();
        // One line per event, fields joined by U+001F and lines by U+001E, bucketed so that no single text
        // grows without bound; PostgreSQL reads the same fields from the JSON payload with its own operators.
        // For up to a quarter, the relevant orders are a few percent of the table: one index look-up each
        // (`OFFSET 0` keeps PostgreSQL's planner from turning it back into a hash join over every event, which it
        // picks from an estimate four times too high; monthly bulletin over 1,000,000 orders 3.5 s → 1.4 s). For
        // longer periods they are most of the table, and the hash join is faster (annual 12 s against 22 s).
        let events_of_relevant = if as_of - start <= chrono::Duration::days(100) {
            format!(
                "FROM relevant CROSS JOIN LATERAL (
                          SELECT * FROM events e
                           WHERE e.request_id = relevant.request_id AND e.kind IN ({kinds}) AND e.at < $2
                          OFFSET 0
                      ) AS e"
            )
        } else {
            format!(
                "FROM relevant JOIN events e ON e.request_id = relevant.request_id
                       AND e.kind IN ({kinds}) AND e.at < $2"
            )
        };
        let facts = match self.backend {
            Backend::Sqlite => format!(
                r#"             facts(bucket, line) AS (
                 SELECT e.request_id >> 12,
                        e.request_id || char(31) || e.id || char(31) || e.at || char(31) || e.kind || char(31)
                        || coalesce(CASE WHEN e.actor LIKE 'unit:%' THEN substr(e.actor, 6) END, '') || char(31)
                        || coalesce(CASE WHEN e.kind = 'dispatched' THEN json_extract(e.payload, '$.lead_unit')
                                         WHEN e.kind IN ('yellow_card', 'red_card', 'interview', 'false_feedback',
                                                         'questionnaire')
                                              THEN json_extract(e.payload, '$.unit') END, '') || char(31)
                        || coalesce(CASE WHEN e.kind IN ('dispatched', 'returned', 'plan_approved', 'plan_rejected', 'government_coordinated',
                                                         'verification_opinion')
                                         THEN json_extract(e.payload, '$.due_at') END, '') || char(31)
                        || coalesce(CASE WHEN e.kind = 'resolved' THEN json_extract(e.payload, '$.solved')
                                         WHEN e.kind IN ('rated', 'returned', 'questionnaire')
                                              THEN json_extract(e.payload, '$.rating.rating') != 'unsatisfied'
                                    END, '') || char(31)
                        || coalesce(CASE WHEN e.kind IN ('rated', 'verification_opinion')
                                         THEN coalesce(json_extract(e.payload, '$.closed'), 0) = 1 END, '')
                        || char(31)
                        || coalesce(CASE WHEN e.kind = 'card_waived'
                                         THEN json_extract(e.payload, '$.card_event_id') END, '')
                 FROM relevant JOIN events e ON e.request_id = relevant.request_id
                 WHERE e.kind IN ({kinds}) AND e.at < $2
             )
"#
            ),
            Backend::Postgres => format!(
                r#"             facts(bucket, line) AS (
                 SELECT e.request_id >> 12,
                        e.request_id || chr(31) || e.id || chr(31) || e.at || chr(31) || e.kind || chr(31)
                        || coalesce(CASE WHEN e.actor LIKE 'unit:%' THEN substr(e.actor, 6) END, '') || chr(31)
                        || coalesce(CASE WHEN e.kind = 'dispatched' THEN p ->> 'lead_unit'
                                         WHEN e.kind IN ('yellow_card', 'red_card', 'interview', 'false_feedback',
                                                         'questionnaire')
                                              THEN p ->> 'unit' END, '') || chr(31)
                        || coalesce(CASE WHEN e.kind IN ('dispatched', 'returned', 'plan_approved', 'plan_rejected', 'government_coordinated',
                                                         'verification_opinion')
                                         THEN p ->> 'due_at' END, '') || chr(31)
                        || coalesce(CASE WHEN e.kind = 'resolved'
                                              THEN CASE p -> 'solved' WHEN 'true'::jsonb THEN '1'
                                                                      WHEN 'false'::jsonb THEN '0' END
                                         WHEN e.kind IN ('rated', 'returned', 'questionnaire')
                                              THEN CASE WHEN p #>> '{{rating,rating}}' IS NULL THEN NULL
                                                        WHEN p #>> '{{rating,rating}}' <> 'unsatisfied' THEN '1'
                                                        ELSE '0' END
                                    END, '') || chr(31)
                        || coalesce(CASE WHEN e.kind IN ('rated', 'verification_opinion')
                                         THEN CASE WHEN p -> 'closed' = 'true'::jsonb THEN '1' ELSE '0' END END, '')
                        || chr(31)
                        || coalesce(CASE WHEN e.kind = 'card_waived' THEN p ->> 'card_event_id' END, '')
                 {events_of_relevant}
                      CROSS JOIN LATERAL (SELECT e.payload::jsonb AS p) AS payload
             )
"#
            ),
        };
        let aggregate = self.backend.pick(
            "SELECT group_concat(line, char(30)) AS lines FROM facts GROUP BY bucket",
            "SELECT string_agg(line, chr(30)) AS lines FROM facts GROUP BY bucket",
        );
        let sql = format!(
            "WITH relevant(request_id) AS (
                 SELECT request_id FROM events WHERE kind IN ({kinds}) AND at >= $1 AND at < $2
                 UNION
                 SELECT id FROM requests
                  WHERE status IN ({open}) AND created_at < $2
                 UNION
                 SELECT request_id FROM events
                  WHERE kind IN ('resolved', 'forwarded') AND at >= $2
                    AND request_id <= (SELECT max(request_id) FROM events
                                        WHERE kind IN ('submitted', 'answered') AND at < $2)
             ),
{facts}
             {aggregate}"
        );
        let rows = sqlx::query(&sql)
            .bind(to_text(start))
            .bind(to_text(as_of))
            .fetch_all(&self.pool)
            .await?;
        let mut log = FactLog::default();
        for row in &rows {
            let lines: &str = row.try_get("lines")?;
            for line in lines.split('\u{1e}') {
                if let Some(event) = fact(&mut log, line) {
                    log.events.push(event);
                }
            }
        }
        log.sort();
        Ok(log)
    }

    /// Intake, instant answers and dispatched orders in `[start, end)`.
    pub async fn volume(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Volume, StoreError> {
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM events WHERE kind IN ('submitted', 'answered') AND at >= $1 AND at < $2)
                    AS intake,
                (SELECT COUNT(*) FROM events WHERE kind = 'answered' AND at >= $1 AND at < $2) AS answered,
                (SELECT COUNT(DISTINCT request_id) FROM events WHERE kind = 'dispatched' AND at >= $1 AND at < $2)
                    AS dispatched",
        )
        .bind(to_text(start))
        .bind(to_text(end))
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u32, sqlx::Error> {
            Ok(u32::try_from(row.try_get::<i64, _>(name)?).unwrap_or(u32::MAX))
        };
        Ok(Volume {
            intake: count("intake")?,
            instant_answers: count("answered")?,
            dispatched: count("dispatched")?,
        })
    }

    /// The first dispatch (派单) of every order first dispatched in `[start, end)`, with the moment the order began
    /// waiting for it: its submission, or its escalation when a consultation answered at once went to a person.
    /// `(waiting since, dispatched at)`, for 转办及时率.
    pub async fn first_dispatches(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        let rows: Vec<(Option<String>, String)> = sqlx::query_as(
            // `w.id < d.id` (the log's order) keeps both look-ups on the order's own events: with `w.at <= d.at`
            // SQLite read every submission before the dispatch instead (0.7 s more per monthly bulletin).
            "SELECT (SELECT max(w.at) FROM events w
                      WHERE w.request_id = d.request_id AND w.id < d.id AND w.kind IN ('submitted', 'escalated')),
                    d.at
               FROM events d
              WHERE d.kind = 'dispatched' AND d.at >= $1 AND d.at < $2
                AND NOT EXISTS (SELECT 1 FROM events p
                                 WHERE p.request_id = d.request_id AND p.kind = 'dispatched' AND p.id < d.id)",
        )
        .bind(to_text(start))
        .bind(to_text(end))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(waiting, dispatched)| {
                Some((super::from_text(&waiting?), super::from_text(&dispatched)))
            })
            .collect())
    }

    /// Every dispatch (派单 or 改派) in `[start, end)` with what followed it first: the lead unit's acceptance, its
    /// return (退单), or another dispatch — for 签收及时率 and 退单率 ([`crate::sla::acceptance`]).
    pub async fn dispatch_responses(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<crate::sla::DispatchResponse>, StoreError> {
        let accept_due = self.backend.pick(
            "json_extract(d.payload, '$.accept_due_at')",
            "d.payload::jsonb ->> 'accept_due_at'",
        );
        let separator = self.backend.pick("char(31)", "chr(31)");
        let sql = format!(
            "SELECT d.at, {accept_due} AS accept_due,
                    (SELECT r.kind || {separator} || r.at FROM events r
                      WHERE r.request_id = d.request_id AND r.id > d.id
                        AND r.kind IN ('accepted', 'dispatch_returned', 'dispatched')
                      ORDER BY r.id LIMIT 1) AS response
               FROM events d
              WHERE d.kind = 'dispatched' AND d.at >= $1 AND d.at < $2"
        );
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(&sql)
            .bind(to_text(start))
            .bind(to_text(end))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(at, accept_due, response)| crate::sla::DispatchResponse {
                dispatched_at: super::from_text(&at),
                accept_due: accept_due.as_deref().map(super::from_text),
                response: response.and_then(|text| {
                    let (kind, at) = text.split_once('\u{1f}')?;
                    Some((kind.parse().ok()?, super::from_text(at)))
                }),
            })
            .collect())
    }

    /// Orders closed (销号) in `[start, end)`: by a satisfied rating or the task force's opinion (the closing event
    /// says `closed: true`).
    pub async fn orders_closed_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let closes = self.backend.pick(
            "json_extract(payload, '$.closed') = 1",
            "payload::jsonb -> 'closed' = 'true'::jsonb",
        );
        let rows = sqlx::query(&format!(
            "SELECT * FROM requests WHERE id IN (
                 SELECT request_id FROM events
                  WHERE kind IN ('rated', 'verification_opinion', 'rating_lapsed') AND at >= $1 AND at < $2
                    AND {closes})
             ORDER BY id",
        ))
        .bind(to_text(start))
        .bind(to_text(end))
        .fetch_all(&self.pool)
        .await?;
        requests_from(&rows)
    }

    /// How many of `request_ids`' orders have an event of `kind` (questionnaires sent or answered).
    pub async fn count_with_event(
        &self,
        request_ids: &[i64],
        kind: EventKind,
    ) -> Result<u32, StoreError> {
        let ids = serde_json::to_string(request_ids).unwrap_or_else(|_| "[]".to_owned());
        let count: i64 = sqlx::query_scalar(self.backend.pick(
            "SELECT COUNT(DISTINCT request_id) FROM events
              WHERE kind = $2 AND request_id IN (SELECT value FROM json_each($1))",
            "SELECT COUNT(DISTINCT request_id) FROM events
              WHERE kind = $2 AND request_id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)",
        ))
        .bind(ids)
        .bind(kind.code())
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Records `change` unless the order has an event of its kind already and the kind may occur only once
    /// (questionnaires: a unique index allows one per order). `None` when it was there already: nothing is
    /// written, no mail is queued.
    pub async fn record_once(
        &self,
        request_id: i64,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = super::write::WriteTx::begin(self).await?;
        match Self::write_change(tx.connection(), request_id, change, now).await {
            Ok((event_id, _)) => {
                tx.commit().await?;
                Ok(Some(event_id))
            }
            Err(StoreError::Duplicate) => {
                tx.rollback().await;
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The card events (黄牌, 红牌, 约谈 and their waivers) of each unit since its last on-time report at or
    /// before `now`: all that the unit's card state at `now` depends on (`sla::cards` rule 3: an on-time report —
    /// a result reported at or before the order's deadline, on an order the unit leads — resets its sequence).
    /// Units whose latest card is followed by an on-time report are green and bring no events.
    ///
    /// The leaders' dashboard reads this instead of every result report ever made.
    pub async fn card_events_since_reset(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<SupervisionEvent>, StoreError> {
        let now_text = to_text(now);
        let unit_of = self.backend.pick(
            "json_extract(events.payload, '$.unit')",
            "events.payload::jsonb ->> 'unit'",
        );
        let latest: Vec<(Option<String>, String)> = sqlx::query_as(&format!(
            "SELECT {unit_of} AS unit, max(at) AS at FROM events
              WHERE kind IN ('yellow_card', 'red_card', 'interview') AND at <= $1 GROUP BY 1",
        ))
        .bind(&now_text)
        .fetch_all(&self.pool)
        .await?;
        // The unit's on-time reports: the first after its latest card, or else the last before it. A report is the
        // unit's that made it (its actor), on time by the deadline recorded with it (the order's for older reports).
        let by_deadline = self.backend.pick(
            "unixepoch(e.at, 'subsec') <= unixepoch(coalesce(json_extract(e.payload, '$.due_at'), q.due_at), 'subsec')",
            "e.at::timestamptz <= coalesce((e.payload::jsonb ->> 'due_at')::timestamptz, q.due_at::timestamptz)",
        );
        let on_time = |window: &str, order: &str| {
            format!(
                "SELECT e.at FROM events e JOIN requests q ON q.id = e.request_id
                  WHERE e.kind = 'resolved' AND {window} AND e.actor = 'unit:' || $2 AND {by_deadline}
                  ORDER BY e.at {order} LIMIT 1"
            )
        };
        let after = on_time("e.at > $1 AND e.at <= $3", "ASC");
        let before = on_time("e.at <= $1", "DESC");
        let mut events = Vec::new();
        for (unit, latest_card) in latest {
            let Some(unit) = unit else { continue };
            let reset_after: Option<String> = sqlx::query_scalar(&after)
                .bind(&latest_card)
                .bind(&unit)
                .bind(&now_text)
                .fetch_optional(&self.pool)
                .await?;
            if reset_after.is_some() {
                continue;
            }
            let reset: Option<String> = sqlx::query_scalar(&before)
                .bind(&latest_card)
                .bind(&unit)
                .fetch_optional(&self.pool)
                .await?;
            let rows = sqlx::query(&format!(
                "SELECT events.id, events.request_id, events.at, events.actor, events.kind, events.payload,
                        requests.tracking_number, requests.lead_unit, requests.due_at
                 FROM events JOIN requests ON requests.id = events.request_id
                 WHERE events.kind IN ('yellow_card', 'red_card', 'interview', 'card_waived')
                   AND events.at > $1 AND events.at <= $2 AND {unit_of} = $3
                 ORDER BY events.at, events.id",
            ))
            .bind(reset.unwrap_or_default())
            .bind(&now_text)
            .bind(&unit)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let due_at: Option<String> = row.try_get("due_at")?;
                events.push(SupervisionEvent {
                    request_id: row.try_get("request_id")?,
                    tracking_number: row.try_get("tracking_number")?,
                    lead_unit: row.try_get("lead_unit")?,
                    due_at: due_at.as_deref().map(from_text),
                    event: event_from_row(row)?,
                });
            }
        }
        Ok(events)
    }

    /// The questionnaire answer of an order (问卷答复, at most one per order), if it has one, with its time.
    pub async fn questionnaire_answer(
        &self,
        request_id: i64,
    ) -> Result<Option<(DateTime<Utc>, QuestionnaireAnswer)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, at, actor, kind, payload FROM events WHERE request_id = $1 AND kind = $2",
        )
        .bind(request_id)
        .bind(EventKind::Questionnaire.code())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let answered = event_from_row(&row)?;
        Ok(match answered.event {
            Event::Questionnaire(answer) => Some((answered.at, answer)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_in_the_forms_the_store_writes() {
        for text in [
            "2026-10-08T01:30:00.000000Z",
            "2026-10-09T15:59:59Z",
            "2026-10-09T15:59:59.5Z",
            "2026-10-09T15:59:59.123456789Z",
            "2026-10-09T23:59:59+08:00",
        ] {
            let expected = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            let expected = expected
                - chrono::Duration::nanoseconds(i64::from(
                    expected.timestamp_subsec_nanos() % 1000,
                ));
            assert_eq!(instant(text), Some(expected), "{text}");
        }
        assert_eq!(instant("2026-13-01T00:00:00Z"), None);
        assert_eq!(instant("gestern"), None);
    }

    #[test]
    fn a_line_becomes_an_event_with_its_units_kept_once() {
        let mut log = FactLog::default();
        let line = "7\u{1f}42\u{1f}2026-10-08T01:30:00.000000Z\u{1f}dispatched\u{1f}\u{1f}tax\u{1f}2026-10-15T15:59:59Z\u{1f}\u{1f}\u{1f}";
        let event = fact(&mut log, line).unwrap();
        assert_eq!(
            (event.request_id, event.id, event.kind),
            (7, 42, EventKind::Dispatched)
        );
        assert_eq!(event.unit, Some(0));
        assert_eq!(event.actor_unit, None);
        assert_eq!(event.due_at, instant("2026-10-15T15:59:59Z"));
        let line = "7\u{1f}43\u{1f}2026-10-09T01:30:00.000000Z\u{1f}resolved\u{1f}tax\u{1f}\u{1f}\u{1f}1\u{1f}\u{1f}";
        let event = fact(&mut log, line).unwrap();
        assert_eq!((event.actor_unit, event.yes), (Some(0), Some(true)));
        assert_eq!(log.units, ["tax"]);
        assert!(
            fact(
                &mut log,
                "7\u{1f}44\u{1f}2026-10-09T01:30:00Z\u{1f}submitted"
            )
            .is_none()
        );
    }
}
