//! Reports end to end (统计报表): a month of orders is built with fixed dates through the workflow, then the figures,
//! the printable report (HTML with SVG charts), the workbook (read back with calamine), the command line, the
//! leaders' dashboard and the monthly questionnaire are checked the way the centre and the enterprises meet them:
//! the real server on port 0, a fresh SQLite file, a real SMTP listener on loopback. Nothing sleeps: the outbox is
//! drained explicitly.

use std::process::Command;

use chrono::{DateTime, Utc};
use qihu_forms::console::Role;
use qihu_forms::domain::{Channel, NewRequest, Rating, RequestForm};
use qihu_forms::reports::{Period, ReportKind, figures};
use qihu_forms::store::RequestRow;
use qihu_forms::workflow::{Forms, UnitAction};
use serde_json::{Value, json};

mod support;

use support::app::TestApp;
use support::{Session, SmtpSink, app_settings, root};

/// The questionnaires (附件5) the SMTP listener received.
fn questionnaires(sink: &SmtpSink) -> Vec<support::Received> {
    sink.messages()
        .into_iter()
        .filter(|message| message.subject.starts_with("【满意度评价】"))
        .collect()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------------------------
// A small SMTP server on loopback (as in tests/forms.rs)
// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

/// A server with its own database and an SMTP sink; automatic dispatch off.
async fn spawn_app() -> (TestApp, SmtpSink) {
    let (sink, smtp_port) = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = app_settings(dir.path());
    settings.mail.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
    (TestApp::start(dir, settings).await, sink)
}

/// Creates a console user and signs in as a browser does.
async fn sign_in(app: &TestApp, username: &str, role: Role) -> Session {
    app.add_user(username, role).await;
    app.login(username).await
}

// ---------------------------------------------------------------------------------------------------------------
// March 2026, built with fixed dates (no holidays that month)
// ---------------------------------------------------------------------------------------------------------------

/// A help request submitted and dispatched to `unit` at `when`.
async fn dispatched(forms: &Forms, unit: &str, town: &str, email: &str, when: &str) -> RequestRow {
    let form = RequestForm {
        kind: Some("help".to_owned()),
        enterprise_name: Some(format!("滕州市{town}企业有限公司")),
        contact_name: Some("王经理".to_owned()),
        contact_phone: Some("13812345678".to_owned()),
        contact_email: Some(email.to_owned()),
        town: Some(town.to_owned()),
        description: Some("厂区道路积水，货车无法进出，请协调解决。".to_owned()),
        ..RequestForm::default()
    };
    let request = NewRequest::parse(&form, Channel::Web).unwrap();
    let now = at(when);
    let submitted = forms.submit(&request, None, now).await.unwrap();
    forms
        .dispatch(&submitted.row, unit, &[], "centre:test", "测试派单", now)
        .await
        .unwrap()
}

async fn reload(forms: &Forms, row: &RequestRow) -> RequestRow {
    forms.store.request_by_id(row.id).await.unwrap().unwrap()
}

async fn act(forms: &Forms, row: &RequestRow, unit: &str, action: UnitAction, when: &str) {
    let row = reload(forms, row).await;
    forms
        .unit_action(&row, unit, &action, at(when))
        .await
        .unwrap();
}

fn solved() -> UnitAction {
    UnitAction::Resolve {
        solved: true,
        method: "已现场协调解决".to_owned(),
        contact_name: "李科长".to_owned(),
        contact_phone: "0632-5512345".to_owned(),
    }
}

async fn rate(forms: &Forms, row: &RequestRow, rating: Rating, when: &str) {
    let row = reload(forms, row).await;
    forms
        .rate(
            &row,
            rating,
            "",
            qihu_forms::order::payload::RatingChannel::Web,
            "enterprise",
            at(when),
        )
        .await
        .unwrap();
}

/// The month the tests know the answers of, in the order things happened:
/// - order A (税务局): dispatched Mon 2 Mar (due Mon 9 Mar), accepted at once, solved 4 Mar, 非常满意.
/// - order B (税务局): dispatched 3 Mar (due 10 Mar), nothing by its deadline → yellow card on 11 Mar, accepted
///   11 Mar (late), solved 12 Mar (late), 比较满意.
/// - order C (税务局): dispatched 4 Mar (due 11 Mar), accepted, solved 9 Mar, 不满意 on 10 Mar → returned with 3
///   working days (due Fri 13 Mar), solved again 12 Mar, 基本满意.
/// - order D (洪绪镇): dispatched Mon 23 Mar (due Mon 30 Mar), accepted 24 Mar, never reported → yellow card on
///   31 Mar, still overdue at the end of the month.
async fn march(forms: &Forms) -> [RequestRow; 4] {
    let a = dispatched(
        forms,
        "tax",
        "荆河街道",
        "a@qiye.example",
        "2026-03-02T09:00:00+08:00",
    )
    .await;
    assert_eq!(a.due_at, Some(at("2026-03-09T23:59:59+08:00")));
    act(
        forms,
        &a,
        "tax",
        UnitAction::Accept,
        "2026-03-02T10:00:00+08:00",
    )
    .await;
    let b = dispatched(
        forms,
        "tax",
        "龙泉街道",
        "b@qiye.example",
        "2026-03-03T09:00:00+08:00",
    )
    .await;
    let c = dispatched(
        forms,
        "tax",
        "北辛街道",
        "c@qiye.example",
        "2026-03-04T09:00:00+08:00",
    )
    .await;
    act(
        forms,
        &c,
        "tax",
        UnitAction::Accept,
        "2026-03-04T11:00:00+08:00",
    )
    .await;
    act(forms, &a, "tax", solved(), "2026-03-04T16:00:00+08:00").await;
    rate(
        forms,
        &a,
        Rating::VerySatisfied,
        "2026-03-05T09:00:00+08:00",
    )
    .await;
    act(forms, &c, "tax", solved(), "2026-03-09T09:00:00+08:00").await;
    rate(forms, &c, Rating::Unsatisfied, "2026-03-10T09:00:00+08:00").await;
    assert_eq!(
        reload(forms, &c).await.due_at,
        Some(at("2026-03-13T23:59:59+08:00"))
    );
    let pass = qihu_forms::sla::cards::supervise(forms, at("2026-03-11T00:05:00+08:00"))
        .await
        .unwrap();
    assert_eq!(pass.issued.len(), 1);
    act(
        forms,
        &b,
        "tax",
        UnitAction::Accept,
        "2026-03-11T09:00:00+08:00",
    )
    .await;
    act(forms, &b, "tax", solved(), "2026-03-12T09:00:00+08:00").await;
    act(forms, &c, "tax", solved(), "2026-03-12T09:30:00+08:00").await;
    rate(
        forms,
        &b,
        Rating::FairlySatisfied,
        "2026-03-12T15:00:00+08:00",
    )
    .await;
    rate(
        forms,
        &c,
        Rating::BasicallySatisfied,
        "2026-03-13T09:00:00+08:00",
    )
    .await;
    let d = dispatched(
        forms,
        "hongxu",
        "洪绪镇",
        "d@qiye.example",
        "2026-03-23T09:00:00+08:00",
    )
    .await;
    act(
        forms,
        &d,
        "hongxu",
        UnitAction::Accept,
        "2026-03-24T09:00:00+08:00",
    )
    .await;
    let pass = qihu_forms::sla::cards::supervise(forms, at("2026-03-31T00:05:00+08:00"))
        .await
        .unwrap();
    assert_eq!(pass.issued.len(), 1);
    [a, b, c, d]
}

fn march_period() -> Period {
    monthly("2026-03")
}

fn monthly(text: &str) -> Period {
    Period::parse(ReportKind::Monthly, text).unwrap()
}

/// The figures of a period now (the period being over, as at its end).
async fn figures_of(forms: &Forms, period: Period) -> qihu_forms::reports::Figures {
    figures(forms, period, Utc::now()).await.unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_of_a_hand_built_month_are_the_known_answers() {
    // Arrange
    let (app, _sink) = spawn_app().await;
    let forms = app.forms();
    let [_, _, _, town_order] = march(forms).await;

    // Act
    let month = figures_of(forms, march_period()).await;

    // Assert
    assert!(month.complete);
    assert_eq!((month.intake, month.dispatched), (4, 4));
    // A, C and D were accepted within a working day of their dispatch, B a week late; none was returned.
    assert_eq!(month.accept_on_time.label(), "75.0%");
    assert_eq!(month.returns.label(), "0.0%");
    let unit = |id: &str| month.units.iter().find(|unit| unit.unit_id == id).unwrap();
    let tax = unit("tax");
    assert_eq!(tax.tally.received, 3);
    assert_eq!(tax.tally.response.label(), "66.7%");
    assert_eq!(tax.tally.on_time.label(), "75.0%");
    assert_eq!(tax.resolution.label(), "100.0%");
    assert_eq!(tax.tally.satisfaction.label(), "75.0%");
    assert_eq!(tax.average_working_days, Some(4.0));
    assert_eq!(
        (
            tax.tally.overdue,
            tax.tally.rework_rounds,
            tax.tally.yellow_cards,
            tax.tally.closed
        ),
        (0, 1, 1, 3)
    );
    // 100 × (0.2 × 2/3 + 0.2 × 3/4 + 0.3 × 1 + 0.3 × 3/4) − 1 yellow card.
    assert_eq!(tax.score, Some(79.83));
    assert_eq!(tax.rank, Some(1));
    let town = unit("hongxu");
    assert_eq!(town.tally.response.label(), "100.0%");
    assert_eq!(town.tally.on_time.label(), "0.0%");
    assert_eq!(town.resolution.label(), "0.0%");
    assert_eq!(town.tally.satisfaction.label(), "—");
    assert_eq!((town.tally.overdue, town.tally.yellow_cards), (1, 1));
    // Only response, on time and resolution are known: (0.2 × 1) / 0.7 × 100 − 1.
    assert_eq!(town.score, Some(27.57));
    assert_eq!((town.rank, town.ranked_of), (Some(1), 1));
    // A unit without orders is listed, not ranked.
    assert_eq!(unit("power").rank, None);
    let city = &month.city;
    assert_eq!(city.tally.response.label(), "75.0%");
    assert_eq!(city.tally.on_time.label(), "60.0%");
    assert_eq!(city.resolution.label(), "75.0%");
    assert_eq!(city.tally.overdue, 1);
    assert_eq!(month.trend.last().unwrap().intake, 4);
    // Every order of the month was dispatched the moment it came in.
    assert_eq!(month.dispatch_on_time.label(), "100.0%");

    // Reproducible: February is empty; April sees the town's order still overdue, nothing else.
    let february = figures_of(forms, march_period().previous()).await;
    assert_eq!(february.city.tally, Default::default());
    let april = figures_of(forms, monthly("2026-04")).await;
    assert_eq!(april.city.tally.overdue, 1);
    assert_eq!(april.city.tally.received, 0);
    // Mid-March, before the town's deadline, nothing was overdue yet.
    let mid_march = figures(forms, march_period(), at("2026-03-25T12:00:00+08:00"))
        .await
        .unwrap();
    assert!(!mid_march.complete);
    assert_eq!(mid_march.city.tally.overdue, 0);
    assert_eq!(mid_march.city.tally.received, 4);
    // The town reports in May at last: April and March read the same as before.
    act(
        forms,
        &town_order,
        "hongxu",
        solved(),
        "2026-05-06T10:00:00+08:00",
    )
    .await;
    let april_again = figures_of(forms, monthly("2026-04")).await;
    assert_eq!(april_again.city.tally, april.city.tally);
    let march_again = figures_of(forms, march_period()).await;
    assert_eq!(march_again.city.tally, month.city.tally);
    let may = figures_of(forms, monthly("2026-05")).await;
    let town = may
        .units
        .iter()
        .find(|unit| unit.unit_id == "hongxu")
        .unwrap();
    assert_eq!((town.tally.reported, town.tally.overdue), (1, 0));
    // A period that has not started has nothing to report.
    assert!(
        figures(forms, march_period(), at("2026-02-20T00:00:00+08:00"))
            .await
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The report in the console
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_report_shows_the_citys_heading_the_units_rates_and_svg_charts() {
    let (app, _sink) = spawn_app().await;
    march(app.forms()).await;
    let session = sign_in(&app, "zhang", Role::Centre).await;

    // The reports page offers the four kinds and the questionnaire.
    let page = app.console_page(&session, "/console/reports").await;
    for text in [
        "月通报",
        "季度测评",
        "半年排名",
        "年终总评",
        "下载 Excel",
        "发送评价问卷",
    ] {
        assert!(page.contains(text), "{text}");
    }
    let page = app.console_page(&session, "/console").await;
    assert!(
        page.contains("href=\"/console/reports\"") && page.contains("href=\"/console/dashboard\"")
    );

    let response = app
        .console_get(
            &session,
            "/console/reports/view?kind=monthly&period=2026-03",
        )
        .await;
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("style-src 'sha256-"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>滕州市企业诉求“接诉即办”工作月通报</h1>"));
    assert!(html.contains("（2026年3月）"));
    assert!(html.contains("2026年3月31日 24:00"));
    for unit in [
        "国家税务总局滕州市税务局",
        "滕州市洪绪镇人民政府",
        "国网山东省电力公司滕州市供电公司",
    ] {
        assert!(html.contains(unit), "{unit}");
    }
    for rate in ["66.7%", "75.0%", "79.83", "27.57"] {
        assert!(html.contains(rate), "{rate}");
    }
    // Three charts at least: the trend, the rates of each kind of unit, the cards.
    assert!(html.matches("<svg").count() >= 4, "{html}");
    assert!(html.contains(">\n市税务局\n</text>") || html.contains(">市税务局</text>"));
    assert!(html.contains("@page { size: A4"));
    assert!(!html.contains("书面检查"));

    // The quarter grades units; the half-year puts the ranking first; the year names the bottom two.
    let quarter = app
        .console_page(
            &session,
            "/console/reports/view?kind=quarterly&period=2026-Q1",
        )
        .await;
    assert!(
        quarter.contains("工作季度测评通报") && quarter.contains("<th scope=\"col\">等次</th>")
    );
    assert!(quarter.contains("（2026年第一季度）"));
    let half = app
        .console_page(
            &session,
            "/console/reports/view?kind=half-year&period=2026-H1",
        )
        .await;
    assert!(half.contains("工作半年排名通报"));
    let ranking = half.find("二、半年排名").expect("the ranking comes first");
    assert!(ranking < half.find("办理情况</h2>").unwrap());
    let year = app
        .console_page(&session, "/console/reports/view?kind=annual&period=2026")
        .await;
    assert!(year.contains("年终总评通报") && year.contains("书面检查"));
    assert!(year.contains("向市政府写出书面检查"));

    // Wrong periods are explained in Chinese.
    let response = app
        .console_get(
            &session,
            "/console/reports/view?kind=monthly&period=2026-13",
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("月份应在 1 到 12 之间")
    );
    let response = app
        .console_get(
            &session,
            "/console/reports/view?kind=quarterly&period=2026-10",
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("季度测评的统计期间应为季度")
    );
    let response = app
        .console_get(
            &session,
            "/console/reports/view?kind=monthly&period=2099-01",
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("尚未开始"));
    // Without a session: to the login page.
    let response = app
        .get("/console/reports/view?kind=monthly&period=2026-03")
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbook_opens_with_calamine_and_has_the_figures() {
    use calamine::{Data, Reader, Xlsx};

    let (app, _sink) = spawn_app().await;
    march(app.forms()).await;
    let session = sign_in(&app, "zhang", Role::Centre).await;
    let response = app
        .console_get(
            &session,
            "/console/reports/download?kind=monthly&period=2026-03",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("report-monthly-2026-03.xlsx"),
        "{disposition}"
    );
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    let bytes = response.bytes().await.unwrap();

    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .expect("an xlsx file");
    assert_eq!(
        workbook.sheet_names(),
        ["汇总", "单位指标", "月度趋势", "指标说明"]
    );
    let units = workbook.worksheet_range("单位指标").unwrap();
    let header: Vec<String> = units
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|cell| cell.to_string())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let tax = units
        .rows()
        .find(|row| row[column("单位")] == Data::String("国家税务总局滕州市税务局".to_owned()))
        .expect("the tax bureau's row");
    assert_eq!(tax[column("接收工单")], Data::Float(3.0));
    assert_eq!(tax[column("应响应")], Data::Float(3.0));
    assert_eq!(tax[column("按时响应")], Data::Float(2.0));
    let rate = |cell: &Data| match cell {
        Data::Float(value) => (value * 1000.0).round() / 1000.0,
        other => panic!("not a number: {other:?}"),
    };
    assert_eq!(rate(&tax[column("响应率")]), 0.667);
    assert_eq!(rate(&tax[column("满意率")]), 0.75);
    assert_eq!(tax[column("黄牌")], Data::Float(1.0));
    assert_eq!(tax[column("综合得分")], Data::Float(79.83));
    assert_eq!(tax[column("名次")], Data::Float(1.0));
    let idle = units
        .rows()
        .find(|row| row[column("单位")] == Data::String("滕州市统计局".to_owned()))
        .unwrap();
    assert_eq!(idle[column("响应率")], Data::String("—".to_owned()));
    let total = units.rows().next_back().unwrap();
    assert_eq!(total[column("单位")], Data::String("全市合计".to_owned()));
    assert_eq!(total[column("逾期未反馈")], Data::Float(1.0));
    let summary = workbook.worksheet_range("汇总").unwrap();
    assert_eq!(
        summary.get_value((0, 0)),
        Some(&Data::String(
            "滕州市企业诉求“接诉即办”工作月通报".to_owned()
        ))
    );
    let intake = summary
        .rows()
        .find(|row| row[0] == Data::String("受理诉求（件）".to_owned()))
        .unwrap();
    assert_eq!(intake[1], Data::Float(4.0));
    let trend = workbook.worksheet_range("月度趋势").unwrap();
    let march_row = trend
        .rows()
        .find(|row| row[0] == Data::String("2026-03".to_owned()))
        .unwrap();
    assert_eq!(march_row[1], Data::Float(4.0));
}

// ---------------------------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qihu_report_writes_the_page_and_the_workbook_and_refuses_wrong_periods() {
    let (app, _sink) = spawn_app().await;
    march(app.forms()).await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qihu"))
            .current_dir(root())
            .env(
                "QIHU_STORAGE__DATABASE_URL",
                &app.settings.storage.database_url,
            )
            .env(
                "QIHU_STORAGE__SECRET_FILE",
                &app.settings.storage.secret_file,
            )
            .env("QIHU_SEARCH__INDEX_DIR", &app.settings.search.index_dir)
            .env("QIHU_MAIL__OUTBOX_DIR", &app.settings.mail.outbox_dir)
            .args(args)
            .output()
            .unwrap()
    };
    let succeeds = |args: &[&str]| {
        let output = run(args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let html = app.dir.path().join("月通报.html");
    let html_path = html.to_str().unwrap();
    let printed = succeeds(&["report", "monthly", "--period", "2026-03", "-o", html_path]);
    assert!(
        printed.contains("已生成滕州市企业诉求“接诉即办”工作月通报（2026年3月）"),
        "{printed}"
    );
    assert!(printed.contains("响应率 75.0%"), "{printed}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("国家税务总局滕州市税务局") && page.contains("<svg"));

    let xlsx = app.dir.path().join("q1.xlsx");
    succeeds(&[
        "report",
        "quarterly",
        "--period",
        "2026-Q1",
        "-o",
        xlsx.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&xlsx).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx file is a zip archive");

    let output = run(&["report", "monthly", "--period", "2026-Q3", "-o", html_path]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error
            .contains("月通报的统计期间应为月份（月份应写作“年-月”，如 2026-10），“2026-Q3”是季度"),
        "{error}"
    );
    let output = run(&[
        "report",
        "half-year",
        "--period",
        "2026-H3",
        "-o",
        html_path,
    ]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("H1（上半年）或 H2（下半年）"));
}

// ---------------------------------------------------------------------------------------------------------------
// The leaders' dashboard
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_sees_the_dashboard_and_the_reports_but_cannot_send_questionnaires() {
    let (app, sink) = spawn_app().await;
    march(app.forms()).await;
    let leader = sign_in(&app, "shizhang", Role::Leader).await;

    let html = app.console_page(&leader, "/console/dashboard").await;
    assert!(html.contains("领导看板"));
    for text in [
        "响应率",
        "解决率",
        "满意率",
        "当前逾期未反馈",
        "诉求量走势",
        "<svg",
    ] {
        assert!(html.contains(text), "{text}");
    }
    // The town's order is still overdue; the town is under a yellow card (the tax bureau reported on time since).
    assert!(
        html.contains("<td data-label=\"当前逾期未反馈\">1 件</td>"),
        "{html}"
    );
    let cards = html
        .split("督办亮牌（当前）")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(
        cards.contains("滕州市洪绪镇人民政府") && cards.contains("card-yellow"),
        "{cards}"
    );
    assert!(!cards.contains("税务局"));
    assert!(!html.contains("发送评价问卷"));

    let reports = app.console_page(&leader, "/console/reports").await;
    assert!(reports.contains("领导账号只读"));
    assert!(!reports.contains("action=\"/console/reports/questionnaire\""));
    let view = app
        .console_get(&leader, "/console/reports/view?kind=monthly&period=2026-03")
        .await;
    assert_eq!(view.status(), 200);

    let refused = app
        .console_submit(
            &leader,
            "/console/reports/questionnaire",
            &[("month", "2026-03")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("领导账号只能查看"));
    app.drain().await;
    assert!(questionnaires(&sink).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_card_states_are_those_of_the_supervision_rules() {
    use qihu_forms::sla::cards::unit_card_state;

    let (app, _sink) = spawn_app().await;
    let forms = app.forms();
    march(forms).await;
    let everything = forms.store.supervision_events().await.unwrap();
    for instant in [
        "2026-03-11T12:00:00+08:00",
        "2026-03-12T09:15:00+08:00",
        "2026-03-12T12:00:00+08:00",
        "2026-03-31T12:00:00+08:00",
    ] {
        let now = at(instant);
        let since_reset = forms.store.card_events_since_reset(now).await.unwrap();
        for unit in &forms.directory.units {
            assert_eq!(
                unit_card_state(&since_reset, &unit.id, now),
                unit_card_state(&everything, &unit.id, now),
                "{} at {instant}",
                unit.id
            );
        }
    }
    // Between the yellow card and the on-time rework report the tax bureau is yellow; after it, green.
    let now = at("2026-03-12T09:15:00+08:00");
    let since_reset = forms.store.card_events_since_reset(now).await.unwrap();
    assert_eq!(
        unit_card_state(&since_reset, "tax", now),
        qihu_forms::sla::cards::CardState::Yellow
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The monthly questionnaire (附件5)
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_questionnaire_reaches_each_enterprise_once_and_its_answer_is_counted() {
    let (app, sink) = spawn_app().await;
    let [a, _, _, d] = march(app.forms()).await;
    let session = sign_in(&app, "zhang", Role::Centre).await;

    // Sent to the three enterprises whose orders were closed in March (not the town's open order).
    let response = app
        .console_submit(
            &session,
            "/console/reports/questionnaire",
            &[("month", "2026-03")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let page = app.console_page(&session, &location).await;
    assert!(
        page.contains("2026年3月办结工单 3 件：本次发送问卷 3 份"),
        "{page}"
    );
    app.drain().await;
    let mut recipients: Vec<String> = questionnaires(&sink)
        .iter()
        .flat_map(|message| message.recipients.clone())
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["a@qiye.example", "b@qiye.example", "c@qiye.example"]
    );

    // Sending again e-mails nobody.
    let response = app
        .console_submit(
            &session,
            "/console/reports/questionnaire",
            &[("month", "2026-03")],
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let page = app.console_page(&session, &location).await;
    assert!(
        page.contains("本次发送问卷 0 份，此前已发送 3 份（未重复发送）"),
        "{page}"
    );
    app.drain().await;
    assert_eq!(questionnaires(&sink).len(), 3);
    assert!(d.contact_email.is_some());

    // The enterprise opens its link: the 附件5 form with its order.
    let mail = questionnaires(&sink)
        .into_iter()
        .find(|message| message.recipients == ["a@qiye.example"])
        .unwrap();
    assert!(mail.subject.contains(&a.tracking_number));
    assert!(mail.text.contains("国家税务总局滕州市税务局"));
    let link = mail
        .text
        .lines()
        .find(|line| line.contains("/questionnaire/"))
        .unwrap()
        .trim()
        .strip_prefix("http://qihu.test")
        .unwrap()
        .to_owned();
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let page = app
        .client
        .get(format!("{}{link}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("企业发展、项目建设问题解决情况满意度评价表"));
    assert!(page.contains("已解决。解决方式：已现场协调解决"));
    // A wrong token opens nothing.
    let wrong = app
        .client
        .get(format!(
            "{}/questionnaire/{}?token=abc",
            app.base, a.tracking_number
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);

    // The answer is recorded once; the closed order stays closed.
    let answer = |rating: &'static str| {
        let url = format!("{}/questionnaire/{}", app.base, a.tracking_number);
        let token = token.clone();
        let client = app.client.clone();
        async move {
            client
                .post(url)
                .json(&json!({ "token": token, "rating": rating, "comment": "办事效率还可以提高" }))
                .send()
                .await
                .unwrap()
        }
    };
    let response = answer("不满意").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "closed");
    let again = answer("非常满意").await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("您已填写过本次问卷"));
    let page = app
        .client
        .get(format!("{}{link}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("您已提交评价：不满意"));

    // The answer counts in the month it arrived, for the unit that handled the order.
    let (answered_at, _) = app
        .forms()
        .store
        .questionnaire_answer(a.id)
        .await
        .unwrap()
        .unwrap();
    let month = Period::containing_instant(ReportKind::Monthly, answered_at);
    let figures = figures(app.forms(), month, Utc::now()).await.unwrap();
    let tax = figures
        .units
        .iter()
        .find(|unit| unit.unit_id == "tax")
        .unwrap();
    assert_eq!(tax.tally.questionnaire.denominator, 1);
    assert_eq!(tax.tally.questionnaire.label(), "0.0%");
    let report = app
        .console_page(
            &session,
            &format!("/console/reports/view?kind=monthly&period={month}"),
        )
        .await;
    assert!(
        report.contains("本期共回收企业评价问卷（附件5） 1 份"),
        "{report}"
    );
    let progress = app
        .console_page(&session, "/console/reports?month=2026-03")
        .await;
    assert!(
        progress.contains("<td data-label=\"已回收\">1</td>"),
        "{progress}"
    );
}

/// 转办及时率 (第一时间转办, notice §二(二)): a request is dispatched in time by the end of the working day after it came
/// in; the figure counts each order's first dispatch in the period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatch_timeliness_counts_first_dispatches_within_a_working_day() {
    let (app, _sink) = spawn_app().await;
    let forms = app.forms();
    let submit = |when: &'static str| async move {
        let form = RequestForm {
            kind: Some("help".to_owned()),
            enterprise_name: Some("滕州市恒达机械制造有限公司".to_owned()),
            contact_name: Some("王经理".to_owned()),
            contact_phone: Some("13812345678".to_owned()),
            town: Some("荆河街道".to_owned()),
            description: Some("厂区道路积水，货车无法进出，请协调解决。".to_owned()),
            ..RequestForm::default()
        };
        let request = NewRequest::parse(&form, Channel::Web).unwrap();
        forms.submit(&request, None, at(when)).await.unwrap().row
    };
    // Friday 6 March 2026, 16:00: in time until the end of Monday 9 March.
    let in_time = submit("2026-03-06T16:00:00+08:00").await;
    let late = submit("2026-03-06T16:05:00+08:00").await;
    forms
        .dispatch(
            &in_time,
            "tax",
            &[],
            "centre:test",
            "测试派单",
            at("2026-03-09T17:00:00+08:00"),
        )
        .await
        .unwrap();
    let late = forms
        .dispatch(
            &late,
            "tax",
            &[],
            "centre:test",
            "测试派单",
            at("2026-03-10T09:00:00+08:00"),
        )
        .await
        .unwrap();
    // A re-dispatch is not a first dispatch: it does not count again.
    forms
        .dispatch(
            &late,
            "power",
            &[],
            "centre:test",
            "改派",
            at("2026-03-10T10:00:00+08:00"),
        )
        .await
        .unwrap();

    let month = figures_of(forms, march_period()).await;
    assert_eq!(
        (
            month.dispatch_on_time.numerator,
            month.dispatch_on_time.denominator
        ),
        (1, 2)
    );
    assert_eq!(month.dispatch_on_time.label(), "50.0%");
    let html = qihu_forms::reports::bulletin::make(forms, march_period(), Utc::now())
        .await
        .and_then(|report| qihu_forms::reports::bulletin::render_html(forms, &report))
        .unwrap();
    assert!(html.contains("转办及时率 50.0%"), "{html}");
}
