//! Front matter (元数据): TOML between `+++` lines or YAML between `---` lines, turned into one JSON-like tree
//! so both formats are read by the same field rules.

use serde_json::{Map, Value};

/// The two front matter formats, as Zola and Hugo users know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

/// A policy file cut into its front matter and its Markdown body.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub format: Format,
    pub front: &'a str,
    /// Line number (1-based) of the first line of `front`.
    pub front_line: usize,
    pub body: &'a str,
    /// Line number (1-based) of the first line of `body`.
    pub body_line: usize,
}

/// Why a file's front matter could not be read; `line` is 1-based within the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatterError {
    pub line: usize,
    pub message: String,
}

/// Cuts `content` into front matter and body.
pub fn split(content: &str) -> Result<Split<'_>, FrontMatterError> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let first_line_end = content.find('\n').unwrap_or(content.len());
    let (format, delimiter) = match content[..first_line_end].trim_end() {
        "+++" => (Format::Toml, "+++"),
        "---" => (Format::Yaml, "---"),
        _ => {
            return Err(FrontMatterError {
                line: 1,
                message: "文件开头缺少元数据：第一行应为“+++”（TOML）或“---”（YAML）".to_owned(),
            });
        }
    };
    let front_start = (first_line_end + 1).min(content.len());
    let mut offset = front_start;
    for (line, raw_line) in (2..).zip(content[front_start..].split_inclusive('\n')) {
        if raw_line.trim_end() == delimiter {
            let body_start = offset + raw_line.len();
            return Ok(Split {
                format,
                front: &content[front_start..offset],
                front_line: 2,
                body: &content[body_start..],
                body_line: line + 1,
            });
        }
        offset += raw_line.len();
    }
    Err(FrontMatterError {
        line: 1,
        message: format!("元数据没有结束：找不到与第一行配对的“{delimiter}”"),
    })
}

/// Parses the front matter into a map of fields.
pub fn parse(split: &Split<'_>) -> Result<Map<String, Value>, FrontMatterError> {
    let located = |offset_line: usize, message: String| FrontMatterError {
        line: split.front_line + offset_line,
        message,
    };
    let value = match split.format {
        Format::Toml => {
            let table: toml::Table = toml::from_str(split.front).map_err(|error| {
                let line = error
                    .span()
                    .map_or(0, |span| line_of_offset(split.front, span.start));
                located(line, format!("TOML 元数据格式错误：{}", error.message()))
            })?;
            toml_to_json(toml::Value::Table(table))
        }
        Format::Yaml => {
            if split.front.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                serde_yaml_ng::from_str::<Value>(split.front).map_err(|error| {
                    let line = error.location().map_or(0, |at| at.line().saturating_sub(1));
                    located(line, format!("YAML 元数据格式错误：{error}"))
                })?
            }
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(located(0, "元数据应是“字段 = 值”的表".to_owned())),
    }
}

/// The line (1-based, within the file) where `key` is set at the top level of the front matter, or the first
/// front matter line when it is not found.
pub fn line_of_key(split: &Split<'_>, key: &str) -> usize {
    split
        .front
        .lines()
        .position(|line| {
            let Some(rest) = line.strip_prefix(key) else {
                // `[[faq]]` opens an array of tables in TOML.
                return line.trim() == format!("[[{key}]]") || line.trim() == format!("[{key}]");
            };
            let rest = rest.trim_start();
            rest.starts_with('=') || rest.starts_with(':')
        })
        .map_or(split.front_line, |index| split.front_line + index)
}

/// 0-based line of a byte offset in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::String(text),
        toml::Value::Integer(number) => Value::from(number),
        toml::Value::Float(number) => Value::from(number),
        toml::Value::Boolean(flag) => Value::Bool(flag),
        // Dates are read as text so TOML bare dates and quoted strings follow one rule.
        toml::Value::Datetime(datetime) => Value::String(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(key, value)| (key, toml_to_json(value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_toml_front_matter_and_counts_lines() {
        let file = "+++\ntitle = \"甲\"\n+++\n\n## 正文\n";
        let split = split(file).unwrap();
        assert_eq!(split.format, Format::Toml);
        assert_eq!(split.front, "title = \"甲\"\n");
        assert_eq!(split.body, "\n## 正文\n");
        assert_eq!(split.body_line, 4);
    }

    #[test]
    fn accepts_yaml_with_crlf_and_bom() {
        let file = "\u{feff}---\r\ntitle: 乙\r\n---\r\n正文";
        let split = split(file).unwrap();
        assert_eq!(split.format, Format::Yaml);
        let fields = parse(&split).unwrap();
        assert_eq!(fields["title"], "乙");
    }

    #[test]
    fn unterminated_front_matter_is_an_error_on_line_one() {
        let error = split("+++\ntitle = \"甲\"\n").unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.message.contains("没有结束"));
    }

    #[test]
    fn toml_syntax_errors_point_at_their_line() {
        let file = "+++\ntitle = \"甲\"\nissued = = 2022\n+++\n";
        let error = parse(&split(file).unwrap()).unwrap_err();
        assert_eq!(error.line, 3);
    }

    #[test]
    fn toml_dates_become_text() {
        let file = "+++\nissued = 2022-01-14\n+++\n";
        let fields = parse(&split(file).unwrap()).unwrap();
        assert_eq!(fields["issued"], "2022-01-14");
    }

    #[test]
    fn finds_the_line_of_a_key() {
        let file = "+++\ntitle = \"甲\"\nissuer = \"乙\"\n[[faq]]\nq = \"?\"\n+++\n";
        let split = split(file).unwrap();
        assert_eq!(line_of_key(&split, "issuer"), 3);
        assert_eq!(line_of_key(&split, "faq"), 4);
        assert_eq!(line_of_key(&split, "missing"), 2);
    }
}
