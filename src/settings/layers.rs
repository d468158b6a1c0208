//! Collects raw configuration values from their four places, highest precedence first:
//! `--set` flags, the process environment, the `.env` file, built-in defaults.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::vars::{VARS, Var};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Flag,
    Environment,
    EnvFile,
    Default,
}

impl Origin {
    pub fn label(self) -> &'static str {
        match self {
            Origin::Flag => "flag",
            Origin::Environment => "environment",
            Origin::EnvFile => ".env",
            Origin::Default => "default",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RawValue {
    pub value: String,
    pub origin: Origin,
}

/// The winning raw value of every known variable that has one.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    values: BTreeMap<&'static str, RawValue>,
}

impl Layers {
    /// `env` is the process environment (passed in so tests and callers control it).
    pub fn collect(
        flags: &[(String, String)],
        env: &BTreeMap<String, String>,
        env_file: Option<&Path>,
    ) -> Result<Layers> {
        let file_values = match env_file {
            Some(path) if path.exists() => read_env_file(path)?,
            _ => BTreeMap::new(),
        };
        let mut values = BTreeMap::new();
        for var in VARS {
            // An empty value means "not set" at every layer, so `.env.example`'s empty lines and
            // `VAR=` in the environment fall through to the next layer instead of shadowing it.
            let nonempty = |v: &String| !v.trim().is_empty();
            let flag = flags.iter().rev().find(|(k, v)| k == var.name && nonempty(v)).map(|(_, v)| v);
            let found = flag
                .map(|v| (v.clone(), Origin::Flag))
                .or_else(|| env.get(var.name).filter(|v| nonempty(v)).map(|v| (v.clone(), Origin::Environment)))
                .or_else(|| file_values.get(var.name).filter(|v| nonempty(v)).map(|v| (v.clone(), Origin::EnvFile)))
                .or_else(|| var.default.map(|v| (v.to_string(), Origin::Default)));
            if let Some((value, origin)) = found {
                values.insert(var.name, RawValue { value: value.trim().to_string(), origin });
            }
        }
        Ok(Layers { values })
    }

    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static Var, Option<&RawValue>)> {
        VARS.iter().map(|v| (v, self.values.get(v.name)))
    }
}

/// Parses `--set KEY=VALUE` flags. Secrets are refused: process arguments are visible to every
/// user of the machine (`ps`), so a password there is already leaked.
pub fn parse_flags(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|entry| {
            let (key, value) =
                entry.split_once('=').ok_or_else(|| Error::usage(format!("--set {entry:?}: expected KEY=VALUE")))?;
            let var = super::vars::lookup(key).ok_or_else(|| {
                Error::usage(format!("--set {key}: unknown variable"))
                    .with_hint("`olmisctl config` lists every variable")
            })?;
            if var.secret {
                return Err(Error::usage(format!("--set {key}: secrets can't be passed as arguments")).with_hint(
                    format!("set {key} in the environment or in .env (arguments are visible to other users)"),
                ));
            }
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// Reads `NAME=value` lines; comments, blanks and `export ` prefixes are allowed, quotes are removed.
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let mut out = BTreeMap::new();
    for item in iter {
        let (key, value) = item.map_err(|e| {
            Error::file(path, format!("is not a valid env file: {}", describe_dotenv_error(&e)))
                .with_hint("each line must be NAME=value, a comment starting with #, or blank")
        })?;
        out.insert(key, value);
    }
    Ok(out)
}

fn describe_dotenv_error(err: &dotenvy::Error) -> String {
    match err {
        // The parser reports the offending line itself; it never contains more than that line.
        dotenvy::Error::LineParse(line, index) => {
            format!("cannot parse line {:?} at character {}", truncate(line, 60), index + 1)
        }
        other => other.to_string(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}...", s.chars().take(max).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "SOURCE_PG_DB=from_file\nSOURCE_PG_USER=file_user\nSOURCE_PG_HOST=filehost\n").unwrap();
        let flags = vec![("SOURCE_PG_DB".to_string(), "from_flag".to_string())];
        let e = env(&[("SOURCE_PG_DB", "from_env"), ("SOURCE_PG_USER", "env_user")]);
        let layers = Layers::collect(&flags, &e, Some(&file)).unwrap();
        let get = |k| layers.get(k).map(|r| (r.value.as_str(), r.origin));
        assert_eq!(get("SOURCE_PG_DB"), Some(("from_flag", Origin::Flag)));
        assert_eq!(get("SOURCE_PG_USER"), Some(("env_user", Origin::Environment)));
        assert_eq!(get("SOURCE_PG_HOST"), Some(("filehost", Origin::EnvFile)));
        assert_eq!(get("SOURCE_PG_PORT"), Some(("5432", Origin::Default)));
        assert_eq!(get("GIT_TOKEN"), None);
    }

    #[test]
    fn empty_values_fall_through_to_defaults() {
        let layers = Layers::collect(&[], &env(&[("SOURCE_PG_PORT", "")]), None).unwrap();
        assert_eq!(layers.get("SOURCE_PG_PORT").unwrap().origin, Origin::Default);
    }

    #[test]
    fn set_flags_refuse_secrets_and_unknown_names() {
        assert!(parse_flags(&["SOURCE_PG_DB=x".into()]).is_ok());
        let err = parse_flags(&["SOURCE_PG_PASSWORD=x".into()]).unwrap_err();
        assert!(err.to_string().contains("secrets can't be passed"));
        assert!(!err.to_string().contains("=x"));
        assert!(parse_flags(&["NOPE=1".into()]).unwrap_err().to_string().contains("unknown variable"));
        assert!(parse_flags(&["SOURCE_PG_DB".into()]).unwrap_err().to_string().contains("KEY=VALUE"));
    }
}
