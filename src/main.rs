use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = qihu::cli::Cli::parse();
    qihu::commands::init_tracing(cli.verbose);
    match qihu::commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("错误：{error:#}");
            ExitCode::FAILURE
        }
    }
}
