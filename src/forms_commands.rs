//! The commands on the forms backend's data (工单数据): console users, the supervision pass, the ledgers' export
//! and import, the reports. They open the database without the search engine ([`crate::serve::App::open_for_data`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use chrono_tz::Asia::Shanghai;

use crate::cli::{
    CalendarArgs, CalendarCommand, ExportArgs, FormatArg, ImportArgs, ReportArgs, ReportFormatArg,
    ReportKindArg, RoleArg, TableArg, TickArgs, UserAddArgs, UserArgs, UserCommand,
};
use crate::commands::today_in_shanghai;
use crate::config::Settings;

/// The runtime a one-off command's database work runs on (one thread: a command does one thing at a time).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("无法启动异步运行时")
}

/// `qihu calendar check`: each year's file checked before it goes live (`qihu_forms::calendar::check_file`).
pub fn calendar(settings: &Settings, args: CalendarArgs) -> anyhow::Result<ExitCode> {
    let CalendarCommand::Check(args) = args.command;
    let files = if args.files.is_empty() {
        qihu_forms::calendar::year_files(&settings.calendar.dir)?
    } else {
        args.files
    };
    let mut checks = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("读取 {} 失败", file.display()))?;
        checks.push(qihu_forms::calendar::check_file(
            &file.display().to_string(),
            &text,
        ));
    }
    let passed = checks.iter().all(|check| check.passed());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for check in &checks {
            let summary = match (check.year, check.working_days) {
                (Some(year), Some(days)) => format!(
                    "{year}年：节假日 {} 天，调休上班 {} 天，全年工作日 {days} 天",
                    check.holidays, check.adjusted
                ),
                _ => "无法读取".to_owned(),
            };
            let verdict = if check.passed() {
                "通过"
            } else {
                "有错误"
            };
            println!("{}：{summary}——{verdict}", check.path);
            for problem in &check.problems {
                println!("  错误：{problem}");
            }
            for warning in &check.warnings {
                println!("  提示：{warning}");
            }
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn user(settings: &Settings, args: UserArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        UserCommand::Add(args) => add_user(settings, args),
    }
}

/// The environment variable a script sets to give the new user's password without a terminal.
const PASSWORD_VARIABLE: &str = "QIHU_PASSWORD";

/// The new user's password: from `QIHU_PASSWORD`, or typed twice on the terminal without echo.
fn new_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_VARIABLE) {
        return Ok(password);
    }
    let prompt = format!(
        "请输入新用户的密码（至少 {} 个字符）：",
        qihu_forms::console::MIN_PASSWORD_CHARS
    );
    let password = rpassword::prompt_password(prompt).with_context(|| {
        format!("无法从终端读取密码；在脚本中使用时请设置环境变量 {PASSWORD_VARIABLE}")
    })?;
    qihu_forms::console::check_password(&password)?;
    let again = rpassword::prompt_password("请再输入一次：").context("无法从终端读取密码")?;
    if again != password {
        anyhow::bail!("两次输入的密码不一致，用户未创建，请重新运行命令");
    }
    Ok(password)
}

/// `qihu user add`: creates a console user (工作台用户) in the configured database.
fn add_user(settings: &Settings, args: UserAddArgs) -> anyhow::Result<ExitCode> {
    use qihu_forms::console::{self, AccountError, Role};
    let role = match args.role {
        RoleArg::Centre => Role::Centre,
        RoleArg::Leader => Role::Leader,
    };
    // Check what can be checked before asking for the password.
    let username = console::normalise_username(&args.username)?;
    let password = new_password()?;
    console::check_password(&password)?;
    let runtime = runtime()?;
    let database_url = &settings.storage.database_url;
    let created = runtime.block_on(async {
        let store = qihu_forms::store::Store::connect(database_url)
            .await
            .with_context(|| format!("打开数据库 {database_url} 失败"))?;
        match console::create_user(
            &store,
            &username,
            args.name.as_deref(),
            &password,
            role,
            Utc::now(),
        )
        .await
        {
            Err(AccountError::DuplicateUsername(name)) => Err(anyhow::anyhow!(
                "用户名“{name}”已存在，未创建新用户；请换一个用户名"
            )),
            other => Ok(other?),
        }
    })?;
    tracing::debug!(id = created, "已创建工作台用户");
    println!("已创建用户 {username}（角色：{}）", role.label());
    Ok(ExitCode::SUCCESS)
}

/// `qihu tick`: one supervision pass (督办亮牌) over the configured database; prints the cards it issued.
pub fn tick(settings: Settings, args: TickArgs) -> anyhow::Result<ExitCode> {
    let now = args.now.map_or_else(Utc::now, |at| at.with_timezone(&Utc));
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let app = crate::serve::App::open_for_data(settings).await?;
        anyhow::Ok(qihu_forms::sla::cards::supervise(&app.forms.forms, now).await?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if report.held_elsewhere {
        println!("另一个实例正在进行督办巡检，本次未重复巡检");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "督办巡检（截至 {}）：逾期未反馈工单 {} 件，本次亮牌 {} 张，到期提醒 {} 件，未评价办结 {} 件",
        now.with_timezone(&Shanghai).format("%Y-%m-%d %H:%M"),
        report.overdue,
        report.issued.len(),
        report.reminders,
        report.unrated_closed
    );
    for card in &report.issued {
        println!(
            "  {} {} {}：{}（通知 {} 封）",
            card.tracking_number,
            card.unit,
            card.kind.label(),
            card.evidence,
            card.mails
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `qihu export`: one of the notice's tables (附件2–5) for a period, perhaps for one unit, written to a file next to
/// the target and moved into place when complete (a failed export never leaves half a file).
pub fn export(settings: Settings, args: ExportArgs) -> anyhow::Result<ExitCode> {
    use qihu_forms::reports::ledger::{self, Format, Period, Selection, Table};
    let table = match args.table {
        TableArg::Ledger => Table::Ledger,
        TableArg::Dispatch => Table::DispatchList,
        TableArg::Feedback => Table::FeedbackForm,
        TableArg::Satisfaction => Table::SatisfactionForm,
    };
    let format = match args.format {
        Some(FormatArg::Xlsx) => Format::Xlsx,
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Html) => Format::Html,
        None => args
            .output
            .extension()
            .and_then(|extension| extension.to_str())
            .and_then(|extension| extension.parse().ok())
            .with_context(|| {
                format!(
                    "无法从文件名 {} 判断格式，请用 --format 指定 xlsx、csv 或 html",
                    args.output.display()
                )
            })?,
    };
    let selection = Selection {
        table,
        period: Period::new(args.from, args.to)?,
        unit: args.unit,
    };
    let folder = match args.output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut staged = tempfile::NamedTempFile::new_in(&folder)
        .with_context(|| format!("无法在 {} 中写入文件", folder.display()))?;
    let runtime = runtime()?;
    let exported = runtime.block_on(async {
        let app = crate::serve::App::open_for_data(settings).await?;
        let forms = &app.forms.forms;
        anyhow::Ok(
            ledger::export(
                &forms.store,
                &forms.directory,
                &forms.templates,
                &forms.page_context,
                &selection,
                format,
                today_in_shanghai(),
                std::io::BufWriter::new(staged.as_file_mut()),
            )
            .await?,
        )
    })?;
    staged
        .persist(&args.output)
        .with_context(|| format!("写入 {} 失败", args.output.display()))?;
    println!(
        "已导出{}（{}）共 {} 条：{}",
        table,
        selection.period.label(),
        exported.rows,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `qihu import ledger`: a town's or the zone's weekly 问题台账; every row is checked first and, unless
/// `--valid-only`, nothing is created while any row needs correcting.
pub fn import(settings: Settings, args: ImportArgs) -> anyhow::Result<ExitCode> {
    use qihu_forms::reports::ledger::{self, ImportMode};
    let crate::cli::ImportWhat::Ledger = args.what;
    let path = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("读取 {path} 失败"))?;
    let file = ledger::read_ledger(&bytes).with_context(|| format!("{path} 无法导入"))?;
    let mode = if args.valid_only {
        ImportMode::ValidOnly
    } else {
        ImportMode::AllOrNothing
    };
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let app = crate::serve::App::open(settings).await?;
        let actor = format!("unit:{}", args.unit.trim());
        anyhow::Ok(
            ledger::import_ledger(
                &app.forms.forms,
                &args.unit,
                &file,
                mode,
                &actor,
                Utc::now(),
            )
            .await
            .with_context(|| format!("{path} 无法导入"))?,
        )
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for warning in &report.warnings {
            eprintln!("{path}: 注意：{warning}");
        }
        for problem in &report.problems {
            eprintln!("{path}:{}: {}", problem.row, problem.reasons.join("；"));
        }
        if report.applied {
            println!(
                "{}：读取 {} 行，新登记 {} 条，此前已导入 {} 条，有误未导入 {} 行",
                report.unit,
                report.rows,
                report.created.len(),
                report.already.len(),
                report.problems.len()
            );
            for row in &report.created {
                println!(
                    "  第{}行 {} {}",
                    row.row, row.tracking_number, row.enterprise_name
                );
            }
        }
    }
    if !report.applied {
        anyhow::bail!(
            "{path} 有 {} 行需要修改，未导入任何内容：请改正后重新导入，或加 --valid-only 只导入有效的行",
            report.problems.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `qihu report`: one of the four reports (notice §二(五)2) of the configured database, as a printable HTML page or
/// an Excel workbook.
pub fn report(settings: Settings, args: ReportArgs) -> anyhow::Result<ExitCode> {
    use qihu_forms::reports::{Period, ReportKind, bulletin, workbook};
    let kind = match args.kind {
        ReportKindArg::Monthly => ReportKind::Monthly,
        ReportKindArg::Quarterly => ReportKind::Quarterly,
        ReportKindArg::HalfYear => ReportKind::HalfYear,
        ReportKindArg::Annual => ReportKind::Annual,
    };
    let now = args.now.map_or_else(Utc::now, |at| at.with_timezone(&Utc));
    let period = match args.period.as_deref() {
        Some(text) => Period::parse(kind, text)?,
        None => Period::containing_instant(kind, now).previous(),
    };
    let format = args.format.unwrap_or_else(|| {
        let xlsx = args
            .output
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("xlsx"));
        if xlsx {
            ReportFormatArg::Xlsx
        } else {
            ReportFormatArg::Html
        }
    });
    let runtime = runtime()?;
    let (report, bytes) = runtime.block_on(async {
        let app = crate::serve::App::open_for_data(settings).await?;
        let forms = &app.forms.forms;
        let report = bulletin::make(forms, period, now).await?;
        let bytes = match format {
            ReportFormatArg::Html => bulletin::render_html(forms, &report)?.into_bytes(),
            ReportFormatArg::Xlsx => workbook::write(&report)?,
        };
        anyhow::Ok((report, bytes))
    })?;
    std::fs::write(&args.output, bytes).with_context(|| {
        format!(
            "写入报表文件 {} 失败，请检查目录是否存在、是否可写",
            args.output.display()
        )
    })?;
    let city = &report.figures.city;
    println!(
        "已生成{}（{}）：{}",
        report.title,
        report.period_label,
        args.output.display()
    );
    println!(
        "  受理诉求 {} 件，派单 {} 件；响应率 {}，解决率 {}，满意率 {}；统计截止 {}{}",
        report.figures.intake,
        report.figures.dispatched,
        city.tally.response.label(),
        city.resolution.label(),
        city.tally.satisfaction.label(),
        report.as_of_label,
        if report.complete {
            ""
        } else {
            "（本期尚未结束）"
        }
    );
    Ok(ExitCode::SUCCESS)
}
