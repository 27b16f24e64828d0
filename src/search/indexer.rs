//! Writing the search index (检索索引) from the loaded policies: one document per policy, per section and per
//! FAQ pair, built in a staging folder and swapped in whole like the site.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tantivy::{Index, IndexWriter, TantivyDocument, doc};

use super::SearchError;
use super::analysis::{Analyzer, BIGRAMS, BigramTokenizer, WORDS, WordTokenizer};
use super::schema::{DocKind, Fields, META_FILE, PolicyMeta};
use super::vectors::BuiltVectors;
use crate::markdown::Rendered;
use crate::policy::Policy;
use crate::publish::Staging;

/// Memory for tantivy's indexing threads (split between them).
const WRITER_MEMORY: usize = 256 * 1024 * 1024;

/// What an index build did.
#[derive(Debug, Clone)]
pub struct IndexReport {
    pub documents: u64,
    pub elapsed: std::time::Duration,
}

/// Registers the analysers an index of this schema needs; call on every opened or created index.
pub fn register_tokenizers(index: &Index, analyzer: &Arc<Analyzer>) {
    index
        .tokenizers()
        .register(WORDS, WordTokenizer::new(Arc::clone(analyzer)));
    index
        .tokenizers()
        .register(BIGRAMS, BigramTokenizer::default());
}

/// Builds the index of `policies` (with their rendered bodies) and publishes it at `dir`.
pub fn build_index(
    dir: &Path,
    analyzer: &Arc<Analyzer>,
    policies: &[Policy],
    rendered: &[Rendered],
    vectors: Option<&BuiltVectors>,
) -> Result<IndexReport, SearchError> {
    let started = Instant::now();
    let staging = Staging::new(dir).map_err(|source| SearchError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let (schema, fields) = Fields::schema();
    let index = Index::create_in_dir(staging.path(), schema)?;
    register_tokenizers(&index, analyzer);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let mut writer: IndexWriter = index.writer_with_num_threads(threads, WRITER_MEMORY)?;
    let mut documents = 0;
    for (number, (policy, body)) in policies.iter().zip(rendered).enumerate() {
        for document in documents_of(&fields, number as u64, policy, body) {
            writer.add_document(document)?;
            documents += 1;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let metas: Vec<PolicyMeta> = policies.iter().map(PolicyMeta::of).collect();
    let meta_json =
        serde_json::to_vec(&metas).map_err(|error| SearchError::Corrupt(error.to_string()))?;
    std::fs::write(staging.path().join(META_FILE), meta_json).map_err(|source| {
        SearchError::Io {
            path: staging.path().join(META_FILE),
            source,
        }
    })?;
    if let Some(vectors) = vectors {
        vectors.write(staging.path())?;
    }
    staging.publish().map_err(|source| SearchError::Io {
        path: dir.to_owned(),
        source,
    })?;
    Ok(IndexReport {
        documents,
        elapsed: started.elapsed(),
    })
}

/// The documents of one policy: the whole policy (title, metadata, summary and text before the first heading),
/// each section, and each FAQ pair.
fn documents_of(
    fields: &Fields,
    number: u64,
    policy: &Policy,
    body: &Rendered,
) -> Vec<TantivyDocument> {
    let meta = [
        policy.title.as_str(),
        policy.doc_number.as_deref().unwrap_or_default(),
        &policy.issuers.join(" "),
        &policy.categories.join(" "),
        &policy.tags.join(" "),
        &policy.audience.join(" "),
    ]
    .join("\n");
    let preamble = body
        .sections
        .iter()
        .find(|section| section.anchor.is_none())
        .map_or("", |section| section.text.as_str());
    let summary = format!(
        "{}\n{preamble}",
        policy.summary.as_deref().unwrap_or_default()
    );
    let mut documents = Vec::with_capacity(1 + body.sections.len() + policy.faq.len());
    documents.push(doc!(
        fields.kind => DocKind::Policy as u64,
        fields.policy => number,
        fields.heading => policy.title.as_str(),
        fields.meta => meta.as_str(),
        fields.body => summary.as_str(),
        fields.heading_bigrams => policy.title.as_str(),
        fields.body_bigrams => format!("{meta}\n{summary}"),
    ));
    for section in &body.sections {
        let Some(anchor) = &section.anchor else {
            continue;
        };
        let heading = section.path.last().map_or("", String::as_str);
        let path = section.path.join(" › ");
        documents.push(doc!(
            fields.kind => DocKind::Section as u64,
            fields.policy => number,
            fields.heading => heading,
            fields.body => section.text.as_str(),
            fields.heading_bigrams => path.as_str(),
            fields.body_bigrams => section.text.as_str(),
            fields.section => path.as_str(),
            fields.anchor => anchor.as_str(),
        ));
    }
    for (position, faq) in policy.faq.iter().enumerate() {
        // The policy page gives FAQ pair N the id `faq-N`.
        let anchor = format!("faq-{}", position + 1);
        documents.push(doc!(
            fields.kind => DocKind::Faq as u64,
            fields.policy => number,
            fields.heading => faq.q.as_str(),
            fields.body => faq.a.as_str(),
            fields.heading_bigrams => faq.q.as_str(),
            fields.body_bigrams => faq.a.as_str(),
            fields.section => faq.q.as_str(),
            fields.anchor => anchor,
        ));
    }
    documents
}
