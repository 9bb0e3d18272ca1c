//! Removal of secret values from text that leaves the sandbox.

/// Replaces known secret values with `[REDACTED]`.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Registers a secret. Empty values are ignored: they would match everywhere.
    pub fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
        }
    }

    /// Returns `text` with every registered secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[REDACTED]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_and_ignores_empty_secrets() {
        let mut r = Redactor::default();
        r.add("");
        r.add("s3cret");
        assert_eq!(
            r.redact("a s3cret and s3cret"),
            "a [REDACTED] and [REDACTED]"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
