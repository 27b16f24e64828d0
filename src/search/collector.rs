//! Candidate collection (候选文档): the best-scoring documents with at most a few per policy, in one pass with
//! block-max pruning; and the policy-level scores of the metadata, which is indexed once per policy.
//!
//! A policy has about twenty documents (its sections and FAQ pairs), and they share the policy's metadata, so the
//! plain top documents of a query are often a handful of policies many times over; reading more and more of
//! them until enough policies come out scored the query several times. Ranking uses only a policy's best few
//! documents, so this collector keeps no more than that of each and prunes below the weakest document kept.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{Bm25StatisticsProvider, Weight};
use tantivy::schema::Field;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

/// A scored document and the policy it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Collected {
    pub score: Score,
    pub address: DocAddress,
    pub policy: u64,
    pub kind: u64,
}

/// The best `limit` documents of a query, at most `per_policy` of them from any one policy, best first.
pub struct PolicyTopDocs {
    pub limit: usize,
    pub per_policy: usize,
}

/// The documents kept so far: a small pool, scanned rather than heaped (it holds a few dozen).
struct Pool {
    limit: usize,
    per_policy: usize,
    entries: Vec<Collected>,
    counts: HashMap<u64, usize>,
}

impl Pool {
    fn new(limit: usize, per_policy: usize) -> Pool {
        Pool {
            limit,
            per_policy,
            entries: Vec::with_capacity(limit + 1),
            counts: HashMap::with_capacity(limit),
        }
    }

    fn weakest(&self, policy: Option<u64>) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| policy.is_none_or(|policy| entry.policy == policy))
            .min_by(|(_, a), (_, b)| a.score.total_cmp(&b.score))
            .map(|(place, _)| place)
    }

    /// Offers a document; returns the score a document must now beat to be kept.
    fn offer(&mut self, candidate: Collected) -> Score {
        let count = self.counts.get(&candidate.policy).copied().unwrap_or(0);
        if count >= self.per_policy {
            if let Some(place) = self.weakest(Some(candidate.policy))
                && self.entries[place].score < candidate.score
            {
                self.entries[place] = candidate;
            }
        } else {
            self.entries.push(candidate);
            *self.counts.entry(candidate.policy).or_default() += 1;
            if self.entries.len() > self.limit
                && let Some(place) = self.weakest(None)
            {
                let evicted = self.entries.swap_remove(place);
                if let Some(count) = self.counts.get_mut(&evicted.policy) {
                    *count -= 1;
                }
            }
        }
        self.threshold()
    }

    fn threshold(&self) -> Score {
        if self.entries.len() < self.limit {
            return Score::MIN;
        }
        self.weakest(None)
            .map_or(Score::MIN, |place| self.entries[place].score)
    }
}

impl Collector for PolicyTopDocs {
    type Fruit = Vec<Collected>;
    type Child = PolicySegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PolicySegmentCollector> {
        let fast = reader.fast_fields();
        Ok(PolicySegmentCollector {
            segment,
            policy: fast.u64("policy")?,
            kind: fast.u64("kind")?,
            pool: Pool::new(self.limit, self.per_policy),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Collected>>) -> tantivy::Result<Vec<Collected>> {
        let mut all: Vec<Collected> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut counts: HashMap<u64, usize> = HashMap::new();
        all.retain(|entry| {
            let count = counts.entry(entry.policy).or_default();
            *count += 1;
            *count <= self.per_policy
        });
        all.truncate(self.limit);
        Ok(all)
    }

    /// Block-max pruning (block-WAND for a union of terms) below the weakest document kept.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<Collected>> {
        let mut collector = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|alive| !alive.is_alive(doc)) {
                return collector.pool.threshold();
            }
            collector.offer(doc, score)
        })?;
        Ok(collector.harvest())
    }
}

pub struct PolicySegmentCollector {
    segment: SegmentOrdinal,
    policy: tantivy::columnar::Column<u64>,
    kind: tantivy::columnar::Column<u64>,
    pool: Pool,
}

impl PolicySegmentCollector {
    fn offer(&mut self, doc: DocId, score: Score) -> Score {
        let candidate = Collected {
            score,
            address: DocAddress::new(self.segment, doc),
            policy: self.policy.first(doc).unwrap_or_default(),
            kind: self.kind.first(doc).unwrap_or_default(),
        };
        self.pool.offer(candidate)
    }
}

impl SegmentCollector for PolicySegmentCollector {
    type Fruit = Vec<Collected>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.offer(doc, score);
    }

    fn harvest(self) -> Vec<Collected> {
        self.pool.entries
    }
}

/// The score of every matching document, by policy (a dense table: one entry per policy).
pub struct PolicyScores {
    pub policies: usize,
}

pub struct PolicyScoresSegment {
    policy: tantivy::columnar::Column<u64>,
    scores: Vec<(u64, Score)>,
}

impl Collector for PolicyScores {
    type Fruit = Vec<Score>;
    type Child = PolicyScoresSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PolicyScoresSegment> {
        Ok(PolicyScoresSegment {
            policy: reader.fast_fields().u64("policy")?,
            scores: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u64, Score)>>) -> tantivy::Result<Vec<Score>> {
        let mut scores: Vec<Score> = vec![0.0; self.policies];
        for (policy, score) in fruits.into_iter().flatten() {
            if let Some(slot) = scores.get_mut(policy as usize) {
                *slot = slot.max(score);
            }
        }
        Ok(scores)
    }
}

impl SegmentCollector for PolicyScoresSegment {
    type Fruit = Vec<(u64, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.scores
            .push((self.policy.first(doc).unwrap_or_default(), score));
    }

    fn harvest(self) -> Vec<(u64, Score)> {
        self.scores
    }
}

/// BM25 statistics under which a field indexed once per policy (the metadata, in the whole-policy document)
/// scores as if each of the policy's documents carried it: its document frequencies and token count are
/// scaled by the documents per policy, so its weight against headings and texts is that of a field of every
/// document.
pub struct PolicyLevelStatistics<'a> {
    pub searcher: &'a Searcher,
    pub meta: Field,
    /// Index documents per policy.
    pub scale: f64,
}

impl Bm25StatisticsProvider for PolicyLevelStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let tokens = self.searcher.total_num_tokens(field)?;
        Ok(if field == self.meta {
            (tokens as f64 * self.scale) as u64
        } else {
            tokens
        })
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let frequency = self.searcher.doc_freq(term)?;
        Ok(if term.field() == self.meta {
            (frequency as f64 * self.scale).round() as u64
        } else {
            frequency
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer_all(pool: &mut Pool, documents: &[(f32, u64)]) {
        for (doc, &(score, policy)) in documents.iter().enumerate() {
            pool.offer(Collected {
                score,
                address: DocAddress::new(0, doc as DocId),
                policy,
                kind: 0,
            });
        }
    }

    #[test]
    fn keeps_the_best_documents_with_at_most_a_few_per_policy() {
        let mut pool = Pool::new(4, 2);
        offer_all(
            &mut pool,
            &[
                (9.0, 1),
                (8.0, 1),
                (7.5, 1),
                (7.0, 2),
                (1.0, 3),
                (6.0, 4),
                (8.5, 1),
            ],
        );
        let mut kept: Vec<(f32, u64)> = pool.entries.iter().map(|e| (e.score, e.policy)).collect();
        kept.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(kept, [(9.0, 1), (8.5, 1), (7.0, 2), (6.0, 4)]);
        assert_eq!(pool.threshold(), 6.0);
    }

    #[test]
    fn policy_level_statistics_scale_only_the_metadata_field() {
        use crate::search::schema::Fields;
        let (schema, fields) = Fields::schema();
        let index = tantivy::Index::create_in_ram(schema);
        for name in [
            crate::search::analysis::WORDS,
            crate::search::analysis::BIGRAMS,
        ] {
            index
                .tokenizers()
                .register(name, tantivy::tokenizer::WhitespaceTokenizer::default());
        }
        let mut writer: tantivy::IndexWriter =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        for policy in 0..2u64 {
            let mut whole = tantivy::TantivyDocument::default();
            whole.add_u64(fields.policy, policy);
            whole.add_text(fields.meta, "稳岗 返还");
            whole.add_text(fields.body, "稳岗");
            writer.add_document(whole).unwrap();
            for _ in 0..3 {
                let mut section = tantivy::TantivyDocument::default();
                section.add_u64(fields.policy, policy);
                section.add_text(fields.body, "稳岗");
                writer.add_document(section).unwrap();
            }
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let statistics = PolicyLevelStatistics {
            searcher: &searcher,
            meta: fields.meta,
            scale: 4.0,
        };
        let meta = Term::from_field_text(fields.meta, "稳岗");
        let body = Term::from_field_text(fields.body, "稳岗");
        // As if all 8 documents carried the metadata of their policy.
        assert_eq!(statistics.doc_freq(&meta).unwrap(), 8);
        assert_eq!(statistics.total_num_tokens(fields.meta).unwrap(), 16);
        assert_eq!(statistics.doc_freq(&body).unwrap(), 8);
        assert_eq!(statistics.total_num_docs().unwrap(), 8);
    }

    #[test]
    fn prunes_nothing_until_the_pool_is_full() {
        let mut pool = Pool::new(3, 3);
        offer_all(&mut pool, &[(2.0, 1), (1.0, 2)]);
        assert_eq!(pool.threshold(), Score::MIN);
        offer_all(&mut pool, &[(3.0, 3)]);
        assert_eq!(pool.threshold(), 1.0);
    }
}
