//! End-to-end tests of `qihu build` and `qihu check`: fixture sites built into temporary folders by the real
//! binary, asserting what a reader of the site (or an editor running the check) would see.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TODAY: &str = "2026-11-25";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("policies")
}

fn qihu(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qihu"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("qihu runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds fixture `name` into a fresh temporary folder; returns the folder (kept alive) and the site path.
fn build_fixture(name: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    let index = dir.path().join("index");
    let output = qihu(
        &[
            "build",
            "--policies",
            fixture(name).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--today",
            TODAY,
        ],
        env,
    );
    assert!(
        output.status.success(),
        "build failed: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    (dir, out)
}

fn read(site: &Path, page: &str) -> String {
    fs::read_to_string(site.join(page)).unwrap_or_else(|error| panic!("{page}: {error}"))
}

fn all_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, fs::read(&path).unwrap())
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Every `href="..."` and `src="..."` value in an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let end = rest.find('"').unwrap();
            found.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    found
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn home_page_offers_categories_newest_policies_search_and_the_request_entry() {
    let (_dir, site) = build_fixture("good", &[]);
    let home = read(&site, "index.html");
    assert!(home.contains("<html lang=\"zh-CN\">"));
    assert!(home.contains("<main id=\"main\""));
    assert!(home.contains("href=\"#main\">跳到正文</a>"));
    assert!(home.contains("role=\"search\""));
    assert!(home.contains("我要咨询 / 我要反映诉求"));
    // Categories from `_category.toml` folders and from front matter, with counts.
    assert!(home.contains("税费优惠</span> <span class=\"category-count\">2 篇"));
    assert!(home.contains("金融信贷</span> <span class=\"category-count\">1 篇"));
    // Newest first.
    let newest = home.find("阶段性降低失业保险费率").unwrap();
    let older = home
        .find("关于进一步实施小微企业所得税优惠政策的公告")
        .unwrap();
    assert!(newest < older);
    assert!(!home.contains("cdn"), "no external assets");
}

#[test]
fn policy_page_shows_metadata_badge_contents_faq_related_and_the_question_link() {
    let (_dir, site) = build_fixture("good", &[]);
    let page = read(&site, "policies/small-profit-income-tax/index.html");
    assert!(
        page.contains("<h1 id=\"policy-title\">关于进一步实施小微企业所得税优惠政策的公告</h1>")
    );
    for row in [
        "<th scope=\"row\">文号</th><td>财政部 税务总局公告2023年第12号</td>",
        "<th scope=\"row\">成文日期</th><td><time datetime=\"2023-08-02\">2023年8月2日</time>",
        "2023年1月1日起施行，2027年12月31日止",
        "国家税务总局滕州市税务局（12366）",
    ] {
        assert!(page.contains(row), "missing {row}");
    }
    assert!(page.contains("<span class=\"badge badge-valid\">现行有效</span>"));
    // Table of contents with unique anchors that exist in the body.
    assert!(page.contains("<a href=\"#申请方式-2\">申请方式</a>"));
    assert!(page.contains("<h2 id=\"申请方式-2\">申请方式</h2>"));
    assert!(page.contains("<div class=\"table-wrap\"><table>"));
    assert!(page.contains("问：小型微利企业怎么认定？"));
    assert!(page.contains("href=\"/policies/startup-loan/\">创业担保贷款</a>"));
    assert!(page.contains("相关政策"));
    assert!(page.contains("href=\"/request/?policy=small-profit-income-tax\""));
}

#[test]
fn validity_badges_follow_the_build_day() {
    let (_dir, site) = build_fixture("good", &[]);
    let expired = read(&site, "policies/old-small-scale-vat/index.html");
    assert!(expired.contains("badge-expired\">已失效</span>"));
    assert!(expired.contains("已被替代"));
    assert!(expired.contains(
        "本政策已被<a href=\"/policies/small-profit-income-tax/\">《关于进一步实施小微企业所得税优惠政策的公告》</a>替代"
    ));
    let expiring = read(&site, "policies/expiring-notice/index.html");
    assert!(expiring.contains("badge-expiring\">即将到期</span>"));
    assert!(expiring.contains("本政策将于2026年12月10日到期"));
}

#[test]
fn yaml_front_matter_reads_like_toml() {
    let (_dir, site) = build_fixture("good", &[]);
    let page = read(&site, "policies/startup-loan/index.html");
    assert!(page.contains("财金〔2020〕21号"));
    assert!(page.contains("问：创业担保贷款最多能贷多少？"));
    // Categories from the folder and from the front matter.
    assert!(page.contains(">金融信贷</a>"));
    assert!(page.contains(">就业社保</a>"));
    // The anchor is percent-encoded; browsers match it against the heading id `政策内容`.
    assert!(page.contains(
        "href=\"/policies/small-profit-income-tax/#%E6%94%BF%E7%AD%96%E5%86%85%E5%AE%B9\""
    ));
}

#[test]
fn listing_pages_exist_for_every_taxonomy_and_paginate() {
    let (_dir, site) = build_fixture("good", &[("QIHU_SITE__PAGE_SIZE", "2")]);
    for page in [
        "policies/index.html",
        "policies/page/2/index.html",
        "policies/page/3/index.html",
        "categories/index.html",
        "categories/税费优惠/index.html",
        "tags/小型微利企业/index.html",
        "issuers/财政部/index.html",
        "audiences/小型微利企业/index.html",
    ] {
        assert!(site.join(page).is_file(), "missing {page}");
    }
    assert!(!site.join("policies/page/4").exists());
    let second = read(&site, "policies/page/2/index.html");
    assert!(second.contains("rel=\"prev\""));
    assert!(second.contains("rel=\"next\""));
    assert!(second.contains("第 2 页，共 3 页"));
    let tag = read(&site, "tags/小型微利企业/index.html");
    assert!(tag.contains("共 2 篇政策"));
}

#[test]
fn every_internal_link_resolves_to_a_built_file() {
    let (_dir, site) = build_fixture("good", &[]);
    let mut checked = 0;
    for path in walk(&site) {
        if path.extension().is_none_or(|extension| extension != "html") {
            continue;
        }
        let html = fs::read_to_string(&path).unwrap();
        for link in links(&html) {
            if !link.starts_with('/') {
                continue;
            }
            let target = percent_decode(link.split(['?', '#']).next().unwrap());
            let file = site.join(target.trim_start_matches('/'));
            let exists = if target.ends_with('/') {
                file.join("index.html").is_file()
            } else {
                file.is_file()
            };
            assert!(exists, "{} links to missing {link}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} links checked");
}

#[test]
fn feeds_sitemap_robots_and_404_are_published() {
    let (_dir, site) = build_fixture(
        "good",
        &[("QIHU_SITE__BASE_URL", "https://zcsc.example.cn/")],
    );
    let sitemap = read(&site, "sitemap.xml");
    assert!(sitemap.contains(
        "<loc>https://zcsc.example.cn/policies/small-profit-income-tax/</loc><lastmod>2023-08-02</lastmod>"
    ));
    assert_eq!(sitemap.matches("<url>").count(), 2 + 5 + 4 + 21);
    let feed = read(&site, "atom.xml");
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    assert!(feed.contains("<updated>2025-01-10T00:00:00+08:00</updated>"));
    assert_eq!(feed.matches("<entry>").count(), 5);
    let robots = read(&site, "robots.txt");
    assert!(robots.contains("Sitemap: https://zcsc.example.cn/sitemap.xml"));
    let not_found = read(&site, "404.html");
    assert!(not_found.contains("页面不存在"));
    assert!(site.join("static/style.css").is_file());
}

#[test]
fn request_form_has_labelled_fields_and_posts_to_the_forms_backend() {
    let (_dir, site) = build_fixture(
        "good",
        &[("QIHU_SITE__FORMS_URL", "https://forms.example.cn")],
    );
    let form = read(&site, "request/index.html");
    assert!(form.contains("action=\"https://forms.example.cn/api/requests\" method=\"post\""));
    for field in [
        "enterprise_name",
        "credit_code",
        "contact_name",
        "contact_phone",
        "contact_email",
        "town",
        "description",
        "suggested_department",
        "policy",
    ] {
        assert!(
            form.contains(&format!("<label for=\"{field}\">")),
            "no label for {field}"
        );
        assert!(
            form.contains(&format!("name=\"{field}\"")),
            "no field {field}"
        );
    }
    assert!(form.contains("name=\"kind\" value=\"complaint\""));
    let search = read(&site, "search/index.html");
    assert!(search.contains("action=\"/search/\" method=\"get\""));
}

#[test]
fn a_site_under_a_sub_path_links_inside_it() {
    let (_dir, site) = build_fixture(
        "good",
        &[("QIHU_SITE__BASE_URL", "https://gov.example.cn/zcsc/")],
    );
    let page = read(&site, "policies/small-profit-income-tax/index.html");
    assert!(page.contains("href=\"/zcsc/static/style.css\""));
    assert!(page.contains("href=\"/zcsc/policies/startup-loan/\">创业担保贷款</a>"));
    assert!(!page.contains("href=\"/policies/"));
}

#[test]
fn hostile_policy_text_is_shown_never_executed() {
    let (_dir, site) = build_fixture("good", &[]);
    for path in walk(&site) {
        let content = fs::read_to_string(&path).unwrap_or_default();
        let lower = content.to_lowercase();
        assert!(
            !lower.contains("<script>alert"),
            "{} runs script",
            path.display()
        );
        assert!(!lower.contains("<img src=x"), "{}", path.display());
        assert!(!lower.contains("<iframe"), "{}", path.display());
        assert!(!lower.contains("<div onclick"), "{}", path.display());
        assert!(!lower.contains("href=\"javascript:"), "{}", path.display());
        assert!(!lower.contains("src=\"javascript:"), "{}", path.display());
    }
    let page = read(&site, "policies/hostile-input/index.html");
    assert!(page.contains("恶意标题&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"));
    assert!(page.contains("&lt;script&gt;alert('body')&lt;/script&gt;"));
    assert!(page.contains("&lt;div onclick=\"alert(1)\"&gt;点击&lt;/div&gt;"));
    assert!(
        page.contains("<td>javascript:alert(&#39;source&#39;)</td>"),
        "a non-URL source is text"
    );
}

#[test]
fn the_same_input_builds_byte_identical_sites() {
    let (_first_dir, first) = build_fixture("good", &[]);
    let (_second_dir, second) = build_fixture("good", &[]);
    let first_files = all_files(&first);
    let second_files = all_files(&second);
    assert_eq!(
        first_files.keys().collect::<Vec<_>>(),
        second_files.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first_files {
        assert!(
            bytes == &second_files[name],
            "{name} differs between builds"
        );
    }
}

#[test]
fn a_failed_build_leaves_the_published_site_untouched() {
    let (dir, site) = build_fixture("good", &[]);
    let before = all_files(&site);
    let output = qihu(
        &[
            "build",
            "--policies",
            fixture("broken").to_str().unwrap(),
            "--out",
            site.to_str().unwrap(),
            "--index",
            dir.path().join("index").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("网站未发布"));
    assert_eq!(before, all_files(&site));
    // No staging folders left behind: only the site, its index and the index's vector cache.
    let mut entries: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    let site_name = site.file_name().unwrap().to_string_lossy().into_owned();
    let mut expected = vec![
        site_name,
        "index".to_owned(),
        "index.vector-cache".to_owned(),
    ];
    expected.sort();
    assert_eq!(entries, expected);
}

#[test]
fn a_broken_template_stops_the_build_before_publishing() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    fs::create_dir_all(&templates).unwrap();
    for entry in fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("site-templates")).unwrap()
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::copy(&path, templates.join(path.file_name().unwrap())).unwrap();
        }
    }
    fs::write(templates.join("policy.html"), "{% extends \"base.html\" %}{% block content %}{{ policy.nope.deeper }}{% endblock content %}").unwrap();
    let out = dir.path().join("public");
    let output = qihu(
        &[
            "build",
            "--policies",
            fixture("good").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--templates",
            templates.to_str().unwrap(),
            "--index",
            dir.path().join("index").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("模板有误"),
        "{}",
        text(&output.stderr)
    );
    assert!(!out.exists());
}

#[test]
fn check_reports_every_problem_as_path_line_message() {
    let output = qihu(
        &["check", "--policies", "tests/fixtures/broken/policies"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let expected = [
        ("Bad_Name.md:1:", "只能包含小写英文字母"),
        (
            "b/dup.md:1:",
            "与 tests/fixtures/broken/policies/a/dup.md 重复",
        ),
        ("bad-dates.md:4:", "2024-02-30"),
        ("bad-toml.md:3:", "TOML 元数据格式错误"),
        ("dangling.md:5:", "superseded_by 指向的政策“nowhere”不存在"),
        ("dangling.md:9:", "链接指向的政策“no-such-policy”不存在"),
        (
            "expires-early.md:5:",
            "失效日期 2024-01-01 早于成文日期 2024-03-01",
        ),
        ("missing-fields.md:2:", "缺少必填字段 title"),
        ("missing-fields.md:2:", "缺少必填字段 issuer"),
        ("missing-fields.md:2:", "缺少必填字段 issued"),
        ("not-utf8.md:3:", "UTF-8"),
        ("same-number.md:5:", "文号“滕政办发[2022]9号”与"),
        ("unterminated.md:1:", "元数据没有结束"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    for (location, message) in expected {
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("tests/fixtures/broken/policies/")
                    && line.contains(location)
                    && line.contains(message)),
            "no line with {location} {message} in:\n{stderr}"
        );
    }
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    assert!(text(&output.stdout).contains("13 处错误"));
}

#[test]
fn check_passes_with_warnings_only_and_writes_nothing() {
    let before = all_files(&fixture("warnings-only"));
    let output = qihu(
        &[
            "check",
            "--policies",
            "tests/fixtures/warnings-only/policies",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stderr).contains("extra-field.md:5: 警告：未知字段“colour”"));
    assert_eq!(before, all_files(&fixture("warnings-only")));
}

#[test]
fn the_shipped_policy_base_is_valid_rich_and_answers_questions() {
    let output = qihu(&["check"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let corpus = qihu::policy::load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .as_path(),
    )
    .unwrap();
    assert!(
        corpus.policies.len() >= 40,
        "{} policies",
        corpus.policies.len()
    );
    let categories: std::collections::BTreeSet<_> = corpus
        .policies
        .iter()
        .flat_map(|p| p.categories.iter())
        .collect();
    assert!(categories.len() >= 8, "{categories:?}");
    // The centre's own policies with FAQ pairs, and real documents as their issuers published them (no FAQ
    // pairs written beside them, the source named).
    let with_faq = corpus.policies.iter().filter(|p| p.faq.len() >= 2).count();
    assert!(with_faq >= 40, "{with_faq} with 2+ FAQ pairs");
    let as_published = corpus
        .policies
        .iter()
        .filter(|p| p.faq.is_empty() && p.source.is_some())
        .count();
    assert!(as_published >= 40, "{as_published} documents as published");
    assert!(
        corpus
            .policies
            .iter()
            .any(|p| p.doc_number.as_deref() == Some("滕政办发〔2022〕1号")),
        "the city notice is in the policy base"
    );
}
