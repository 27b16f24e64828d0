//! Document numbers (文号) in questions: "国办发（2022）13号", "人社部发[2022]31号", "2023年第19号公告",
//! "国务院令第728号". Enterprises who type a number want that document, whatever brackets they used.

use std::sync::LazyLock;

use regex::Regex;

use super::analysis::normalise;

/// `[2022]13号`, `[2022]第13号` (brackets already normalised to `[` `]`).
static BRACKETED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(\d{4})\]\s*第?\s*0*(\d{1,4})\s*号").expect("valid pattern"));
/// `2023年第12号`, `2023年1号`.
static YEAR_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{4})\s*年\s*第?\s*0*(\d{1,4})\s*号").expect("valid pattern"));
/// `国务院令第728号`, `总局令第78号`.
static ORDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"令\s*第?\s*0*(\d{1,4})\s*号").expect("valid pattern"));

/// The parts of a document number that identify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocNumber {
    /// Issuer part before the year or number (`国办发`, `国务院令`), without spaces.
    pub prefix: String,
    pub year: Option<u32>,
    pub serial: u32,
}

impl DocNumber {
    /// Reads a policy's document number; `None` when it has no recognisable year/serial.
    pub fn parse(doc_number: &str) -> Option<DocNumber> {
        question_references(doc_number).into_iter().next()
    }
}

/// Every document-number reference in normalised text.
fn references(text: &str) -> Vec<DocNumber> {
    let mut found = Vec::new();
    let prefix_before = |start: usize| -> String {
        let before: String = text[..start]
            .chars()
            .rev()
            .take_while(|c| {
                !c.is_whitespace() && !c.is_ascii_digit() && !matches!(c, '，' | '、' | '。' | ',')
            })
            .collect();
        before.chars().rev().collect()
    };
    for captures in BRACKETED
        .captures_iter(text)
        .chain(YEAR_NUMBER.captures_iter(text))
    {
        let whole = captures.get(0).expect("match");
        let (Ok(year), Ok(serial)) = (captures[1].parse(), captures[2].parse()) else {
            continue;
        };
        found.push(DocNumber {
            prefix: prefix_before(whole.start()),
            year: Some(year),
            serial,
        });
    }
    for captures in ORDER.captures_iter(text) {
        let whole = captures.get(0).expect("match");
        let Ok(serial) = captures[1].parse() else {
            continue;
        };
        // Keep 令 in the prefix: 国务院令 and 总局令 are the issuer.
        found.push(DocNumber {
            prefix: format!("{}令", prefix_before(whole.start())),
            year: None,
            serial,
        });
    }
    found
}

/// How surely a question names a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocNumberMatch {
    /// Same year and serial, issuer not named or not recognisable.
    Weak,
    /// Same year and serial, and the question names the issuer part too.
    Strong,
}

/// Whether `question` (raw) names the document `number`.
pub fn match_question(
    question_refs: &[DocNumber],
    question: &str,
    number: &DocNumber,
) -> Option<DocNumberMatch> {
    let stripped: String = normalise(question)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    question_refs
        .iter()
        .filter(|reference| reference.year == number.year && reference.serial == number.serial)
        .map(|reference| {
            let named = !number.prefix.is_empty()
                && (stripped.contains(&number.prefix)
                    || (!reference.prefix.is_empty()
                        && number.prefix.ends_with(&reference.prefix)));
            if named {
                DocNumberMatch::Strong
            } else {
                DocNumberMatch::Weak
            }
        })
        .max()
}

/// The document-number references of a question.
pub fn question_references(question: &str) -> Vec<DocNumber> {
    let stripped: String = normalise(question)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    references(&stripped)
}

/// Four-digit years (2000–2099) a question mentions, e.g. "2022年缓缴社保的政策".
pub fn question_years(question: &str) -> Vec<i32> {
    static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+").expect("valid pattern"));
    let normalised = normalise(question);
    let mut years: Vec<i32> = DIGITS
        .find_iter(&normalised)
        .filter(|run| run.as_str().len() == 4 && run.as_str().starts_with("20"))
        .filter_map(|run| run.as_str().parse().ok())
        .collect();
    years.sort_unstable();
    years.dedup();
    years
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> DocNumber {
        DocNumber::parse(text).unwrap_or_else(|| panic!("{text} not parsed"))
    }

    #[test]
    fn reads_the_usual_shapes_of_document_numbers() {
        assert_eq!(
            number("国办发〔2022〕13号"),
            DocNumber {
                prefix: "国办发".into(),
                year: Some(2022),
                serial: 13
            }
        );
        assert_eq!(number("财政部 税务总局公告2023年第12号").serial, 12);
        assert_eq!(
            number("财政部 税务总局公告2023年第12号").prefix,
            "财政部税务总局公告"
        );
        assert_eq!(
            number("国务院令第728号"),
            DocNumber {
                prefix: "国务院令".into(),
                year: None,
                serial: 728
            }
        );
        assert_eq!(number("国科发政字〔2000〕063号").serial, 63);
    }

    #[test]
    fn questions_match_whatever_brackets_they_use() {
        let policy = number("国办发〔2022〕13号");
        for question in [
            "国办发（2022）13号",
            "国办发[2022]13号",
            "国办发(2022)13号 讲了什么",
        ] {
            let refs = question_references(question);
            assert_eq!(
                match_question(&refs, question, &policy),
                Some(DocNumberMatch::Strong),
                "{question}"
            );
        }
        let other_issuer = "国发(2022)13号";
        let refs = question_references(other_issuer);
        assert_eq!(
            match_question(&refs, other_issuer, &policy),
            Some(DocNumberMatch::Weak)
        );
        let other_year = "国办发[2019]13号";
        let refs = question_references(other_year);
        assert_eq!(match_question(&refs, other_year, &policy), None);
        let announcement = number("财政部 税务总局公告2023年第19号");
        let question = "2023年第19号公告 小规模纳税人";
        assert_eq!(
            match_question(&question_references(question), question, &announcement),
            Some(DocNumberMatch::Weak)
        );
    }

    #[test]
    fn finds_the_years_a_question_mentions() {
        assert_eq!(question_years("2022年缓缴社保的政策"), [2022]);
        assert_eq!(question_years("2021到2025年的资金"), [2021, 2025]);
        assert!(question_years("300万元以下").is_empty());
    }
}
