//! Per-client-IP rate limits (GCRA, the governor crate). IPv6 clients are keyed by
//! their /64, since one host usually holds a whole /64.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

#[derive(Debug, Clone)]
pub struct RateLimiter(Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>);

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

impl RateLimiter {
    /// `n` per minute per client, bursts of up to `n`; 0 turns the limit off.
    pub fn per_minute(n: u32) -> Self {
        Self(
            NonZeroU32::new(n)
                .map(|n| Arc::new(governor::RateLimiter::keyed(Quota::per_minute(n)))),
        )
    }

    /// `Err(retry after)` when `ip` is over its limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter
            .check_key(&key(ip))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets fully replenished clients once a minute, so the map stays small.
    pub fn spawn_sweeper(&self) {
        let Some(limiter) = &self.0 else { return };
        let weak = Arc::downgrade(limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limiter) = weak.upgrade() else {
                    return;
                };
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_client_and_per_ipv6_prefix() {
        let limiter = RateLimiter::per_minute(3);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).expect_err("over the limit");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok(), "other clients unaffected");
        let v6a: IpAddr = "2001:db8::1".parse().expect("ip");
        let v6b: IpAddr = "2001:db8::ffff:2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limiter.check(v6a).is_ok());
        }
        assert!(limiter.check(v6b).is_err(), "same /64");
        assert!(RateLimiter::per_minute(0).check(a).is_ok());
    }
}
