//! What each cell of the four tables says, and which orders a unit's table keeps.
//!
//! Selection by period (see [`super::Table::source`]): 附件2 lists the requests received in the period, 附件3 every
//! dispatch (派单 or 改派) made in it, 附件4 every result a unit reported (申请销号) in it, 附件5 every rating
//! (满意度评价) recorded in it. A unit's table keeps the orders that concern the unit (see [`UnitFilter`]).

use std::collections::HashMap;

use super::Table;
use crate::dispatch::{Directory, Unit, UnitKind};
use crate::order::Event;
use crate::order::payload::Resolution;
use crate::store::ledger::LedgerEntry;

/// Keeps the entries that concern one unit: the unit leads or co-handles the order (now, or in the dispatch the
/// entry records), reported its result, or — for a town or the zone — the enterprise is in its area (属地,
/// matched by the request's 属地镇街 as the directory matches it). Without a unit everything is kept.
pub(crate) struct UnitFilter<'a> {
    unit: Option<&'a Unit>,
    directory: &'a Directory,
    /// 属地镇街 text → the unit it names, computed once per distinct text.
    towns: HashMap<String, Option<String>>,
}

impl<'a> UnitFilter<'a> {
    pub(crate) fn new(directory: &'a Directory, unit: Option<&'a Unit>) -> UnitFilter<'a> {
        UnitFilter {
            unit,
            directory,
            towns: HashMap::new(),
        }
    }

    pub(crate) fn admits(&mut self, entry: &LedgerEntry) -> bool {
        let Some(unit) = self.unit else {
            return true;
        };
        let id = unit.id.as_str();
        let acted = |actor: &str| actor.strip_prefix("unit:") == Some(id);
        if entry.lead_unit.as_deref() == Some(id)
            || entry.co_units.iter().any(|co| co == id)
            || dispatched_units(entry).any(|named| named == id)
            || acted(&entry.actor)
            || entry
                .resolution
                .as_ref()
                .is_some_and(|(actor, _)| acted(actor))
        {
            return true;
        }
        if unit.kind == UnitKind::Department {
            return false;
        }
        let directory = self.directory;
        let town = self
            .towns
            .entry(entry.town.clone())
            .or_insert_with(|| directory.town_unit(&entry.town).map(|town| town.id.clone()));
        town.as_deref() == Some(id)
    }
}

/// The units the entry's dispatch event names (lead first); none for another event.
fn dispatched_units(entry: &LedgerEntry) -> impl Iterator<Item = &str> {
    match &entry.event {
        Some(Event::Dispatched(dispatch)) => Some(dispatch.units()),
        _ => None,
    }
    .into_iter()
    .flatten()
}

/// The result report an entry of the feedback form records.
fn resolution(entry: &LedgerEntry) -> Option<&Resolution> {
    match &entry.event {
        Some(Event::Resolved(resolution)) => Some(resolution),
        _ => None,
    }
}

/// A unit's full name, or its id when the directory no longer has it.
fn unit_name(directory: &Directory, id: &str) -> String {
    directory
        .unit(id)
        .map_or_else(|| id.to_owned(), |unit| unit.name.clone())
}

/// The unit that acted (`unit:<id>`), or the order's lead unit.
fn acting_unit(directory: &Directory, actor: &str, lead_unit: Option<&str>) -> String {
    actor
        .strip_prefix("unit:")
        .or(lead_unit)
        .map(|id| unit_name(directory, id))
        .unwrap_or_default()
}

/// 联系人及联系方式: name and phone, as one cell.
fn contact(name: &str, phone: &str) -> String {
    format!("{name} {phone}").trim().to_owned()
}

/// 备注 of the tables that have one: the tracking number, and what was noted at intake (代录, import).
fn remark(entry: &LedgerEntry, with_note: bool) -> String {
    let note = match &entry.event {
        Some(Event::Submitted(intake) | Event::Answered(intake)) => {
            intake.note.as_deref().unwrap_or_default().trim()
        }
        _ => "",
    };
    if with_note && !note.is_empty() {
        format!("受理编号 {}；{note}", entry.tracking_number)
    } else {
        format!("受理编号 {}", entry.tracking_number)
    }
}

/// 是否解决 of a result report (附件4), blank without one.
fn solved_label(resolved: Option<&Resolution>) -> &'static str {
    match resolved.map(|resolved| resolved.solved) {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

/// The cells of one entry after 序号, in the table's column order.
pub(crate) fn cells(table: Table, entry: &LedgerEntry, directory: &Directory) -> Vec<String> {
    let enterprise_contact = || contact(&entry.contact_name, &entry.contact_phone);
    match table {
        Table::Ledger => vec![
            entry.enterprise_name.clone(),
            entry.description.clone(),
            entry.suggested_department.clone().unwrap_or_default(),
            enterprise_contact(),
            remark(entry, true),
        ],
        Table::DispatchList => {
            // 建议解决部门 of the dispatch list: the units the centre sent the order to in this dispatch.
            let mut units = dispatched_units(entry);
            let lead = units
                .next()
                .or(entry.lead_unit.as_deref())
                .map(|id| unit_name(directory, id))
                .unwrap_or_default();
            let co: Vec<String> = units.map(|id| unit_name(directory, id)).collect();
            let units = if co.is_empty() {
                lead
            } else {
                format!("{lead}（协办：{}）", co.join("、"))
            };
            vec![
                entry.enterprise_name.clone(),
                entry.description.clone(),
                enterprise_contact(),
                units,
            ]
        }
        Table::FeedbackForm => {
            let resolved = resolution(entry);
            vec![
                entry.enterprise_name.clone(),
                entry.description.clone(),
                solved_label(resolved).to_owned(),
                resolved.map(|r| r.method.clone()).unwrap_or_default(),
                acting_unit(directory, &entry.actor, entry.lead_unit.as_deref()),
                resolved.map(Resolution::contact).unwrap_or_default(),
                remark(entry, false),
            ]
        }
        Table::SatisfactionForm => {
            let (resolver, resolved) = entry
                .resolution
                .as_ref()
                .map_or(("", None), |(actor, resolved)| {
                    (actor.as_str(), Some(resolved))
                });
            let solution = match resolved {
                None => String::new(),
                Some(resolved) if resolved.solved => format!("已解决：{}", resolved.method),
                Some(resolved) => format!("未解决：{}", resolved.method),
            };
            let rating = entry.event.as_ref().and_then(Event::rating);
            vec![
                entry.description.clone(),
                solution,
                acting_unit(directory, resolver, entry.lead_unit.as_deref()),
                rating
                    .map(|r| r.rating.label().to_owned())
                    .unwrap_or_default(),
                rating.map(|r| r.comment.clone()).unwrap_or_default(),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::order::EventKind;

    fn directory() -> Directory {
        toml::from_str(
            r#"
            [centre]
            name = "滕州市政府事务推进中心"
            emails = ["c@example.test"]
            [task_force]
            name = "工作专班"
            emails = ["t@example.test"]
            [[unit]]
            id = "hongxu"
            name = "滕州市洪绪镇人民政府"
            short_name = "洪绪镇"
            kind = "town"
            handlers = ["h@example.test"]
            [[unit]]
            id = "tax"
            name = "国家税务总局滕州市税务局"
            short_name = "市税务局"
            kind = "department"
            handlers = ["t@example.test"]
            [[unit]]
            id = "finance"
            name = "滕州市财政局"
            kind = "department"
            handlers = ["f@example.test"]
            "#,
        )
        .unwrap()
    }

    fn entry(kind: EventKind, payload: Value) -> LedgerEntry {
        LedgerEntry {
            tracking_number: "QH20261125-0001".to_owned(),
            enterprise_name: "滕州市恒达机械制造有限公司".to_owned(),
            contact_name: "王经理".to_owned(),
            contact_phone: "13812345678".to_owned(),
            town: "洪绪镇".to_owned(),
            description: "厂区门前道路积水，货车无法进出。".to_owned(),
            suggested_department: Some("住建局".to_owned()),
            status: "resolved".to_owned(),
            lead_unit: Some("tax".to_owned()),
            co_units: vec![],
            at: chrono::Utc::now(),
            actor: "unit:tax".to_owned(),
            event: Some(Event::from_stored(kind, &payload.to_string()).unwrap()),
            resolution: None,
        }
    }

    #[test]
    fn the_ledger_shows_contact_and_the_note_taken_at_intake() {
        let cells = cells(
            Table::Ledger,
            &entry(
                EventKind::Submitted,
                json!({ "kind": "help", "channel": "collector", "note": "问题台账导入，第5行" }),
            ),
            &directory(),
        );
        assert_eq!(cells[2], "住建局");
        assert_eq!(cells[3], "王经理 13812345678");
        assert_eq!(cells[4], "受理编号 QH20261125-0001；问题台账导入，第5行");
    }

    #[test]
    fn the_dispatch_list_names_the_units_of_that_dispatch() {
        let cells = cells(
            Table::DispatchList,
            &entry(
                EventKind::Dispatched,
                json!({ "lead_unit": "tax", "co_units": ["finance"], "due_at": "2026-11-30T15:59:59Z" }),
            ),
            &directory(),
        );
        assert_eq!(cells[3], "国家税务总局滕州市税务局（协办：滕州市财政局）");
    }

    #[test]
    fn feedback_and_satisfaction_read_the_reported_result() {
        let resolved = json!({
            "solved": true, "method": "已协调办理退税", "contact_name": "李科长", "contact_phone": "0632-5512345"
        });
        let feedback = cells(
            Table::FeedbackForm,
            &entry(EventKind::Resolved, resolved.clone()),
            &directory(),
        );
        assert_eq!(
            feedback[2..6],
            [
                "是",
                "已协调办理退税",
                "国家税务总局滕州市税务局",
                "李科长 0632-5512345"
            ]
        );
        let mut rated = entry(
            EventKind::Rated,
            json!({ "rating": { "rating": "fairly_satisfied", "comment": "办理及时" }, "closed": true, "reason": "满意" }),
        );
        rated.actor = "centre:zhang".to_owned();
        rated.resolution = Some((
            "unit:tax".to_owned(),
            serde_json::from_value(resolved).unwrap(),
        ));
        let satisfaction = cells(Table::SatisfactionForm, &rated, &directory());
        assert_eq!(
            satisfaction[1..],
            [
                "已解决：已协调办理退税",
                "国家税务总局滕州市税务局",
                "比较满意",
                "办理及时"
            ]
        );
    }

    #[test]
    fn a_units_table_keeps_what_it_handles_and_a_towns_what_is_in_its_area() {
        let directory = directory();
        let in_hongxu = entry(EventKind::Accepted, json!({}));
        let mut elsewhere = entry(
            EventKind::Dispatched,
            json!({ "lead_unit": "finance", "due_at": "2026-11-30T15:59:59Z" }),
        );
        elsewhere.town = "龙泉街道".to_owned();
        elsewhere.lead_unit = Some("finance".to_owned());
        elsewhere.actor = "centre:zhang".to_owned();

        let mut tax = UnitFilter::new(&directory, directory.unit("tax"));
        let mut finance = UnitFilter::new(&directory, directory.unit("finance"));
        let mut hongxu = UnitFilter::new(&directory, directory.unit("hongxu"));
        let mut everyone = UnitFilter::new(&directory, None);

        assert!(tax.admits(&in_hongxu));
        assert!(!tax.admits(&elsewhere));
        assert!(finance.admits(&elsewhere));
        assert!(hongxu.admits(&in_hongxu));
        assert!(!hongxu.admits(&elsewhere));
        assert!(everyone.admits(&elsewhere));
    }
}
