//! The small filter language Notion supports: a single `attribute eq value` comparison.
//!
//! Users filter on `email`, `given_name` and `family_name` (Notion's snake_case names,
//! not SCIM's `userName`/`name.givenName`); groups on `displayName`. Anything else,
//! including other operators and `and`/`or`, is rejected with `invalidFilter` so a client
//! relying on unsupported syntax fails loudly in tests.

use crate::model::{Group, User};
use crate::scim::ScimError;

/// A parsed `/Users` filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserFilter {
    /// `email eq "x"`: case-insensitive, matched against `userName` and `emails[].value`.
    Email(String),
    /// `given_name eq "x"`: case-sensitive.
    GivenName(String),
    /// `family_name eq "x"`: case-sensitive.
    FamilyName(String),
}

impl UserFilter {
    /// Parses a filter expression for `/Users`.
    pub fn parse(input: &str) -> Result<UserFilter, ScimError> {
        let (attr, value) = parse_eq(input)?;
        match attr.to_ascii_lowercase().as_str() {
            "email" => Ok(UserFilter::Email(value.to_lowercase())),
            "given_name" => Ok(UserFilter::GivenName(value)),
            "family_name" => Ok(UserFilter::FamilyName(value)),
            _ => Err(invalid(format!(
                "unsupported filter attribute '{attr}' (supported: email, given_name, family_name)"
            ))),
        }
    }

    /// Whether `user` satisfies the filter.
    pub fn matches(&self, user: &User) -> bool {
        match self {
            // The value was lower-cased at parse time; stored userNames are lower-case.
            UserFilter::Email(v) => {
                user.user_name == *v || user.emails.iter().any(|e| e.value.to_lowercase() == *v)
            }
            UserFilter::GivenName(v) => user.given_name.as_deref() == Some(v.as_str()),
            UserFilter::FamilyName(v) => user.family_name.as_deref() == Some(v.as_str()),
        }
    }
}

/// A parsed `/Groups` filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupFilter {
    /// `displayName eq "x"` (or unquoted), compared case-insensitively as RFC 7643
    /// declares `displayName` not case-exact.
    DisplayName(String),
}

impl GroupFilter {
    /// Parses a filter expression for `/Groups`.
    pub fn parse(input: &str) -> Result<GroupFilter, ScimError> {
        let (attr, value) = parse_eq(input)?;
        if attr.eq_ignore_ascii_case("displayName") {
            Ok(GroupFilter::DisplayName(value))
        } else {
            Err(invalid(format!(
                "unsupported filter attribute '{attr}' (supported: displayName)"
            )))
        }
    }

    /// Whether `group` satisfies the filter.
    pub fn matches(&self, group: &Group) -> bool {
        match self {
            GroupFilter::DisplayName(v) => group.display_name.to_lowercase() == v.to_lowercase(),
        }
    }
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidFilter", detail)
}

/// Splits `attr op value` and checks that `op` is `eq`. Returns the attribute and the
/// unquoted value.
fn parse_eq(input: &str) -> Result<(String, String), ScimError> {
    let s = input.trim_start();
    let (attr, rest) = split_token(s);
    if attr.is_empty() {
        return Err(invalid("empty filter"));
    }
    let (op, rest) = split_token(rest.trim_start());
    if op.is_empty() {
        return Err(invalid(format!("filter '{input}' has no operator")));
    }
    if !op.eq_ignore_ascii_case("eq") {
        return Err(invalid(format!(
            "unsupported filter operator '{op}' (only eq is supported)"
        )));
    }
    let rest = rest.trim();
    let value = if let Some(quoted) = rest.strip_prefix('"') {
        let (value, tail) = parse_quoted(quoted)?;
        if !tail.trim().is_empty() {
            return Err(invalid(
                "only a single comparison is supported (no and/or/not)",
            ));
        }
        value
    } else {
        // Unquoted values cannot contain spaces: they would be indistinguishable from a
        // logical expression.
        if rest.is_empty() {
            return Err(invalid("filter has no comparison value"));
        }
        if rest.contains(char::is_whitespace) {
            return Err(invalid(
                "only a single comparison is supported; quote values containing spaces",
            ));
        }
        rest.to_string()
    };
    Ok((attr.to_string(), value))
}

fn split_token(s: &str) -> (&str, &str) {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    s.split_at(end)
}

/// Reads a JSON-style quoted string whose opening quote was already consumed; returns
/// the value and whatever follows the closing quote.
fn parse_quoted(s: &str) -> Result<(String, &str), ScimError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err(invalid("unterminated string in filter"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_filters() {
        assert_eq!(
            UserFilter::parse(r#"email eq "Ann@Corp.com""#).unwrap(),
            UserFilter::Email("ann@corp.com".into())
        );
        assert_eq!(
            UserFilter::parse(r#"  given_name   EQ "Ann""#).unwrap(),
            UserFilter::GivenName("Ann".into())
        );
        assert_eq!(
            UserFilter::parse(r#"family_name eq "O\"Neil""#).unwrap(),
            UserFilter::FamilyName("O\"Neil".into())
        );
        assert_eq!(
            UserFilter::parse("Email eq x@y.z").unwrap(),
            UserFilter::Email("x@y.z".into())
        );
    }

    #[test]
    fn parses_group_filters_quoted_or_not() {
        let want = GroupFilter::DisplayName("Designers".into());
        assert_eq!(
            GroupFilter::parse(r#"displayName eq "Designers""#).unwrap(),
            want
        );
        assert_eq!(
            GroupFilter::parse("displayName eq Designers").unwrap(),
            want
        );
        assert_eq!(
            GroupFilter::parse(r#"displayName eq "Design Team""#).unwrap(),
            GroupFilter::DisplayName("Design Team".into())
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            r#"userName eq "a@b.c""#,
            r#"email co "a""#,
            r#"email ne "a""#,
            "email pr",
            r#"email eq "a" and given_name eq "b""#,
            r#"email eq "unterminated"#,
            "email eq",
            "email eq two words",
            "",
        ] {
            let err = UserFilter::parse(bad).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
            assert_eq!(err.scim_type, Some("invalidFilter"), "{bad}");
        }
        assert!(GroupFilter::parse(r#"id eq "x""#).is_err());
        assert!(GroupFilter::parse(r#"displayName sw "x""#).is_err());
    }
}
