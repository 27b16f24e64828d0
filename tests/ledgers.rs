//! The official tables (附件2–5) and the weekly ledger import, end to end: a real SQLite file, the real server on
//! port 0 with the console's login, and the `qihu` binary. What the tests open is what a user opens: the XLSX is
//! read back with calamine, the CSV's bytes and lines are checked, the pages' HTML is searched.

use qihu_forms::order::Status;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, Utc};
use qihu::serve::App;
use qihu_forms::console::Role;
use qihu_forms::domain::{Channel, NewRequest, Rating, RequestForm};
use qihu_forms::reports::ledger::{self, Format, Period, Selection, Table};
use qihu_forms::store::RequestFilter;
use qihu_forms::workflow::UnitAction;

mod support;

use support::app::TestApp;
use support::{Session, app_settings, root};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

const DESCRIPTION: &str =
    "增值税留抵退税申请已提交一个月，至今没有结果，影响资金周转，请协调办理。";

/// An order that goes through its whole life: received 11-02, dispatched to the tax bureau (finance co-handles)
/// 11-03, result reported 11-05, rated 比较满意 by call-back 11-09 (all +08:00).
async fn order_through_its_life(app: &App) -> String {
    let forms = &app.forms.forms;
    let form = RequestForm {
        kind: Some("help".to_owned()),
        enterprise_name: Some("滕州市恒达机械制造有限公司".to_owned()),
        contact_name: Some("王经理".to_owned()),
        contact_phone: Some("13812345678".to_owned()),
        town: Some("洪绪镇".to_owned()),
        description: Some(DESCRIPTION.to_owned()),
        suggested_department: Some("税务局".to_owned()),
        ..RequestForm::default()
    };
    let request = NewRequest::parse(&form, Channel::Phone).unwrap();
    let received = at("2026-11-02T10:00:00+08:00");
    let submitted = forms
        .submit_entered(
            &request,
            "centre:zhang",
            Some("来电：王经理"),
            None,
            received,
        )
        .await
        .unwrap();
    let row = forms
        .dispatch(
            &submitted.row,
            "tax",
            &["finance".to_owned()],
            "centre:zhang",
            "推进中心研判派单",
            at("2026-11-03T09:00:00+08:00"),
        )
        .await
        .unwrap();
    let row = forms
        .unit_action(
            &row,
            "tax",
            &UnitAction::Accept,
            at("2026-11-03T10:00:00+08:00"),
        )
        .await
        .unwrap();
    let row = forms
        .unit_action(
            &row,
            "tax",
            &UnitAction::Resolve {
                solved: true,
                method: "已协调办理留抵退税，款项已到账".to_owned(),
                contact_name: "李科长".to_owned(),
                contact_phone: "0632-5512345".to_owned(),
            },
            at("2026-11-05T16:00:00+08:00"),
        )
        .await
        .unwrap();
    forms
        .rate(
            &row,
            Rating::FairlySatisfied,
            "办理及时",
            qihu_forms::order::payload::RatingChannel::CallBack,
            "centre:zhang",
            at("2026-11-09T11:00:00+08:00"),
        )
        .await
        .unwrap();
    row.tracking_number
}

/// The table as written, for a period and perhaps a unit.
async fn export(
    app: &App,
    table: Table,
    from: &str,
    to: &str,
    unit: Option<&str>,
    format: Format,
) -> Vec<u8> {
    let forms = &app.forms.forms;
    let selection = Selection {
        table,
        period: Period::new(day(from), day(to)).unwrap(),
        unit: unit.map(str::to_owned),
    };
    let mut out = Cursor::new(Vec::new());
    ledger::export(
        &forms.store,
        &forms.directory,
        &forms.templates,
        &forms.page_context,
        &selection,
        format,
        day("2026-11-30"),
        &mut out,
    )
    .await
    .unwrap();
    out.into_inner()
}

/// The first sheet of a workbook as text, row by row, and its formulas.
fn sheet(bytes: &[u8]) -> (Vec<Vec<String>>, Vec<String>) {
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a valid XLSX file");
    let name = workbook.sheet_names()[0].clone();
    let range = workbook.worksheet_range(&name).unwrap();
    let rows = range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let formulas = workbook
        .worksheet_formula(&name)
        .unwrap()
        .used_cells()
        .map(|(_, _, formula)| formula.clone())
        .filter(|formula| !formula.is_empty())
        .collect();
    (rows, formulas)
}

/// The rows after the title, the header lines and the headers.
fn data_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    sheet(bytes).0.into_iter().skip(3).collect()
}

/// Every row of the table as XLSX for a period (title, header lines, headers, data).
async fn xlsx(
    app: &App,
    table: Table,
    period: (&str, &str),
    unit: Option<&str>,
) -> Vec<Vec<String>> {
    sheet(&export(app, table, period.0, period.1, unit, Format::Xlsx).await).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_table_lists_what_happened_in_its_period_with_the_notices_columns() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(app_settings(dir.path())).await.unwrap();
    let number = order_through_its_life(&app).await;

    // 附件2: the request received 11-02, with title, header lines and headers exactly as the notice prints them.
    let (rows, formulas) = sheet(
        &export(
            &app,
            Table::Ledger,
            "2026-11-01",
            "2026-11-30",
            None,
            Format::Xlsx,
        )
        .await,
    );
    assert_eq!(rows[0][0], "企业发展、项目建设问题台账");
    assert_eq!(rows[1][0], "提报单位：滕州市政府事务推进中心");
    assert_eq!(
        rows[1][3],
        "统计期间：2026年11月1日至2026年11月30日　　提报时间：2026年11月30日"
    );
    assert_eq!(
        rows[2],
        [
            "序号",
            "企业名称",
            "存在问题、困难、诉求描述",
            "建议解决部门",
            "企业联系人及联系方式",
            "备注"
        ]
    );
    assert_eq!(
        rows[3],
        [
            "1",
            "滕州市恒达机械制造有限公司",
            DESCRIPTION,
            "税务局",
            "王经理 13812345678",
            &format!("受理编号 {number}；来电：王经理")
        ]
    );
    assert_eq!(rows.len(), 4);
    assert!(formulas.is_empty());
    let before = xlsx(&app, Table::Ledger, ("2026-10-01", "2026-11-01"), None).await;
    assert_eq!(before.len(), 3);

    // 附件3: the dispatch of 11-03 with the units it went to; no header lines in this table.
    let rows = xlsx(
        &app,
        Table::DispatchList,
        ("2026-11-03", "2026-11-03"),
        None,
    )
    .await;
    assert_eq!(rows[0][0], "企业发展、项目建设问题转办清单");
    assert_eq!(rows[1][0], "统计期间：2026年11月3日");
    assert_eq!(
        rows[2],
        [
            "序号",
            "企业名称",
            "存在问题、困难、诉求描述",
            "企业联系人及联系方式",
            "建议解决部门"
        ]
    );
    assert_eq!(rows[3][4], "国家税务总局滕州市税务局（协办：滕州市财政局）");
    let not_yet = xlsx(
        &app,
        Table::DispatchList,
        ("2026-11-02", "2026-11-02"),
        None,
    )
    .await;
    assert_eq!(not_yet.len(), 3);

    // 附件4: the result the tax bureau reported on 11-05.
    let rows = xlsx(
        &app,
        Table::FeedbackForm,
        ("2026-11-05", "2026-11-05"),
        None,
    )
    .await;
    assert_eq!(rows[0][0], "企业发展、项目建设问题解决反馈表");
    assert_eq!(
        rows[2],
        [
            "序号",
            "企业名称",
            "存在问题、困难、诉求描述",
            "是否解决",
            "解决方式",
            "所属镇街（部门）",
            "镇街（部门）联系人及联系方式",
            "备注"
        ]
    );
    assert_eq!(
        rows[3][3..],
        [
            "是",
            "已协调办理留抵退税，款项已到账",
            "国家税务总局滕州市税务局",
            "李科长 0632-5512345",
            &format!("受理编号 {number}")
        ]
    );

    // 附件5: the call-back rating of 11-09.
    let rows = xlsx(
        &app,
        Table::SatisfactionForm,
        ("2026-11-09", "2026-11-09"),
        None,
    )
    .await;
    assert_eq!(rows[0][0], "企业发展、项目建设问题解决情况满意度评价表");
    assert_eq!(
        rows[2],
        [
            "序号",
            "问题描述",
            "解决情况",
            "解决部门",
            "满意度评价",
            "意见建议"
        ]
    );
    assert_eq!(
        rows[3],
        [
            "1",
            DESCRIPTION,
            "已解决：已协调办理留抵退税，款项已到账",
            "国家税务总局滕州市税务局",
            "比较满意",
            "办理及时"
        ]
    );

    // A unit's table: the lead, a co-handler and the enterprise's town keep the order; another town does not.
    for (unit, kept) in [("tax", 1), ("finance", 1), ("hongxu", 1), ("longquan", 0)] {
        let rows = xlsx(
            &app,
            Table::Ledger,
            ("2026-11-01", "2026-11-30"),
            Some(unit),
        )
        .await;
        assert_eq!(rows.len() - 3, kept, "{unit}");
    }
    let rows = xlsx(
        &app,
        Table::Ledger,
        ("2026-11-01", "2026-11-30"),
        Some("hongxu"),
    )
    .await;
    assert_eq!(rows[1][0], "提报单位：滕州市洪绪镇人民政府");

    // CSV: UTF-8 with BOM so Excel shows the Chinese, the same lines as the workbook.
    let csv = export(
        &app,
        Table::Ledger,
        "2026-11-01",
        "2026-11-30",
        None,
        Format::Csv,
    )
    .await;
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "企业发展、项目建设问题台账");
    assert_eq!(
        lines[2],
        "序号,企业名称,存在问题、困难、诉求描述,建议解决部门,企业联系人及联系方式,备注"
    );
    assert!(lines[3].starts_with("1,滕州市恒达机械制造有限公司,"));

    // The printable page: the city, the title, every header, A4 landscape.
    let html = String::from_utf8(
        export(
            &app,
            Table::FeedbackForm,
            "2026-11-01",
            "2026-11-30",
            None,
            Format::Html,
        )
        .await,
    )
    .unwrap();
    assert!(html.contains("滕州市“企呼政应、接诉即办”"));
    assert!(html.contains("<h1>企业发展、项目建设问题解决反馈表</h1>"));
    for header in Table::FeedbackForm.columns() {
        assert!(html.contains(&format!("<th scope=\"col\">{}</th>", header.header)));
    }
    assert!(html.contains("size: A4 landscape"));
    assert!(html.contains("已协调办理留抵退税"));
}

// ---------------------------------------------------------------------------------------------------------------
// The console
// ---------------------------------------------------------------------------------------------------------------

/// A server with the centre's `zhang` and the leader `lingdao`.
async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let settings = app_settings(dir.path());
    let app = TestApp::start(dir, settings).await;
    app.add_user("zhang", Role::Centre).await;
    app.add_user("lingdao", Role::Leader).await;
    app
}

impl TestApp {
    /// Uploads `bytes` as a ledger of `unit` through the console's form.
    async fn upload(
        &self,
        session: &Session,
        unit: &str,
        name: &str,
        bytes: Vec<u8>,
        valid_only: bool,
    ) -> (u16, String) {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", session.csrf.clone())
            .text("unit", unit.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        if valid_only {
            form = form.text("valid_only", "1");
        }
        let response = self
            .client
            .post(format!("{}/console/ledgers/import", self.base))
            .header("cookie", &session.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn request_count(&self) -> i64 {
        self.app
            .store
            .count_requests(&RequestFilter::default())
            .await
            .unwrap()
    }
}

/// The text of the element with `id` (up to its closing tag), tags dropped.
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = html[..at].rfind('<').unwrap();
    let tag: String = html[open + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let body = &html[at..];
    let body = &body[body.find('>').unwrap() + 1..];
    let body = &body[..body.find(&format!("</{tag}>")).unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '\n' => {}
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// A town's weekly ledger as a collector makes it in Excel: the notice's title and header lines, the headers, the
/// hint row, 序号 as numbers, a blank numbered row at the end.
fn town_workbook(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet
        .write_string(0, 0, "企业发展、项目建设问题台账")
        .unwrap();
    sheet
        .write_string(
            1,
            0,
            "提报单位：洪绪镇                  提报时间：2026年11月20日",
        )
        .unwrap();
    for (column, header) in [
        "序号",
        "企业名称",
        "存在问题、困难、诉求描述",
        "建议解决部门",
        "企业联系人及联系方式",
        "备注",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(2, column as u16, *header).unwrap();
    }
    sheet
        .write_string(3, 2, "问题描述应符合政策要求，简明、准确")
        .unwrap();
    let mut row = 4;
    for (number, cells) in rows.iter().enumerate() {
        sheet.write_number(row, 0, (number + 1) as f64).unwrap();
        for (column, cell) in cells.iter().enumerate() {
            sheet.write_string(row, column as u16 + 1, *cell).unwrap();
        }
        row += 1;
    }
    sheet.write_number(row, 0, (rows.len() + 1) as f64).unwrap();
    workbook.save_to_buffer().unwrap()
}

const GOOD_ROWS: [[&str; 5]; 3] = [
    [
        "滕州市恒达机械制造有限公司",
        "厂区门前道路积水严重，货车无法进出，请协调修复排水设施。",
        "住建局",
        "王经理 13812345678",
        "",
    ],
    [
        "滕州市鑫源食品有限公司",
        "申请技术改造补贴，不清楚申报条件和时间，请有关部门上门指导。",
        "工信局",
        "李明，0632-5512345",
        "第47周台账",
    ],
    // The name after the number, in brackets.
    [
        "滕州市华宇建材有限公司",
        "新建厂房办理施工许可证材料已经齐全，审批进度较慢，请协调加快。",
        "",
        "13912345678（张总）",
        "",
    ],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_towns_xlsx_ledger_is_imported_once_as_collector_requests() {
    let app = spawn_app().await;
    let session = app.login("zhang").await;

    // Act: the centre uploads 洪绪镇's ledger.
    let (status, html) = app
        .upload(
            &session,
            "hongxu",
            "洪绪镇第47周问题台账.xlsx",
            town_workbook(&GOOD_ROWS),
            false,
        )
        .await;

    // Assert: three requests, the rows numbered as Excel shows them (title, header lines, headers, hint row).
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        text_of(&html, "import-summary"),
        "滕州市洪绪镇人民政府：读取 3 行，新登记 3 条，此前已导入 0 条。"
    );
    let created = text_of(&html, "import-created");
    for row in ["第5行", "第6行", "第7行"] {
        assert!(created.contains(row), "{created}");
    }
    assert_eq!(app.request_count().await, 3);
    let requests = app
        .app
        .store
        .requests_page(&RequestFilter::default(), 10, 0)
        .await
        .unwrap();
    for request in &requests {
        assert_eq!(request.channel, "collector");
        assert_eq!(request.town, "洪绪镇");
        assert_eq!(request.kind, "help");
        assert_eq!(request.status, Status::New);
    }
    let huayu = requests
        .iter()
        .find(|request| request.enterprise_name == "滕州市华宇建材有限公司")
        .unwrap();
    assert_eq!(huayu.contact_name, "张总");
    assert_eq!(huayu.contact_phone, "13912345678");
    let events = app.app.store.events(huayu.id).await.unwrap();
    assert_eq!(events[0].actor, "centre:zhang");
    assert_eq!(
        events[0].payload()["note"],
        "问题台账导入（滕州市洪绪镇人民政府，第7行）"
    );

    // Importing the same file again creates nothing new and says so.
    let (status, html) = app
        .upload(
            &session,
            "hongxu",
            "洪绪镇第47周问题台账.xlsx",
            town_workbook(&GOOD_ROWS),
            false,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        text_of(&html, "import-summary"),
        "滕州市洪绪镇人民政府：读取 3 行，新登记 0 条，此前已导入 3 条。"
    );
    assert_eq!(app.request_count().await, 3);

    // A ledger bigger than the request form's 64 KB limit still uploads (up to 10 MB).
    let mut csv = String::from(
        "序号,企业名称,存在问题、困难、诉求描述,建议解决部门,企业联系人及联系方式,备注\n",
    );
    for n in 1..=300 {
        csv.push_str(&format!(
            "{n},滕州市第{n}号机械制造有限公司,第{n}号企业反映：厂区周边道路年久失修，雨后积水，大货车无法通行，\
             影响原材料进厂和产品出厂，请协调有关部门尽快维修。,交通运输局,王经理 138{n:08},\n"
        ));
    }
    assert!(csv.len() > 64 * 1024);
    let (status, html) = app
        .upload(&session, "hongxu", "large.csv", csv.into_bytes(), false)
        .await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(app.request_count().await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_with_bad_rows_creates_nothing_unless_only_the_valid_rows_are_asked_for() {
    let app = spawn_app().await;
    let session = app.login("zhang").await;
    // A CSV saved by Excel (UTF-8 with BOM): rows 4 and 6 are fine, 5 and 7 are not.
    let csv = "\u{FEFF}企业发展、项目建设问题台账\n提报单位：洪绪镇,提报时间：2026年11月20日\n\
        序号,企业名称,存在问题、困难、诉求描述,建议解决部门,企业联系人及联系方式,备注\n\
        1,滕州市恒达机械制造有限公司,厂区门前道路积水严重，货车无法进出，请协调修复。,住建局,王经理 13812345678,\n\
        2,,路坏了,住建局,王经理,\n\
        3,滕州市鑫源食品有限公司,申请技术改造补贴，不清楚申报条件和时间。,工信局,李明 0632-5512345,\n\
        4,滕州市华宇建材有限公司,施工许可证审批进度较慢，请协调加快办理。,,张总 1234567,\n";

    // All or nothing: refused, every bad row named by its row number, nothing created.
    let (status, html) = app
        .upload(
            &session,
            "hongxu",
            "ledger.csv",
            csv.as_bytes().to_vec(),
            false,
        )
        .await;
    assert_eq!(status, 422);
    let problems = text_of(&html, "import-problems");
    assert!(
        problems.contains(
            "第5行企业名称：请填写企业名称存在问题、困难、诉求描述：请把问题描述得具体一些（至少10个字）企业联系人及联系方式：请写明联系电话（如“王经理 13812345678”）"
        ),
        "{problems}"
    );
    assert!(
        problems.contains(
            "第7行企业联系人及联系方式：请填写有效的手机号或固定电话（如 13812345678 或 0632-5512345）"
        ),
        "{problems}"
    );
    assert!(!problems.contains("第4行") && !problems.contains("第6行"));
    assert!(html.contains("未导入：文件中有 2 行需要修改"));
    assert_eq!(app.request_count().await, 0);

    // Only the valid rows: two created, the two bad ones still listed.
    let (status, html) = app
        .upload(
            &session,
            "hongxu",
            "ledger.csv",
            csv.as_bytes().to_vec(),
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        text_of(&html, "import-summary"),
        "滕州市洪绪镇人民政府：读取 4 行，新登记 2 条，此前已导入 0 条，有误未导入 2 行。"
    );
    assert!(text_of(&html, "import-problems").contains("第5行"));
    assert_eq!(app.request_count().await, 2);

    // The corrected file: only the two rows that were missing are created.
    let corrected = csv
        .replace(
            "2,,路坏了,住建局,王经理,",
            "2,滕州市通达物流有限公司,物流园区道路坏了，车辆通行困难。,住建局,王经理 13712345678,",
        )
        .replace("张总 1234567", "张总 13912345678");
    let (status, html) = app
        .upload(
            &session,
            "hongxu",
            "ledger.csv",
            corrected.into_bytes(),
            false,
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(text_of(&html, "import-summary").contains("新登记 2 条，此前已导入 2 条"));
    assert_eq!(app.request_count().await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cells_stay_text_escaped_on_pages_and_never_formulas_in_exports() {
    let app = spawn_app().await;
    let session = app.login("zhang").await;
    let formula = "=HYPERLINK(\"http://evil.example\",\"点击查看补贴政策详情\")";
    let csv = format!(
        "序号,企业名称,存在问题、困难、诉求描述,建议解决部门,企业联系人及联系方式,备注\n\
         1,<script>alert('x')</script>滕州某某有限公司,\"{}\",@SUM(A1),\"+王经理 13812345678\",\n",
        formula.replace('"', "\"\"")
    );
    let (status, html) = app
        .upload(&session, "hongxu", "hostile.csv", csv.into_bytes(), false)
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("<script>alert"));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;&#x2F;script&gt;")
            || html.contains("&lt;script&gt;")
    );

    // Stored as typed; escaped on the order page.
    let row = &app
        .app
        .store
        .requests_page(&RequestFilter::default(), 1, 0)
        .await
        .unwrap()[0];
    assert_eq!(
        row.enterprise_name,
        "<script>alert('x')</script>滕州某某有限公司"
    );
    assert_eq!(row.description, formula);
    let page = app
        .console_get(
            &session,
            &format!("/console/requests/{}", row.tracking_number),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("&lt;script&gt;alert"));
    assert!(!page.contains("<script>alert"));

    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string();
    let download = |format: &str| {
        format!("/console/ledgers/export?table=ledger&from={today}&to={today}&format={format}")
    };

    // CSV: every formula-like cell begins with an apostrophe.
    let csv = app
        .console_get(&session, &download("csv"))
        .await
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let data = text.lines().nth(3).unwrap();
    assert!(data.contains(",'@SUM(A1),"), "{data}");
    assert!(data.contains("\"'=HYPERLINK("), "{data}");
    assert!(data.contains(",'+王经理 13812345678,"), "{data}");

    // XLSX: the text as typed, as strings, and no formula anywhere.
    let xlsx = app
        .console_get(&session, &download("xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    let (rows, formulas) = sheet(&xlsx);
    assert_eq!(rows[3][2], formula);
    assert_eq!(rows[3][3], "@SUM(A1)");
    assert!(formulas.is_empty(), "{formulas:?}");

    // The printable page escapes the script.
    let print = app
        .console_get(&session, &download("html"))
        .await
        .text()
        .await
        .unwrap();
    assert!(print.contains("&lt;script&gt;alert"));
    assert!(!print.contains("<script>alert"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_or_foreign_files_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let session = app.login("zhang").await;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "truncated.xlsx",
            town_workbook(&GOOD_ROWS)[..400].to_vec(),
            "无法读取文件：XLSX 文件已损坏或不是 Excel 表格，请用 Excel 或 WPS 打开后另存为 .xlsx 再导入",
        ),
        (
            "picture.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            "无法读取文件：文件既不是 Excel 表格，也不是 UTF-8 或 GB18030（GBK）编码的 CSV 文件",
        ),
        (
            "contacts.csv",
            "姓名,电话\n王经理,13812345678\n".as_bytes().to_vec(),
            "找不到问题台账的表头",
        ),
        (
            "headers-only.csv",
            "序号,企业名称,存在问题、困难、诉求描述,建议解决部门,企业联系人及联系方式,备注\n1,,,,,\n"
                .as_bytes()
                .to_vec(),
            "表头下方没有问题记录",
        ),
        ("empty.csv", Vec::new(), "请选择要导入的台账文件"),
    ];
    for (name, bytes, message) in cases {
        let (status, html) = app.upload(&session, "hongxu", name, bytes, false).await;
        assert_eq!(status, 422, "{name}");
        assert!(
            text_of(&html, "import-error").starts_with(message),
            "{name}: {html}"
        );
    }
    // A department does not send a ledger.
    let (status, html) = app
        .upload(
            &session,
            "tax",
            "ledger.xlsx",
            town_workbook(&GOOD_ROWS),
            false,
        )
        .await;
    assert_eq!(status, 422);
    assert!(text_of(&html, "import-error").contains("不是镇街或开发区"));
    assert_eq!(app.request_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_download_every_table_but_cannot_import() {
    let app = spawn_app().await;
    order_through_its_life(&app.app).await;
    let leader = app.login("lingdao").await;

    let page = app
        .console_get(&leader, "/console/ledgers")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("附件5 企业发展、项目建设问题解决情况满意度评价表"));
    assert!(!page.contains("/console/ledgers/import\">"));

    let response = app
        .console_get(&leader,
            "/console/ledgers/export?table=satisfaction&from=2026-11-01&to=2026-11-30&unit=tax&format=xlsx",
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
        disposition.starts_with("attachment; filename=\"satisfaction_2026-11-01_2026-11-30.xlsx\"")
    );
    // 附件5满意度评价表_2026-11-01至2026-11-30_市税务局.xlsx
    assert!(
        disposition.contains("filename*=UTF-8''%E9%99%84%E4%BB%B65"),
        "{disposition}"
    );
    let rows = data_rows(&response.bytes().await.unwrap());
    assert_eq!(rows[0][4], "比较满意");

    let print = app
        .console_get(
            &leader,
            "/console/ledgers/export?table=dispatch&from=2026-11-01&to=2026-11-30&format=html",
        )
        .await;
    assert_eq!(print.status(), 200);
    assert!(
        print.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("style-src 'unsafe-inline'")
    );
    assert!(
        print
            .text()
            .await
            .unwrap()
            .contains("国家税务总局滕州市税务局（协办：滕州市财政局）")
    );

    // A period that ends before it starts is explained on the form.
    let wrong = app
        .console_get(
            &leader,
            "/console/ledgers/export?table=ledger&from=2026-11-30&to=2026-11-01&format=csv",
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(
        text_of(&wrong.text().await.unwrap(), "ledger-error").trim(),
        "结束日期（2026-11-01）不能早于开始日期（2026-11-30）"
    );

    // A leader reads but never imports.
    let (status, html) = app
        .upload(
            &leader,
            "hongxu",
            "ledger.xlsx",
            town_workbook(&GOOD_ROWS),
            false,
        )
        .await;
    assert_eq!(status, 403);
    assert!(html.contains("领导账号只能查看"));
    assert_eq!(app.request_count().await, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------------------------

/// Runs `qihu` with the settings of `dir` (as environment overrides).
fn qihu(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qihu"))
        .current_dir(dir)
        .env(
            "QIHU_STORAGE__DATABASE_URL",
            format!("sqlite://{}", dir.join("data/qihu.db").display()),
        )
        .env("QIHU_STORAGE__SECRET_FILE", dir.join("data/secret.key"))
        .env("QIHU_SITE__TEMPLATES_DIR", root().join("site-templates"))
        .env("QIHU_SEARCH__INDEX_DIR", dir.join("no-index"))
        .env("QIHU_SEARCH__ANALYSIS_DIR", root().join("config/search"))
        .env(
            "QIHU_DISPATCH__UNITS_FILE",
            root().join("config/units.toml"),
        )
        .env(
            "QIHU_DISPATCH__CATALOGUE_FILE",
            root().join("config/dispatch.toml"),
        )
        .env("QIHU_DISPATCH__AUTO", "false")
        .env("QIHU_CALENDAR__DIR", root().join("config/calendar"))
        .env("QIHU_MAIL__OUTBOX_DIR", dir.join("outbox"))
        .env("RUST_LOG", "error")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_command_line_imports_a_gbk_ledger_and_exports_it() {
    let dir = tempfile::tempdir().unwrap();
    // Older Excel saves CSV in GB18030 (GBK) on Chinese Windows.
    let csv = "提报单位：洪绪镇,提报时间：2026年11月20日\r\n\
        序号,企业名称,存在问题、困难、诉求描述,建议解决部门,企业联系人及联系方式,备注\r\n\
        1,滕州市恒达机械制造有限公司,厂区门前道路积水严重，货车无法进出，请协调修复。,住建局,王经理 13812345678,\r\n";
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(csv);
    assert!(!unmappable);
    std::fs::write(dir.path().join("ledger.csv"), &gbk).unwrap();

    // A file with a bad row: nothing imported, the row named with file and line, exit status 1.
    let bad = csv.replace("王经理 13812345678", "王经理");
    std::fs::write(dir.path().join("bad.csv"), bad).unwrap();
    let refused = qihu(
        dir.path(),
        &["import", "ledger", "bad.csv", "--unit", "hongxu"],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr
            .contains("bad.csv:3: 企业联系人及联系方式：请写明联系电话（如“王经理 13812345678”）"),
        "{stderr}"
    );
    assert!(stderr.contains("未导入任何内容"), "{stderr}");

    let imported = qihu(
        dir.path(),
        &["import", "ledger", "ledger.csv", "--unit", "hongxu"],
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let stdout = String::from_utf8_lossy(&imported.stdout);
    assert!(stdout.contains("新登记 1 条"), "{stdout}");
    let again = qihu(
        dir.path(),
        &["import", "ledger", "ledger.csv", "--unit", "hongxu"],
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("新登记 0 条，此前已导入 1 条"));

    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string();
    let exported = qihu(
        dir.path(),
        &[
            "export",
            "ledger",
            "--from",
            &today,
            "--to",
            &today,
            "--unit",
            "hongxu",
            "-o",
            "台账.xlsx",
        ],
    );
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert!(String::from_utf8_lossy(&exported.stdout).contains("共 1 条"));
    let rows = data_rows(&std::fs::read(dir.path().join("台账.xlsx")).unwrap());
    assert_eq!(rows[0][1], "滕州市恒达机械制造有限公司");
    assert_eq!(rows[0][4], "王经理 13812345678");

    let unknown = qihu(
        dir.path(),
        &[
            "export", "feedback", "--from", &today, "--to", &today, "-o", "out.pdf",
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("请用 --format 指定 xlsx、csv 或 html")
    );
}
