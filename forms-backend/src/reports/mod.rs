//! Reports (统计报表), notice §二(五)2 综合评价: 一月一通报 (monthly bulletin), 一季度一测评 (quarterly evaluation),
//! 半年一排名 (half-year ranking), 年终总评 (annual assessment), the leaders' dashboard (领导看板) and the monthly
//! questionnaire (评价问卷, 附件5) the centre sends to the enterprises whose orders were closed.
//!
//! Everything is computed from the event log: [`figures`] folds the events of a period into one tally per unit,
//! [`ranking`] scores and ranks the units of each kind, [`bulletin`] makes the report (HTML with SVG charts from
//! [`charts`]; XLSX from [`workbook`]). `docs/reports.md` writes down every formula.
//!
//! The official tables of the notice (台账, 附件2–5: export and the weekly ledger import) are in [`ledger`].

pub mod bulletin;
pub mod charts;
pub mod dashboard;
pub mod figures;
pub mod ledger;
pub mod period;
pub mod questionnaire;
pub mod ranking;
pub mod workbook;

use chrono::{DateTime, Days, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

pub use period::{Period, PeriodError, ReportKind};

use crate::store::StoreError;
use crate::store::reports::Volume;
use crate::workflow::Forms;
use figures::{Ratio, Tally, Window, WorkingDays};
use ranking::{UnitFigures, UnitGroup};

/// A report could not be made; the message is for the user (store details go to the log).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error("{0}尚未开始，还没有可统计的数据")]
    NotStarted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    #[error("报表模板有误：{0}")]
    Template(String),
    #[error("生成 Excel 文件失败：{0}")]
    Workbook(String),
    #[error("您已填写过本次问卷，感谢您的参与")]
    AlreadyAnswered,
}

/// The volume of one month of the trend line.
#[derive(Debug, Clone, Serialize)]
pub struct MonthVolume {
    pub period: Period,
    pub label: String,
    pub intake: u32,
    pub instant_answers: u32,
    pub dispatched: u32,
}

/// Months on the trend line.
pub const TREND_MONTHS: u32 = 12;

/// All figures of one period.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub period: Period,
    /// The end of the period, or the moment of the report while the period runs.
    pub as_of: DateTime<Utc>,
    /// The period is over: the figures are final.
    pub complete: bool,
    /// 受理诉求, 即时答复, 派单 in the period.
    pub intake: u32,
    pub instant_answers: u32,
    pub dispatched: u32,
    /// 转办及时率: of the orders first dispatched in the period, those dispatched within the centre's limit
    /// (第一时间转办, [`crate::sla::dispatch_due`]).
    pub dispatch_on_time: Ratio,
    /// 签收及时率: of the dispatches in the period that count ([`crate::sla::acceptance`]), those the lead unit
    /// accepted or returned within its limit.
    pub accept_on_time: Ratio,
    /// 退单率: of the dispatches in the period, those the lead unit returned to the centre (退单).
    pub returns: Ratio,
    /// 全市合计: every unit's counts added up (the centre's own unit included), rates of the sums.
    pub city: UnitFigures,
    /// Every unit, by group and rank.
    pub units: Vec<UnitFigures>,
    /// The months up to the period's last, oldest first.
    pub trend: Vec<MonthVolume>,
}

impl Figures {
    /// The units of one group, in rank order.
    pub fn group(&self, group: UnitGroup) -> Vec<&UnitFigures> {
        self.units
            .iter()
            .filter(|unit| unit.group == group)
            .collect()
    }

    /// The trend line as the charts draw it.
    pub fn trend_points(&self) -> Vec<charts::TrendPoint> {
        self.trend
            .iter()
            .map(|month| charts::TrendPoint {
                label: month.label.clone(),
                intake: month.intake,
                dispatched: month.dispatched,
            })
            .collect()
    }
}

/// The figures of `period`, as of `now` while it runs (at its end once it is over).
pub async fn figures(
    forms: &Forms,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Figures, ReportError> {
    if now <= period.start() {
        return Err(ReportError::NotStarted(period.label()));
    }
    let as_of = period.end().min(now);
    let store = &forms.store;
    let log = store.report_events(period.start(), as_of).await?;
    let as_of_day = as_of.with_timezone(&Shanghai).date_naive();
    let calendar = forms.calendar.current();
    let working_days = WorkingDays::new(
        &calendar,
        as_of_day
            .checked_sub_days(Days::new(800))
            .unwrap_or(as_of_day),
        as_of_day,
    );
    let window = Window {
        start: period.start(),
        as_of,
    };
    let folded = figures::tally(&log, window, &working_days);
    let mut city = Tally::default();
    for tally in folded.tallies.values() {
        city.add(tally);
    }
    let mut units = ranking::units_with_figures(&forms.directory, &folded.tallies);
    ranking::rank(&mut units);
    // The trend's months include the period's own (every kind of period is at most 12 months long).
    let mut trend = Vec::new();
    let mut volume = Volume::default();
    for month in period.trailing_months(TREND_MONTHS) {
        if month.start() >= as_of {
            break;
        }
        let month_volume = store.volume(month.start(), month.end().min(as_of)).await?;
        if month.start() >= period.start() {
            volume.intake += month_volume.intake;
            volume.instant_answers += month_volume.instant_answers;
        }
        trend.push(MonthVolume {
            period: month,
            label: month.short_label(),
            intake: month_volume.intake,
            instant_answers: month_volume.instant_answers,
            dispatched: month_volume.dispatched,
        });
    }
    let first_dispatches = store.first_dispatches(period.start(), as_of).await?;
    let dispatch_on_time = Ratio::new(
        first_dispatches
            .iter()
            .filter(|(waiting, dispatched)| {
                *dispatched
                    <= crate::sla::dispatch_due(
                        &calendar,
                        *waiting,
                        forms.dispatch.dispatch_working_days,
                    )
            })
            .count() as u32,
        first_dispatches.len() as u32,
    );
    let responses = store.dispatch_responses(period.start(), as_of).await?;
    let judged: Vec<_> = responses
        .iter()
        .map(|dispatch| {
            crate::sla::acceptance(
                dispatch,
                &calendar,
                forms.dispatch.accept_working_days,
                as_of,
            )
        })
        .collect();
    let accept_on_time = Ratio::new(
        judged
            .iter()
            .filter(|judged| **judged == crate::sla::Acceptance::OnTime)
            .count() as u32,
        judged
            .iter()
            .filter(|judged| **judged != crate::sla::Acceptance::NotCounted)
            .count() as u32,
    );
    let returns = Ratio::new(
        responses
            .iter()
            .filter(|dispatch| {
                matches!(
                    dispatch.response,
                    Some((crate::order::EventKind::DispatchReturned, _))
                )
            })
            .count() as u32,
        responses.len() as u32,
    );
    Ok(Figures {
        period,
        as_of,
        complete: as_of == period.end(),
        intake: volume.intake,
        instant_answers: volume.instant_answers,
        dispatched: folded.dispatched,
        dispatch_on_time,
        accept_on_time,
        returns,
        city: UnitFigures::new("city", "全市合计", "全市", UnitGroup::Department, city),
        units,
        trend,
    })
}

/// `2026年10月31日 24:00` for an instant that is a Shanghai midnight (the end of a period), else `… HH:MM`.
pub fn as_of_label(as_of: DateTime<Utc>) -> String {
    let local = as_of.with_timezone(&Shanghai);
    if local.format("%H:%M:%S").to_string() == "00:00:00" {
        let day = local.date_naive().pred_opt().unwrap_or(local.date_naive());
        format!("{} 24:00", day.format("%Y年%-m月%-d日"))
    } else {
        local.format("%Y年%-m月%-d日 %H:%M").to_string()
    }
}
