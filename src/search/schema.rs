//! The index schema: three kinds of documents (whole policies, sections, FAQ pairs) in one index, plus a side
//! table of policy metadata (`policies.json`) that results are decorated from.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};

use super::analysis::{BIGRAMS, WORDS};
use crate::policy::{Policy, Validity};

/// Name of the metadata side table inside the index folder.
pub const META_FILE: &str = "policies.json";

/// What a document of the index stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// 整篇政策
    Policy = 0,
    /// 章节
    Section = 1,
    /// 常见问答
    Faq = 2,
}

impl DocKind {
    pub fn from_code(code: u64) -> DocKind {
        match code {
            1 => DocKind::Section,
            2 => DocKind::Faq,
            _ => DocKind::Policy,
        }
    }
}

/// The fields of the index.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// [`DocKind`] as a number (fast field).
    pub kind: Field,
    /// Position of the policy in the metadata table (fast field).
    pub policy: Field,
    /// Title (policy), heading (section) or question (FAQ): words, stored.
    pub heading: Field,
    /// Title, 文号, issuers, categories, tags and audience: words.
    pub meta: Field,
    /// Summary and text (policy), section text, or answer (FAQ): words, stored.
    pub body: Field,
    pub heading_bigrams: Field,
    pub body_bigrams: Field,
    /// Heading path of a section (`二、工作机制 › （三）限时办结`), stored.
    pub section: Field,
    /// Anchor of the section or FAQ pair within the policy page, stored.
    pub anchor: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let words = |stored: bool| {
            let options = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(WORDS)
                    // No phrase queries: frequencies are all BM25 needs, and positions cost index time and space.
                    .set_index_option(IndexRecordOption::WithFreqs),
            );
            if stored {
                options.set_stored()
            } else {
                options
            }
        };
        let bigrams = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(BIGRAMS)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            kind: builder.add_u64_field("kind", FAST | INDEXED),
            policy: builder.add_u64_field("policy", FAST | INDEXED),
            heading: builder.add_text_field("heading", words(true)),
            meta: builder.add_text_field("meta", words(false)),
            body: builder.add_text_field("body", words(true)),
            heading_bigrams: builder.add_text_field("heading_bigrams", bigrams.clone()),
            body_bigrams: builder.add_text_field("body_bigrams", bigrams),
            section: builder.add_text_field("section", STORED),
            anchor: builder.add_text_field("anchor", STORED),
        };
        (builder.build(), fields)
    }
}

/// What results show of a policy, kept beside the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyMeta {
    pub slug: String,
    pub title: String,
    pub doc_number: Option<String>,
    pub issuer: String,
    pub issued: NaiveDate,
    pub effective: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    pub superseded_by: Option<String>,
}

impl PolicyMeta {
    pub fn of(policy: &Policy) -> PolicyMeta {
        PolicyMeta {
            slug: policy.slug.clone(),
            title: policy.title.clone(),
            doc_number: policy.doc_number.clone(),
            issuer: policy.issuers.join("、"),
            issued: policy.issued,
            effective: policy.effective,
            expires: policy.expires,
            superseded_by: policy.superseded_by.clone(),
        }
    }

    /// Validity on `today`, by the same rule as the site's badges.
    pub fn validity(&self, today: NaiveDate) -> Validity {
        Policy::validity_for(self.expires, today)
    }

    /// Whether the policy applied during `year` (from its effective or issue date to its expiry).
    pub fn covers_year(&self, year: i32) -> bool {
        use chrono::Datelike;
        let start = self.effective.unwrap_or(self.issued).year();
        let end = self.expires.map_or(i32::MAX, |expires| expires.year());
        (start..=end).contains(&year)
    }

    /// A policy that no longer applies (已失效 or replaced) must never give a current answer.
    pub fn is_current(&self, today: NaiveDate) -> bool {
        self.superseded_by.is_none() && self.validity(today) != Validity::Expired
    }
}
