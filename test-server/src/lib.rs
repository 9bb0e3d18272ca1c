//! A faithful in-process mock of Notion's SCIM 2.0 API, for tests, benchmarks and demos.
//!
//! It mimics what is known about the real service: `/scim/v2` endpoints for Users and
//! Groups, 1-based `startIndex`/`count` pagination capped at 100, the `eq`-only filters
//! (`email`, `given_name`, `family_name`; `displayName` for groups), the Notion role
//! extension, epoch-millisecond `meta` strings, `active: false` meaning removal,
//! unauthenticated `ServiceProviderConfig`, and SCIM error envelopes with string status.
//!
//! Data comes from the seeded, deterministic [`generate`] function; tests compute
//! expectations from it or from [`TestServer::directory`]. Faults (429, 5xx, delays,
//! dropped connections) are switched on at runtime through [`TestServer::add_fault`].
//!
//! ```no_run
//! use notion_scim_test_server::{Config, TestServer};
//! let server = TestServer::start(Config::default()).unwrap();
//! println!("{}", server.base_url()); // http://127.0.0.1:PORT/scim/v2
//! ```

mod conn;
pub mod faults;
pub mod filter;
pub mod generator;
mod input;
pub mod model;
mod paging;
mod patch;
mod routes;
pub mod scim;
mod server;
mod state;
mod store;

pub use faults::{Fault, FaultRule};
pub use generator::{generate, Directory};
pub use model::{Email, Group, Role, ScimId, User};
pub use paging::Page;
pub use routes::BASE_PATH;
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
