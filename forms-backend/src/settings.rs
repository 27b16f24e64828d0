//! Settings of the forms backend (表单后台配置), read by the root crate from `qihu.toml` and the environment
//! (`QIHU_MAIL__SMTP_URL` …) and handed over whole.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// `sqlite://data/qihu.db`
    pub database_url: String,
    /// Server secret (created on first start): idempotent submissions get their tracking link back from it.
    pub secret_file: PathBuf,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            database_url: "sqlite://data/qihu.db".to_owned(),
            secret_file: PathBuf::from("data/secret.key"),
        }
    }
}

/// Reads the server secret from `path`, creating it (32 random bytes, owner-only) when missing.
pub fn load_or_create_secret(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use rand::RngCore;
    match std::fs::read(path) {
        Ok(secret) if secret.len() >= 32 => Ok(secret),
        Ok(_) | Err(_) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            let mut secret = vec![0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            std::fs::write(path, &secret)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(secret)
        }
    }
}

/// `[mail]`: unset `smtp_url` writes `.eml` files to `outbox_dir` so a fresh machine works without a mail server.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtps://…` (TLS).
    pub smtp_url: Option<String>,
    /// Sender, e.g. `滕州市企业诉求平台 <noreply@tengzhou.example>`.
    pub from: String,
    pub outbox_dir: PathBuf,
    /// Seconds between two passes of the delivery worker.
    pub poll_seconds: u64,
    /// Seconds a worker holds the messages it took before another instance may send what it left (a worker
    /// that died): longer than the slowest send of a batch.
    pub claim_seconds: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: "滕州市企业诉求平台 <noreply@tengzhou.example>".to_owned(),
            outbox_dir: PathBuf::from("data/outbox"),
            poll_seconds: 5,
            claim_seconds: 120,
        }
    }
}

impl fmt::Debug for MailSettings {
    /// Never prints the SMTP password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .field("poll_seconds", &self.poll_seconds)
            .field("claim_seconds", &self.claim_seconds)
            .finish()
    }
}

/// `smtp://user:secret@host` → `smtp://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// `[dispatch]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DispatchSettings {
    /// Dispatch without the centre when the catalogue's match is clear.
    pub auto: bool,
    /// Local level first (属地管理): send requests to the enterprise's town/zone first.
    pub local_first: bool,
    pub units_file: PathBuf,
    pub catalogue_file: PathBuf,
    /// Days a unit's action link stays valid.
    pub link_days: i64,
    /// 第一时间转办: working days the centre has to dispatch a new request (see `sla::dispatch_due`).
    pub dispatch_working_days: u32,
    /// 快速响应: working days a unit has to sign for (受理) or return a dispatched order (see `sla::accept_due`).
    pub accept_working_days: u32,
    /// Working days the enterprise has to rate a reported result (through its link or a call-back) before the
    /// order is closed as 未评价 (see `sla::rating_lapses_at`).
    pub rating_working_days: u32,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            auto: false,
            local_first: false,
            units_file: PathBuf::from("config/units.toml"),
            catalogue_file: PathBuf::from("config/dispatch.toml"),
            link_days: 60,
            dispatch_working_days: crate::sla::DISPATCH_WORKING_DAYS,
            accept_working_days: crate::sla::ACCEPT_WORKING_DAYS,
            rating_working_days: crate::sla::RATING_WORKING_DAYS,
        }
    }
}

/// `[calendar]`: the working-day calendar files (one per year).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CalendarSettings {
    pub dir: PathBuf,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        CalendarSettings {
            dir: PathBuf::from("config/calendar"),
        }
    }
}

/// `[intake]`: protection of the request form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntakeSettings {
    /// Submissions accepted per client address per minute (load tests lift it).
    pub per_minute: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest file a unit may upload (the signed and sealed 不满意诉求审核反馈表), in bytes.
    pub max_upload_bytes: usize,
    /// Reverse proxies (e.g. the nginx in front of several instances) whose `X-Forwarded-For` names the client;
    /// empty: the peer is the client. Without this behind a proxy, every user would share the proxy's limit.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        IntakeSettings {
            per_minute: 20,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 10 * 1024 * 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_passwords_never_reach_the_log() {
        let settings = MailSettings {
            smtp_url: Some("smtp://mailer:s3cret@mail.example:587?tls=required".to_owned()),
            ..MailSettings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("s3cret"));
        assert!(printed.contains("smtp://mailer:***@mail.example:587"));
    }

    #[test]
    fn a_scanned_form_of_up_to_10_mb_is_accepted_by_default() {
        let intake = IntakeSettings::default();
        assert_eq!(intake.max_upload_bytes, 10 * 1024 * 1024);
        assert!(intake.max_upload_bytes > intake.max_body_bytes);
    }
}

/// `[supervision]`: the supervision pass (督办亮牌) that `qihu serve` runs in the background.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SupervisionSettings {
    /// Seconds between two passes (default 300).
    pub interval_seconds: u64,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            interval_seconds: 300,
        }
    }
}
