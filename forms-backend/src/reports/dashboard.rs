//! The leaders' dashboard (领导看板): the current month at a glance — volume, the three rates, orders overdue now,
//! the units under a red or yellow card now, and the trend of the last months. Computed like the monthly
//! bulletin, as of `now`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::charts;
use super::ranking::UnitFigures;
use super::{Figures, Period, ReportError, ReportKind};
use crate::order::Event;
use crate::sla::cards::{CardState, unit_card_state};
use crate::store::cards::SupervisionEvent;
use crate::workflow::Forms;

/// A unit under a card now.
#[derive(Debug, Clone, Serialize)]
pub struct CardedUnit {
    pub unit_id: String,
    pub name: String,
    pub group_label: &'static str,
    pub state: CardState,
    pub state_label: &'static str,
    /// Its orders overdue now.
    pub overdue: u32,
}

/// What the dashboard shows.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub period: Period,
    pub period_label: String,
    pub as_of_label: String,
    pub figures: Figures,
    pub red: Vec<CardedUnit>,
    pub yellow: Vec<CardedUnit>,
    /// The units with the most orders overdue now (at most five).
    pub most_overdue: Vec<UnitFigures>,
    pub trend_chart: String,
}

/// The supervision events of each unit: the cards naming it and the result reports of the orders it leads,
/// plus every waiver (few). A unit's card state depends on nothing else, so each unit is folded over its own
/// events rather than over all of them.
fn supervision_events_by_unit(
    events: Vec<SupervisionEvent>,
) -> HashMap<String, Vec<SupervisionEvent>> {
    let mut by_unit: HashMap<String, Vec<SupervisionEvent>> = HashMap::new();
    let mut waivers = Vec::new();
    for event in events {
        let unit = match &event.event.event {
            Event::CardWaived(_) => {
                waivers.push(event);
                continue;
            }
            Event::Resolved(_) => event.report().map(|(unit, _)| unit.to_owned()),
            other => other.unit().map(str::to_owned),
        };
        if let Some(unit) = unit {
            by_unit.entry(unit).or_default().push(event);
        }
    }
    for events in by_unit.values_mut() {
        events.extend(waivers.iter().cloned());
    }
    by_unit
}

/// The dashboard at `now`.
pub async fn build(forms: &Forms, now: DateTime<Utc>) -> Result<Dashboard, ReportError> {
    let period = Period::containing_instant(ReportKind::Monthly, now);
    let figures = super::figures(forms, period, now).await?;
    let by_unit = supervision_events_by_unit(forms.store.card_events_since_reset(now).await?);
    let mut red = Vec::new();
    let mut yellow = Vec::new();
    for unit in &figures.units {
        let events = by_unit.get(&unit.unit_id).map_or(&[][..], Vec::as_slice);
        let state = unit_card_state(events, &unit.unit_id, now);
        let carded = CardedUnit {
            unit_id: unit.unit_id.clone(),
            name: unit.name.clone(),
            group_label: unit.group_label,
            state,
            state_label: state.label(),
            overdue: unit.tally.overdue,
        };
        match state {
            CardState::Red => red.push(carded),
            CardState::Yellow => yellow.push(carded),
            CardState::Green => {}
        }
    }
    let mut most_overdue: Vec<UnitFigures> = figures
        .units
        .iter()
        .filter(|unit| unit.tally.overdue > 0)
        .cloned()
        .collect();
    most_overdue.sort_by_key(|unit| std::cmp::Reverse(unit.tally.overdue));
    most_overdue.truncate(5);
    let trend = figures.trend_points();
    let trend_chart = charts::trend_chart(&format!("近{}个月诉求量走势", trend.len()), &trend)?;
    Ok(Dashboard {
        period,
        period_label: period.label(),
        as_of_label: super::as_of_label(figures.as_of),
        figures,
        red,
        yellow,
        most_overdue,
        trend_chart,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::store::EventRow;

    fn event(
        id: i64,
        kind: &str,
        lead: &str,
        day: u32,
        payload: serde_json::Value,
    ) -> SupervisionEvent {
        SupervisionEvent {
            request_id: id,
            tracking_number: format!("QH-{id}"),
            lead_unit: Some(lead.to_owned()),
            due_at: Some(Utc.with_ymd_and_hms(2026, 3, 5, 15, 59, 59).unwrap()),
            event: EventRow::from_parts(
                id,
                Utc.with_ymd_and_hms(2026, 3, day, 2, 0, 0).unwrap(),
                "system:supervision",
                kind,
                &payload,
            )
            .unwrap(),
        }
    }

    #[test]
    fn each_unit_folded_over_its_own_events_has_the_state_it_has_over_all() {
        let events = vec![
            event(1, "yellow_card", "tax", 6, json!({ "unit": "tax" })),
            event(2, "yellow_card", "land", 6, json!({ "unit": "land" })),
            event(3, "resolved", "land", 4, json!({})),
            event(4, "yellow_card", "tax", 7, json!({ "unit": "tax" })),
            event(5, "red_card", "tax", 7, json!({ "unit": "tax" })),
            event(
                6,
                "card_waived",
                "land",
                8,
                json!({ "card_event_id": 2, "card": "yellow_card", "unit": "land" }),
            ),
            event(7, "yellow_card", "power", 9, json!({ "unit": "power" })),
        ];
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap();
        let by_unit = supervision_events_by_unit(events.clone());
        for unit in ["tax", "land", "power", "water"] {
            let own = by_unit.get(unit).map_or(&[][..], Vec::as_slice);
            assert_eq!(
                unit_card_state(own, unit, now),
                unit_card_state(&events, unit, now),
                "{unit}"
            );
        }
        assert_eq!(unit_card_state(&by_unit["tax"], "tax", now), CardState::Red);
        assert_eq!(
            unit_card_state(&by_unit["land"], "land", now),
            CardState::Green
        );
    }
}
