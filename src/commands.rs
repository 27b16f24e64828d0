//! What each command does: glue between the command line, the settings and the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;

use crate::build::{self, BuildError, BuildOptions, SemanticBuild};
use crate::cli::{
    AskArgs, BuildArgs, CheckArgs, Cli, Command, DeadlineArgs, EvalArgs, GenCorpusArgs, SearchArgs,
};
use crate::config::Settings;
use crate::policy::{self, Diagnostic};
use crate::search::eval::{self, EvalSet};
use crate::search::semantic::load_model;
use crate::search::{Analyzer, QueryContext, SearchEngine};
use crate::{serve, synthetic};

/// Logs go to stderr; `RUST_LOG` overrides the level chosen with `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,qihu=info",
        1 => "info,qihu=debug",
        _ => "debug,qihu=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Build(args) => build(&settings, args),
        Command::Check(args) => check(&settings, args),
        Command::Search(args) => search(&settings, args),
        Command::Ask(args) => ask(&settings, args),
        Command::Eval(args) => eval(&settings, args),
        Command::Serve(args) => serve::run(settings, args),
        Command::Deadline(args) => deadline(&settings, args),
        Command::GenCorpus(args) => gen_corpus(args),
        Command::User(args) => crate::forms_commands::user(&settings, args),
        Command::Tick(args) => crate::forms_commands::tick(settings, args),
        Command::Export(args) => crate::forms_commands::export(settings, args),
        Command::Import(args) => crate::forms_commands::import(settings, args),
        Command::Report(args) => crate::forms_commands::report(settings, args),
        Command::Model(args) => crate::model::run(&settings, args),
        Command::Db(args) => crate::database::run(&settings, args),
        Command::Calendar(args) => crate::forms_commands::calendar(&settings, args),
    }
}

/// Today in Asia/Shanghai: the calendar day policies are judged by.
pub fn today_in_shanghai() -> NaiveDate {
    Utc::now().with_timezone(&Shanghai).date_naive()
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        eprintln!("{diagnostic}");
    }
}

/// The build options from the settings, with the command line's overrides.
pub fn build_options(settings: &Settings, args: BuildArgs) -> BuildOptions {
    let index_dir = args
        .index
        .unwrap_or_else(|| settings.search.index_dir.clone());
    BuildOptions {
        policies_dir: args
            .policies
            .unwrap_or_else(|| settings.site.policies_dir.clone()),
        output_dir: args.out.unwrap_or_else(|| settings.site.output_dir.clone()),
        templates_dir: args
            .templates
            .unwrap_or_else(|| settings.site.templates_dir.clone()),
        index_dir: Some(index_dir.clone()),
        analysis_dir: settings.search.analysis_dir.clone(),
        today: args.today.unwrap_or_else(today_in_shanghai),
        semantic: load_model(&settings.search.model).map(|embedder| SemanticBuild {
            embedder,
            cache: settings.search.vector_cache_for(&index_dir),
        }),
    }
}

fn build(settings: &Settings, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let options = build_options(settings, args);
    match build::build(&settings.site, &options) {
        Ok(report) => {
            print_diagnostics(&report.warnings);
            let total: Duration = report.stages.iter().map(|stage| stage.elapsed).sum();
            println!("网站已发布到 {}", options.output_dir.display());
            if let Some(index) = &options.index_dir {
                println!(
                    "检索索引已写入 {}（{} 个文档）",
                    index.display(),
                    report.index_documents
                );
            }
            println!("  政策 {} 篇，页面 {} 个", report.policies, report.pages);
            let stages: Vec<String> = report
                .stages
                .iter()
                .map(|stage| format!("{} {}", stage.name, milliseconds(stage.elapsed)))
                .collect();
            println!("  {} · 合计 {}", stages.join(" · "), milliseconds(total));
            Ok(ExitCode::SUCCESS)
        }
        Err(BuildError::Invalid(diagnostics)) => {
            print_diagnostics(&diagnostics);
            Err(BuildError::Invalid(diagnostics).into())
        }
        Err(error) => Err(error)
            .with_context(|| format!("生成失败（政策目录 {}）", options.policies_dir.display())),
    }
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.0} 毫秒", duration.as_secs_f64() * 1000.0)
}

fn check(settings: &Settings, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .policies
        .unwrap_or_else(|| settings.site.policies_dir.clone());
    let corpus = policy::load(&dir)?;
    print_diagnostics(&corpus.diagnostics);
    println!(
        "检查了 {} 篇政策：{} 处错误，{} 处警告",
        corpus.policies.len(),
        corpus.error_count(),
        corpus.warning_count()
    );
    Ok(if corpus.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Opens the search engine on `index` (or the configured index).
pub fn open_engine(settings: &Settings, index: Option<PathBuf>) -> anyhow::Result<SearchEngine> {
    let analyzer = Arc::new(Analyzer::load(&settings.search.analysis_dir)?);
    let dir = index.unwrap_or_else(|| settings.search.index_dir.clone());
    Ok(SearchEngine::open(&dir, analyzer)?.with_semantic(load_model(&settings.search.model)))
}

fn query_context(settings: &Settings, today: Option<NaiveDate>) -> QueryContext {
    QueryContext {
        today: today.unwrap_or_else(today_in_shanghai),
        base_path: settings.site.base_path(),
    }
}

/// `<mark>` → 【】 and entities back to text, for a terminal.
fn plain_snippet(html: &str) -> String {
    html.replace("<mark>", "【")
        .replace("</mark>", "】")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn search(settings: &Settings, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let engine = open_engine(settings, args.index)?;
    let context = query_context(settings, args.today);
    let response = engine.search_hybrid(&args.query, args.limit, &context)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
        return Ok(ExitCode::SUCCESS);
    }
    if response.hits.is_empty() {
        println!("没有找到与“{}”相关的政策。", response.query);
    }
    for (place, hit) in response.hits.iter().enumerate() {
        let number = hit
            .doc_number
            .as_deref()
            .map(|n| format!("（{n}）"))
            .unwrap_or_default();
        println!(
            "{}. {}{number} [{}]",
            place + 1,
            hit.title,
            hit.status_label
        );
        if let Some(section) = &hit.section {
            println!("   › {section}");
        }
        println!("   {}", plain_snippet(&hit.snippet));
        println!("   {}", hit.url);
    }
    println!("（用时 {:.2} 毫秒）", response.took_ms);
    Ok(ExitCode::SUCCESS)
}

fn ask(settings: &Settings, args: AskArgs) -> anyhow::Result<ExitCode> {
    let engine = open_engine(settings, args.index)?;
    let context = query_context(settings, args.today);
    let response = engine.answer(&args.question, &context)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &response.answer {
        Some(answer) if response.answered => {
            println!("即时答复（置信度 {:.2}）：", response.confidence);
            println!("{}", answer.text);
            let number = answer
                .doc_number
                .as_deref()
                .map(|n| format!("（{n}）"))
                .unwrap_or_default();
            println!("来源：《{}》{number}", answer.title);
            if let Some(section) = &answer.section {
                println!("      {section}");
            }
            println!("      {}", answer.url);
        }
        _ => {
            println!(
                "政策库暂不能确切答复这个问题（置信度 {:.2}），可以提交咨询，转有关部门办理。",
                response.confidence
            );
            if !response.alternatives.is_empty() {
                println!("可能相关的政策：");
                for hit in &response.alternatives {
                    println!("  - {} {}", hit.title, hit.url);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The question sets `qihu eval` runs when none is named.
pub const DEFAULT_EVAL_SETS: [&str; 3] = [
    "tests/search_eval/real.toml",
    "tests/search_eval/own.toml",
    "tests/search_eval/questions.toml",
];

fn eval(settings: &Settings, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let engine = open_engine(settings, args.index)?;
    let context = query_context(settings, args.today);
    let sets: Vec<PathBuf> = if args.sets.is_empty() {
        DEFAULT_EVAL_SETS.iter().map(PathBuf::from).collect()
    } else {
        args.sets
    };
    let mut reports = Vec::new();
    for path in &sets {
        let set = EvalSet::load(path).map_err(anyhow::Error::msg)?;
        reports.push(set.run(path, &engine, &context)?);
    }
    if let Some(dump) = &args.dump {
        std::fs::write(dump, serde_json::to_vec_pretty(&reports)?)
            .with_context(|| format!("写入 {}", dump.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(ExitCode::SUCCESS);
    }
    if !engine.is_hybrid() {
        println!("（未加载语义模型：以下为仅按关键词检索的结果）");
    }
    for report in &reports {
        print_eval(report, args.calibrate);
    }
    if args.calibrate {
        let calibration: Vec<&eval::Outcome> = reports
            .iter()
            .flat_map(|report| &report.outcomes)
            .filter(|outcome| outcome.part == eval::Part::Calibration)
            .collect();
        match eval::calibrate(&calibration) {
            Some(threshold) => println!(
                "校准：在各评测集的校准部分上，误答率 ≤ {} 且错误答复率 ≤ {} 的最低阈值为 {threshold:.4}（当前阈值 {}）",
                eval::MAX_FALSE_ANSWERS,
                eval::MAX_WRONG_ANSWERS,
                engine.answer_threshold()
            ),
            None => println!("校准：没有阈值能满足误答率和错误答复率的要求"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints an evaluation report for people: the held-out figures, the calibration half's for comparison,
/// the curve when asked, and every held-out miss.
pub fn print_eval(report: &eval::EvalReport, curve: bool) {
    let line = |name: &str, f: &eval::Figures| {
        println!(
            "  {name}：可答 {} / 不可答 {} · top-1 {:.3} · recall@3 {:.3} · MRR {:.3} · 章节@1 {:.3} · 正确答复 {:.3} · 错误答复 {:.3} · 误答率 {:.3} · 误拒率 {:.3}",
            f.questions,
            f.unanswerable,
            f.top1,
            f.recall_at_3,
            f.mrr,
            f.section_at_1,
            f.answered_correctly,
            f.answered_wrongly,
            f.false_answer_rate,
            f.false_refusal_rate
        )
    };
    println!(
        "评测集 {}（阈值 {}）",
        report.set.display(),
        report.threshold
    );
    line("留出部分", &report.held_out);
    line("校准部分", &report.calibration);
    if curve {
        println!("  留出部分的误答/误拒曲线：阈值 误答率 误拒率 错误答复率");
        for point in report.curve.iter().step_by(2) {
            println!(
                "    {:.3}  {:.3}  {:.3}  {:.3}",
                point.threshold, point.false_answers, point.false_refusals, point.wrong_answers
            );
        }
    }
    for outcome in report
        .outcomes
        .iter()
        .filter(|o| o.part == eval::Part::HeldOut)
    {
        let answered = outcome.answer_slug.is_some() && outcome.confidence >= report.threshold;
        let problem = match (outcome.answerable, answered, outcome.answer_right) {
            (false, true, _) => Some(format!(
                "不应即时答复，却答复了 {}",
                outcome.answer_slug.as_deref().unwrap_or_default()
            )),
            (true, true, false) => Some(format!(
                "答复来自错误的政策 {}",
                outcome.answer_slug.as_deref().unwrap_or_default()
            )),
            (true, _, _) if outcome.rank != Some(0) => Some(format!(
                "期望的政策排在 {}（第 1 位是 {}）",
                outcome.rank.map_or("前 10 名以外".to_owned(), |r| format!(
                    "第 {} 位",
                    r + 1
                )),
                outcome.first_hit.as_deref().unwrap_or("无结果")
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            println!(
                "  ✗ {}：{problem}（置信度 {:.3}）",
                outcome.q, outcome.confidence
            );
        }
    }
}

/// `qihu deadline`: the due instant and why, by the working-day calendar.
fn deadline(settings: &Settings, args: DeadlineArgs) -> anyhow::Result<ExitCode> {
    let calendar = qihu_forms::calendar::Calendar::load(&settings.calendar.dir)?;
    let from = args.from.with_timezone(&Utc);
    let deadline = calendar.deadline(from, args.working_days);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&deadline)?);
        return Ok(ExitCode::SUCCESS);
    }
    let due = deadline.due.with_timezone(&Shanghai);
    println!(
        "办理期限：{}",
        due.format("%Y年%-m月%-d日 %H:%M:%S（北京时间）")
    );
    println!(
        "起算日 {}（当日不计入），计 {} 个工作日：{}",
        deadline.start_date,
        deadline.working_days,
        deadline
            .counted
            .iter()
            .map(|day| day.format("%-m月%-d日").to_string())
            .collect::<Vec<_>>()
            .join("、")
    );
    for skipped in &deadline.skipped {
        println!("  跳过 {}：{}", skipped.date, skipped.reason);
    }
    if deadline.fallback {
        println!("注意：{}", qihu_forms::calendar::FALLBACK_WARNING);
    }
    println!("依据：{}", deadline.calendar);
    Ok(ExitCode::SUCCESS)
}

fn gen_corpus(args: GenCorpusArgs) -> anyhow::Result<ExitCode> {
    let source = synthetic::Source::load(&args.policies)
        .with_context(|| format!("从 {} 读取语料素材失败", args.policies.display()))?;
    let written = synthetic::write_corpus(&source, &args.out, args.count, args.seed)
        .with_context(|| format!("写入合成语料到 {} 失败", args.out.display()))?;
    println!("已生成 {written} 篇合成政策到 {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
