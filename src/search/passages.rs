//! Passages (段落) for semantic retrieval: every place of a policy that the lexical index has — the policy's
//! head, each section, each FAQ pair — with long sections cut into passages a few sentences long, so a vector
//! stands for one thing and the answer can quote it. A passage that starts an article (第十二条) says so.

use serde::{Deserialize, Serialize};

use super::schema::DocKind;
use crate::markdown::Rendered;
use crate::policy::Policy;

/// Longest passage, in characters: about two articles of a law or a paragraph of a notice. The e5 model reads
/// 512 tokens; shorter passages keep one vector to one rule.
pub const PASSAGE_CHARS: usize = 280;
/// A passage shorter than this is joined to the next one of its section (a heading alone means little).
const MIN_PASSAGE_CHARS: usize = 40;
/// Characters of the policy's opening text that go into its head passage.
const HEAD_CHARS: usize = 200;

/// One passage of the policy base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// Position of the policy in the index's metadata table.
    pub policy: u32,
    pub kind: DocKind,
    /// Anchor within the policy page (`""` for the policy itself), as the lexical index stores it.
    pub anchor: String,
    /// Heading path of the section or the FAQ question; empty for the policy's head.
    pub section: String,
    /// The article the passage starts with (`第十二条`), when it does.
    pub article: Option<String>,
    /// The text shown and quoted.
    pub text: String,
}

impl Passage {
    /// What the model reads: the text with the policy's title and the heading above it, so a passage that
    /// says 本条例 or 上述企业 is still about its policy and topic.
    pub fn embedding_text(&self, title: &str) -> String {
        match self.kind {
            DocKind::Policy => format!("{title}\n{}", self.text),
            DocKind::Faq => format!("{title}\n问：{}\n答：{}", self.section, self.text),
            DocKind::Section => format!("{title} {}\n{}", self.section, self.text),
        }
    }
}

/// The passages of one policy, in page order.
pub fn passages_of(number: u32, policy: &Policy, body: &Rendered) -> Vec<Passage> {
    let mut passages = Vec::new();
    let preamble = body
        .sections
        .iter()
        .find(|section| section.anchor.is_none())
        .map_or("", |section| section.text.as_str());
    let opening = [
        policy.doc_number.as_deref().unwrap_or_default(),
        policy.summary.as_deref().unwrap_or_default(),
        preamble,
    ]
    .iter()
    .filter(|part| !part.trim().is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join("\n");
    passages.extend(opening_passages(number, &opening, preamble));
    for section in &body.sections {
        let Some(anchor) = &section.anchor else {
            continue;
        };
        let path = section.path.join(" › ");
        let pieces = split(&section.text);
        if pieces.is_empty() {
            // A heading with nothing under it (the text is in its subsections) still names a topic.
            passages.push(Passage {
                policy: number,
                kind: DocKind::Section,
                anchor: anchor.clone(),
                section: path.clone(),
                article: None,
                text: section.path.last().cloned().unwrap_or_default(),
            });
        }
        for text in pieces {
            passages.push(Passage {
                policy: number,
                kind: DocKind::Section,
                anchor: anchor.clone(),
                section: path.clone(),
                article: article_of(&text),
                text,
            });
        }
    }
    for (position, faq) in policy.faq.iter().enumerate() {
        passages.push(Passage {
            policy: number,
            kind: DocKind::Faq,
            anchor: format!("faq-{}", position + 1),
            section: faq.q.clone(),
            article: None,
            text: faq.a.clone(),
        });
    }
    passages
}

/// The head passage (the policy's 文号, summary and first lines) and, for a policy published without headings
/// (a short regulation, a law whose articles are plain paragraphs), whose whole text is the `preamble` before
/// the first heading, that text cut into passages like a section's, so every article is found, quoted and named.
fn opening_passages(number: u32, opening: &str, preamble: &str) -> Vec<Passage> {
    let passage = |text: String| Passage {
        policy: number,
        kind: DocKind::Policy,
        anchor: String::new(),
        section: String::new(),
        article: article_of(&text),
        text,
    };
    let mut passages = vec![Passage {
        article: None,
        ..passage(opening.chars().take(HEAD_CHARS).collect())
    }];
    if opening.chars().count() > HEAD_CHARS {
        passages.extend(split(preamble).into_iter().map(passage));
    }
    passages
}

/// `第十二条` when `text` starts with an article number (after optional spaces and bold marks).
pub fn article_of(text: &str) -> Option<String> {
    let text = text.trim_start_matches([' ', '　', '*']);
    let rest = text.strip_prefix('第')?;
    let digits: String = rest
        .chars()
        .take_while(|c| "零〇一二三四五六七八九十百千0123456789".contains(*c))
        .collect();
    if digits.is_empty() {
        return None;
    }
    rest[digits.len()..]
        .starts_with('条')
        .then(|| format!("第{digits}条"))
}

/// A section's text cut into passages: paragraphs (an article of a law is one) are kept whole and packed
/// together up to [`PASSAGE_CHARS`]; a paragraph longer than that is cut at sentence ends.
fn split(text: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    for paragraph in text.lines().map(str::trim).filter(|p| !p.is_empty()) {
        if paragraph.chars().count() <= PASSAGE_CHARS {
            units.push(paragraph.to_owned());
            continue;
        }
        let mut current = String::new();
        for sentence in paragraph.split_inclusive(['。', '；', '！', '？']) {
            if !current.is_empty()
                && current.chars().count() + sentence.chars().count() > PASSAGE_CHARS
            {
                units.push(std::mem::take(&mut current));
            }
            current.push_str(sentence);
        }
        if !current.is_empty() {
            units.push(current);
        }
    }
    let mut passages: Vec<String> = Vec::new();
    let mut current = String::new();
    for unit in units {
        // An article starts its own passage unless the one before is still too short to stand alone.
        let starts_article = article_of(&unit).is_some();
        let length = current.chars().count();
        let full = length + unit.chars().count() > PASSAGE_CHARS;
        if !current.is_empty() && length >= MIN_PASSAGE_CHARS && (full || starts_article) {
            passages.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&unit);
    }
    if !current.is_empty() {
        passages.push(current);
    }
    passages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_are_recognised_in_chinese_and_arabic_numerals() {
        assert_eq!(
            article_of("第二十三条　企业应当……").as_deref(),
            Some("第二十三条")
        );
        assert_eq!(article_of("**第5条** 申请").as_deref(), Some("第5条"));
        assert_eq!(article_of("第三章 财税支持"), None);
        assert_eq!(article_of("第一批名单"), None);
    }

    #[test]
    fn each_article_is_its_own_passage_and_long_paragraphs_are_cut_at_sentence_ends() {
        let article = |n: &str| format!("第{n}条　{}", "企业依法享受税收优惠。".repeat(5));
        let text = format!("{}\n{}\n{}", article("一"), article("二"), article("三"));
        let passages = split(&text);
        assert_eq!(passages.len(), 3);
        assert!(passages[1].starts_with("第二条"));

        let long = "符合条件的小型微利企业减按百分之二十的税率缴纳企业所得税。".repeat(20);
        let passages = split(&long);
        assert!(passages.len() > 1);
        assert!(passages.iter().all(|p| p.chars().count() <= PASSAGE_CHARS));
        assert!(passages.iter().all(|p| p.ends_with('。')));
    }

    #[test]
    fn a_policy_without_headings_has_a_passage_for_each_article() {
        let preamble = (1..=6)
            .map(|n| {
                format!(
                    "第{n}条　{}",
                    "职工连续工作1年以上的，享受带薪年休假。".repeat(4)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let passages = opening_passages(7, &format!("国务院令第514号\n{preamble}"), &preamble);
        assert_eq!(passages.len(), 7);
        assert!(
            passages
                .iter()
                .all(|p| p.kind == DocKind::Policy && p.anchor.is_empty())
        );
        assert_eq!(passages[0].article, None);
        assert_eq!(passages[3].article.as_deref(), Some("第3条"));
        // A short opening is the head alone.
        assert_eq!(opening_passages(7, "国务院令第514号", "").len(), 1);
    }

    #[test]
    fn short_paragraphs_are_packed_together() {
        let text = "一、申请条件\n企业在本市注册。\n上年度营业收入不低于500万元。";
        assert_eq!(split(text).len(), 1);
    }
}
