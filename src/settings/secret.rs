//! A string that must never be printed: Debug, Display and Serialize all show `***`.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that hands it to the system that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// Replaces every occurrence of each secret in `text` with `***`.
///
/// External tools and services sometimes echo what we sent them (a connection string in an error,
/// a URL with a token); everything that reaches the user from outside passes through this.
pub fn redact<'a>(text: &str, secrets: impl IntoIterator<Item = &'a Secret>) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        // Very short values would blank out ordinary words; real secrets are long.
        if secret.0.len() >= 4 {
            out = out.replace(&secret.0, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redacts_every_occurrence() {
        let s = Secret::new("tok3n");
        assert_eq!(redact("a tok3n b tok3n", [&s]), "a *** b ***");
        assert_eq!(redact("abc", [&Secret::new("ab")]), "abc");
    }
}
