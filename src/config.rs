//! Settings (配置) from `qihu.toml`, every key overridable by an environment variable
//! `QIHU_<SECTION>__<KEY>` (e.g. `QIHU_SITE__BASE_URL`), as twelve-factor deployments expect.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use qihu_forms::settings::{
    CalendarSettings, DispatchSettings, IntakeSettings, MailSettings, StorageSettings,
    SupervisionSettings,
};
use serde::{Deserialize, Serialize};

/// The file read when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "qihu.toml";

/// All settings of one installation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub site: SiteSettings,
    pub search: SearchSettings,
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub mail: MailSettings,
    pub dispatch: DispatchSettings,
    pub intake: IntakeSettings,
    pub calendar: CalendarSettings,
    pub supervision: SupervisionSettings,
}

/// `[search]`: the search index (检索索引) and the Chinese analysis data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchSettings {
    pub index_dir: PathBuf,
    /// Folder with `dictionary.txt` (user dictionary), `synonyms.toml` and `stopwords.txt`.
    pub analysis_dir: PathBuf,
    /// The sentence-embedding model for semantic retrieval (语义检索); when it is missing or broken, search and
    /// instant answers work lexically and say so once.
    pub model: PathBuf,
    /// Passage vectors kept between builds (empty: `<index_dir>.vector-cache` beside the index).
    pub vector_cache: PathBuf,
}

impl SearchSettings {
    /// Where the vector cache of the index at `index_dir` is kept.
    pub fn vector_cache_for(&self, index_dir: &Path) -> PathBuf {
        if self.vector_cache.as_os_str().is_empty() {
            crate::search::vectors::default_cache_path(index_dir)
        } else {
            self.vector_cache.clone()
        }
    }
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            index_dir: PathBuf::from("data/index"),
            analysis_dir: PathBuf::from("config/search"),
            model: PathBuf::from("models/e5-small-zh-q4.bin"),
            vector_cache: PathBuf::new(),
        }
    }
}

/// `[server]`: `qihu serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address to listen on.
    pub addr: String,
    /// Public address of the server, for links in e-mails (empty: `http://` + `addr`).
    pub public_url: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            addr: "127.0.0.1:8080".to_owned(),
            public_url: String::new(),
        }
    }
}

/// `[site]`: the policy supermarket (政策超市) and where its files live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteSettings {
    /// Site title shown in every page header.
    pub title: String,
    /// The city the site serves, e.g. 滕州市; used in headings and the footer.
    pub city: String,
    /// Public address of the site, ending in `/`; absolute links (sitemap, feed) start with it.
    pub base_url: String,
    pub policies_dir: PathBuf,
    pub output_dir: PathBuf,
    pub templates_dir: PathBuf,
    /// Address of the forms backend that receives requests (诉求); empty means the same host as the site.
    pub forms_url: String,
    /// Policies per listing page.
    pub page_size: usize,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            title: "企呼政应·政策超市".to_owned(),
            city: "滕州市".to_owned(),
            base_url: "http://127.0.0.1:8080/".to_owned(),
            policies_dir: PathBuf::from("policies"),
            output_dir: PathBuf::from("public"),
            templates_dir: PathBuf::from("site-templates"),
            forms_url: String::new(),
            page_size: 20,
        }
    }
}

/// Settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("找不到配置文件 {0}")]
    Missing(PathBuf),
    #[error("配置有误：{0}")]
    Invalid(#[from] Box<figment::Error>),
}

impl Settings {
    /// Reads `path` (or `qihu.toml` in the working directory when it exists), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match path {
            Some(path) if !path.is_file() => return Err(ConfigError::Missing(path.to_owned())),
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        figment
            .merge(Env::prefixed("QIHU_").split("__"))
            .extract()
            .map_err(|error| ConfigError::Invalid(Box::new(error)))
    }
}

impl SiteSettings {
    /// The path part of `base_url`, always starting and ending with `/`: every link in the site starts with it,
    /// so the site works both at a domain's root and under a sub-path.
    pub fn base_path(&self) -> String {
        let without_scheme = self
            .base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, rest)| rest);
        let path = without_scheme
            .find('/')
            .map_or("/", |slash| &without_scheme[slash..]);
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        }
    }

    /// `base_url` with exactly one trailing `/`.
    pub fn absolute_base(&self) -> String {
        format!("{}/", self.base_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_base(base_url: &str) -> SiteSettings {
        SiteSettings {
            base_url: base_url.to_owned(),
            ..SiteSettings::default()
        }
    }

    #[test]
    fn base_path_follows_the_public_address() {
        assert_eq!(with_base("https://zwfw.example.cn").base_path(), "/");
        assert_eq!(with_base("https://example.cn/zcsc").base_path(), "/zcsc/");
        assert_eq!(with_base("https://example.cn/a/b/").base_path(), "/a/b/");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type.
    fn mail_and_dispatch_settings_come_from_the_environment_too() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("qihu.toml", "[dispatch]\nauto = false\n")?;
            jail.set_env(
                "QIHU_MAIL__SMTP_URL",
                "smtp://mailer:s3cret@mail.example:587?tls=required",
            );
            jail.set_env("QIHU_DISPATCH__AUTO", "true");
            jail.set_env("QIHU_STORAGE__DATABASE_URL", "sqlite:///srv/qihu/qihu.db");
            let settings = Settings::load(None).expect("settings load");
            assert_eq!(
                settings.mail.smtp_url.as_deref(),
                Some("smtp://mailer:s3cret@mail.example:587?tls=required")
            );
            assert!(settings.dispatch.auto);
            assert_eq!(settings.storage.database_url, "sqlite:///srv/qihu/qihu.db");
            assert!(
                !format!("{settings:?}").contains("s3cret"),
                "secrets stay out of logs"
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type.
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "qihu.toml",
                "[site]\ntitle = \"文件里的标题\"\npage_size = 5\n",
            )?;
            jail.set_env("QIHU_SITE__TITLE", "环境变量里的标题");
            let settings = Settings::load(None).expect("settings load");
            assert_eq!(settings.site.title, "环境变量里的标题");
            assert_eq!(settings.site.page_size, 5);
            Ok(())
        });
    }
}
