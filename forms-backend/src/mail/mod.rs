//! E-mail (邮件): the outbox worker and its lettre transport. Messages are written to the outbox table in the
//! same transaction as the event that causes them ([`crate::store::Store::record`]); this module delivers them:
//! retries with back-off on transient errors, dead-letter on permanent ones, and never sends a message again once
//! it is marked sent (one outbox row per event and recipient).
//!
//! After a crash between handing a message over and marking it sent, the message is tried again: the `.eml`
//! folder then holds still one file for it (named by its outbox row, written whole and renamed into place), and
//! over SMTP it carries the same Message-ID, so the receiving server can drop the repeat.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::path::PathBuf;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::settings::{MailSettings, redact_url};
use crate::store::{OutboxMessage, Store, StoreError};

/// Attempts before a message that keeps failing transiently is given up (dead-lettered).
pub const MAX_ATTEMPTS: i64 = 10;
/// First retry after this long; each further one waits twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Messages claimed at a time. Small, so that what a worker that dies held waits for its claim to expire is
/// little.
const BATCH: i64 = 20;

/// The mail settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("发件人地址“{0}”无效")]
    BadSender(String),
    #[error("SMTP 地址 {url} 无效：{message}")]
    BadSmtpUrl { url: String, message: String },
    #[error("无法创建邮件目录 {path}：{source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where messages go: `.eml` files (default) or a real SMTP server.
#[derive(Clone)]
enum Transport {
    /// One `outbox-<row>.eml` per message in this folder.
    Files(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends outbox messages.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// How long a claimed batch is this worker's; after that another instance may take what is left of it.
    claim: chrono::Duration,
}

/// How one delivery attempt ended.
#[derive(Debug)]
enum Delivery {
    Sent,
    /// Worth trying again later (connection refused, 4xx).
    Transient(String),
    /// Will never succeed (5xx, bad address).
    Permanent(String),
}

/// What a pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

impl Mailer {
    /// How long after claiming a batch this worker still starts sending from it: half the claim.
    fn claim_window(&self) -> Duration {
        (self.claim / 2).to_std().unwrap_or(Duration::from_secs(1))
    }

    pub fn from_settings(settings: &MailSettings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|_| MailError::BadSender(settings.from.clone()))?;
        let transport = match settings
            .smtp_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
        {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| MailError::BadSmtpUrl {
                        url: redact_url(url),
                        message: error.to_string(),
                    })?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&settings.outbox_dir).map_err(|source| {
                    MailError::Folder {
                        path: settings.outbox_dir.display().to_string(),
                        source,
                    }
                })?;
                Transport::Files(settings.outbox_dir.clone())
            }
        };
        Ok(Mailer {
            transport,
            from,
            claim: chrono::Duration::seconds(
                i64::try_from(settings.claim_seconds.max(1)).unwrap_or(120),
            ),
        })
    }

    fn build(&self, message: &OutboxMessage) -> Result<Message, String> {
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|_| format!("收件人地址“{}”无效", message.recipient))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            // One Message-ID per outbox row: a receiving server can spot a duplicate delivery.
            .message_id(Some(format!("<qihu-outbox-{}@qihu.local>", message.id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(message.text_body.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(message.html_body.clone()),
                    ),
            )
            .map_err(|error| error.to_string())
    }

    async fn deliver(&self, message: &OutboxMessage) -> Delivery {
        let email = match self.build(message) {
            Ok(email) => email,
            Err(error) => return Delivery::Permanent(error),
        };
        match &self.transport {
            Transport::Files(folder) => {
                match write_eml(folder, message.id, email.formatted()).await {
                    Ok(()) => Delivery::Sent,
                    Err(error) => Delivery::Transient(error.to_string()),
                }
            }
            Transport::Smtp(smtp) => match smtp.send(email).await {
                Ok(_) => Delivery::Sent,
                Err(error) if error.is_permanent() => Delivery::Permanent(error.to_string()),
                Err(error) => Delivery::Transient(error.to_string()),
            },
        }
    }
}

/// Writes a message as `outbox-<id>.eml`: whole to a temporary name, synced, then renamed over any copy an
/// interrupted earlier attempt left, so a message is never in the folder twice nor half.
async fn write_eml(folder: &std::path::Path, id: i64, bytes: Vec<u8>) -> std::io::Result<()> {
    let target = folder.join(format!("outbox-{id}.eml"));
    let staging = folder.join(format!(".outbox-{id}.eml.tmp"));
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut file = std::fs::File::create(&staging)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&staging, &target)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// When to try again after `attempts` failed attempts.
pub fn next_attempt(now: DateTime<Utc>, attempts: i64) -> DateTime<Utc> {
    let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 16)).unwrap_or(16));
    let wait = FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF);
    now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1))
}

/// One pass: tries every message due at `now`. Tests call it directly instead of waiting for the worker.
pub async fn drain_outbox(
    store: &Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<DrainReport, StoreError> {
    let mut report = DrainReport::default();
    loop {
        let due = store
            .claim_due_messages(now, now + mailer.claim, BATCH)
            .await?;
        if due.is_empty() {
            return Ok(report);
        }
        let mut progressed = false;
        let claimed = std::time::Instant::now();
        for message in &due {
            // Only within the first half of the claim: what is left after it goes back to the outbox when the
            // claim runs out, and no message is handed over after another instance may have taken it.
            if claimed.elapsed() > mailer.claim_window() {
                break;
            }
            match mailer.deliver(message).await {
                Delivery::Sent => {
                    store.mark_sent(message.id, Utc::now()).await?;
                    report.sent += 1;
                    progressed = true;
                }
                Delivery::Permanent(error) => {
                    tracing::error!(outbox = message.id, "邮件无法投递，已转入死信：{error}");
                    store.mark_dead(message.id, &error).await?;
                    report.dead += 1;
                    progressed = true;
                }
                Delivery::Transient(error) if message.attempts + 1 >= MAX_ATTEMPTS => {
                    tracing::error!(outbox = message.id, "邮件多次投递失败，已转入死信：{error}");
                    store.mark_dead(message.id, &error).await?;
                    report.dead += 1;
                    progressed = true;
                }
                Delivery::Transient(error) => {
                    tracing::warn!(outbox = message.id, "邮件暂时无法投递，稍后重试：{error}");
                    store
                        .mark_retry(message.id, next_attempt(now, message.attempts), &error)
                        .await?;
                    report.retried += 1;
                }
            }
        }
        if !progressed || (due.len() as i64) < BATCH {
            return Ok(report);
        }
    }
}

/// The background worker of `qihu serve`: a pass every `poll` until the process ends.
pub fn spawn_worker(store: Store, mailer: Mailer, poll: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(poll);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = drain_outbox(&store, &mailer, Utc::now()).await {
                tracing::error!("发送邮件时数据库出错：{error}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let now = Utc::now();
        assert_eq!((next_attempt(now, 0) - now).num_seconds(), 30);
        assert_eq!((next_attempt(now, 1) - now).num_seconds(), 60);
        assert_eq!((next_attempt(now, 3) - now).num_seconds(), 240);
        assert_eq!((next_attempt(now, 12) - now).num_seconds(), 3600);
    }
}
