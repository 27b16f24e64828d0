//! Benchmark: the monthly bulletin (月通报) for all units over a database of 1,000,000 orders (goal: under 3 s on
//! the 2-core machine).
//!
//! Run: `cargo bench --bench report`. The first run generates the database (orders from January 2025 to
//! 20 November 2026 with their events, about 7 million, bulk-inserted) and keeps it for the next runs:
//!
//! - `QIHU_BENCH_ORDERS` — how many orders (default 1,000,000);
//! - `QIHU_BENCH_DB` — the SQLite file (default `$TMPDIR/qihu-bench-report/<orders>.db`; delete it to regenerate);
//! - `QIHU_BENCH_RUNS` — timed runs of each report (default 5);
//! - `QIHU_BENCH_POSTGRES` — a PostgreSQL server (`postgres://postgres@127.0.0.1:5432`): the reports run there, on
//!   the database `qihu_bench_report_<orders>`, which the SQLite database is moved into once with
//!   `copy_database` (the function behind `qihu db copy`).
//!
//! Each run makes the October 2026 bulletin as the console does (figures → ranking → SVG charts → HTML page) and
//! its workbook; then, fewer times, the June 2025 bulletin (an old month reproduced), the 2026-Q3 evaluation, the
//! 2026-H2 ranking and the 2026 annual assessment (all as of 20 November 2026).

use std::path::PathBuf;
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Days, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Asia::Shanghai;
use qihu::config::Settings;
use qihu::serve::App;
use qihu_forms::calendar::{Calendar, end_of_day};
use qihu_forms::dispatch::Directory;
use qihu_forms::reports::{Period, bulletin, workbook};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (SplitMix64): the same database on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn minutes(&mut self, low: i64, high: i64) -> Duration {
        Duration::minutes(low + self.below((high - low).max(1) as u64) as i64)
    }
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn shanghai(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

/// The moment the synthetic history ends; the reports are made as of this moment.
fn horizon() -> DateTime<Utc> {
    shanghai("2026-11-20T00:00:00+08:00")
}

/// One event row to insert.
struct EventRow {
    request_id: i64,
    at: DateTime<Utc>,
    actor: String,
    kind: &'static str,
    payload: String,
}

/// One request row to insert (the columns the reports and the console read).
struct RequestRow {
    id: i64,
    kind: &'static str,
    email: Option<String>,
    town: String,
    status: &'static str,
    lead_unit: Option<String>,
    due_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Rows waiting to be written, flushed in multi-row INSERTs inside one transaction per batch. Events are
/// written in time order across orders, as the live system writes them (an order's events lie apart in the
/// table, as they would after months of use): `waiting` holds the events later than the orders generated so
/// far, until no order still to come can precede them.
struct Loader {
    pool: SqlitePool,
    requests: Vec<RequestRow>,
    events: Vec<EventRow>,
    waiting: std::collections::BTreeMap<(DateTime<Utc>, u64), EventRow>,
    sequence: u64,
    written_events: u64,
}

const EVENTS_PER_INSERT: usize = 500;
const REQUESTS_PER_INSERT: usize = 200;

impl Loader {
    /// Queues an order's events.
    fn add(&mut self, events: Vec<EventRow>) {
        for event in events {
            self.sequence += 1;
            self.waiting.insert((event.at, self.sequence), event);
        }
    }

    /// Moves the events before `watermark` (in time order) to the next batch.
    fn release(&mut self, watermark: Option<DateTime<Utc>>) {
        while let Some(entry) = self.waiting.first_entry() {
            if watermark.is_some_and(|watermark| entry.key().0 >= watermark) {
                break;
            }
            self.events.push(entry.remove());
        }
    }

    async fn flush(&mut self) {
        let mut tx = self.pool.begin().await.expect("transaction");
        for chunk in self.requests.chunks(REQUESTS_PER_INSERT) {
            let values = vec![
                "(?, ?, 'x', ?, 'web', ?, '联系人', '13800000000', ?, ?, ?, ?, ?, '[]', ?, ?, ?)";
                chunk.len()
            ];
            let sql = format!(
                "INSERT INTO requests (id, tracking_number, token_hash, kind, channel, enterprise_name, contact_name,
                    contact_phone, contact_email, town, description, status, lead_unit, co_units, due_at,
                    created_at, updated_at) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query::<Sqlite>(&sql);
            for row in chunk {
                query = query
                    .bind(row.id)
                    .bind(format!("QH-BENCH-{:07}", row.id))
                    .bind(row.kind)
                    .bind(format!("滕州市合成企业{}有限公司", row.id % 50_000))
                    .bind(row.email.clone())
                    .bind(row.town.clone())
                    .bind("厂区周边道路破损，大型货车进出困难，影响原料运输和产品发货，请协调有关部门尽快修复。")
                    .bind(row.status)
                    .bind(row.lead_unit.clone())
                    .bind(row.due_at.map(text))
                    .bind(text(row.created_at))
                    .bind(text(row.updated_at));
            }
            query.execute(&mut *tx).await.expect("insert requests");
        }
        for chunk in self.events.chunks(EVENTS_PER_INSERT) {
            let values = vec!["(?, ?, ?, ?, ?)"; chunk.len()];
            let sql = format!(
                "INSERT INTO events (request_id, at, actor, kind, payload) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query::<Sqlite>(&sql);
            for event in chunk {
                query = query
                    .bind(event.request_id)
                    .bind(text(event.at))
                    .bind(event.actor.as_str())
                    .bind(event.kind)
                    .bind(event.payload.as_str());
            }
            query.execute(&mut *tx).await.expect("insert events");
        }
        tx.commit().await.expect("commit");
        self.written_events += self.events.len() as u64;
        self.requests.clear();
        self.events.clear();
    }
}

/// Everything one order needs from the generator.
struct World {
    calendar: Calendar,
    units: Vec<(String, String)>,
    calendar_version: String,
    horizon: DateTime<Utc>,
}

fn rating_payload(level: &str, label: &str, channel: &str, round: u32) -> serde_json::Value {
    json!({ "rating": level, "rating_label": label, "comment": "", "channel": channel, "round": round })
}

/// Generates order `id` created at `created`: its request row and its events up to the horizon.
fn order(
    world: &World,
    rng: &mut Rng,
    id: i64,
    created: DateTime<Utc>,
) -> (RequestRow, Vec<EventRow>) {
    let (unit, town) = world.units[rng.below(world.units.len() as u64) as usize].clone();
    let email = rng.chance(0.6).then(|| format!("qiye{id}@bench.example"));
    let mut events = Vec::new();
    let mut push =
        |at: DateTime<Utc>, actor: &str, kind: &'static str, payload: serde_json::Value| {
            events.push(EventRow {
                request_id: id,
                at,
                actor: actor.to_owned(),
                kind,
                payload: payload.to_string(),
            });
        };
    let mut row = RequestRow {
        id,
        kind: "help",
        email,
        town,
        status: "new",
        lead_unit: None,
        due_at: None,
        created_at: created,
        updated_at: created,
    };
    // A consultation the policy base answers at once (即时答复).
    if rng.chance(0.08) {
        push(
            created,
            "enterprise:web",
            "answered",
            json!({ "kind": "consultation", "channel": "web", "instant_answer": { "answered": true } }),
        );
        row.kind = "consultation";
        row.status = "answered";
        return (row, events);
    }
    push(
        created,
        "enterprise:web",
        "submitted",
        json!({ "kind": "help", "channel": "web", "instant_answer": null }),
    );
    let horizon = world.horizon;
    let dispatched = created + rng.minutes(5, 240);
    if dispatched > horizon {
        return (row, events);
    }
    let deadline = world.calendar.deadline(dispatched, 5);
    let mut due = deadline.due;
    push(
        dispatched,
        "centre:zhang",
        "dispatched",
        json!({
            "lead_unit": unit, "co_units": [], "due_at": due,
            "reason": "按派单目录：道路、交通 → 首接单位", "deadline_rule": "5个工作日（不含派单当日，按国务院节假日安排计算）",
            "calendar": world.calendar_version, "counted": deadline.counted, "calendar_warning": null,
        }),
    );
    let actor = format!("unit:{unit}");
    row.status = "dispatched";
    row.lead_unit = Some(unit.clone());
    row.due_at = Some(due);
    row.updated_at = dispatched;
    let mut last = dispatched;
    // Accepted: mostly within the day, a few late.
    if rng.chance(0.96) {
        let accepted = if rng.chance(0.92) {
            dispatched + rng.minutes(10, 8 * 60)
        } else {
            dispatched + rng.minutes(24 * 60, 9 * 24 * 60)
        };
        if accepted > horizon {
            return (row, events);
        }
        push(accepted, &actor, "accepted", json!({}));
        row.status = "accepted";
        last = accepted;
    }
    // A long problem: a plan with a committed date, approved by the centre.
    if rng.chance(0.03) {
        let submitted = last + rng.minutes(60, 24 * 60);
        let approved = submitted + rng.minutes(60, 24 * 60);
        if approved > horizon {
            return (row, events);
        }
        let committed = (approved.with_timezone(&Shanghai).date_naive()
            + Days::new(20 + rng.below(20)))
        .to_string();
        let committed_date = NaiveDate::parse_from_str(&committed, "%Y-%m-%d").expect("date");
        due = end_of_day(committed_date);
        push(
            submitted,
            &actor,
            "plan_submitted",
            json!({ "committed_date": committed, "reason": "涉及多个部门，需协调资金" }),
        );
        push(
            approved,
            "centre:zhang",
            "plan_approved",
            json!({ "committed_date": committed, "due_at": due }),
        );
        row.status = "accepted";
        row.due_at = Some(due);
        last = approved;
    }
    let mut round = 1;
    loop {
        // The result: mostly on time; late ones earn a yellow card (and now and then a red card).
        let on_time = rng.chance(0.88);
        let resolved = if on_time && due > last {
            let span = (due - last).num_minutes().max(1);
            last + rng.minutes(1, span)
        } else {
            due + rng.minutes(60, 12 * 24 * 60)
        };
        if resolved > due {
            let card = due + Duration::minutes(5);
            if card <= horizon {
                push(
                    card,
                    "system:supervision",
                    "yellow_card",
                    json!({
                        "unit": unit, "due_at": due, "status": "accepted", "order": format!("QH-BENCH-{id:07}"),
                        "rule": "通知§二(四)2：承办单位未在规定时间内向市级平台反馈办理情况，平台发通知督办，并亮“黄牌”",
                        "evidence": "截至期限未反馈办理结果",
                    }),
                );
                if rng.chance(0.15) {
                    push(
                        card + Duration::seconds(1),
                        "system:supervision",
                        "red_card",
                        json!({
                            "unit": unit, "order": format!("QH-BENCH-{id:07}"), "orders": [], "cards": [],
                            "rule": "通知§二(四)2：连续两次被亮“黄牌”的单位，予以“红牌”警示", "evidence": "连续两次黄牌",
                        }),
                    );
                }
            }
        }
        if resolved > horizon {
            return (row, events);
        }
        push(
            resolved,
            &actor,
            "resolved",
            json!({
                "solved": rng.chance(0.93), "method": "已现场协调解决", "contact_name": "李科长", "contact_phone": "0632-5512345",
            }),
        );
        row.status = "resolved";
        row.updated_at = resolved;
        if rng.chance(0.003) {
            let found = resolved + Duration::days(1);
            if found <= horizon {
                push(
                    found,
                    "centre:zhang",
                    "false_feedback",
                    json!({ "unit": unit, "statement": "企业反映未接到联系" }),
                );
            }
        }
        if !rng.chance(0.9) {
            return (row, events);
        }
        let rated = resolved + rng.minutes(120, 3 * 24 * 60);
        if rated > horizon {
            return (row, events);
        }
        let channel = if rng.chance(0.5) { "web" } else { "call_back" };
        let satisfied = rng.chance(if round == 1 { 0.92 } else { 0.75 });
        row.updated_at = rated;
        if satisfied {
            let (level, label) = [
                ("very_satisfied", "非常满意"),
                ("fairly_satisfied", "比较满意"),
                ("basically_satisfied", "基本满意"),
            ][rng.below(3) as usize];
            push(
                rated,
                "enterprise",
                "rated",
                json!({ "reason": format!("企业评价满意（{label}）"), "closed": true, "rating": rating_payload(level, label, channel, round) }),
            );
            row.status = "closed";
            return (row, events);
        }
        if round == 2 {
            push(
                rated,
                "enterprise",
                "rated",
                json!({
                    "rating": rating_payload("unsatisfied", "不满意", channel, round),
                    "next": "经两次办理答复仍不满意：承办单位填写不满意诉求审核反馈表，报工作专班核查",
                }),
            );
            row.status = "verification";
            return (row, events);
        }
        // 不满意: returned the same day with 3 working days (notice §二(五)1).
        due = world.calendar.due(rated, 3);
        push(
            rated,
            "enterprise",
            "returned",
            json!({
                "rating": rating_payload("unsatisfied", "不满意", channel, round), "due_at": due,
                "deadline_rule": "3个工作日（不含退回当日，按国务院节假日安排计算）", "calendar": world.calendar_version,
            }),
        );
        row.status = "rework";
        row.due_at = Some(due);
        last = rated;
        round += 1;
    }
}

/// Creates the database with `orders` orders, spread evenly over the days from 1 January 2025 to the horizon.
async fn generate(path: &std::path::Path, orders: u64, world: &World) {
    let url = format!("sqlite://{}", path.display());
    // Creates the file and runs the project's migrations (tables and indexes as in production).
    qihu_forms::store::Store::connect(&url)
        .await
        .expect("database");
    let options: SqliteConnectOptions = url.parse::<SqliteConnectOptions>().expect("url");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("pool");
    for pragma in ["PRAGMA synchronous = OFF", "PRAGMA cache_size = -1000000"] {
        sqlx::query(pragma).execute(&pool).await.expect("pragma");
    }
    let mut loader = Loader {
        pool,
        requests: Vec::new(),
        events: Vec::new(),
        waiting: std::collections::BTreeMap::new(),
        sequence: 0,
        written_events: 0,
    };
    let first = shanghai("2025-01-01T00:00:00+08:00")
        .with_timezone(&Shanghai)
        .date_naive();
    let days = (world.horizon.with_timezone(&Shanghai).date_naive() - first).num_days() as u64;
    let mut rng = Rng(2022);
    let started = Instant::now();
    for index in 0..orders {
        let day = first + Days::new(index * days / orders);
        let created = shanghai(&format!("{day}T08:00:00+08:00")) + rng.minutes(0, 10 * 60);
        let (row, events) = order(world, &mut rng, index as i64 + 1, created);
        loader.requests.push(row);
        loader.add(events);
        if loader.requests.len() >= 20_000 {
            // Orders still to come are created on `day` or later: nothing of theirs precedes its start.
            loader.release(Some(shanghai(&format!("{day}T00:00:00+08:00"))));
            loader.flush().await;
            eprint!("\r  已写入 {} / {orders} 件工单……", index + 1);
        }
    }
    loader.release(None);
    loader.flush().await;
    sqlx::query("CREATE TABLE bench_meta (orders INTEGER NOT NULL, layout TEXT NOT NULL DEFAULT 'time-ordered')")
        .execute(&loader.pool)
        .await
        .expect("meta");
    sqlx::query("INSERT INTO bench_meta (orders) VALUES (?1)")
        .bind(orders as i64)
        .execute(&loader.pool)
        .await
        .expect("meta");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&loader.pool)
        .await
        .expect("checkpoint");
    eprintln!(
        "\r  生成 {orders} 件工单、{} 条事件，用时 {:.1} s",
        loader.written_events,
        started.elapsed().as_secs_f64()
    );
}

fn median(mut times: Vec<Elapsed>) -> (f64, f64, f64) {
    times.sort();
    let seconds = |d: &Elapsed| d.as_secs_f64();
    (
        seconds(&times[times.len() / 2]),
        seconds(&times[0]),
        seconds(&times[times.len() - 1]),
    )
}

/// The URL of the PostgreSQL copy of the generated database on `server`, made once.
async fn postgres_copy(server: &str, sqlite: &std::path::Path, orders: u64) -> String {
    let name = format!("qihu_bench_report_{orders}");
    let url = format!("{server}/{name}");
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL server");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&admin)
            .await
            .expect("catalogue");
    if exists {
        let pool = sqlx::PgPool::connect(&url).await.expect("copy opens");
        let found: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&pool)
            .await
            .ok();
        pool.close().await;
        if found == Some(orders as i64) {
            return url;
        }
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&admin)
            .await
            .expect("drop");
    }
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create");
    eprintln!("把基准测试数据库迁入 PostgreSQL（{name}）……");
    let started = Instant::now();
    // The marker table is the bench's own, not the product's: set aside while the copy runs.
    let file = format!("sqlite://{}", sqlite.display());
    let marker = SqlitePool::connect(&file).await.expect("SQLite opens");
    sqlx::query("DROP TABLE bench_meta")
        .execute(&marker)
        .await
        .expect("marker");
    let source = qihu_forms::store::Store::connect(&file)
        .await
        .expect("source");
    let target = qihu_forms::store::Store::connect(&url)
        .await
        .expect("target");
    let report = qihu_forms::store::copy_database(&source, &target)
        .await
        .expect("copied");
    sqlx::query("CREATE TABLE bench_meta (orders INTEGER NOT NULL, layout TEXT NOT NULL DEFAULT 'time-ordered')")
        .execute(&marker)
        .await
        .expect("marker");
    sqlx::query("INSERT INTO bench_meta (orders) VALUES (?1)")
        .bind(orders as i64)
        .execute(&marker)
        .await
        .expect("marker");
    eprintln!(
        "  迁入 {} 行，用时 {:.1} s",
        report.rows(),
        started.elapsed().as_secs_f64()
    );
    url
}

fn main() {
    let orders = env_number("QIHU_BENCH_ORDERS", 1_000_000);
    let runs = env_number("QIHU_BENCH_RUNS", 5).max(1) as usize;
    let path = std::env::var("QIHU_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::temp_dir()
                .join("qihu-bench-report")
                .join(format!("{orders}.db"))
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let calendar = Calendar::load(&root().join("config/calendar")).expect("calendar");
    let directory = Directory::load(&root().join("config/units.toml")).expect("units");
    let units: Vec<(String, String)> = directory
        .units
        .iter()
        .map(|unit| {
            let town = directory
                .town_names()
                .into_iter()
                .nth(unit.id.len() % 5)
                .unwrap_or_default();
            (unit.id.clone(), town)
        })
        .collect();
    let world = World {
        calendar_version: calendar.version().to_owned(),
        calendar,
        units,
        horizon: horizon(),
    };
    let complete = runtime.block_on(async {
        if !path.exists() {
            return false;
        }
        let options = format!("sqlite://{}", path.display())
            .parse::<SqliteConnectOptions>()
            .expect("url")
            .read_only(true);
        let Ok(pool) = SqlitePoolOptions::new().connect_with(options).await else {
            return false;
        };
        let found: Option<i64> =
            sqlx::query_scalar("SELECT orders FROM bench_meta WHERE layout = 'time-ordered'")
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
        found == Some(orders as i64)
    });
    if !complete {
        eprintln!("生成基准测试数据库 {} ……", path.display());
        let _ = std::fs::remove_file(&path);
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        runtime.block_on(generate(&path, orders, &world));
    }
    let size = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
    println!(
        "report: {orders} orders, database {} ({:.0} MB)",
        path.display(),
        size as f64 / 1e6
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::default();
    settings.site.templates_dir = root().join("site-templates");
    settings.site.output_dir = dir.path().join("public");
    settings.search.index_dir = dir.path().join("no-index");
    settings.search.analysis_dir = root().join("config/search");
    settings.storage.database_url = match std::env::var("QIHU_BENCH_POSTGRES") {
        Ok(server) => runtime.block_on(postgres_copy(server.trim_end_matches('/'), &path, orders)),
        Err(_) => format!("sqlite://{}", path.display()),
    };
    println!("  on {}", settings.storage.database_url);
    settings.storage.secret_file = dir.path().join("secret.key");
    settings.mail.outbox_dir = dir.path().join("outbox");
    settings.dispatch.units_file = root().join("config/units.toml");
    settings.dispatch.catalogue_file = root().join("config/dispatch.toml");
    settings.calendar.dir = root().join("config/calendar");
    let now = horizon();
    runtime.block_on(async {
        let app = App::open(settings).await.expect("app opens");
        let forms = &app.forms.forms;
        let month = Period::parse_any("2026-10").expect("period");
        let mut figures_times = Vec::new();
        let mut page_times = Vec::new();
        let mut workbook_times = Vec::new();
        let mut total_times = Vec::new();
        let mut first = None;
        for run in 0..=runs {
            let started = Instant::now();
            let figures = qihu_forms::reports::figures(forms, month, now).await.expect("figures");
            let figured = started.elapsed();
            let report = bulletin::Report::build(&bulletin::city_of(forms), figures, now).expect("report");
            let html = bulletin::render_html(forms, &report).expect("html");
            let paged = started.elapsed();
            let bytes = workbook::write(&report).expect("workbook");
            let total = started.elapsed();
            if run == 0 {
                // The first run also warms SQLite's page cache; reported separately.
                first = Some(total);
                let city = &report.figures.city;
                println!(
                    "  2026-10: intake {}, dispatched {}, received by units {}, response {}, on time {}, resolution {}, satisfaction {}, overdue {}, yellow cards {}; page {} KB, workbook {} KB",
                    report.figures.intake,
                    report.figures.dispatched,
                    city.tally.received,
                    city.tally.response.label(),
                    city.tally.on_time.label(),
                    city.resolution.label(),
                    city.tally.satisfaction.label(),
                    city.tally.overdue,
                    city.tally.yellow_cards,
                    html.len() / 1024,
                    bytes.len() / 1024
                );
                continue;
            }
            figures_times.push(figured);
            page_times.push(paged);
            workbook_times.push(total - paged);
            total_times.push(total);
        }
        let show = |name: &str, times: Vec<Elapsed>| {
            let (median, min, max) = median(times);
            println!("  {name:<44} median {median:.3} s (min {min:.3}, max {max:.3})");
        };
        println!(
            "  first run (cold page cache): {:.3} s",
            first.map_or(0.0, |first| first.as_secs_f64())
        );
        show("monthly 2026-10: figures (SQL + fold + rank)", figures_times);
        show("monthly 2026-10: figures + charts + HTML page", page_times);
        show("monthly 2026-10: workbook (XLSX)", workbook_times);
        show("monthly 2026-10: page + workbook", total_times);
        let started = Instant::now();
        qihu_forms::reports::dashboard::build(forms, now).await.expect("dashboard");
        println!(
            "  {:<44} {:.3} s (one run)",
            "leaders' dashboard (November 2026 so far)",
            started.elapsed().as_secs_f64()
        );
        for text in ["2025-06", "2026-Q3", "2026-H2", "2026"] {
            let period = Period::parse_any(text).expect("period");
            let mut times = Vec::new();
            for _ in 0..runs.min(3) {
                let started = Instant::now();
                let report = bulletin::make(forms, period, now).await.expect("report");
                bulletin::render_html(forms, &report).expect("html");
                times.push(started.elapsed());
            }
            show(&format!("{} {text}: figures + charts + HTML page", period.kind().code()), times);
        }
    });
}
