//! Benchmark: `/api/answer` work in-process with the semantic model, on the project's own policy base (every
//! question embedded, fused and gated; the response cache cleared before every call), and the process's memory.
//!
//! Run: `cargo bench --bench answer` (`QIHU_BENCH_ROUNDS` passes over the questions, default 5). The first run
//! embeds every passage of `policies/` (minutes); later runs take the vectors from the cache beside the
//! benchmark's index in the system temp folder. See benches/README.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use qihu::build::{self, BuildOptions, SemanticBuild};
use qihu::config::SiteSettings;
use qihu::search::semantic::load_model;
use qihu::search::{Analyzer, QueryContext, SearchEngine};

fn percentile(sorted: &[Duration], share: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

/// Resident memory of this process, from /proc (Linux).
fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let rounds: usize = std::env::var("QIHU_BENCH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join("qihu-bench-answer");
    let embedder = load_model(&root.join("models/e5-small-zh-q4.bin")).expect("the shipped model");
    let options = BuildOptions {
        policies_dir: root.join("policies"),
        output_dir: work.join("public"),
        templates_dir: root.join("site-templates"),
        index_dir: Some(work.join("index")),
        analysis_dir: root.join("config/search"),
        today: NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
        semantic: Some(SemanticBuild {
            embedder: Arc::clone(&embedder),
            cache: work.join("index.vector-cache"),
        }),
    };
    let started = Instant::now();
    build::build(&SiteSettings::default(), &options).expect("build");
    println!(
        "built the policy base with vectors in {:.2?}",
        started.elapsed()
    );

    let analyzer = Arc::new(Analyzer::load(&root.join("config/search")).expect("analysis data"));
    let engine = SearchEngine::open(&work.join("index"), analyzer)
        .expect("open index")
        .with_semantic(Some(embedder));
    assert!(engine.is_hybrid());
    let context = QueryContext {
        today: options.today,
        base_path: "/".to_owned(),
    };
    let set = qihu::search::eval::EvalSet::load(&root.join("tests/search_eval/own.toml"))
        .expect("question set");
    let questions: Vec<&str> = set.question.iter().map(|q| q.q.as_str()).collect();
    let mut samples = Vec::with_capacity(rounds * questions.len());
    for _ in 0..rounds {
        for question in &questions {
            engine.clear_cache();
            let started = Instant::now();
            engine.answer(question, &context).expect("answer");
            samples.push(started.elapsed());
        }
    }
    samples.sort();
    println!(
        "answer with the model (uncached): {} calls, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; resident memory {:.0} MB",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        resident_mb()
    );
}
