//! The report itself (通报): the monthly bulletin, quarterly evaluation, half-year ranking and annual assessment
//! as one printable A4 page (`site-templates/reports/bulletin.html`, with the city's heading, tables and SVG
//! charts) and as a workbook ([`super::workbook`]). The four differ in period and emphasis: the quarterly
//! evaluation gives each unit its grade (测评等次), the half-year ranking puts the ranking first, the annual
//! assessment adds the bottom two of each kind of unit, who owe the city government a written self-examination
//! (书面检查, notice §二(五)3).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tera::Context;

use super::charts;
use super::ranking::{self, UnitFigures, UnitGroup};
use super::{Figures, Period, ReportError, ReportKind};
use crate::workflow::Forms;

/// One group of units as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSection {
    pub group: UnitGroup,
    pub label: &'static str,
    /// Ranked units first (by rank), then the units with nothing to assess this period.
    pub units: Vec<UnitFigures>,
    pub ranked: usize,
    /// 三率 bar chart (SVG), when any unit has a rate.
    pub rates_chart: Option<String>,
    /// 年度测评后两位 (annual assessment only).
    pub bottom_two: Vec<UnitFigures>,
}

/// A unit's questionnaire answers (问卷满意度) in the period.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionnaireLine {
    pub name: String,
    pub group_label: &'static str,
    pub answers: u32,
    pub satisfied: u32,
    pub rate: String,
}

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub kind: ReportKind,
    pub kind_code: &'static str,
    pub kind_label: &'static str,
    pub period: Period,
    pub period_label: String,
    pub city: String,
    /// 滕州市企业诉求“接诉即办”工作月通报
    pub title: String,
    /// 统计时段：2026年10月1日至2026年10月31日
    pub span_label: String,
    /// 统计截止
    pub as_of_label: String,
    pub complete: bool,
    pub generated_label: String,
    /// The quarterly evaluation and the annual assessment grade the units.
    pub graded: bool,
    /// The half-year ranking and the annual assessment put the ranking first.
    pub ranking_first: bool,
    pub annual: bool,
    pub figures: Figures,
    pub groups: Vec<GroupSection>,
    /// Units with cards or false feedback in the period.
    pub carded: Vec<UnitFigures>,
    pub trend_chart: String,
    pub cards_chart: Option<String>,
    pub questionnaire: Vec<QuestionnaireLine>,
    pub questionnaire_total: QuestionnaireLine,
    /// 指标说明
    pub notes: &'static [&'static str],
}

/// 指标说明: one formula or rule each, under the page's tables and on the workbook's notes sheet (the same as
/// `docs/reports.md`).
pub const NOTES: [&str; 9] = [
    "一件工单的“应响应”“应办结”计入其完成或到期（先发生者）所在的统计期；改派其他单位或镇街报推进中心的，原单位该项不再计算。",
    "响应率 = 在办理期限内受理（或提交方案、反馈结果、报推进中心）的工单数 ÷ 本期应响应工单数。",
    "按期办结率 = 在办理期限（5个工作日；重新办理3个工作日；批准方案的承诺日期）内反馈办理结果的次数 ÷ 本期应办结次数。",
    "解决率 = 本期反馈“已解决”且未被回访发现虚假反馈的工单数 ÷（本期反馈结果的工单数 + 统计截止时逾期未反馈的工单数）。",
    "满意率 = 评价为非常满意、比较满意、基本满意的次数 ÷ 本期全部评价次数（含网上评价和电话回访）；问卷满意率按问卷回收时间计入当期，单列。",
    "平均办理时长 = 自派单次日起至首次反馈办理结果当日的工作日数的平均值（按国务院节假日安排计算）。",
    "综合得分 = 100 ×（响应率×20% + 按期办结率×20% + 解决率×30% + 满意率×30%，无数据的指标按其余权重折算）− 黄牌×1 − 红牌×3 − 约谈×5 − 虚假反馈×5，最低 0 分。",
    "等次：90 分及以上为好，80–90 分为较好，60–80 分为一般，60 分以下为较差。",
    "镇街（含经济技术开发区）与市直部门（单位）分别排名，得分相同的名次并列；推进中心自身不参与排名。",
];

/// The report's heading, e.g. 滕州市企业诉求“接诉即办”工作月通报.
pub fn title(city: &str, kind: ReportKind) -> String {
    let what = match kind {
        ReportKind::Monthly => "月通报",
        ReportKind::Quarterly => "季度测评通报",
        ReportKind::HalfYear => "半年排名通报",
        ReportKind::Annual => "年终总评通报",
    };
    format!("{city}企业诉求“接诉即办”工作{what}")
}

/// The city the installation serves (the `site.city` of the page context).
pub fn city_of(forms: &Forms) -> String {
    forms
        .page_context
        .get("site")
        .and_then(|site| site.get("city"))
        .and_then(|city| city.as_str())
        .unwrap_or("本市")
        .to_owned()
}

fn questionnaire_line(
    name: &str,
    group_label: &'static str,
    unit: &UnitFigures,
) -> QuestionnaireLine {
    QuestionnaireLine {
        name: name.to_owned(),
        group_label,
        answers: unit.tally.questionnaire.denominator,
        satisfied: unit.tally.questionnaire.numerator,
        rate: unit.tally.questionnaire.label(),
    }
}

impl Report {
    /// Makes the report of `figures` (charts included).
    pub fn build(
        city: &str,
        figures: Figures,
        generated: DateTime<Utc>,
    ) -> Result<Report, ReportError> {
        let period = figures.period;
        let kind = period.kind();
        let annual = kind == ReportKind::Annual;
        let mut groups = Vec::new();
        for group in UnitGroup::ALL {
            let units: Vec<&UnitFigures> = figures.group(group);
            let rates_chart =
                charts::rates_chart(&format!("{}响应率、解决率、满意率", group.label()), &units)?;
            let bottom_two = if annual {
                ranking::bottom_two(&figures.units, group)
                    .into_iter()
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            groups.push(GroupSection {
                group,
                label: group.label(),
                ranked: units.iter().filter(|unit| unit.rank.is_some()).count(),
                units: units.into_iter().cloned().collect(),
                rates_chart,
                bottom_two,
            });
        }
        let all: Vec<&UnitFigures> = figures.units.iter().collect();
        let cards_chart = charts::cards_chart("各单位督办亮牌情况", &all)?;
        let findings = |unit: &UnitFigures| {
            unit.tally.yellow_cards
                + unit.tally.red_cards
                + unit.tally.interviews
                + unit.tally.false_feedback
        };
        let mut carded: Vec<UnitFigures> = figures
            .units
            .iter()
            .filter(|unit| findings(unit) > 0)
            .cloned()
            .collect();
        carded.sort_by_key(|unit| std::cmp::Reverse(findings(unit)));
        let trend = figures.trend_points();
        let trend_chart = charts::trend_chart(&format!("近{}个月诉求量走势", trend.len()), &trend)?;
        let questionnaire = figures
            .units
            .iter()
            .filter(|unit| unit.tally.questionnaire.denominator > 0)
            .map(|unit| questionnaire_line(&unit.name, unit.group_label, unit))
            .collect();
        let questionnaire_total = questionnaire_line("全市合计", "", &figures.city);
        let last = period.last_day();
        Ok(Report {
            kind,
            kind_code: kind.code(),
            kind_label: kind.label(),
            period,
            period_label: period.label(),
            city: city.to_owned(),
            title: title(city, kind),
            span_label: format!(
                "{}至{}",
                period.first_day().format("%Y年%-m月%-d日"),
                last.format("%Y年%-m月%-d日")
            ),
            as_of_label: super::as_of_label(figures.as_of),
            complete: figures.complete,
            generated_label: crate::calendar::minute_label(generated),
            graded: matches!(kind, ReportKind::Quarterly | ReportKind::Annual),
            ranking_first: matches!(kind, ReportKind::HalfYear | ReportKind::Annual),
            annual,
            figures,
            groups,
            carded,
            trend_chart,
            cards_chart,
            questionnaire,
            questionnaire_total,
            notes: &NOTES,
        })
    }

    /// The file name a download gets: `滕州市企业诉求接诉即办工作月通报_2026-10.xlsx`.
    pub fn file_name(&self, extension: &str) -> String {
        format!(
            "{}_{}.{extension}",
            self.title.replace(['“', '”'], ""),
            self.period
        )
    }
}

/// The template of the printable report.
pub const TEMPLATE: &str = "reports/bulletin.html";

/// The report as a standalone, printable HTML page.
pub fn render_html(forms: &Forms, report: &Report) -> Result<String, ReportError> {
    let mut context = Context::new();
    context.insert("report", report);
    context.insert("style", STYLE);
    forms
        .templates
        .render(TEMPLATE, &context)
        .map_err(|error| ReportError::Template(format!("{TEMPLATE}：{error:?}")))
}

/// The style sheet of the printable report, embedded in the page so the file prints the same anywhere.
pub const STYLE: &str = include_str!("bulletin.css");

/// `sha256-…` of [`STYLE`], for a Content-Security-Policy that allows exactly this style block.
pub fn style_hash() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(STYLE.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Makes the report of `period` as of `now` (at the period's end once it is over).
pub async fn make(
    forms: &Forms,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let figures = super::figures(forms, period, now).await?;
    Report::build(&city_of(forms), figures, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_state_the_weights_and_deductions_in_force() {
        let score = NOTES
            .iter()
            .find(|note| note.starts_with("综合得分"))
            .unwrap();
        let expected = format!(
            "响应率×{}% + 按期办结率×{}% + 解决率×{}% + 满意率×{}%",
            ranking::WEIGHT_RESPONSE * 100.0,
            ranking::WEIGHT_ON_TIME * 100.0,
            ranking::WEIGHT_RESOLUTION * 100.0,
            ranking::WEIGHT_SATISFACTION * 100.0
        );
        assert!(score.contains(&expected), "{score} ≠ {expected}");
        let deductions = format!(
            "黄牌×{} − 红牌×{} − 约谈×{} − 虚假反馈×{}",
            ranking::DEDUCT_YELLOW_CARD,
            ranking::DEDUCT_RED_CARD,
            ranking::DEDUCT_INTERVIEW,
            ranking::DEDUCT_FALSE_FEEDBACK
        );
        assert!(score.contains(&deductions), "{score} ≠ {deductions}");
        assert_eq!(
            title("滕州市", ReportKind::Monthly),
            "滕州市企业诉求“接诉即办”工作月通报"
        );
    }
}
