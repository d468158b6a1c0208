//! Merging `.env.example` into a user's `.env` (pure: text in, text out), for `olmisctl init`.
//!
//! The user's file is never rewritten beyond two things: empty secrets get a generated value in
//! place, and variables the template has but the file lacks are appended. Everything else (values,
//! comments, order) stays byte for byte, which makes a second run a no-op.

use crate::settings::vars::{self, Generate};

#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MergeOutcome {
    /// Variables appended because the file lacked them.
    pub added: Vec<String>,
    /// Secrets that received a freshly generated value.
    pub generated: Vec<String>,
}

impl MergeOutcome {
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.generated.is_empty()
    }
}

/// A `NAME=value` line split into its name and value; `None` for comments and blanks.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line);
    if line.starts_with('#') {
        return None;
    }
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some((name, value))
}

fn is_empty_value(value: &str) -> bool {
    matches!(value.trim(), "" | "\"\"" | "''")
}

fn generator(name: &str) -> Generate {
    vars::lookup(name).filter(|v| v.secret).map(|v| v.generate).unwrap_or(Generate::No)
}

/// Returns the new file text and what changed. `existing` is `None` when there is no `.env` yet.
pub fn merge(
    template: &str,
    existing: Option<&str>,
    mut make_secret: impl FnMut(Generate) -> String,
) -> (String, MergeOutcome) {
    let mut outcome = MergeOutcome::default();
    let mut fill = |name: &str, value: &str, outcome: &mut MergeOutcome| -> Option<String> {
        let how = generator(name);
        (how != Generate::No && is_empty_value(value)).then(|| {
            outcome.generated.push(name.to_string());
            make_secret(how)
        })
    };

    let Some(existing) = existing else {
        let mut text = String::new();
        for line in template.lines() {
            match assignment(line) {
                Some((name, value)) => match fill(name, value, &mut outcome) {
                    Some(secret) => text.push_str(&format!("{name}={secret}\n")),
                    None => text.push_str(&format!("{line}\n")),
                },
                None => text.push_str(&format!("{line}\n")),
            }
        }
        return (text, outcome);
    };

    let mut text = String::new();
    let mut present = Vec::new();
    for line in existing.split_inclusive('\n') {
        match assignment(line.trim_end_matches(['\n', '\r'])) {
            Some((name, value)) => {
                present.push(name.to_string());
                match fill(name, value, &mut outcome) {
                    Some(secret) => text.push_str(&format!("{name}={secret}\n")),
                    None => text.push_str(line),
                }
            }
            None => text.push_str(line),
        }
    }
    let mut appended = String::new();
    for line in template.lines() {
        if let Some((name, value)) = assignment(line) {
            if present.iter().any(|p| p == name) || outcome.added.iter().any(|a| a == name) {
                continue;
            }
            outcome.added.push(name.to_string());
            let value = fill(name, value, &mut outcome).unwrap_or_else(|| value.to_string());
            appended.push_str(&format!("{name}={value}\n"));
        }
    }
    if !appended.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("\n# Added by `olmisctl init` from .env.example\n");
        text.push_str(&appended);
    }
    (text, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "# Source\nSOURCE_PG_HOST=localhost\nSOURCE_PG_PASSWORD=\n\n# Airflow\nAIRFLOW__CORE__FERNET_KEY=\nGIT_TOKEN=\n";

    fn fake(g: Generate) -> String {
        format!("gen-{g:?}")
    }

    #[test]
    fn fresh_file_fills_generated_secrets_only() {
        let (text, outcome) = merge(TEMPLATE, None, fake);
        assert_eq!(
            text,
            "# Source\nSOURCE_PG_HOST=localhost\nSOURCE_PG_PASSWORD=gen-Alphanumeric(32)\n\n# Airflow\nAIRFLOW__CORE__FERNET_KEY=gen-Fernet\nGIT_TOKEN=\n"
        );
        assert_eq!(outcome.generated, vec!["SOURCE_PG_PASSWORD", "AIRFLOW__CORE__FERNET_KEY"]);
        assert!(outcome.added.is_empty());
    }

    #[test]
    fn existing_values_are_kept_and_missing_ones_appended() {
        let existing = "# mine\nSOURCE_PG_HOST=db.example.org\nSOURCE_PG_PASSWORD=\"my pass\"\n";
        let (text, outcome) = merge(TEMPLATE, Some(existing), fake);
        assert!(text.starts_with(existing), "{text}");
        assert!(text.contains("AIRFLOW__CORE__FERNET_KEY=gen-Fernet\nGIT_TOKEN=\n"), "{text}");
        assert_eq!(outcome.added, vec!["AIRFLOW__CORE__FERNET_KEY", "GIT_TOKEN"]);
        assert_eq!(outcome.generated, vec!["AIRFLOW__CORE__FERNET_KEY"]);
    }

    #[test]
    fn empty_secret_in_existing_file_is_filled_in_place() {
        let existing = "SOURCE_PG_PASSWORD=\nSOURCE_PG_HOST=h\n";
        let (text, _) = merge("SOURCE_PG_PASSWORD=\nSOURCE_PG_HOST=x\n", Some(existing), fake);
        assert_eq!(text, "SOURCE_PG_PASSWORD=gen-Alphanumeric(32)\nSOURCE_PG_HOST=h\n");
    }

    #[test]
    fn second_merge_changes_nothing() {
        let (first, _) = merge(TEMPLATE, None, fake);
        let (second, outcome) = merge(TEMPLATE, Some(&first), fake);
        assert_eq!(first, second);
        assert!(!outcome.changed());
    }

    #[test]
    fn file_without_trailing_newline_gets_one_before_appending() {
        let (text, _) = merge("A_NEW=1\n", Some("X=1"), fake);
        assert_eq!(text, "X=1\n\n# Added by `olmisctl init` from .env.example\nA_NEW=1\n");
    }
}
