//! Benchmark: the official tables (附件2–5) exported as XLSX from a database of 100,000 orders with their events
//! (goal: under 10 s and under 500 MB).
//!
//! Run: `cargo bench --bench export`. The database (100,000 orders over 2026, each received, dispatched, accepted,
//! resolved and rated: 600,000 events) is generated once into `$QIHU_BENCH_DIR/ledger-bench/qihu.db` (default: the
//! system temp folder) and reused; each table is then written 5 times to an XLSX file beside it, and the median,
//! minimum and maximum times and the process's peak memory (VmHWM) are printed. The database stays for measuring
//! the real command with `/usr/bin/time -v` (see `benches/README.md`).

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use qihu::config::Settings;
use qihu_forms::dispatch::Directory;
use qihu_forms::reports::ledger::{self, Format, Period, Selection, Table};
use qihu_forms::store::Store;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

const ORDERS: u32 = 100_000;
const RUNS: usize = 5;

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A small deterministic generator (xorshift), so every run builds the same database.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const TOWNS: [&str; 6] = [
    "洪绪镇",
    "荆河街道",
    "龙泉街道",
    "善南街道",
    "官桥镇",
    "滕州经济技术开发区",
];
const UNITS: [&str; 8] = [
    "tax",
    "power",
    "housing",
    "natural-resources",
    "approval",
    "industry",
    "hrss",
    "finance",
];
const PROBLEMS: [&str; 6] = [
    "厂区周边道路年久失修，雨后积水严重，大货车无法通行，影响原材料进厂和产品出厂，请协调有关部门尽快维修。",
    "增值税留抵退税申请已提交一个月，至今没有结果，影响企业资金周转，请协调税务部门加快办理。",
    "新建厂房办理施工许可证的材料已经齐全，审批进度较慢，项目开工时间紧，请协调加快审批。",
    "厂区近期经常停电，电压也不稳定，造成生产线停机和产品报废，请协调供电公司排查线路。",
    "企业招工困难，一线技术工人缺口较大，希望人社部门组织专场招聘会并落实稳岗补贴政策。",
    "申请技术改造补贴，不清楚申报条件、截止时间和所需材料，希望有关部门上门指导。",
];
const METHODS: [&str; 4] = [
    "已现场协调，相关部门当天完成处理，企业确认问题解决。",
    "已组织专题会议研究，明确责任单位和完成时限，正在推进。",
    "已向企业解释政策规定并指导准备申报材料，企业表示理解。",
    "已协调办理完毕，款项已到账。",
];
const RATINGS: [(&str, &str); 4] = [
    ("very_satisfied", "非常满意"),
    ("fairly_satisfied", "比较满意"),
    ("basically_satisfied", "基本满意"),
    ("unsatisfied", "不满意"),
];

/// Writes the orders and their events in one transaction, without waiting for the disk (it is test data).
async fn generate(path: &Path) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", path.display());
    drop(Store::connect(&url).await?); // the schema, by the real migrations
    let mut connection = SqliteConnectOptions::from_str(&url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .connect()
        .await?;
    let mut tx = connection.begin().await?;
    let mut random = Random(0x2022_0114);
    let year = Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0).unwrap();
    for n in 0..ORDERS {
        // Spread over the year, in order of arrival.
        let received = year + chrono::Duration::seconds(i64::from(n) * 315);
        let town = random.pick(&TOWNS);
        let lead = random.pick(&UNITS);
        let co = random.pick(&UNITS);
        let description = format!("{}（第{n}号）", random.pick(&PROBLEMS));
        let number = format!("QH{}-{:05}", received.format("%Y%m%d"), n);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (tracking_number, token_hash, kind, channel, enterprise_name, contact_name,
                contact_phone, town, description, suggested_department, status, lead_unit, co_units, due_at,
                created_at, updated_at)
             VALUES (?1, ?2, 'help', 'collector', ?3, ?4, ?5, ?6, ?7, ?8, 'closed', ?9, ?10, ?11, ?12, ?12)
             RETURNING id",
        )
        .bind(&number)
        .bind(format!("{:064x}", random.next()))
        .bind(format!("滕州市第{n}号机械制造有限公司"))
        .bind("王经理")
        .bind(format!("138{:08}", n))
        .bind(town)
        .bind(&description)
        .bind("市住房城乡建设局")
        .bind(lead)
        .bind(format!("[\"{co}\"]"))
        .bind(text(received + chrono::Duration::days(7)))
        .bind(text(received))
        .fetch_one(&mut *tx)
        .await?;
        let (rating, label) = RATINGS[(random.next() % 4) as usize];
        let method = random.pick(&METHODS);
        let events = [
            (
                received,
                "centre:bench",
                "submitted",
                serde_json::json!({
                    "kind": "help", "channel": "collector", "instant_answer": null,
                    "note": format!("问题台账导入（{town}，第{}行）", n % 40 + 4),
                }),
            ),
            (
                received + chrono::Duration::hours(2),
                "centre:bench",
                "dispatched",
                serde_json::json!({
                    "lead_unit": lead, "co_units": [co], "due_at": received + chrono::Duration::days(7),
                    "reason": "推进中心研判派单", "deadline_rule": "5个工作日（不含派单当日，按国务院节假日安排计算）",
                    "calendar": "工作日历 2022–2026（benchmark）", "counted": ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"],
                    "calendar_warning": null,
                }),
            ),
            (
                received + chrono::Duration::hours(5),
                "unit",
                "accepted",
                serde_json::json!({}),
            ),
            (
                received + chrono::Duration::days(3),
                "unit",
                "resolved",
                serde_json::json!({
                    "solved": rating != "unsatisfied", "method": method, "contact_name": "李科长", "contact_phone": "0632-5512345",
                }),
            ),
            (
                received + chrono::Duration::days(4),
                "centre:bench",
                "rated",
                serde_json::json!({
                    "closure": "企业评价满意，销号",
                    "rating": { "rating": rating, "rating_label": label, "comment": "办理及时，态度很好", "channel": "call_back", "round": 1 },
                }),
            ),
        ];
        for (at, actor, kind, payload) in events {
            let actor = if actor == "unit" {
                format!("unit:{lead}")
            } else {
                actor.to_owned()
            };
            sqlx::query("INSERT INTO events (request_id, at, actor, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5)")
                .bind(id)
                .bind(text(at))
                .bind(actor)
                .bind(kind)
                .bind(payload.to_string())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&mut connection).await?;
    Ok(())
}

/// Peak resident memory of this process so far (VmHWM), in MB.
fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir: PathBuf = std::env::var_os("QIHU_BENCH_DIR")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join("ledger-bench");
    std::fs::create_dir_all(&dir)?;
    let database = dir.join("qihu.db");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        if !database.exists() {
            let started = Instant::now();
            generate(&database).await?;
            println!(
                "export: generated {ORDERS} orders with {} events in {:.1} s ({})",
                ORDERS * 5,
                started.elapsed().as_secs_f64(),
                database.display()
            );
        }
        let store = Store::connect(&format!("sqlite://{}", database.display())).await?;
        let directory = Directory::load(&root.join("config/units.toml"))?;
        let templates = qihu::site::load_templates(&root.join("site-templates"))?;
        let page = qihu::site::base_context(&Settings::default().site);
        let period = Period::new(
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
        )?;
        for table in Table::ALL {
            let selection = Selection {
                table,
                period,
                unit: None,
            };
            let output = dir.join(format!("{}.xlsx", table.code()));
            let mut times: Vec<Duration> = Vec::new();
            let mut rows = 0;
            for _ in 0..RUNS {
                let started = Instant::now();
                let mut file = std::fs::File::create(&output)?;
                let exported = ledger::export(
                    &store,
                    &directory,
                    &templates,
                    &page,
                    &selection,
                    Format::Xlsx,
                    NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
                    BufWriter::new(&mut file),
                )
                .await?;
                times.push(started.elapsed());
                rows = exported.rows;
            }
            times.sort();
            println!(
                "export: {} {} rows to XLSX ({:.1} MB), median {:.2} s (min {:.2}, max {:.2}), peak memory so far {:.0} MB",
                table,
                rows,
                std::fs::metadata(&output)?.len() as f64 / 1e6,
                times[RUNS / 2].as_secs_f64(),
                times[0].as_secs_f64(),
                times[RUNS - 1].as_secs_f64(),
                peak_memory_mb()
            );
        }
        anyhow::Ok(())
    })?;
    Ok(())
}
