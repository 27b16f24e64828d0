//! The static site of the policy supermarket (政策超市): load → render → write, each step timed.

mod taxonomy;
pub mod views;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use tera::{Context, Tera};

use crate::config::SiteSettings;
use crate::markdown::{self, Rendered};
use crate::policy::Policy;
use crate::publish;
use taxonomy::{TAXONOMIES, Taxonomy};
use views::{PolicyCard, Urls};

/// Policies on the home page's "newest" list and in the Atom feed.
const NEWEST_COUNT: usize = 10;
const FEED_COUNT: usize = 20;
const RELATED_COUNT: usize = 5;
/// Show a progress bar from this many policies on (and only in a terminal).
const PROGRESS_THRESHOLD: usize = 500;

/// Rendering or writing the site failed.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("找不到模板目录 {0}")]
    MissingTemplates(PathBuf),
    #[error("模板有误：{0}")]
    Template(String),
    #[error("写入网站文件失败（{path}）：{source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The loaded and rendered policy base, ready to be written as a site.
pub struct Site {
    settings: SiteSettings,
    urls: Urls,
    tera: Tera,
    today: NaiveDate,
    pub policies: Vec<Policy>,
    pub rendered: Vec<Rendered>,
    /// Policy indices, newest first (issued date, then slug): the order of every list.
    newest_first: Vec<usize>,
    /// `rank[i]`: the place of policy `i` in `newest_first`.
    rank: Vec<usize>,
    taxonomies: Vec<Taxonomy>,
    slug_index: HashMap<String, usize>,
}

/// Reads every template (`*.html`, `*.xml`, `*.txt`) under `dir`, except static assets and e-mails.
pub fn load_templates(dir: &Path) -> Result<Tera, SiteError> {
    if !dir.is_dir() {
        return Err(SiteError::MissingTemplates(dir.to_owned()));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|error| SiteError::Template(error.to_string()))?;
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name = relative.to_string_lossy().replace('\\', "/");
        let is_template = [".html", ".xml", ".txt"]
            .iter()
            .any(|extension| name.ends_with(extension));
        if entry.file_type().is_file() && is_template && !name.starts_with("static/") {
            files.push((entry.path().to_owned(), Some(name)));
        }
    }
    let mut tera = Tera::default();
    tera.set_escape_fn(escape_html);
    tera.add_template_files(files)
        .map_err(|error| SiteError::Template(tera_message(&error)))?;
    Ok(tera)
}

/// Escapes text for HTML and XML: `& < > " '`. (Tera's default also escapes `/`, which only makes URLs unreadable.)
pub fn escape_html(input: &str) -> String {
    let mut output = String::with_capacity(input.len() + input.len() / 8);
    for c in input.chars() {
        match c {
            '&' => output.push_str("&amp;"),
            '<' => output.push_str("&lt;"),
            '>' => output.push_str("&gt;"),
            '"' => output.push_str("&quot;"),
            '\'' => output.push_str("&#39;"),
            c => output.push(c),
        }
    }
    output
}

/// A tera error with its causes, which name the template and the line.
pub fn tera_message(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push('：');
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[derive(Serialize)]
struct SiteContext<'a> {
    title: &'a str,
    city: &'a str,
    base_path: String,
    base_url: String,
    request_url: String,
    search_url: String,
    /// Where the request form posts to.
    forms_action: String,
}

/// The `site` object every template sees (title, city, base path and the addresses of the shared pages); the
/// same for pages rendered at build time and by the server.
pub fn base_context(settings: &SiteSettings) -> Context {
    let urls = Urls {
        base_path: settings.base_path(),
    };
    let forms_base = if settings.forms_url.is_empty() {
        urls.base_path.clone()
    } else {
        format!("{}/", settings.forms_url.trim_end_matches('/'))
    };
    let site = SiteContext {
        title: &settings.title,
        city: &settings.city,
        base_url: settings.absolute_base(),
        request_url: urls.page("request/"),
        search_url: urls.page("search/"),
        forms_action: format!("{forms_base}api/requests"),
        base_path: urls.base_path,
    };
    let mut context = Context::new();
    context.insert("site", &site);
    context
}

#[derive(Serialize)]
struct Pagination {
    current: usize,
    total: usize,
    prev_url: Option<String>,
    next_url: Option<String>,
    pages: Vec<PageLink>,
}

#[derive(Serialize)]
struct PageLink {
    number: usize,
    url: String,
    current: bool,
}

#[derive(Serialize)]
struct TermCount {
    name: String,
    url: String,
    count: usize,
}

impl Site {
    pub fn new(
        settings: SiteSettings,
        tera: Tera,
        policies: Vec<Policy>,
        today: NaiveDate,
    ) -> Site {
        let urls = Urls {
            base_path: settings.base_path(),
        };
        let prefix = urls.policy_prefix();
        let rendered: Vec<Rendered> = policies
            .par_iter()
            .map(|policy| markdown::render(&policy.body, &prefix))
            .collect();
        let mut newest_first: Vec<usize> = (0..policies.len()).collect();
        newest_first.sort_by(|&a, &b| {
            policies[b]
                .issued
                .cmp(&policies[a].issued)
                .then_with(|| policies[a].slug.cmp(&policies[b].slug))
        });
        let mut rank = vec![0; policies.len()];
        for (place, &index) in newest_first.iter().enumerate() {
            rank[index] = place;
        }
        let taxonomies = TAXONOMIES
            .iter()
            .map(|spec| Taxonomy::collect(spec, &policies, &newest_first))
            .collect();
        let slug_index = policies
            .iter()
            .enumerate()
            .map(|(index, policy)| (policy.slug.clone(), index))
            .collect();
        Site {
            settings,
            urls,
            tera,
            today,
            policies,
            rendered,
            newest_first,
            rank,
            taxonomies,
            slug_index,
        }
    }

    fn card(&self, index: usize) -> PolicyCard {
        views::card(&self.policies[index], &self.urls, self.today)
    }

    /// Writes every page, feed and asset into `root`; returns the number of HTML pages.
    pub fn write(&self, root: &Path, templates_dir: &Path) -> Result<usize, SiteError> {
        let base = base_context(&self.settings);
        let write = |relative: &str, contents: &[u8]| write_page(root, relative, contents);
        let render = |template: &str, context: &Context| self.render(template, context);

        let progress = if self.policies.len() >= PROGRESS_THRESHOLD {
            ProgressBar::new(self.policies.len() as u64)
        } else {
            ProgressBar::hidden()
        };
        progress.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        progress.set_message("政策页面");
        (0..self.policies.len())
            .into_par_iter()
            .try_for_each(|index| {
                let html = render("policy.html", &self.policy_context(&base, index))?;
                progress.inc(1);
                write(
                    &format!("policies/{}/index.html", self.policies[index].slug),
                    html.as_bytes(),
                )
            })?;
        progress.finish_and_clear();
        let mut pages = self.policies.len();

        // Listing pages: all policies, then every term of every taxonomy.
        let all_policies = ListingSource {
            path: "policies/".to_owned(),
            title: "全部政策".to_owned(),
            heading: "全部政策".to_owned(),
            items: &self.newest_first,
        };
        let mut listings = vec![all_policies];
        for taxonomy in &self.taxonomies {
            for (term, items) in &taxonomy.terms {
                listings.push(ListingSource {
                    path: format!("{}/{}/", taxonomy.spec.key, views::term_slug(term)),
                    title: format!("{}：{term}", taxonomy.spec.label),
                    heading: term.clone(),
                    items,
                });
            }
        }
        let listing_pages: Vec<usize> = listings
            .par_iter()
            .map(|listing| self.write_listing(root, &base, listing))
            .collect::<Result<_, _>>()?;
        pages += listing_pages.iter().sum::<usize>();

        for taxonomy in &self.taxonomies {
            let mut context = base.clone();
            let mut terms: Vec<TermCount> = taxonomy
                .terms
                .iter()
                .map(|(name, items)| TermCount {
                    name: name.clone(),
                    url: self.urls.term(taxonomy.spec.key, name),
                    count: items.len(),
                })
                .collect();
            terms.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
            context.insert("page_title", taxonomy.spec.plural_label);
            context.insert("taxonomy_label", taxonomy.spec.label);
            context.insert("terms", &terms);
            context.insert(
                "canonical",
                &self.absolute(&format!("{}/", taxonomy.spec.key)),
            );
            let html = render("terms.html", &context)?;
            write(
                &format!("{}/index.html", taxonomy.spec.key),
                html.as_bytes(),
            )?;
            pages += 1;
        }

        let mut home = base.clone();
        let newest: Vec<PolicyCard> = self
            .newest_first
            .iter()
            .take(NEWEST_COUNT)
            .map(|&index| self.card(index))
            .collect();
        let categories = &self.taxonomies[0];
        let category_counts: Vec<TermCount> = categories
            .terms
            .iter()
            .map(|(name, items)| TermCount {
                name: name.clone(),
                url: self.urls.term(categories.spec.key, name),
                count: items.len(),
            })
            .collect();
        home.insert("newest", &newest);
        home.insert("categories", &category_counts);
        home.insert("policy_count", &self.policies.len());
        home.insert("all_url", &self.urls.page("policies/"));
        home.insert("canonical", &self.absolute(""));
        write("index.html", render("index.html", &home)?.as_bytes())?;
        pages += 1;

        for (template, path, title) in [
            ("search.html", "search/index.html", "政策搜索"),
            (
                "request.html",
                "request/index.html",
                "我要咨询 / 我要反映诉求",
            ),
        ] {
            let mut context = base.clone();
            context.insert("page_title", title);
            context.insert(
                "canonical",
                &self.absolute(path.trim_end_matches("index.html")),
            );
            write(path, render(template, &context)?.as_bytes())?;
            pages += 1;
        }
        let mut not_found = base.clone();
        not_found.insert("page_title", "页面不存在");
        write("404.html", render("404.html", &not_found)?.as_bytes())?;
        pages += 1;

        write(
            "sitemap.xml",
            render("sitemap.xml", &self.sitemap_context(&base))?.as_bytes(),
        )?;
        write(
            "atom.xml",
            render("atom.xml", &self.feed_context(&base))?.as_bytes(),
        )?;
        write("robots.txt", render("robots.txt", &base)?.as_bytes())?;

        let static_dir = templates_dir.join("static");
        if static_dir.is_dir() {
            publish::copy_dir(&static_dir, &root.join("static")).map_err(|source| {
                SiteError::Write {
                    path: root.join("static"),
                    source,
                }
            })?;
        }
        Ok(pages)
    }

    fn absolute(&self, relative: &str) -> String {
        format!("{}{}", self.settings.absolute_base(), relative)
    }

    fn policy_context(&self, base: &Context, index: usize) -> Context {
        let policy = &self.policies[index];
        let rendered = &self.rendered[index];
        let detail = views::detail(policy, rendered.headings.clone(), &self.urls, self.today);
        let mut context = base.clone();
        context.insert("page_title", &policy.title);
        context.insert("policy", &detail);
        context.insert("body_html", &rendered.html);
        let related: Vec<PolicyCard> = self
            .related(index)
            .into_iter()
            .map(|other| self.card(other))
            .collect();
        context.insert("related", &related);
        let replacement = policy
            .superseded_by
            .as_ref()
            .and_then(|slug| self.slug_index.get(slug))
            .map(|&other| self.card(other));
        context.insert("superseded_by", &replacement);
        context.insert(
            "ask_url",
            &format!(
                "{}?policy={}",
                self.urls.page("request/"),
                views::encode_segment(&policy.slug)
            ),
        );
        context.insert(
            "canonical",
            &self.absolute(&format!(
                "policies/{}/",
                views::encode_segment(&policy.slug)
            )),
        );
        context
    }

    /// Related policies (相关政策): those sharing the most tags, then audience, then categories.
    fn related(&self, index: usize) -> Vec<usize> {
        taxonomy::related(
            &self.policies,
            &self.taxonomies,
            &self.rank,
            index,
            RELATED_COUNT,
        )
    }

    fn render(&self, template: &str, context: &Context) -> Result<String, SiteError> {
        self.tera
            .render(template, context)
            .map_err(|error| SiteError::Template(tera_message(&error)))
    }

    fn write_listing(
        &self,
        root: &Path,
        base: &Context,
        listing: &ListingSource<'_>,
    ) -> Result<usize, SiteError> {
        let page_size = self.settings.page_size.max(1);
        let chunks: Vec<&[usize]> = if listing.items.is_empty() {
            vec![&[][..]]
        } else {
            listing.items.chunks(page_size).collect()
        };
        let total = chunks.len();
        let page_url = |number: usize| {
            if number == 1 {
                self.urls.page(&listing.path_url())
            } else {
                self.urls
                    .page(&format!("{}page/{number}/", listing.path_url()))
            }
        };
        for (offset, chunk) in chunks.iter().enumerate() {
            let number = offset + 1;
            let cards: Vec<PolicyCard> = chunk.iter().map(|&index| self.card(index)).collect();
            let pagination = Pagination {
                current: number,
                total,
                prev_url: (number > 1).then(|| page_url(number - 1)),
                next_url: (number < total).then(|| page_url(number + 1)),
                pages: (1..=total)
                    .map(|n| PageLink {
                        number: n,
                        url: page_url(n),
                        current: n == number,
                    })
                    .collect(),
            };
            let mut context = base.clone();
            let title = if number == 1 {
                listing.title.clone()
            } else {
                format!("{}（第 {number} 页）", listing.title)
            };
            context.insert("page_title", &title);
            context.insert("heading", &listing.heading);
            context.insert("policy_count", &listing.items.len());
            context.insert("policies", &cards);
            context.insert("pagination", &pagination);
            let relative = if number == 1 {
                listing.path.clone()
            } else {
                format!("{}page/{number}/", listing.path)
            };
            context.insert("canonical", &self.absolute(&relative));
            let html = self.render("list.html", &context)?;
            write_page(root, &format!("{relative}index.html"), html.as_bytes())?;
        }
        Ok(total)
    }

    fn sitemap_context(&self, base: &Context) -> Context {
        #[derive(Serialize)]
        struct Entry {
            loc: String,
            lastmod: Option<String>,
        }
        let mut entries = vec![
            Entry {
                loc: self.absolute(""),
                lastmod: None,
            },
            Entry {
                loc: self.absolute("policies/"),
                lastmod: None,
            },
        ];
        entries.extend(self.policies.iter().map(|policy| Entry {
            loc: self.absolute(&format!(
                "policies/{}/",
                views::encode_segment(&policy.slug)
            )),
            lastmod: Some(policy.issued.to_string()),
        }));
        for taxonomy in &self.taxonomies {
            entries.push(Entry {
                loc: self.absolute(&format!("{}/", taxonomy.spec.key)),
                lastmod: None,
            });
            entries.extend(taxonomy.terms.keys().map(|term| {
                Entry {
                    loc: self.absolute(
                        self.urls
                            .term(taxonomy.spec.key, term)
                            .trim_start_matches(&self.urls.base_path),
                    ),
                    lastmod: None,
                }
            }));
        }
        let mut context = base.clone();
        context.insert("entries", &entries);
        context
    }

    fn feed_context(&self, base: &Context) -> Context {
        #[derive(Serialize)]
        struct FeedEntry {
            #[serde(flatten)]
            card: PolicyCard,
            absolute_url: String,
        }
        let entries: Vec<FeedEntry> = self
            .newest_first
            .iter()
            .take(FEED_COUNT)
            .map(|&index| FeedEntry {
                card: self.card(index),
                absolute_url: self.absolute(&format!(
                    "policies/{}/",
                    views::encode_segment(&self.policies[index].slug)
                )),
            })
            .collect();
        let updated = self
            .newest_first
            .first()
            .map(|&index| self.policies[index].issued.to_string());
        let mut context = base.clone();
        context.insert("entries", &entries);
        context.insert("updated", &updated);
        context.insert("feed_url", &self.absolute("atom.xml"));
        context
    }
}

fn write_page(root: &Path, relative: &str, contents: &[u8]) -> Result<(), SiteError> {
    publish::write_file(root, relative, contents).map_err(|source| SiteError::Write {
        path: root.join(relative),
        source,
    })
}

/// One listing to paginate.
struct ListingSource<'a> {
    /// Output folder relative to the site root, ending in `/`.
    path: String,
    title: String,
    heading: String,
    items: &'a [usize],
}

impl ListingSource<'_> {
    /// The folder as a URL path (each segment percent-encoded).
    fn path_url(&self) -> String {
        self.path
            .split_inclusive('/')
            .map(|segment| {
                let (name, slash) = segment
                    .strip_suffix('/')
                    .map_or((segment, ""), |name| (name, "/"));
                format!("{}{slash}", views::encode_segment(name))
            })
            .collect()
    }
}
