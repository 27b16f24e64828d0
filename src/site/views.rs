//! View models: what the templates see of a policy, computed once per build.

use chrono::NaiveDate;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

use crate::markdown::Heading;
use crate::policy::{Faq, Policy, Validity};

/// Characters escaped in one path segment of a URL.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A taxonomy term (category, tag, issuer or audience) as a folder name: the term itself, with characters that
/// cannot appear in a path segment replaced.
pub fn term_slug(term: &str) -> String {
    term.chars()
        .map(|c| match c {
            '/' | '\\' | '?' | '#' | '%' | ':' | '*' | '"' | '<' | '>' | '|' => '-',
            c if c.is_whitespace() || c.is_control() => '-',
            c => c,
        })
        .collect()
}

/// The URL path segment for a term folder.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// 2022年1月14日
pub fn chinese_date(date: NaiveDate) -> String {
    date.format("%Y年%-m月%-d日").to_string()
}

/// A link to a taxonomy term.
#[derive(Debug, Clone, Serialize)]
pub struct TermLink {
    pub name: String,
    pub url: String,
}

/// A policy as shown in lists and cards.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyCard {
    pub slug: String,
    pub url: String,
    pub title: String,
    pub doc_number: Option<String>,
    pub issuer: String,
    pub issued: String,
    pub issued_cn: String,
    pub summary: Option<String>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub superseded: bool,
    pub upcoming: bool,
}

/// Everything the policy page shows beyond the card.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyDetail {
    #[serde(flatten)]
    pub card: PolicyCard,
    pub issuers: Vec<String>,
    pub effective_cn: Option<String>,
    pub expires_cn: Option<String>,
    pub audience: Vec<TermLink>,
    pub categories: Vec<TermLink>,
    pub tags: Vec<TermLink>,
    pub issuer_links: Vec<TermLink>,
    pub department: Option<String>,
    pub contact: Option<String>,
    pub source: Option<String>,
    /// True when `source` is a web address (shown as a link) rather than a name.
    pub source_is_url: bool,
    pub faq: Vec<Faq>,
    pub toc: Vec<Heading>,
}

/// Builds URLs below the site's base path.
#[derive(Debug, Clone)]
pub struct Urls {
    pub base_path: String,
}

impl Urls {
    pub fn policy(&self, slug: &str) -> String {
        format!("{}policies/{}/", self.base_path, encode_segment(slug))
    }

    pub fn policy_prefix(&self) -> String {
        format!("{}policies/", self.base_path)
    }

    pub fn term(&self, taxonomy: &str, term: &str) -> String {
        format!(
            "{}{}/{}/",
            self.base_path,
            taxonomy,
            encode_segment(&term_slug(term))
        )
    }

    pub fn terms(&self, taxonomy: &str) -> String {
        format!("{}{}/", self.base_path, taxonomy)
    }

    pub fn page(&self, path: &str) -> String {
        format!("{}{}", self.base_path, path)
    }

    fn term_links(&self, taxonomy: &str, terms: &[String]) -> Vec<TermLink> {
        terms
            .iter()
            .map(|term| TermLink {
                name: term.clone(),
                url: self.term(taxonomy, term),
            })
            .collect()
    }
}

pub fn card(policy: &Policy, urls: &Urls, today: NaiveDate) -> PolicyCard {
    let validity: Validity = policy.validity(today);
    PolicyCard {
        slug: policy.slug.clone(),
        url: urls.policy(&policy.slug),
        title: policy.title.clone(),
        doc_number: policy.doc_number.clone(),
        issuer: policy.issuers.join("、"),
        issued: policy.issued.to_string(),
        issued_cn: chinese_date(policy.issued),
        summary: policy.summary.clone(),
        status: validity.code(),
        status_label: validity.label(),
        superseded: policy.superseded_by.is_some(),
        upcoming: policy.is_upcoming(today),
    }
}

pub fn detail(policy: &Policy, toc: Vec<Heading>, urls: &Urls, today: NaiveDate) -> PolicyDetail {
    let source_is_url = policy
        .source
        .as_deref()
        .is_some_and(|source| source.starts_with("http://") || source.starts_with("https://"));
    PolicyDetail {
        card: card(policy, urls, today),
        issuers: policy.issuers.clone(),
        effective_cn: policy.effective.map(chinese_date),
        expires_cn: policy.expires.map(chinese_date),
        audience: urls.term_links("audiences", &policy.audience),
        categories: urls.term_links("categories", &policy.categories),
        tags: urls.term_links("tags", &policy.tags),
        issuer_links: urls.term_links("issuers", &policy.issuers),
        department: policy.department.clone(),
        contact: policy.contact.clone(),
        source: policy.source.clone(),
        source_is_url,
        faq: policy.faq.clone(),
        toc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_urls_are_percent_encoded_paths() {
        let urls = Urls {
            base_path: "/".to_owned(),
        };
        assert_eq!(
            urls.term("categories", "税费 优惠/减免"),
            "/categories/%E7%A8%8E%E8%B4%B9-%E4%BC%98%E6%83%A0-%E5%87%8F%E5%85%8D/"
        );
    }

    #[test]
    fn dates_read_as_chinese_users_write_them() {
        let date = NaiveDate::from_ymd_opt(2022, 1, 14).unwrap();
        assert_eq!(chinese_date(date), "2022年1月14日");
    }
}
