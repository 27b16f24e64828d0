//! A synthetic policy corpus (合成语料) for benchmarks, made of the real policies: each synthetic policy is
//! composed of paragraphs, headings and FAQ pairs sampled from the policies in `policies/` (mostly of one
//! category, like a real document), with titles, issuers and 文号 drawn from the real front matter with
//! variations. So its vocabulary and term frequencies are the real ones, which a fixed word list's are not (a
//! small vocabulary makes every term common, and search figures measured on it do not transfer).
//!
//! 2–8 KB per policy, numbered headings two levels deep (about 20 sections, as in real notices), 2–4 FAQ pairs.
//! The same source and seed always give the same corpus.

mod source;

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate};
use regex::Regex;

use source::{Base, title_kind};
pub use source::{Source, SourceError};

/// Size bounds of one policy file, in bytes.
const MIN_BYTES: usize = 2 * 1024;
const MAX_BYTES: usize = 8 * 1024;
/// A paragraph longer than this is cut to a few of its sentences (real sub-sections are short).
const LONG_PARAGRAPH: usize = 300;
const SHORT_PARAGRAPH: usize = 180;
/// Share (in percent) of material taken from the policy's own category.
const SAME_CATEGORY: usize = 70;

/// splitmix64: a small, fast, reproducible generator.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One synthetic policy being composed.
struct Composer<'a> {
    source: &'a Source,
    base: &'a Base,
    generator: Generator,
}

impl<'a> Composer<'a> {
    /// An index into a global pool: from the base's category most of the time, from anywhere otherwise.
    fn sample(&mut self, own: &[usize], all: usize) -> usize {
        if !own.is_empty() && self.generator.chance(SAME_CATEGORY) {
            *self.generator.pick(own)
        } else {
            self.generator.below(all)
        }
    }

    fn heading(&mut self) -> &'a str {
        let source = self.source;
        let pools = &source.by_category[self.base.category];
        let index = self.sample(&pools.headings, source.headings.len());
        &source.headings[index]
    }

    /// A real paragraph, list or table; long ones cut to a few consecutive sentences or their first lines.
    fn paragraph(&mut self) -> String {
        let source = self.source;
        let pools = &source.by_category[self.base.category];
        let index = self.sample(&pools.paragraphs, source.paragraphs.len());
        let text = source.paragraphs[index].as_str();
        if text.len() <= LONG_PARAGRAPH {
            return text.to_owned();
        }
        if text.contains('\n') {
            // A list or table: its first lines (a table keeps its header, separator and a row at least).
            let minimum = if text.starts_with('|') { 3 } else { 1 };
            let mut out = String::new();
            for (number, line) in text.lines().enumerate() {
                if number >= minimum && out.len() + line.len() > LONG_PARAGRAPH {
                    break;
                }
                out.push_str(line);
                out.push('\n');
            }
            return out.trim_end().to_owned();
        }
        let sentences: Vec<&str> = text.split_inclusive(['。', '；']).collect();
        let start = self.generator.below(sentences.len());
        let mut out = String::new();
        for sentence in &sentences[start..] {
            if !out.is_empty() && out.len() + sentence.len() > SHORT_PARAGRAPH {
                break;
            }
            out.push_str(sentence);
        }
        out.trim().to_owned()
    }

    fn title(&mut self, issuer: &str, year: i32) -> String {
        let kinds = &self.source.title_kinds;
        let title = self.base.title.as_str();
        let kind = if self.generator.chance(50) {
            title_kind(title).unwrap_or("通知").to_owned()
        } else {
            self.generator.pick(kinds).clone()
        };
        if let Some((before, rest)) = title.split_once("关于")
            && let Some((subject, _)) = rest.rsplit_once('的')
        {
            let prefix = if before.is_empty() || self.generator.chance(50) {
                issuer
            } else {
                before
            };
            const MODIFIERS: [&str; 6] = ["", "", "进一步", "加快", "全面", "持续"];
            let modifier = *self.generator.pick(&MODIFIERS);
            let modifier = if MODIFIERS
                .iter()
                .any(|known| !known.is_empty() && subject.starts_with(known))
            {
                ""
            } else {
                modifier
            };
            format!("{prefix}关于{modifier}{subject}的{kind}")
        } else if title.contains('《') {
            format!("{issuer}关于{year}年贯彻落实{title}的{kind}")
        } else {
            format!("{issuer}关于贯彻落实《{title}》的{kind}")
        }
    }

    /// A 文号 in the shape of a real one, with this policy's year and a serial unique in the corpus.
    fn doc_number(&mut self, year: i32, serial: usize) -> String {
        let base = self.base;
        let pattern = match &base.doc_number {
            Some(own) if self.generator.chance(50) => own.clone(),
            _ => self.generator.pick(&self.source.doc_numbers).clone(),
        };
        vary_doc_number(&pattern, year, serial)
    }

    fn list(&mut self, own: &[String], pool: &[String], most: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let wanted = 1 + self.generator.below(most);
        for _ in 0..wanted * 2 {
            if out.len() >= wanted {
                break;
            }
            let item = if !own.is_empty() && self.generator.chance(75) {
                self.generator.pick(own)
            } else if pool.is_empty() {
                continue;
            } else {
                self.generator.pick(pool)
            };
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        out
    }

    fn front_matter(&mut self, number: usize) -> String {
        let source = self.source;
        let base = self.base;
        let mut issuers = if self.generator.chance(60) {
            base.issuers.clone()
        } else {
            self.list(&[], &source.issuers, 2)
        };
        if issuers.is_empty() {
            issuers.push("滕州市人民政府".to_owned());
        }
        let year = 2016 + self.generator.below(11) as i32;
        let month = 1 + self.generator.below(if year == 2026 { 11 } else { 12 }) as u32;
        let day = 1 + self.generator.below(28) as u32;
        let issued = NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default();
        let title = self.title(&issuers[0], year);
        let doc_number = self.doc_number(year, number + 1);
        let mut text = String::with_capacity(MAX_BYTES);
        let _ = write!(
            text,
            "+++\ntitle = {}\nissuer = {}\nissued = {issued}\ndoc_number = {}\n",
            quoted(&title),
            quoted_list(&issuers),
            quoted(&doc_number),
        );
        let effective = self.generator.chance(30).then(|| {
            issued
                .checked_add_days(Days::new(self.generator.below(90) as u64))
                .unwrap_or(issued)
        });
        if let Some(effective) = effective {
            let _ = writeln!(text, "effective = {effective}");
        }
        if self.generator.chance(25) {
            let start = effective.unwrap_or(issued);
            let years = 1 + self.generator.below(5) as i32;
            let expires = NaiveDate::from_ymd_opt(start.year() + years, 12, 31).unwrap_or(start);
            let _ = writeln!(text, "expires = {expires}");
        }
        let categories = base.categories.clone();
        let tags = self.list(&base.tags, &source.tags, 4);
        let audience = self.list(&base.audience, &source.audiences, 3);
        let summary = match &base.summary {
            Some(summary) if self.generator.chance(60) => summary.clone(),
            _ => first_sentence(&self.paragraph()),
        };
        let department = match &base.department {
            Some(department) if self.generator.chance(70) => department.clone(),
            _ => self.generator.pick(&source.issuers).clone(),
        };
        let contact = match &base.contact {
            Some(contact) if self.generator.chance(50) => contact.clone(),
            _ => format!("0632-55{:05}", number % 100_000),
        };
        let _ = write!(
            text,
            "categories = {}\ntags = {}\naudience = {}\nsummary = {}\ndepartment = {}\ncontact = {}\n",
            quoted_list(&categories),
            quoted_list(&tags),
            quoted_list(&audience),
            quoted(&summary),
            quoted(&department),
            quoted(&contact),
        );
        let pairs = 2 + self.generator.below(3);
        let mut chosen: Vec<usize> = Vec::new();
        for _ in 0..pairs * 3 {
            if chosen.len() >= pairs {
                break;
            }
            let own = &source.by_category[base.category].faq;
            let index = self.sample(own, source.faq.len());
            if !chosen.contains(&index) {
                chosen.push(index);
            }
        }
        for index in chosen {
            let pair = &source.faq[index];
            let _ = write!(
                text,
                "\n[[faq]]\nq = {}\na = {}\n",
                quoted(&pair.q),
                quoted(&pair.a)
            );
        }
        text.push_str("+++\n\n");
        text
    }

    /// The body: an optional preamble, then numbered sections (一、…) of numbered sub-sections （一）… with a
    /// paragraph each, until the file reaches its target size.
    fn body(&mut self, text: &mut String, target: usize) {
        if self.generator.chance(50) {
            let preamble = self.paragraph();
            if text.len() + preamble.len() + 2 < MAX_BYTES {
                text.push_str(&preamble);
                text.push_str("\n\n");
            }
        }
        let mut top = 0;
        'sections: while text.len() < target {
            top += 1;
            let heading = format!("## {}、{}\n\n", chinese_number(top), self.heading());
            if text.len() + heading.len() + SHORT_PARAGRAPH > MAX_BYTES {
                break;
            }
            text.push_str(&heading);
            if self.generator.chance(30) {
                self.push_block(text, String::new());
            }
            for sub in 1..=2 + self.generator.below(4) {
                if sub > 1 && text.len() >= target {
                    break 'sections;
                }
                let heading = format!("### （{}）{}\n\n", chinese_number(sub), self.heading());
                if !self.push_block(text, heading) {
                    break 'sections;
                }
            }
        }
    }

    /// Appends `heading` and a paragraph when they fit in the size limit (a few tries for a shorter one).
    fn push_block(&mut self, text: &mut String, heading: String) -> bool {
        for _ in 0..4 {
            let paragraph = self.paragraph();
            if text.len() + heading.len() + paragraph.len() + 2 <= MAX_BYTES {
                text.push_str(&heading);
                text.push_str(&paragraph);
                text.push_str("\n\n");
                return true;
            }
        }
        false
    }
}

impl Source {
    /// One synthetic policy file's text; `number` makes its 文号 unique in the corpus.
    pub fn policy_text(&self, number: usize, seed: u64) -> String {
        let mut generator = Generator(seed ^ (number as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let base = generator.pick(&self.bases);
        let target = MIN_BYTES + generator.below(MAX_BYTES - MIN_BYTES);
        let mut composer = Composer {
            source: self,
            base,
            generator,
        };
        let mut text = composer.front_matter(number);
        composer.body(&mut text, target);
        while text.len() < MIN_BYTES && composer.push_block(&mut text, String::new()) {}
        text
    }
}

/// A real 文号 with its year and serial replaced: `国发〔2023〕13号` → `国发〔2021〕4711号`,
/// `财政部 税务总局公告2023年第7号` → `…公告2019年第4711号`, `国务院令第722号` → `国务院令第4711号`.
fn vary_doc_number(pattern: &str, year: i32, serial: usize) -> String {
    static BRACKETED: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"^(.*?)[〔\[（(【]\d{4}[〕\]）)】]0*\d+号$").expect("valid pattern")
    });
    static ANNOUNCEMENT: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"^(.*?)\d{4}年第\d+号$").expect("valid pattern"));
    static ORDER: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"^(.*?)第[^第]+号$").expect("valid pattern"));
    if let Some(captures) = BRACKETED.captures(pattern) {
        format!("{}〔{year}〕{serial}号", &captures[1])
    } else if let Some(captures) = ANNOUNCEMENT.captures(pattern) {
        format!("{}{year}年第{serial}号", &captures[1])
    } else if let Some(captures) = ORDER.captures(pattern) {
        format!("{}第{serial}号", &captures[1])
    } else {
        format!("滕政发〔{year}〕{serial}号")
    }
}

fn first_sentence(paragraph: &str) -> String {
    let line = paragraph
        .lines()
        .find(|line| !line.starts_with('|'))
        .unwrap_or_default();
    let line = line.trim_start_matches(['-', '*', ' ', '>']);
    let end = line
        .find('。')
        .map_or(line.len(), |end| end + '。'.len_utf8());
    line[..end].replace("**", "")
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| quoted(item)).collect();
    format!("[{}]", items.join(", "))
}

/// 一 … 九十九, for heading numbers.
fn chinese_number(number: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match number {
        0 => "零".to_owned(),
        1..=9 => DIGITS[number].to_owned(),
        10..=19 => format!("十{}", DIGITS[number % 10]),
        _ => format!("{}十{}", DIGITS[(number / 10) % 10], DIGITS[number % 10]),
    }
}

/// Writes `count` synthetic policies made from `source` into `dir` (emptied first), 500 to a folder.
pub fn write_corpus(source: &Source, dir: &Path, count: usize, seed: u64) -> io::Result<usize> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    for number in 0..count {
        let folder = dir.join(format!("batch-{:03}", number / 500));
        if number % 500 == 0 {
            fs::create_dir_all(&folder)?;
        }
        fs::write(
            folder.join(format!("policy-{number:06}.md")),
            source.policy_text(number, seed),
        )?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse_policy;

    fn real_policies() -> Source {
        Source::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap()
    }

    #[test]
    fn synthetic_policies_are_valid_real_text_of_realistic_size_and_shape() {
        let source = real_policies();
        let mut sections = 0;
        for number in 0..200 {
            let text = source.policy_text(number, 7);
            assert!(
                (MIN_BYTES..=MAX_BYTES).contains(&text.len()),
                "{}",
                text.len()
            );
            let (policy, problems) =
                parse_policy(Path::new("p.md"), &format!("p-{number}"), &text, &[]);
            assert!(problems.is_empty(), "{problems:?}\n{text}");
            let policy = policy.unwrap();
            assert!((2..=4).contains(&policy.faq.len()));
            assert!(
                !policy.body.contains("@/"),
                "links only to policies of the corpus"
            );
            // Every paragraph of the body is (a part of) a real one.
            let paragraph = policy
                .body
                .split("\n\n")
                .map(str::trim)
                .find(|block| !block.is_empty() && !block.starts_with('#'))
                .unwrap();
            assert!(
                source.paragraphs.iter().any(|real| real.contains(paragraph)
                    || paragraph.lines().all(|line| real.contains(line))),
                "{paragraph}"
            );
            sections += policy.body.matches("\n#").count();
        }
        let per_policy = sections as f64 / 200.0;
        assert!((12.0..=30.0).contains(&per_policy), "{per_policy} sections");
        assert_eq!(source.policy_text(3, 7), source.policy_text(3, 7));
        assert_ne!(source.policy_text(3, 7), source.policy_text(3, 8));
    }

    #[test]
    fn document_numbers_keep_their_shape_and_are_unique() {
        assert_eq!(
            vary_doc_number("国发〔2023〕13号", 2021, 4711),
            "国发〔2021〕4711号"
        );
        assert_eq!(
            vary_doc_number("财政部 税务总局公告2023年第7号", 2019, 12),
            "财政部 税务总局公告2019年第12号"
        );
        assert_eq!(
            vary_doc_number("国务院令第722号", 2019, 12),
            "国务院令第12号"
        );
        assert_eq!(
            vary_doc_number("中华人民共和国主席令第六十一号", 2019, 12),
            "中华人民共和国主席令第12号"
        );
        let dir = tempfile::tempdir().unwrap();
        write_corpus(&real_policies(), dir.path(), 600, 1).unwrap();
        let corpus = crate::policy::load(dir.path()).unwrap();
        assert_eq!(corpus.policies.len(), 600);
        assert!(!corpus.has_errors(), "{:?}", corpus.diagnostics.first());
    }
}
