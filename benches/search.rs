//! Benchmark: `/api/search` and `/api/answer` work in-process (no HTTP) on the synthetic 10,000-policy corpus.
//!
//! Run: `cargo bench --bench search` (`QIHU_BENCH_POLICIES` changes the corpus size, `QIHU_BENCH_ROUNDS` the
//! number of passes over the query list). Prints p50 / p90 / p99 latency per call. See benches/README.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use qihu::build::{self, BuildOptions};
use qihu::config::SiteSettings;
use qihu::search::{Analyzer, QueryContext, SearchEngine};

/// Questions as enterprises type them, over the synthetic corpus's vocabulary.
const QUERIES: [&str; 24] = [
    "小微企业有哪些税收优惠",
    "研发投入能多扣多少",
    "招了应届生有补贴吗",
    "创业担保贷款最多能贷多少",
    "稳岗返还怎么申请",
    "高新技术企业认定条件",
    "专精特新企业有什么奖励",
    "排污许可证怎么办",
    "环评要多长时间",
    "营业执照办理需要什么材料",
    "人才公寓申请条件",
    "首贷贴息比例",
    "标准地出让流程",
    "施工许可办理时限",
    "数字化转型补助",
    "技术改造奖补最高多少",
    "知识产权质押融资",
    "企业上市挂牌奖励",
    "用电报装",
    "绿色工厂认定",
    "就业见习补贴标准",
    "300万元",
    "滕合成发〔2024〕123号",
    "科技型中小企业评价",
];

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
    let rounds = env_number("QIHU_BENCH_ROUNDS", 40);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().expect("temporary folder");
    let policies = work.path().join("policies");
    qihu::synthetic::write_corpus(&policies, count, 2022).expect("write corpus");
    let options = BuildOptions {
        policies_dir: policies,
        output_dir: work.path().join("public"),
        templates_dir: root.join("site-templates"),
        index_dir: Some(work.path().join("index")),
        analysis_dir: root.join("config/search"),
        today: NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
        semantic: None,
    };
    let started = Instant::now();
    let built = build::build(&SiteSettings::default(), &options).expect("build");
    println!(
        "built {count} policies ({} index documents) in {:.2?}",
        built.index_documents,
        started.elapsed()
    );

    let analyzer = Arc::new(Analyzer::load(&root.join("config/search")).expect("analysis data"));
    let engine = SearchEngine::open(&work.path().join("index"), analyzer).expect("open index");
    let context = QueryContext {
        today: options.today,
        base_path: "/".to_owned(),
    };
    // Warm up: first touches of the index files.
    for query in QUERIES {
        engine.search(query, 10, &context).expect("search");
    }
    let mut search = Vec::with_capacity(rounds * QUERIES.len());
    let mut answer = Vec::with_capacity(rounds * QUERIES.len());
    let mut cached = Vec::with_capacity(rounds * QUERIES.len());
    for _ in 0..rounds {
        for query in QUERIES {
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
    report("search (limit 10, uncached)", search);
    report("answer (uncached)", answer);
    report("search (limit 10, repeated query, cached)", cached);
}
