//! `qihu db` (数据库维护): moving a city's data to another database, e.g. from the embedded SQLite file to
//! PostgreSQL when it moves to several instances. The rules of a copy are in `qihu_forms::store::copy_database`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use qihu_forms::store::{self, Store};

use crate::cli::{DbArgs, DbCommand, DbCopyArgs};
use crate::config::Settings;

pub fn run(settings: &Settings, args: DbArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DbCommand::Copy(args) => copy(settings, args),
    }
}

/// What the tables hold, for the operator reading the check.
fn table_label(table: &str) -> &'static str {
    match table {
        "users" => "工作台用户",
        "requests" => "诉求与工单",
        "events" => "办理记录",
        "outbox" => "邮件",
        "unit_tokens" => "办理与评价链接",
        "sessions" => "登录会话",
        "verification_forms" => "核实材料",
        "daily_sequence" => "受理编号",
        "secrets" => "服务器密钥",
        _ => "",
    }
}

fn copy(settings: &Settings, args: DbCopyArgs) -> anyhow::Result<ExitCode> {
    if args.from.trim() == args.to.trim() {
        bail!("源数据库与目标数据库相同，无法复制");
    }
    // Opening a SQLite URL creates the file: a mistyped source must not become an empty source.
    if let Some(file) = store::sqlite_file(&args.from)
        && !file.is_file()
    {
        bail!("源数据库文件 {} 不存在", file.display());
    }
    let runtime = crate::forms_commands::runtime()?;
    let (report, stored_file_key) = runtime.block_on(async {
        let source = Store::connect(&args.from)
            .await
            .with_context(|| format!("打开源数据库 {} 失败", args.from))?;
        let target = Store::connect(&args.to)
            .await
            .with_context(|| format!("打开目标数据库 {} 失败", args.to))?;
        let started = std::time::Instant::now();
        let report = store::copy_database_with(&source, &target, |table, rows| {
            eprintln!(
                "[{:>4} s] 正在复制 {table}（{}）：{rows} 行……",
                started.elapsed().as_secs(),
                table_label(table)
            );
        })
        .await
        .context("复制失败，目标数据库未写入任何数据")?;
        // An installation that never stored its secret in the database keeps its key file's: the links that
        // idempotent submissions get back stay the same after the move.
        let had_secret = report
            .tables
            .iter()
            .any(|table| table.table == "secrets" && table.target_rows > 0);
        let mut stored_file_key = false;
        if !had_secret
            && let Ok(key) = std::fs::read(&settings.storage.secret_file)
            && key.len() >= 32
        {
            target
                .shared_secret("server", &key)
                .await
                .context("把密钥文件存入目标数据库失败")?;
            stored_file_key = true;
        }
        anyhow::Ok((report, stored_file_key))
    })?;
    if args.json {
        let json = serde_json::json!({
            "tables": report.tables,
            "rows": report.rows(),
            "stored_secret_file": stored_file_key,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("已复制到 {}，逐表核对行数：", args.to);
    for table in &report.tables {
        println!(
            "  {:<20}{:<10}源库 {:>9} 行  目标库 {:>9} 行  一致",
            table.table,
            table_label(&table.table),
            table.source_rows,
            table.target_rows
        );
    }
    if stored_file_key {
        println!(
            "源库中没有服务器密钥，已把密钥文件 {} 存入目标库",
            settings.storage.secret_file.display()
        );
    }
    println!(
        "共 {} 行。把 [storage] database_url 改为目标库后即可启动 qihu serve。",
        report.rows()
    );
    Ok(ExitCode::SUCCESS)
}
