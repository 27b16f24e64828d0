//! Policies a question names by title (`增值税法`, `原来的公司登记管理条例`): the question is about that policy,
//! even one no longer in force, as when it names a year or a 文号.

use super::analysis::normalise;

/// Shortest name that counts: three characters (公司法, 专利法); a two-character one is an everyday word.
const MIN_NAME_CHARS: usize = 3;

/// The name a question uses for a policy: its title without `中华人民共和国` and without bracketed parts
/// (`（2018年修正）`), normalised as questions are.
pub(super) fn short_title(title: &str) -> String {
    let title = normalise(title);
    let title = title.strip_prefix("中华人民共和国").unwrap_or(&title);
    let mut name = String::with_capacity(title.len());
    let mut depth = 0_usize;
    for c in title.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => name.push(c),
            _ => {}
        }
    }
    name.trim().to_owned()
}

/// Policies whose name occurs in the normalised question. A name two policies share (an old and a new version
/// under one title) names neither; a name inside a longer name that occurs too (`企业所得税法` inside
/// `企业所得税法实施条例`) does not count.
pub(super) fn named_policies(names: &[String], question: &str) -> Vec<usize> {
    let found: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].chars().count() >= MIN_NAME_CHARS && question.contains(&names[i]))
        .filter(|&i| names.iter().filter(|other| **other == names[i]).count() == 1)
        .collect();
    found
        .iter()
        .copied()
        .filter(|&i| {
            !found
                .iter()
                .any(|&j| j != i && names[j].len() > names[i].len() && names[j].contains(&names[i]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_names_a_policy_by_its_short_title_and_the_longest_name_wins() {
        let names: Vec<String> = [
            "中华人民共和国企业所得税法",
            "中华人民共和国企业所得税法实施条例",
            "保障中小企业款项支付条例",
            "保障中小企业款项支付条例",
            "中华人民共和国环境噪声污染防治法（2018年修正）",
        ]
        .iter()
        .map(|title| short_title(title))
        .collect();
        assert_eq!(names[4], "环境噪声污染防治法");
        let named = |q: &str| named_policies(&names, &normalise(q));
        assert_eq!(named("企业所得税法实施条例第九十二条"), vec![1]);
        assert_eq!(named("企业所得税法第四条"), vec![0]);
        assert_eq!(named("原环境噪声污染防治法里的夜间"), vec![4]);
        assert!(named("保障中小企业款项支付条例怎么规定").is_empty());
        assert!(named("小微企业有哪些税收优惠").is_empty());
    }
}
