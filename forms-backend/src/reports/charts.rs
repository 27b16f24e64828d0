//! Charts (统计图) drawn with `plotters` on its SVG backend: the three rates per unit, the monthly volume trend
//! and the cards per unit. Text is written as SVG `<text>` elements with a list of Chinese font families, so the
//! browser (or the print driver) picks an installed Chinese font; nothing loads a font file here (`plotters`
//! is built without `ttf`, and its layout estimate is only used for spacing).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ranking::UnitFigures;

/// Chinese fonts first, in the order a Chinese government PC, a Mac and a Linux desktop have them.
pub const FONT: &str = "Microsoft YaHei, PingFang SC, Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, SimHei, sans-serif";
/// Width in pixels: fits an A4 page's text width at print resolution.
const WIDTH: u32 = 760;
/// Height of one unit's row in the bar charts: 40 units still fit on one A4 page.
const ROW_HEIGHT: u32 = 22;
/// Units shown in the cards chart (the most carded first; the table lists them all).
pub const CARDS_CHART_UNITS: usize = 20;

const RESPONSE: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
const RESOLUTION: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const SATISFACTION: RGBColor = RGBColor(0xe0, 0x7b, 0x00);
const INTAKE: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
const DISPATCHED: RGBColor = RGBColor(0xb0, 0x3a, 0x2e);
const YELLOW_CARD: RGBColor = RGBColor(0xf2, 0xb7, 0x05);
const RED_CARD: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const INTERVIEW: RGBColor = RGBColor(0x6a, 0x1b, 0x1b);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// A chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("绘制统计图失败：{0}")]
pub struct ChartError(String);

fn failed(error: impl std::fmt::Display) -> ChartError {
    ChartError(error.to_string())
}

/// One month of the trend line.
#[derive(Debug, Clone)]
pub struct TrendPoint {
    pub label: String,
    pub intake: u32,
    pub dispatched: u32,
}

/// A linear axis whose tick marks are exactly at `ticks` (the centre of each unit's row, each month), so every
/// tick is labelled with a name rather than a number.
struct Ticks {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ticks {
    /// `0..count`, a tick at the middle of each step (rows of a bar chart).
    fn rows(count: usize) -> Ticks {
        Ticks {
            range: 0.0..count as f64,
            ticks: (0..count).map(|row| row as f64 + 0.5).collect(),
        }
    }

    /// `-0.5..count - 0.5`, a tick at each whole number (points of a line chart).
    fn points(count: usize) -> Ticks {
        Ticks {
            range: -0.5..count as f64 - 0.5,
            ticks: (0..count).map(|index| index as f64).collect(),
        }
    }
}

impl Ranged for Ticks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.range.start) / (self.range.end - self.range.start);
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Room under the plot for the legend.
const LEGEND_HEIGHT: u32 = 30;

/// A legend under the plot, centred: coloured squares and names, left to right.
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(&str, RGBColor)],
    height: u32,
) -> Result<(), ChartError> {
    let y = height as i32 - LEGEND_HEIGHT as i32 / 2;
    let mut x = (WIDTH as i32 - entries.len() as i32 * 110) / 2;
    for (name, colour) in entries {
        root.draw(&Rectangle::new(
            [(x, y - 6), (x + 14, y + 6)],
            colour.filled(),
        ))
        .map_err(failed)?;
        root.draw(&Text::new(
            (*name).to_owned(),
            (x + 20, y),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(failed)?;
        x += 110;
    }
    Ok(())
}

/// One rate of a unit (a bar of the rates chart).
type RateOf = fn(&UnitFigures) -> Option<f64>;
/// The bars of a unit, given its row counted from the bottom.
type BarsOf<'a> = dyn Fn(usize, &UnitFigures) -> Vec<Rectangle<(f64, f64)>> + 'a;
/// A count of a unit (a kind of card in the cards chart).
type CountOf = fn(&UnitFigures) -> u32;

/// The name of the unit whose row `y` is in (the first unit is the top row).
fn unit_label(units: &[&UnitFigures], y: f64) -> String {
    let n = units.len();
    let row = y.floor().max(0.0) as usize;
    n.checked_sub(row + 1)
        .and_then(|index| units.get(index))
        .map(|unit| unit.short_name.clone())
        .unwrap_or_default()
}

/// A horizontal bar chart with one row per unit, the first unit at the top: the x axis `x_axis` labelled by
/// `x_label`, the legend `entries` under it, and the bars `bars` gives for each unit (by its row from the top).
fn unit_bars(
    title: &str,
    units: &[&UnitFigures],
    entries: &[(&str, RGBColor)],
    x_axis: Ticks,
    x_label: &dyn Fn(&f64) -> String,
    bars: &BarsOf<'_>,
) -> Result<String, ChartError> {
    let n = units.len();
    let height = 70 + ROW_HEIGHT * n as u32 + LEGEND_HEIGHT;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        legend(&root, entries, height)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .margin_bottom(LEGEND_HEIGHT)
            .x_label_area_size(28)
            .y_label_area_size(150)
            .build_cartesian_2d(x_axis, Ticks::rows(n))
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_label_formatter(x_label)
            .y_label_formatter(&|y| unit_label(units, *y))
            .label_style((FONT, 12))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(
                units
                    .iter()
                    .enumerate()
                    .flat_map(|(index, unit)| bars(n - 1 - index, unit)),
            )
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// 响应率、解决率、满意率 per unit (grouped horizontal bars, 0–100%). Units without any of the three rates are
/// left out; `None` when no unit has one.
pub fn rates_chart(title: &str, units: &[&UnitFigures]) -> Result<Option<String>, ChartError> {
    let units: Vec<&UnitFigures> = units
        .iter()
        .copied()
        .filter(|unit| {
            unit.tally.response.rate().is_some()
                || unit.resolution.rate().is_some()
                || unit.tally.satisfaction.rate().is_some()
        })
        .collect();
    if units.is_empty() {
        return Ok(None);
    }
    let series: [(&str, RGBColor, RateOf); 3] = [
        ("响应率", RESPONSE, |unit| unit.tally.response.rate()),
        ("解决率", RESOLUTION, |unit| unit.resolution.rate()),
        ("满意率", SATISFACTION, |unit| {
            unit.tally.satisfaction.rate()
        }),
    ];
    let svg = unit_bars(
        title,
        &units,
        &series.map(|(name, colour, _)| (name, colour)),
        Ticks {
            range: 0.0..100.0,
            ticks: (0..=10).map(|tenth| f64::from(tenth) * 10.0).collect(),
        },
        &|x| format!("{x:.0}%"),
        &|row, unit| {
            series
                .iter()
                .enumerate()
                .filter_map(|(slot, (_, colour, rate))| {
                    let percent = rate(unit)? * 100.0;
                    let top = row as f64 + 0.85 - slot as f64 * 0.24;
                    Some(Rectangle::new(
                        [(0.0, top - 0.22), (percent.max(0.4), top)],
                        colour.filled(),
                    ))
                })
                .collect()
        },
    )?;
    Ok(Some(svg))
}

/// A round upper bound for an axis showing counts up to `max`.
fn axis_top(max: u32) -> u32 {
    let target = (f64::from(max.max(4)) * 1.15).ceil() as u32;
    let step = match target {
        0..=10 => 1,
        11..=50 => 5,
        51..=100 => 10,
        101..=500 => 50,
        501..=1000 => 100,
        1001..=5000 => 500,
        5001..=10000 => 1000,
        _ => 10u32.pow((f64::from(target).log10().floor() as u32).saturating_sub(1)) * 5,
    };
    target.div_ceil(step) * step
}

/// Monthly volume: requests received (受理诉求) and orders dispatched (派单), one point a month.
pub fn trend_chart(title: &str, months: &[TrendPoint]) -> Result<String, ChartError> {
    let n = months.len().max(1);
    let top = axis_top(
        months
            .iter()
            .map(|month| month.intake.max(month.dispatched))
            .max()
            .unwrap_or(0),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        legend(&root, &[("受理诉求", INTAKE), ("派单", DISPATCHED)], 300)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .margin_bottom(LEGEND_HEIGHT)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(Ticks::points(n), 0u32..top)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .y_labels(6)
            .x_label_formatter(&|x| {
                months
                    .get(x.round().max(0.0) as usize)
                    .map(|month| month.label.clone())
                    .unwrap_or_default()
            })
            .y_label_formatter(&|y| y.to_string())
            .label_style((FONT, 12))
            .draw()
            .map_err(failed)?;
        for (colour, value) in [
            (
                INTAKE,
                (|month: &TrendPoint| month.intake) as fn(&TrendPoint) -> u32,
            ),
            (DISPATCHED, |month: &TrendPoint| month.dispatched),
        ] {
            chart
                .draw_series(
                    LineSeries::new(
                        months
                            .iter()
                            .enumerate()
                            .map(|(index, month)| (index as f64, value(month))),
                        colour.stroke_width(2),
                    )
                    .point_size(3),
                )
                .map_err(failed)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// 黄牌、红牌、约谈 per unit (stacked horizontal bars), for the [`CARDS_CHART_UNITS`] units with the most; `None`
/// when no unit has any.
pub fn cards_chart(title: &str, units: &[&UnitFigures]) -> Result<Option<String>, ChartError> {
    let total =
        |unit: &UnitFigures| unit.tally.yellow_cards + unit.tally.red_cards + unit.tally.interviews;
    let mut units: Vec<&UnitFigures> = units
        .iter()
        .copied()
        .filter(|unit| total(unit) > 0)
        .collect();
    if units.is_empty() {
        return Ok(None);
    }
    // Stable: equal totals keep the given order (group, then rank).
    units.sort_by_key(|unit| std::cmp::Reverse(total(unit)));
    units.truncate(CARDS_CHART_UNITS);
    let top = units.iter().map(|unit| total(unit)).max().unwrap_or(1) + 1;
    let step = top.div_ceil(10).max(1);
    let segments: [(&str, RGBColor, CountOf); 3] = [
        ("黄牌", YELLOW_CARD, |unit| unit.tally.yellow_cards),
        ("红牌", RED_CARD, |unit| unit.tally.red_cards),
        ("约谈", INTERVIEW, |unit| unit.tally.interviews),
    ];
    let svg = unit_bars(
        title,
        &units,
        &segments.map(|(name, colour, _)| (name, colour)),
        Ticks {
            range: 0.0..f64::from(top),
            ticks: (0..=top).step_by(step as usize).map(f64::from).collect(),
        },
        &|x| format!("{x:.0}"),
        &|row, unit| {
            let mut start = 0;
            segments
                .iter()
                .filter_map(|(_, colour, count)| {
                    let end = start + count(unit);
                    let bar = (end > start).then(|| {
                        Rectangle::new(
                            [
                                (f64::from(start), row as f64 + 0.2),
                                (f64::from(end), row as f64 + 0.8),
                            ],
                            colour.filled(),
                        )
                    });
                    start = end;
                    bar
                })
                .collect()
        },
    )?;
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::figures::{Ratio, Tally};
    use crate::reports::ranking::UnitGroup;

    fn unit(name: &str, adjust: impl FnOnce(&mut Tally)) -> UnitFigures {
        let mut tally = Tally::default();
        adjust(&mut tally);
        UnitFigures::new(name, name, name, UnitGroup::Department, tally)
    }

    #[test]
    fn the_rates_chart_writes_chinese_names_as_svg_text() {
        let tax = unit("市税务局", |t| {
            t.response = Ratio::new(3, 4);
            t.satisfaction = Ratio::new(1, 1);
        });
        let idle = unit("市统计局", |_| {});
        let svg = rates_chart("市直部门三率", &[&tax, &idle])
            .unwrap()
            .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains(">\n市税务局\n</text>") || svg.contains(">市税务局</text>"),
            "{svg}"
        );
        assert!(svg.contains("市直部门三率"));
        assert!(svg.contains("满意率"));
        assert!(svg.contains("font-family=\"Microsoft YaHei"));
        // A unit with nothing to show is left out.
        assert!(!svg.contains("市统计局"));
        assert!(rates_chart("空", &[&idle]).unwrap().is_none());
    }

    #[test]
    fn the_trend_and_cards_charts_draw_what_they_are_given() {
        let months: Vec<TrendPoint> = (1..=12)
            .map(|month| TrendPoint {
                label: format!("{month}月"),
                intake: month * 10,
                dispatched: month * 8,
            })
            .collect();
        let svg = trend_chart("月度诉求量", &months).unwrap();
        assert!(svg.contains("12月") && svg.contains("受理诉求") && svg.contains("<polyline"));
        let carded = unit("洪绪镇", |t| {
            t.yellow_cards = 2;
            t.red_cards = 1;
        });
        let svg = cards_chart("亮牌情况", &[&carded]).unwrap().unwrap();
        assert!(svg.contains("洪绪镇") && svg.contains("红牌"));
        assert!(
            cards_chart("亮牌情况", &[&unit("空", |_| {})])
                .unwrap()
                .is_none()
        );
        assert_eq!(axis_top(0), 5);
        assert_eq!(axis_top(42_000), 50_000);
    }
}
