//! Policy search (政策检索) and instant answers (即时答复): the index schema, Chinese analysis, the indexer, the
//! query side, and the evaluation that measures them.

pub mod analysis;
pub mod answer;
mod answer_lexical;
mod case_question;
mod collector;
mod doc_number;
pub mod engine;
pub mod eval;
mod hybrid;
mod indexer;
mod lexical;
pub mod passages;
mod policy_name;
pub mod schema;
pub mod semantic;
mod snippet;
pub mod vectors;

use std::path::PathBuf;

pub use analysis::Analyzer;
pub use engine::{Answer, AnswerResponse, Hit, QueryContext, SearchEngine, SearchResponse};
pub use indexer::{IndexReport, build_index, register_tokenizers};

/// Searching or indexing failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Analysis(#[from] analysis::AnalysisError),
    #[error("检索索引出错：{0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("打开检索索引失败：{0}")]
    OpenIndex(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("找不到检索索引 {0}，请先运行 qihu build")]
    MissingIndex(PathBuf),
    #[error("检索索引已损坏：{0}，请重新运行 qihu build")]
    Corrupt(String),
    #[error("读写 {path} 失败：{source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The query itself cannot be searched; the message is for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("请输入要查询的问题或关键词")]
    Empty,
    #[error("问题太长了，请控制在 {max} 个字以内")]
    TooLong { max: usize },
    #[error("查询内容不是有效的 UTF-8 编码文字，请重新输入")]
    BadEncoding,
}
