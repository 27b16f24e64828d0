//! What the end-to-end test binaries share: the repository root, the settings of an app in a temporary folder,
//! the one running test server (`app.rs`), and a small SMTP server on loopback. Each binary uses a part of it.
#![allow(dead_code)]

pub mod app;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use qihu::config::Settings;
use qihu::serve::App;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Settings for an app in `dir`: the repository's templates, units, catalogue and calendar; a fresh database;
/// no search index; no SMTP server (mails become `.eml` files in `dir/outbox`); automatic dispatch off.
pub fn app_settings(dir: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.site.templates_dir = root().join("site-templates");
    settings.site.output_dir = dir.join("public");
    settings.search.index_dir = dir.join("no-index");
    settings.search.analysis_dir = root().join("config/search");
    settings.storage.database_url = format!("sqlite://{}", dir.join("data/qihu.db").display());
    settings.storage.secret_file = dir.join("data/secret.key");
    settings.mail.smtp_url = None;
    settings.mail.outbox_dir = dir.join("outbox");
    settings.dispatch.units_file = root().join("config/units.toml");
    settings.dispatch.catalogue_file = root().join("config/dispatch.toml");
    settings.calendar.dir = root().join("config/calendar");
    settings.dispatch.auto = false;
    settings.server.public_url = "http://qihu.test".to_owned();
    settings
}

/// Serves `app` on a free loopback port, as `qihu serve` does, until the test ends; returns the address.
pub async fn serve_app(app: &App) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

/// A signed-in browser: its session cookie and the session's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// The value of the first hidden field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

pub fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no cookie {name}"))
}

/// One message as the SMTP listener received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A small SMTP server on loopback that accepts everything and keeps what it received.
#[derive(Clone, Default)]
pub struct SmtpSink {
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    /// Listens on `listener` until the test ends.
    pub fn serve(&self, listener: TcpListener) {
        let received = Arc::clone(&self.received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let received = Arc::clone(&received);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                    let mut recipients = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if command.starts_with("EHLO") {
                            b"250-sink.test\r\n250 8BITMIME\r\n"
                        } else if command.starts_with("HELO") || command.starts_with("MAIL FROM") {
                            b"250 OK\r\n"
                        } else if command.starts_with("RCPT TO") {
                            let address = line.trim_end()[8..]
                                .trim()
                                .trim_matches(['<', '>'])
                                .to_owned();
                            recipients.push(address);
                            b"250 OK\r\n"
                        } else if command == "DATA" {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            let message = mail_parser::MessageParser::default()
                                .parse(data.as_bytes())
                                .expect("a parsable message");
                            received.lock().unwrap().push(Received {
                                recipients: std::mem::take(&mut recipients),
                                message_id: message.message_id().unwrap_or_default().to_owned(),
                                subject: message.subject().unwrap_or_default().to_owned(),
                                text: message.body_text(0).unwrap_or_default().into_owned(),
                                html: message.body_html(0).unwrap_or_default().into_owned(),
                            });
                            b"250 queued\r\n"
                        } else if command == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn to(&self, recipient: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|message| message.recipients.iter().any(|r| r == recipient))
            .collect()
    }
}

impl SmtpSink {
    /// A sink listening on a free loopback port; returns it with the port.
    pub async fn start() -> (SmtpSink, u16) {
        let sink = SmtpSink::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        sink.serve(listener);
        (sink, port)
    }
}

/// A `qihu serve` process started by a test; killed (and reaped) when dropped, passed or failed.
pub struct Server {
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>` as the server printed it.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary with `config` and `qihu serve --addr 127.0.0.1:0 <extra>`, and waits for the line in
/// which it prints its address (printed once the site is built and it listens).
pub async fn start_server(config: &Path, extra: &[&str]) -> Server {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qihu"))
        .arg("--config")
        .arg(config)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    })
    .await
    .unwrap();
    let base = line
        .trim()
        .split_once("http://")
        .map(|(_, address)| format!("http://{}", address.trim_end_matches('/')))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Server { child, base }
}

/// Waits until the outbox of `store` holds nothing pending (the running servers' workers sent it all), at most
/// `seconds`; returns the counts then.
pub async fn outbox_sent(
    store: &qihu_forms::store::Store,
    seconds: u64,
) -> qihu_forms::store::OutboxCounts {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let counts = store.outbox_counts().await.unwrap();
        if counts.pending == 0 {
            return counts;
        }
        assert!(std::time::Instant::now() < deadline, "the outbox drains");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The database a test suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests use: `QIHU_TEST_POSTGRES` (a URL without a database), by default the
/// project machines' `postgres://postgres@127.0.0.1:5432`.
pub fn postgres_server() -> String {
    std::env::var("QIHU_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// Prefix of the databases the tests create: `qihu_t_<pid>_<n>`.
const TEST_DATABASE_PREFIX: &str = "qihu_t_";

/// The URL of the database for a test in `dir`: a file in `dir` on SQLite; on PostgreSQL a new, empty database
/// of its own. Test databases are dropped by the first test of a later run, once the process that made them
/// has ended (a database can be reopened by a restarted server within a test, so it outlives the test's app).
pub fn database_url(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("data/qihu.db").display()),
        Backend::Postgres => {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            static SWEPT: std::sync::Once = std::sync::Once::new();
            let server = postgres_server();
            SWEPT.call_once(|| on_postgres(&server, drop_databases_of_ended_runs));
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("{TEST_DATABASE_PREFIX}{}_{n}", std::process::id());
            let statement = format!("CREATE DATABASE {name}");
            on_postgres(&server, move |connection| {
                Box::pin(async move {
                    use sqlx::Executor;
                    connection.execute(statement.as_str()).await.map(|_| ())
                })
            });
            format!("{server}/{name}")
        }
    }
}

/// Runs `job` on the server's `postgres` database, on a thread of its own (callable from sync and async code).
fn on_postgres<F>(server: &str, job: F)
where
    F: for<'c> FnOnce(
            &'c mut sqlx::PgConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>,
        > + Send
        + 'static,
{
    let url = format!("{server}/postgres");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|error| {
                panic!("no PostgreSQL server at {url} ({error}); .ci/run starts one, or set QIHU_TEST_POSTGRES")
            });
            job(&mut connection).await.unwrap();
        });
    })
    .join()
    .unwrap();
}

/// Drops the test databases whose run has ended.
fn drop_databases_of_ended_runs(
    connection: &mut sqlx::PgConnection,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        use sqlx::Executor;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'qihu\\_t\\_%'")
                .fetch_all(&mut *connection)
                .await?;
        for name in names {
            let pid = name
                .strip_prefix(TEST_DATABASE_PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            let running = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !running {
                connection
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
            }
        }
        Ok(())
    })
}
