//! Benchmark: `/api/search` and `/api/answer` work in-process (no HTTP) on the synthetic 10,000-policy corpus
//! (made of the real policies' paragraphs), asked the real enterprise questions of the evaluation set
//! (`tests/search_eval/questions.toml`, answerable and unanswerable alike).
//!
//! Run: `cargo bench --bench search` (`QIHU_BENCH_POLICIES` changes the corpus size, `QIHU_BENCH_ROUNDS` the
//! number of passes over the questions, `QIHU_BENCH_INDEX_DIR` reuses an index built by `qihu build` instead of
//! generating and building one). Prints p50 / p90 / p99 latency per call. See benches/README.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use qihu::build::{self, BuildOptions};
use qihu::config::SiteSettings;
use qihu::search::eval::EvalSet;
use qihu::search::{Analyzer, QueryContext, SearchEngine};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], share: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: {} calls, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    let count = env_number("QIHU_BENCH_POLICIES", 10_000);
    let rounds = env_number("QIHU_BENCH_ROUNDS", 10);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let set =
        EvalSet::load(&root.join("tests/search_eval/questions.toml")).expect("evaluation set");
    let queries: Vec<String> = set
        .question
        .into_iter()
        .map(|question| question.q)
        .chain(set.unanswerable.into_iter().map(|question| question.q))
        .collect();
    let work = tempfile::tempdir().expect("temporary folder");
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
    let index = match std::env::var_os("QIHU_BENCH_INDEX_DIR") {
        Some(index) => PathBuf::from(index),
        None => {
            let policies = work.path().join("policies");
            let source =
                qihu::synthetic::Source::load(&root.join("policies")).expect("real policies");
            qihu::synthetic::write_corpus(&source, &policies, count, 2022).expect("write corpus");
            let options = BuildOptions {
                policies_dir: policies,
                output_dir: work.path().join("public"),
                templates_dir: root.join("site-templates"),
                index_dir: Some(work.path().join("index")),
                analysis_dir: root.join("config/search"),
                today,
                semantic: None,
            };
            let started = Instant::now();
            let built = build::build(&SiteSettings::default(), &options).expect("build");
            println!(
                "built {count} policies ({} index documents) in {:.2?}",
                built.index_documents,
                started.elapsed()
            );
            work.path().join("index")
        }
    };

    let analyzer = Arc::new(Analyzer::load(&root.join("config/search")).expect("analysis data"));
    let engine = SearchEngine::open(&index, analyzer).expect("open index");
    println!(
        "{} questions × {rounds} rounds over {} policies",
        queries.len(),
        engine.policy_count()
    );
    let context = QueryContext {
        today,
        base_path: "/".to_owned(),
    };
    // Warm up: first touches of the index files.
    for query in &queries {
        engine.search(query, 10, &context).expect("search");
    }
    let mut search = Vec::with_capacity(rounds * queries.len());
    let mut answer = Vec::with_capacity(rounds * queries.len());
    let mut cached = Vec::with_capacity(rounds * queries.len());
    for _ in 0..rounds {
        for query in &queries {
            engine.clear_cache();
            let started = Instant::now();
            let response = engine.search(query, 10, &context).expect("search");
            search.push(started.elapsed());
            assert!(response.hits.len() <= 10);
            let started = Instant::now();
            engine.answer(query, &context).expect("answer");
            answer.push(started.elapsed());
            let started = Instant::now();
            engine.search(query, 10, &context).expect("search");
            cached.push(started.elapsed());
        }
    }
    // The slowest questions (median over the rounds), where the tail comes from.
    let mut by_query: Vec<(Duration, &String)> = queries
        .iter()
        .enumerate()
        .map(|(place, query)| {
            let mut times: Vec<Duration> = (0..rounds)
                .map(|round| search[round * queries.len() + place])
                .collect();
            times.sort();
            (times[times.len() / 2], query)
        })
        .collect();
    by_query.sort_by_key(|(time, _)| std::cmp::Reverse(*time));
    for (time, query) in by_query.iter().take(5) {
        println!("slow: {:.2} ms  {query}", time.as_secs_f64() * 1e3);
    }
    report("search (limit 10, uncached)", search);
    report("answer (uncached)", answer);
    report("search (limit 10, repeated query, cached)", cached);
}
