//! The one running server of the end-to-end tests, used by every test binary: the real app with its own folder
//! and database on a free loopback port, a client that does not follow redirects (so tests see each 303), and
//! the steps every suite takes — console users and sign-in as a browser does it, pages and forms with the
//! session's CSRF token, the outbox drained when a test says so (nothing sleeps).

use std::sync::Arc;

use chrono::Utc;
use qihu::config::Settings;
use qihu::serve::App;
use qihu_forms::console::{self, Role};
use qihu_forms::mail::drain_outbox;
use qihu_forms::store::RequestRow;
use qihu_forms::workflow::Forms;
use serde_json::Value;

use super::{Session, cookie_of, hidden, serve_app};

/// The password of every console user the tests create (long enough for the password rules).
pub const PASSWORD: &str = "滕州推进中心2026工作台";

/// A running server with its own folder, database, mail settings and client.
pub struct TestApp {
    /// The app's folder (database, key, outbox): removed when the test ends.
    pub dir: tempfile::TempDir,
    pub base: String,
    pub app: Arc<App>,
    pub client: reqwest::Client,
    pub settings: Settings,
}

impl TestApp {
    /// Opens the app with `settings` (whose files live in `dir`) and serves it on a free port.
    pub async fn start(dir: tempfile::TempDir, settings: Settings) -> TestApp {
        let app = Arc::new(App::open(settings.clone()).await.expect("app opens"));
        let address = serve_app(&app).await;
        TestApp {
            dir,
            base: format!("http://{address}"),
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            settings,
        }
    }

    pub fn forms(&self) -> &Forms {
        &self.app.forms.forms
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Sends what the outbox holds now, as the mail worker would.
    pub async fn drain(&self) -> qihu_forms::mail::DrainReport {
        drain_outbox(&self.app.store, &self.app.mailer, Utc::now())
            .await
            .unwrap()
    }

    /// Creates a console user named 张主任 with [`PASSWORD`].
    pub async fn add_user(&self, username: &str, role: Role) {
        console::create_user(
            &self.app.store,
            username,
            Some("张主任"),
            PASSWORD,
            role,
            Utc::now(),
        )
        .await
        .unwrap();
    }

    /// Opens the login page and posts its form as a browser does (its CSRF cookie and field).
    pub async fn login_attempt(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self.get("/console/login").await;
        assert_eq!(page.status(), 200);
        let cookie = cookie_of(&page, "qihu_console_login");
        let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
        self.client
            .post(format!("{}/console/login", self.base))
            .header("cookie", cookie)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/console"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs in as `username` (created with [`TestApp::add_user`]); the session's cookie and CSRF token.
    pub async fn login(&self, username: &str) -> Session {
        let response = self.login_attempt(username, PASSWORD).await;
        assert_eq!(response.status(), 303);
        let cookie = cookie_of(&response, "qihu_session");
        let page = self
            .client
            .get(format!("{}/console", self.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
        Session { cookie, csrf }
    }

    pub async fn console_get(&self, session: &Session, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", &session.cookie)
            .send()
            .await
            .unwrap()
    }

    /// The HTML of a console page the session opens (which must answer 200).
    pub async fn console_page(&self, session: &Session, path: &str) -> String {
        let response = self.console_get(session, path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    /// Posts `fields` as they are, with the session's cookie (tests of the CSRF check use this).
    pub async fn console_post(
        &self,
        session: &Session,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &session.cookie)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts a console form as the browser does: `fields` and the session's CSRF token.
    pub async fn console_submit(
        &self,
        session: &Session,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &session.csrf));
        self.console_post(session, path, &fields).await
    }

    /// A request as the database has it now.
    pub async fn stored(&self, number: &str) -> RequestRow {
        self.app
            .store
            .request_by_tracking_number(number)
            .await
            .unwrap()
            .expect("the request is stored")
    }

    /// Submits a request through the API (which must answer 201); its tracking number.
    pub async fn submit(&self, body: &Value) -> String {
        let response = self.post_json("/api/requests", body).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        created["tracking_number"].as_str().unwrap().to_owned()
    }
}
