//! Command line (命令行): one options struct per command.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

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
    /// 生成合成政策语料（用于性能测试）
    GenCorpus(GenCorpusArgs),
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
    /// 按哪一天计算政策有效性（YYYY-MM-DD，默认今天，北京时间）
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
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
}
