//! Secrets stay in the host. The component gets [`SECRET_PLACEHOLDER`] for
//! every secret config field; a field bound to an origin
//! (`config-field.credential`) is added to requests to that origin by the
//! egress hooks. Redacting what a component prints cannot stop a component
//! that holds a token from encoding it, so the component must not hold it.

use std::fmt;

use http::{HeaderName, HeaderValue};

use super::egress::Origin;
use crate::bindings::types::{ConfigValue, ConnectorMetadata, CredentialPresentation};

/// What a component receives in place of a secret value (see the WIT).
pub const SECRET_PLACEHOLDER: &str = "baton-host-held-secret";

/// A header the host adds to every request to one origin.
#[derive(Clone)]
pub(crate) struct BoundCredential {
    origin: Origin,
    header: HeaderName,
    value: HeaderValue,
}

impl BoundCredential {
    /// Adds the credential when `uri` is on its origin, replacing whatever
    /// the component put in that header.
    pub(crate) fn apply(&self, uri: &http::Uri, headers: &mut http::HeaderMap) {
        if self.origin.matches(uri) {
            headers.insert(self.header.clone(), self.value.clone());
        }
    }
}

impl fmt::Debug for BoundCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {} (value withheld)", self.header, self.origin)
    }
}

/// The configuration as a run's identity: which connector setup produced a sync, so that
/// a later run knows whether it may resume it. Secret values are kept only as a
/// fingerprint: the first 64 bits of a SHA-256 over a fixed label, the field name and the
/// value. That tells a changed token apart without holding anything that could be used as
/// one (and 64 bits of a hash of a high-entropy token reveal nothing usable).
pub(crate) fn config_identity(
    metadata: &ConnectorMetadata,
    values: &[ConfigValue],
) -> std::collections::BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    values
        .iter()
        .map(|v| {
            let secret = metadata
                .config_fields
                .iter()
                .any(|f| f.name == v.name && f.secret);
            let value = if secret {
                let digest = Sha256::new()
                    .chain_update(b"baton-host config fingerprint\0")
                    .chain_update(v.name.as_bytes())
                    .chain_update([0])
                    .chain_update(v.value.as_bytes())
                    .finalize();
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("fingerprint:{hex}")
            } else {
                v.value.clone()
            };
            (v.name.clone(), value)
        })
        .collect()
}

/// The configuration split between the component and the host.
#[derive(Debug)]
pub(crate) struct SecretPlan {
    /// What the component's `configure` gets.
    pub(crate) guest_values: Vec<ConfigValue>,
    /// What the host sends upstream itself.
    pub(crate) credentials: Vec<BoundCredential>,
    /// Secret values passed in because the operator allowed it.
    pub(crate) passed_in: Vec<String>,
}

/// Splits `values` by the secret fields and credential bindings of
/// `metadata`. With `pass_secrets_in`, unbound secret fields get their real
/// value (the operator's explicit choice); bound ones never do.
pub(crate) fn plan(
    metadata: &ConnectorMetadata,
    values: &[ConfigValue],
    pass_secrets_in: bool,
) -> Result<SecretPlan, String> {
    let value_of = |name: &str| {
        values
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.clone())
            .or_else(|| {
                let field = metadata.config_fields.iter().find(|f| f.name == name)?;
                field.default_value.clone()
            })
    };
    let mut plan = SecretPlan {
        guest_values: Vec::with_capacity(values.len()),
        credentials: Vec::new(),
        passed_in: Vec::new(),
    };
    for value in values {
        let field = metadata.config_fields.iter().find(|f| f.name == value.name);
        let Some(field) = field.filter(|f| f.secret || f.credential.is_some()) else {
            plan.guest_values.push(value.clone());
            continue;
        };
        let guest_value = match &field.credential {
            Some(binding) => {
                let origin_field = metadata
                    .config_fields
                    .iter()
                    .find(|f| f.name == binding.origin_field && f.egress_origin)
                    .ok_or_else(|| {
                        format!(
                            "config field `{}` is bound to `{}`, which is not an egress-origin field",
                            field.name, binding.origin_field
                        )
                    })?;
                let url = value_of(&origin_field.name).ok_or_else(|| {
                    format!(
                        "config field `{}` is bound to `{}`, which has no value",
                        field.name, origin_field.name
                    )
                })?;
                let origin = Origin::of_url(&url)
                    .map_err(|e| format!("config field `{}`: {e}", origin_field.name))?;
                plan.credentials.push(bind(
                    &field.name,
                    &binding.presentation,
                    origin,
                    &value.value,
                )?);
                SECRET_PLACEHOLDER.to_string()
            }
            None if pass_secrets_in => {
                plan.passed_in.push(value.value.clone());
                tracing::warn!(
                    field = %field.name,
                    "passing the secret config field into the component, as the operator allowed \
                     (--pass-secrets-to-component); the component can read and leak it"
                );
                value.value.clone()
            }
            None => SECRET_PLACEHOLDER.to_string(),
        };
        plan.guest_values.push(ConfigValue {
            name: value.name.clone(),
            value: guest_value,
        });
    }
    Ok(plan)
}

fn bind(
    field: &str,
    presentation: &CredentialPresentation,
    origin: Origin,
    secret: &str,
) -> Result<BoundCredential, String> {
    // The message never holds the value.
    let unusable = || format!("config field `{field}` cannot be sent in an HTTP header");
    let (header, text) = match presentation {
        CredentialPresentation::Bearer => (
            http::header::AUTHORIZATION,
            format!("Bearer {}", secret.trim()),
        ),
        CredentialPresentation::Header(name) => (
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                format!("config field `{field}` names `{name}`, which is not a header name")
            })?,
            secret.trim().to_string(),
        ),
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| unusable())?;
    value.set_sensitive(true);
    Ok(BoundCredential {
        origin,
        header,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::{ConfigField, CredentialBinding};

    fn field(name: &str, secret: bool, origin: bool, bound: bool) -> ConfigField {
        ConfigField {
            name: name.into(),
            display_name: name.into(),
            description: String::new(),
            required: false,
            secret,
            hidden: false,
            egress_origin: origin,
            default_value: origin.then(|| "https://api.example.com/v1".into()),
            credential: bound.then(|| CredentialBinding {
                origin_field: "base-url".into(),
                presentation: CredentialPresentation::Bearer,
            }),
        }
    }

    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            config_fields: vec![
                field("token", true, false, true),
                field("other", true, false, false),
                field("base-url", false, true, false),
            ],
            ..ConnectorMetadata::empty("t")
        }
    }

    fn values() -> Vec<ConfigValue> {
        ["token", "other"]
            .map(|name| ConfigValue {
                name: name.into(),
                value: format!("{name}-s3cret"),
            })
            .to_vec()
    }

    #[test]
    fn no_secret_reaches_the_component_unless_the_operator_says_so() {
        let plan = plan(&metadata(), &values(), false).unwrap();
        assert!(plan
            .guest_values
            .iter()
            .all(|v| v.value == SECRET_PLACEHOLDER));
        assert!(plan.passed_in.is_empty());
        let plan = super::plan(&metadata(), &values(), true).unwrap();
        let given: Vec<&str> = plan.guest_values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(
            given,
            [SECRET_PLACEHOLDER, "other-s3cret"],
            "a bound field stays in the host"
        );
    }

    #[test]
    fn a_bound_credential_goes_to_its_origin_only_and_replaces_the_components_header() {
        let plan = plan(&metadata(), &values(), false).unwrap();
        let [credential] = &plan.credentials[..] else {
            panic!("{:?}", plan.credentials)
        };
        assert!(!format!("{credential:?}").contains("s3cret"));
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer forged"));
        credential.apply(
            &"https://api.example.com/v1/Users".parse().unwrap(),
            &mut headers,
        );
        assert_eq!(headers["authorization"], "Bearer token-s3cret");
        let mut headers = http::HeaderMap::new();
        credential.apply(&"https://evil.example.com/x".parse().unwrap(), &mut headers);
        credential.apply(&"http://api.example.com/v1".parse().unwrap(), &mut headers);
        assert!(headers.is_empty());
    }

    #[test]
    fn a_binding_to_a_field_that_is_no_origin_is_refused_without_the_value() {
        let mut m = metadata();
        m.config_fields[0].credential.as_mut().unwrap().origin_field = "other".into();
        let e = plan(&m, &values(), false).unwrap_err();
        assert!(
            e.contains("not an egress-origin field") && !e.contains("s3cret"),
            "{e}"
        );
        let mut v = values();
        v[0].value = "bad\nvalue".into();
        let e = plan(&metadata(), &v, false).unwrap_err();
        assert!(e.contains("cannot be sent") && !e.contains("bad"), "{e}");
    }
}
