//! Markdown → HTML for policy bodies: one pure function, [`render`], plus [`policy_links`] for checks.
//!
//! Raw HTML in a policy file is shown as text, never passed through: a policy file cannot inject script.
//! Link targets are limited to web, mail and phone addresses, relative paths and `@/slug` policy links.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd, html};

/// A rendered policy body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    /// Headings in document order, for the table of contents.
    pub headings: Vec<Heading>,
    /// The body cut at its headings, as plain text, for search.
    pub sections: Vec<Section>,
}

/// The plain text under one heading (up to the next heading of any level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Anchor of the heading; `None` for text before the first heading.
    pub anchor: Option<String>,
    /// Heading texts from the top level down to this heading, e.g. `["二、工作机制", "（三）限时办结"]`.
    pub path: Vec<String>,
    pub text: String,
}

/// One heading of a body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Heading {
    /// HTML level after shifting, so the body's top level is `h2` (the page title is the `h1`).
    pub level: u8,
    /// Anchor id, unique within the page.
    pub id: String,
    pub text: String,
}

/// A `@/slug` link found in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLink {
    pub slug: String,
    /// 0-based line within the Markdown text.
    pub line: usize,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_TASKLISTS
}

/// Renders `markdown`; `@/slug` links become `{policy_prefix}slug/`.
pub fn render(markdown: &str, policy_prefix: &str) -> Rendered {
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    let shift = heading_shift(&events);
    let mut output: Vec<Event<'_>> = Vec::with_capacity(events.len() + 8);
    let mut headings = Vec::new();
    let mut used_ids = HashSet::new();
    let mut sections = vec![Section {
        anchor: None,
        path: Vec::new(),
        text: String::new(),
    }];
    let mut path: Vec<(u8, String)> = Vec::new();
    let mut index = 0;
    while index < events.len() {
        collect_text(&events[index], &mut sections);
        match &events[index] {
            Event::Start(Tag::Heading { level, id, .. }) => {
                let end = events[index..]
                    .iter()
                    .position(|event| matches!(event, Event::End(TagEnd::Heading(_))))
                    .map_or(events.len(), |offset| index + offset);
                let inner = &events[index + 1..end];
                let text = plain_text(inner);
                let base = id
                    .as_deref()
                    .map(anchor_id)
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| anchor_id(&text));
                let id = unique_id(base, &mut used_ids);
                let level = (heading_number(*level) + shift).min(6);
                output.push(Event::Html(CowStr::from(format!("<h{level} id=\"{id}\">"))));
                output.extend(
                    inner
                        .iter()
                        .cloned()
                        .map(|event| make_safe(event, policy_prefix)),
                );
                output.push(Event::Html(CowStr::from(format!("</h{level}>\n"))));
                path.retain(|(parent, _)| *parent < level);
                path.push((level, text.clone()));
                sections.push(Section {
                    anchor: Some(id.clone()),
                    path: path.iter().map(|(_, text)| text.clone()).collect(),
                    text: String::new(),
                });
                headings.push(Heading { level, id, text });
                index = end + 1;
                continue;
            }
            Event::Start(Tag::Table(_)) => {
                output.push(Event::Html(CowStr::Borrowed("<div class=\"table-wrap\">")));
                output.push(events[index].clone());
            }
            Event::End(TagEnd::Table) => {
                output.push(events[index].clone());
                output.push(Event::Html(CowStr::Borrowed("</div>\n")));
            }
            event => output.push(make_safe(event.clone(), policy_prefix)),
        }
        index += 1;
    }
    let mut html_out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut html_out, output.into_iter());
    for section in &mut sections {
        section.text = section.text.trim().to_owned();
    }
    sections.retain(|section| section.anchor.is_some() || !section.text.is_empty());
    Rendered {
        html: html_out,
        headings,
        sections,
    }
}

/// Appends the plain text of `event` to the last section.
fn collect_text(event: &Event<'_>, sections: &mut [Section]) {
    let Some(section) = sections.last_mut() else {
        return;
    };
    match event {
        Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
            section.text.push_str(text)
        }
        Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableRow | TagEnd::TableHead) => {
            section.text.push('\n')
        }
        Event::End(TagEnd::TableCell) => section.text.push_str(" | "),
        Event::HardBreak => section.text.push('\n'),
        _ => {}
    }
}

/// Every `@/slug` link target in `markdown`, with its line.
pub fn policy_links(markdown: &str) -> Vec<PolicyLink> {
    Parser::new_ext(markdown, options())
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                let slug = policy_slug(&dest_url)?;
                Some(PolicyLink {
                    slug: slug.to_owned(),
                    line: crate::policy::front_matter::line_of_offset(markdown, range.start),
                })
            }
            _ => None,
        })
        .collect()
}

/// The slug named by a `@/slug`, `@/slug.md` or `@/slug#anchor` link.
fn policy_slug(dest: &str) -> Option<&str> {
    let rest = dest.strip_prefix("@/")?;
    let path = rest.split('#').next().unwrap_or(rest);
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".md").unwrap_or(path);
    // A link may name the folder too (`@/tax/slug.md`); the slug is the file name.
    Some(path.rsplit('/').next().unwrap_or(path))
}

/// Raw HTML becomes text; link and image targets outside the allowed schemes become `#`.
fn make_safe<'a>(event: Event<'a>, policy_prefix: &str) -> Event<'a> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type: if link_type == LinkType::Email {
                LinkType::Email
            } else {
                LinkType::Inline
            },
            dest_url: safe_destination(dest_url, policy_prefix),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_destination(dest_url, policy_prefix),
            title,
            id,
        }),
        other => other,
    }
}

fn safe_destination<'a>(dest: CowStr<'a>, policy_prefix: &str) -> CowStr<'a> {
    if let Some(slug) = policy_slug(&dest) {
        let anchor = dest.split_once('#').map(|(_, anchor)| anchor);
        return CowStr::from(match anchor {
            Some(anchor) => format!("{policy_prefix}{slug}/#{anchor}"),
            None => format!("{policy_prefix}{slug}/"),
        });
    }
    let lower = dest.trim().to_ascii_lowercase();
    let scheme = lower
        .find(':')
        .filter(|&colon| !lower[..colon].contains(['/', '?', '#']))
        .map(|colon| &lower[..colon]);
    match scheme {
        None | Some("http" | "https" | "mailto" | "tel") => dest,
        Some(_) => CowStr::Borrowed("#"),
    }
}

fn heading_number(level: HeadingLevel) -> u8 {
    level as u8
}

/// How many levels to shift headings so the body's top heading is an `h2`.
fn heading_shift(events: &[Event<'_>]) -> u8 {
    let top = events
        .iter()
        .filter_map(|event| match event {
            Event::Start(Tag::Heading { level, .. }) => Some(heading_number(*level)),
            _ => None,
        })
        .min()
        .unwrap_or(2);
    2u8.saturating_sub(top)
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        if let Event::Text(part) | Event::Code(part) | Event::Html(part) | Event::InlineHtml(part) =
            event
        {
            text.push_str(part);
        }
    }
    text.trim().to_owned()
}

/// An anchor id from heading text: letters and digits (Chinese included) kept, spaces become `-`.
fn anchor_id(text: &str) -> String {
    let mut id = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            id.extend(c.to_lowercase());
        } else if (c.is_whitespace() || c == '-') && !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_owned()
}

fn unique_id(base: String, used: &mut HashSet<String>) -> String {
    let base = if base.is_empty() {
        "section".to_owned()
    } else {
        base
    };
    let mut candidate = base.clone();
    let mut counter = 1;
    while !used.insert(candidate.clone()) {
        counter += 1;
        candidate = format!("{base}-{counter}");
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_unique_chinese_ids_and_start_at_h2() {
        let rendered = render("# 政策内容\n\n## 申请 条件\n\n# 政策内容\n", "/policies/");
        let ids: Vec<_> = rendered.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["政策内容", "申请-条件", "政策内容-2"]);
        assert!(rendered.html.contains("<h2 id=\"政策内容\">政策内容</h2>"));
        assert!(rendered.html.contains("<h3 id=\"申请-条件\">"));
    }

    #[test]
    fn sections_carry_their_heading_path_and_plain_text() {
        let rendered = render(
            "前言。\n\n## 二、工作机制\n\n总述。\n\n### （三）限时办结\n\n5个工作日内\n办结。\n\n| 甲 | 乙 |\n|---|---|\n| 1 | 2 |\n\n## 三、保障\n\n保障。",
            "/",
        );
        let summary: Vec<_> = rendered
            .sections
            .iter()
            .map(|s| (s.path.join(" > "), s.text.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("".to_owned(), "前言。"),
                ("二、工作机制".to_owned(), "总述。"),
                (
                    "二、工作机制 > （三）限时办结".to_owned(),
                    "5个工作日内办结。\n甲 | 乙 | \n1 | 2 |"
                ),
                ("三、保障".to_owned(), "保障。"),
            ]
        );
        assert_eq!(rendered.sections[2].anchor.as_deref(), Some("三限时办结"));
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let rendered = render(
            "<script>alert(1)</script>\n\n段落<img src=x onerror=alert(1)>\n",
            "/",
        );
        assert!(!rendered.html.contains("<script"));
        assert!(!rendered.html.contains("<img"));
        assert!(rendered.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn dangerous_link_targets_are_neutralised() {
        let rendered = render(
            "[点我](javascript:alert(1)) [数据](data:text/html,x) [网页](https://www.gov.cn/)",
            "/",
        );
        assert!(!rendered.html.contains("javascript:"));
        assert!(!rendered.html.contains("data:"));
        assert!(rendered.html.contains("href=\"https://www.gov.cn/\""));
    }

    #[test]
    fn policy_links_point_at_policy_pages() {
        let rendered = render("见[另一政策](@/other#申请条件)。", "/zcsc/policies/");
        assert!(
            rendered
                .html
                .contains("href=\"/zcsc/policies/other/#%E7%94%B3%E8%AF%B7%E6%9D%A1%E4%BB%B6\"")
                || rendered
                    .html
                    .contains("href=\"/zcsc/policies/other/#申请条件\""),
            "{}",
            rendered.html
        );
        let links = policy_links("第一行\n\n见[甲](@/tax/alpha.md)和[乙](@/beta)");
        let slugs: Vec<_> = links.iter().map(|l| (l.slug.as_str(), l.line)).collect();
        assert_eq!(slugs, [("alpha", 2), ("beta", 2)]);
    }

    #[test]
    fn tables_scroll_on_small_screens() {
        let rendered = render("| 年度 | 比例 |\n|---|---|\n| 2023 | 100% |\n", "/");
        assert!(rendered.html.contains("<div class=\"table-wrap\"><table>"));
        assert!(rendered.html.contains("<td>100%</td>"));
    }
}
