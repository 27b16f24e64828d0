//! 文本字段: the free-text fields of a request, each with its own length limits. All of them are tidied the
//! same way before they are measured: surrounding space trimmed, invisible control characters dropped, line
//! breaks unified. HTML is kept as typed; it is escaped where the text is shown, not here.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::FieldError;

/// Whether a field keeps line breaks.
#[derive(Clone, Copy)]
enum Lines {
    /// Names and short answers: line breaks, tabs and runs of spaces become one space, so a name pasted from
    /// a spreadsheet cell stays one line in every ledger.
    Single,
    /// Descriptions: paragraphs kept, runs of more than two blank lines cut to two.
    Multi,
}

/// Most blank lines kept in a row in multi-line text.
const MAX_BLANK_LINES: usize = 2;

/// The limits and messages of one kind of text field. Lengths count characters (一个汉字算一个字), not bytes:
/// the minimum counts characters other than spaces, the maximum counts all of them.
struct TextRule {
    /// The field's Chinese name, used in the messages.
    label: &'static str,
    lines: Lines,
    min: usize,
    max: usize,
    /// A message for too-short input that says more than "at least N characters".
    too_short: Option<&'static str>,
}

impl TextRule {
    fn apply(&self, input: &str) -> Result<String, FieldError> {
        let text = tidy(input, self.lines);
        if text.is_empty() {
            return Err(FieldError::new(format!("请填写{}", self.label)));
        }
        let visible = text.chars().filter(|c| !c.is_whitespace()).count();
        if visible < self.min {
            return Err(FieldError::new(match self.too_short {
                Some(message) => message.to_owned(),
                None => format!("{}至少{}个字", self.label, self.min),
            }));
        }
        let length = text.chars().count();
        if length > self.max {
            return Err(FieldError::new(format!(
                "{}不能超过{}个字（现为{}个字）",
                self.label, self.max, length
            )));
        }
        Ok(text)
    }
}

/// Characters that show nothing yet change what text means or how it sorts: control characters other than
/// line feed and tab, zero-width characters, and the bidirectional overrides that can disguise a name.
fn is_invisible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Tidies typed text before it is measured. `\r\n` and a lone `\r` (old Mac files) both become `\n`.
fn tidy(input: &str, lines: Lines) -> String {
    let unified = input.replace("\r\n", "\n").replace('\r', "\n");
    let visible: String = unified.chars().filter(|&c| !is_invisible(c)).collect();
    match lines {
        Lines::Single => visible.split_whitespace().collect::<Vec<_>>().join(" "),
        Lines::Multi => collapse_blank_lines(&visible),
    }
}

/// Drops trailing spaces of each line, keeps at most [`MAX_BLANK_LINES`] blank lines in a row and trims the
/// whole text.
fn collapse_blank_lines(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut blank_run = 0;
    for line in text.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > MAX_BLANK_LINES {
                continue;
            }
        } else {
            blank_run = 0;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

/// Declares a text newtype whose only constructor is `parse` under the given rule.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident => $rule:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            const RULE: TextRule = $rule;

            /// Tidies the input and checks its length; the error is a plain-Chinese message for the user.
            pub fn parse(input: &str) -> Result<Self, FieldError> {
                Self::RULE.apply(input).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;

            fn try_from(input: String) -> Result<Self, Self::Error> {
                $name::parse(&input)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let input = String::deserialize(deserializer)?;
                $name::parse(&input).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded_text! {
    /// 企业名称: the enterprise's name as on its business licence, 2–100 characters on one line.
    EnterpriseName => TextRule {
        label: "企业名称",
        lines: Lines::Single,
        min: 2,
        max: 100,
        too_short: Some("企业名称至少2个字，请填写营业执照上的全称"),
    }
}

bounded_text! {
    /// 联系人: the person at the enterprise to contact, 1–50 characters on one line.
    PersonName => TextRule {
        label: "联系人",
        lines: Lines::Single,
        min: 1,
        max: 50,
        too_short: None,
    }
}

bounded_text! {
    /// 诉求描述: what the enterprise asks for, 10–2000 characters, paragraphs kept. Notice 附件2 asks for a
    /// concise and accurate description (简明、准确), hence the minimum.
    Description => TextRule {
        label: "诉求描述",
        lines: Lines::Multi,
        min: 10,
        max: 2000,
        too_short: Some("请把问题描述得具体一些（至少10个字）"),
    }
}

bounded_text! {
    /// 属地镇街: the town, street or zone where the enterprise is located, 1–50 characters on one line.
    TownName => TextRule {
        label: "属地镇街",
        lines: Lines::Single,
        min: 1,
        max: 50,
        too_short: None,
    }
}

bounded_text! {
    /// 简短文本: a short optional answer such as the suggested department (建议解决部门) or a policy's slug,
    /// at most 100 characters on one line. An absent answer is `Option::None`, never an empty `ShortText`.
    ShortText => TextRule {
        label: "此项",
        lines: Lines::Single,
        min: 1,
        max: 100,
        too_short: None,
    }
}

bounded_text! {
    /// 备注: what the centre notes when it enters a request for an enterprise — for a collector's entry the
    /// reporting unit (提报单位) and the collector, for a call who rang and when. 1–500 characters, paragraphs kept.
    EntryNote => TextRule {
        label: "备注",
        lines: Lines::Multi,
        min: 1,
        max: 500,
        too_short: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_a_name_on_one_line() {
        // Arrange: pasted from a spreadsheet cell, with a full-width space and a stray line break.
        let pasted = "  滕州市\r\n某某机械　有限公司\t ";

        // Act
        let name = EnterpriseName::parse(pasted).expect("valid name");

        // Assert
        assert_eq!(name.as_str(), "滕州市 某某机械 有限公司");
    }

    #[test]
    fn drops_invisible_characters() {
        // Arrange: a NUL, a bell, a zero-width space and a right-to-left override.
        let typed = "张\u{0}三\u{7}\u{200B}\u{202E}";

        // Act
        let name = PersonName::parse(typed).expect("valid name");

        // Assert
        assert_eq!(name.as_str(), "张三");
    }

    #[test]
    fn keeps_paragraphs_but_not_endless_blank_lines() {
        // Arrange
        let typed =
            "厂区道路积水严重。\r\n\r\n雨季无法通行，\t影响出货。\n\n\n\n\n\n请协调排水。   \n\n";

        // Act
        let description = Description::parse(typed).expect("valid description");

        // Assert
        assert_eq!(
            description.as_str(),
            "厂区道路积水严重。\n\n雨季无法通行，\t影响出货。\n\n\n请协调排水。"
        );
    }

    #[test]
    fn asks_for_a_more_specific_description() {
        // Act
        let error = Description::parse("路不好走    请   修").unwrap_err();

        // Assert
        assert_eq!(error.to_string(), "请把问题描述得具体一些（至少10个字）");
    }

    #[test]
    fn counts_chinese_characters_not_bytes() {
        // Arrange: 100 Chinese characters are 300 bytes of UTF-8.
        let hundred = "企".repeat(100);
        let hundred_and_one = "企".repeat(101);

        // Act
        let accepted = EnterpriseName::parse(&hundred);
        let rejected = EnterpriseName::parse(&hundred_and_one);

        // Assert
        assert!(accepted.is_ok());
        assert_eq!(
            rejected.unwrap_err().to_string(),
            "企业名称不能超过100个字（现为101个字）"
        );
    }

    #[test]
    fn description_allows_exactly_2000_characters() {
        assert!(Description::parse(&"问".repeat(2000)).is_ok());
        assert_eq!(
            Description::parse(&"问".repeat(2001))
                .unwrap_err()
                .to_string(),
            "诉求描述不能超过2000个字（现为2001个字）"
        );
    }

    #[test]
    fn asks_for_required_fields_by_name() {
        assert_eq!(
            EnterpriseName::parse(" \n ").unwrap_err().to_string(),
            "请填写企业名称"
        );
        assert_eq!(
            PersonName::parse("").unwrap_err().to_string(),
            "请填写联系人"
        );
        assert_eq!(
            TownName::parse("\u{0}").unwrap_err().to_string(),
            "请填写属地镇街"
        );
        assert_eq!(
            Description::parse("").unwrap_err().to_string(),
            "请填写诉求描述"
        );
    }

    #[test]
    fn a_one_character_enterprise_name_is_too_short() {
        assert_eq!(
            EnterpriseName::parse("厂").unwrap_err().to_string(),
            "企业名称至少2个字，请填写营业执照上的全称"
        );
    }

    #[test]
    fn keeps_html_as_plain_text() {
        // Arrange
        let typed = "<script>alert('x')</script> 申请补贴";

        // Act
        let description = Description::parse(typed).expect("valid description");
        let short = ShortText::parse("<b>发改局</b>").expect("valid short text");

        // Assert
        assert_eq!(description.as_str(), typed);
        assert_eq!(short.as_str(), "<b>发改局</b>");
    }

    #[test]
    fn short_text_stops_at_100_characters() {
        assert!(ShortText::parse(&"部".repeat(100)).is_ok());
        assert_eq!(
            ShortText::parse(&"部".repeat(101)).unwrap_err().to_string(),
            "此项不能超过100个字（现为101个字）"
        );
    }

    #[test]
    fn person_and_town_names_stop_at_50_characters() {
        assert!(PersonName::parse(&"张".repeat(50)).is_ok());
        assert!(PersonName::parse(&"张".repeat(51)).is_err());
        assert!(TownName::parse(&"镇".repeat(50)).is_ok());
        assert_eq!(
            TownName::parse(&"镇".repeat(51)).unwrap_err().to_string(),
            "属地镇街不能超过50个字（现为51个字）"
        );
    }

    #[test]
    fn an_entry_note_keeps_its_lines_and_stops_at_500_characters() {
        // Arrange
        let typed = "提报单位：洪绪镇\n征询专员：李明（第12周台账）";

        // Act
        let note = EntryNote::parse(typed).expect("valid note");

        // Assert
        assert_eq!(note.as_str(), typed);
        assert!(EntryNote::parse(&"备".repeat(500)).is_ok());
        assert_eq!(
            EntryNote::parse(&"备".repeat(501)).unwrap_err().to_string(),
            "备注不能超过500个字（现为501个字）"
        );
    }
}
