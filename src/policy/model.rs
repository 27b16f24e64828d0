//! The policy model: fields read from front matter into types that cannot be wrong afterwards.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use super::diagnostic::Diagnostic;
use super::front_matter::{self, Split};

/// A policy is shown as 即将到期 this many days before its `expires` date.
pub const EXPIRING_WINDOW_DAYS: i64 = 30;

/// One policy (政策) of the policy base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// File name without `.md`; unique across the policy base; the policy's URL is `policies/<slug>/`.
    pub slug: String,
    /// The file it was read from, as found under the policies folder (for messages).
    pub path: PathBuf,
    pub title: String,
    /// 发文机关: one or more issuing bodies.
    pub issuers: Vec<String>,
    /// 成文日期.
    pub issued: NaiveDate,
    /// 文号.
    pub doc_number: Option<String>,
    /// 生效日期.
    pub effective: Option<NaiveDate>,
    /// 失效日期: the last day the policy applies.
    pub expires: Option<NaiveDate>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// 适用对象.
    pub audience: Vec<String>,
    pub summary: Option<String>,
    /// 咨询部门: the unit that answers questions about the policy.
    pub department: Option<String>,
    pub contact: Option<String>,
    /// Where the original text is published.
    pub source: Option<String>,
    /// Slug of the policy that replaces this one.
    pub superseded_by: Option<String>,
    pub faq: Vec<Faq>,
    /// Markdown body.
    pub body: String,
    /// Line of the file where the body starts (for messages about the body).
    pub body_line: usize,
}

/// One question/answer pair (常见问题) of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Faq {
    pub q: String,
    pub a: String,
}

/// 有效性: whether a policy applies on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// 现行有效
    Valid,
    /// 即将到期: within [`EXPIRING_WINDOW_DAYS`] of `expires`.
    Expiring,
    /// 已失效: past `expires`.
    Expired,
}

impl Validity {
    pub fn code(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Expiring => "expiring",
            Validity::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Validity::Valid => "现行有效",
            Validity::Expiring => "即将到期",
            Validity::Expired => "已失效",
        }
    }
}

impl Policy {
    /// Validity on `today` (a Shanghai calendar day).
    pub fn validity(&self, today: NaiveDate) -> Validity {
        Policy::validity_for(self.expires, today)
    }

    /// The validity rule itself: past `expires` is 已失效, within [`EXPIRING_WINDOW_DAYS`] of it 即将到期.
    pub fn validity_for(expires: Option<NaiveDate>, today: NaiveDate) -> Validity {
        match expires {
            Some(expires) if today > expires => Validity::Expired,
            Some(expires) if (expires - today).num_days() <= EXPIRING_WINDOW_DAYS => {
                Validity::Expiring
            }
            _ => Validity::Valid,
        }
    }

    /// True while the policy has been issued but does not apply yet (尚未生效).
    pub fn is_upcoming(&self, today: NaiveDate) -> bool {
        self.effective.is_some_and(|effective| today < effective)
    }
}

/// Document numbers (文号) written with different brackets or widths name the same document:
/// 〔2022〕, [2022], (2022), （2022）, 【2022】 and ［２０２２］ all become `[2022]`.
pub fn normalise_doc_number(doc_number: &str) -> String {
    doc_number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '〔' | '（' | '(' | '【' | '［' | '[' | '﹝' => '[',
            '〕' | '）' | ')' | '】' | '］' | ']' | '﹞' => ']',
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Parses a date written `YYYY-MM-DD` (also `YYYY/MM/DD` and `YYYY年M月D日`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .filter(|date| date.format("%Y").to_string().len() == 4)
}

const KNOWN_FIELDS: [&str; 17] = [
    "title",
    "issuer",
    "issued",
    "doc_number",
    "effective",
    "expires",
    "categories",
    "tags",
    "audience",
    "summary",
    "department",
    "contact",
    "source",
    "superseded_by",
    "faq",
    "slug",
    "draft",
];

/// Reads one policy file. `folder_categories` come from `_category.toml` files of the folders it is in.
/// Returns the policy (when its required fields are usable) and every problem found in the file alone.
pub fn parse_policy(
    path: &Path,
    slug: &str,
    content: &str,
    folder_categories: &[String],
) -> (Option<Policy>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        || slug.is_empty()
    {
        problems.push(Diagnostic::error(
            path,
            1,
            format!("文件名“{slug}”不能用作网址：只能包含小写英文字母、数字、“-”和“_”"),
        ));
    }
    let split = match front_matter::split(content) {
        Ok(split) => split,
        Err(error) => {
            problems.push(Diagnostic::error(path, error.line, error.message));
            return (None, problems);
        }
    };
    let mut fields = match front_matter::parse(&split) {
        Ok(fields) => fields,
        Err(error) => {
            problems.push(Diagnostic::error(path, error.line, error.message));
            return (None, problems);
        }
    };

    let mut reader = FieldReader {
        path,
        split: &split,
        fields: &mut fields,
        problems: &mut problems,
    };
    let has_issuer = reader.fields.contains_key("issuer");
    let has_issued = reader.fields.contains_key("issued");
    let title = reader.required_text("title", "政策标题");
    let issuers = reader.list("issuer");
    let issued = reader.date("issued");
    let doc_number = reader.text("doc_number");
    let effective = reader.date("effective");
    let expires = reader.date("expires");
    let mut categories = reader.list("categories");
    let tags = reader.list("tags");
    let audience = reader.list("audience");
    let summary = reader.text("summary");
    let department = reader.text("department");
    let contact = reader.text("contact");
    let source = reader.text("source");
    let superseded_by = reader.text("superseded_by");
    let faq = reader.faq();

    if !has_issuer {
        reader.error("issuer", "缺少必填字段 issuer（发文机关）");
    }
    if !has_issued {
        reader.error("issued", "缺少必填字段 issued（成文日期，格式 YYYY-MM-DD）");
    }
    if let (Some(issued), Some(expires)) = (issued, expires)
        && expires < issued
    {
        reader.error(
            "expires",
            format!("失效日期 {expires} 早于成文日期 {issued}"),
        );
    }
    if let (Some(effective), Some(expires)) = (effective, expires)
        && expires < effective
    {
        reader.error(
            "expires",
            format!("失效日期 {expires} 早于生效日期 {effective}"),
        );
    }
    if superseded_by.as_deref() == Some(slug) {
        reader.error("superseded_by", "superseded_by 不能指向政策自身");
    }
    let unknown: Vec<String> = reader
        .fields
        .keys()
        .filter(|key| !KNOWN_FIELDS.contains(&key.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        let line = front_matter::line_of_key(&split, &key);
        problems.push(Diagnostic::warning(
            path,
            line,
            format!("未知字段“{key}”，已忽略"),
        ));
    }
    if split.body.trim().is_empty() && summary.is_none() {
        problems.push(Diagnostic::warning(
            path,
            split.body_line.saturating_sub(1).max(1),
            "政策正文和摘要（summary）都是空的",
        ));
    }

    for category in folder_categories {
        if !categories.contains(category) {
            categories.push(category.clone());
        }
    }
    let policy = match (title, issued) {
        (Some(title), Some(issued)) if !issuers.is_empty() => Some(Policy {
            slug: slug.to_owned(),
            path: path.to_owned(),
            title,
            issuers,
            issued,
            doc_number,
            effective,
            expires,
            categories,
            tags,
            audience,
            summary,
            department,
            contact,
            source,
            superseded_by,
            faq,
            body: split.body.to_owned(),
            body_line: split.body_line,
        }),
        _ => None,
    };
    (policy, problems)
}

/// Takes fields out of the front matter one by one, recording a located problem for each bad one.
struct FieldReader<'a> {
    path: &'a Path,
    split: &'a Split<'a>,
    fields: &'a mut Map<String, Value>,
    problems: &'a mut Vec<Diagnostic>,
}

impl FieldReader<'_> {
    fn error(&mut self, key: &str, message: impl Into<String>) {
        let line = front_matter::line_of_key(self.split, key);
        self.problems
            .push(Diagnostic::error(self.path, line, message));
    }

    fn text(&mut self, key: &str) -> Option<String> {
        match self.fields.remove(key)? {
            Value::String(text) if text.trim().is_empty() => None,
            Value::String(text) => Some(text.trim().to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => {
                self.error(key, format!("字段 {key} 应是一段文字"));
                None
            }
        }
    }

    fn required_text(&mut self, key: &str, meaning: &str) -> Option<String> {
        let reported = self.problems.len();
        let text = self.text(key);
        if text.is_none() && self.problems.len() == reported {
            self.error(key, format!("缺少必填字段 {key}（{meaning}）"));
        }
        text
    }

    /// A list of strings; a single string is a list of one.
    fn list(&mut self, key: &str) -> Vec<String> {
        let Some(value) = self.fields.remove(key) else {
            return Vec::new();
        };
        let items = match value {
            Value::String(text) => vec![Value::String(text)],
            Value::Array(items) => items,
            _ => {
                self.error(key, format!("字段 {key} 应是文字或文字列表"));
                return Vec::new();
            }
        };
        let mut list = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(text) if !text.trim().is_empty() => {
                    let text = text.trim().to_owned();
                    if !list.contains(&text) {
                        list.push(text);
                    }
                }
                Value::String(_) => {}
                _ => self.error(key, format!("字段 {key} 的每一项都应是文字")),
            }
        }
        if list.is_empty() && key == "issuer" {
            self.error(key, "字段 issuer（发文机关）不能为空");
        }
        list
    }

    fn date(&mut self, key: &str) -> Option<NaiveDate> {
        let text = match self.fields.remove(key)? {
            Value::String(text) => text,
            other => other.to_string(),
        };
        let date = parse_date(&text);
        if date.is_none() {
            self.error(
                key,
                format!("字段 {key} 的日期“{text}”无效，应为 YYYY-MM-DD 格式的真实日期"),
            );
        }
        date
    }

    fn faq(&mut self) -> Vec<Faq> {
        let Some(value) = self.fields.remove("faq") else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.error("faq", "faq 应是问答列表，每项包含 q（问题）和 a（回答）");
            return Vec::new();
        };
        let mut faq = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let number = index + 1;
            let text_of = |name: &str| {
                item.get(name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|text| !text.is_empty())
                    .map(str::to_owned)
            };
            match (text_of("q"), text_of("a")) {
                (Some(q), Some(a)) => faq.push(Faq { q, a }),
                (None, _) => self.error("faq", format!("第 {number} 个问答缺少问题 q")),
                (_, None) => self.error("faq", format!("第 {number} 个问答缺少回答 a")),
            }
        }
        faq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"+++
title = "关于进一步实施小微企业所得税优惠政策的公告"
issuer = ["财政部", "国家税务总局"]
issued = 2023-08-02
doc_number = "财政部 税务总局公告2023年第12号"
expires = 2027-12-31
tags = "企业所得税"

[[faq]]
q = "要申请吗？"
a = "不需要。"
+++

## 政策内容
"#;

    fn date(text: &str) -> NaiveDate {
        parse_date(text).unwrap()
    }

    #[test]
    fn reads_every_field_of_a_good_policy() {
        let (policy, problems) =
            parse_policy(Path::new("tax/a.md"), "a", GOOD, &["税费优惠".to_owned()]);
        assert_eq!(problems, Vec::new());
        let policy = policy.unwrap();
        assert_eq!(policy.issuers, ["财政部", "国家税务总局"]);
        assert_eq!(policy.issued, date("2023-08-02"));
        assert_eq!(policy.tags, ["企业所得税"]);
        assert_eq!(policy.categories, ["税费优惠"]);
        assert_eq!(policy.faq[0].a, "不需要。");
        assert_eq!(policy.body_line, 13);
    }

    #[test]
    fn missing_required_fields_are_errors_in_chinese() {
        let (policy, problems) =
            parse_policy(Path::new("x.md"), "x", "+++\nsummary = \"s\"\n+++\n", &[]);
        assert!(policy.is_none());
        let messages: Vec<_> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("title（政策标题）")));
        assert!(messages.iter().any(|m| m.contains("issuer（发文机关）")));
        assert!(messages.iter().any(|m| m.contains("issued（成文日期")));
    }

    #[test]
    fn bad_and_inverted_dates_are_located() {
        let file = "+++\ntitle = \"t\"\nissuer = \"i\"\nissued = \"2022-02-30\"\nexpires = 2021-01-01\n+++\n正文";
        let (_, problems) = parse_policy(Path::new("x.md"), "x", file, &[]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 4);
        assert!(problems[0].message.contains("2022-02-30"));

        let file = "+++\ntitle = \"t\"\nissuer = \"i\"\nissued = 2022-02-03\nexpires = 2021-01-01\n+++\n正文";
        let (_, problems) = parse_policy(Path::new("x.md"), "x", file, &[]);
        assert_eq!(problems[0].line, 5);
        assert!(problems[0].message.contains("早于成文日期"));
    }

    #[test]
    fn unknown_fields_are_warnings_only() {
        let file =
            "+++\ntitle = \"t\"\nissuer = \"i\"\nissued = 2022-02-03\ncolour = \"red\"\n+++\n正文";
        let (policy, problems) = parse_policy(Path::new("x.md"), "x", file, &[]);
        assert!(policy.is_some());
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].is_error());
        assert_eq!(problems[0].line, 5);
    }

    #[test]
    fn validity_follows_the_expiry_date() {
        let (policy, _) = parse_policy(Path::new("a.md"), "a", GOOD, &[]);
        let policy = policy.unwrap();
        assert_eq!(policy.validity(date("2027-11-01")), Validity::Valid);
        assert_eq!(policy.validity(date("2027-12-01")), Validity::Expiring);
        assert_eq!(policy.validity(date("2027-12-31")), Validity::Expiring);
        assert_eq!(policy.validity(date("2028-01-01")), Validity::Expired);
    }

    #[test]
    fn document_number_variants_are_one_number() {
        let canonical = normalise_doc_number("滕政办发〔2022〕1号");
        assert_eq!(canonical, normalise_doc_number("滕政办发[2022]1号"));
        assert_eq!(canonical, normalise_doc_number("滕政办发（２０２２）1号"));
        assert_ne!(canonical, normalise_doc_number("滕政办发〔2022〕2号"));
    }

    #[test]
    fn dates_accept_common_chinese_forms() {
        assert_eq!(parse_date("2022年1月14日"), Some(date("2022-01-14")));
        assert_eq!(parse_date("2022/01/14"), Some(date("2022-01-14")));
        assert_eq!(parse_date("14/01/2022"), None);
    }
}
