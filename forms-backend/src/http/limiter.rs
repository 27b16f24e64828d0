//! Submissions per client address per minute (防刷): a fixed one-minute window per address, in memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Counts submissions per client address in the current minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// True when `client` may submit at `now`; counts the submission.
    pub fn allow(&self, client: IpAddr, now: DateTime<Utc>) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = now.timestamp() / 60;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = windows.entry(client).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_configured_number_per_minute_per_address() {
        let limiter = RateLimiter::new(2);
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.allow(one, now));
        assert!(limiter.allow(one, now));
        assert!(!limiter.allow(one, now));
        assert!(limiter.allow(two, now));
        assert!(limiter.allow(one, now + chrono::Duration::seconds(60)));
    }
}
