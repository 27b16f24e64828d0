//! Stories of requests the centre enters (登记诉求: 电话, 征询专员), local level first, rework and ratings.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// Requests the centre enters (登记诉求: 电话, 征询专员)
// ---------------------------------------------------------------------------------------------------------------

/// A call the centre takes: the entry form's fields, before any changes.
pub(crate) const PHONE_CALL: [(&str, &str); 9] = [
    ("channel", "phone"),
    ("kind", "help"),
    ("enterprise_name", "滕州市恒达机械制造有限公司"),
    ("contact_name", "王经理"),
    ("contact_phone", "13812345678"),
    ("contact_email", "wang@hengda.example"),
    ("town", "荆河街道"),
    ("description", OUTAGE),
    ("note", ""),
];

impl TestApp {
    /// Opens the centre's entry form and posts it as a browser does: the session's CSRF token, the page's
    /// one-time form token and the phone call's fields with `changes` applied.
    pub(crate) async fn enter_request(
        &self,
        session: &Session,
        changes: &[(&str, &str)],
    ) -> reqwest::Response {
        let page = self.console_page(session, "/console/requests/new").await;
        let form_token = hidden(&page, "form_token");
        let mut fields: Vec<(&str, &str)> = PHONE_CALL
            .iter()
            .map(|&(name, value)| {
                let changed = changes.iter().find(|(changed, _)| *changed == name);
                (name, changed.map_or(value, |&(_, value)| value))
            })
            .collect();
        fields.push(("csrf_token", &session.csrf));
        fields.push(("form_token", &form_token));
        self.console_post(session, "/console/requests/new", &fields)
            .await
    }

    /// How many requests the database holds.
    pub(crate) async fn request_count(&self) -> i64 {
        self.app
            .store
            .count_requests(&RequestFilter::default())
            .await
            .unwrap()
    }
}

/// The tracking number in the order page's address the entry form redirects to.
pub(crate) fn entered_number(response: &reqwest::Response) -> String {
    let location = response.headers()["location"].to_str().unwrap();
    location
        .strip_prefix("/console/requests/")
        .and_then(|rest| rest.strip_suffix("?entered=1"))
        .unwrap_or_else(|| panic!("not the order page: {location}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_centre_enters_a_phone_request_which_is_handled_like_a_web_request() {
    // Automatic dispatch on, as for the web intake tests.
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;

    // The form is linked from the queue and asks for the channel: phone or collector, never the web.
    let queue = app.console_page(&session, "/console").await;
    assert!(queue.contains("href=\"/console/requests/new\""), "{queue}");
    let page = app.console_page(&session, "/console/requests/new").await;
    for expected in [
        "受理渠道",
        "value=\"phone\"",
        "value=\"collector\"",
        "备注",
        "name=\"enterprise_name\"",
        "name=\"credit_code\"",
        "name=\"suggested_department\"",
        "name=\"policy\"",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("value=\"web\""));

    // Entered: 303 to the order page.
    let response = app.enter_request(&session, &[]).await;
    assert_eq!(response.status(), 303);
    let number = entered_number(&response);
    let row = app.stored(&number).await;
    assert_eq!(row.channel, "phone");
    assert_eq!(row.enterprise_name, "滕州市恒达机械制造有限公司");

    // The first event names the centre user and keeps the channel; automatic dispatch followed as for the web.
    let events = app.app.store.events(row.id).await.unwrap();
    assert_eq!(events[0].kind(), "submitted");
    assert_eq!(events[0].actor, "centre:zhang");
    assert_eq!(events[0].payload()["channel"], "phone");
    assert_eq!(row.status, Status::Dispatched);
    assert_eq!(row.lead_unit.as_deref(), Some("power"));
    assert_eq!(events[1].actor, "system:auto-dispatch");

    // The enterprise gets its receipt with a tracking link; the power company gets the order.
    app.drain().await;
    let receipt = sink
        .to("wang@hengda.example")
        .into_iter()
        .find(|mail| mail.subject == format!("【企业诉求】已受理：{number}"))
        .expect("a receipt");
    assert_eq!(sink.to("power-handler@tengzhou.example").len(), 1);
    let tracking = receipt
        .text
        .lines()
        .find(|line| line.contains("/track/"))
        .map(|line| TestApp::path_of(line.trim()))
        .expect("a tracking link");
    // The enterprise's page says the centre entered it, without naming the staff member.
    let public = app.get(&tracking).await.text().await.unwrap();
    assert!(
        public.contains("推进中心已登记诉求（受理渠道：电话）"),
        "{public}"
    );
    assert!(!public.contains("zhang"));

    // The order page and the list show the channel in Chinese, and who entered the request.
    let html = app
        .console_page(&session, &format!("/console/requests/{number}?entered=1"))
        .await;
    for expected in [
        &format!("诉求已登记，受理编号 {number}"),
        "<tr><th scope=\"row\">受理渠道</th><td>电话</td></tr>",
        "推进中心（zhang）",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let list = app.console_page(&session, "/console/requests").await;
    assert!(list.contains("<td data-label=\"渠道\">电话</td>"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_entered_consultation_is_answered_at_once_and_a_double_click_enters_it_once()
{
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let page = app.console_page(&session, "/console/requests/new").await;
    let form_token = hidden(&page, "form_token");
    let fields = [
        ("csrf_token", session.csrf.as_str()),
        ("form_token", form_token.as_str()),
        ("channel", "电话"),
        ("kind", "consultation"),
        ("enterprise_name", "滕州市恒达机械制造有限公司"),
        ("contact_name", "王经理"),
        ("contact_phone", "13812345678"),
        ("town", "荆河街道"),
        ("description", "请问创业担保贷款最多能贷多少？"),
    ];

    let first = app
        .console_post(&session, "/console/requests/new", &fields)
        .await;
    let second = app
        .console_post(&session, "/console/requests/new", &fields)
        .await;

    assert_eq!(first.status(), 303);
    assert_eq!(second.status(), 303);
    let number = entered_number(&first);
    assert_eq!(entered_number(&second), number);
    assert_eq!(app.request_count().await, 1);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::Answered);
    assert_eq!(row.channel, "phone");
    let events = app.app.store.events(row.id).await.unwrap();
    assert_eq!(events[0].kind(), "answered");
    assert_eq!(events[0].actor, "centre:zhang");
    // The centre reads the policy base's answer out to the caller; no address, so no tracking link went out.
    let html = app
        .console_page(&session, &format!("/console/requests/{number}?entered=1"))
        .await;
    assert!(html.contains("已依据《"), "{html}");
    assert!(html.contains("企业未留电子邮箱"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_collectors_entry_keeps_its_note() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let note = "提报单位：洪绪镇人民政府\n征询专员：李明（第12周问题台账）";

    let response = app
        .enter_request(
            &session,
            &[
                ("channel", "collector"),
                ("town", "洪绪镇"),
                ("contact_email", ""),
                ("note", note),
            ],
        )
        .await;

    assert_eq!(response.status(), 303);
    let number = entered_number(&response);
    let row = app.stored(&number).await;
    assert_eq!(row.channel, "collector");
    assert_eq!(
        row.status,
        Status::New,
        "automatic dispatch is off: the queue"
    );
    let events = app.app.store.events(row.id).await.unwrap();
    assert_eq!(events[0].actor, "centre:zhang");
    assert_eq!(events[0].payload()["channel"], "collector");
    assert_eq!(events[0].payload()["note"], note);
    let html = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    for expected in [
        "<tr><th scope=\"row\">受理渠道</th><td>征询专员</td></tr>",
        "<dt>备注</dt>",
        "提报单位：洪绪镇人民政府",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let queue = app.console_page(&session, "/console").await;
    assert!(queue.contains(&number));
    assert!(queue.contains("<span>征询专员</span>"), "{queue}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_invalid_entry_is_shown_again_with_each_error_and_creates_nothing() {
    let (app, sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;

    let response = app
        .enter_request(
            &session,
            &[
                ("channel", "web"),
                ("contact_phone", "12345"),
                ("description", "路坏了"),
                ("note", "提报单位：荆河街道"),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for expected in [
        "id=\"channel-error\">受理渠道应为电话或征询专员</p>",
        "id=\"contact_phone-error\">请填写有效的手机号或固定电话",
        "id=\"description-error\">请把问题描述得具体一些（至少10个字）</p>",
        // What was typed is kept.
        "value=\"滕州市恒达机械制造有限公司\"",
        "value=\"12345\"",
        ">路坏了</textarea>",
        ">提报单位：荆河街道</textarea>",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    // The page again carries a one-time form token for the corrected attempt.
    assert!(html.contains("name=\"form_token\""));
    assert_eq!(app.request_count().await, 0);
    app.drain().await;
    assert!(sink.messages().is_empty());

    // A missing channel is asked for too.
    let response = app.enter_request(&session, &[("channel", "")]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("请选择受理渠道（电话或征询专员）")
    );
    assert_eq!(app.request_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_leader_cannot_enter_a_request() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("leader", Role::Leader).await;
    let session = app.login("leader").await;

    // The page opens read-only, without the link in the navigation or a button to send.
    let page = app.console_page(&session, "/console/requests/new").await;
    assert!(page.contains("领导账号只读"));
    assert!(!page.contains(">登记</button>"));
    let queue = app.console_page(&session, "/console").await;
    assert!(!queue.contains("href=\"/console/requests/new\""));

    let response = app.enter_request(&session, &[]).await;

    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("领导账号只能查看"));
    assert_eq!(app.request_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn entering_a_request_needs_the_sessions_csrf_token() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    app.add_user("wang", Role::Centre).await;
    let session = app.login("zhang").await;
    let other = app.login("wang").await;

    for csrf in [None, Some(""), Some("forged"), Some(other.csrf.as_str())] {
        let mut fields = PHONE_CALL.to_vec();
        if let Some(csrf) = csrf {
            fields.push(("csrf_token", csrf));
        }
        let response = app
            .console_post(&session, "/console/requests/new", &fields)
            .await;
        assert_eq!(response.status(), 403, "{csrf:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("页面已过期或来源不明")
        );
    }
    // Without a session at all, the browser goes to the login page.
    let response = app
        .client
        .post(format!("{}/console/requests/new", app.base))
        .form(&PHONE_CALL)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(app.request_count().await, 0);
}

/// The path and token of the first link containing `marker` in a message's text.
pub(crate) fn link_in(message: &Received, marker: &str) -> (String, String) {
    let link = message
        .text
        .lines()
        .find(|line| line.contains(marker))
        .map(|line| TestApp::path_of(line.trim()))
        .unwrap_or_else(|| panic!("no {marker} link in {}", message.text));
    let token = link.split("token=").nth(1).unwrap().to_owned();
    (link, token)
}

/// A help request the catalogue dispatches to the power company: its number, its tracking token and the power
/// company's action-link token (from the dispatch e-mail).
pub(crate) async fn dispatched_power_order(
    app: &TestApp,
    sink: &SmtpSink,
) -> (String, String, String) {
    let created: Value = app
        .post_json(
            "/api/requests",
            &request("help", "我们厂区最近经常停电，电压也不稳，影响正常生产。"),
        )
        .await
        .json()
        .await
        .unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    let tracking_token = created["tracking_url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    app.drain().await;
    let directory =
        qihu_forms::dispatch::Directory::load(&root().join("config/units.toml")).unwrap();
    let handler = &directory.unit("power").unwrap().handlers[0];
    let dispatched = sink
        .to(handler)
        .into_iter()
        .find(|message| message.subject.contains(&number))
        .expect("the dispatch e-mail");
    let (_, unit_token) = link_in(&dispatched, "/unit/");
    (number, tracking_token, unit_token)
}

/// A dispatched power order the unit has accepted (a unit accepts before it reports): number, tracking token,
/// unit token.
pub(crate) async fn accepted_power_order(
    app: &TestApp,
    sink: &SmtpSink,
) -> (String, String, String) {
    let (number, tracking, unit) = dispatched_power_order(app, sink).await;
    let accepted = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit, "action": "accept" }),
        )
        .await;
    assert_eq!(accepted.status(), 200);
    (number, tracking, unit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_unsatisfied_enterprise_sends_the_order_back_and_a_second_round_goes_to_the_task_force()
 {
    let (app, sink) = spawn_app().await;
    let (number, tracking_token, unit_token) = accepted_power_order(&app, &sink).await;
    let directory =
        qihu_forms::dispatch::Directory::load(&root().join("config/units.toml")).unwrap();
    let handler = directory.unit("power").unwrap().handlers[0].clone();
    let resolve =
        |token: String| {
            let path = format!("/unit/{number}");
            let app = &app;
            async move {
                app.post_json(&path, &json!({
                "token": token, "action": "resolve", "solved": "yes",
                "method": "已检修线路", "contact_name": "李工", "contact_phone": "0632-5512345"
            }))
            .await
            }
        };
    assert_eq!(resolve(unit_token.clone()).await.status(), 200);
    app.drain().await;

    // The enterprise rates through the link in its e-mail (附件5).
    let resolved_mail = sink
        .to("wang@hengda.example")
        .into_iter()
        .find(|m| m.subject.contains("请评价"))
        .expect("a rating e-mail");
    let (rating_page, rating_token) = link_in(&resolved_mail, "/rate/");
    let page = app.get(&rating_page).await.text().await.unwrap();
    assert!(page.contains("满意度评价") && page.contains("不满意"));
    // The tracking token is not a rating token.
    let forged = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": tracking_token, "rating": "unsatisfied" }),
        )
        .await;
    assert_eq!(forged.status(), 404);
    let rated = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": rating_token, "rating": "unsatisfied", "comment": "电压仍然不稳" }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    let status = app.status_of(&number, &tracking_token).await;
    assert_eq!(status["status"], "rework", "{status}");
    // Returned the same day with 3 working days (notice §二(五)1), counted by the calendar.
    let calendar = qihu_forms::calendar::Calendar::load(&root().join("config/calendar")).unwrap();
    let due: chrono::DateTime<Utc> = status["deadline"].as_str().unwrap().parse().unwrap();
    assert!(
        due <= calendar.due(Utc::now(), 3)
            && due >= calendar.due(Utc::now() - chrono::Duration::minutes(5), 3)
    );
    app.drain().await;
    let returned = sink
        .to(&handler)
        .into_iter()
        .find(|m| m.subject.contains("重新办理"))
        .expect("the unit is told");
    assert!(returned.text.contains("电压仍然不稳"));
    let (_, rework_token) = link_in(&returned, "/unit/");

    // Second round: redone, still unsatisfied → the task force verifies (notice §二(四)3).
    assert_eq!(resolve(rework_token).await.status(), 200);
    app.drain().await;
    let second = sink
        .to("wang@hengda.example")
        .into_iter()
        .filter(|m| m.subject.contains("请评价"))
        .nth(1)
        .expect("a second rating e-mail");
    let (_, second_token) = link_in(&second, "/rate/");
    let rated = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": second_token, "rating": "不满意" }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    let status = app.status_of(&number, &tracking_token).await;
    assert_eq!(status["status"], "verification");
    let labels: Vec<&str> = status["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.iter().any(|l| l.contains("已退回承办单位重新办理")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.contains("待工作专班核查")),
        "{labels:?}"
    );
    // Rating again is refused in plain words.
    let again = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": second_token, "rating": "非常满意" }),
        )
        .await;
    assert_eq!(again.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_satisfied_rating_closes_the_order() {
    let (app, sink) = spawn_app().await;
    let (number, tracking_token, unit_token) = accepted_power_order(&app, &sink).await;
    let resolved = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({
                "token": unit_token, "action": "resolve", "solved": "yes",
                "method": "已检修线路", "contact_name": "李工", "contact_phone": "0632-5512345"
            }),
        )
        .await;
    assert_eq!(resolved.status(), 200);
    // Rating before the unit reported is impossible; after it, 比较满意 closes the order.
    app.drain().await;
    let mail = sink
        .to("wang@hengda.example")
        .into_iter()
        .find(|m| m.subject.contains("请评价"))
        .unwrap();
    let (_, rating_token) = link_in(&mail, "/rate/");
    let rated = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": rating_token, "rating": "fairly_satisfied" }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    let status = app.status_of(&number, &tracking_token).await;
    assert_eq!(status["status"], "closed");
    assert_eq!(status["status_label"], "已办结");
    // A bad level gets a clear message.
    let bad = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": rating_token, "rating": "一般" }),
        )
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_centre_records_a_call_back_and_false_feedback() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, _, unit_token) = accepted_power_order(&app, &sink).await;
    let resolved = app
        .post_json(&format!("/unit/{number}"), &json!({
            "token": unit_token, "action": "resolve", "solved": "yes",
            "method": "已电话联系企业并检修线路", "contact_name": "李工", "contact_phone": "0632-5512345"
        }))
        .await;
    assert_eq!(resolved.status(), 200);
    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("电话回访（满意度评价）"));
    let response = app
        .console_post(
            &session,
            &format!("/console/requests/{number}/call-back"),
            &[
                ("csrf_token", session.csrf.as_str()),
                ("rating", "unsatisfied"),
                ("comment", "根本没人联系过我们"),
                ("false_feedback", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.stored(&number).await.status, Status::Rework);
    let events = app
        .app
        .store
        .events(app.stored(&number).await.id)
        .await
        .unwrap();
    let false_feedback = events
        .iter()
        .find(|e| e.kind() == "false_feedback")
        .expect("false feedback recorded");
    assert_eq!(false_feedback.payload()["unit"], "power");
    assert_eq!(false_feedback.actor, "centre:zhang");
    let returned = events.iter().find(|e| e.kind() == "returned").unwrap();
    assert_eq!(returned.payload()["rating"]["channel"], "call_back");
    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(
        page.contains("电话回访") && page.contains("根本没人联系过我们"),
        "the order page shows the call-back"
    );

    // A call-back that comes too late (the order is in rework now, nothing to rate) records nothing, the false
    // feedback it carries included: both go in one transaction or not at all.
    let late = app
        .console_post(
            &session,
            &format!("/console/requests/{number}/call-back"),
            &[
                ("csrf_token", session.csrf.as_str()),
                ("rating", "unsatisfied"),
                ("comment", "还是没人联系"),
                ("false_feedback", "1"),
            ],
        )
        .await;
    assert_eq!(late.status(), 409);
    let after = app
        .app
        .store
        .events(app.stored(&number).await.id)
        .await
        .unwrap();
    assert_eq!(after.len(), events.len(), "nothing recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_approved_plan_moves_the_deadline_to_its_committed_date() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, _, unit_token) = accepted_power_order(&app, &sink).await;
    let committed = (Utc::now() + chrono::Duration::days(45)).date_naive();
    let planned = app
        .post_json(&format!("/unit/{number}"), &json!({
            "token": unit_token, "action": "plan",
            "committed_date": committed.to_string(), "reason": "需新建专用变压器，设备采购周期约40天"
        }))
        .await;
    assert_eq!(planned.status(), 200);
    assert_eq!(app.stored(&number).await.status, Status::Planned);
    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("批准解决方案"));
    let approved = app
        .console_post(
            &session,
            &format!("/console/requests/{number}/approve-plan"),
            &[("csrf_token", session.csrf.as_str())],
        )
        .await;
    assert_eq!(approved.status(), 303);
    let order = app.stored(&number).await;
    assert_eq!(order.status, Status::Accepted);
    assert_eq!(
        order.due_at,
        Some(qihu_forms::calendar::end_of_day(committed))
    );
    // Approving twice is refused.
    let again = app
        .console_post(
            &session,
            &format!("/console/requests/{number}/approve-plan"),
            &[("csrf_token", session.csrf.as_str())],
        )
        .await;
    assert_ne!(again.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_order_page_shows_the_lead_units_supervision_card() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, _, _) = dispatched_power_order(&app, &sink).await;
    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("card-green\">绿牌"), "green while on time");
    // Past the deadline without a report: the supervision pass shows a yellow card.
    let later = Utc::now() + chrono::Duration::days(15);
    let report = qihu_forms::sla::cards::supervise(&app.app.forms.forms, later)
        .await
        .unwrap();
    assert_eq!(report.overdue, 1);
    let events = app
        .app
        .store
        .events(app.stored(&number).await.id)
        .await
        .unwrap();
    assert!(events.iter().any(|event| event.kind() == "yellow_card"));
}
