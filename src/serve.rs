//! `qihu serve`: ONE axum router for the static site, the search API, the server-rendered search page and
//! (with the forms-backend issue) the request routes. `--watch` rebuilds the site and index on changes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tera::Tera;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use qihu_forms::answer::{InstantAnswer, InstantAnswerer};
use qihu_forms::dispatch::{Catalogue, Directory};
use qihu_forms::http::{FormsState, RateLimiter};
use qihu_forms::mail::Mailer;
use qihu_forms::store::Store;
use qihu_forms::workflow::Forms;

use crate::build::{self, BuildOptions};
use crate::cli::{BuildArgs, ServeArgs};
use crate::commands::{build_options, today_in_shanghai};
use crate::config::Settings;
use crate::search::engine::SearchServiceError;
use crate::search::semantic::load_model;
use crate::search::{Analyzer, QueryContext, SearchEngine};
use crate::site;

/// Results per page of the server-rendered search page.
const PAGE_RESULTS: usize = 10;

/// The search engine in use; replaced whole after a rebuild.
type EngineSlot = Arc<RwLock<Option<Arc<SearchEngine>>>>;

/// What every handler shares. The engine and templates are replaced whole after a rebuild.
pub struct AppState {
    pub settings: Settings,
    engine: EngineSlot,
    templates: RwLock<Arc<Tera>>,
}

/// The forms backend asks the policy base through this (即时答复).
pub struct SearchAnswerer {
    engine: EngineSlot,
    base_path: String,
}

impl InstantAnswerer for SearchAnswerer {
    fn answer(&self, question: &str) -> Option<InstantAnswer> {
        let engine = self
            .engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let context = QueryContext {
            today: today_in_shanghai(),
            base_path: self.base_path.clone(),
        };
        let response = engine.answer(question, &context).ok()?;
        Some(InstantAnswer {
            answered: response.answered,
            json: serde_json::to_value(&response).ok()?,
        })
    }
}

impl AppState {
    /// Opens the index and templates named by `settings`; a missing index leaves search unavailable (503).
    pub fn open(settings: Settings) -> anyhow::Result<AppState> {
        let state = AppState::without_search(settings)?;
        state.reload_engine();
        Ok(state)
    }

    /// The templates only, no search engine (and no model): for the commands that work on the database.
    fn without_search(settings: Settings) -> anyhow::Result<AppState> {
        let templates = site::load_templates(&settings.site.templates_dir)?;
        Ok(AppState {
            engine: Arc::new(RwLock::new(None)),
            templates: RwLock::new(Arc::new(templates)),
            settings,
        })
    }

    /// Re-opens the search index (after a build) and the templates.
    pub fn reload_engine(&self) {
        let settings = &self.settings;
        let engine = Analyzer::load(&settings.search.analysis_dir)
            .map_err(crate::search::SearchError::from)
            .and_then(|analyzer| SearchEngine::open(&settings.search.index_dir, Arc::new(analyzer)))
            .map(|engine| engine.with_semantic(load_model(&settings.search.model)));
        match engine {
            Ok(engine) => {
                tracing::info!(policies = engine.policy_count(), "检索索引已加载");
                *self.engine.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(engine));
            }
            Err(error) => tracing::warn!("检索不可用：{error}"),
        }
        match site::load_templates(&settings.site.templates_dir) {
            Ok(templates) => {
                *self.templates.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(templates)
            }
            Err(error) => tracing::warn!("模板重新加载失败：{error}"),
        }
    }

    fn engine(&self) -> Option<Arc<SearchEngine>> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn templates(&self) -> Arc<Tera> {
        Arc::clone(&self.templates.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn query_context(&self) -> QueryContext {
        QueryContext {
            today: today_in_shanghai(),
            base_path: self.settings.site.base_path(),
        }
    }
}

/// An API failure, as JSON `{"error": "..."}` in Chinese. 5xx bodies say nothing internal.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unavailable,
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "检索服务暂不可用，请稍后再试".to_owned(),
            ),
            ApiError::Internal(detail) => {
                tracing::error!("检索出错：{detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器内部错误，请稍后再试".to_owned(),
                )
            }
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}

impl From<SearchServiceError> for ApiError {
    fn from(error: SearchServiceError) -> Self {
        match error {
            SearchServiceError::Query(query) => ApiError::BadRequest(query.to_string()),
            SearchServiceError::Engine(engine) => ApiError::Internal(engine.to_string()),
        }
    }
}

/// Query string of the search endpoints; numbers are read by hand so errors are in Chinese.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    limit: Option<String>,
}

fn params(params: Result<Query<SearchParams>, QueryRejection>) -> Result<SearchParams, ApiError> {
    params
        .map(|Query(params)| params)
        .map_err(|_| ApiError::BadRequest("查询参数无法识别，请检查编码（应为 UTF-8）".to_owned()))
}

fn limit_of(params: &SearchParams) -> Result<usize, ApiError> {
    match params.limit.as_deref().map(str::trim) {
        None | Some("") => Ok(10),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=crate::search::engine::MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit 应为 1 到 {} 之间的整数",
                    crate::search::engine::MAX_LIMIT
                ))
            }),
    }
}

async fn api_search(
    State(state): State<Arc<AppState>>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let limit = limit_of(&params)?;
    let q = params.q.unwrap_or_default();
    let response = on_engine(&state, move |engine, context| {
        engine.search(&q, limit, context)
    })
    .await?;
    Ok(Json(response).into_response())
}

/// Runs search work on the blocking pool: segmentation and scoring are CPU-bound.
async fn on_engine<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&SearchEngine, &QueryContext) -> Result<T, SearchServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let engine = state.engine().ok_or(ApiError::Unavailable)?;
    let context = state.query_context();
    Ok(tokio::task::spawn_blocking(move || work(&engine, &context))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))??)
}

async fn api_answer(
    State(state): State<Arc<AppState>>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = params(query)?.q.unwrap_or_default();
    let response = on_engine(&state, move |engine, context| engine.answer(&q, context)).await?;
    Ok(Json(response).into_response())
}

/// The search page rendered on the server, so search works with JavaScript off.
async fn search_page(
    State(state): State<Arc<AppState>>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let mut context = site::base_context(&state.settings.site);
    context.insert("page_title", "政策搜索");
    let mut status = StatusCode::OK;
    let params = query.map(|Query(params)| params).ok();
    let q = params
        .as_ref()
        .and_then(|params| params.q.clone())
        .unwrap_or_default();
    if params.is_none() {
        status = StatusCode::BAD_REQUEST;
        context.insert("search_error", "查询参数无法识别，请重新输入");
    } else if !q.trim().is_empty() {
        context.insert("query", &q);
        match state.engine() {
            None => {
                status = StatusCode::SERVICE_UNAVAILABLE;
                context.insert("search_error", "检索服务暂不可用，请稍后再试");
            }
            Some(engine) => {
                let search_context = state.query_context();
                let result = tokio::task::spawn_blocking(move || {
                    engine.search_hybrid(&q, PAGE_RESULTS, &search_context)
                })
                .await;
                match result {
                    Ok(Ok(response)) if response.hits.is_empty() => {
                        context.insert(
                            "search_error",
                            "没有找到相关政策。可以换个说法，或提交咨询。",
                        );
                    }
                    Ok(Ok(response)) => {
                        context.insert(
                            "search_error",
                            &format!("找到 {} 条相关结果", response.hits.len()),
                        );
                        context.insert("hits", &response.hits);
                    }
                    Ok(Err(SearchServiceError::Query(error))) => {
                        status = StatusCode::BAD_REQUEST;
                        context.insert("search_error", &error.to_string());
                    }
                    Ok(Err(error)) => {
                        tracing::error!("检索出错：{error}");
                        status = StatusCode::INTERNAL_SERVER_ERROR;
                        context.insert("search_error", "检索出错，请稍后再试");
                    }
                    Err(error) => {
                        tracing::error!("检索任务失败：{error}");
                        status = StatusCode::INTERNAL_SERVER_ERROR;
                        context.insert("search_error", "检索出错，请稍后再试");
                    }
                }
            }
        }
    }
    match state.templates().render("search.html", &context) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!("渲染搜索页失败：{}", site::tera_message(&error));
            (StatusCode::INTERNAL_SERVER_ERROR, "服务器内部错误").into_response()
        }
    }
}

/// The whole application: API, server-rendered search, and the static site with its 404 page.
pub fn router(state: Arc<AppState>) -> Router {
    let site_dir = state.settings.site.output_dir.clone();
    let static_site = ServeDir::new(&site_dir)
        .append_index_html_on_directories(true)
        .not_found_service(ServeFile::new(site_dir.join("404.html")));
    let app = Router::new()
        .route("/api/search", get(api_search))
        .route("/api/answer", get(api_answer))
        .route("/search", get(search_page))
        .route("/search/", get(search_page))
        .fallback_service(static_site)
        .with_state(state.clone())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'self'",
            ),
        ));
    let base_path = state.settings.site.base_path();
    if base_path == "/" {
        app
    } else {
        Router::new().nest(base_path.trim_end_matches('/'), app)
    }
}

/// Everything `qihu serve` runs: the site and search ([`AppState`]) and the forms backend with its database
/// and mailer.
pub struct App {
    pub state: Arc<AppState>,
    pub forms: Arc<FormsState>,
    pub store: Store,
    pub mailer: Mailer,
}

impl App {
    /// Opens the index, the database (running migrations), the unit directory and catalogue, and the mailer.
    pub async fn open(settings: Settings) -> anyhow::Result<App> {
        let state = AppState::open(settings.clone())?;
        App::open_with(settings, state).await
    }

    /// The forms backend without the search engine and its model, for the commands that only work on the
    /// database (`qihu tick`, `qihu report`, `qihu export`): a consultation would go to a person.
    pub async fn open_for_data(settings: Settings) -> anyhow::Result<App> {
        let state = AppState::without_search(settings.clone())?;
        App::open_with(settings, state).await
    }

    async fn open_with(settings: Settings, state: AppState) -> anyhow::Result<App> {
        use anyhow::Context as _;
        let state = Arc::new(state);
        let store = Store::connect(&settings.storage.database_url)
            .await
            .with_context(|| format!("打开数据库 {} 失败", settings.storage.database_url))?;
        let directory = Directory::load(&settings.dispatch.units_file)?;
        let catalogue = Catalogue::load(&settings.dispatch.catalogue_file, &directory)?;
        let mailer = Mailer::from_settings(&settings.mail)?;
        let calendar = qihu_forms::calendar::LiveCalendar::load(&settings.calendar.dir)?;
        if let Some(warning) = calendar.current().missing_next_year_warning(
            today_in_shanghai(),
            &settings.calendar.dir.display().to_string(),
        ) {
            tracing::warn!("{warning}");
        }
        // The secret is kept in the database, so every instance on it uses one key; an installation that had
        // only the file keeps its key (the file's is the one stored first).
        let candidate = qihu_forms::settings::load_or_create_secret(&settings.storage.secret_file)
            .with_context(|| {
                format!(
                    "读取密钥文件 {} 失败",
                    settings.storage.secret_file.display()
                )
            })?;
        let secret = store
            .shared_secret("server", &candidate)
            .await
            .context("从数据库读取服务器密钥失败")?;
        let public_url = if settings.server.public_url.trim().is_empty() {
            format!("http://{}", settings.server.addr)
        } else {
            settings.server.public_url.trim_end_matches('/').to_owned()
        };
        let forms = Forms {
            store: store.clone(),
            directory,
            catalogue,
            dispatch: settings.dispatch.clone(),
            calendar,
            answerer: Arc::new(SearchAnswerer {
                engine: Arc::clone(&state.engine),
                base_path: settings.site.base_path(),
            }),
            templates: state.templates(),
            page_context: site::base_context(&settings.site),
            public_url,
            secret,
        };
        let forms = Arc::new(FormsState {
            forms: Arc::new(forms),
            limiter: RateLimiter::new(settings.intake.per_minute),
            intake: settings.intake.clone(),
        });
        Ok(App {
            state,
            forms,
            store,
            mailer,
        })
    }

    /// ONE router: the forms backend's routes, then search and the static site.
    pub fn router(&self) -> Router {
        let forms = qihu_forms::http::router(Arc::clone(&self.forms)).layer(
            axum::extract::DefaultBodyLimit::max(self.forms.intake.max_body_bytes),
        );
        router(Arc::clone(&self.state)).merge(forms)
    }
}

/// `qihu serve`: builds first when the site or index is missing, then serves until Ctrl-C.
pub fn run(settings: Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let addr = args
        .addr
        .clone()
        .unwrap_or_else(|| settings.server.addr.clone());
    let options = build_options(
        &settings,
        BuildArgs {
            policies: None,
            out: None,
            templates: None,
            index: None,
            today: None,
        },
    );
    if !settings.site.output_dir.join("index.html").is_file()
        || !settings
            .search
            .index_dir
            .join(crate::search::schema::META_FILE)
            .is_file()
    {
        tracing::info!("网站或检索索引不存在，先生成一次");
        build::build(&settings.site, &options)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = App::open(settings).await?;
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let local: SocketAddr = listener.local_addr()?;
        println!(
            "政策超市已启动：http://{local}{}",
            app.state.settings.site.base_path()
        );
        if args.watch {
            watch(Arc::clone(&app.state), options)?;
        }
        // Orders a crash left at `new` between intake and automatic dispatch (saved by an earlier version in two
        // steps) are dispatched before the first request is served.
        match app
            .forms
            .forms
            .finish_interrupted_dispatches(chrono::Utc::now())
            .await
        {
            Ok(0) => {}
            Ok(finished) => tracing::info!("已完成 {finished} 件中断的自动派单"),
            Err(error) => tracing::error!("完成中断的自动派单时出错：{error}"),
        }
        let poll = Duration::from_secs(app.state.settings.mail.poll_seconds.max(1));
        qihu_forms::mail::spawn_worker(app.store.clone(), app.mailer.clone(), poll);
        spawn_supervision(
            Arc::clone(&app.forms.forms),
            Duration::from_secs(app.state.settings.supervision.interval_seconds.max(1)),
        );
        axum::serve(
            listener,
            app.router()
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs a supervision pass (督办亮牌, [`qihu_forms::sla::cards::supervise`]) every `interval`, from the start.
pub fn spawn_supervision(
    forms: Arc<qihu_forms::workflow::Forms>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // A new year's holiday file takes effect without a restart.
            match forms.calendar.reload() {
                Ok(Some(version)) => tracing::info!("工作日历已重新载入：{version}"),
                Ok(None) => {}
                Err(error) => tracing::warn!("工作日历未能重新载入，继续使用原日历：{error}"),
            }
            match qihu_forms::sla::cards::supervise(&forms, chrono::Utc::now()).await {
                Ok(report) if report.held_elsewhere => {
                    tracing::debug!("另一个实例正在进行督办巡检，本实例本轮跳过");
                }
                Ok(report) => {
                    for card in &report.issued {
                        tracing::info!(
                            unit = %card.unit,
                            order = %card.tracking_number,
                            "督办亮牌：{}（{}）",
                            card.kind.label(),
                            card.evidence
                        );
                    }
                }
                Err(error) => tracing::warn!("督办亮牌巡检失败：{error}"),
            }
        }
    })
}

/// Rebuilds the site and the index when a policy, template or analysis file changes; a failed rebuild keeps
/// serving the previous site and says why in the log.
fn watch(state: Arc<AppState>, options: BuildOptions) -> anyhow::Result<()> {
    use notify::{RecursiveMode, Watcher};
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| !event.kind.is_access()) {
            let _ = sender.send(());
        }
    })?;
    let watched: Vec<PathBuf> = vec![
        options.policies_dir.clone(),
        options.templates_dir.clone(),
        options.analysis_dir.clone(),
    ];
    for dir in &watched {
        if dir.exists() {
            watcher.watch(dir, RecursiveMode::Recursive)?;
        }
    }
    tracing::info!("正在监视 {:?} 的变化", watched);
    std::thread::spawn(move || {
        let _watcher = watcher;
        while receiver.recv().is_ok() {
            // Editors write several events per save: wait until they settle.
            while receiver.recv_timeout(Duration::from_millis(300)).is_ok() {}
            let mut options = options.clone();
            options.today = today_in_shanghai();
            match build::build(&state.settings.site, &options) {
                Ok(report) => {
                    tracing::info!(pages = report.pages, "已重新生成网站和检索索引");
                    state.reload_engine();
                }
                Err(error) => tracing::error!("重新生成失败，继续提供原网站：{error}"),
            }
        }
    });
    Ok(())
}
