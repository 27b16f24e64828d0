//! Snippets (摘要): the window of a passage that holds the most query terms, HTML-escaped, with the terms
//! wrapped in `<mark>`.

use super::analysis::normalise;
use crate::site::escape_html;

/// Characters of passage shown in a snippet.
pub const SNIPPET_CHARS: usize = 90;

/// A snippet of `text` around the terms (normalised); `text` itself is shown in its original form.
pub fn snippet(text: &str, terms: &[String], width: usize) -> String {
    let original: Vec<char> = text.chars().collect();
    let normalised: Vec<char> = normalise(text).chars().collect();
    if original.is_empty() {
        return String::new();
    }
    // Positions (in characters) where each term matches; longer terms first so they win overlaps.
    let mut sorted: Vec<Vec<char>> = terms
        .iter()
        .map(|term| term.chars().collect::<Vec<char>>())
        .filter(|term| !term.is_empty())
        .collect();
    sorted.sort_by_key(|term| std::cmp::Reverse(term.len()));
    sorted.dedup();
    let mut marked = vec![false; normalised.len()];
    let mut starts: Vec<(usize, usize)> = Vec::new(); // (position, term index)
    for (term_index, term) in sorted.iter().enumerate() {
        let mut position = 0;
        while position + term.len() <= normalised.len() {
            if normalised[position..position + term.len()] == term[..]
                && !marked[position..position + term.len()].iter().any(|&m| m)
            {
                marked[position..position + term.len()].fill(true);
                starts.push((position, term_index));
                position += term.len();
            } else {
                position += 1;
            }
        }
    }
    starts.sort_unstable();
    // The window start that covers the most distinct terms.
    let mut best = (0usize, 0usize);
    for (index, &(start, _)) in starts.iter().enumerate() {
        let mut seen: Vec<usize> = Vec::new();
        for &(position, term) in &starts[index..] {
            if position >= start + width {
                break;
            }
            if !seen.contains(&term) {
                seen.push(term);
            }
        }
        if seen.len() > best.1 {
            best = (start, seen.len());
        }
    }
    // Start a little before the first match, at a sentence start when one is near.
    let mut from = best.0.saturating_sub(width / 6);
    if let Some(boundary) = (from..best.0)
        .rev()
        .find(|&i| matches!(original[i], '。' | '；' | '！' | '？' | '\n'))
    {
        from = boundary + 1;
    }
    let to = (from + width).min(original.len());
    let mut out = String::with_capacity(width * 4);
    if from > 0 {
        out.push('…');
    }
    let mut in_mark = false;
    for i in from..to {
        if marked[i] && !in_mark {
            out.push_str("<mark>");
            in_mark = true;
        } else if !marked[i] && in_mark {
            out.push_str("</mark>");
            in_mark = false;
        }
        let c = original[i];
        if c == '\n' {
            out.push(' ');
        } else {
            out.push_str(&escape_html(c.encode_utf8(&mut [0; 4])));
        }
    }
    if in_mark {
        out.push_str("</mark>");
    }
    if to < original.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_terms_in_the_original_text_and_escapes_the_rest() {
        let text = "前文。小型微利企业<b>年应纳税所得额</b>不超过３００万元的部分。";
        let snippet = snippet(text, &["小型微利企业".to_owned(), "300".to_owned()], 60);
        assert_eq!(
            snippet,
            "…<mark>小型微利企业</mark>&lt;b&gt;年应纳税所得额&lt;/b&gt;不超过<mark>３００</mark>万元的部分。"
        );
    }

    #[test]
    fn long_passages_are_cut_around_the_densest_window() {
        let text = format!(
            "{}研发费用加计扣除比例为100%。{}",
            "无关内容。".repeat(40),
            "其他。".repeat(40)
        );
        let snippet = snippet(&text, &["加计扣除".to_owned(), "研发".to_owned()], 30);
        assert!(snippet.starts_with('…'));
        assert!(snippet.contains("<mark>研发</mark>费用<mark>加计扣除</mark>"));
        assert!(snippet.chars().count() < 60);
    }
}
