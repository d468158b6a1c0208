//! The SQL templates under `clickhouse/templates/`, compiled into the binary, and their renderer.
//!
//! A template is plain SQL with `{{name}}` placeholders. Rendering is strict both ways: a
//! placeholder without a value and a value without a placeholder are errors, so a typo can't
//! produce half-rendered SQL or silently ignore a setting.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! template {
    ($name:literal) => {
        Template { name: $name, text: include_str!(concat!("../../clickhouse/templates/", $name, ".sql")) }
    };
}

pub const DATABASE: Template = template!("database");
pub const EVENTS_TABLE: Template = template!("events_table");
pub const ERRORS_TABLE: Template = template!("errors_table");
pub const KAFKA_TABLE: Template = template!("kafka_table");
pub const PARSED_TABLE: Template = template!("parsed_table");
pub const PARSED_VIEW: Template = template!("parsed_mv");
pub const EVENTS_VIEW: Template = template!("events_mv");
pub const ERRORS_VIEW: Template = template!("errors_mv");
pub const DROP: Template = template!("drop");
pub const ALTER: Template = template!("alter");
pub const BOOTSTRAP_IMPORTS: Template = template!("bootstrap_imports");

pub const ALL: &[Template] = &[
    DATABASE,
    EVENTS_TABLE,
    ERRORS_TABLE,
    KAFKA_TABLE,
    PARSED_TABLE,
    PARSED_VIEW,
    EVENTS_VIEW,
    ERRORS_VIEW,
    DROP,
    ALTER,
    BOOTSTRAP_IMPORTS,
];

impl Template {
    /// Fills every `{{name}}` with its value. Values are inserted verbatim: callers quote
    /// literals and validate identifiers before they get here.
    pub fn render(&self, values: &[(&str, &str)]) -> Result<String> {
        let bug = |message: String| Error::Failed(format!("internal error in SQL template {}: {message}", self.name));
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut used = vec![false; values.len()];
        let mut rest = self.text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| bug("unclosed {{".into()))?;
            let key = &after[..end];
            let index =
                values.iter().position(|(k, _)| *k == key).ok_or_else(|| bug(format!("no value for {{{{{key}}}}}")))?;
            used[index] = true;
            out.push_str(values[index].1);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        if let Some(unused) = used.iter().position(|u| !u) {
            return Err(bug(format!("value {:?} has no placeholder", values[unused].0)));
        }
        Ok(out.trim_end().to_string())
    }

    /// The placeholder names the template uses, in order of first appearance.
    pub fn placeholders(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut rest = self.text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            if !names.contains(&&after[..end]) {
                names.push(&after[..end]);
            }
            rest = &after[end + 2..];
        }
        names
    }
}

/// A SQL string literal (single quotes; backslash and quote escaped as ClickHouse reads them).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Template = Template { name: "t", text: "SELECT {{a}} FROM x{{b}} WHERE {{a}} = 1\n" };

    #[test]
    fn renders_every_placeholder() {
        assert_eq!(T.render(&[("a", "c"), ("b", "")]).unwrap(), "SELECT c FROM x WHERE c = 1");
        assert_eq!(T.placeholders(), ["a", "b"]);
    }

    #[test]
    fn missing_and_unused_values_are_errors() {
        let err = T.render(&[("a", "c")]).unwrap_err();
        assert!(err.to_string().contains("no value for {{b}}"), "{err}");
        let err = T.render(&[("a", "c"), ("b", ""), ("z", "1")]).unwrap_err();
        assert!(err.to_string().contains("\"z\" has no placeholder"), "{err}");
    }

    #[test]
    fn values_are_not_rescanned() {
        let t = Template { name: "t", text: "ENGINE = {{engine}}" };
        let out = t.render(&[("engine", "Replicated('/x/{shard}', '{replica}')")]).unwrap();
        assert_eq!(out, "ENGINE = Replicated('/x/{shard}', '{replica}')");
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal(r"it's a\b"), r"'it\'s a\\b'");
    }

    #[test]
    fn every_template_is_closed_and_documented() {
        for t in ALL {
            assert!(t.text.starts_with("-- "), "{} should open with a comment saying what it creates", t.name);
            assert_eq!(t.text.matches("{{").count(), t.text.matches("}}").count(), "{}", t.name);
        }
    }
}
