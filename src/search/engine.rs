//! The query side's front: `SearchEngine` opens an index, caches responses, searches (the lexical path is in
//! `lexical.rs`) and decides whether the policy base really answers the question (即时答复).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, Term};

use super::analysis::{Analyzer, Relation, normalise};
use super::doc_number::DocNumber;
use super::lexical::{AnalysedQuery, KeyTerm};
use super::schema::{Fields, META_FILE, PolicyMeta};
use super::{QueryError, SearchError, register_tokenizers};

/// Longest question accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most results one search returns.
pub const MAX_LIMIT: usize = 50;

/// What a query is evaluated against besides its text.
#[derive(Debug, Clone)]
pub struct QueryContext {
    /// The day validity is judged on (Asia/Shanghai).
    pub today: NaiveDate,
    /// Path prefix of the site (`/` or `/zcsc/`), for result URLs.
    pub base_path: String,
}

/// `GET /api/search` and `qihu search --json`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub query: String,
    pub took_ms: f64,
    pub hits: Vec<Hit>,
}

/// One policy found, at its best-matching place.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub slug: String,
    pub title: String,
    pub doc_number: Option<String>,
    pub issuer: String,
    pub url: String,
    /// Heading path of the section or the FAQ question that matched; `None` for a whole-policy hit.
    pub section: Option<String>,
    /// The article of a law or regulation within that section that matched best (`第二十三条`), when known.
    pub article: Option<String>,
    /// Passage with the matched terms in `<mark>`; everything else escaped.
    pub snippet: String,
    pub score: f64,
    /// `valid` | `expiring` | `expired`
    pub status: &'static str,
    pub status_label: &'static str,
    pub superseded: bool,
}

/// `GET /api/answer` and `qihu ask --json`.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerResponse {
    pub answered: bool,
    pub confidence: f64,
    pub answer: Option<Answer>,
    pub alternatives: Vec<Hit>,
}

/// The engine's judgement of a question before the threshold is applied.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub confidence: f64,
    pub best: Option<Answer>,
    pub alternatives: Vec<Hit>,
    /// What the hybrid gate saw (none for the lexical gate or when nothing could answer).
    pub signals: Option<super::answer::GateSignals>,
}

/// An instant answer and its source.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub text: String,
    pub slug: String,
    pub title: String,
    pub doc_number: Option<String>,
    pub url: String,
    pub section: Option<String>,
    /// The article of a law or regulation the answer quotes (`第二十三条`), when it is one.
    pub article: Option<String>,
}

/// How a query was understood.
#[derive(Debug, Clone, Serialize)]
pub struct QueryExplanation {
    pub terms: Vec<(String, f32)>,
    pub bigrams: Vec<String>,
    pub key_terms: Vec<String>,
}

/// Recent responses kept per engine: popular questions repeat, and a response depends only on the query, the
/// day and the index (a rebuilt index opens a new engine with an empty cache).
const CACHE_ENTRIES: usize = 4096;

type CacheKey = (String, usize, NaiveDate, String);

/// An opened index with its metadata, ready to answer queries from many threads.
pub struct SearchEngine {
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    pub(super) analyzer: Arc<Analyzer>,
    pub(super) metas: Vec<PolicyMeta>,
    /// Parsed document number of each policy in `metas`.
    pub(super) doc_numbers: Vec<Option<DocNumber>>,
    /// The name questions use for each policy in `metas` (its short title).
    pub(super) names: Vec<String>,
    search_cache: quick_cache::sync::Cache<CacheKey, Arc<SearchResponse>>,
    pub(super) answer_cache: quick_cache::sync::Cache<CacheKey, Arc<AnswerResponse>>,
    /// Semantic retrieval, when the model and the index's vectors are there.
    pub(super) semantic: Option<super::hybrid::Semantic>,
    dir: std::path::PathBuf,
}

impl SearchEngine {
    /// Opens the index built by `qihu build` at `dir`.
    pub fn open(dir: &Path, analyzer: Arc<Analyzer>) -> Result<SearchEngine, SearchError> {
        let meta_path = dir.join(META_FILE);
        if !meta_path.is_file() {
            return Err(SearchError::MissingIndex(dir.to_owned()));
        }
        let index = Index::open_in_dir(dir)?;
        register_tokenizers(&index, &analyzer);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let metas_text = std::fs::read(&meta_path).map_err(|source| SearchError::Io {
            path: meta_path.clone(),
            source,
        })?;
        let metas: Vec<PolicyMeta> = serde_json::from_slice(&metas_text)
            .map_err(|error| SearchError::Corrupt(error.to_string()))?;
        let (_, fields) = Fields::schema();
        let doc_numbers = metas
            .iter()
            .map(|meta| meta.doc_number.as_deref().and_then(DocNumber::parse))
            .collect();
        let names = metas
            .iter()
            .map(|meta| super::policy_name::short_title(&meta.title))
            .collect();
        Ok(SearchEngine {
            reader,
            fields,
            analyzer,
            metas,
            doc_numbers,
            names,
            search_cache: quick_cache::sync::Cache::new(CACHE_ENTRIES),
            answer_cache: quick_cache::sync::Cache::new(CACHE_ENTRIES),
            semantic: None,
            dir: dir.to_owned(),
        })
    }

    /// Adds semantic retrieval with `embedder` when the index has vectors made by it; otherwise the engine stays
    /// lexical and the log says why.
    pub fn with_semantic(
        mut self,
        embedder: Option<Arc<super::semantic::Embedder>>,
    ) -> SearchEngine {
        if let Some(embedder) = embedder {
            match super::hybrid::Semantic::open(&self.dir, embedder) {
                Ok(semantic) => self.semantic = Some(semantic),
                Err(error) => tracing::warn!("检索和即时答复仅按关键词进行：{error}"),
            }
        }
        self
    }

    /// Whether semantic retrieval is on.
    pub fn is_hybrid(&self) -> bool {
        self.semantic.is_some()
    }

    /// Forgets cached responses (benchmarks measure the uncached path with it).
    pub fn clear_cache(&self) {
        self.search_cache.clear();
        self.answer_cache.clear();
    }

    pub fn policy_count(&self) -> usize {
        self.metas.len()
    }

    /// Checks and cleans a raw query: control characters become spaces; empty and over-long queries are refused.
    pub fn clean_query(raw: &str) -> Result<String, QueryError> {
        // Broken UTF-8 in a URL is decoded to U+FFFD; nobody types that character on purpose.
        if raw.contains('\u{FFFD}') {
            return Err(QueryError::BadEncoding);
        }
        let cleaned: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        if cleaned.is_empty() {
            return Err(QueryError::Empty);
        }
        if cleaned.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong {
                max: MAX_QUERY_CHARS,
            });
        }
        Ok(cleaned)
    }

    /// How a query is understood: its search terms with their weights, its character bigrams and its key
    /// terms (what an answer must cover). For `qihu search --explain`.
    pub fn explain(&self, raw_query: &str) -> Result<QueryExplanation, QueryError> {
        let analysed = self.analyse(&Self::clean_query(raw_query)?);
        Ok(QueryExplanation {
            terms: analysed
                .terms
                .iter()
                .map(|term| (term.text.clone(), term.weight))
                .collect(),
            bigrams: analysed.bigrams,
            key_terms: analysed.key_terms.into_iter().map(|key| key.text).collect(),
        })
    }

    /// Searches policies (`GET /api/search`).
    pub fn search(
        &self,
        raw_query: &str,
        limit: usize,
        context: &QueryContext,
    ) -> Result<SearchResponse, SearchServiceError> {
        let started = Instant::now();
        let query = Self::clean_query(raw_query)?;
        let limit = limit.clamp(1, MAX_LIMIT);
        let key = (query, limit, context.today, context.base_path.clone());
        if let Some(cached) = self.search_cache.get(&key) {
            let mut response = SearchResponse::clone(&cached);
            response.took_ms = started.elapsed().as_secs_f64() * 1000.0;
            return Ok(response);
        }
        let response = self.search_uncached(&key.0, limit, context, started)?;
        self.search_cache.insert(key, Arc::new(response.clone()));
        Ok(response)
    }

    fn search_uncached(
        &self,
        query: &str,
        limit: usize,
        context: &QueryContext,
        started: Instant,
    ) -> Result<SearchResponse, SearchServiceError> {
        let query = query.to_owned();
        let searcher = self.reader.searcher();
        let analysed = self.analyse(&query);
        let candidates = self.candidates(&searcher, &analysed, context.today, limit)?;
        let hits = self
            .rank_policies(&searcher, &candidates, &analysed)?
            .iter()
            .take(limit)
            .map(|candidate| self.hit(&searcher, candidate, &analysed, context))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResponse {
            query,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            hits,
        })
    }

    /// Weight of each key term: its inverse document frequency over headings and bodies, so rare, specific words
    /// (加计扣除) count more than common ones (企业).
    pub(super) fn key_weights(&self, searcher: &Searcher, analysed: &AnalysedQuery) -> Vec<f64> {
        let total = searcher.num_docs().max(1) as f64;
        analysed
            .key_terms
            .iter()
            .map(|key| {
                let frequency = [self.fields.heading, self.fields.body]
                    .iter()
                    .map(|&field| {
                        searcher
                            .doc_freq(&Term::from_field_text(field, &key.text))
                            .unwrap_or(0)
                    })
                    .max()
                    .unwrap_or(0) as f64;
                (1.0 + (total - frequency + 0.5) / (frequency + 0.5))
                    .ln()
                    .max(0.1)
            })
            .collect()
    }
}

/// Why `/api/search` or `/api/answer` failed: the user's query, or the engine.
#[derive(Debug, thiserror::Error)]
pub enum SearchServiceError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Engine(#[from] SearchError),
}

impl From<tantivy::TantivyError> for SearchServiceError {
    fn from(error: tantivy::TantivyError) -> Self {
        SearchServiceError::Engine(SearchError::Index(error))
    }
}

/// How far `key` is in `normalised` text: 1 for the word itself, 0.8 through an equivalent word, 0.4 through a
/// related one, 0 when absent.
fn presence(key: &KeyTerm, normalised: &str) -> f64 {
    if normalised.contains(key.text.as_str()) {
        return 1.0;
    }
    key.alternatives
        .iter()
        .filter(|(alternative, _)| normalised.contains(alternative.as_str()))
        .map(|(_, relation)| match relation {
            Relation::Equivalent => 0.8,
            Relation::Related => 0.4,
        })
        .fold(0.0, f64::max)
}

/// Weighted share of `key_terms` present in `text` (see [`presence`]).
pub(super) fn coverage(key_terms: &[KeyTerm], weights: &[f64], text: &str) -> f64 {
    let text = normalise(text);
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let covered: f64 = key_terms
        .iter()
        .zip(weights)
        .map(|(key, weight)| weight * presence(key, &text))
        .sum();
    covered / total
}

/// The few sentences of a section that cover the question best (an answer, not a whole page).
pub(super) fn best_passage(text: &str, key_terms: &[KeyTerm]) -> String {
    let sentences: Vec<&str> = text
        .split_inclusive(['。', '；', '！', '？', '\n'])
        .map(str::trim)
        .filter(|sentence| !sentence.is_empty())
        .collect();
    if sentences.is_empty() {
        return String::new();
    }
    let score = |sentence: &str| {
        let normalised = normalise(sentence);
        key_terms
            .iter()
            .filter(|key| {
                normalised.contains(key.text.as_str())
                    || key
                        .alternatives
                        .iter()
                        .any(|(alternative, _)| normalised.contains(alternative.as_str()))
            })
            .count()
    };
    let best = (0..sentences.len())
        .max_by_key(|&i| (score(sentences[i]), std::cmp::Reverse(i)))
        .unwrap_or(0);
    let mut passage = String::new();
    for sentence in &sentences[best..] {
        if passage.chars().count() + sentence.chars().count() > 160 && !passage.is_empty() {
            break;
        }
        passage.push_str(sentence);
    }
    passage
}
