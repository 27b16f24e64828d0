//! What each command does: glue between the command line, the settings and the library.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;

use crate::cli::{BuildArgs, CheckArgs, Cli, Command, GenCorpusArgs};
use crate::config::Settings;
use crate::policy::Diagnostic;
use crate::site::{self, BuildOptions, SiteError};
use crate::synthetic;

/// Logs go to stderr; `RUST_LOG` overrides the level chosen with `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
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
        Command::GenCorpus(args) => gen_corpus(args),
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

fn build(settings: &Settings, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let site_settings = &settings.site;
    let options = BuildOptions {
        policies_dir: args
            .policies
            .unwrap_or_else(|| site_settings.policies_dir.clone()),
        output_dir: args.out.unwrap_or_else(|| site_settings.output_dir.clone()),
        templates_dir: args
            .templates
            .unwrap_or_else(|| site_settings.templates_dir.clone()),
        today: args.today.unwrap_or_else(today_in_shanghai),
    };
    match site::build(site_settings, &options) {
        Ok(report) => {
            print_diagnostics(&report.warnings);
            let total: Duration = report.stages.iter().map(|stage| stage.elapsed).sum();
            println!("网站已发布到 {}", options.output_dir.display());
            println!("  政策 {} 篇，页面 {} 个", report.policies, report.pages);
            let stages: Vec<String> = report
                .stages
                .iter()
                .map(|stage| format!("{} {}", stage.name, milliseconds(stage.elapsed)))
                .collect();
            println!("  {} · 合计 {}", stages.join(" · "), milliseconds(total));
            Ok(ExitCode::SUCCESS)
        }
        Err(SiteError::Invalid(diagnostics)) => {
            print_diagnostics(&diagnostics);
            Err(SiteError::Invalid(diagnostics).into())
        }
        Err(error) => Err(error).with_context(|| {
            format!(
                "生成网站失败（政策目录 {}）",
                options.policies_dir.display()
            )
        }),
    }
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.0} 毫秒", duration.as_secs_f64() * 1000.0)
}

fn check(settings: &Settings, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .policies
        .unwrap_or_else(|| settings.site.policies_dir.clone());
    let corpus = site::check(&dir)?;
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

fn gen_corpus(args: GenCorpusArgs) -> anyhow::Result<ExitCode> {
    let written = synthetic::write_corpus(&args.out, args.count, args.seed)
        .with_context(|| format!("写入合成语料到 {} 失败", args.out.display()))?;
    println!("已生成 {written} 篇合成政策到 {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
