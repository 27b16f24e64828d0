//! The lexical path of a search (词项检索): analysing a question into weighted terms, building the tantivy query
//! by hand (term queries with per-field boosts and a bigram backstop — never `QueryParser`, which would turn an
//! unspaced Chinese question into one phrase), collecting candidate documents (at most a few per policy, in one
//! pruned pass), rescoring them for validity, ranking policies and making hits with snippets.

use std::collections::HashMap;

use chrono::NaiveDate;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use super::SearchError;
use super::analysis::{Relation, bigrams, is_cjk, normalise};
use super::collector::{PolicyLevelStatistics, PolicyScores, PolicyTopDocs};
use super::doc_number::{self, DocNumber, DocNumberMatch};
use super::engine::{Hit, QueryContext, SearchEngine};
use super::schema::{DocKind, PolicyMeta};
use super::snippet::{SNIPPET_CHARS, snippet};
use crate::policy::Validity;
use crate::site::views::encode_segment;

/// Candidate documents kept of one policy: ranking counts a policy's best three, an instant answer looks at the
/// sections and FAQ pairs of the two best policies.
const PER_POLICY: usize = 5;
/// Fewest candidate documents read, however few results are wanted.
const MIN_CANDIDATES: usize = 30;
/// Policies whose metadata matches best, read whole: this many per result wanted.
const META_POLICIES_PER_RESULT: usize = 2;
/// Expired or replaced policies rank below valid ones: their scores are multiplied by this.
const OUTDATED_FACTOR: f32 = 0.35;
/// A query word that is part of a longer query word is left out when more than this share of documents has it.
const COMMON_PART_SHARE: f64 = 0.2;
/// A query word of one ideograph is left out when more than this share of documents has it.
const COMMON_CHAR_SHARE: f64 = 0.05;
/// Bigrams are a backstop for pairs the words missed; only pairs in at most this share of documents are used.
const RARE_GRAM_SHARE: f64 = 0.05;
/// Field boosts: where a term matches says how much it matters.
const HEADING_BOOST: f32 = 3.0;
const META_BOOST: f32 = 1.5;
const BODY_BOOST: f32 = 1.0;
const HEADING_BIGRAM_BOOST: f32 = 0.5;
const BODY_BIGRAM_BOOST: f32 = 0.25;

/// A query term and how much it counts.
#[derive(Debug, Clone)]
pub(super) struct QueryTerm {
    pub(super) text: String,
    pub(super) weight: f32,
}

/// A word of the question that an answer must cover, with the words that may stand for it.
#[derive(Debug, Clone)]
pub(super) struct KeyTerm {
    pub(super) text: String,
    pub(super) alternatives: Vec<(String, Relation)>,
}

#[derive(Debug, Clone)]
pub(super) struct AnalysedQuery {
    pub(super) terms: Vec<QueryTerm>,
    pub(super) bigrams: Vec<String>,
    pub(super) key_terms: Vec<KeyTerm>,
    /// Years the question names ("2022年缓缴社保"): policies of that time are not ranked down as outdated.
    pub(super) years: Vec<i32>,
    /// Document numbers the question names.
    pub(super) doc_numbers: Vec<DocNumber>,
    /// Policies the question names by title: about them even when they no longer apply.
    pub(super) named: Vec<usize>,
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

impl SearchEngine {
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
            named: super::policy_name::named_policies(&self.names, &normalised),
            text: query.to_owned(),
        }
    }

    /// The query over the documents (headings, texts, bigrams) and the query over the policies' metadata.
    pub(super) fn build_queries(
        &self,
        searcher: &Searcher,
        analysed: &AnalysedQuery,
    ) -> (BooleanQuery, BooleanQuery) {
        let fields = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut meta_clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
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
        let clause = |field, text: &str, boost: f32| -> (Occur, Box<dyn Query>) {
            let term = Term::from_field_text(field, text);
            let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(query), boost)),
            )
        };
        // A single ideograph in many documents (人, 查, 办 …) counts a third of a word and ranks next to
        // nothing, but its posting list is the longest the query would walk.
        let common_char_above = (searcher.num_docs() as f64 * COMMON_CHAR_SHARE) as u64;
        let is_common_char = |term: &QueryTerm| {
            term.text.chars().count() == 1
                && searcher
                    .doc_freq(&Term::from_field_text(fields.body, &term.text))
                    .unwrap_or(0)
                    > common_char_above
        };
        for term in analysed
            .terms
            .iter()
            .filter(|term| !is_common_part(term) && !is_common_char(term))
        {
            clauses.push(clause(
                fields.heading,
                &term.text,
                HEADING_BOOST * term.weight,
            ));
            meta_clauses.push(clause(fields.meta, &term.text, META_BOOST * term.weight));
            clauses.push(clause(fields.body, &term.text, BODY_BOOST * term.weight));
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
            clauses.push(clause(fields.heading_bigrams, gram, HEADING_BIGRAM_BOOST));
            clauses.push(clause(fields.body_bigrams, gram, BODY_BIGRAM_BOOST));
        }
        (BooleanQuery::new(clauses), BooleanQuery::new(meta_clauses))
    }

    /// Candidate documents, rescored for validity, best first: the best [`PER_POLICY`] documents of each
    /// policy among the best `wanted × PER_POLICY` (at least [`MIN_CANDIDATES`]), so at least `wanted` policies
    /// whenever that many match.
    ///
    /// A document scores its own heading, text and bigrams plus its policy's metadata (title, 文号, issuers …).
    /// The metadata is indexed once per policy and scored once per policy (as if every document of the policy
    /// carried it, see [`PolicyLevelStatistics`]), then added to each of the policy's documents: the documents
    /// are read in one pruned pass on their own scores, and every document of the policies whose metadata
    /// matches best is read as well, so those policies are ranked on all their documents.
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
        let (query, meta_query) = self.build_queries(searcher, analysed);
        let statistics = PolicyLevelStatistics {
            searcher,
            meta: self.fields.meta,
            scale: searcher.num_docs() as f64 / self.metas.len().max(1) as f64,
        };
        let meta_scores = searcher.search_with_statistics_provider(
            &meta_query,
            &PolicyScores {
                policies: self.metas.len(),
            },
            &statistics,
        )?;
        let limit = (wanted * PER_POLICY).max(MIN_CANDIDATES);
        let mut collected = searcher.search(
            &query,
            &PolicyTopDocs {
                limit,
                per_policy: PER_POLICY,
            },
        )?;
        let mut best_meta: Vec<(usize, f32)> = meta_scores
            .iter()
            .enumerate()
            .filter(|(_, score)| **score > 0.0)
            .map(|(policy, score)| (policy, *score))
            .collect();
        best_meta.sort_by(|a, b| b.1.total_cmp(&a.1));
        best_meta.truncate(META_POLICIES_PER_RESULT * wanted);
        if !best_meta.is_empty() {
            let policies: Vec<Term> = best_meta
                .iter()
                .map(|(policy, _)| Term::from_field_u64(self.fields.policy, *policy as u64))
                .collect();
            // A union of short posting lists (a policy has a few dozen documents): cheaper than a term set,
            // which builds an automaton and a bit set of the whole index for every query.
            let any_of_them = BooleanQuery::new(
                policies
                    .into_iter()
                    .map(|term| {
                        let query: Box<dyn Query> =
                            Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                        (Occur::Should, query)
                    })
                    .collect(),
            );
            let of_policies = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(BoostQuery::new(Box::new(any_of_them), 0.0)) as Box<dyn Query>,
                ),
                (Occur::Should, Box::new(query.clone())),
            ]);
            collected.extend(searcher.search(
                &of_policies,
                &PolicyTopDocs {
                    limit: best_meta.len() * PER_POLICY,
                    per_policy: PER_POLICY,
                },
            )?);
        }
        let mut seen = std::collections::HashSet::new();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        let mut candidates = Vec::with_capacity(collected.len());
        for document in collected {
            let policy = document.policy as usize;
            let Some(meta) = self.metas.get(policy) else {
                continue;
            };
            if !seen.insert(document.address) {
                continue;
            }
            let score = document.score + meta_scores.get(policy).copied().unwrap_or(0.0);
            candidates.push(Candidate {
                address: document.address,
                policy,
                kind: DocKind::from_code(document.kind),
                score: score * time_factor(meta, policy, today, analysed),
            });
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        candidates.retain(|candidate| {
            let count = counts.entry(candidate.policy).or_default();
            *count += 1;
            *count <= PER_POLICY
        });
        candidates.truncate(limit);
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
        if !analysed.doc_numbers.is_empty() || !analysed.named.is_empty() {
            let top = ranked.iter().map(|c| c.score).fold(1.0_f32, f32::max);
            for (policy, boost) in self.naming_boosts(analysed, top) {
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
}

/// How much a document's score counts given when its policy applied: outdated policies rank below current ones,
/// unless the question names a year in which the policy applied.
impl SearchEngine {
    /// The policies the question names, with what each gains over the best score `top`: by 文号, twice `top`
    /// when the issuer part matches too, 0.8 of it when only year and serial do; by title,
    /// [`TITLE_BOOST`] of it.
    pub(super) fn naming_boosts(&self, analysed: &AnalysedQuery, top: f32) -> Vec<(usize, f32)> {
        let mut boosts: Vec<(usize, f32)> = analysed
            .named
            .iter()
            .map(|&policy| (policy, top * TITLE_BOOST))
            .collect();
        if analysed.doc_numbers.is_empty() {
            return boosts;
        }
        for (policy, number) in self.doc_numbers.iter().enumerate() {
            let Some(number) = number else { continue };
            // Only a policy whose year and serial the question names can match; the full check normalises
            // the question, too dear to do for every policy.
            if !analysed
                .doc_numbers
                .iter()
                .any(|named| named.year == number.year && named.serial == number.serial)
            {
                continue;
            }
            let Some(strength) =
                doc_number::match_question(&analysed.doc_numbers, &analysed.text, number)
            else {
                continue;
            };
            boosts.push((
                policy,
                match strength {
                    DocNumberMatch::Strong => top * 2.0,
                    DocNumberMatch::Weak => top * 0.8,
                },
            ));
        }
        boosts
    }
}

/// What naming a policy's title gains it, as a share of the best score: enough to settle a close call
/// between a law and its neighbours (增值税法 against the notice on its transition), not to override a question
/// that names an old rule to ask about the new one (chosen on the calibration half: 0.3 gains as much as any
/// larger share).
const TITLE_BOOST: f32 = 0.3;

pub(super) fn time_factor(
    meta: &PolicyMeta,
    policy: usize,
    today: NaiveDate,
    analysed: &AnalysedQuery,
) -> f32 {
    if analysed.named.contains(&policy) {
        return 1.0;
    }
    let years = &analysed.years;
    let current = meta.is_current(today);
    let named_period = years.iter().any(|&year| meta.covers_year(year));
    match (years.is_empty(), named_period, current) {
        (true, _, true) | (false, true, _) => 1.0,
        (false, false, true) => 0.85,
        _ => OUTDATED_FACTOR,
    }
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
