//! Submissions per client address per minute (防刷): a sliding one-minute window per address, in memory. A fixed
//! window (per clock minute) would let twice the limit through around the turn of a minute.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};

/// Who a request comes from, for the limits: the peer's address, or — when the peer is one of the configured
/// reverse proxies (`[intake] trusted_proxies`, e.g. nginx in front of several instances) — the nearest address in
/// `X-Forwarded-For` that is not a trusted proxy itself. Only the part of that header the trusted proxies
/// appended counts: a client can write anything at its left end, so it is read from the right.
pub fn client_behind_proxies(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .map(|entry| {
            entry
                .parse::<IpAddr>()
                .or_else(|_| entry.parse::<std::net::SocketAddr>().map(|at| at.ip()))
        })
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    forwarded
        .iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .copied()
        .unwrap_or(peer)
}

/// Remembers, per client address, the accepted submissions of the last minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    recent: Mutex<HashMap<IpAddr, VecDeque<DateTime<Utc>>>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// True when `client` has made fewer than the limit of submissions in the minute before `now`; an allowed
    /// submission is counted, a refused one is not.
    pub fn allow(&self, client: IpAddr, now: DateTime<Utc>) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let window_start = now - Duration::minutes(1);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() > 100_000 {
            recent.retain(|_, times| times.back().is_some_and(|last| *last > window_start));
        }
        let times = recent.entry(client).or_default();
        while times.front().is_some_and(|first| *first <= window_start) {
            times.pop_front();
        }
        if times.len() >= self.per_minute as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_address_the_proxy_saw() {
        let nginx: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [nginx];
        let client: IpAddr = "222.173.10.7".parse().unwrap();
        assert_eq!(
            client_behind_proxies(nginx, &forwarded("222.173.10.7"), &trusted),
            client
        );
        // A forged entry at the left is ignored: the proxy appended the real one at the right.
        assert_eq!(
            client_behind_proxies(nginx, &forwarded("1.2.3.4, 222.173.10.7"), &trusted),
            client
        );
        // Without the header, or with garbage in it, the proxy itself is the client.
        assert_eq!(
            client_behind_proxies(nginx, &HeaderMap::new(), &trusted),
            nginx
        );
        assert_eq!(
            client_behind_proxies(nginx, &forwarded("<script>"), &trusted),
            nginx
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address_with_the_header() {
        let peer: IpAddr = "222.173.10.7".parse().unwrap();
        assert_eq!(
            client_behind_proxies(peer, &forwarded("8.8.8.8"), &["10.0.0.2".parse().unwrap()]),
            peer
        );
        assert_eq!(
            client_behind_proxies(peer, &forwarded("8.8.8.8"), &[]),
            peer
        );
    }

    #[test]
    fn allows_the_configured_number_per_minute_per_address() {
        let limiter = RateLimiter::new(2);
        let now = at("2026-11-25T10:00:05Z");
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.allow(one, now));
        assert!(limiter.allow(one, now));
        assert!(!limiter.allow(one, now));
        assert!(limiter.allow(two, now));
        assert!(limiter.allow(one, now + Duration::seconds(60)));
    }

    #[test]
    fn the_turn_of_a_minute_does_not_reset_the_count() {
        let limiter = RateLimiter::new(2);
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(limiter.allow(client, at("2026-11-25T10:00:58Z")));
        assert!(limiter.allow(client, at("2026-11-25T10:00:59Z")));
        assert!(!limiter.allow(client, at("2026-11-25T10:01:01Z")));
        // A minute after the first one, one more is allowed.
        assert!(limiter.allow(client, at("2026-11-25T10:01:58Z")));
        assert!(!limiter.allow(client, at("2026-11-25T10:01:58Z")));
    }
}
