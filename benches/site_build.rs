//! Benchmark: `qihu build` over a synthetic corpus made of the real policies' paragraphs (default 10,000
//! policies).
//!
//! Run: `cargo bench --bench site_build` (set `QIHU_BENCH_POLICIES` and `QIHU_BENCH_RUNS` to change the size,
//! `QIHU_BENCH_DIR` to choose the file system the site is written to, e.g. `/dev/shm`).
//! Prints each run's time per stage and the median of the whole build. See benches/README.md for figures.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use qihu::build::{self, BuildOptions};
use qihu::config::SiteSettings;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let count = env_number("QIHU_BENCH_POLICIES", 10_000);
    let runs = env_number("QIHU_BENCH_RUNS", 5);
    let work = match std::env::var("QIHU_BENCH_DIR") {
        Ok(dir) => tempfile::tempdir_in(dir),
        Err(_) => tempfile::tempdir(),
    }
    .expect("temporary folder");
    let policies = work.path().join("policies");
    let generated = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let source = qihu::synthetic::Source::load(&root.join("policies")).expect("real policies");
    qihu::synthetic::write_corpus(&source, &policies, count, 2022).expect("write corpus");
    println!("generated {count} policies in {:.2?}", generated.elapsed());

    let options = BuildOptions {
        policies_dir: policies,
        output_dir: work.path().join("public"),
        templates_dir: root.join("site-templates"),
        index_dir: std::env::var_os("QIHU_BENCH_INDEX").map(|_| work.path().join("index")),
        analysis_dir: root.join("config/search"),
        today: NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
        semantic: None,
    };
    let settings = SiteSettings::default();
    let mut totals = Vec::with_capacity(runs);
    for run in 1..=runs {
        let started = Instant::now();
        let report = build::build(&settings, &options).expect("build succeeds");
        let total = started.elapsed();
        let stages: Vec<String> = report
            .stages
            .iter()
            .map(|stage| format!("{} {:.0} ms", stage.name, stage.elapsed.as_secs_f64() * 1e3))
            .collect();
        println!(
            "run {run}: {:.0} ms total ({} pages) — {}",
            total.as_secs_f64() * 1e3,
            report.pages,
            stages.join(", ")
        );
        totals.push(total);
    }
    totals.sort();
    let median: Duration = totals[totals.len() / 2];
    println!(
        "site_build: {count} policies, median {:.0} ms over {runs} runs (min {:.0} ms, max {:.0} ms)",
        median.as_secs_f64() * 1e3,
        totals[0].as_secs_f64() * 1e3,
        totals[totals.len() - 1].as_secs_f64() * 1e3
    );
}
