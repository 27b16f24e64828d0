//! The report as an Excel workbook (`rust_xlsxwriter`): the same figures as the printable page, as numbers the
//! centre can sort and add up — 汇总 (city totals), 单位指标 (every unit with every count behind each rate), 月度趋势,
//! 后两位 (annual assessment) and 指标说明 (the formulas).

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::bulletin::{NOTES, Report};
use super::figures::Ratio;
use super::ranking::UnitFigures;
use super::{ReportError, ReportKind};

fn failed(error: XlsxError) -> ReportError {
    ReportError::Workbook(error.to_string())
}

/// The formats of the workbook.
struct Formats {
    title: Format,
    header: Format,
    text: Format,
    count: Format,
    percent: Format,
    decimal: Format,
    total: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_background_color(0xF1E4E3),
            text: cell.clone().set_align(FormatAlign::Left),
            count: cell.clone().set_num_format("0"),
            percent: cell.clone().set_num_format("0.0%"),
            decimal: cell.clone().set_num_format("0.00"),
            total: cell.set_bold().set_background_color(0xF2F2F2),
        }
    }
}

fn write_ratio(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    ratio: &Ratio,
    formats: &Formats,
) -> Result<(), XlsxError> {
    match ratio.rate() {
        Some(rate) => sheet.write_number_with_format(row, col, rate, &formats.percent)?,
        None => sheet.write_string_with_format(row, col, "—", &formats.count)?,
    };
    Ok(())
}

/// The columns of the 单位指标 sheet.
const UNIT_COLUMNS: [&str; 29] = [
    "类别",
    "名次",
    "单位",
    "接收工单",
    "反馈结果",
    "已解决",
    "应解决",
    "销号",
    "应响应",
    "按时响应",
    "响应率",
    "应办结",
    "按期办结",
    "按期办结率",
    "解决率",
    "评价次数",
    "满意",
    "满意率",
    "平均办理时长（工作日）",
    "逾期未反馈",
    "重新办理",
    "黄牌",
    "红牌",
    "约谈",
    "虚假反馈",
    "问卷回收",
    "问卷满意率",
    "综合得分",
    "等次",
];

fn write_unit(
    sheet: &mut Worksheet,
    row: u32,
    unit: &UnitFigures,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let tally = &unit.tally;
    sheet.write_string_with_format(row, 0, unit.group_label, &formats.text)?;
    match unit.rank {
        Some(rank) => sheet.write_number_with_format(row, 1, f64::from(rank), &formats.count)?,
        None => sheet.write_string_with_format(row, 1, "—", &formats.count)?,
    };
    sheet.write_string_with_format(row, 2, &unit.name, &formats.text)?;
    let counts: [(u16, u32); 7] = [
        (3, tally.received),
        (4, tally.reported),
        (5, tally.solved),
        (6, tally.resolution_due),
        (7, tally.closed),
        (8, tally.response.denominator),
        (9, tally.response.numerator),
    ];
    for (col, value) in counts {
        sheet.write_number_with_format(row, col, f64::from(value), &formats.count)?;
    }
    write_ratio(sheet, row, 10, &tally.response, formats)?;
    sheet.write_number_with_format(
        row,
        11,
        f64::from(tally.on_time.denominator),
        &formats.count,
    )?;
    sheet.write_number_with_format(row, 12, f64::from(tally.on_time.numerator), &formats.count)?;
    write_ratio(sheet, row, 13, &tally.on_time, formats)?;
    write_ratio(sheet, row, 14, &unit.resolution, formats)?;
    sheet.write_number_with_format(
        row,
        15,
        f64::from(tally.satisfaction.denominator),
        &formats.count,
    )?;
    sheet.write_number_with_format(
        row,
        16,
        f64::from(tally.satisfaction.numerator),
        &formats.count,
    )?;
    write_ratio(sheet, row, 17, &tally.satisfaction, formats)?;
    match unit.average_working_days {
        Some(days) => sheet.write_number_with_format(row, 18, days, &formats.decimal)?,
        None => sheet.write_string_with_format(row, 18, "—", &formats.count)?,
    };
    let counts: [(u16, u32); 7] = [
        (19, tally.overdue),
        (20, tally.rework_rounds),
        (21, tally.yellow_cards),
        (22, tally.red_cards),
        (23, tally.interviews),
        (24, tally.false_feedback),
        (25, tally.questionnaire.denominator),
    ];
    for (col, value) in counts {
        sheet.write_number_with_format(row, col, f64::from(value), &formats.count)?;
    }
    write_ratio(sheet, row, 26, &tally.questionnaire, formats)?;
    match unit.score {
        Some(score) => sheet.write_number_with_format(row, 27, score, &formats.decimal)?,
        None => sheet.write_string_with_format(row, 27, "—", &formats.count)?,
    };
    sheet.write_string_with_format(row, 28, unit.grade.unwrap_or("—"), &formats.count)?;
    Ok(())
}

fn summary_sheet(
    workbook: &mut Workbook,
    report: &Report,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("汇总")?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 18)?;
    sheet.merge_range(0, 0, 0, 1, &report.title, &formats.title)?;
    sheet.write_string(1, 0, format!("统计期间：{}", report.period_label))?;
    sheet.write_string(2, 0, format!("统计时段：{}", report.span_label))?;
    sheet.write_string(3, 0, format!("统计截止：{}", report.as_of_label))?;
    if !report.complete {
        sheet.write_string(4, 0, "本期尚未结束，为阶段性数据")?;
    }
    let figures = &report.figures;
    let city = &figures.city;
    let tally = &city.tally;
    sheet.write_string_with_format(5, 0, "指标", &formats.header)?;
    sheet.write_string_with_format(5, 1, "全市", &formats.header)?;
    let counts: [(&str, u32); 13] = [
        ("受理诉求（件）", figures.intake),
        ("其中：政策库即时答复（件）", figures.instant_answers),
        ("派单（件）", figures.dispatched),
        ("反馈办理结果（件）", tally.reported),
        ("销号（件）", tally.closed),
        ("逾期未反馈（件）", tally.overdue),
        ("重新办理（件次）", tally.rework_rounds),
        ("黄牌（张）", tally.yellow_cards),
        ("红牌（张）", tally.red_cards),
        ("约谈（次）", tally.interviews),
        ("虚假反馈（件）", tally.false_feedback),
        ("评价次数", tally.satisfaction.denominator),
        ("回收问卷（份）", tally.questionnaire.denominator),
    ];
    let mut row = 6;
    for (name, value) in counts {
        sheet.write_string_with_format(row, 0, name, &formats.text)?;
        sheet.write_number_with_format(row, 1, f64::from(value), &formats.count)?;
        row += 1;
    }
    let rates: [(&str, &Ratio); 5] = [
        ("响应率", &tally.response),
        ("按期办结率", &tally.on_time),
        ("解决率", &city.resolution),
        ("满意率", &tally.satisfaction),
        ("问卷满意率", &tally.questionnaire),
    ];
    for (name, ratio) in rates {
        sheet.write_string_with_format(row, 0, name, &formats.text)?;
        write_ratio(sheet, row, 1, ratio, formats)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, "平均办理时长（工作日）", &formats.text)?;
    match city.average_working_days {
        Some(days) => sheet.write_number_with_format(row, 1, days, &formats.decimal)?,
        None => sheet.write_string_with_format(row, 1, "—", &formats.count)?,
    };
    Ok(())
}

fn units_sheet(
    workbook: &mut Workbook,
    report: &Report,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("单位指标")?;
    sheet.set_landscape();
    sheet.set_paper_size(9);
    for (col, name) in UNIT_COLUMNS.iter().enumerate() {
        let col = col as u16;
        sheet.write_string_with_format(0, col, *name, &formats.header)?;
        sheet.set_column_width(
            col,
            if col == 2 {
                34.0
            } else if col == 0 {
                22.0
            } else {
                9.5
            },
        )?;
    }
    sheet.set_freeze_panes(1, 3)?;
    let mut row = 1;
    for unit in &report.figures.units {
        write_unit(sheet, row, unit, formats)?;
        row += 1;
    }
    write_unit(sheet, row, &report.figures.city, formats)?;
    sheet.write_string_with_format(row, 0, "全市", &formats.total)?;
    sheet.write_string_with_format(row, 2, "全市合计", &formats.total)?;
    sheet.write_string_with_format(row, 1, "", &formats.total)?;
    sheet.write_string_with_format(row, 27, "", &formats.total)?;
    sheet.write_string_with_format(row, 28, "", &formats.total)?;
    Ok(())
}

fn trend_sheet(
    workbook: &mut Workbook,
    report: &Report,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("月度趋势")?;
    for (col, name) in ["月份", "受理诉求", "即时答复", "派单"].iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &formats.header)?;
        sheet.set_column_width(col as u16, 12)?;
    }
    for (index, month) in report.figures.trend.iter().enumerate() {
        let row = index as u32 + 1;
        sheet.write_string_with_format(row, 0, month.period.to_string(), &formats.text)?;
        sheet.write_number_with_format(row, 1, f64::from(month.intake), &formats.count)?;
        sheet.write_number_with_format(row, 2, f64::from(month.instant_answers), &formats.count)?;
        sheet.write_number_with_format(row, 3, f64::from(month.dispatched), &formats.count)?;
    }
    Ok(())
}

fn bottom_sheet(
    workbook: &mut Workbook,
    report: &Report,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("后两位")?;
    sheet.set_column_width(0, 22)?;
    sheet.set_column_width(2, 34)?;
    sheet.merge_range(
        0,
        0,
        0,
        4,
        "年度测评后两位的镇街和市直部门向市政府写出书面检查（滕政办发〔2022〕1号 二（五）3）",
        &formats.text,
    )?;
    for (col, name) in ["类别", "名次", "单位", "综合得分", "等次"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(1, col as u16, *name, &formats.header)?;
    }
    let mut row = 2;
    for section in &report.groups {
        for unit in &section.bottom_two {
            sheet.write_string_with_format(row, 0, section.label, &formats.text)?;
            sheet.write_number_with_format(
                row,
                1,
                f64::from(unit.rank.unwrap_or_default()),
                &formats.count,
            )?;
            sheet.write_string_with_format(row, 2, &unit.name, &formats.text)?;
            sheet.write_number_with_format(
                row,
                3,
                unit.score.unwrap_or_default(),
                &formats.decimal,
            )?;
            sheet.write_string_with_format(row, 4, unit.grade.unwrap_or("—"), &formats.count)?;
            row += 1;
        }
    }
    Ok(())
}

fn notes_sheet(workbook: &mut Workbook) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("指标说明")?;
    sheet.set_column_width(0, 120)?;
    for (row, note) in NOTES.iter().enumerate() {
        sheet.write_string(row as u32, 0, format!("{}. {note}", row + 1))?;
    }
    Ok(())
}

/// The workbook's bytes (`.xlsx`).
pub fn write(report: &Report) -> Result<Vec<u8>, ReportError> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    summary_sheet(&mut workbook, report, &formats).map_err(failed)?;
    units_sheet(&mut workbook, report, &formats).map_err(failed)?;
    trend_sheet(&mut workbook, report, &formats).map_err(failed)?;
    if report.kind == ReportKind::Annual {
        bottom_sheet(&mut workbook, report, &formats).map_err(failed)?;
    }
    notes_sheet(&mut workbook).map_err(failed)?;
    workbook.save_to_buffer().map_err(failed)
}
