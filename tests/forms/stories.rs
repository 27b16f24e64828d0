//! The forms backend end to end (the story suite, run on every backend): the real server on port 0 with a fresh
//! database and a real SMTP listener on loopback. Requests go in over HTTP; dispatch and handler actions are driven over HTTP; what arrives by SMTP is
//! asserted (recipients, Chinese subjects and bodies, working links). Nothing sleeps: the outbox is drained
//! explicitly.

use qihu_forms::order::Status;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use qihu::config::Settings;
use qihu::serve::App;
use qihu_forms::mail::drain_outbox;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{Received, SmtpSink, app_settings, root, serve_app};

/// The good fixture's site and index, built once by the real binary (consultations are answered from it).
pub(crate) fn fixture_index() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static BUILT: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("public");
        let index = dir.path().join("index");
        let output = Command::new(env!("CARGO_BIN_EXE_qihu"))
            .current_dir(root())
            .args([
                "build",
                "--policies",
                "tests/fixtures/good/policies",
                "--out",
            ])
            .arg(&site)
            .arg("--index")
            .arg(&index)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (dir, site, index)
    })
}

/// A running server with its own database, mail settings and client.
pub(crate) struct TestApp {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) base: String,
    pub(crate) app: Arc<App>,
    pub(crate) client: reqwest::Client,
    pub(crate) settings: Settings,
}

pub(crate) fn settings_in(dir: &Path, smtp_port: u16) -> Settings {
    let (_, site, index) = fixture_index();
    let mut settings = app_settings(dir);
    settings.site.output_dir = site.clone();
    settings.search.index_dir = index.clone();
    settings.mail.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
    settings.dispatch.auto = true;
    settings.intake.per_minute = 1000;
    settings.storage.database_url = crate::support::database_url(crate::BACKEND, dir);
    settings
}

pub(crate) async fn spawn_app_with(dir: tempfile::TempDir, settings: Settings) -> TestApp {
    let app = Arc::new(App::open(settings.clone()).await.expect("app opens"));
    let address = serve_app(&app).await;
    TestApp {
        _dir: dir,
        base: format!("http://{address}"),
        app,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        settings,
    }
}

/// A server and an SMTP sink that is up.
pub(crate) async fn spawn_app() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    sink.serve(listener);
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_in(dir.path(), port);
    (spawn_app_with(dir, settings).await, sink)
}

impl TestApp {
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn drain(&self) -> qihu_forms::mail::DrainReport {
        drain_outbox(&self.app.store, &self.app.mailer, Utc::now())
            .await
            .unwrap()
    }

    /// The public status of a request (`GET /api/requests/{number}`) with its tracking token.
    pub(crate) async fn status_of(&self, number: &str, token: &str) -> Value {
        let response = self
            .get(&format!("/api/requests/{number}?token={token}"))
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The path of a link (drops scheme and host of the public URL).
    pub(crate) fn path_of(url: &str) -> String {
        url.strip_prefix("http://qihu.test")
            .unwrap_or(url)
            .to_owned()
    }
}

pub(crate) fn request(kind: &str, description: &str) -> Value {
    json!({
        "kind": kind,
        "enterprise_name": "滕州市恒达机械制造有限公司",
        "credit_code": "",
        "contact_name": "王经理",
        "contact_phone": "13812345678",
        "contact_email": "wang@hengda.example",
        "town": "荆河街道",
        "description": description,
        "suggested_department": "",
        "policy": "",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_consultation_the_policy_base_answers_is_answered_at_once_and_can_go_to_a_person()
 {
    let (app, _sink) = spawn_app().await;
    let response = app
        .post_json(
            "/api/requests",
            &request("consultation", "请问创业担保贷款最多能贷多少？"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["status"], "answered");
    assert_eq!(created["instant_answer"]["answered"], true);
    assert_eq!(created["instant_answer"]["answer"]["slug"], "startup-loan");
    let number = created["tracking_number"].as_str().unwrap();
    assert!(number.starts_with("QH") && number.len() >= 15, "{number}");

    let tracking = TestApp::path_of(created["tracking_url"].as_str().unwrap());
    let page = app.get(&tracking).await.text().await.unwrap();
    assert!(page.contains("政策库即时答复"));
    assert!(page.contains("没有解决我的问题，转人工办理"));

    let token = tracking.split("token=").nth(1).unwrap();
    let response = app
        .post_json(
            &format!("/api/requests/{number}/escalate"),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let status = app.status_of(number, token).await;
    // Escalated and, the catalogue not being sure about a loan question, waiting for the centre or dispatched.
    assert_ne!(status["status"], "answered");
    let kinds: Vec<&str> = status["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(&kinds[..2], ["answered", "escalated"]);
    // Escalating twice is refused in plain words.
    let again = app
        .post_json(
            &format!("/api/requests/{number}/escalate"),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(again.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn unanswered_consultations_are_kept_as_knowledge_gaps() {
    let (app, _sink) = spawn_app().await;
    let response = app
        .post_json(
            "/api/requests",
            &request("consultation", "我们想了解一下出口退税率在哪里可以查到？"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_ne!(created["status"], "answered");
    let gaps = app.app.store.knowledge_gaps(10).await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0].description.contains("出口退税率"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_clear_help_request_is_dispatched_e_mailed_and_handled_through_the_unit_link()
{
    let (app, sink) = spawn_app().await;
    let response = app
        .post_json(
            "/api/requests",
            &request(
                "help",
                "我们厂区最近经常停电，电压也不稳，影响正常生产，请帮忙协调供电部门解决。",
            ),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    let tracking = TestApp::path_of(created["tracking_url"].as_str().unwrap());
    let token = tracking.split("token=").nth(1).unwrap().to_owned();
    let status = app.status_of(&number, &token).await;
    assert_eq!(status["status"], "dispatched", "{status}");
    assert_eq!(status["unit"]["id"], "power");
    assert!(status["deadline"].is_string());

    let report = app.drain().await;
    assert!(report.sent >= 3, "{report:?}");
    assert_eq!(app.drain().await.sent, 0, "nothing is sent twice");

    let directory =
        qihu_forms::dispatch::Directory::load(&root().join("config/units.toml")).unwrap();
    let power = directory.unit("power").unwrap();
    let handler = &power.handlers[0];
    let mails = sink.to(handler);
    assert_eq!(mails.len(), 1, "{:?}", sink.messages());
    let order = &mails[0];
    assert!(order.subject.contains(&number), "{}", order.subject);
    assert!(order.subject.contains("企业诉求工单"));
    assert!(order.text.contains("滕州市恒达机械制造有限公司"));
    assert!(order.text.contains("首接单位"));
    assert!(order.text.contains("13812345678"));
    assert!(order.html.contains("停电"));
    // The leader in charge is copied.
    let leader = directory.leader(power.leader.as_deref().unwrap()).unwrap();
    assert_eq!(sink.to(&leader.email).len(), 1);
    // The enterprise got its receipt and the dispatch notice.
    let enterprise = sink.to("wang@hengda.example");
    assert!(
        enterprise
            .iter()
            .any(|m| m.subject.contains("已受理") && m.text.contains("/track/"))
    );
    assert!(
        enterprise
            .iter()
            .any(|m| m.subject.contains("已转") && m.text.contains(&power.name))
    );

    // The unit acts through the link in its e-mail.
    let link = order
        .text
        .lines()
        .find(|line| line.contains("/unit/"))
        .map(|line| TestApp::path_of(line.trim()))
        .expect("an action link");
    let page = app.get(&link).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("受理工单"));
    let unit_token = link.split("token=").nth(1).unwrap().to_owned();
    let act = |body: Value| {
        let path = format!("/unit/{number}");
        let app = &app;
        async move { app.post_json(&path, &body).await }
    };
    let accepted = act(json!({ "token": unit_token, "action": "accept" })).await;
    assert_eq!(accepted.status(), 200);
    let resolved = act(json!({
        "token": unit_token, "action": "resolve", "solved": "yes",
        "method": "已安排抢修并更换变压器，供电恢复稳定", "contact_name": "李工", "contact_phone": "0632-5512345"
    }))
    .await;
    assert_eq!(resolved.status(), 200);
    let status = app.status_of(&number, &token).await;
    assert_eq!(status["status"], "resolved");
    let labels: Vec<&str> = status["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert!(labels.iter().any(|l| l.contains("已受理")), "{labels:?}");
    assert!(
        labels.iter().any(|l| l.contains("反馈办理结果")),
        "{labels:?}"
    );
    // A forged unit token, or the enterprise's own token, opens nothing.
    for forged in ["", "AAAA", token.as_str()] {
        let response = act(json!({ "token": forged, "action": "accept" })).await;
        assert_eq!(response.status(), 404);
    }
    app.drain().await;
    assert!(
        sink.to("wang@hengda.example")
            .iter()
            .any(|m| m.subject.contains("已办理完毕"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn every_field_is_checked_and_explained_in_chinese() {
    let (app, _sink) = spawn_app().await;
    let bad = json!({
        "kind": "praise",
        "enterprise_name": "",
        "credit_code": "91370481MA3C5XXX0X",
        "contact_name": "",
        "contact_phone": "12345",
        "contact_email": "not-an-email",
        "town": "",
        "description": "太短",
    });
    let response = app.post_json("/api/requests", &bad).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    for field in [
        "kind",
        "enterprise_name",
        "credit_code",
        "contact_name",
        "contact_phone",
        "contact_email",
        "town",
        "description",
    ] {
        let message = body["errors"][field]
            .as_str()
            .unwrap_or_else(|| panic!("no error for {field}: {body}"));
        assert!(
            message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{field}: {message}"
        );
    }
    // Nothing was stored.
    assert!(
        app.app
            .store
            .requests_with_status(Status::New, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn hostile_input_is_refused_or_kept_as_text_and_escaped() {
    let (app, sink) = spawn_app().await;
    let url = format!("{}/api/requests", app.base);
    // Too large.
    let huge = json!({ "description": "税".repeat(100_000) });
    let response = app.client.post(&url).json(&huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
    // Wrong content type.
    let response = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // Broken UTF-8.
    let response = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("UTF-8"));
    // A browser form without its CSRF token.
    let response = app
        .client
        .post(&url)
        .form(&[("kind", "help"), ("enterprise_name", "某公司")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // Script in every field is stored as text and escaped wherever it is shown.
    let script = "<script>alert('x')</script>";
    let mut hostile = request("help", &format!("{script}我们厂区最近经常停电，电压也不稳"));
    for field in ["enterprise_name", "contact_name", "town"] {
        hostile[field] = json!(format!("{script}{}", hostile[field].as_str().unwrap()));
    }
    let response = app.post_json("/api/requests", &hostile).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let page = app
        .get(&TestApp::path_of(created["tracking_url"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>alert"));
    app.drain().await;
    for message in sink.messages() {
        assert!(!message.html.contains("<script>alert"), "{}", message.html);
    }
    assert!(
        sink.messages()
            .iter()
            .any(|m| m.html.contains("&lt;script&gt;"))
    );
    // Forged or missing tracking tokens answer like a number that does not exist.
    let number = created["tracking_number"].as_str().unwrap();
    for path in [
        format!("/api/requests/{number}"),
        format!("/api/requests/{number}?token=forged"),
        "/api/requests/QH20200101-0001?token=forged".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "找不到该诉求，或查询链接不正确");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_retried_submission_returns_the_first_result() {
    let (app, _sink) = spawn_app().await;
    let body = request(
        "suggestion",
        "建议在开发区增设一条公交线路，方便工人上下班。",
    );
    let send = || {
        app.client
            .post(format!("{}/api/requests", app.base))
            .header("Idempotency-Key", "retry-7f3a")
            .json(&body)
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["tracking_number"], second["tracking_number"]);
    assert_eq!(first["tracking_url"], second["tracking_url"]);
    let other: Value = app
        .post_json("/api/requests", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(first["tracking_number"], other["tracking_number"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_browser_form_works_with_its_csrf_token_and_shows_errors_beside_fields() {
    let (app, _sink) = spawn_app().await;
    let page = app.get("/request/?policy=startup-loan").await;
    assert_eq!(page.status(), 200);
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|value| value.to_str().ok().filter(|v| v.starts_with("qihu_csrf=")))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("value=\"startup-loan\""));
    let token = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let post = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(format!("{}/api/requests", app.base))
            .header("cookie", &cookie)
            .form(&fields)
            .send()
    };
    let mut fields = vec![
        ("csrf_token", token.clone()),
        ("kind", "help".to_owned()),
        ("enterprise_name", "滕州市恒达机械制造有限公司".to_owned()),
        ("contact_name", "王经理".to_owned()),
        ("contact_phone", "12".to_owned()),
        ("town", "荆河街道".to_owned()),
        (
            "description",
            "厂区门前道路破损严重，货车进出困难，希望协调修复。".to_owned(),
        ),
    ];
    let response = post(fields.clone()).await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"contact_phone-error\""),
        "error beside its field"
    );
    assert!(
        html.contains("滕州市恒达机械制造有限公司"),
        "typed values kept"
    );
    fields[4] = ("contact_phone", "0632-5512345".to_owned());
    let response = post(fields).await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/track/QH"));
    let receipt = app.get(&location).await.text().await.unwrap();
    assert!(receipt.contains("诉求办理进度"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn mails_wait_while_the_smtp_server_is_down_and_go_out_once_when_it_is_back() {
    // A port with nothing listening yet.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_in(dir.path(), port);
    let app = spawn_app_with(dir, settings).await;
    let response = app
        .post_json(
            "/api/requests",
            &request("help", "厂区频繁停电，电压不稳，影响生产，请尽快处理。"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let report = app.drain().await;
    assert_eq!(report.sent, 0);
    assert!(report.retried >= 3, "{report:?}");
    let counts = app.app.store.outbox_counts().await.unwrap();
    assert_eq!(counts.sent, 0);

    // The server comes back; the next pass after the back-off delivers everything, once.
    let sink = SmtpSink::default();
    sink.serve(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    let later = Utc::now() + chrono::Duration::minutes(5);
    let report = drain_outbox(&app.app.store, &app.app.mailer, later)
        .await
        .unwrap();
    assert_eq!(report.sent, counts.pending as usize);
    let again = drain_outbox(
        &app.app.store,
        &app.app.mailer,
        later + chrono::Duration::hours(2),
    )
    .await
    .unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(sink.messages().len(), counts.pending as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn every_request_that_got_a_201_survives_a_restart_with_its_events() {
    let (app, _sink) = spawn_app().await;
    let mut created = Vec::new();
    for n in 0..5 {
        let response = app
            .post_json(
                "/api/requests",
                &request("help", &format!("厂区停电第{n}次，电压不稳，影响生产。")),
            )
            .await;
        assert_eq!(response.status(), 201);
        created.push(response.json::<Value>().await.unwrap());
    }
    let TestApp {
        _dir: dir,
        settings,
        app: running,
        ..
    } = app;
    drop(running);
    // A new process on the same database file.
    let restarted = spawn_app_with(dir, settings).await;
    for request in created {
        let tracking = TestApp::path_of(request["tracking_url"].as_str().unwrap());
        let number = request["tracking_number"].as_str().unwrap();
        let token = tracking.split("token=").nth(1).unwrap();
        let status: Value = restarted
            .get(&format!("/api/requests/{number}?token={token}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(status["tracking_number"], number);
        assert!(
            status["timeline"].as_array().unwrap().len() >= 2,
            "{status}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The centre's console (推进中心工作台)
// ---------------------------------------------------------------------------------------------------------------

use qihu_forms::console::{self, AccountError, Role};

/// A password long enough for the console.
pub(crate) const PASSWORD: &str = "滕州推进中心2026工作台";

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

/// A signed-in browser: its session cookie (`qihu_session=…`) and the session's CSRF token.
pub(crate) struct ConsoleSession {
    cookie: String,
    csrf: String,
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

/// The value of the first hidden field `name` in a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
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
    pub(crate) async fn add_user(&self, username: &str, role: Role) {
        console::create_user(
            &self.app.store,
            username,
            Some("张主任"),
            PASSWORD,
            role,
            Utc::now(),
        )
        .await
        .unwrap();
    }

    /// Opens the login page and posts the form as a browser does.
    pub(crate) async fn login_attempt(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self.get("/console/login").await;
        assert_eq!(page.status(), 200);
        let cookie = set_cookie(&page, "qihu_console_login").expect("login CSRF cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
        self.client
            .post(format!("{}/console/login", self.base))
            .header("cookie", cookie)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/console"),
            ])
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn login(&self, username: &str) -> ConsoleSession {
        let response = self.login_attempt(username, PASSWORD).await;
        assert_eq!(response.status(), 303);
        let cookie = set_cookie(&response, "qihu_session").expect("session cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = self
            .client
            .get(format!("{}/console", self.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
        ConsoleSession { cookie, csrf }
    }

    pub(crate) async fn console_get(
        &self,
        session: &ConsoleSession,
        path: &str,
    ) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", &session.cookie)
            .send()
            .await
            .unwrap()
    }

    /// The HTML of a console page the session opens.
    pub(crate) async fn console_page(&self, session: &ConsoleSession, path: &str) -> String {
        let response = self.console_get(session, path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    pub(crate) async fn console_post(
        &self,
        session: &ConsoleSession,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &session.cookie)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts the dispatch form of order `number` with the session's CSRF token.
    pub(crate) async fn dispatch(
        &self,
        session: &ConsoleSession,
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

    /// A request as the database has it now.
    pub(crate) async fn stored(&self, number: &str) -> qihu_forms::store::RequestRow {
        self.app
            .store
            .request_by_tracking_number(number)
            .await
            .unwrap()
            .expect("the request is stored")
    }

    /// Submits a request through the API and returns its tracking number.
    pub(crate) async fn submit(&self, body: &Value) -> String {
        let response = self.post_json("/api/requests", body).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        created["tracking_number"].as_str().unwrap().to_owned()
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
    let forged = ConsoleSession {
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
    let dispatched = events.iter().find(|e| e.kind == "dispatched").unwrap();
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

// ---------------------------------------------------------------------------------------------------------------
// Requests the centre enters (登记诉求: 电话, 征询专员)
// ---------------------------------------------------------------------------------------------------------------

use qihu_forms::store::RequestFilter;

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
        session: &ConsoleSession,
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
    assert_eq!(events[0].kind, "submitted");
    assert_eq!(events[0].actor, "centre:zhang");
    assert_eq!(events[0].payload["channel"], "phone");
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
    assert_eq!(events[0].kind, "answered");
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
    assert_eq!(events[0].payload["channel"], "collector");
    assert_eq!(events[0].payload["note"], note);
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
        .find(|e| e.kind == "false_feedback")
        .expect("false feedback recorded");
    assert_eq!(false_feedback.payload["unit"], "power");
    assert_eq!(false_feedback.actor, "centre:zhang");
    let returned = events.iter().find(|e| e.kind == "returned").unwrap();
    assert_eq!(returned.payload["rating"]["channel"], "call_back");
    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(
        page.contains("电话回访") && page.contains("根本没人联系过我们"),
        "the order page shows the call-back"
    );
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
    assert!(events.iter().any(|event| event.kind == "yellow_card"));
}

// ---------------------------------------------------------------------------------------------------------------
// Verification (办结核查, notice §二(四)3), closure reasons, supervision cards in the console
// ---------------------------------------------------------------------------------------------------------------

/// The task force's mailbox in `config/units.toml`.
pub(crate) const TASK_FORCE: &str = "zhuanban@tengzhou.example";
pub(crate) const POWER_HANDLER: &str = "power-handler@tengzhou.example";

/// A small but complete PDF of `len` bytes (signature, padding, end marker).
pub(crate) fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n% scanned verification form\n".to_vec();
    let end = b"\n%%EOF\n";
    bytes.resize(len.saturating_sub(end.len()).max(bytes.len()), b' ');
    bytes.extend_from_slice(end);
    bytes
}

/// A small but complete PNG (signature, IHDR, IEND).
pub(crate) fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE,
    ]);
    bytes.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// A unit page opened in a browser: its CSRF cookie (`qihu_csrf=…`) and hidden field.
pub(crate) struct UnitBrowser {
    cookie: String,
    csrf: String,
    html: String,
}

impl TestApp {
    /// Reports the result of a power order through a unit link (JSON, as scripts do).
    pub(crate) async fn resolve(&self, number: &str, unit_token: &str) {
        let response = self
            .post_json(
                &format!("/unit/{number}"),
                &json!({
                    "token": unit_token, "action": "resolve", "solved": "yes",
                    "method": "已检修线路并更换老化电缆", "contact_name": "李工", "contact_phone": "0632-5512345"
                }),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// Rates order `number` through the newest rating link the enterprise received.
    pub(crate) async fn rate_from_mail(
        &self,
        sink: &SmtpSink,
        number: &str,
        rating: &str,
        comment: &str,
    ) {
        self.drain().await;
        let mail = sink
            .to("wang@hengda.example")
            .into_iter()
            .rfind(|m| m.subject.contains(number) && m.subject.contains("请评价"))
            .expect("a rating e-mail");
        let (_, token) = link_in(&mail, "/rate/");
        let response = self
            .post_json(
                &format!("/rate/{number}"),
                &json!({ "token": token, "rating": rating, "comment": comment }),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// The newest link to the power company's page for `number` in a message whose subject has `marker`.
    pub(crate) async fn power_link(&self, sink: &SmtpSink, number: &str, marker: &str) -> String {
        self.drain().await;
        let mail = sink
            .to(POWER_HANDLER)
            .into_iter()
            .rfind(|m| m.subject.contains(number) && m.subject.contains(marker))
            .unwrap_or_else(|| panic!("no “{marker}” mail for {number}"));
        link_in(&mail, "/unit/").1
    }

    /// Opens the unit page as a browser does.
    pub(crate) async fn unit_browser(&self, number: &str, token: &str) -> UnitBrowser {
        let response = self.get(&format!("/unit/{number}?token={token}")).await;
        assert_eq!(response.status(), 200);
        let cookie = set_cookie(&response, "qihu_csrf").expect("CSRF cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let html = response.text().await.unwrap();
        let csrf = hidden(&html, "csrf_token");
        UnitBrowser { cookie, csrf, html }
    }

    /// Posts the upload form of the unit page: token, CSRF token, then the file.
    pub(crate) async fn upload(
        &self,
        number: &str,
        token: &str,
        browser: &UnitBrowser,
        file_name: &str,
        mime: &str,
        content: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(content)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("token", token.to_owned())
            .text("csrf_token", browser.csrf.clone())
            .part("file", part);
        self.client
            .post(format!("{}/unit/{number}/verification-form", self.base))
            .header("cookie", &browser.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Opens the unit page and uploads a signed and sealed form (a PDF), as the lead unit does.
    pub(crate) async fn upload_signed_form(&self, number: &str, token: &str) {
        let browser = self.unit_browser(number, token).await;
        let response = self
            .upload(
                number,
                token,
                &browser,
                "scan.pdf",
                "application/pdf",
                pdf(3000),
            )
            .await;
        assert_eq!(response.status(), 303);
    }

    /// The events of order `number`.
    pub(crate) async fn events_of(&self, number: &str) -> Vec<qihu_forms::store::EventRow> {
        self.app
            .store
            .events(self.stored(number).await.id)
            .await
            .unwrap()
    }
}

/// A power order handled twice and rated 不满意 twice: its number, tracking token and the link token the
/// power company got to fill in the 不满意诉求审核反馈表.
pub(crate) async fn order_in_verification(
    app: &TestApp,
    sink: &SmtpSink,
) -> (String, String, String) {
    let (number, tracking_token, unit_token) = accepted_power_order(app, sink).await;
    app.resolve(&number, &unit_token).await;
    app.rate_from_mail(sink, &number, "unsatisfied", "电压仍然不稳")
        .await;
    let rework_token = app.power_link(sink, &number, "重新办理").await;
    app.resolve(&number, &rework_token).await;
    app.rate_from_mail(sink, &number, "不满意", "问题没有根本解决")
        .await;
    assert_eq!(app.stored(&number).await.status, Status::Verification);
    let token = app.power_link(sink, &number, "请填写审核反馈表").await;
    (number, tracking_token, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_lead_unit_prints_and_uploads_the_signed_form_and_the_task_forces_opinion_closes_the_order()
 {
    let (app, sink) = spawn_app().await;
    let (number, tracking_token, token) = order_in_verification(&app, &sink).await;

    // The unit's page asks for the form in three steps.
    let browser = app.unit_browser(&number, &token).await;
    assert!(browser.html.contains("不满意诉求审核反馈表"));
    assert!(browser.html.contains("不超过 10 MB"), "the default limit");
    let explained = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": token, "action": "explain",
                     "explanation": "两次均已现场检修，电压波动源于企业自备变压器，已书面告知整改方案。" }),
        )
        .await;
    assert_eq!(explained.status(), 200);

    // The printable form: the order, both rounds with their ratings, the explanation, places to sign and seal.
    let sheet = app
        .get(&format!("/unit/{number}/verification-form?token={token}"))
        .await;
    assert_eq!(sheet.status(), 200);
    let sheet = sheet.text().await.unwrap();
    for expected in [
        "企业诉求“接诉即办”不满意诉求审核反馈表",
        number.as_str(),
        "滕州市恒达机械制造有限公司",
        "厂区最近经常停电",
        "第1次办理答复",
        "第2次办理答复",
        "已检修线路并更换老化电缆",
        "电压仍然不稳",
        "问题没有根本解决",
        "电压波动源于企业自备变压器",
        "主要负责人签字",
        "单位盖章",
        "工作专班核查意见",
        "verification-form.css",
    ] {
        assert!(sheet.contains(expected), "the form shows {expected}");
    }
    // Without a valid link, nothing.
    assert_eq!(
        app.get(&format!("/unit/{number}/verification-form?token=forged"))
            .await
            .status(),
        404
    );

    // Upload the signed scan (1 MB, far above the 64 KB of a request form); the task force is told.
    let first = pdf(1024 * 1024);
    let response = app
        .upload(
            &number,
            &token,
            &browser,
            "反馈表（盖章）.pdf",
            "application/pdf",
            first,
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    app.drain().await;
    let told = sink.to(TASK_FORCE);
    assert!(
        told.iter()
            .any(|m| m.subject.contains(&number) && m.subject.contains("已上传审核反馈表")),
        "{:?}",
        told.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    // A re-upload (a clearer photo) is kept beside the first; the newest counts.
    let response = app
        .upload(&number, &token, &browser, "photo.png", "image/png", png())
        .await;
    assert_eq!(response.status(), 303);
    let page = app.unit_browser(&number, &token).await.html;
    assert!(page.contains("反馈表（盖章）.pdf") && page.contains("photo.png"));
    assert_eq!(page.matches("以此份为准").count(), 1);

    // The console lists both, downloads them as they were stored, and takes the opinion.
    app.add_user("zhang", Role::Centre).await;
    app.add_user("leader", Role::Leader).await;
    let centre = app.login("zhang").await;
    let leader = app.login("leader").await;
    let order_page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(order_page.contains("记录工作专班核查意见"));
    assert!(order_page.contains("情况属实，予以销号"));
    assert!(order_page.contains("电压波动源于企业自备变压器"));
    let stored = app
        .app
        .store
        .verification_forms(app.stored(&number).await.id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let newest = &stored[0];
    assert_eq!(newest.media_type, "image/png");
    let download = app
        .console_get(
            &centre,
            &format!(
                "/console/requests/{number}/verification-forms/{}",
                newest.id
            ),
        )
        .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    let disposition = download.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(&format!(
            "attachment; filename=\"{number}-verification-{}.png\"",
            newest.id
        )),
        "{disposition}"
    );
    assert!(disposition.contains("filename*=UTF-8''photo.png"));
    assert_eq!(download.bytes().await.unwrap().as_ref(), png().as_slice());
    let older = app
        .console_get(
            &centre,
            &format!(
                "/console/requests/{number}/verification-forms/{}",
                stored[1].id
            ),
        )
        .await;
    assert_eq!(older.headers()["content-type"], "application/pdf");
    assert!(
        older.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E5%8F%8D%E9%A6%88%E8%A1%A8")
    );
    // Another order's file id opens nothing.
    assert_ne!(
        app.console_get(
            &centre,
            "/console/requests/QH20000101-0001/verification-forms/1"
        )
        .await
        .status(),
        200
    );

    // A leader reads but cannot decide.
    let leader_page = app
        .console_page(&leader, &format!("/console/requests/{number}"))
        .await;
    assert!(leader_page.contains("不能记录核查意见"));
    let path = format!("/console/requests/{number}/verification-opinion");
    let refused = app
        .console_post(
            &leader,
            &path,
            &[
                ("csrf_token", leader.csrf.as_str()),
                ("conclusion", "close"),
                ("opinion", "同意"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403);
    // The opinion and the conclusion are both required.
    for fields in [
        [("conclusion", "close"), ("opinion", "  ")],
        [("conclusion", "予以销号"), ("opinion", "情况属实")],
    ] {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", centre.csrf.as_str()));
        let response = app.console_post(&centre, &path, &fields).await;
        assert_eq!(response.status(), 400);
        assert_eq!(app.stored(&number).await.status, Status::Verification);
    }
    let opinion =
        "经核查，承办单位两次均到场处置，电压问题系企业自备设备所致，已告知整改方案，情况属实。";
    let closed = app
        .console_post(
            &centre,
            &path,
            &[
                ("csrf_token", centre.csrf.as_str()),
                ("conclusion", "close"),
                ("opinion", opinion),
            ],
        )
        .await;
    assert_eq!(closed.status(), 303);
    assert_eq!(app.stored(&number).await.status, Status::Closed);

    // The enterprise reads the outcome and the reason, and gets an e-mail.
    let status = app.status_of(&number, &tracking_token).await;
    assert_eq!(status["status_label"], "已办结");
    let last = status["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["label"], "工作专班核查：情况属实，予以销号，已办结");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .starts_with("销号理由：专班核查意见（情况属实，予以销号）：经核查"),
        "{last}"
    );
    app.drain().await;
    assert!(
        sink.to("wang@hengda.example")
            .iter()
            .any(|m| m.subject.contains("经工作专班核查已办结") && m.text.contains(opinion))
    );
    // The console's copy of the form now carries the opinion; the unit can no longer upload.
    let sheet = app
        .console_page(
            &centre,
            &format!("/console/requests/{number}/verification-form"),
        )
        .await;
    assert!(sheet.contains(opinion));
    let late = app
        .upload(
            &number,
            &token,
            &browser,
            "late.pdf",
            "application/pdf",
            pdf(2048),
        )
        .await;
    assert_eq!(late.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_task_force_can_send_an_order_back_and_a_new_verification_needs_a_new_form()
{
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let centre = app.login("zhang").await;
    let (number, _, token) = order_in_verification(&app, &sink).await;
    let path = format!("/console/requests/{number}/verification-opinion");
    let send_back = |opinion: &'static str| {
        let app = &app;
        let centre = &centre;
        let path = path.clone();
        async move {
            app.console_post(
                centre,
                &path,
                &[
                    ("csrf_token", centre.csrf.as_str()),
                    ("conclusion", "rework"),
                    ("opinion", opinion),
                ],
            )
            .await
        }
    };
    // No opinion before the signed form is uploaded.
    let early = send_back("请重新核实").await;
    assert_eq!(early.status(), 409);
    assert!(early.text().await.unwrap().contains("尚未上传"));
    let page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("承办单位尚未上传签字盖章的审核反馈表"));

    app.upload_signed_form(&number, &token).await;
    let response = send_back("承办单位未到企业现场核实，请重新办理并当面答复企业。").await;
    assert_eq!(response.status(), 303);
    let order = app.stored(&number).await;
    assert_eq!(order.status, Status::Rework);
    // 3 working days from today, by the calendar.
    let calendar = qihu_forms::calendar::Calendar::load(&root().join("config/calendar")).unwrap();
    let due = order.due_at.unwrap();
    assert!(
        due <= calendar.due(Utc::now(), 3)
            && due >= calendar.due(Utc::now() - chrono::Duration::minutes(5), 3)
    );
    // The unit is told with a new link, and the round counts: still 不满意 → verification again.
    let again = app.power_link(&sink, &number, "专班退回重办").await;
    app.resolve(&number, &again).await;
    app.rate_from_mail(&sink, &number, "unsatisfied", "仍未解决")
        .await;
    assert_eq!(app.stored(&number).await.status, Status::Verification);
    let rated = app.events_of(&number).await;
    let round = rated.iter().rev().find(|e| e.kind == "rated").unwrap();
    assert_eq!(round.payload["rating"]["round"], 3);
    // The earlier upload belonged to the earlier verification: a new signed form is needed.
    let refused = send_back("再次退回").await;
    assert_eq!(refused.status(), 409);
    let sheet = app
        .console_page(
            &centre,
            &format!("/console/requests/{number}/verification-form"),
        )
        .await;
    assert!(sheet.contains("第3次办理答复"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn hostile_uploads_are_refused_in_plain_chinese_and_nothing_is_stored() {
    let (app, sink) =
        spawn_app_adjusted(|settings| settings.intake.max_upload_bytes = 100_000).await;
    let (number, _, token) = order_in_verification(&app, &sink).await;
    let browser = app.unit_browser(&number, &token).await;
    let upload = |name: &'static str, mime: &'static str, content: Vec<u8>| {
        let app = &app;
        let browser = &browser;
        let number = number.clone();
        let token = token.clone();
        async move {
            let response = app
                .upload(&number, &token, browser, name, mime, content)
                .await;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };

    // A page or a program named .pdf and sent as application/pdf.
    let (status, body) = upload(
        "反馈表.pdf",
        "application/pdf",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await;
    assert_eq!(status, 415);
    assert!(body.contains("只能上传 PDF、JPG 或 PNG"), "{body}");
    let (status, _) = upload(
        "scan.pdf",
        "application/pdf",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00 This program cannot be run in DOS mode".to_vec(),
    )
    .await;
    assert_eq!(status, 415);
    // Over the configured limit, by one byte.
    let (status, body) = upload("big.pdf", "application/pdf", pdf(100_001)).await;
    assert_eq!(status, 413);
    assert!(body.contains("文件超过 98 KB 的上限"), "{body}");
    // Far over it: still a clear answer, not a broken connection.
    let (status, _) = upload("huge.pdf", "application/pdf", pdf(150_000)).await;
    assert_eq!(status, 413);
    // Empty.
    let (status, body) = upload("empty.pdf", "application/pdf", Vec::new()).await;
    assert_eq!(status, 400);
    assert!(body.contains("文件是空的"), "{body}");

    // A forged token, a missing CSRF token.
    let forged = app
        .upload(
            &number,
            "forged-token",
            &browser,
            "a.pdf",
            "application/pdf",
            pdf(2000),
        )
        .await;
    assert_eq!(forged.status(), 404);
    let no_csrf = app
        .client
        .post(format!("{}/unit/{number}/verification-form", app.base))
        .multipart(
            reqwest::multipart::Form::new()
                .text("token", token.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(pdf(2000)).file_name("a.pdf"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    // Not multipart at all.
    let plain = app
        .post_json(
            &format!("/unit/{number}/verification-form"),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(plain.status(), 415);
    // The co-handler's link cannot upload the lead unit's form.
    let co_mail = sink
        .to("development-handler@tengzhou.example")
        .into_iter()
        .find(|m| m.subject.contains(&number))
        .expect("the co-handler's dispatch e-mail");
    let (_, co_token) = link_in(&co_mail, "/unit/");
    let co_page = app
        .get(&format!("/unit/{number}?token={co_token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(co_page.contains("由首接单位") && !co_page.contains("第三步"));
    let response = app
        .upload(
            &number,
            &co_token,
            &browser,
            "a.pdf",
            "application/pdf",
            pdf(2000),
        )
        .await;
    assert_eq!(response.status(), 409);
    // An expired link: the order re-dispatched long ago, so its links have run out.
    let (other, _, _) = dispatched_power_order(&app, &sink).await;
    let long_ago = Utc::now() - chrono::Duration::days(120);
    app.app
        .forms
        .forms
        .dispatch(
            &app.stored(&other).await,
            "power",
            &[],
            "centre:test",
            "改派测试",
            long_ago,
        )
        .await
        .unwrap();
    app.drain().await;
    let (_, expired) = link_in(
        sink.to(POWER_HANDLER)
            .iter()
            .rfind(|m| m.subject.contains(&other))
            .unwrap(),
        "/unit/",
    );
    let response = app
        .upload(
            &other,
            &expired,
            &browser,
            "a.pdf",
            "application/pdf",
            pdf(2000),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        app.get(&format!("/unit/{other}?token={expired}"))
            .await
            .status(),
        404
    );

    let id = app.stored(&number).await.id;
    assert!(
        app.app
            .store
            .verification_forms(id)
            .await
            .unwrap()
            .is_empty()
    );

    // Markup in the file name is reduced to safe characters and escaped wherever shown.
    let (status, _) = upload(
        "<script>alert(1)</script>\".pdf",
        "application/pdf",
        pdf(2000),
    )
    .await;
    assert_eq!(status, 303);
    let stored = app.app.store.verification_forms(id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].file_name.contains(['<', '>', '"', '/']),
        "{}",
        stored[0].file_name
    );
    assert!(stored[0].file_name.ends_with(".pdf"));
    let page = app.unit_browser(&number, &token).await.html;
    assert!(!page.contains("<script>alert"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn every_path_to_closed_records_its_reason_and_shows_it() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let centre = app.login("zhang").await;

    // 1. The enterprise rates through its link: satisfied.
    let (online, online_token, unit_token) = accepted_power_order(&app, &sink).await;
    app.resolve(&online, &unit_token).await;
    app.rate_from_mail(&sink, &online, "fairly_satisfied", "")
        .await;

    // 2. The centre's call-back: satisfied.
    let (phoned, phoned_token, unit_token) = accepted_power_order(&app, &sink).await;
    app.resolve(&phoned, &unit_token).await;
    let response = app
        .console_post(
            &centre,
            &format!("/console/requests/{phoned}/call-back"),
            &[
                ("csrf_token", centre.csrf.as_str()),
                ("rating", "very_satisfied"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    // 3. The task force's verification after two unsatisfied rounds.
    let (verified, verified_token, token) = order_in_verification(&app, &sink).await;
    app.upload_signed_form(&verified, &token).await;
    let response = app
        .console_post(
            &centre,
            &format!("/console/requests/{verified}/verification-opinion"),
            &[
                ("csrf_token", centre.csrf.as_str()),
                ("conclusion", "close"),
                ("opinion", "企业诉求超出政策规定，承办单位已依法答复"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    for (number, tracking_token, reason) in [
        (&online, &online_token, "企业评价满意（比较满意）"),
        (&phoned, &phoned_token, "电话回访，企业评价满意（非常满意）"),
        (
            &verified,
            &verified_token,
            "专班核查意见（情况属实，予以销号）：企业诉求超出政策规定，承办单位已依法答复",
        ),
    ] {
        assert_eq!(app.stored(number).await.status, Status::Closed, "{number}");
        let events = app.events_of(number).await;
        let closing = events.last().unwrap();
        assert_eq!(closing.payload["reason"], reason, "{number}");
        assert_eq!(closing.payload["closed"], true);
        // Shown on the centre's order page and the enterprise's tracking page.
        let page = app
            .console_page(&centre, &format!("/console/requests/{number}"))
            .await;
        assert!(
            page.contains(&format!("<dt>销号理由</dt><dd>{reason}</dd>")),
            "{number}: {reason}"
        );
        let tracking = app
            .get(&format!("/track/{number}?token={tracking_token}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(tracking.contains("已办结"));
        assert!(
            tracking.contains(&format!("销号理由：{reason}")),
            "{number}: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_centre_sees_every_units_card_and_waives_a_card_with_a_reason() {
    let (app, sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    app.add_user("leader", Role::Leader).await;
    let centre = app.login("zhang").await;
    let leader = app.login("leader").await;
    let created: Value = app
        .post_json("/api/requests", &request("help", OUTAGE))
        .await
        .json()
        .await
        .unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    let tracking = TestApp::path_of(created["tracking_url"].as_str().unwrap());
    // Dispatched a month ago and never reported on: the supervision pass issues a yellow card now.
    let month_ago = Utc::now() - chrono::Duration::days(30);
    app.app
        .forms
        .forms
        .dispatch(
            &app.stored(&number).await,
            "power",
            &[],
            "centre:zhang",
            "推进中心研判派单",
            month_ago,
        )
        .await
        .unwrap();
    let unit_token = app.power_link(&sink, &number, "企业诉求工单").await;
    let track_page = app.get(&tracking).await.text().await.unwrap();
    assert!(
        track_page.contains("本工单已超过办理期限"),
        "overdue before the card"
    );
    let report = qihu_forms::sla::cards::supervise(&app.app.forms.forms, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.issued.len(), 1);

    // The enterprise and the unit read the fact; no internal address appears.
    let track_page = app.get(&tracking).await.text().await.unwrap();
    assert!(track_page.contains("督办情况"));
    assert!(track_page.contains("对承办单位亮黄牌"), "{track_page}");
    assert!(!track_page.contains("@tengzhou.example"));
    let unit_page = app.unit_browser(&number, &unit_token).await.html;
    assert!(unit_page.contains("对承办单位亮黄牌"));

    // The units page: the power company is yellow, with its card linked to the order and its counts.
    let units = app.console_page(&centre, "/console/units").await;
    let power = units
        .split("id=\"unit-power\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(power.contains("card-yellow\">黄牌</span>"), "{power}");
    assert!(power.contains(&format!("/console/requests/{number}#cards")));
    assert!(
        power.contains("/console/requests?unit=power\">1</a>"),
        "one open order"
    );
    assert!(power.contains("<strong>1</strong>"), "one overdue order");
    let water = units
        .split("id=\"unit-water\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(water.contains("card-green\">绿牌</span>"));
    for section in ["镇街", "开发区", "市直部门"] {
        assert!(units.contains(&format!(">{section}</h2>")), "{section}");
    }
    assert!(
        app.console_page(&leader, "/console/units")
            .await
            .contains("card-yellow\">黄牌"),
        "a leader reads it too"
    );

    // The order page lists the card with its rule and evidence, and a form to waive it.
    let page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("黄牌（督办通知）"));
    assert!(page.contains("通知§二(四)2"));
    assert!(page.contains("未反馈办理结果"));
    assert!(page.contains("免于亮牌的理由"));
    let card = app
        .events_of(&number)
        .await
        .into_iter()
        .find(|e| e.kind == "yellow_card")
        .unwrap();
    let path = format!("/console/requests/{number}/cards/{}/waive", card.id);
    let refused = app
        .console_post(
            &leader,
            &path,
            &[("csrf_token", leader.csrf.as_str()), ("reason", "系统故障")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let blank = app
        .console_post(
            &centre,
            &path,
            &[("csrf_token", centre.csrf.as_str()), ("reason", "  ")],
        )
        .await;
    assert_eq!(blank.status(), 400);
    assert!(blank.text().await.unwrap().contains("请填写免于亮牌的理由"));
    let no_csrf = app
        .console_post(&centre, &path, &[("reason", "系统故障")])
        .await;
    assert_eq!(no_csrf.status(), 403);
    let reason = "派单邮件因邮件系统故障未送达承办单位";
    let waived = app
        .console_post(
            &centre,
            &path,
            &[("csrf_token", centre.csrf.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(waived.status(), 303);
    let page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("已免于亮牌"));
    assert!(page.contains(reason));
    let again = app
        .console_post(
            &centre,
            &path,
            &[("csrf_token", centre.csrf.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(again.status(), 409);
    // Waived, the card no longer counts: the unit is green; the order is still overdue, and says so.
    let units = app.console_page(&centre, "/console/units").await;
    let power = units.split("id=\"unit-power\"").nth(1).unwrap();
    assert!(
        power
            .split("</tr>")
            .next()
            .unwrap()
            .contains("card-green\">绿牌")
    );
    let track_page = app.get(&tracking).await.text().await.unwrap();
    let supervision = track_page
        .split("督办情况")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("the supervision section");
    assert!(!supervision.contains("亮黄牌"), "{supervision}");
    assert!(supervision.contains("本工单已超过办理期限"));
    // A card id that is not a card of this order is not found.
    let other = format!("/console/requests/{number}/cards/1/waive");
    let response = app
        .console_post(
            &centre,
            &other,
            &[("csrf_token", centre.csrf.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(response.status(), 404);
}
