//! Taxonomies: categories (分类), tags (标签), issuers (发文机关) and audiences (适用对象), each with a listing page
//! per term; and related policies (相关政策) computed from shared terms.

use std::collections::{BTreeMap, HashMap};

use crate::policy::Policy;

/// How one taxonomy is named and read from a policy.
pub struct TaxonomySpec {
    /// Folder name in the site.
    pub key: &'static str,
    pub label: &'static str,
    pub plural_label: &'static str,
    pub terms_of: fn(&Policy) -> &[String],
}

/// Categories come first: the home page and the navigation use `TAXONOMIES[0]`.
pub const TAXONOMIES: [TaxonomySpec; 4] = [
    TaxonomySpec {
        key: "categories",
        label: "政策分类",
        plural_label: "政策分类",
        terms_of: |policy| &policy.categories,
    },
    TaxonomySpec {
        key: "tags",
        label: "标签",
        plural_label: "全部标签",
        terms_of: |policy| &policy.tags,
    },
    TaxonomySpec {
        key: "issuers",
        label: "发文机关",
        plural_label: "发文机关",
        terms_of: |policy| &policy.issuers,
    },
    TaxonomySpec {
        key: "audiences",
        label: "适用对象",
        plural_label: "适用对象",
        terms_of: |policy| &policy.audience,
    },
];

/// One taxonomy's terms, each with its policies in list order.
pub struct Taxonomy {
    pub spec: &'static TaxonomySpec,
    pub terms: BTreeMap<String, Vec<usize>>,
}

impl Taxonomy {
    pub fn collect(spec: &'static TaxonomySpec, policies: &[Policy], order: &[usize]) -> Taxonomy {
        let mut terms: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &index in order {
            for term in (spec.terms_of)(&policies[index]) {
                terms.entry(term.clone()).or_default().push(index);
            }
        }
        Taxonomy { spec, terms }
    }
}

/// Terms shared by more policies than this say little about relatedness and are skipped when looking for
/// candidates (they still count in the score).
const MAX_INFORMATIVE_POSTINGS: usize = 400;

/// Up to `count` policies related to `index`: scored 3 per shared tag, 2 per shared audience and 1 per shared
/// category; ties go to the newer policy (`rank[i]` is policy `i`'s place in the newest-first order). When fewer
/// are found, the newest of the same category fill in.
pub fn related(
    policies: &[Policy],
    taxonomies: &[Taxonomy],
    rank: &[usize],
    index: usize,
    count: usize,
) -> Vec<usize> {
    let [categories, tags, _issuers, audiences] = taxonomies else {
        return Vec::new();
    };
    let policy = &policies[index];
    let mut scores: HashMap<usize, u32> = HashMap::new();
    for (taxonomy, terms, weight) in [(tags, &policy.tags, 3), (audiences, &policy.audience, 2)] {
        for term in terms {
            match taxonomy.terms.get(term) {
                Some(postings) if postings.len() <= MAX_INFORMATIVE_POSTINGS => {
                    for &other in postings.iter().filter(|&&other| other != index) {
                        *scores.entry(other).or_default() += weight;
                    }
                }
                _ => {}
            }
        }
    }
    for (other, score) in scores.iter_mut() {
        let shared = policies[*other]
            .categories
            .iter()
            .filter(|category| policy.categories.contains(category))
            .count();
        *score += shared as u32;
    }
    let mut ranked: Vec<(usize, u32)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| rank[a.0].cmp(&rank[b.0])));
    let mut related: Vec<usize> = ranked.into_iter().take(count).map(|(i, _)| i).collect();
    if related.len() < count
        && let Some(postings) = policy
            .categories
            .first()
            .and_then(|category| categories.terms.get(category))
    {
        for &other in postings {
            if related.len() >= count {
                break;
            }
            if other != index && !related.contains(&other) {
                related.push(other);
            }
        }
    }
    related
}
