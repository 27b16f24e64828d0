//! The faults of an SQLite file: a full disk under concurrent submissions, and kill -9 of a real `qihu serve`
//! under load.

use std::sync::Arc;

use crate::stories::*;
use crate::support::{self, SmtpSink};
use qihu_forms::order::Status;
use serde_json::Value;
use tokio::net::TcpListener;

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
    // What the killed worker had claimed is sent by the restarted one once the claim runs out.
    settings.mail.claim_seconds = 2;
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
    let counts = support::outbox_sent(&store, 60).await;
    let files: Vec<_> = std::fs::read_dir(&settings.mail.outbox_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".eml"))
        .collect();
    assert_eq!(files.len() as i64, counts.sent, "one .eml per sent message");
    drop(server);
}
