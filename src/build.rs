//! `qihu build`: load and check the policy base, render the site, write the search index, then publish both.
//! Each stage is timed; nothing is published unless every stage succeeded.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::config::SiteSettings;
use crate::policy::{self, Diagnostic, LoadError};
use crate::publish::Staging;
use crate::search::passages::passages_of;
use crate::search::semantic::Embedder;
use crate::search::vectors::{self, BuiltVectors};
use crate::search::{self, Analyzer, SearchError};
use crate::site::{self, Site, SiteError};

/// What `qihu build` works on.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub policies_dir: PathBuf,
    pub output_dir: PathBuf,
    pub templates_dir: PathBuf,
    /// Where the search index goes; `None` builds the site only.
    pub index_dir: Option<PathBuf>,
    /// User dictionary, synonyms and stop words (`config/search/`).
    pub analysis_dir: PathBuf,
    /// The day validity badges are computed for (Asia/Shanghai); the same input and day give the same bytes.
    pub today: NaiveDate,
    /// The sentence-embedding model and its vector cache; `None` builds a lexical index only.
    pub semantic: Option<SemanticBuild>,
}

/// What semantic retrieval needs at build time.
#[derive(Debug, Clone)]
pub struct SemanticBuild {
    pub embedder: Arc<Embedder>,
    /// Vectors by passage text, kept between builds so a rebuild embeds only what changed.
    pub cache: PathBuf,
}

/// The build stopped; nothing was published.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("政策文件中有 {} 处错误，网站未发布；请先修正（可用 qihu check 查看）", count_errors(.0))]
    Invalid(Vec<Diagnostic>),
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Search(#[from] SearchError),
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// One timed step of a build.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: &'static str,
    pub elapsed: Duration,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub policies: usize,
    pub pages: usize,
    /// Documents in the search index (policies, sections and FAQ pairs); 0 when no index was built.
    pub index_documents: u64,
    pub warnings: Vec<Diagnostic>,
    pub stages: Vec<Stage>,
}

struct Timer {
    started: Instant,
    stages: Vec<Stage>,
}

impl Timer {
    fn lap(&mut self, name: &'static str) {
        self.stages.push(Stage {
            name,
            elapsed: self.started.elapsed(),
        });
        self.started = Instant::now();
    }
}

/// The passage vectors of every policy, from the cache where the text is unchanged, with a progress bar for
/// the rest.
fn embed(
    semantic: &SemanticBuild,
    policies: &[crate::policy::Policy],
    rendered: &[crate::markdown::Rendered],
) -> Result<BuiltVectors, SearchError> {
    let mut passages = Vec::new();
    let mut texts = Vec::new();
    for (number, (policy, body)) in policies.iter().zip(rendered).enumerate() {
        for passage in passages_of(number as u32, policy, body) {
            texts.push(passage.embedding_text(&policy.title));
            passages.push(passage);
        }
    }
    let progress = indicatif::ProgressBar::hidden();
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} {per_sec} 剩余 {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.set_message("计算语义向量");
    let built = vectors::embed_passages(
        &semantic.embedder,
        passages,
        &texts,
        &semantic.cache,
        |done, total| {
            if done == 0 && total >= 20 {
                progress.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                progress.set_length(total as u64);
            }
            progress.set_position(done as u64);
        },
    )?;
    progress.finish_and_clear();
    tracing::info!(
        passages = built.report.passages,
        cached = built.report.cached,
        "语义向量：{} 个段落，{} 个取自缓存",
        built.report.passages,
        built.report.cached
    );
    Ok(built)
}

/// Loads, checks and renders the policies, indexes them, then publishes the site and the index.
pub fn build(settings: &SiteSettings, options: &BuildOptions) -> Result<BuildReport, BuildError> {
    let mut timer = Timer {
        started: Instant::now(),
        stages: Vec::new(),
    };
    let corpus = policy::load(&options.policies_dir)?;
    if corpus.has_errors() {
        return Err(BuildError::Invalid(corpus.diagnostics));
    }
    timer.lap("读取政策");

    let tera = site::load_templates(&options.templates_dir)?;
    timer.lap("加载模板");
    let site = Site::new(settings.clone(), tera, corpus.policies, options.today);
    timer.lap("解析正文");

    let staging = Staging::new(&options.output_dir).map_err(|source| SiteError::Write {
        path: options.output_dir.clone(),
        source,
    })?;
    let pages = site.write(staging.path(), &options.templates_dir)?;
    timer.lap("生成页面");

    let mut index_documents = 0;
    if let Some(index_dir) = &options.index_dir {
        let analyzer = Arc::new(Analyzer::load(&options.analysis_dir).map_err(SearchError::from)?);
        timer.lap("加载词典");
        let vectors = match &options.semantic {
            Some(semantic) => {
                let vectors = embed(semantic, &site.policies, &site.rendered)?;
                timer.lap("语义向量");
                Some(vectors)
            }
            None => None,
        };
        let report = search::build_index(
            index_dir,
            &analyzer,
            &site.policies,
            &site.rendered,
            vectors.as_ref(),
        )?;
        index_documents = report.documents;
        timer.lap("建立索引");
    }

    staging.publish().map_err(|source| SiteError::Write {
        path: options.output_dir.clone(),
        source,
    })?;
    timer.lap("发布");

    Ok(BuildReport {
        policies: site.policies.len(),
        pages,
        index_documents,
        warnings: corpus.diagnostics,
        stages: timer.stages,
    })
}
