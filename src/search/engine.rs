//! The query side: analyse a question, build the tantivy query by hand (term queries with per-field boosts and
//! a bigram backstop — never `QueryParser`, which would turn an unspaced Chinese question into one phrase),
//! rank with validity, and decide whether the policy base really answers the question (即时答复).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::analysis::{Analyzer, Relation, bigrams, is_cjk, normalise};
use super::doc_number::{self, DocNumber, DocNumberMatch};
use super::schema::{DocKind, Fields, META_FILE, PolicyMeta};
use super::snippet::{SNIPPET_CHARS, snippet};
use super::{QueryError, SearchError, register_tokenizers};
use crate::policy::Validity;
use crate::site::views::encode_segment;

/// Longest question accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most results one search returns.
pub const MAX_LIMIT: usize = 50;
/// Candidate documents read before grouping by policy: this many per result wanted (a policy has several
/// documents), at least [`MIN_CANDIDATES`]; read again with more when too few policies came out.
const CANDIDATES_PER_RESULT: usize = 4;
const MIN_CANDIDATES: usize = 30;
/// Expired or replaced policies rank below valid ones: their scores are multiplied by this.
const OUTDATED_FACTOR: f32 = 0.35;
/// A query word that is part of a longer query word is left out when more than this share of documents has it.
const COMMON_PART_SHARE: f64 = 0.2;
/// Bigrams are a backstop for pairs the words missed; only pairs in at most this share of documents are used.
const RARE_GRAM_SHARE: f64 = 0.05;
/// Field boosts: where a term matches says how much it matters.
const HEADING_BOOST: f32 = 3.0;
const META_BOOST: f32 = 1.5;
const BODY_BOOST: f32 = 1.0;
const HEADING_BIGRAM_BOOST: f32 = 0.5;
const BODY_BIGRAM_BOOST: f32 = 0.25;

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

/// A query term and how much it counts.
#[derive(Debug, Clone)]
struct QueryTerm {
    text: String,
    weight: f32,
}

/// A word of the question that an answer must cover, with the words that may stand for it.
#[derive(Debug, Clone)]
pub(super) struct KeyTerm {
    pub(super) text: String,
    pub(super) alternatives: Vec<(String, Relation)>,
}

#[derive(Debug, Clone)]
pub(super) struct AnalysedQuery {
    terms: Vec<QueryTerm>,
    bigrams: Vec<String>,
    pub(super) key_terms: Vec<KeyTerm>,
    /// Years the question names ("2022年缓缴社保"): policies of that time are not ranked down as outdated.
    pub(super) years: Vec<i32>,
    /// Document numbers the question names.
    pub(super) doc_numbers: Vec<DocNumber>,
    /// The cleaned question, for matching document numbers.
    pub(super) text: String,
}

impl AnalysedQuery {
    /// Every string worth marking in a snippet.
    pub(super) fn highlight_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = self
            .terms
            .iter()
            .filter(|term| term.text.chars().count() >= 2 || !term.text.chars().all(is_cjk))
            .map(|term| term.text.clone())
            .collect();
        terms.extend(self.key_terms.iter().map(|key| key.text.clone()));
        terms
    }
}

/// A candidate document after rescoring.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) address: DocAddress,
    pub(super) policy: usize,
    pub(super) kind: DocKind,
    pub(super) score: f32,
}

/// Recent responses kept per engine: popular questions repeat, and a response depends only on the query, the
/// day and the index (a rebuilt index opens a new engine with an empty cache).
const CACHE_ENTRIES: usize = 4096;

type CacheKey = (String, usize, NaiveDate, String);

/// An opened index with its metadata, ready to answer queries from many threads.
pub struct SearchEngine {
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    analyzer: Arc<Analyzer>,
    pub(super) metas: Vec<PolicyMeta>,
    /// Parsed document number of each policy in `metas`.
    pub(super) doc_numbers: Vec<Option<DocNumber>>,
    /// Semantic retrieval, when the model and the index's vectors are there.
    pub(super) semantic: Option<super::hybrid::Semantic>,
    dir: std::path::PathBuf,
    search_cache: quick_cache::sync::Cache<CacheKey, Arc<SearchResponse>>,
    pub(super) answer_cache: quick_cache::sync::Cache<CacheKey, Arc<AnswerResponse>>,
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
        Ok(SearchEngine {
            reader,
            fields,
            analyzer,
            metas,
            doc_numbers,
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

    pub(super) fn analyse(&self, query: &str) -> AnalysedQuery {
        let normalised = normalise(query);
        let analyzer = &self.analyzer;
        let mut weights: HashMap<String, f32> = HashMap::new();
        let add = |text: &str, weight: f32, weights: &mut HashMap<String, f32>| {
            if text.trim().is_empty() || analyzer.is_stopword(text) {
                return;
            }
            let entry = weights.entry(text.to_owned()).or_insert(0.0);
            *entry = entry.max(weight);
        };
        let mut key_terms: Vec<KeyTerm> = Vec::new();
        for word in analyzer.segment(&normalised) {
            if analyzer.is_stopword(word) || key_terms.iter().any(|key| key.text == word) {
                continue;
            }
            let single = word.chars().count() == 1 && word.chars().all(is_cjk);
            if !single {
                key_terms.push(KeyTerm {
                    text: word.to_owned(),
                    alternatives: analyzer.synonyms.of(word).to_vec(),
                });
            }
        }
        for (_, _, word) in analyzer.segment_for_search(&normalised) {
            let single = word.chars().count() == 1 && word.chars().all(is_cjk);
            add(word, if single { 0.3 } else { 1.0 }, &mut weights);
        }
        // A synonym stands in whole (it is one word of the index when the dictionary knows it); its parts would
        // only add noise (高校毕业生 must not bring in 学生).
        for key in &key_terms {
            for (alternative, relation) in &key.alternatives {
                for word in analyzer.segment(alternative) {
                    if word.chars().count() >= 2 || !word.chars().all(is_cjk) {
                        add(word, relation.weight(), &mut weights);
                    }
                }
            }
        }
        let mut terms: Vec<QueryTerm> = weights
            .into_iter()
            .map(|(text, weight)| QueryTerm { text, weight })
            .collect();
        terms.sort_by(|a, b| a.text.cmp(&b.text));
        // Bigrams of longer words catch segmentation drift (小微企业 inside 中小微企业); a two-character word is
        // its own only bigram and needs no backstop.
        let mut grams: Vec<String> = key_terms
            .iter()
            .filter(|key| key.text.chars().count() >= 3)
            .flat_map(|key| bigrams(&key.text))
            .map(|(_, _, gram)| gram)
            .filter(|gram| gram.chars().count() == 2 && gram.chars().all(is_cjk))
            .collect();
        grams.sort();
        grams.dedup();
        AnalysedQuery {
            terms,
            bigrams: grams,
            key_terms,
            years: doc_number::question_years(query),
            doc_numbers: doc_number::question_references(query),
            text: query.to_owned(),
        }
    }

    fn build_query(&self, searcher: &Searcher, analysed: &AnalysedQuery) -> BooleanQuery {
        let fields = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // A part of a longer query word that is in most documents (企业 in 小微企业) ranks nothing and costs the
        // most to score: the longer word carries the meaning.
        let common_above = (searcher.num_docs() as f64 * COMMON_PART_SHARE) as u64;
        let is_common_part = |term: &QueryTerm| {
            analysed.terms.iter().any(|longer| {
                longer.text.len() > term.text.len() && longer.text.contains(&term.text)
            }) && searcher
                .doc_freq(&Term::from_field_text(fields.body, &term.text))
                .unwrap_or(0)
                > common_above
        };
        let mut push = |field, text: &str, boost: f32| {
            let term = Term::from_field_text(field, text);
            let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(query), boost)),
            ));
        };
        for term in analysed.terms.iter().filter(|term| !is_common_part(term)) {
            push(fields.heading, &term.text, HEADING_BOOST * term.weight);
            push(fields.meta, &term.text, META_BOOST * term.weight);
            push(fields.body, &term.text, BODY_BOOST * term.weight);
        }
        // The bigram backstop is for rarer pairs (微企 finds 中小微企业); a pair in most documents (企业) would
        // match everything and cost the most.
        let rare_gram_above = (searcher.num_docs() as f64 * RARE_GRAM_SHARE) as u64;
        let is_common_gram = |gram: &String| {
            searcher
                .doc_freq(&Term::from_field_text(fields.body_bigrams, gram))
                .unwrap_or(0)
                > rare_gram_above
        };
        for gram in analysed.bigrams.iter().filter(|gram| !is_common_gram(gram)) {
            push(fields.heading_bigrams, gram, HEADING_BIGRAM_BOOST);
            push(fields.body_bigrams, gram, BODY_BIGRAM_BOOST);
        }
        BooleanQuery::new(clauses)
    }

    /// Candidate documents, rescored for validity, best first.
    pub(super) fn candidates(
        &self,
        searcher: &Searcher,
        analysed: &AnalysedQuery,
        today: NaiveDate,
        wanted: usize,
    ) -> Result<Vec<Candidate>, SearchError> {
        if analysed.terms.is_empty() && analysed.bigrams.is_empty() {
            return Ok(Vec::new());
        }
        let query = self.build_query(searcher, analysed);
        let mut read = (wanted * CANDIDATES_PER_RESULT).max(MIN_CANDIDATES);
        loop {
            let candidates =
                self.read_candidates(searcher, &query, read, today, &analysed.years)?;
            let policies = candidates
                .iter()
                .map(|candidate| candidate.policy)
                .collect::<std::collections::HashSet<_>>()
                .len();
            if policies >= wanted || candidates.len() < read || read >= 8 * MIN_CANDIDATES * wanted
            {
                return Ok(candidates);
            }
            read *= 4;
        }
    }

    fn read_candidates(
        &self,
        searcher: &Searcher,
        query: &BooleanQuery,
        read: usize,
        today: NaiveDate,
        years: &[i32],
    ) -> Result<Vec<Candidate>, SearchError> {
        let top = searcher.search(query, &TopDocs::with_limit(read).order_by_score())?;
        let mut candidates = Vec::with_capacity(top.len());
        let mut columns = HashMap::new();
        for (score, address) in top {
            let (policy_column, kind_column) = match columns.get(&address.segment_ord) {
                Some(pair) => pair,
                None => {
                    let fast = searcher.segment_reader(address.segment_ord).fast_fields();
                    let pair = (fast.u64("policy")?, fast.u64("kind")?);
                    columns.entry(address.segment_ord).or_insert(pair)
                }
            };
            let policy = policy_column.first(address.doc_id).unwrap_or_default() as usize;
            let kind = DocKind::from_code(kind_column.first(address.doc_id).unwrap_or_default());
            let Some(meta) = self.metas.get(policy) else {
                continue;
            };
            let factor = time_factor(meta, today, years);
            candidates.push(Candidate {
                address,
                policy,
                kind,
                score: score * factor,
            });
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(candidates)
    }

    pub(super) fn stored_text(
        &self,
        document: &TantivyDocument,
        field: tantivy::schema::Field,
    ) -> String {
        document
            .get_first(field)
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_owned()
    }

    pub(super) fn hit(
        &self,
        searcher: &Searcher,
        candidate: &Candidate,
        analysed: &AnalysedQuery,
        context: &QueryContext,
    ) -> Result<Hit, SearchError> {
        let meta = &self.metas[candidate.policy];
        let document: TantivyDocument = searcher.doc(candidate.address)?;
        let body = self.stored_text(&document, self.fields.body);
        let heading = self.stored_text(&document, self.fields.heading);
        let anchor = self.stored_text(&document, self.fields.anchor);
        let terms = analysed.highlight_terms();
        let text = match candidate.kind {
            DocKind::Faq => format!("问：{heading} 答：{body}"),
            _ if body.trim().is_empty() => heading.clone(),
            _ => body,
        };
        let section = match candidate.kind {
            DocKind::Policy => None,
            _ => Some(self.stored_text(&document, self.fields.section)),
        };
        let validity = meta.validity(context.today);
        Ok(Hit {
            slug: meta.slug.clone(),
            title: meta.title.clone(),
            doc_number: meta.doc_number.clone(),
            issuer: meta.issuer.clone(),
            url: policy_url(&context.base_path, &meta.slug, &anchor),
            section,
            article: None,
            snippet: snippet(&text, &terms, SNIPPET_CHARS),
            score: f64::from(candidate.score),
            status: validity.code(),
            status_label: if meta.superseded_by.is_some() && validity == Validity::Valid {
                "已被替代"
            } else {
                validity.label()
            },
            superseded: meta.superseded_by.is_some(),
        })
    }

    /// One result per policy, best first: each policy's best document, scored by its best three documents (a
    /// policy that matches in several places is more likely what the question is about: 1 + ½ + ¼), and put
    /// ahead when the question names its document number.
    pub(super) fn rank_policies(
        &self,
        searcher: &Searcher,
        candidates: &[Candidate],
        analysed: &AnalysedQuery,
    ) -> Result<Vec<Candidate>, SearchError> {
        let mut ranked: Vec<Candidate> = Vec::new();
        let mut seen: HashMap<usize, (usize, usize)> = HashMap::new(); // policy -> (place in ranked, docs counted)
        for candidate in candidates {
            match seen.get_mut(&candidate.policy) {
                None => {
                    seen.insert(candidate.policy, (ranked.len(), 1));
                    ranked.push(*candidate);
                }
                Some((place, counted)) if *counted < 3 => {
                    ranked[*place].score += candidate.score * 0.5_f32.powi(*counted as i32);
                    *counted += 1;
                }
                Some(_) => {}
            }
        }
        if !analysed.doc_numbers.is_empty() {
            let top = ranked.iter().map(|c| c.score).fold(1.0_f32, f32::max);
            for (policy, number) in self.doc_numbers.iter().enumerate() {
                let Some(number) = number else { continue };
                let Some(strength) =
                    doc_number::match_question(&analysed.doc_numbers, &analysed.text, number)
                else {
                    continue;
                };
                let boost = match strength {
                    DocNumberMatch::Strong => top * 2.0,
                    DocNumberMatch::Weak => top * 0.8,
                };
                match seen.get(&policy) {
                    Some((place, _)) => ranked[*place].score += boost,
                    None => {
                        if let Some(address) = self.policy_document(searcher, policy)? {
                            ranked.push(Candidate {
                                address,
                                policy,
                                kind: DocKind::Policy,
                                score: boost,
                            });
                        }
                    }
                }
            }
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(ranked)
    }

    /// The whole-policy document of policy number `policy`.
    pub(super) fn policy_document(
        &self,
        searcher: &Searcher,
        policy: usize,
    ) -> Result<Option<DocAddress>, SearchError> {
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(self.fields.policy, policy as u64),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(self.fields.kind, DocKind::Policy as u64),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        Ok(top.first().map(|(_, address)| *address))
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

/// How much a document's score counts given when its policy applied: outdated policies rank below current ones,
/// unless the question names a year in which the policy applied.
pub(super) fn time_factor(meta: &PolicyMeta, today: NaiveDate, years: &[i32]) -> f32 {
    let current = meta.is_current(today);
    let named_period = years.iter().any(|&year| meta.covers_year(year));
    match (years.is_empty(), named_period, current) {
        (true, _, true) | (false, true, _) => 1.0,
        (false, false, true) => 0.85,
        _ => OUTDATED_FACTOR,
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

/// Weighted share of `key_terms` present in `text`; a term present only through a synonym counts for less
/// (0.8 of its weight for an equivalent word, 0.4 for a related one).
pub(super) fn coverage(key_terms: &[KeyTerm], weights: &[f64], text: &str) -> f64 {
    let text = normalise(text);
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let covered: f64 = key_terms
        .iter()
        .zip(weights)
        .map(|(key, weight)| {
            if text.contains(key.text.as_str()) {
                return *weight;
            }
            let through = key
                .alternatives
                .iter()
                .filter(|(alternative, _)| text.contains(alternative.as_str()))
                .map(|(_, relation)| match relation {
                    Relation::Equivalent => 0.8,
                    Relation::Related => 0.4,
                })
                .fold(0.0, f64::max);
            weight * through
        })
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

pub(super) fn policy_url(base_path: &str, slug: &str, anchor: &str) -> String {
    if anchor.is_empty() {
        format!("{base_path}policies/{}/", encode_segment(slug))
    } else {
        format!(
            "{base_path}policies/{}/#{}",
            encode_segment(slug),
            encode_segment(anchor)
        )
    }
}
