//! The lexical gate for instant answers (即时答复), used when the semantic model is not available: the
//! question's key words must be covered by a FAQ pair or section of one of the two best-ranked policies.

use tantivy::TantivyDocument;

use super::engine::{
    Answer, Assessment, QueryContext, SearchEngine, SearchServiceError, best_passage, coverage,
};
use super::lexical::policy_url;
use super::schema::DocKind;

impl SearchEngine {
    /// The lexical gate: the best FAQ pair or section of the two best policies by key-word coverage, heading
    /// coverage and lead — for an engine without the semantic model.
    pub(super) fn assess_lexical(
        &self,
        question: &str,
        context: &QueryContext,
    ) -> Result<Assessment, SearchServiceError> {
        let searcher = self.reader.searcher();
        let analysed = self.analyse(question);
        let candidates = self.candidates(&searcher, &analysed, context.today, 3)?;
        let ranked = self.rank_policies(&searcher, &candidates, &analysed)?;
        let alternatives = ranked
            .iter()
            .take(3)
            .map(|candidate| self.hit(&searcher, candidate, &analysed, context))
            .collect::<Result<Vec<_>, _>>()?;
        // Only the two best policies may answer; when the best one no longer applies, the question is about an
        // old policy and a person should answer it.
        let answering: Vec<usize> = ranked.iter().take(2).map(|c| c.policy).collect();
        let best_is_current = ranked
            .first()
            .is_some_and(|c| self.metas[c.policy].is_current(context.today));
        let mut best: Option<(f64, Answer)> = None;
        if !analysed.key_terms.is_empty() && best_is_current {
            let weights = self.key_weights(&searcher, &analysed);
            let top_score = candidates.first().map_or(0.0, |c| c.score);
            for (rank, candidate) in candidates
                .iter()
                .filter(|c| c.kind != DocKind::Policy && answering.contains(&c.policy))
                .take(8)
                .enumerate()
            {
                let meta = &self.metas[candidate.policy];
                if !meta.is_current(context.today) {
                    continue; // Notice §二(二)2 answers from the policy base, never from a policy no longer in force.
                }
                let runner_up = candidates
                    .iter()
                    .find(|other| other.policy != candidate.policy)
                    .map_or(0.0, |other| other.score);
                let document: TantivyDocument = searcher.doc(candidate.address)?;
                let heading = self.stored_text(&document, self.fields.heading);
                let body = self.stored_text(&document, self.fields.body);
                let signals = Signals {
                    heading_coverage: coverage(&analysed.key_terms, &weights, &heading),
                    coverage: coverage(
                        &analysed.key_terms,
                        &weights,
                        &format!("{heading}\n{body}"),
                    ),
                    relative_score: if top_score > 0.0 {
                        f64::from(candidate.score / top_score)
                    } else {
                        0.0
                    },
                    margin: if candidate.score > 0.0 {
                        f64::from(((candidate.score - runner_up) / candidate.score).max(0.0))
                    } else {
                        0.0
                    },
                    rank,
                };
                let confidence = signals.confidence(candidate.kind);
                if best.as_ref().is_some_and(|(known, _)| *known >= confidence) {
                    continue;
                }
                let section = self.stored_text(&document, self.fields.section);
                let anchor = self.stored_text(&document, self.fields.anchor);
                let text = match candidate.kind {
                    DocKind::Faq => body,
                    _ => best_passage(&body, &analysed.key_terms),
                };
                best = Some((
                    confidence,
                    Answer {
                        text,
                        slug: meta.slug.clone(),
                        title: meta.title.clone(),
                        doc_number: meta.doc_number.clone(),
                        url: policy_url(&context.base_path, &meta.slug, &anchor),
                        section: Some(section),
                        article: None,
                    },
                ));
            }
        }
        Ok(Assessment {
            confidence: best.as_ref().map_or(0.0, |(confidence, _)| *confidence),
            best: best.map(|(_, answer)| answer),
            alternatives,
            signals: None,
        })
    }
}

/// The signals an instant answer is judged on.
#[derive(Debug, Clone, Copy)]
struct Signals {
    /// Weighted share of the question's key terms found in the FAQ question or section heading.
    heading_coverage: f64,
    /// Weighted share found anywhere in the passage (heading and text).
    coverage: f64,
    /// Score relative to the best candidate of the query.
    relative_score: f64,
    /// Lead over the best candidate from another policy.
    margin: f64,
    /// Place among answer candidates.
    rank: usize,
}

impl Signals {
    /// Confidence in [0, 1]. A FAQ pair written for the question is the strongest source; a section must cover
    /// the question in its text. Weights and the threshold are calibrated on the evaluation set.
    fn confidence(&self, kind: DocKind) -> f64 {
        let lead = 0.6 * self.relative_score + 0.4 * self.margin.min(0.5) * 2.0;
        let raw = match kind {
            DocKind::Faq => 0.45 * self.heading_coverage + 0.35 * self.coverage + 0.20 * lead,
            _ => 0.20 * self.heading_coverage + 0.55 * self.coverage + 0.25 * lead,
        };
        let rank_penalty = 1.0 - 0.05 * self.rank as f64;
        (raw * rank_penalty).clamp(0.0, 1.0)
    }
}
