//! Search and instant answers end to end: fixture policies built by the real binary, queried through the
//! engine, the command line and the real HTTP server on port 0.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use qihu::config::Settings;
use qihu::search::eval::EvalSet;
use qihu::search::{Analyzer, QueryContext, SearchEngine};
use serde_json::Value;

const TODAY: &str = "2026-11-25";

mod support;

use support::root;

/// A site and index built from one folder of policies, kept for the whole test binary.
struct Built {
    _dir: tempfile::TempDir,
    site: PathBuf,
    index: PathBuf,
}

/// Runs the real binary from the repository root; it must succeed. Returns its standard output.
fn run_qihu(args: &[&str]) -> Vec<u8> {
    // Passage vectors are kept in the target folder between runs, one cache per corpus, so only changed
    // passages are embedded again (the first run embeds the shipped policies: minutes).
    let corpus = args
        .iter()
        .position(|a| *a == "--policies")
        .and_then(|i| args.get(i + 1))
        .map(|p| Path::new(p).strip_prefix(root()).unwrap_or(Path::new(p)))
        .map_or("default".to_owned(), |p| {
            p.display().to_string().replace(['/', '\\'], "_")
        });
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vector-cache-{corpus}"));
    let output = Command::new(env!("CARGO_BIN_EXE_qihu"))
        .current_dir(root())
        .env("QIHU_SEARCH__VECTOR_CACHE", cache)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "qihu {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn build(policies: &Path) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("public");
    let index = dir.path().join("index");
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    run_qihu(&[
        "build",
        "--policies",
        &path(policies),
        "--out",
        &path(&site),
        "--index",
        &path(&index),
        "--today",
        TODAY,
    ]);
    Built {
        _dir: dir,
        site,
        index,
    }
}

fn good() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build(&root().join("tests/fixtures/good/policies")))
}

fn ranking() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build(&root().join("tests/fixtures/ranking/policies")))
}

fn shipped() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build(&root().join("policies")))
}

fn analyzer() -> Arc<Analyzer> {
    static ANALYZER: OnceLock<Arc<Analyzer>> = OnceLock::new();
    Arc::clone(ANALYZER.get_or_init(|| {
        Arc::new(Analyzer::load(&root().join("config/search")).expect("analysis data loads"))
    }))
}

/// The engine as `qihu serve` opens it: the index with the shipped model.
fn engine(built: &Built) -> SearchEngine {
    SearchEngine::open(&built.index, analyzer())
        .expect("index opens")
        .with_semantic(qihu::search::semantic::load_model(
            &root().join("models/e5-small-zh-q4.bin"),
        ))
}

fn context() -> QueryContext {
    QueryContext {
        today: NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").unwrap(),
        base_path: "/".to_owned(),
    }
}

#[test]
fn everyday_words_find_the_policy_and_its_faq() {
    let response = engine(good())
        .search("创业贷款最多能贷多少钱", 10, &context())
        .unwrap();
    let first = &response.hits[0];
    assert_eq!(first.slug, "startup-loan");
    assert_eq!(first.section.as_deref(), Some("创业担保贷款最多能贷多少？"));
    assert_eq!(first.url, "/policies/startup-loan/#faq-1");
    assert!(first.snippet.contains("<mark>"), "{}", first.snippet);
    assert_eq!(first.status, "valid");
    assert_eq!(first.doc_number.as_deref(), Some("财金〔2020〕21号"));
}

#[test]
fn document_numbers_match_in_any_bracket_style() {
    let engine = engine(good());
    for query in ["财金〔2020〕21号", "财金[2020]21号", "财金（2020）21号"] {
        let response = engine.search(query, 3, &context()).unwrap();
        assert_eq!(response.hits[0].slug, "startup-loan", "{query}");
    }
}

#[test]
fn numbers_and_thresholds_are_searchable() {
    let response = engine(good()).search("300万元", 5, &context()).unwrap();
    assert!(
        response
            .hits
            .iter()
            .any(|hit| hit.slug == "small-profit-income-tax"),
        "{:?}",
        response.hits
    );
}

#[test]
fn expired_and_replaced_policies_rank_below_current_ones_and_are_marked() {
    let response = engine(ranking())
        .search("稳岗返还比例是多少", 10, &context())
        .unwrap();
    let slugs: Vec<&str> = response.hits.iter().map(|hit| hit.slug.as_str()).collect();
    assert_eq!(slugs[0], "steady-jobs-2026", "{slugs:?}");
    let old = response
        .hits
        .iter()
        .find(|hit| hit.slug == "steady-jobs-2022")
        .expect("old policy still found");
    assert_eq!(old.status, "expired");
    assert!(old.superseded);
}

#[test]
fn an_expired_policy_never_gives_the_instant_answer() {
    let engine = engine(ranking());
    let answer = engine.answer("稳岗返还比例是多少？", &context()).unwrap();
    if let Some(given) = answer.answer.as_ref().filter(|_| answer.answered) {
        assert_eq!(given.slug, "steady-jobs-2026");
    }
    // The only FAQ about this is in the 2022 policy, which no longer applies.
    let answer = engine
        .answer("一次性留工培训补助怎么申请", &context())
        .unwrap();
    assert!(!answer.answered, "{answer:?}");
    assert!(answer.answer.is_none());
}

#[test]
fn a_matching_faq_is_answered_at_once_with_its_source() {
    let answer = engine(good())
        .answer("创业担保贷款最多能贷多少？", &context())
        .unwrap();
    assert!(answer.answered, "{answer:?}");
    assert!((0.0..=1.0).contains(&answer.confidence));
    let given = answer.answer.unwrap();
    assert_eq!(given.text, "个人最高20万元，小微企业最高300万元。");
    assert_eq!(given.slug, "startup-loan");
    assert_eq!(given.url, "/policies/startup-loan/#faq-1");
}

#[test]
fn questions_outside_the_policy_base_are_not_answered() {
    let engine = engine(good());
    for question in [
        "邻居装修噪音太大怎么办",
        "门口的路坏了谁来修",
        "老板拖欠工资怎么投诉",
    ] {
        let answer = engine.answer(question, &context()).unwrap();
        assert!(!answer.answered, "{question}: {answer:?}");
    }
}

#[test]
fn bad_queries_get_a_clear_refusal_or_nothing() {
    let engine = engine(good());
    let refused = engine.search("   ", 10, &context()).unwrap_err();
    assert_eq!(refused.to_string(), "请输入要查询的问题或关键词");
    let long = "税".repeat(10 * 1024);
    assert!(
        engine
            .search(&long, 10, &context())
            .unwrap_err()
            .to_string()
            .contains("太长")
    );
    for query in [
        "的吗哪些",
        "😀😀",
        "' OR 1=1; DROP TABLE policies; --",
        "\u{0007}贷款\u{0000}",
        "<script>",
    ] {
        let response = engine.search(query, 10, &context());
        assert!(response.is_ok(), "{query}: {response:?}");
    }
    assert!(
        engine
            .search("的吗哪些", 10, &context())
            .unwrap()
            .hits
            .is_empty()
    );
    let response = engine.search("<b>标签</b>", 10, &context()).unwrap();
    for hit in &response.hits {
        assert!(!hit.snippet.contains("<b>"), "{}", hit.snippet);
    }
}

#[test]
fn the_command_line_prints_the_api_objects() {
    let index = good().index.to_str().unwrap().to_owned();
    let run = |args: &[&str]| -> Value {
        let args = [args, &["--index", &index, "--json", "--today", TODAY]].concat();
        serde_json::from_slice(&run_qihu(&args)).unwrap()
    };
    let search = run(&["search", "创业担保贷款", "--limit", "2"]);
    assert_eq!(search["query"], "创业担保贷款");
    assert!(search["took_ms"].is_f64());
    let hit = &search["hits"][0];
    for key in [
        "slug",
        "title",
        "doc_number",
        "issuer",
        "url",
        "section",
        "snippet",
        "score",
        "status",
    ] {
        assert!(hit.get(key).is_some(), "hit has no {key}: {hit}");
    }
    let answer = run(&["ask", "创业担保贷款最多能贷多少"]);
    assert_eq!(answer["answered"], true);
    for key in ["text", "slug", "title", "doc_number", "url", "section"] {
        assert!(answer["answer"].get(key).is_some(), "answer has no {key}");
    }
    assert!(answer["alternatives"].is_array());
}

/// The real server on port 0, serving `built`.
async fn spawn_server(built: &Built) -> String {
    let mut settings = Settings::default();
    settings.site.output_dir = built.site.clone();
    settings.site.templates_dir = root().join("site-templates");
    settings.search.index_dir = built.index.clone();
    settings.search.analysis_dir = root().join("config/search");
    let state = Arc::new(qihu::serve::AppState::open(settings).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, qihu::serve::router(state))
            .await
            .unwrap();
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_the_search_api_the_search_page_and_the_site() {
    let base = spawn_server(good()).await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();

    let response =
        get("/api/search?q=%E5%88%9B%E4%B8%9A%E6%8B%85%E4%BF%9D%E8%B4%B7%E6%AC%BE&limit=3")
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["hits"][0]["slug"], "startup-loan");

    let response = get("/api/answer?q=%E5%88%9B%E4%B8%9A%E6%8B%85%E4%BF%9D%E8%B4%B7%E6%AC%BE%E6%9C%80%E5%A4%9A%E8%83%BD%E8%B4%B7%E5%A4%9A%E5%B0%91").await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["answered"], true);
    assert_eq!(body["answer"]["slug"], "startup-loan");

    // Bad input: a clear 400 in Chinese, never a 500.
    for (path, message) in [
        ("/api/search?q=", "请输入要查询的问题或关键词"),
        ("/api/search?q=%FF%FE", "UTF-8"),
        ("/api/search?q=a&limit=abc", "limit"),
        ("/api/answer?q=%20%20", "请输入"),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{path}: {body}"
        );
    }
    let long = "%E7%A8%8E".repeat(4000);
    let response = get(&format!("/api/search?q={long}")).await.unwrap();
    assert_eq!(response.status(), 400);

    // The server-rendered search page works without JavaScript and escapes the query.
    let response = get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%E8%B4%B7%E6%AC%BE")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;贷款"));
    assert!(html.contains("/policies/startup-loan/"));
    assert!(html.contains("<html lang=\"zh-CN\">"));

    // The static site and its 404 page.
    let response = get("/policies/startup-loan/").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("财金〔2020〕21号"));
    let response = get("/no/such/page").await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("页面不存在"));
    let response = get("/").await.unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

/// The held-out figures must not fall below what the hybrid engine measured when it was built (docs/search.md):
/// a floor that fails on a regression, not the goal, which is not reached yet.
#[test]
fn the_evaluation_sets_hold_their_held_out_figures() {
    let engine = engine(shipped());
    assert!(
        engine.is_hybrid(),
        "the shipped model and the index's vectors load"
    );
    struct Floor {
        set: &'static str,
        top1: f64,
        recall_at_3: f64,
        false_answers: f64,
        wrong_answers: f64,
    }
    let floors = [
        Floor {
            set: "real.toml",
            top1: 0.77,
            recall_at_3: 0.98,
            false_answers: 0.14,
            wrong_answers: 0.03,
        },
        Floor {
            set: "own.toml",
            top1: 0.93,
            recall_at_3: 0.98,
            false_answers: 0.05,
            wrong_answers: 0.04,
        },
        Floor {
            set: "questions.toml",
            top1: 0.86,
            recall_at_3: 0.95,
            false_answers: 0.09,
            wrong_answers: 0.02,
        },
    ];
    for floor in floors {
        let path = root().join("tests/search_eval").join(floor.set);
        let set = EvalSet::load(&path).unwrap();
        assert!(
            set.question.len() >= 60,
            "{}: {} questions",
            floor.set,
            set.question.len()
        );
        let report = set.run(&path, &engine, &context()).unwrap();
        qihu::commands::print_eval(&report, false);
        let held = report.held_out;
        assert!(
            held.top1 >= floor.top1,
            "{}: top-1 {:.3}",
            floor.set,
            held.top1
        );
        assert!(
            held.recall_at_3 >= floor.recall_at_3,
            "{}: recall@3 {:.3}",
            floor.set,
            held.recall_at_3
        );
        assert!(
            held.false_answer_rate <= floor.false_answers,
            "{}: false answers {:.3}",
            floor.set,
            held.false_answer_rate
        );
        assert!(
            held.answered_wrongly <= floor.wrong_answers,
            "{}: wrong answers {:.3}",
            floor.set,
            held.answered_wrongly
        );
    }
}

#[test]
fn the_home_pages_questions_are_answered_rightly_or_go_to_a_person() {
    let engine = engine(shipped());
    let answer = engine
        .answer(
            "我们公司今年研发投入大约300万元，想问一下研发费用加计扣除比例现在是多少？",
            &context(),
        )
        .unwrap();
    assert!(answer.answered, "confidence {}", answer.confidence);
    let given = answer.answer.unwrap();
    assert_eq!(given.slug, "rd-expense-super-deduction");
    assert!(given.text.contains("100%"), "{}", given.text);
    // Never the 个体工商户 FAQ again: either the 小型微利企业 policy answers, or a person does.
    let answer = engine.answer("小微企业有哪些税收优惠", &context()).unwrap();
    if answer.answered {
        assert_eq!(
            answer.answer.unwrap().slug,
            "small-micro-enterprise-tax-relief-2023"
        );
    }
    // A question about one's own case goes to a person even though its topic is in the base.
    let answer = engine
        .answer("我上个月申请的稳岗返还怎么还没到账", &context())
        .unwrap();
    assert!(!answer.answered);
}

#[test]
fn without_the_model_search_and_answers_work_lexically() {
    let lexical = SearchEngine::open(&shipped().index, analyzer()).unwrap();
    assert!(!lexical.is_hybrid());
    let hits = lexical
        .search_hybrid("研发费用加计扣除比例", 3, &context())
        .unwrap()
        .hits;
    assert_eq!(hits[0].slug, "rd-expense-super-deduction");
    let missing = SearchEngine::open(&shipped().index, analyzer())
        .unwrap()
        .with_semantic(qihu::search::semantic::load_model(Path::new(
            "models/no-such-model.bin",
        )));
    assert!(!missing.is_hybrid());
    assert!(missing.answer("研发费用加计扣除比例", &context()).is_ok());
}

/// Copies a folder tree (fixture policies) so a test may edit it.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_watch_builds_on_start_and_rebuilds_when_a_policy_changes() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_tree(&root().join("tests/fixtures/good/policies"), &policies);
    let config = dir.path().join("qihu.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\npolicies_dir = {:?}\noutput_dir = {:?}\ntemplates_dir = {:?}\n\
             [search]\nindex_dir = {:?}\nanalysis_dir = {:?}\n",
            policies,
            dir.path().join("public"),
            root().join("site-templates"),
            dir.path().join("index"),
            root().join("config/search"),
        ),
    )
    .unwrap();
    let server = support::start_server(&config, &["--watch"]).await;
    let base = server.base.clone();
    let page = format!("{base}/policies/startup-loan/");
    let body = reqwest::get(&page).await.unwrap().text().await.unwrap();
    assert!(body.contains("关于进一步加大创业担保贷款贴息力度"));

    let file = policies.join("finance/startup-loan.md");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("title: 关于进一步加大", "title: 修订后的关于进一步加大"),
    )
    .unwrap();
    // The rebuild runs in the server; poll the page (bounded) until it shows the new title.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let body = reqwest::get(&page).await.unwrap().text().await.unwrap();
        if body.contains("修订后的关于进一步加大") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the site was not rebuilt"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The index is reloaded right after the site is published.
    loop {
        let search: Value =
            reqwest::get(format!("{base}/api/search?q=%E4%BF%AE%E8%AE%A2%E5%90%8E"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        if search["hits"][0]["slug"] == "startup-loan" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index was not rebuilt: {search}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
