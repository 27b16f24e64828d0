//! Loading the policy base from a folder and checking it as a whole (`qihu check`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;

use super::diagnostic::Diagnostic;
use super::model::{Policy, normalise_doc_number, parse_policy};
use crate::markdown;

/// Name of the file that makes a folder a category.
pub const CATEGORY_FILE: &str = "_category.toml";

/// The loaded policy base: every usable policy, sorted by slug, and every problem found.
#[derive(Debug, Default)]
pub struct Corpus {
    pub policies: Vec<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Corpus {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// The policies folder itself could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("找不到政策目录 {0}")]
    MissingFolder(PathBuf),
    #[error("读取政策目录 {path} 失败：{source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
}

#[derive(Deserialize)]
struct CategoryFile {
    name: String,
}

/// Reads every `*.md` file under `dir` (files and folders starting with `_` or `.` are not policies),
/// in parallel, then checks the policy base as a whole.
pub fn load(dir: &Path) -> Result<Corpus, LoadError> {
    if !dir.is_dir() {
        return Err(LoadError::MissingFolder(dir.to_owned()));
    }
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    let mut folder_categories: HashMap<PathBuf, Vec<String>> = HashMap::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = entry.map_err(|source| LoadError::Walk {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            let inherited = path
                .parent()
                .and_then(|parent| folder_categories.get(parent))
                .cloned()
                .unwrap_or_default();
            let mut categories = inherited;
            let category_file = path.join(CATEGORY_FILE);
            if category_file.is_file() {
                match read_category(&category_file) {
                    Ok(name) if !categories.contains(&name) => categories.push(name),
                    Ok(_) => {}
                    Err(problem) => diagnostics.push(problem),
                }
            }
            folder_categories.insert(path.to_owned(), categories);
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if name.ends_with(".md") && !name.starts_with('_') {
            files.push(path.to_owned());
        }
    }

    let parsed: Vec<(Option<Policy>, Vec<Diagnostic>)> = files
        .par_iter()
        .map(|path| {
            let slug = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let categories = path
                .parent()
                .and_then(|parent| folder_categories.get(parent))
                .map_or(&[][..], Vec::as_slice);
            match fs::read(path) {
                Err(error) => (
                    None,
                    vec![Diagnostic::error(path, 1, format!("无法读取文件：{error}"))],
                ),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(content) => parse_policy(path, &slug, &content, categories),
                    Err(error) => {
                        let offset = error.utf8_error().valid_up_to();
                        let line = 1 + error.as_bytes()[..offset]
                            .iter()
                            .filter(|&&b| b == b'\n')
                            .count();
                        (
                            None,
                            vec![Diagnostic::error(
                                path,
                                line,
                                "文件不是有效的 UTF-8 编码，请用 UTF-8 保存",
                            )],
                        )
                    }
                },
            }
        })
        .collect();

    let mut policies = Vec::with_capacity(parsed.len());
    for (policy, problems) in parsed {
        diagnostics.extend(problems);
        policies.extend(policy);
    }
    policies.sort_by(|a, b| a.slug.cmp(&b.slug).then_with(|| a.path.cmp(&b.path)));
    check_corpus(&policies, &mut diagnostics);
    diagnostics.sort_by(|a, b| {
        (&a.path, a.line, a.severity, &a.message).cmp(&(&b.path, b.line, b.severity, &b.message))
    });
    diagnostics.dedup();
    Ok(Corpus {
        policies,
        diagnostics,
    })
}

fn read_category(path: &Path) -> Result<String, Diagnostic> {
    let text = fs::read_to_string(path)
        .map_err(|error| Diagnostic::error(path, 1, format!("无法读取分类文件：{error}")))?;
    let file: CategoryFile = toml::from_str(&text).map_err(|error| {
        Diagnostic::error(
            path,
            1,
            format!("分类文件应写 name = \"分类名称\"：{}", error.message()),
        )
    })?;
    let name = file.name.trim().to_owned();
    if name.is_empty() {
        return Err(Diagnostic::error(path, 1, "分类名称不能为空"));
    }
    Ok(name)
}

/// Problems that involve more than one file: duplicate slugs and document numbers, links and
/// `superseded_by` pointing to slugs that do not exist.
fn check_corpus(policies: &[Policy], diagnostics: &mut Vec<Diagnostic>) {
    let mut by_slug: HashMap<&str, &Policy> = HashMap::with_capacity(policies.len());
    for policy in policies {
        if let Some(first) = by_slug.insert(&policy.slug, policy) {
            by_slug.insert(&first.slug, first);
            diagnostics.push(Diagnostic::error(
                &policy.path,
                1,
                format!(
                    "文件名（slug）“{}”与 {} 重复，请改名",
                    policy.slug,
                    first.path.display()
                ),
            ));
        }
    }
    let mut by_doc_number: HashMap<String, &Policy> = HashMap::new();
    for policy in policies {
        let Some(doc_number) = &policy.doc_number else {
            continue;
        };
        if let Some(first) = by_doc_number.insert(normalise_doc_number(doc_number), policy) {
            diagnostics.push(Diagnostic::error(
                &policy.path,
                line_of_field(policy, "doc_number"),
                format!("文号“{doc_number}”与 {} 重复", first.path.display()),
            ));
        }
    }
    for policy in policies {
        if let Some(target) = &policy.superseded_by
            && !by_slug.contains_key(target.as_str())
        {
            diagnostics.push(Diagnostic::error(
                &policy.path,
                line_of_field(policy, "superseded_by"),
                format!("superseded_by 指向的政策“{target}”不存在"),
            ));
        }
        for link in markdown::policy_links(&policy.body) {
            if !by_slug.contains_key(link.slug.as_str()) {
                diagnostics.push(Diagnostic::error(
                    &policy.path,
                    policy.body_line + link.line,
                    format!("链接指向的政策“{}”不存在", link.slug),
                ));
            }
        }
    }
}

/// Line of a front matter field, found again from the file (only needed when reporting a problem).
fn line_of_field(policy: &Policy, key: &str) -> usize {
    fs::read_to_string(&policy.path)
        .ok()
        .and_then(|content| {
            super::front_matter::split(&content)
                .ok()
                .map(|split| super::front_matter::line_of_key(&split, key))
        })
        .unwrap_or(1)
}
