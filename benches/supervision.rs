//! Benchmark: one supervision pass (督办巡检) over 1,000,000 open orders in SQLite (goal: under 2 s on 2 cores),
//! checking that it issues exactly the right cards and reminders.
//!
//! Run: `cargo bench --bench supervision`. The generated database (1,000,000 dispatched orders, each with its
//! `dispatched` event) is built once in the system temp folder and copied before every timed pass, so each pass
//! starts from the same state:
//! - every 100th order is overdue (10,000), of which every 500th already has its yellow card from an earlier
//!   pass (2,000) — so 8,000 new yellow cards;
//! - every 100th order (offset 1) is due by the end of the next working day — 10,000 reminders;
//! - the rest fall due 2 to 30 days later.
//!
//! Each unit with new yellow cards also gets exactly one red card (its earlier and new yellow cards are in a row,
//! and a red card covers the whole row) and no interview; a second pass on the same database issues nothing.
//!
//! On PostgreSQL: `QIHU_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432 cargo bench --bench supervision`. The
//! SQLite template is moved once into the database `qihu_bench_supervision` with `qihu db copy`'s function
//! (`copy_database`), and each run works on a copy of it made with `CREATE DATABASE … TEMPLATE`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use qihu::config::Settings;
use qihu::serve::App;
use qihu_forms::sla::cards::{self, CardKind};
use qihu_forms::store::{Store, copy_database};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const ORDERS: i64 = 1_000_000;
const RUNS: usize = 5;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The PostgreSQL server to run on (`QIHU_BENCH_POSTGRES`, a URL without a database), if any.
fn postgres_server() -> Option<String> {
    std::env::var("QIHU_BENCH_POSTGRES")
        .ok()
        .map(|url| url.trim_end_matches('/').to_owned())
}

const PG_TEMPLATE: &str = "qihu_bench_supervision";
const PG_RUN: &str = "qihu_bench_supervision_run";

async fn postgres_admin(server: &str) -> sqlx::PgPool {
    sqlx::PgPool::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL server")
}

/// Makes sure the database `qihu_bench_supervision` holds the template's orders (moved once from SQLite).
async fn postgres_template(server: &str, sqlite_template: &Path) {
    let admin = postgres_admin(server).await;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(PG_TEMPLATE)
            .fetch_one(&admin)
            .await
            .expect("catalogue");
    if exists {
        let pool = sqlx::PgPool::connect(&format!("{server}/{PG_TEMPLATE}"))
            .await
            .expect("template opens");
        let orders: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&pool)
            .await
            .ok();
        pool.close().await;
        if orders == Some(ORDERS) {
            return;
        }
    }
    let started = Instant::now();
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"
    ))
    .execute(&admin)
    .await
    .expect("drop");
    sqlx::query(&format!("CREATE DATABASE {PG_TEMPLATE}"))
        .execute(&admin)
        .await
        .expect("create");
    let source = Store::connect(&format!(
        "sqlite://{}",
        sqlite_template.join("qihu.db").display()
    ))
    .await
    .expect("SQLite template opens");
    let target = Store::connect(&format!("{server}/{PG_TEMPLATE}"))
        .await
        .expect("PostgreSQL template opens");
    let report = copy_database(&source, &target).await.expect("copied");
    eprintln!(
        "moved {} rows to PostgreSQL in {:.1} s",
        report.rows(),
        started.elapsed().as_secs_f64()
    );
}

/// A fresh copy of the PostgreSQL template for one run; its URL.
async fn postgres_run(server: &str) -> String {
    let admin = postgres_admin(server).await;
    for statement in [
        format!("DROP DATABASE IF EXISTS {PG_RUN} WITH (FORCE)"),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{PG_TEMPLATE}'"
        ),
        format!("CREATE DATABASE {PG_RUN} TEMPLATE {PG_TEMPLATE}"),
    ] {
        sqlx::query(&statement)
            .execute(&admin)
            .await
            .expect("run database");
    }
    format!("{server}/{PG_RUN}")
}

/// The units that hold two or more yellow cards, as the database has them after the pass.
async fn units_with_two_yellow_cards(database_url: &str) -> std::collections::BTreeSet<String> {
    let units: Vec<String> = if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url)
            .await
            .expect("database opens");
        sqlx::query_scalar(
            "SELECT payload::jsonb ->> 'unit' FROM events WHERE kind = 'yellow_card'
             GROUP BY payload::jsonb ->> 'unit' HAVING COUNT(*) >= 2",
        )
        .fetch_all(&pool)
        .await
        .expect("cards counted")
    } else {
        let file = Path::new(database_url.trim_start_matches("sqlite://"));
        sqlx::query_scalar(
            "SELECT payload ->> '$.unit' FROM events WHERE kind = 'yellow_card'
             GROUP BY payload ->> '$.unit' HAVING COUNT(*) >= 2",
        )
        .fetch_all(&read_pool(file).await)
        .await
        .expect("cards counted")
    };
    units.into_iter().collect()
}

fn settings_in(dir: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.site.templates_dir = root().join("site-templates");
    settings.site.output_dir = dir.join("public");
    settings.search.index_dir = dir.join("no-index");
    settings.search.analysis_dir = root().join("config/search");
    settings.storage.database_url = format!("sqlite://{}", dir.join("qihu.db").display());
    settings.storage.secret_file = dir.join("secret.key");
    settings.mail.smtp_url = None;
    settings.mail.outbox_dir = dir.join("outbox");
    settings.dispatch.units_file = root().join("config/units.toml");
    settings.dispatch.catalogue_file = root().join("config/dispatch.toml");
    settings.calendar.dir = root().join("config/calendar");
    settings.server.public_url = "http://qihu.test".to_owned();
    settings
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

/// Fills the migrated database in `dir` with the generated orders, in one statement per table.
async fn generate(dir: &Path, units: &[String]) {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("qihu.db"))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("database opens");
    let units = serde_json::to_string(units).expect("units");
    // Deadlines as the store writes them (UTC, microseconds): overdue = Friday 20 November 2026 23:59:59 +08:00,
    // due soon = Thursday 26 November 23:59:59 +08:00 (the pass runs Wednesday 25 November 10:00 +08:00).
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO requests (id, tracking_number, token_hash, kind, channel, enterprise_name, contact_name,
                               contact_phone, contact_email, town, description, status, lead_unit, due_at,
                               created_at, updated_at)
         SELECT i, printf('QH20261101-%07d', i), printf('%064d', i), 'help', 'web',
                printf('滕州市第%d机械制造有限公司', i), '王经理', '13812345678', 'wang@example.com', '荆河街道',
                '厂区经常停电，影响正常生产，请协调供电部门解决。',
                CASE i % 3 WHEN 0 THEN 'dispatched' WHEN 1 THEN 'accepted' ELSE 'rework' END,
                json_extract(?2, printf('$[%d]', (i + i / 100) % json_array_length(?2))),
                CASE
                    WHEN i % 100 = 0 THEN '2026-11-20T15:59:59.000000Z'
                    WHEN i % 100 = 1 THEN '2026-11-26T15:59:59.000000Z'
                    ELSE strftime('%Y-%m-%dT15:59:59.000000Z', '2026-11-27', printf('+%d days', i % 29))
                END,
                '2026-11-01T02:00:00.000000Z', '2026-11-01T02:00:00.000000Z'
         FROM n",
    )
    .bind(ORDERS)
    .bind(&units)
    .execute(&pool)
    .await
    .expect("orders generated");
    sqlx::query(
        "INSERT INTO events (request_id, at, actor, kind, payload)
         SELECT id, created_at, 'centre:bench', 'dispatched', json_object('unit', lead_unit, 'due_at', due_at)
         FROM requests ORDER BY id",
    )
    .execute(&pool)
    .await
    .expect("dispatch events generated");
    // Yellow cards from an earlier pass, for the deadline the orders still have.
    sqlx::query(
        "INSERT INTO events (request_id, at, actor, kind, payload)
         SELECT id, '2026-11-21T02:00:00.000000Z', 'system:supervision', 'yellow_card',
                json_object('unit', lead_unit, 'due_at', '2026-11-20T15:59:59Z', 'order', tracking_number)
         FROM requests WHERE id % 500 = 0 ORDER BY id",
    )
    .execute(&pool)
    .await
    .expect("earlier cards generated");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;
}

async fn read_pool(file: &Path) -> sqlx::SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(file))
        .await
        .expect("database opens")
}

fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("run folder");
    for name in ["qihu.db", "secret.key"] {
        std::fs::copy(from.join(name), to.join(name)).expect("database copied");
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let base: PathBuf = std::env::temp_dir().join("qihu-bench-supervision");
    let template = base.join("template");
    let now = at("2026-11-25T10:00:00+08:00");

    runtime.block_on(async {
        if !template.join("complete").exists() {
            let _ = std::fs::remove_dir_all(&template);
            std::fs::create_dir_all(&template).expect("bench folder");
            let started = Instant::now();
            let app = App::open(settings_in(&template)).await.expect("app opens");
            let units: Vec<String> = app
                .forms
                .forms
                .directory
                .units
                .iter()
                .map(|unit| unit.id.clone())
                .collect();
            drop(app);
            generate(&template, &units).await;
            std::fs::write(template.join("complete"), "").expect("marker");
            eprintln!(
                "generated {ORDERS} open orders in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    });

    let postgres = postgres_server();
    if let Some(server) = &postgres {
        runtime.block_on(postgres_template(server, &template));
    }
    let mut times: Vec<Duration> = Vec::new();
    for run in 0..RUNS {
        let dir = base.join(format!("run-{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        copy_files(&template, &dir);
        runtime.block_on(async {
            let mut settings = settings_in(&dir);
            if let Some(server) = &postgres {
                settings.storage.database_url = postgres_run(server).await;
            }
            let database_url = settings.storage.database_url.clone();
            let app = App::open(settings).await.expect("app opens");
            let forms = &app.forms.forms;
            let started = Instant::now();
            let report = cards::supervise(forms, now).await.expect("pass");
            let elapsed = started.elapsed();
            times.push(elapsed);

            let yellow = report
                .issued
                .iter()
                .filter(|card| card.kind == CardKind::YellowCard)
                .count();
            let red_units: std::collections::BTreeSet<&str> = report
                .issued
                .iter()
                .filter(|card| card.kind == CardKind::RedCard)
                .map(|card| card.unit.as_str())
                .collect();
            let red = report
                .issued
                .iter()
                .filter(|card| card.kind == CardKind::RedCard)
                .count();
            // Every unit holding two or more yellow cards (earlier or new; none has reported since) gets one red card.
            let expected_red_units = units_with_two_yellow_cards(&database_url).await;
            assert_eq!(report.overdue, 10_000, "overdue orders");
            assert_eq!(yellow, 8_000, "new yellow cards");
            assert_eq!(report.reminders, 10_000, "reminders");
            assert_eq!(red, red_units.len(), "one red card per unit");
            assert_eq!(
                red_units,
                expected_red_units.iter().map(String::as_str).collect(),
                "every unit with two yellow cards in a row"
            );
            assert!(
                report
                    .issued
                    .iter()
                    .all(|card| card.kind != CardKind::Interview),
                "no interview: a unit's first red card"
            );
            let again = cards::supervise(forms, now).await.expect("second pass");
            assert!(again.issued.is_empty() && again.reminders == 0, "idempotent");
            println!(
                "run {run}: {:.3} s — {} reminders, {yellow} yellow cards, {red} red cards over {ORDERS} open orders",
                elapsed.as_secs_f64(),
                report.reminders
            );
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    times.sort();
    println!(
        "supervision pass over {ORDERS} open orders on {}: median {:.3} s (min {:.3}, max {:.3})",
        if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        times[RUNS / 2].as_secs_f64(),
        times[0].as_secs_f64(),
        times[RUNS - 1].as_secs_f64()
    );
}
