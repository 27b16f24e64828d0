//! The material a synthetic corpus is made of (语料素材): the paragraphs, headings, FAQ pairs and front matter of
//! the real policies, read with the project's own policy loader, so that the synthetic corpus has the real
//! vocabulary and its real term frequencies.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::policy::{self, LoadError, Policy};

/// The policies folder gave nothing to build a corpus from.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("政策目录 {0} 中没有可用作语料素材的政策（需要正文段落、标题和常见问答）")]
    Empty(String),
}

/// One real policy's share of the material, by index into [`Source`]'s pools.
#[derive(Debug, Clone)]
pub(super) struct Base {
    pub title: String,
    pub doc_number: Option<String>,
    pub issuers: Vec<String>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub audience: Vec<String>,
    pub summary: Option<String>,
    pub department: Option<String>,
    pub contact: Option<String>,
    /// Position of the base's category in [`Source::categories`].
    pub category: usize,
}

/// A question/answer pair of a real policy.
#[derive(Debug, Clone)]
pub(super) struct FaqPair {
    pub q: String,
    pub a: String,
}

/// Everything the generator samples from.
#[derive(Debug, Clone)]
pub struct Source {
    pub(super) bases: Vec<Base>,
    /// Category names, and for each the paragraphs, headings and FAQ pairs of its policies (indexes into the
    /// global pools), so a synthetic policy mostly reads like its category.
    pub(super) categories: Vec<String>,
    pub(super) paragraphs: Vec<String>,
    pub(super) headings: Vec<String>,
    pub(super) faq: Vec<FaqPair>,
    pub(super) by_category: Vec<CategoryPools>,
    pub(super) issuers: Vec<String>,
    pub(super) tags: Vec<String>,
    pub(super) audiences: Vec<String>,
    /// Document kinds found at the end of the real titles (通知, 意见, 公告 …).
    pub(super) title_kinds: Vec<String>,
    /// Real document numbers, as patterns for new ones.
    pub(super) doc_numbers: Vec<String>,
}

/// Indexes into the global pools for one category.
#[derive(Debug, Clone, Default)]
pub(super) struct CategoryPools {
    pub paragraphs: Vec<usize>,
    pub headings: Vec<usize>,
    pub faq: Vec<usize>,
}

static POLICY_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[([^\]]*)\]\(@/[^)]*\)").expect("valid pattern"));
/// Numbering in front of a heading (一、 （三） 1. 第二章 …): the generator numbers headings itself.
static HEADING_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[.、．]|第[一二三四五六七八九十0-9]+[章节条部分]+)\s*",
    )
    .expect("valid pattern")
});
/// The bold lead of a list item (`**员工填报**：…`): a real sub-heading in all but form.
static BOLD_LEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\*\*([^*\n]{2,24})\*\*[：:]").expect("valid pattern"));

impl Source {
    /// Reads the real policies in `dir` with the policy loader.
    pub fn load(dir: &Path) -> Result<Source, SourceError> {
        let corpus = policy::load(dir)?;
        let source = Source::from_policies(&corpus.policies);
        if source.bases.is_empty() || source.paragraphs.is_empty() || source.headings.is_empty() {
            return Err(SourceError::Empty(dir.display().to_string()));
        }
        Ok(source)
    }

    fn from_policies(policies: &[Policy]) -> Source {
        let mut source = Source {
            bases: Vec::new(),
            categories: Vec::new(),
            paragraphs: Vec::new(),
            headings: Vec::new(),
            faq: Vec::new(),
            by_category: Vec::new(),
            issuers: Vec::new(),
            tags: Vec::new(),
            audiences: Vec::new(),
            title_kinds: Vec::new(),
            doc_numbers: Vec::new(),
        };
        let mut category_of: BTreeMap<String, usize> = BTreeMap::new();
        for policy in policies {
            let name = policy
                .categories
                .first()
                .cloned()
                .unwrap_or_else(|| "其他".to_owned());
            let next = category_of.len();
            let category = *category_of.entry(name.clone()).or_insert(next);
            if category == source.categories.len() {
                source.categories.push(name);
                source.by_category.push(CategoryPools::default());
            }
            source.add_body(category, &policy.body);
            for faq in &policy.faq {
                source.by_category[category].faq.push(source.faq.len());
                source.faq.push(FaqPair {
                    q: faq.q.clone(),
                    a: faq.a.clone(),
                });
            }
            source.issuers.extend(policy.issuers.iter().cloned());
            source.tags.extend(policy.tags.iter().cloned());
            source.audiences.extend(policy.audience.iter().cloned());
            if let Some(kind) = title_kind(&policy.title) {
                source.title_kinds.push(kind.to_owned());
            }
            source.doc_numbers.extend(policy.doc_number.iter().cloned());
            source.bases.push(Base {
                title: policy.title.clone(),
                doc_number: policy.doc_number.clone(),
                issuers: policy.issuers.clone(),
                categories: policy.categories.clone(),
                tags: policy.tags.clone(),
                audience: policy.audience.clone(),
                summary: policy.summary.clone(),
                department: policy.department.clone(),
                contact: policy.contact.clone(),
                category,
            });
        }
        for list in [
            &mut source.issuers,
            &mut source.tags,
            &mut source.audiences,
            &mut source.title_kinds,
        ] {
            list.sort();
            list.dedup();
        }
        if source.title_kinds.is_empty() {
            source.title_kinds.push("通知".to_owned());
        }
        source
    }

    /// Cuts a Markdown body into its blocks: headings go to the heading pool, everything else (paragraphs,
    /// lists, tables, quotes) to the paragraph pool; links to other policies become their text, so a
    /// synthetic policy never links to a policy that is not in its corpus.
    fn add_body(&mut self, category: usize, body: &str) {
        let mut block = String::new();
        let flush = |block: &mut String, source: &mut Source| {
            let text = POLICY_LINK.replace_all(block.trim(), "$1").into_owned();
            block.clear();
            if text.is_empty() || text.starts_with('<') || text.starts_with("[^") {
                return;
            }
            for lead in BOLD_LEAD.captures_iter(&text) {
                source.add_heading(category, &lead[1]);
            }
            source.by_category[category]
                .paragraphs
                .push(source.paragraphs.len());
            source.paragraphs.push(text);
        };
        for line in body.lines() {
            if let Some(heading) = line.trim_start().strip_prefix('#') {
                flush(&mut block, self);
                self.add_heading(category, heading.trim_start_matches('#'));
            } else if line.trim().is_empty() {
                flush(&mut block, self);
            } else {
                block.push_str(line);
                block.push('\n');
            }
        }
        flush(&mut block, self);
    }

    fn add_heading(&mut self, category: usize, raw: &str) {
        let text = raw.trim().trim_matches('*').trim();
        let text = HEADING_NUMBER.replace(text, "").trim().to_owned();
        if text.chars().count() < 2 || text.contains(['[', ']', '*', '`']) {
            return;
        }
        self.by_category[category]
            .headings
            .push(self.headings.len());
        self.headings.push(text);
    }
}

/// The kind of document a title names (`…的通知` → `通知`), when it has the usual `关于…的…` shape.
pub(super) fn title_kind(title: &str) -> Option<&str> {
    let (_, rest) = title.split_once("关于")?;
    let (_, kind) = rest.rsplit_once('的')?;
    let kind = kind.trim();
    (2..=6)
        .contains(&kind.chars().count())
        .then_some(kind)
        .filter(|kind| !kind.contains(['》', '《', '（', '）']))
}
