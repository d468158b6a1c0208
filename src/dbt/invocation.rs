//! What a dbt run is given: its arguments and its environment. Pure, so the rules about what goes
//! where (nothing secret in arguments, the platform's variables as dbt vars) are unit-tested.

use crate::error::{Error, Result};
use crate::settings::{Secret, Settings, required, vars};

use super::source_collection::collection_name;

/// One dbt command of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Deps,
    Freshness,
    Build { full_refresh: bool },
    Test,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Deps => "dbt deps",
            Step::Freshness => "dbt source freshness",
            Step::Build { .. } => "dbt build",
            Step::Test => "dbt test",
        }
    }
}

/// dbt's command line for a step. `vars` is the JSON of [`dbt_vars`]; nothing in it is secret.
pub fn args(step: Step, selector: &str, vars: &str) -> Vec<String> {
    let mut args: Vec<String> = match step {
        Step::Deps => return vec!["deps".into(), "--no-use-colors".into()],
        Step::Freshness => vec!["source".into(), "freshness".into()],
        Step::Build { .. } => vec!["build".into()],
        Step::Test => vec!["test".into()],
    };
    args.extend(["--no-use-colors".into(), "--select".into(), selector.into(), "--vars".into(), vars.into()]);
    if let Step::Build { full_refresh: true } = step {
        args.push("--full-refresh".into());
    }
    args
}

/// The selector for `dbt source freshness`: the sources the selected models read. Each union
/// member gets dbt's `+` (ancestors) prefix; graph operators already there and intersections
/// (`a,b`) are left as they are.
pub fn freshness_selector(selector: &str) -> String {
    selector
        .split_whitespace()
        .map(|part| {
            let has_ancestors = part.starts_with('+') || part.starts_with(|c: char| c.is_ascii_digit());
            if has_ancestors || part.contains(',') { part.to_string() } else { format!("+{part}") }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The platform's dbt vars (see dbt/dbt_project.yml) from the configuration, as JSON.
pub fn dbt_vars(settings: &Settings) -> String {
    let mut vars = serde_json::json!({
        "olmis_raw_database": settings.dbt.raw_database,
        "olmis_source_database": settings.source.db,
        "olmis_source_collection": collection_name(settings),
        "olmis_freshness_max_age_minutes": settings.dbt.freshness_max_age_minutes,
    });
    if let Some(date) = &settings.dbt.as_of_date {
        vars["olmis_as_of_date"] = serde_json::Value::String(date.clone());
    }
    vars.to_string()
}

/// The environment a dbt process gets on top of olmisctl's own.
#[derive(Debug)]
pub struct Environment {
    pub set: Vec<(String, String)>,
    /// Handed to the process only, never printed.
    pub secrets: Vec<(String, Secret)>,
    /// Secrets of olmisctl's configuration that dbt has no use for.
    pub remove: Vec<&'static str>,
}

/// Where dbt-clickhouse connects: host, HTTP port and TLS, from CLICKHOUSE_URL.
pub fn clickhouse_endpoint(url: &url::Url) -> Result<(String, u16, bool)> {
    let bad = |expected: &str| Error::Config {
        var: "CLICKHOUSE_URL".into(),
        value: Some(url.to_string()),
        expected: expected.to_string(),
        hint: Some("dbt-clickhouse connects to a host and port; put a proxy's path rules on the proxy".into()),
    };
    let secure = match url.scheme() {
        "http" => false,
        "https" => true,
        _ => return Err(bad("an http:// or https:// URL")),
    };
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(bad("a URL without a path or query for dbt, such as http://host:8123"));
    }
    let host = url.host_str().ok_or_else(|| bad("a URL with a host"))?;
    let port = url.port_or_known_default().ok_or_else(|| bad("a URL with a port"))?;
    Ok((host.trim_matches(|c| c == '[' || c == ']').to_string(), port, secure))
}

/// dbt's environment for a step: the connection for profiles.yml (the password under a
/// `DBT_ENV_SECRET_` name, which dbt scrubs from its logs), the curated database, no anonymous
/// usage reporting, and for `deps` of Git packages a credential helper that hands GIT_TOKEN to
/// git from the environment, so the token is in no URL, file or argument.
///
/// Tests run only when all the models they read are selected (dbt's "cautious" indirect
/// selection) unless the user's own DBT_INDIRECT_SELECTION (`user_indirect_selection`) says
/// otherwise: with dbt's default, selecting one model also runs the relationship tests of models
/// that point at it, which fail on tables that were never built.
pub fn environment(
    settings: &Settings,
    step: Step,
    runner_dir: &std::path::Path,
    user_indirect_selection: bool,
) -> Result<Environment> {
    let (host, port, secure) = clickhouse_endpoint(&settings.clickhouse.url)?;
    let password = required(&settings.clickhouse.password, "CLICKHOUSE_PASSWORD")?;
    let mut set = vec![
        ("DBT_PROFILES_DIR".to_string(), runner_dir.to_string_lossy().into_owned()),
        ("DBT_SEND_ANONYMOUS_USAGE_STATS".to_string(), "False".to_string()),
        ("OLMIS_DBT_CLICKHOUSE_HOST".to_string(), host),
        ("OLMIS_DBT_CLICKHOUSE_PORT".to_string(), port.to_string()),
        ("OLMIS_DBT_CLICKHOUSE_SECURE".to_string(), if secure { "True" } else { "False" }.to_string()),
        ("CLICKHOUSE_USER".to_string(), settings.clickhouse.user.clone()),
        ("DBT_CURATED_DATABASE".to_string(), settings.dbt.curated_database.clone()),
    ];
    if !user_indirect_selection {
        set.push(("DBT_INDIRECT_SELECTION".to_string(), "cautious".to_string()));
    }
    let mut secrets = vec![("DBT_ENV_SECRET_CLICKHOUSE_PASSWORD".to_string(), password.clone())];
    let git_mode = settings.packages.core_git.is_some() || !settings.packages.extension_git.is_empty();
    if let (Step::Deps, true, Some(token)) = (step, git_mode, &settings.packages.git_token) {
        set.extend([
            ("GIT_TERMINAL_PROMPT".to_string(), "0".to_string()),
            ("GIT_CONFIG_COUNT".to_string(), "1".to_string()),
            ("GIT_CONFIG_KEY_0".to_string(), "credential.helper".to_string()),
            // git runs this through the shell; the token is expanded there from the environment.
            (
                "GIT_CONFIG_VALUE_0".to_string(),
                r#"!f() { test "$1" = get && echo username=x-access-token && echo "password=$DBT_ENV_SECRET_GIT_TOKEN"; }; f"#
                    .to_string(),
            ),
        ]);
        secrets.push(("DBT_ENV_SECRET_GIT_TOKEN".to_string(), token.clone()));
    }
    let remove = vars::VARS.iter().filter(|v| v.secret).map(|v| v.name).collect();
    Ok(Environment { set, secrets, remove })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let env: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load(Path::new("/proj"), Path::new("/proj/.env-missing"), &[], &env).unwrap()
    }

    #[test]
    fn arguments_carry_selector_and_vars_but_no_secret() {
        let s = settings(&[("CLICKHOUSE_PASSWORD", "ch-secret"), ("SOURCE_PG_PASSWORD", "pg-secret")]);
        let vars = dbt_vars(&s);
        let build = args(Step::Build { full_refresh: true }, "package:a package:b", &vars);
        assert_eq!(build[..4], ["build", "--no-use-colors", "--select", "package:a package:b"]);
        assert_eq!(build.last().unwrap(), "--full-refresh");
        let joined = build.join(" ");
        assert!(!joined.contains("secret"), "{joined}");
        let parsed: serde_json::Value = serde_json::from_str(&vars).unwrap();
        assert_eq!(parsed["olmis_raw_database"], "raw");
        assert_eq!(parsed["olmis_source_database"], "open_lmis");
        assert_eq!(parsed["olmis_source_collection"], collection_name(&s));
        let other = settings(&[("SOURCE_PG_DB", "other")]);
        assert_ne!(collection_name(&other), collection_name(&s), "one collection per source");
        assert!(parsed.get("olmis_as_of_date").is_none());
        assert_eq!(args(Step::Deps, "x", &vars), ["deps", "--no-use-colors"]);
        assert_eq!(args(Step::Freshness, "x", &vars)[..2], ["source", "freshness"]);
    }

    #[test]
    fn environment_passes_the_password_as_a_dbt_secret() {
        let s = settings(&[("CLICKHOUSE_URL", "https://ch.example.org"), ("CLICKHOUSE_PASSWORD", "ch-secret")]);
        let env = environment(&s, Step::Build { full_refresh: false }, Path::new("/proj/dbt"), false).unwrap();
        let get = |k: &str| env.set.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("OLMIS_DBT_CLICKHOUSE_HOST"), Some("ch.example.org"));
        assert_eq!(get("OLMIS_DBT_CLICKHOUSE_PORT"), Some("443"));
        assert_eq!(get("OLMIS_DBT_CLICKHOUSE_SECURE"), Some("True"));
        assert_eq!(get("DBT_SEND_ANONYMOUS_USAGE_STATS"), Some("False"));
        assert_eq!(get("DBT_PROFILES_DIR"), Some("/proj/dbt"));
        assert_eq!(get("DBT_INDIRECT_SELECTION"), Some("cautious"));
        let theirs = environment(&s, Step::Test, Path::new("/proj/dbt"), true).unwrap();
        assert!(theirs.set.iter().all(|(k, _)| k != "DBT_INDIRECT_SELECTION"));
        assert!(env.set.iter().all(|(_, v)| !v.contains("ch-secret")));
        assert_eq!(env.secrets.len(), 1);
        assert_eq!(env.secrets[0].0, "DBT_ENV_SECRET_CLICKHOUSE_PASSWORD");
        assert_eq!(env.secrets[0].1.expose(), "ch-secret");
        assert!(env.remove.contains(&"SOURCE_PG_PASSWORD") && env.remove.contains(&"CLICKHOUSE_PASSWORD"));
    }

    #[test]
    fn git_token_reaches_git_only_for_deps_through_a_credential_helper() {
        let s = settings(&[
            ("CLICKHOUSE_PASSWORD", "x"),
            ("ANALYTICS_CORE_GIT_URL", "https://git.example.org/core.git"),
            ("GIT_TOKEN", "tok-123"),
        ]);
        let deps = environment(&s, Step::Deps, Path::new("/d"), false).unwrap();
        assert!(deps.secrets.iter().any(|(k, v)| k == "DBT_ENV_SECRET_GIT_TOKEN" && v.expose() == "tok-123"));
        assert!(deps.set.iter().any(|(k, v)| k == "GIT_CONFIG_VALUE_0" && v.contains("$DBT_ENV_SECRET_GIT_TOKEN")));
        assert!(deps.set.iter().all(|(_, v)| !v.contains("tok-123")));
        let build = environment(&s, Step::Build { full_refresh: false }, Path::new("/d"), false).unwrap();
        assert!(build.secrets.iter().all(|(k, _)| k != "DBT_ENV_SECRET_GIT_TOKEN"));
    }

    #[test]
    fn freshness_covers_the_sources_upstream_of_the_selection() {
        assert_eq!(freshness_selector("package:a package:b"), "+package:a +package:b");
        assert_eq!(freshness_selector("stg_programs"), "+stg_programs");
        assert_eq!(freshness_selector("+mart_x 2+mart_y tag:t,package:a"), "+mart_x 2+mart_y tag:t,package:a");
    }

    #[test]
    fn clickhouse_url_must_be_a_plain_endpoint() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(clickhouse_endpoint(&url("http://127.0.0.1:28123")).unwrap(), ("127.0.0.1".into(), 28123, false));
        assert_eq!(clickhouse_endpoint(&url("http://[::1]:8123/")).unwrap(), ("::1".into(), 8123, false));
        let err = clickhouse_endpoint(&url("http://proxy/clickhouse")).unwrap_err();
        assert!(err.to_string().contains("without a path"), "{err}");
    }
}
