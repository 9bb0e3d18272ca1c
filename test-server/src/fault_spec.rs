//! The `--fault` mini-language: a [`ScheduledFault`] written as comma-separated
//! `key` or `key=value` items, e.g. `status=503,every=7` or
//! `drop,probability=0.05,seed=42,method=GET,path=/Users`.
//!
//! * Exactly one fault: `rate-limit[=SECS]` (default 1), `rate-limit-date[=SECS]`
//!   (default 1), `status=CODE`, `html[=CODE]` (default 502), `delay=DURATION`
//!   (`250ms`, `2s`; a bare number is milliseconds), `drop`, `hang`,
//!   `drop-after-handling`, `hang-after-handling`, `truncate`,
//!   `wrong-content-type`, `oversize=BYTES` (suffix `k` or `m` for KiB/MiB),
//!   `missing=FIELD`.
//! * At most one schedule (default: every request): `first=K`; `from=N` with an
//!   optional `count=K`; `every=N` with an optional `offset=M`; `probability=P`
//!   (0 to 1) with an optional `seed=S` (default 0).
//! * An optional scope: `method=METHOD`, `path=PATTERN` (see [`crate::Scope::path`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::faults::{Fault, ScheduledFault};
use crate::schedule::{Schedule, Scope};

/// Why a `--fault` spec was rejected; the message names the offending item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpecError(String);

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultSpecError {}

/// The parts collected so far; validated once every item has been read.
#[derive(Default)]
struct Parts {
    fault: Option<(String, Fault)>,
    schedule: Option<String>,
    first: Option<u64>,
    from: Option<u64>,
    count: Option<u64>,
    every: Option<u64>,
    offset: Option<u64>,
    probability: Option<f64>,
    seed: Option<u64>,
    scope: Scope,
}

fn number<T: FromStr>(item: &str, value: Option<&str>, what: &str) -> Result<T, String> {
    let v = value.ok_or_else(|| format!("`{item}` needs a value ({what})"))?;
    v.trim()
        .parse()
        .map_err(|_| format!("`{item}`: expected {what}"))
}

fn status(item: &str, value: Option<&str>, default: Option<u16>) -> Result<u16, String> {
    let code = match (value, default) {
        (None, Some(d)) => d,
        _ => number::<u16>(item, value, "an HTTP status code")?,
    };
    if (100..=999).contains(&code) {
        Ok(code)
    } else {
        Err(format!("`{item}`: status must be between 100 and 999"))
    }
}

fn duration(item: &str, value: Option<&str>) -> Result<Duration, String> {
    let v = value.ok_or_else(|| format!("`{item}` needs a value, e.g. delay=250ms"))?;
    let v = v.trim();
    let (digits, scale_ms) = if let Some(ms) = v.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = v.strip_suffix('s') {
        (s, 1000)
    } else {
        (v, 1)
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{item}`: expected a duration such as 250ms or 2s"))?;
    Ok(Duration::from_millis(n.saturating_mul(scale_ms)))
}

fn size(item: &str, value: Option<&str>) -> Result<usize, String> {
    let v = value.ok_or_else(|| format!("`{item}` needs a size in bytes, e.g. oversize=2m"))?;
    let v = v.trim().to_ascii_lowercase();
    let (digits, scale) = match v.as_bytes().last() {
        Some(b'k') => (&v[..v.len() - 1], 1024),
        Some(b'm') => (&v[..v.len() - 1], 1024 * 1024),
        _ => (v.as_str(), 1),
    };
    digits
        .parse::<usize>()
        .map(|n| n.saturating_mul(scale))
        .map_err(|_| format!("`{item}`: expected a size such as 65536, 64k or 2m"))
}

impl Parts {
    fn fault(&mut self, item: &str, fault: Fault) -> Result<(), String> {
        if let Some((earlier, _)) = &self.fault {
            return Err(format!(
                "`{item}`: only one fault per spec (already have `{earlier}`)"
            ));
        }
        self.fault = Some((item.to_string(), fault));
        Ok(())
    }

    fn schedule(&mut self, item: &str) -> Result<(), String> {
        if let Some(earlier) = &self.schedule {
            return Err(format!(
                "`{item}`: only one schedule per spec (already have `{earlier}`)"
            ));
        }
        self.schedule = Some(item.to_string());
        Ok(())
    }

    fn item(&mut self, item: &str) -> Result<(), String> {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (item, None),
        };
        let flag = |f: Fault| match value {
            None => Ok(f),
            Some(_) => Err(format!("`{item}`: `{key}` takes no value")),
        };
        match key.to_ascii_lowercase().as_str() {
            "rate-limit" | "rate-limit-date" => {
                let secs = match value {
                    None => 1,
                    Some(_) => number(item, value, "whole seconds")?,
                };
                let fault = if key.eq_ignore_ascii_case("rate-limit") {
                    Fault::RateLimit {
                        retry_after_secs: secs,
                    }
                } else {
                    Fault::RateLimitHttpDate {
                        retry_after_secs: secs,
                    }
                };
                self.fault(item, fault)
            }
            "status" => self.fault(item, Fault::Status(status(item, value, None)?)),
            "html" => self.fault(item, Fault::HtmlError(status(item, value, Some(502))?)),
            "delay" => self.fault(item, Fault::Delay(duration(item, value)?)),
            "drop" => self.fault(item, flag(Fault::Drop)?),
            "hang" => self.fault(item, flag(Fault::Hang)?),
            "drop-after-handling" => self.fault(item, flag(Fault::DropAfterHandling)?),
            "hang-after-handling" => self.fault(item, flag(Fault::HangAfterHandling)?),
            "truncate" => self.fault(item, flag(Fault::TruncatedBody)?),
            "wrong-content-type" => self.fault(item, flag(Fault::WrongContentType)?),
            "oversize" => self.fault(
                item,
                Fault::Oversized {
                    pad_bytes: size(item, value)?,
                },
            ),
            "missing" => match value.filter(|v| !v.is_empty()) {
                Some(field) => self.fault(item, Fault::MissingField(field.to_string())),
                None => Err(format!("`{item}` needs an attribute name, e.g. missing=id")),
            },
            "first" => {
                self.schedule(item)?;
                self.first = Some(number(item, value, "a request count")?);
                Ok(())
            }
            "from" => {
                self.schedule(item)?;
                self.from = Some(number(item, value, "a 1-based request ordinal")?);
                Ok(())
            }
            "every" => {
                self.schedule(item)?;
                let n: u64 = number(item, value, "a period of at least 1")?;
                if n == 0 {
                    return Err(format!("`{item}`: the period must be at least 1"));
                }
                self.every = Some(n);
                Ok(())
            }
            "probability" => {
                self.schedule(item)?;
                let p: f64 = number(item, value, "a probability between 0 and 1")?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!("`{item}`: the probability must be between 0 and 1"));
                }
                self.probability = Some(p);
                Ok(())
            }
            "count" => {
                self.count = Some(number(item, value, "a request count")?);
                Ok(())
            }
            "offset" => {
                self.offset = Some(number(item, value, "a request count")?);
                Ok(())
            }
            "seed" => {
                self.seed = Some(number(item, value, "an unsigned integer")?);
                Ok(())
            }
            "method" => match value.filter(|v| !v.is_empty()) {
                Some(m) => {
                    self.scope.method = Some(m.to_ascii_uppercase());
                    Ok(())
                }
                None => Err(format!("`{item}` needs a value, e.g. method=GET")),
            },
            "path" => match value.filter(|v| v.starts_with('/')) {
                Some(p) => {
                    self.scope.path = Some(p.to_string());
                    Ok(())
                }
                None => Err(format!("`{item}`: expected a path starting with /")),
            },
            _ => Err(format!("unknown item `{item}`")),
        }
    }

    fn finish(self) -> Result<ScheduledFault, String> {
        let Some((_, fault)) = self.fault else {
            return Err("no fault given (e.g. status=503, drop, rate-limit=2)".into());
        };
        let orphan = |key: &str, needs: &str| format!("`{key}` only goes with `{needs}`");
        if self.count.is_some() && self.from.is_none() {
            return Err(orphan("count", "from"));
        }
        if self.offset.is_some() && self.every.is_none() {
            return Err(orphan("offset", "every"));
        }
        if self.seed.is_some() && self.probability.is_none() {
            return Err(orphan("seed", "probability"));
        }
        let schedule = if let Some(k) = self.first {
            Schedule::first(k)
        } else if let Some(first) = self.from {
            Schedule::range(first, self.count)
        } else if let Some(n) = self.every {
            Schedule::EveryNth {
                n,
                offset: self.offset.unwrap_or(0),
            }
        } else if let Some(p) = self.probability {
            Schedule::probability(p, self.seed.unwrap_or(0))
        } else {
            Schedule::always()
        };
        Ok(ScheduledFault {
            fault,
            schedule,
            scope: self.scope,
        })
    }
}

impl FromStr for ScheduledFault {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, FaultSpecError> {
        let mut parts = Parts::default();
        let result = spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .try_for_each(|item| parts.item(item))
            .and_then(|()| parts.finish());
        result.map_err(|e| FaultSpecError(format!("bad fault spec \"{spec}\": {e}")))
    }
}

#[cfg(test)]
#[path = "fault_spec_tests.rs"]
mod tests;
