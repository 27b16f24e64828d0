//! What the end-to-end test binaries share: the repository root, the settings of an app in a temporary folder,
//! and a small SMTP server on loopback. Each binary uses a part of it.
#![allow(dead_code)]

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
