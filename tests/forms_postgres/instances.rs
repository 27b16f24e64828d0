//! Several `qihu serve` instances on one PostgreSQL database: submissions spread over two real processes, one
//! killed with kill -9 mid-load; every acknowledged request is there, every mail goes out (a repeat only for the
//! one message the killed worker may have been handing over, with the same Message-ID), two supervision
//! passes started at the same instant issue each card once, and the pass of an instance that died holding the
//! lease is taken over by a surviving one when the lease expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::stories::{request, settings_in};
use crate::support::{self, SmtpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_database_and_survive_the_loss_of_one() {
    let (sink, smtp_port) = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path(), smtp_port);
    settings.mail.poll_seconds = 1;
    settings.mail.claim_seconds = 2;
    let config = dir.path().join("qihu.toml");
    std::fs::write(&config, toml::to_string(&settings).unwrap()).unwrap();
    let first = support::start_server(&config, &[]).await;
    let second = support::start_server(&config, &[]).await;
    let bases = [first.base.clone(), second.base.clone()];
    let mut first = Some(first);

    // Eight clients submit in turn to both instances; the first instance is killed half-way.
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for worker in 0..8 {
        let (client, bases, stop) = (client.clone(), bases.clone(), Arc::clone(&stop));
        clients.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut sent = 0usize;
            while !stop.load(Ordering::Relaxed) {
                // About 80 submissions a second in all: enough to be mid-load at the kill, few enough mails
                // for the survivor to send within the test.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let base = &bases[(worker + sent) % 2];
                sent += 1;
                let body = request(
                    "help",
                    &format!("第{worker}组第{sent}次：厂区经常停电，电压不稳，影响生产。"),
                );
                let Ok(response) = client
                    .post(format!("{base}/api/requests"))
                    .json(&body)
                    .send()
                    .await
                else {
                    continue;
                };
                if response.status() == 201 {
                    let created: Value = response.json().await.unwrap();
                    acknowledged.push(created["tracking_number"].as_str().unwrap().to_owned());
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    drop(first.take()); // kill -9 (and reaped)
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for client in clients {
        acknowledged.extend(client.await.unwrap());
    }
    assert!(
        acknowledged.len() > 20,
        "load went through: {}",
        acknowledged.len()
    );

    // Every acknowledged request is saved once, with a number of its own.
    let store = qihu_forms::store::Store::connect(&settings.storage.database_url)
        .await
        .unwrap();
    let mut unique = acknowledged.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "tracking numbers are unique"
    );
    for number in &acknowledged {
        assert!(
            store
                .request_by_tracking_number(number)
                .await
                .unwrap()
                .is_some(),
            "{number} got a 201 and is lost"
        );
    }

    // The survivor sends everything, what the killed worker had claimed included.
    let counts = support::outbox_sent(&store, 150).await;
    let mut deliveries: HashMap<String, usize> = HashMap::new();
    for message in sink.messages() {
        *deliveries.entry(message.message_id).or_default() += 1;
    }
    assert_eq!(
        deliveries.len() as i64,
        counts.sent,
        "every sent message arrived"
    );
    let repeats: usize = deliveries.values().map(|n| n - 1).sum();
    assert!(repeats <= 1, "{repeats} messages arrived twice");

    // Two passes at the same instant on two processes: each overdue order gets one yellow card.
    let later = (chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339();
    let tick = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_qihu"))
            .arg("--config")
            .arg(&config)
            .args(["tick", "--json", "--now", &later])
            .output()
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(tick);
        let b = scope.spawn(tick);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    let issued = |output: &std::process::Output| -> usize {
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        report["issued"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|card| card["kind"] == "yellow_card")
            .count()
    };
    let open = store
        .requests_with_status(qihu_forms::order::Status::Dispatched, 100_000)
        .await
        .unwrap();
    assert!(!open.is_empty());
    assert_eq!(
        issued(&a) + issued(&b),
        open.len(),
        "one yellow card per overdue order"
    );
    for order in &open {
        let cards = store
            .events(order.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.kind() == "yellow_card")
            .count();
        assert_eq!(
            cards, 1,
            "{} has {cards} yellow cards",
            order.tracking_number
        );
    }
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pass_of_an_instance_that_died_holding_the_lease_is_taken_over_when_the_lease_expires()
{
    let (app, _sink) = crate::stories::spawn_app().await;
    let number = app
        .submit(&request("help", "厂区经常停电，电压不稳，影响生产。"))
        .await;
    assert_eq!(
        app.stored(&number).await.status,
        qihu_forms::order::Status::Dispatched
    );
    let config = app.dir.path().join("qihu.toml");
    std::fs::write(&config, toml::to_string(&app.settings).unwrap()).unwrap();

    // An instance takes the lease for a pass at `start` and dies in the middle (it never gives the lease up).
    let start = chrono::Utc::now() + chrono::Duration::days(40);
    let dying = qihu_forms::store::Store::connect(&app.settings.storage.database_url)
        .await
        .unwrap();
    assert!(
        dying
            .try_lease("supervision", start, start + chrono::Duration::minutes(10))
            .await
            .unwrap()
    );
    drop(dying);

    let tick = |at: chrono::DateTime<chrono::Utc>| -> Value {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_qihu"))
            .arg("--config")
            .arg(&config)
            .args(["tick", "--json", "--now", &at.to_rfc3339()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    // While its lease runs, no other instance runs a pass (the dead one might still be writing cards) …
    let meanwhile = tick(start + chrono::Duration::minutes(1));
    assert_eq!(meanwhile["held_elsewhere"], true);
    assert!(meanwhile["issued"].as_array().unwrap().is_empty());
    // … and once it has expired, the next pass runs on a surviving instance and cards the overdue order.
    let after = tick(start + chrono::Duration::minutes(11));
    assert_eq!(after["held_elsewhere"], false);
    let cards: Vec<&Value> = after["issued"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|card| card["kind"] == "yellow_card")
        .collect();
    assert_eq!(cards.len(), 1, "{after}");
    assert_eq!(cards[0]["tracking_number"], number.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_a_form_token_and_an_idempotency_key_work_on_whichever_instance_a_request_lands()
{
    let (first, sink) = crate::stories::spawn_console_app().await;
    // The second instance has a key file of its own: the database's key is the one both use.
    let mut settings = first.settings.clone();
    let other_dir = tempfile::tempdir().unwrap();
    settings.storage.secret_file = other_dir.path().join("secret.key");
    let second = crate::stories::spawn_app_with(other_dir, settings).await;
    first
        .add_user("zhang", qihu_forms::console::Role::Centre)
        .await;

    // An enterprise retries its submission and the retry reaches the other instance: one request, one link.
    let body = request("help", "我们厂区最近经常停电，电压也不稳，影响正常生产。");
    let submit = |app: &crate::stories::TestApp| {
        app.client
            .post(format!("{}/api/requests", app.base))
            .header("Idempotency-Key", "retry-over-two-instances")
            .json(&body)
            .send()
    };
    let created: Value = submit(&first).await.unwrap().json().await.unwrap();
    let retried: Value = submit(&second).await.unwrap().json().await.unwrap();
    assert_eq!(created["tracking_number"], retried["tracking_number"]);
    assert_eq!(created["tracking_url"], retried["tracking_url"]);
    let number = created["tracking_number"].as_str().unwrap().to_owned();

    // Signed in on one instance, the centre's staff work on the other: the session and its CSRF token hold.
    let session = first.login("zhang").await;
    let queue = second.console_page(&session, "/console").await;
    assert!(queue.contains(&number), "{queue}");
    let response = second
        .dispatch(
            &session,
            &number,
            &[
                ("lead_unit", "power"),
                ("reason", "企业反映频繁停电，属供电保障事项"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        first.stored(&number).await.status,
        qihu_forms::order::Status::Dispatched
    );

    // The enterprise's link, made on the first instance, opens on the second.
    let path = crate::stories::TestApp::path_of(created["tracking_url"].as_str().unwrap());
    let page = second.get(&path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&number));
    second.drain().await;
    assert!(
        sink.to("power-handler@tengzhou.example")
            .iter()
            .any(|mail| mail.subject.contains(&number))
    );
}
