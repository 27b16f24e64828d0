//! Order integrity: two steps at the same instant on one order, a full disk under concurrent submissions, every
//! link against every endpoint, steps out of order, and idempotency keys bound to their body.

use crate::stories::*;
use crate::support::{Received, SmtpSink, root};
use chrono::Utc;
use qihu::serve::App;
use qihu_forms::order::Status;
use serde_json::{Value, json};

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
        .map(|event| event.kind().code().to_owned())
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
    assert_eq!(kinds.iter().filter(|e| e.kind() == "dispatched").count(), 1);
}

/// Tracking numbers are never given twice, also when a request fails after its number was drawn: on SQLite the
/// number is taken inside the request's transaction, so the failure takes it back (no gap); on PostgreSQL it was
/// reserved just before in a statement of its own (`Store::reserve_number`), so it stays unused (a gap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_request_that_fails_after_drawing_its_number_never_shares_it() {
    use qihu_forms::domain::{Channel, RequestKind};
    use qihu_forms::order::Event;
    use qihu_forms::order::payload::Intake;
    use qihu_forms::store::{Change, RequestRecord, Store};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&crate::support::database_url(crate::BACKEND, dir.path()))
        .await
        .unwrap();
    let record = |n: usize| RequestRecord {
        token_hash: format!("{n:064}"),
        idempotency_key: None,
        idempotency_fingerprint: None,
        kind: "help".to_owned(),
        channel: "web".to_owned(),
        enterprise_name: "滕州市恒达机械制造有限公司".to_owned(),
        credit_code: None,
        contact_name: "王经理".to_owned(),
        contact_phone: "13812345678".to_owned(),
        contact_email: None,
        town: "荆河街道".to_owned(),
        description: "厂区经常停电。".to_owned(),
        suggested_department: None,
        policy: None,
        status: Status::New,
        instant_answer: None,
        knowledge_gap: false,
    };
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let create = |n: usize, fail: bool| {
        let store = store.clone();
        async move {
            store
                .create_request(
                    &record(n),
                    day,
                    Utc::now(),
                    |day, sequence| format!("QH{}-{sequence:04}", day.format("%Y%m%d")),
                    |_| {
                        if fail {
                            Err("the changes could not be made")
                        } else {
                            Ok(vec![Change::new(
                                "enterprise:web",
                                Event::Submitted(Intake {
                                    kind: RequestKind::Help,
                                    channel: Channel::Web,
                                    instant_answer: None,
                                    note: None,
                                }),
                            )])
                        }
                    },
                )
                .await
                .unwrap()
        }
    };

    let first = create(1, false).await.unwrap();
    assert!(create(2, true).await.is_err(), "the second request fails");
    let third = create(3, false).await.unwrap();

    assert_eq!(first.tracking_number, "QH20261202-0001");
    let expected = match crate::BACKEND {
        crate::support::Backend::Sqlite => "QH20261202-0002",
        crate::support::Backend::Postgres => "QH20261202-0003",
    };
    assert_eq!(third.tracking_number, expected);
    let all = qihu_forms::store::RequestFilter::default();
    assert_eq!(
        store.count_requests(&all).await.unwrap(),
        2,
        "nothing of the failed request is kept"
    );
}
