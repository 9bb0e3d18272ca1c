//! A faithful in-process mock of Notion's SCIM 2.0 API, for tests, benchmarks and demos.
//!
//! It mimics what is known about the real service: `/scim/v2` endpoints for Users and
//! Groups, 1-based `startIndex`/`count` pagination capped at 100, the `eq`-only filters
//! (`email`, `given_name`, `family_name`; `displayName` for groups), the Notion role
//! extension, epoch-millisecond `meta` strings, `active: false` meaning removal,
//! unauthenticated `ServiceProviderConfig`, and SCIM error envelopes with string status.
//!
//! Data comes from the seeded, deterministic [`generate`] function; tests compute
//! expectations from it or from [`TestServer::directory`].
//!
//! Reliability testing (see `README.md` for the binary's flags):
//! * faults (429 with `Retry-After` in seconds or as an HTTP-date, 5xx, HTML error
//!   pages, delays, dropped or hanging connections, truncated, oversized or
//!   mislabelled bodies, missing attributes), scheduled on the first K, every Nth or a
//!   seeded random share of requests, optionally by method and path:
//!   [`TestServer::inject`], [`TestServer::fail_next`] and [`TestServer::add_fault`];
//! * a token-bucket rate limit answering 429: [`TestServer::set_rate_limit`];
//! * pagination anomalies that leave the data alone: [`TestServer::enable_anomaly`].
//!
//! ```no_run
//! use notion_scim_test_server::{Config, TestServer};
//! let server = TestServer::start(Config::default()).unwrap();
//! println!("{}", server.base_url()); // http://127.0.0.1:PORT/scim/v2
//! ```

pub mod anomaly;
mod conn;
pub mod fault_spec;
pub mod faults;
pub mod filter;
mod gate;
pub mod generator;
mod inject;
mod input;
pub mod model;
mod paging;
mod patch;
mod ratelimit;
mod routes;
pub mod schedule;
pub mod scim;
mod server;
mod state;
mod store;

pub use anomaly::Anomaly;
pub use fault_spec::FaultSpecError;
pub use faults::{Fault, FaultRule, ScheduledFault};
pub use generator::{generate, Directory};
pub use inject::PADDING_FIELD;
pub use model::{Email, Group, Role, ScimId, User};
pub use paging::Page;
pub use ratelimit::RateLimit;
pub use routes::BASE_PATH;
pub use schedule::{Schedule, Scope};
pub use scim::ScimError;
pub use server::{serve, serve_with_shutdown, TestServer};
pub use state::{RequestRecord, ServerState};

/// What to serve.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The only bearer token accepted.
    pub token: String,
    /// Number of generated users.
    pub users: usize,
    /// Number of generated groups.
    pub groups: usize,
    /// Seed of the generator (same seed, same data).
    pub seed: u64,
}

impl Default for Config {
    /// 250 users, 5 groups, seed 1, token `test-token`.
    fn default() -> Self {
        Config {
            token: "test-token".into(),
            users: 250,
            groups: 5,
            seed: 1,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keep the token out of test output and logs.
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("users", &self.users)
            .field("groups", &self.groups)
            .field("seed", &self.seed)
            .finish()
    }
}
