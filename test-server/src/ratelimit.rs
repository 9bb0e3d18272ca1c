//! The server-side rate limit: a token bucket in front of everything else, like the
//! per-integration budget Notion enforces (about 3 requests per second on average).
//!
//! A request that finds the bucket empty is answered `429` with `Retry-After` in
//! whole seconds (rounded up, at least 1) and never reaches the fault rules or the
//! handlers.

use std::time::{Duration, Instant};

/// Rate-limit settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained rate, in requests per second. Must be positive and finite; other
    /// values are treated as one request per 1000 seconds.
    pub per_second: f64,
    /// Bucket size: how many requests may arrive at once after a quiet period
    /// (0 is treated as 1).
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` sustained with bursts of up to `burst` requests.
    pub fn new(per_second: f64, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    fn rate(&self) -> f64 {
        if self.per_second.is_finite() && self.per_second > 0.0 {
            self.per_second
        } else {
            0.001
        }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.burst.max(1))
    }
}

/// A token bucket; starts full.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub fn new(limit: RateLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.capacity(),
            refilled_at: now,
        }
    }

    /// Takes a token, or says how long until one is available.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limit.rate()).min(self.limit.capacity());
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.limit.rate(),
            ))
        }
    }
}

/// The `Retry-After` seconds for a wait: rounded up so a client that honours it
/// finds a token, and never 0 (which some clients read as "retry at once, forever").
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let whole = wait.as_secs();
    let secs = if wait.subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_then_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RateLimit::new(10.0, 3), t0);
        assert!((0..3).all(|_| b.take(t0).is_ok()));
        let wait = b.take(t0).unwrap_err();
        assert!(wait > ms(99) && wait <= ms(100), "{wait:?}");
        // A token every 100 ms: one at 100, none more until 200.
        // (A millisecond of slack on each side keeps float rounding out of it.)
        assert!(b.take(t0 + ms(101)).is_ok());
        assert!(b.take(t0 + ms(150)).is_err());
        assert!(b.take(t0 + ms(199)).is_err());
        assert!(b.take(t0 + ms(202)).is_ok());
        // A long pause refills to the burst size, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| b.take(later).is_ok()));
        assert!(b.take(later).is_err());
    }

    #[test]
    fn rejected_requests_do_not_use_up_tokens() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RateLimit::new(2.0, 1), t0);
        assert!(b.take(t0).is_ok());
        for i in 1..10 {
            assert!(b.take(t0 + ms(i * 10)).is_err());
        }
        assert!(b.take(t0 + ms(500)).is_ok());
    }

    #[test]
    fn odd_settings_are_tamed() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RateLimit::new(0.0, 0), t0);
        assert!(b.take(t0).is_ok());
        let secs = retry_after_secs(b.take(t0).unwrap_err());
        assert!((1000..=1001).contains(&secs), "{secs}");
        let mut nan = TokenBucket::new(RateLimit::new(f64::NAN, 1), t0);
        assert!(nan.take(t0).is_ok() && nan.take(t0).is_err());
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(ms(1000)), 1);
        assert_eq!(retry_after_secs(ms(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(30)), 30);
    }
}
