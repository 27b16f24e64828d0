//! The leaders' dashboard (领导看板): the current month at a glance — volume, the three rates, orders overdue now,
//! the units under a red or yellow card now, and the trend of the last months. Computed like the monthly
//! bulletin, as of `now`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::charts;
use super::ranking::UnitFigures;
use super::{Figures, Period, ReportError, ReportKind};
use crate::sla::cards::{CardState, unit_card_state};
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

/// The dashboard at `now`.
pub async fn build(forms: &Forms, now: DateTime<Utc>) -> Result<Dashboard, ReportError> {
    let period = Period::containing_instant(ReportKind::Monthly, now);
    let figures = super::figures(forms, period, now).await?;
    let events = forms.store.supervision_events().await?;
    let mut red = Vec::new();
    let mut yellow = Vec::new();
    for unit in &figures.units {
        let state = unit_card_state(&events, &unit.unit_id, now);
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
    most_overdue.sort_by(|a, b| b.tally.overdue.cmp(&a.tally.overdue));
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
