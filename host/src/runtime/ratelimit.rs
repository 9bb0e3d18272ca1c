//! The client-side rate limiter: a token bucket that every outgoing request
//! attempt (retries included) passes before it is sent.
//!
//! Notion's documented budget is about three requests per second on average
//! per integration, with short bursts allowed, plus a budget shared by the
//! whole workspace. Pacing on our side keeps a sync from spending that budget
//! in bursts and then waiting out 429s, and leaves room for other integrations.
//!
//! The bucket is kept as a "theoretical arrival time" (the generic cell rate
//! algorithm): each request reserves the next free send time, so concurrent
//! requests are served in the order they asked, and a request that would
//! have to wait past its call's deadline can be refused without using a token.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A token bucket shared by everything that holds a clone of it.
///
/// Give each run its own (`RateLimiter::new` per [`RunPolicy`](super::RunPolicy)),
/// unless several runs spend one upstream budget, such as syncs of the same
/// Notion workspace: clones share one bucket, so passing the same limiter in
/// their policies paces them together.
#[derive(Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: u32,
    state: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    /// Time between two requests at the sustained rate.
    interval: Duration,
    /// How far ahead of the sustained rate a burst may run: `(burst - 1) * interval`.
    tolerance: Duration,
    /// When the bucket would next be empty at the sustained rate; `None` while unused.
    next: Option<Instant>,
}

impl RateLimiter {
    /// Requests per second of the CLI's default limiter (Notion's documented average).
    pub const DEFAULT_PER_SECOND: f64 = 3.0;
    /// Burst of the CLI's default limiter.
    pub const DEFAULT_BURST: u32 = 3;

    /// A bucket allowing `per_second` requests per second on average and up
    /// to `burst` at once after a quiet period (0 counts as 1). `None`, meaning
    /// no limit, when `per_second` is not a positive finite number: the CLI's
    /// `--rate-limit 0` turns the limiter off this way.
    pub fn new(per_second: f64, burst: u32) -> Option<RateLimiter> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return None;
        }
        // Rates below one request in 10^6 s are treated as that rate, so that
        // the interval always fits a Duration.
        let interval = Duration::from_secs_f64((1.0 / per_second).min(1e6));
        let burst = burst.max(1);
        Some(RateLimiter {
            per_second,
            burst,
            state: Arc::new(Mutex::new(Bucket {
                interval,
                tolerance: interval.saturating_mul(burst - 1),
                next: None,
            })),
        })
    }

    /// The sustained rate, in requests per second.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// The largest burst.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Reserves the next send time and returns how long to wait for it from
    /// `now`. When the wait would end after `latest`, nothing is reserved and
    /// the wait is returned as the error.
    pub(crate) fn reserve(
        &self,
        now: Instant,
        latest: Option<Instant>,
    ) -> Result<Duration, Duration> {
        let mut bucket = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = bucket.next.map_or(now, |t| t.max(now));
        let wait = next
            .saturating_duration_since(now)
            .saturating_sub(bucket.tolerance);
        if latest.is_some_and(|latest| now + wait > latest) {
            return Err(wait);
        }
        bucket.next = Some(next + bucket.interval);
        Ok(wait)
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn no_rate_means_no_limiter() {
        assert!(RateLimiter::new(0.0, 3).is_none());
        assert!(RateLimiter::new(-1.0, 3).is_none());
        assert!(RateLimiter::new(f64::NAN, 3).is_none());
        assert!(RateLimiter::new(f64::INFINITY, 3).is_none());
        let tiny = RateLimiter::new(1e-12, 0).unwrap();
        assert_eq!(tiny.burst(), 1);
    }

    #[test]
    fn a_burst_passes_at_once_then_requests_are_spaced_by_the_rate() {
        let limiter = RateLimiter::new(5.0, 3).unwrap();
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..6).map(|_| limiter.reserve(t0, None).unwrap()).collect();
        assert_eq!(
            waits,
            [0, 0, 0, 200, 400, 600].map(|ms| ms * MS),
            "three at once, then one every 200 ms"
        );
    }

    #[test]
    fn a_quiet_period_refills_the_bucket_but_never_beyond_the_burst() {
        let limiter = RateLimiter::new(10.0, 2).unwrap();
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(limiter.reserve(t0, None), Ok(Duration::ZERO));
        }
        assert_eq!(limiter.reserve(t0, None), Ok(100 * MS));
        // Long after: a full bucket of two again, and no more.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.reserve(later, None), Ok(Duration::ZERO));
        assert_eq!(limiter.reserve(later, None), Ok(Duration::ZERO));
        assert_eq!(limiter.reserve(later, None), Ok(100 * MS));
    }

    #[test]
    fn requests_slower_than_the_rate_never_wait() {
        let limiter = RateLimiter::new(5.0, 1).unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(limiter.reserve(t0 + i * 250 * MS, None), Ok(Duration::ZERO));
        }
    }

    #[test]
    fn a_wait_past_the_deadline_reserves_nothing() {
        let limiter = RateLimiter::new(1.0, 1).unwrap();
        let t0 = Instant::now();
        assert_eq!(limiter.reserve(t0, None), Ok(Duration::ZERO));
        let soon = Some(t0 + 500 * MS);
        assert_eq!(limiter.reserve(t0, soon), Err(1000 * MS));
        // The refused request used no token: the next one waits one interval, not two.
        assert_eq!(limiter.reserve(t0, None), Ok(1000 * MS));
    }

    #[test]
    fn clones_share_one_bucket() {
        let a = RateLimiter::new(2.0, 1).unwrap();
        let b = a.clone();
        let t0 = Instant::now();
        assert_eq!(a.reserve(t0, None), Ok(Duration::ZERO));
        assert_eq!(b.reserve(t0, None), Ok(500 * MS));
        assert_eq!(
            format!("{a:?}"),
            "RateLimiter { per_second: 2.0, burst: 1, .. }"
        );
    }
}
