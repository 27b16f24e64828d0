//! Stories of the centre's console (推进中心工作台): sign-in, the queue, dispatch, the leaders' read-only view.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// The centre's console (推进中心工作台)
// ---------------------------------------------------------------------------------------------------------------

/// A server for the console: automatic dispatch off, so new requests wait in the centre's queue.
pub(crate) async fn spawn_console_app() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    sink.serve(listener);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path(), port);
    settings.dispatch.auto = false;
    (spawn_app_with(dir, settings).await, sink)
}

/// The `name=value` of a cookie the response sets, with its attributes.
pub(crate) fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The message of the login page's error paragraph.
pub(crate) fn login_error(html: &str) -> String {
    html.split("id=\"login-error\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_owned()
}

impl TestApp {
    /// Posts the dispatch form of order `number` with the session's CSRF token.
    pub(crate) async fn dispatch(
        &self,
        session: &Session,
        number: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &session.csrf));
        self.console_post(
            session,
            &format!("/console/requests/{number}/dispatch"),
            &fields,
        )
        .await
    }
}

pub(crate) const OUTAGE: &str =
    "我们厂区最近经常停电，电压也不稳，影响正常生产，请帮忙协调供电部门解决。";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn console_login_opens_a_session_and_answers_wrong_passwords_alike() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;

    // A wrong password and an unknown user get the same answer, and no session.
    let wrong = app.login_attempt("zhang", "不是这个密码123456").await;
    let unknown = app.login_attempt("nobody", PASSWORD).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert!(set_cookie(&wrong, "qihu_session").is_none());
    let (wrong, unknown) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(login_error(&wrong), "用户名或密码不正确");
    assert_eq!(login_error(&unknown), login_error(&wrong));
    assert!(wrong.contains("value=\"zhang\""), "the username is kept");

    // The right password: a session cookie only the console sees, then the queue.
    let response = app.login_attempt("Zhang", PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console");
    let cookie = set_cookie(&response, "qihu_session").unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    // Only the token's hash is stored: the token itself opens no session in the database.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("qihu_session=");
    let now = Utc::now();
    assert!(
        app.app
            .store
            .session_user(token, now)
            .await
            .unwrap()
            .is_none()
    );
    let hash = qihu_forms::domain::TokenHash::of_presented(token);
    let (user, _) = app
        .app
        .store
        .session_user(hash.as_str(), now)
        .await
        .unwrap()
        .expect("the session is stored by its hash");
    assert_eq!(user.username, "zhang");

    let session = app.login("zhang").await;
    let page = app.console_get(&session, "/console").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("张主任（推进中心）"), "{html}");
    assert!(html.contains("待派单"));
    // From November on, staff are warned while next year's holiday notice is missing (by the real date here).
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let next = chrono::Datelike::year(&today) + 1;
    let expected = chrono::Datelike::month(&today) >= 11
        && !root().join(format!("config/calendar/{next}.toml")).exists();
    assert_eq!(
        html.contains(&format!("工作日历缺少{next}年的节假日安排")),
        expected,
        "{html}"
    );

    // Logging out ends the session.
    let response = app
        .console_post(
            &session,
            "/console/logout",
            &[("csrf_token", &session.csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console/login");
    let after = app.console_get(&session, "/console").await;
    assert_eq!(after.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn login_attempts_are_limited_per_address() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    for _ in 0..10 {
        let response = app.login_attempt("zhang", "猜一猜密码是什么呢").await;
        assert_eq!(response.status(), 401);
    }
    // Even the right password waits now.
    let response = app.login_attempt("zhang", PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(set_cookie(&response, "qihu_session").is_none());
    assert!(response.text().await.unwrap().contains("登录尝试过于频繁"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn console_pages_without_a_session_send_the_browser_to_login() {
    let (app, _sink) = spawn_console_app().await;
    let number = app.submit(&request("help", OUTAGE)).await;
    for path in [
        "/console".to_owned(),
        "/console/requests?status=new".to_owned(),
        format!("/console/requests/{number}"),
        "/console/knowledge-gaps".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("/console/login"),
            "{path} → {location}"
        );
    }
    // The login page brings the user back to the page they wanted.
    let response = app.get("/console/knowledge-gaps").await;
    assert_eq!(
        response.headers()["location"],
        "/console/login?next=%2Fconsole%2Fknowledge-gaps"
    );
    // A forged session cookie opens nothing, and a POST without a session changes nothing.
    let forged = Session {
        cookie: "qihu_session=forged".to_owned(),
        csrf: "forged".to_owned(),
    };
    assert_eq!(app.console_get(&forged, "/console").await.status(), 303);
    let response = app
        .console_post(
            &forged,
            &format!("/console/requests/{number}/dispatch"),
            &[("csrf_token", "forged"), ("lead_unit", "power")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::New);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_queue_shows_a_new_request_with_the_catalogues_suggestion() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let older = app
        .submit(&request(
            "help",
            "门口道路破损，货车进出困难，希望协调修复。",
        ))
        .await;
    let number = app.submit(&request("help", OUTAGE)).await;
    let session = app.login("zhang").await;

    let html = app.console_page(&session, "/console").await;
    assert!(html.contains(&number), "{html}");
    assert!(
        html.find(&older).unwrap() < html.find(&number).unwrap(),
        "oldest first"
    );
    assert!(html.contains("（2 件）"));
    // The suggestion: the power company leads, and why.
    assert!(html.contains("派单目录建议：</strong>首接单位 国网山东省电力公司滕州市供电公司"));
    assert!(html.contains("诉求中出现“停电”"), "{html}");
    // The dispatch form starts from the suggestion.
    let form = html
        .split(&format!("/console/requests/{number}/dispatch"))
        .nth(1)
        .unwrap();
    assert!(form.contains("<option value=\"power\" selected>"), "{form}");
    assert!(form.contains("name=\"co_units\""));
    // 第一时间转办: each request shows the end of its dispatch limit; none is late yet.
    assert!(html.contains("转办时限："), "{html}");
    assert!(!html.contains("已超过转办时限"));

    // A request that came in a week ago and still waits is marked late.
    let form = qihu_forms::domain::RequestForm {
        kind: Some("help".to_owned()),
        enterprise_name: Some("滕州市宏达包装有限公司".to_owned()),
        contact_name: Some("刘经理".to_owned()),
        contact_phone: Some("13912345678".to_owned()),
        town: Some("荆河街道".to_owned()),
        description: Some("园区路灯不亮，夜间车辆通行不安全。".to_owned()),
        ..qihu_forms::domain::RequestForm::default()
    };
    let late =
        qihu_forms::domain::NewRequest::parse(&form, qihu_forms::domain::Channel::Web).unwrap();
    let submitted = app
        .forms()
        .submit(&late, None, Utc::now() - chrono::Duration::days(7))
        .await
        .unwrap();
    let html = app.console_page(&session, "/console").await;
    let item = html
        .split(&format!("{}</a>", submitted.row.tracking_number))
        .nth(1)
        .unwrap()
        .split("</li>")
        .next()
        .unwrap();
    assert!(item.contains("已超过转办时限"), "{item}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn dispatch_from_the_console_sends_the_order_and_can_be_redone() {
    let (app, sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let number = app.submit(&request("help", OUTAGE)).await;
    let session = app.login("zhang").await;

    let response = app
        .dispatch(
            &session,
            &number,
            &[
                ("lead_unit", "power"),
                ("co_units", "jinghe"),
                ("reason", "企业反映频繁停电，属供电保障事项"),
                ("return_to", "queue"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/console?dispatched={number}"));
    let queue = app.console_page(&session, &location).await;
    assert!(queue.contains(&format!("受理编号 {number} 已派单")));
    assert!(queue.contains("目前没有待派单的诉求"));

    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::Dispatched);
    assert_eq!(row.lead_unit.as_deref(), Some("power"));
    assert_eq!(row.co_units, ["jinghe"]);
    let events = app.app.store.events(row.id).await.unwrap();
    let dispatched = events.iter().find(|e| e.kind() == "dispatched").unwrap();
    assert_eq!(dispatched.actor, "centre:zhang");

    // The unit's handler gets the work order by e-mail.
    app.drain().await;
    let mails = sink.to("power-handler@tengzhou.example");
    assert_eq!(mails.len(), 1, "{:?}", sink.messages());
    assert!(mails[0].subject.contains(&number));
    assert!(mails[0].text.contains("/unit/"));
    assert_eq!(sink.to("jinghe-handler@tengzhou.example").len(), 1);

    // The order page: every field, who dispatched and why, and the re-dispatch form.
    let html = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    for expected in [
        "滕州市恒达机械制造有限公司",
        "13812345678",
        "wang@hengda.example",
        "已派单，等待承办单位受理",
        "推进中心（zhang）",
        "企业反映频繁停电，属供电保障事项",
        "5个工作日（不含派单当日，按国务院节假日安排计算）",
        "工作日历 2022–2026",
        "滕州市荆河街道办事处",
        "改派原因",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }

    // Re-dispatch (改派) needs a reason, then goes to the new unit.
    let refused = app
        .dispatch(&session, &number, &[("lead_unit", "tax"), ("reason", "")])
        .await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("改派请填写改派原因"));
    let response = app
        .dispatch(
            &session,
            &number,
            &[("lead_unit", "tax"), ("reason", "经核实属税务事项")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        format!("/console/requests/{number}?dispatched=1")
    );
    let row = app.stored(&number).await;
    assert_eq!(row.lead_unit.as_deref(), Some("tax"));
    assert!(row.co_units.is_empty());
    app.drain().await;
    assert_eq!(sink.to("tax-handler@tengzhou.example").len(), 1);
    // An unknown unit is refused in plain words.
    let response = app
        .dispatch(
            &session,
            &number,
            &[("lead_unit", "no-such-unit"), ("reason", "测试")],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("找不到承办单位"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_leader_reads_every_page_but_every_post_is_refused() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("leader", Role::Leader).await;
    let number = app.submit(&request("help", OUTAGE)).await;
    let session = app.login("leader").await;
    for path in [
        "/console".to_owned(),
        "/console/requests".to_owned(),
        format!("/console/requests/{number}"),
        "/console/knowledge-gaps".to_owned(),
    ] {
        let response = app.console_get(&session, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(!html.contains("确认派单"), "no dispatch form on {path}");
        if path.ends_with(&number) || path == "/console" {
            assert!(html.contains(&number));
        }
    }
    let response = app
        .dispatch(
            &session,
            &number,
            &[("lead_unit", "power"), ("reason", "领导批示")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("领导账号只能查看"));
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::New);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn console_posts_without_the_sessions_csrf_token_are_refused() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    app.add_user("wang", Role::Centre).await;
    let number = app.submit(&request("help", OUTAGE)).await;
    let session = app.login("zhang").await;
    let other = app.login("wang").await;
    let path = format!("/console/requests/{number}/dispatch");
    for csrf in [None, Some(""), Some("forged"), Some(other.csrf.as_str())] {
        let mut fields = vec![("lead_unit", "power"), ("reason", "测试")];
        if let Some(csrf) = csrf {
            fields.push(("csrf_token", csrf));
        }
        let response = app.console_post(&session, &path, &fields).await;
        assert_eq!(response.status(), 403, "{csrf:?}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("页面已过期或来源不明")
        );
    }
    // Logging out needs it too.
    let response = app.console_post(&session, "/console/logout", &[]).await;
    assert_eq!(response.status(), 403);
    // The login form has its own token.
    let response = app
        .client
        .post(format!("{}/console/login", app.base))
        .form(&[("username", "zhang"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(set_cookie(&response, "qihu_session").is_none());
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::New);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_consultation_escalated_after_its_instant_answer_is_a_knowledge_gap_with_that_answer()
 {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let response = app
        .post_json(
            "/api/requests",
            &request("consultation", "请问创业担保贷款最多能贷多少？"),
        )
        .await;
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["instant_answer"]["answered"], true);
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    let session = app.login("zhang").await;
    let before = app.console_page(&session, "/console/knowledge-gaps").await;
    assert!(!before.contains(&number), "an accepted answer is no gap");

    let tracking = TestApp::path_of(created["tracking_url"].as_str().unwrap());
    let token = tracking.split("token=").nth(1).unwrap();
    let response = app
        .post_json(
            &format!("/api/requests/{number}/escalate"),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = app.console_page(&session, "/console/knowledge-gaps").await;
    assert!(html.contains(&number), "{html}");
    assert!(html.contains("已答复，企业仍转人工"), "{html}");
    let title = created["instant_answer"]["answer"]["title"]
        .as_str()
        .unwrap();
    assert!(html.contains(title), "the answer it got is shown: {title}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_knowledge_gaps_page_lists_unanswered_consultations() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let question = "我们想了解一下出口退税率在哪里可以查到？";
    let gap = app.submit(&request("consultation", question)).await;
    let answered = app
        .submit(&request("consultation", "请问创业担保贷款最多能贷多少？"))
        .await;
    let session = app.login("zhang").await;
    let html = app.console_page(&session, "/console/knowledge-gaps").await;
    assert!(html.contains(question), "{html}");
    assert!(html.contains(&gap));
    assert!(html.contains("滕州市恒达机械制造有限公司"));
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    assert!(html.contains(&today));
    assert!(
        !html.contains(&answered),
        "answered consultations are no gap"
    );
    assert!(html.contains("（1 条）"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_list_of_every_order_searches_filters_and_pages() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let mut numbers = Vec::new();
    for n in 0..52 {
        let mut body = request(
            "help",
            &format!("第{n}号诉求：门前道路破损，希望协调修复。"),
        );
        body["enterprise_name"] = json!(format!("滕州市测试企业{n:02}有限公司"));
        numbers.push(app.submit(&body).await);
    }
    let outage = app.submit(&request("complaint", OUTAGE)).await;
    let session = app.login("zhang").await;
    let rows = |html: &str| html.matches("<td data-label=\"受理编号\">").count();

    let first = app.console_page(&session, "/console/requests").await;
    assert!(first.contains("（53 件）"));
    assert_eq!(rows(&first), 50);
    assert!(first.contains(&outage), "newest first");
    assert!(first.contains("第 1 页，共 2 页"));
    let second = app.console_page(&session, "/console/requests?page=2").await;
    assert_eq!(rows(&second), 3);
    assert!(second.contains(&numbers[0]));

    // Search by enterprise name, tracking number and description; filters by kind, status and unit.
    let search = |query: String| {
        let app = &app;
        let session = &session;
        async move {
            app.console_page(session, &format!("/console/requests?{query}"))
                .await
        }
    };
    let html = search("q=%E6%B5%8B%E8%AF%95%E4%BC%81%E4%B8%9A07".to_owned()).await; // 测试企业07
    assert_eq!(rows(&html), 1);
    assert!(html.contains(&numbers[7]));
    assert_eq!(rows(&search(format!("q={}", numbers[3])).await), 1);
    assert_eq!(rows(&search("q=%E5%81%9C%E7%94%B5".to_owned()).await), 1); // 停电
    assert_eq!(
        rows(&search("q=%25".to_owned()).await),
        0,
        "% is taken literally"
    );
    assert_eq!(rows(&search("kind=complaint".to_owned()).await), 1);
    app.dispatch(
        &session,
        &outage,
        &[("lead_unit", "jinghe"), ("co_units", "power")],
    )
    .await;
    let html = search("status=dispatched".to_owned()).await;
    assert_eq!(rows(&html), 1);
    assert!(html.contains("<option value=\"dispatched\" selected>"));
    assert_eq!(
        rows(&search("unit=power".to_owned()).await),
        1,
        "co-units count"
    );
    assert_eq!(rows(&search("unit=jinghe&status=new".to_owned()).await), 0);
    assert_eq!(rows(&search("status=new".to_owned()).await), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn script_in_request_fields_is_escaped_on_console_pages() {
    let (app, _sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    let script = "<script>alert('x')</script>";
    let mut hostile = request(
        "consultation",
        // A question about the enterprise's own case: never answered at once, so it is a knowledge gap.
        &format!("{script}帮我查一下我们公司的出口退税申请到哪一步了？"),
    );
    for field in ["enterprise_name", "contact_name", "town"] {
        hostile[field] = json!(format!("{script}{}", hostile[field].as_str().unwrap()));
    }
    let number = app.submit(&hostile).await;
    let session = app.login("zhang").await;
    for path in [
        "/console".to_owned(),
        "/console/requests?q=%3Cscript%3E".to_owned(),
        format!("/console/requests/{number}"),
        "/console/knowledge-gaps".to_owned(),
    ] {
        let html = app.console_page(&session, &path).await;
        assert!(html.contains(&number), "{path}");
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        assert!(html.contains("&lt;script&gt;"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn console_users_are_created_by_the_library_and_by_the_cli() {
    let (app, _sink) = spawn_console_app().await;
    let store = &app.app.store;

    // The library function the CLI calls.
    let id = console::create_user(store, "Li.Ming", None, PASSWORD, Role::Leader, Utc::now())
        .await
        .unwrap();
    let user = store.user_by_username("li.ming").await.unwrap().unwrap();
    assert_eq!(user.id, id);
    assert_eq!(user.role, "leader");
    assert_eq!(user.display_name, "li.ming");
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(!user.password_hash.contains(PASSWORD));
    let duplicate =
        console::create_user(store, "li.ming", None, PASSWORD, Role::Centre, Utc::now()).await;
    assert!(matches!(duplicate, Err(AccountError::DuplicateUsername(_))));
    let short = console::create_user(store, "short", None, "123456789", Role::Centre, Utc::now())
        .await
        .unwrap_err();
    assert_eq!(short.to_string(), "密码至少需要 10 个字符");

    // The command line, on the running server's database; the new user then logs in.
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("qihu.toml");
    std::fs::write(
        &config_file,
        format!(
            "[storage]\ndatabase_url = \"{}\"\n",
            app.settings.storage.database_url
        ),
    )
    .unwrap();
    let run = |username: &str| {
        Command::new(env!("CARGO_BIN_EXE_qihu"))
            .current_dir(config.path())
            .env("QIHU_PASSWORD", PASSWORD)
            .arg("--config")
            .arg(&config_file)
            .args([
                "user",
                "add",
                username,
                "--role",
                "centre",
                "--name",
                "王科长",
            ])
            .output()
            .unwrap()
    };
    let output = run("wang");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "已创建用户 wang（角色：推进中心）"
    );
    let again = run("wang");
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("用户名“wang”已存在"), "{stderr}");

    let session = app.login("wang").await;
    let html = app.console_page(&session, "/console").await;
    assert!(html.contains("王科长（推进中心）"));
}

/// A server whose settings the test adjusts first, with an SMTP sink that is up.
pub(crate) async fn spawn_app_adjusted(adjust: impl FnOnce(&mut Settings)) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    sink.serve(listener);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path(), port);
    adjust(&mut settings);
    (spawn_app_with(dir, settings).await, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn local_level_first_sends_to_the_town_which_can_hand_it_to_the_centre() {
    let (app, sink) = spawn_app_adjusted(|settings| settings.dispatch.local_first = true).await;
    let response = app
        .post_json(
            "/api/requests",
            &request(
                "help",
                "厂区最近经常停电，电压也不稳，影响生产，请协调供电部门。",
            ),
        )
        .await;
    let created: Value = response.json().await.unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    let token = created["tracking_url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let status = app.status_of(&number, &token).await;
    assert_eq!(status["unit"]["id"], "jinghe", "{status}");
    assert!(
        status["co_units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|unit| unit["id"] == "power")
    );
    app.drain().await;
    let directory =
        qihu_forms::dispatch::Directory::load(&root().join("config/units.toml")).unwrap();
    let town = directory.unit("jinghe").unwrap();
    let mail = sink
        .to(&town.handlers[0])
        .pop()
        .expect("the town got the order");
    let link = mail
        .text
        .lines()
        .find(|line| line.contains("/unit/"))
        .map(|line| TestApp::path_of(line.trim()))
        .unwrap();
    let unit_token = link.split("token=").nth(1).unwrap();
    let response = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "forward", "reason": "需协调供电公司，镇街层面无法解决" }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let status = app.status_of(&number, &token).await;
    assert_eq!(status["status"], "new");
    let last = status["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "forwarded");
    assert!(last["label"].as_str().unwrap().contains("报推进中心"));
    // A department may not use the town's hand-over.
    let power_mail = sink
        .to(&directory.unit("power").unwrap().handlers[0])
        .pop()
        .unwrap();
    let power_link = power_mail
        .text
        .lines()
        .find(|line| line.contains("/unit/"))
        .unwrap()
        .trim()
        .to_owned();
    let power_token = power_link.split("token=").nth(1).unwrap();
    let response = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": power_token, "action": "forward", "reason": "x" }),
        )
        .await;
    assert_eq!(response.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_form_is_protected_against_floods_and_bots() {
    let (app, _sink) = spawn_app_adjusted(|settings| settings.intake.per_minute = 2).await;
    let body = request(
        "suggestion",
        "建议在开发区增设一条公交线路，方便工人上下班。",
    );
    for _ in 0..2 {
        assert_eq!(app.post_json("/api/requests", &body).await.status(), 201);
    }
    let refused = app.post_json("/api/requests", &body).await;
    assert_eq!(refused.status(), 429);
    let message: Value = refused.json().await.unwrap();
    assert_eq!(message["error"], "提交过于频繁，请稍后再试");

    // Behind the city's reverse proxy (on loopback here), each enterprise has its own limit; a client cannot
    // dodge it by writing its own X-Forwarded-For, because only what the proxy appended counts.
    let (app, _sink) = spawn_app_adjusted(|settings| {
        settings.intake.per_minute = 2;
        settings.intake.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let via_proxy = |forwarded: &'static str| {
        app.client
            .post(format!("{}/api/requests", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&body)
            .send()
    };
    for _ in 0..2 {
        assert_eq!(via_proxy("222.173.10.7").await.unwrap().status(), 201);
        assert_eq!(via_proxy("60.213.4.9").await.unwrap().status(), 201);
    }
    assert_eq!(via_proxy("222.173.10.7").await.unwrap().status(), 429);
    assert_eq!(
        via_proxy("9.9.9.9, 222.173.10.7").await.unwrap().status(),
        429,
        "a forged entry at the left changes nothing"
    );

    let (app, _sink) = spawn_app().await;
    let mut bot = request(
        "suggestion",
        "建议在开发区增设一条公交线路，方便工人上下班。",
    );
    bot["website"] = json!("http://spam.example");
    assert_eq!(app.post_json("/api/requests", &bot).await.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_expired_unit_link_opens_nothing() {
    // Links that expire before the deadline itself: already expired when sent.
    let (app, sink) = spawn_app_adjusted(|settings| settings.dispatch.link_days = -30).await;
    let created: Value = app
        .post_json(
            "/api/requests",
            &request("help", "厂区最近经常停电，电压也不稳，影响生产。"),
        )
        .await
        .json()
        .await
        .unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    app.drain().await;
    let directory =
        qihu_forms::dispatch::Directory::load(&root().join("config/units.toml")).unwrap();
    let mail = sink
        .to(&directory.unit("power").unwrap().handlers[0])
        .pop()
        .unwrap();
    let link = mail
        .text
        .lines()
        .find(|line| line.contains("/unit/"))
        .map(|l| TestApp::path_of(l.trim()))
        .unwrap();
    assert_eq!(app.get(&link).await.status(), 404);
    let unit_token = link.split("token=").nth(1).unwrap();
    let response = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "accept" }),
        )
        .await;
    assert_eq!(response.status(), 404);
}
