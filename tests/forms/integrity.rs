//! Order integrity: two steps at the same instant on one order, a full disk under concurrent submissions, every
//! link against every endpoint, steps out of order, and idempotency keys bound to their body.

use super::*;

const ENTERPRISE: &str = "wang@hengda.example";

fn resolve_body(token: &str) -> Value {
    json!({
        "token": token, "action": "resolve", "solved": "yes",
        "method": "已检修线路并更换变压器", "contact_name": "李工", "contact_phone": "0632-5512345"
    })
}

/// The rating link of the `nth` (0-based) rating e-mail of an order.
fn rating_token(sink: &SmtpSink, number: &str, nth: usize) -> String {
    let mail = sink
        .to(ENTERPRISE)
        .into_iter()
        .filter(|m| m.subject.contains(number) && m.subject.contains("请评价"))
        .nth(nth)
        .expect("a rating e-mail");
    link_in(&mail, "/rate/").1
}

/// An accepted order with its result reported: number, tracking token, unit token, rating token.
async fn resolved_power_order(app: &TestApp, sink: &SmtpSink) -> (String, String, String, String) {
    let (number, tracking, unit) = accepted_power_order(app, sink).await;
    let resolved = app
        .post_json(&format!("/unit/{number}"), &resolve_body(&unit))
        .await;
    assert_eq!(resolved.status(), 200);
    app.drain().await;
    let rating = rating_token(sink, &number, 0);
    (number, tracking, unit, rating)
}

async fn event_kinds(app: &TestApp, number: &str) -> Vec<String> {
    let row = app.stored(number).await;
    app.app
        .store
        .events(row.id)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| k.as_str() == kind).count()
}

fn sorted(mut statuses: Vec<u16>) -> Vec<u16> {
    statuses.sort_unstable();
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ratings_at_the_same_instant_one_wins_and_a_closed_order_never_reopens() {
    let (app, sink) = spawn_app().await;
    for trial in 0..8 {
        let (number, _, _, rating) = resolved_power_order(&app, &sink).await;
        // Even trials: two 不满意 at once; odd trials: 满意 and 不满意 at once.
        let first = if trial % 2 == 0 {
            "unsatisfied"
        } else {
            "very_satisfied"
        };
        let path = format!("/rate/{number}");
        let bodies = [first, "unsatisfied"]
            .map(|level| json!({ "token": rating, "rating": level, "comment": "并发评价" }));
        let (a, b) = tokio::join!(
            app.post_json(&path, &bodies[0]),
            app.post_json(&path, &bodies[1])
        );
        assert_eq!(
            sorted(vec![a.status().as_u16(), b.status().as_u16()]),
            vec![200, 409],
            "trial {trial}"
        );
        let kinds = event_kinds(&app, &number).await;
        let outcomes = count(&kinds, "rated") + count(&kinds, "returned");
        assert_eq!(outcomes, 1, "one rating is recorded: {kinds:?}");
        let row = app.stored(&number).await;
        if count(&kinds, "rated") == 1 {
            assert_eq!(row.status, Status::Closed, "satisfied closes for good");
        } else {
            assert_eq!(row.status, Status::Rework);
            assert_eq!(row.round, 2);
        }
        app.drain().await;
        let rework_mails = sink
            .messages()
            .into_iter()
            .filter(|m| m.subject.contains(&number) && m.subject.contains("重新办理"))
            .count();
        assert_eq!(
            rework_mails,
            count(&kinds, "returned"),
            "one rework link at most"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_results_or_an_accept_and_a_result_at_once_leave_one_consistent_order() {
    let (app, sink) = spawn_app().await;
    for trial in 0..6 {
        // Two result reports on an accepted order: exactly one counts, one rating link goes out.
        let (number, _, unit) = accepted_power_order(&app, &sink).await;
        let path = format!("/unit/{number}");
        let body = resolve_body(&unit);
        let (a, b) = tokio::join!(app.post_json(&path, &body), app.post_json(&path, &body));
        assert_eq!(
            sorted(vec![a.status().as_u16(), b.status().as_u16()]),
            vec![200, 409],
            "trial {trial}"
        );
        let kinds = event_kinds(&app, &number).await;
        assert_eq!(count(&kinds, "resolved"), 1, "{kinds:?}");
        app.drain().await;
        let rating_mails = sink
            .to(ENTERPRISE)
            .into_iter()
            .filter(|m| m.subject.contains(&number) && m.subject.contains("请评价"))
            .count();
        assert_eq!(rating_mails, 1);

        // Accept and result at once on a dispatched order: a result that was taken is never undone.
        let (number, _, unit) = dispatched_power_order(&app, &sink).await;
        let path = format!("/unit/{number}");
        let (accept_body, result_body) = (
            json!({ "token": unit, "action": "accept" }),
            resolve_body(&unit),
        );
        let (accept, result) = tokio::join!(
            app.post_json(&path, &accept_body),
            app.post_json(&path, &result_body)
        );
        assert_eq!(
            accept.status(),
            200,
            "accepting a dispatched order succeeds"
        );
        let row = app.stored(&number).await;
        if result.status() == 200 {
            assert_eq!(row.status, Status::Resolved, "trial {trial}");
        } else {
            assert_eq!(result.status(), 409);
            assert_eq!(row.status, Status::Accepted);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_must_accept_before_it_reports_and_its_page_offers_only_what_it_may_do() {
    let (app, sink) = spawn_app().await;
    let (number, _, unit) = dispatched_power_order(&app, &sink).await;
    let page = app
        .get(&format!("/unit/{number}?token={unit}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("受理工单"));
    assert!(
        !page.contains("反馈办理结果并申请销号"),
        "no result form before acceptance"
    );
    let early = app
        .post_json(&format!("/unit/{number}"), &resolve_body(&unit))
        .await;
    assert_eq!(early.status(), 409);
    let message: Value = early.json().await.unwrap();
    assert!(
        message["error"].as_str().unwrap().contains("请先受理"),
        "{message}"
    );
    app.post_json(
        &format!("/unit/{number}"),
        &json!({ "token": unit, "action": "accept" }),
    )
    .await;
    let page = app
        .get(&format!("/unit/{number}?token={unit}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("受理工单"), "accepted once");
    assert!(page.contains("反馈办理结果并申请销号"));
    assert!(page.contains("提交解决方案"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_opens_only_what_its_holder_may_do() {
    let (app, sink) = spawn_app().await;
    let (number, tracking, unit, rating) = resolved_power_order(&app, &sink).await;
    let forged = "A".repeat(43);
    let tokens = [
        ("tracking", tracking.as_str()),
        ("unit", unit.as_str()),
        ("rating", rating.as_str()),
        ("forged", forged.as_str()),
    ];
    for (holder, token) in tokens {
        let allowed = |owner: &str| if holder == owner { 200 } else { 404 };
        let track = app.get(&format!("/track/{number}?token={token}")).await;
        assert_eq!(track.status(), allowed("tracking"), "{holder} on /track");
        let api = app
            .get(&format!("/api/requests/{number}?token={token}"))
            .await;
        assert_eq!(
            api.status(),
            allowed("tracking"),
            "{holder} on /api/requests"
        );
        let unit_page = app.get(&format!("/unit/{number}?token={token}")).await;
        assert_eq!(unit_page.status(), allowed("unit"), "{holder} on /unit");
        let note = app
            .post_json(
                &format!("/unit/{number}"),
                &json!({ "token": token, "action": "progress", "note": "补充说明" }),
            )
            .await;
        // The unit's own link reaches the step; the order is already resolved, so it is refused as a conflict.
        let expected = if holder == "unit" { 409 } else { 404 };
        assert_eq!(note.status(), expected, "{holder} posting to /unit");
        let sheet = app
            .get(&format!("/unit/{number}/verification-form?token={token}"))
            .await;
        // The form with the unit's explanation is the unit's; no other link opens it.
        if holder != "unit" {
            assert_eq!(sheet.status(), 404, "{holder} on the verification form");
        }
        let rate_page = app.get(&format!("/rate/{number}?token={token}")).await;
        assert_eq!(rate_page.status(), allowed("rating"), "{holder} on /rate");
    }
    // Only the rating link rates, and only once.
    for (holder, token) in [("tracking", &tracking), ("unit", &unit)] {
        let rated = app
            .post_json(
                &format!("/rate/{number}"),
                &json!({ "token": token, "rating": "very_satisfied" }),
            )
            .await;
        assert_eq!(rated.status(), 404, "{holder} cannot rate");
    }
    let kinds = event_kinds(&app, &number).await;
    assert_eq!(
        count(&kinds, "contribution"),
        0,
        "no link wrote as someone else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaders_copy_has_no_action_link_and_old_links_die_with_their_round() {
    let (app, sink) = spawn_app().await;
    let (number, _, unit, rating) = resolved_power_order(&app, &sink).await;
    let directory =
        qihu_forms::dispatch::Directory::load(&root().join("config/units.toml")).unwrap();
    let power = directory.unit("power").unwrap();
    let leader = directory
        .leader(
            power
                .leader
                .as_deref()
                .expect("power has a leader in charge"),
        )
        .unwrap();
    let copies: Vec<Received> = sink
        .to(&leader.email)
        .into_iter()
        .filter(|m| m.subject.contains(&number))
        .collect();
    assert_eq!(copies.len(), 1, "the leader is copied once");
    assert!(
        copies[0].subject.starts_with("【抄送】"),
        "{}",
        copies[0].subject
    );
    assert!(!copies[0].text.contains("token="), "{}", copies[0].text);
    assert!(copies[0].text.contains("抄送"));

    // 不满意: round 2 with a fresh unit link; the round-1 links stop working.
    let rated = app
        .post_json(
            &format!("/rate/{number}"),
            &json!({ "token": rating, "rating": "unsatisfied", "comment": "电压仍不稳" }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    app.drain().await;
    assert_eq!(
        app.get(&format!("/rate/{number}?token={rating}"))
            .await
            .status(),
        404,
        "the first round's rating link died with its round"
    );
    assert_eq!(
        app.get(&format!("/unit/{number}?token={unit}"))
            .await
            .status(),
        404,
        "the first round's unit link died with its round"
    );
    let returned = sink
        .to(&power.handlers[0])
        .into_iter()
        .find(|m| m.subject.contains(&number) && m.subject.contains("重新办理"))
        .expect("the rework mail");
    let (_, rework) = link_in(&returned, "/unit/");
    assert_eq!(
        app.post_json(&format!("/unit/{number}"), &resolve_body(&rework))
            .await
            .status(),
        200
    );
    app.drain().await;
    let second = rating_token(&sink, &number, 1);
    assert_eq!(
        app.get(&format!("/rate/{number}?token={second}"))
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_belongs_to_its_body() {
    let (app, _sink) = spawn_app().await;
    let send = |body: Value| {
        app.client
            .post(format!("{}/api/requests", app.base))
            .header("Idempotency-Key", "key-shared-by-two")
            .json(&body)
            .send()
    };
    let a = request("help", "我们厂区最近经常停电，电压也不稳，影响正常生产。");
    let mut b = request(
        "suggestion",
        "建议在开发区增设一条公交线路，方便工人上下班。",
    );
    b["enterprise_name"] = json!("滕州市另一家企业有限公司");
    let first = send(a.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let stolen = send(b).await.unwrap();
    assert_eq!(stolen.status(), 422);
    let stolen: Value = stolen.json().await.unwrap();
    assert!(
        stolen["error"].as_str().unwrap().contains("已用于另一份"),
        "{stolen}"
    );
    assert!(
        stolen.get("tracking_number").is_none(),
        "nothing of A leaks"
    );
    let again: Value = send(a).await.unwrap().json().await.unwrap();
    assert_eq!(again["tracking_number"], first["tracking_number"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intake_left_waiting_by_an_earlier_run_is_dispatched_at_start_up() {
    // A run that did not dispatch automatically (an earlier version crashed between intake and dispatch, or the
    // setting was off) leaves the order at `new` with only its intake.
    let (earlier, _sink) = spawn_app_adjusted(|settings| settings.dispatch.auto = false).await;
    let created: Value = earlier
        .post_json(
            "/api/requests",
            &request("help", "我们厂区最近经常停电，电压也不稳，影响正常生产。"),
        )
        .await
        .json()
        .await
        .unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    assert_eq!(earlier.stored(&number).await.status, Status::New);

    // The next start on the same database finishes it, once.
    let mut settings = earlier.settings.clone();
    settings.dispatch.auto = true;
    let next = App::open(settings).await.unwrap();
    let forms = &next.forms.forms;
    assert_eq!(
        forms
            .finish_interrupted_dispatches(Utc::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        forms
            .finish_interrupted_dispatches(Utc::now())
            .await
            .unwrap(),
        0
    );
    let row = next
        .store
        .request_by_tracking_number(&number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, Status::Dispatched);
    assert_eq!(row.lead_unit.as_deref(), Some("power"));
    let kinds = next.store.events(row.id).await.unwrap();
    assert_eq!(kinds.iter().filter(|e| e.kind == "dispatched").count(), 1);
}

/// Fills the database's quota under concurrent submissions, then frees space: every 201 is saved with a
/// unique number, the rest get a 503 in plain words, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_never_acknowledges_what_it_did_not_save_and_service_resumes() {
    let sink = SmtpSink::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    sink.serve(listener);
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("data/qihu.db");
    std::fs::create_dir_all(database.parent().unwrap()).unwrap();
    // Ballast that takes most of the quota; dropping it later is "space is back".
    let outside = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&database)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
        )
        .await
        .unwrap();
    sqlx::query("CREATE TABLE ballast (b BLOB)")
        .execute(&outside)
        .await
        .unwrap();
    sqlx::query("INSERT INTO ballast VALUES (zeroblob(2000000))")
        .execute(&outside)
        .await
        .unwrap();
    let mut settings = settings_in(dir.path(), port);
    // 2 MB of ballast is about 490 pages; the schema and about a hundred requests fit in the rest.
    settings.storage.database_url = format!("sqlite://{}?max_page_count=640", database.display());
    let app = spawn_app_with(dir, settings).await;

    let submit = |i: usize| {
        let app = &app;
        async move {
            let body = request(
                "help",
                &format!(
                    "第{i}次反映：我们厂区最近经常停电，电压也不稳，影响正常生产，请尽快协调解决。"
                ),
            );
            let response = app.post_json("/api/requests", &body).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let mut acknowledged = Vec::new();
    let mut unavailable = 0;
    for wave in 0..40 {
        let answers = futures_util::future::join_all((0..8).map(|i| submit(wave * 8 + i))).await;
        for (status, body) in answers {
            match status {
                201 => acknowledged.push(body["tracking_number"].as_str().unwrap().to_owned()),
                503 => {
                    unavailable += 1;
                    assert!(
                        body["error"].as_str().unwrap().contains("未被受理"),
                        "{body}"
                    );
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        if unavailable >= 24 {
            break;
        }
    }
    assert!(
        unavailable >= 24,
        "the quota was reached ({} saved)",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());

    // Space comes back; the next submissions are saved without a restart.
    sqlx::query("DROP TABLE ballast")
        .execute(&outside)
        .await
        .unwrap();
    let mut after = Vec::new();
    for i in 0..8 {
        let (status, body) = submit(1000 + i).await;
        assert_eq!(status, 201, "service resumes: {body}");
        after.push(body["tracking_number"].as_str().unwrap().to_owned());
    }
    acknowledged.extend(after);

    // Every acknowledged number is unique and saved with its events.
    let unique: std::collections::HashSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "tracking numbers are unique"
    );
    let saved: Vec<String> = sqlx::query_scalar("SELECT tracking_number FROM requests")
        .fetch_all(&outside)
        .await
        .unwrap();
    let saved: std::collections::HashSet<String> = saved.into_iter().collect();
    for number in &acknowledged {
        assert!(saved.contains(number), "{number} got a 201 and is saved");
        let row = app.stored(number).await;
        assert!(!app.app.store.events(row.id).await.unwrap().is_empty());
    }
    assert_eq!(
        saved.len(),
        acknowledged.len(),
        "nothing unacknowledged was kept"
    );
}

/// kill -9 under 32 concurrent submissions, twice: every acknowledged request is there after the restart,
/// dispatched (intake and dispatch are one transaction), and every mail is written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_under_load_loses_nothing_acknowledged_and_leaves_nothing_undispatched() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path(), 1);
    settings.mail.smtp_url = None;
    settings.mail.poll_seconds = 1;
    let config = dir.path().join("qihu.toml");
    std::fs::write(&config, toml::to_string(&settings).unwrap()).unwrap();
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    for crash in 0..2 {
        let server = support::start_server(&config, &[]).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut load = tokio::task::JoinSet::new();
        for worker in 0..32 {
            let (client, base, stop) = (client.clone(), server.base.clone(), Arc::clone(&stop));
            load.spawn(async move {
                let mut numbers = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let body = request(
                        "help",
                        &format!(
                            "第{crash}轮{worker}号第{i}次：厂区经常停电，电压不稳，影响生产。"
                        ),
                    );
                    let Ok(response) = client
                        .post(format!("{base}/api/requests"))
                        .json(&body)
                        .send()
                        .await
                    else {
                        break;
                    };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(answer) = response.json::<Value>().await else {
                        break;
                    };
                    numbers.push(answer["tracking_number"].as_str().unwrap().to_owned());
                }
                numbers
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let mut server = server;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(numbers) = load.join_next().await {
            acknowledged.extend(numbers.unwrap());
        }
    }
    assert!(
        acknowledged.len() > 20,
        "the load ran ({})",
        acknowledged.len()
    );

    // Restart: everything acknowledged is there and dispatched; the mail worker writes each mail once.
    let server = support::start_server(&config, &[]).await;
    let store = qihu_forms::store::Store::connect(&settings.storage.database_url)
        .await
        .unwrap();
    for number in &acknowledged {
        let row = store
            .request_by_tracking_number(number)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{number} got a 201 and is lost"));
        assert_eq!(
            row.status,
            Status::Dispatched,
            "{number} was dispatched with its intake"
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.outbox_counts().await.unwrap().pending > 0 {
        assert!(std::time::Instant::now() < deadline, "the outbox drains");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let counts = store.outbox_counts().await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&settings.mail.outbox_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".eml"))
        .collect();
    assert_eq!(files.len() as i64, counts.sent, "one .eml per sent message");
    drop(server);
}
