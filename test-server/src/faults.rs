//! Fault injection: what goes wrong ([`Fault`]) and when ([`ScheduledFault`],
//! [`FaultRule`]).
//!
//! Two kinds of rule exist. A [`ScheduledFault`] counts the requests matching its
//! [`Scope`] from the moment it is added and fires on the ordinals its [`Schedule`]
//! picks. A [`FaultRule`] (the older API) is keyed on the global 1-based request
//! number as it reaches the router (every request counts, including unauthenticated,
//! faulted and rate-limited ones), which makes "fail the third request" or "die after
//! the first sync" deterministic in tests.
//!
//! Requests turned away by the server's token bucket ([`crate::RateLimit`]) never
//! reach the rules: a rejected request does not use up a scheduled fault.

use std::time::Duration;

use crate::schedule::{Schedule, Scope};

/// What happens to a request a rule applies to.
///
/// Whether a correct client (retrying transient failures, rejecting malformed
/// answers) ends with the same data as a clean run is noted on each variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `429 Too Many Requests` with `Retry-After: <secs>` and a SCIM error
    /// body. Transient: lossless for a client that waits and retries.
    RateLimit {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Like [`Fault::RateLimit`], but `Retry-After` is an HTTP-date (IMF-fixdate)
    /// at least `retry_after_secs` from now (rounded up to a whole second).
    RateLimitHttpDate {
        /// Minimum wait the date expresses, in seconds.
        retry_after_secs: u64,
    },
    /// Answer with this status (e.g. 500, 502, 503, 504, 529) and a SCIM error body.
    /// Codes outside 200..=999 become 500. Transient for 502/503/504/529.
    Status(u16),
    /// Answer with this status (e.g. 502) and an HTML page, as a proxy in front
    /// of the API would (`Content-Type: text/html`). Transient.
    HtmlError(u16),
    /// Wait this long, then handle the request normally (or apply another matching
    /// non-delay fault). Delays of several matching rules add up. Lossless.
    Delay(Duration),
    /// Close the connection without sending any response bytes (a reset as far as
    /// the client can tell). The request is not handled. Transient.
    Drop,
    /// Never answer: hold the request open until the server shuts down, then close
    /// the connection. Useful for client timeout tests. The request is not handled.
    Hang,
    /// Handle the request (a write takes effect), then close the connection without
    /// sending the answer: the case where a blind retry of a POST would duplicate.
    DropAfterHandling,
    /// Handle the request (a write takes effect), then never answer, as
    /// [`Fault::Hang`] does: a client timeout after the change was made.
    HangAfterHandling,
    /// Run the request, then send only the first half of the body with a matching
    /// `Content-Length`: the HTTP exchange is complete but the JSON is cut mid-way,
    /// so only the client's JSON parser can notice. Writes do take effect.
    TruncatedBody,
    /// Run the request and send its (valid JSON) body with `Content-Type:
    /// text/html; charset=utf-8`. A strict client rejects it; a lenient one reads it.
    WrongContentType,
    /// Run the request and add a string field of `pad_bytes` bytes (`x-test-padding`)
    /// to its top-level JSON object: still valid, still complete, just too large for
    /// a client with a body limit.
    Oversized {
        /// Size of the padding string, in bytes.
        pad_bytes: usize,
    },
    /// Run the request and remove this attribute from the answer: from the list
    /// envelope if it is one of its keys (`totalResults`, `Resources`, …), otherwise
    /// from the first resource of a list, or from a single resource. Nothing is
    /// removed from the directory: a retry gets the full item.
    MissingField(String),
}

impl Fault {
    /// Whether the fault lets the handler run and reshapes its answer afterwards.
    pub(crate) fn rewrites_response(&self) -> bool {
        matches!(
            self,
            Fault::TruncatedBody
                | Fault::WrongContentType
                | Fault::Oversized { .. }
                | Fault::MissingField(_)
        )
    }
}

/// A fault applied to a range of request numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// The fault to inject.
    pub fault: Fault,
    /// First affected request number (1-based; see [`crate::TestServer::request_count`]).
    pub first_request: u64,
    /// How many consecutive requests are affected; `None` means every request from
    /// `first_request` on.
    pub count: Option<u64>,
}

impl FaultRule {
    /// A rule affecting `count` requests starting at `first_request` (`None` = forever).
    pub fn new(fault: Fault, first_request: u64, count: Option<u64>) -> Self {
        FaultRule {
            fault,
            first_request,
            count,
        }
    }

    /// A rule affecting every request from `first_request` on, e.g. to simulate the
    /// server dying mid-sync with [`Fault::Drop`].
    pub fn from_request(first_request: u64, fault: Fault) -> Self {
        FaultRule::new(fault, first_request, None)
    }

    /// Whether request number `n` is affected.
    pub fn applies_to(&self, n: u64) -> bool {
        if n < self.first_request {
            return false;
        }
        match self.count {
            None => true,
            Some(c) => n - self.first_request < c,
        }
    }
}

/// A fault with a schedule, optionally restricted to some requests. Parse one from
/// the `--fault` flag syntax with [`str::parse`] (see [`crate::fault_spec`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    /// The fault to inject.
    pub fault: Fault,
    /// Which of the matching requests get it, by ordinal since the rule was added.
    pub schedule: Schedule,
    /// Which requests the rule sees at all (and counts).
    pub scope: Scope,
}

impl ScheduledFault {
    /// `fault` on the requests `schedule` picks, among all requests.
    pub fn new(fault: Fault, schedule: Schedule) -> ScheduledFault {
        ScheduledFault {
            fault,
            schedule,
            scope: Scope::any(),
        }
    }

    /// Restricts the rule to one HTTP method.
    pub fn only_method(mut self, method: &str) -> ScheduledFault {
        self.scope.method = Some(method.to_string());
        self
    }

    /// Restricts the rule to a path pattern (see [`Scope::path`]).
    pub fn only_path(mut self, pattern: &str) -> ScheduledFault {
        self.scope.path = Some(pattern.to_string());
        self
    }
}

/// A rule as the server holds it.
#[derive(Clone, Debug)]
pub(crate) struct ActiveRule {
    spec: ScheduledFault,
    /// Legacy [`FaultRule`]s count global request numbers, not their own ordinals.
    by_request_number: bool,
    /// Requests in scope seen so far.
    seen: u64,
}

impl ActiveRule {
    pub fn scheduled(spec: ScheduledFault) -> ActiveRule {
        ActiveRule {
            spec,
            by_request_number: false,
            seen: 0,
        }
    }

    pub fn numbered(rule: FaultRule) -> ActiveRule {
        ActiveRule {
            spec: ScheduledFault::new(rule.fault, Schedule::range(rule.first_request, rule.count)),
            by_request_number: true,
            seen: 0,
        }
    }

    /// Counts request `number` if in scope and says whether the rule fires for it.
    fn visit(&mut self, number: u64, method: &str, path: &str) -> bool {
        if !self.spec.scope.matches(method, path) {
            return false;
        }
        self.seen += 1;
        let ordinal = if self.by_request_number {
            number
        } else {
            self.seen
        };
        self.spec.schedule.fires(ordinal)
    }
}

/// What the server does for one request, computed from all matching rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    /// Total delay before anything else happens.
    pub delay: Duration,
    /// The first firing non-delay fault, in the order rules were added.
    pub action: Option<Fault>,
}

/// Lets every rule see request `number` and combines those that fire. Every rule is
/// visited, even once an action is chosen, so each keeps counting its ordinals.
pub(crate) fn plan(rules: &mut [ActiveRule], number: u64, method: &str, path: &str) -> FaultPlan {
    let mut out = FaultPlan::default();
    for rule in rules.iter_mut() {
        if !rule.visit(number, method, path) {
            continue;
        }
        match &rule.spec.fault {
            Fault::Delay(d) => out.delay += *d,
            other => {
                if out.action.is_none() {
                    out.action = Some(other.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(rules: Vec<FaultRule>) -> Vec<ActiveRule> {
        rules.into_iter().map(ActiveRule::numbered).collect()
    }

    #[test]
    fn ranges_are_inclusive_of_first_and_sized_by_count() {
        let r = FaultRule::new(Fault::Status(503), 3, Some(2));
        let hits: Vec<u64> = (1..=6).filter(|&n| r.applies_to(n)).collect();
        assert_eq!(hits, vec![3, 4]);
        let forever = FaultRule::from_request(5, Fault::Drop);
        assert!(!forever.applies_to(4));
        assert!(forever.applies_to(5) && forever.applies_to(u64::MAX));
        assert!(!FaultRule::new(Fault::Drop, 1, Some(0)).applies_to(1));
    }

    #[test]
    fn delays_add_up_and_first_action_wins() {
        let mut rules = numbered(vec![
            FaultRule::new(Fault::Delay(Duration::from_millis(10)), 1, None),
            FaultRule::new(
                Fault::RateLimit {
                    retry_after_secs: 2,
                },
                2,
                Some(1),
            ),
            FaultRule::new(Fault::Status(500), 1, None),
            FaultRule::new(Fault::Delay(Duration::from_millis(5)), 2, None),
        ]);
        assert_eq!(
            plan(&mut rules, 1, "GET", "/scim/v2/Users"),
            FaultPlan {
                delay: Duration::from_millis(10),
                action: Some(Fault::Status(500))
            }
        );
        assert_eq!(
            plan(&mut rules, 2, "GET", "/scim/v2/Users"),
            FaultPlan {
                delay: Duration::from_millis(15),
                action: Some(Fault::RateLimit {
                    retry_after_secs: 2
                })
            }
        );
        assert_eq!(plan(&mut [], 7, "GET", "/"), FaultPlan::default());
    }

    #[test]
    fn scheduled_rules_count_their_own_matching_requests() {
        // Every second GET of the user list, whatever else happens in between.
        let spec = ScheduledFault::new(Fault::Status(503), Schedule::every_nth(2))
            .only_method("GET")
            .only_path("/Users");
        let mut rules = vec![ActiveRule::scheduled(spec)];
        let requests = [
            ("GET", "/scim/v2/Users"),
            ("GET", "/scim/v2/Groups"),
            ("GET", "/scim/v2/Users"),
            ("POST", "/scim/v2/Users"),
            ("GET", "/scim/v2/Users"),
            ("GET", "/scim/v2/Users"),
        ];
        let fired: Vec<bool> = requests
            .iter()
            .enumerate()
            .map(|(i, (m, p))| plan(&mut rules, i as u64 + 1, m, p).action.is_some())
            .collect();
        assert_eq!(fired, vec![false, false, true, false, false, true]);
    }

    #[test]
    fn an_earlier_rule_firing_does_not_stop_later_ones_counting() {
        let mut rules = vec![
            ActiveRule::scheduled(ScheduledFault::new(Fault::Drop, Schedule::first(1))),
            ActiveRule::scheduled(ScheduledFault::new(
                Fault::Hang,
                Schedule::range(2, Some(1)),
            )),
        ];
        assert_eq!(plan(&mut rules, 1, "GET", "/").action, Some(Fault::Drop));
        assert_eq!(plan(&mut rules, 2, "GET", "/").action, Some(Fault::Hang));
        assert_eq!(plan(&mut rules, 3, "GET", "/").action, None);
    }
}
