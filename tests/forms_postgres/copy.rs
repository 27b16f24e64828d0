//! Moving a city: `qihu db copy` from a SQLite installation that has been in use to an empty PostgreSQL
//! database, then the same links, sessions, scans and pending mails working from the new database.

use std::path::Path;
use std::process::Command;

use qihu_forms::console::Role;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::stories::{order_in_verification, pdf, request, settings_in, spawn_app_with};
use crate::support::{self, Backend, SmtpSink};

/// Runs `qihu --config <config> db copy --json --from <from> --to <to>`.
fn db_copy(config: &Path, from: &str, to: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qihu"))
        .arg("--config")
        .arg(config)
        .args(["db", "copy", "--json", "--from", from, "--to", to])
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_on_sqlite_moves_to_postgresql_with_everything_and_carries_on() {
    let sink = SmtpSink::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    sink.serve(listener);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let mut settings = settings_in(&root, port);
    let sqlite = support::database_url(Backend::Sqlite, &root);
    settings.storage.database_url = sqlite.clone();
    let config = root.join("qihu.toml");
    std::fs::write(&config, toml::to_string(&settings).unwrap()).unwrap();

    // A city in use: an order through two rounds and verification with the unit's scan, a console user
    // signed in, and two new requests whose mails have not gone out yet.
    let old = spawn_app_with(dir, settings.clone()).await;
    let (number, tracking_token, unit_token) = order_in_verification(&old, &sink).await;
    old.upload_signed_form(&number, &unit_token).await;
    old.add_user("zhang", Role::Centre).await;
    let session = old.login("zhang").await;
    let waiting = [
        old.submit(&request("help", "厂区门前道路破损，货车进出困难。"))
            .await,
        old.submit(&request(
            "suggestion",
            "建议开通工业园区到高铁站的公交线路。",
        ))
        .await,
    ];
    let status_before = old.status_of(&number, &tracking_token).await;
    let scan_before = old
        .app
        .store
        .verification_forms(old.stored(&number).await.id)
        .await
        .unwrap();
    assert_eq!(scan_before.len(), 1);
    let mut events_before = old.events_of(&number).await.len();
    for waiting in &waiting {
        events_before += old.events_of(waiting).await.len();
    }
    let mails_before = sink.messages().len();
    let old_counts = old.app.store.outbox_counts().await.unwrap();
    assert!(old_counts.pending > 0, "mails wait to go out at the move");

    // A mistyped source is refused and not created.
    let missing = root.join("data/qihu-typo.db");
    let output = db_copy(
        &config,
        &format!("sqlite://{}", missing.display()),
        "postgres://127.0.0.1:1/none",
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("不存在"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!missing.exists());

    // The copy: every table checked, the rows of the city's data all there.
    let postgres = support::database_url(Backend::Postgres, &root);
    let output = db_copy(&config, &sqlite, &postgres);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(
        progress.contains("正在复制 events（办理记录）"),
        "{progress}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = |table: &str| copied_rows(&report, table);
    assert_eq!(rows("requests"), 3);
    assert_eq!(rows("events"), events_before as i64);
    assert!(rows("outbox") > 10);
    assert_eq!(rows("verification_forms"), 1);
    assert_eq!(rows("users"), 1);
    assert_eq!(rows("sessions"), 1);
    assert!(rows("unit_tokens") >= 3);
    assert_eq!(rows("secrets"), 1, "the server secret moves with the data");

    // A second copy into the same database is refused and changes nothing.
    let again = db_copy(&config, &sqlite, &postgres);
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(message.contains("目标数据库不是空的"), "{message}");

    // The city runs on PostgreSQL now: the enterprise's link shows the same order, the unit's link and the
    // console session still work, the scan is the same file, and the mails that waited go out.
    let mut moved = settings.clone();
    moved.storage.database_url = postgres.clone();
    let new_dir = tempfile::tempdir().unwrap();
    let new = spawn_app_with(new_dir, moved).await;
    assert_eq!(new.status_of(&number, &tracking_token).await, status_before);
    let unit_page = new.get(&format!("/unit/{number}?token={unit_token}")).await;
    assert_eq!(unit_page.status(), 200);
    let scan = new
        .console_get(
            &session,
            &format!(
                "/console/requests/{number}/verification-forms/{}",
                scan_before[0].id
            ),
        )
        .await;
    assert_eq!(scan.status(), 200, "the console session moved too");
    assert_eq!(scan.bytes().await.unwrap().as_ref(), pdf(3000).as_slice());
    new.drain().await;
    assert_eq!(new.app.store.outbox_counts().await.unwrap().pending, 0);
    let delivered = sink.messages();
    assert_eq!(
        delivered.len(),
        mails_before + old_counts.pending as usize,
        "every waiting mail goes out once"
    );
    for waiting in &waiting {
        assert!(
            delivered[mails_before..]
                .iter()
                .any(|mail| mail.subject.contains(waiting.as_str())),
            "the receipt of {waiting} goes out from the new database"
        );
    }

    // New work continues the numbering and the ids: no number or id is given twice.
    let next = new
        .submit(&request("help", "园区路灯不亮，夜间生产车辆通行不安全。"))
        .await;
    let last_old = waiting.iter().max().unwrap();
    assert!(next.as_str() > last_old.as_str(), "{next} after {last_old}");
    assert!(new.stored(&next).await.id > new.stored(last_old).await.id);
    assert!(!new.events_of(&next).await.is_empty());
    check_source_untouched(&sqlite, &number, &status_before).await;

    // And back: a copy that fails half-way (the target's disk fills up) leaves the target empty; with room, the
    // round trip carries every row.
    let back = tempfile::tempdir().unwrap();
    let empty_pages = pages_of_an_empty_database(back.path()).await;
    let full = back.path().join("full.db");
    let output = db_copy(
        &config,
        &postgres,
        &format!(
            "sqlite://{}?max_page_count={}",
            full.display(),
            empty_pages + 2
        ),
    );
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("复制失败，目标数据库未写入任何数据"),
        "{message}"
    );
    let target = qihu_forms::store::Store::connect(&format!("sqlite://{}", full.display()))
        .await
        .unwrap();
    let all = qihu_forms::store::RequestFilter::default();
    assert_eq!(target.count_requests(&all).await.unwrap(), 0);
    let roomy = format!("sqlite://{}", back.path().join("roomy.db").display());
    let output = db_copy(&config, &postgres, &roomy);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let round_trip: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        copied_rows(&round_trip, "requests"),
        4,
        "the three moved and the one made since"
    );
    drop(old); // its folder holds the source and the configuration
}

/// The rows `qihu db copy --json` reports for `table`, the same on both sides.
fn copied_rows(report: &Value, table: &str) -> i64 {
    let entry = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["table"] == table)
        .unwrap_or_else(|| panic!("{table} in {report}"));
    assert_eq!(entry["source_rows"], entry["target_rows"], "{table}");
    entry["target_rows"].as_i64().unwrap()
}

/// The pages of a database with this version's tables and no rows.
async fn pages_of_an_empty_database(dir: &Path) -> i64 {
    let path = dir.join("empty.db");
    let store = qihu_forms::store::Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&pool)
        .await
        .unwrap()
}

/// The source still holds what it held: a copy only reads it.
async fn check_source_untouched(sqlite: &str, number: &str, status_before: &Value) {
    let store = qihu_forms::store::Store::connect(sqlite).await.unwrap();
    let order = store
        .request_by_tracking_number(number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_value(order.status).unwrap(),
        status_before["status"]
    );
    let all = qihu_forms::store::RequestFilter::default();
    assert_eq!(store.count_requests(&all).await.unwrap(), 3);
}
