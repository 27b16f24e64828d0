//! The forms backend end to end (the story suite, run on every backend): the real server on port 0 with a fresh
//! database and a real SMTP listener on loopback. Requests go in over HTTP; dispatch and handler actions are driven over HTTP; what arrives by SMTP is
//! asserted (recipients, Chinese subjects and bodies, working links). Nothing sleeps: the outbox is drained
//! explicitly.

use qihu_forms::order::Status;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use chrono::Utc;
use qihu::config::Settings;
use qihu_forms::mail::drain_outbox;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use qihu_forms::console::{self, AccountError, Role};
use qihu_forms::store::RequestFilter;

use crate::support::{Received, SmtpSink, app_settings, hidden, root};

mod centre;
mod entry;
mod handling;
mod verification;

// The suites' helpers, for each other and for the other suites of a binary (integrity, instances, copy); not
// every binary uses each of them.
#[allow(unused_imports)]
pub(crate) use centre::*;
#[allow(unused_imports)]
pub(crate) use entry::*;
#[allow(unused_imports)]
pub(crate) use handling::*;
#[allow(unused_imports)]
pub(crate) use verification::*;

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

pub(crate) use crate::support::Session;
pub(crate) use crate::support::app::{PASSWORD, TestApp};

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
    TestApp::start(dir, settings).await
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
    // It stays a consultation (咨询) in the ledgers and figures: going to a person does not make it a 求助.
    assert_eq!(app.stored(number).await.kind, "consultation");
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
        dir,
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
