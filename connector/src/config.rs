//! Connector configuration: the declared fields, shape checks and storage.
//!
//! `configure` only checks the shape of the values (the contract forbids a
//! request there); `validate` is where the token meets Notion. The accepted
//! configuration lives in a thread-local because a component instance is
//! single-threaded and every export call needs it.

use std::cell::RefCell;
use std::fmt;

use crate::baton::connector::types::{
    ConfigField, ConfigValue, ConnectorError, CredentialBinding, CredentialPresentation,
};
use crate::error::{failed_precondition, invalid_argument};

/// Name of the SCIM token field.
pub const SCIM_TOKEN: &str = "scim-token";
/// Name of the base URL field.
pub const BASE_URL: &str = "base-url";
/// The documented Notion SCIM endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.notion.com/scim/v2";

/// The two URL schemes the connector accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlScheme {
    /// Plain HTTP (tests, local proxies).
    Http,
    /// HTTPS (Notion itself).
    Https,
}

/// A checked base URL, split the way `wasi:http` wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    /// `http` or `https`.
    pub scheme: UrlScheme,
    /// `host[:port]`, without user info.
    pub authority: String,
    /// Path prefix without a trailing slash; empty for the server root.
    pub path: String,
}

/// A checked configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The value given for the SCIM token: the host's placeholder, as the
    /// host holds the token and sends it itself. Never printed (see `Debug`).
    pub token: String,
    /// Where the SCIM API lives.
    pub base_url: BaseUrl,
}

impl fmt::Debug for Config {
    // The token must not reach logs even through a stray `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// The configuration fields declared in the connector's metadata.
pub fn fields() -> Vec<ConfigField> {
    vec![
        ConfigField {
            name: SCIM_TOKEN.into(),
            display_name: "Notion SCIM API token".into(),
            description: "SCIM API token created by a Notion organization owner \
                          (Settings, Identity, SCIM provisioning)."
                .into(),
            required: true,
            secret: true,
            hidden: false,
            egress_origin: false,
            default_value: None,
            // The host holds the token and sends it to Notion itself; this
            // component only ever sees a placeholder.
            credential: Some(CredentialBinding {
                origin_field: BASE_URL.into(),
                presentation: CredentialPresentation::Bearer,
            }),
        },
        ConfigField {
            name: BASE_URL.into(),
            display_name: "SCIM base URL".into(),
            description: "Base URL of the Notion SCIM API. Only for tests and proxies.".into(),
            required: false,
            secret: false,
            hidden: true,
            egress_origin: true,
            default_value: Some(DEFAULT_BASE_URL.into()),
            credential: None,
        },
    ]
}

/// Checks the values given to `configure` and builds a [`Config`].
pub fn parse(values: &[ConfigValue]) -> Result<Config, ConnectorError> {
    let mut token: Option<&str> = None;
    let mut base: Option<&str> = None;
    for value in values {
        let slot = match value.name.as_str() {
            SCIM_TOKEN => &mut token,
            BASE_URL => &mut base,
            other => {
                return Err(invalid_argument(format!(
                    "unknown configuration field `{other}`"
                )))
            }
        };
        if slot.replace(value.value.as_str()).is_some() {
            return Err(invalid_argument(format!(
                "configuration field `{}` is given twice",
                value.name
            )));
        }
    }
    let token = check_token(token.unwrap_or_default())?;
    let base = base.map(str::trim).filter(|b| !b.is_empty());
    let base_url = parse_base_url(base.unwrap_or(DEFAULT_BASE_URL))?;
    Ok(Config { token, base_url })
}

/// Checks the token's shape; the message never repeats the value.
fn check_token(raw: &str) -> Result<String, ConnectorError> {
    // Values from env files often carry a trailing newline.
    let token = raw.trim();
    if token.is_empty() {
        return Err(invalid_argument(format!(
            "configuration field `{SCIM_TOKEN}` is required and must not be empty"
        )));
    }
    // Such a value cannot be sent in an HTTP header anyway; failing here gives
    // a clear message instead of an obscure transport error later.
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid_argument(format!(
            "configuration field `{SCIM_TOKEN}` must not contain whitespace or control characters"
        )));
    }
    Ok(token.to_string())
}

/// Parses an absolute `http(s)://host[:port][/path]` URL.
pub fn parse_base_url(raw: &str) -> Result<BaseUrl, ConnectorError> {
    let bad = |why: &str| invalid_argument(format!("`{BASE_URL}` {why}: {raw:?}"));
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain whitespace"));
    }
    if raw.contains(['?', '#']) {
        return Err(bad("must not have a query or a fragment"));
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => (UrlScheme::Https, rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => (UrlScheme::Http, rest),
        _ => return Err(bad("must be an absolute http:// or https:// URL")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    // User info would put a credential in every error message that names the URL.
    if authority.contains('@') {
        return Err(bad("must not contain user info"));
    }
    check_authority(authority).map_err(|_| bad("has an invalid host or port"))?;
    Ok(BaseUrl {
        scheme,
        authority: authority.to_string(),
        path: path.trim_end_matches('/').to_string(),
    })
}

/// Accepts `host`, `host:port`, `[v6]` and `[v6]:port`.
fn check_authority(authority: &str) -> Result<(), ()> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or(())?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(())?),
            };
            (addr, port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.contains(['[', ']']) {
        return Err(());
    }
    match port {
        None => Ok(()),
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && matches!(p.parse::<u16>(), Ok(1..)) => {
            Ok(())
        }
        Some(_) => Err(()),
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Config>> = const { RefCell::new(None) };
}

/// Stores the configuration for later calls (replacing any previous one).
pub fn store(config: Config) {
    CURRENT.with(|c| *c.borrow_mut() = Some(config));
}

/// The stored configuration, or an error telling the host to configure first.
pub fn current() -> Result<Config, ConnectorError> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| failed_precondition("the connector is not configured; call configure first"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::connector::types::ErrorKind;

    fn values(pairs: &[(&str, &str)]) -> Vec<ConfigValue> {
        pairs
            .iter()
            .map(|(n, v)| ConfigValue {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn accepts_token_and_defaults_base_url() {
        let config = parse(&values(&[(SCIM_TOKEN, " secret_abc\n")])).unwrap();
        assert_eq!(config.token, "secret_abc");
        assert_eq!(
            config.base_url,
            BaseUrl {
                scheme: UrlScheme::Https,
                authority: "api.notion.com".into(),
                path: "/scim/v2".into()
            }
        );
        assert!(!format!("{config:?}").contains("secret_abc"));
    }

    #[test]
    fn base_url_shapes() {
        type Want<'a> = Option<(UrlScheme, &'a str, &'a str)>;
        let cases: &[(&str, Want)] = &[
            (
                "http://127.0.0.1:8765",
                Some((UrlScheme::Http, "127.0.0.1:8765", "")),
            ),
            (
                "http://127.0.0.1:8765/",
                Some((UrlScheme::Http, "127.0.0.1:8765", "")),
            ),
            (
                "HTTPS://x.test/scim/v2/",
                Some((UrlScheme::Https, "x.test", "/scim/v2")),
            ),
            (
                "http://[::1]:9000/scim",
                Some((UrlScheme::Http, "[::1]:9000", "/scim")),
            ),
            ("http://[::1]/", Some((UrlScheme::Http, "[::1]", ""))),
            ("ftp://x.test", None),
            ("x.test/scim", None),
            ("https://", None),
            ("https:///scim", None),
            ("https://x.test/scim?x=1", None),
            ("https://x.test/scim#frag", None),
            ("https://user:pw@x.test/", None),
            ("https://x.test:0/", None),
            ("https://x.test:99999/", None),
            ("https://x.test:8a/", None),
            ("https://x.test:/", None),
            ("https://a:b:c/", None),
            ("https://x .test/", None),
            ("http://[::1/", None),
        ];
        for (raw, want) in cases {
            let got = parse_base_url(raw);
            match want {
                Some((scheme, authority, path)) => {
                    let got = got.unwrap_or_else(|e| panic!("{raw}: {}", e.message));
                    assert_eq!(
                        (got.scheme, got.authority.as_str(), got.path.as_str()),
                        (*scheme, *authority, *path),
                        "{raw}"
                    );
                }
                None => assert_eq!(
                    got.map_err(|e| e.kind),
                    Err(ErrorKind::InvalidArgument),
                    "{raw}"
                ),
            }
        }
    }

    #[test]
    fn rejections_name_the_problem() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], SCIM_TOKEN),
            (&[(SCIM_TOKEN, "  ")], SCIM_TOKEN),
            (&[(SCIM_TOKEN, "a b")], "whitespace"),
            (&[(SCIM_TOKEN, "t"), ("api-key", "x")], "`api-key`"),
            (&[(SCIM_TOKEN, "t"), (SCIM_TOKEN, "u")], "twice"),
            (&[(SCIM_TOKEN, "t"), (BASE_URL, "notion.com")], BASE_URL),
        ];
        for (given, needle) in cases {
            let err = parse(&values(given)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument);
            assert!(
                err.message.contains(needle),
                "{:?} -> {}",
                given,
                err.message
            );
            assert!(
                !err.message.contains("a b"),
                "token echoed: {}",
                err.message
            );
        }
    }

    #[test]
    fn empty_base_url_means_default() {
        let config = parse(&values(&[(SCIM_TOKEN, "t"), (BASE_URL, "")])).unwrap();
        assert_eq!(config.base_url.authority, "api.notion.com");
    }

    #[test]
    fn storage_roundtrip() {
        // A fresh thread has fresh thread-locals, whatever ran before here.
        std::thread::spawn(|| {
            assert_eq!(current().unwrap_err().kind, ErrorKind::FailedPrecondition);
            let config = parse(&values(&[(SCIM_TOKEN, "t")])).unwrap();
            store(config.clone());
            assert_eq!(current().unwrap(), config);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn declared_fields() {
        let f = fields();
        assert_eq!(f.len(), 2);
        assert!(f[0].required && f[0].secret && !f[0].hidden);
        assert!(!f[1].required && !f[1].secret && f[1].hidden);
        assert!(!f[0].egress_origin && f[1].egress_origin);
        assert_eq!(f[1].default_value.as_deref(), Some(DEFAULT_BASE_URL));
    }
}
