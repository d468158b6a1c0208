//! Typed configuration. Raw values come from [`layers`]; this module validates every one of them at
//! start-up, so a malformed port or URL fails before any command touches a service.

pub mod layers;
pub mod secret;
pub mod vars;

use std::path::{Path, PathBuf};

use url::Url;

use crate::error::{Error, Result};
pub use layers::{Layers, Origin};
pub use secret::Secret;
use vars::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    Compose,
    External,
}

/// A `schema.table` name from an allowlist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl TableName {
    pub fn parse(entry: &str) -> Option<TableName> {
        let (schema, table) = entry.trim().split_once('.')?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        (valid(schema) && valid(table)).then(|| TableName { schema: schema.into(), table: table.into() })
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub host: String,
    pub port: u16,
    pub db: String,
    pub user: String,
    pub password: Option<Secret>,
    pub sslmode: String,
    /// CA certificates (PEM) to verify the server with; `None` means the system's (verify modes).
    pub sslrootcert: Option<PathBuf>,
    /// The same file as Kafka Connect's worker reads it (`database.sslrootcert`).
    pub connect_sslrootcert: Option<String>,
    pub connect_host: String,
    pub connect_port: u16,
    pub slot_name: String,
    pub publication: String,
    /// Empty means "the core package's tables".
    pub table_allowlist: Vec<TableName>,
}

#[derive(Debug, Clone)]
pub struct CdcSettings {
    pub topic_prefix: String,
    pub connector_name: String,
    pub kafka_bootstrap_servers: Vec<String>,
    pub connect_url: Url,
}

#[derive(Debug, Clone)]
pub struct ClickHouseSettings {
    pub url: Url,
    pub user: String,
    pub password: Option<Secret>,
    pub kafka_brokers: Vec<String>,
    pub cluster: Option<String>,
    pub raw_topics: Vec<String>,
    pub raw_ttl_days: u32,
    pub raw_database: String,
    pub curated_database: String,
}

#[derive(Debug, Clone)]
pub struct SupersetSettings {
    pub url: Url,
    /// ClickHouse as Superset sees it (a service name in compose), for the imported database URI.
    pub clickhouse_url: Url,
    pub admin_user: String,
    pub admin_password: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct AirflowSettings {
    pub url: Url,
    pub admin_user: String,
    pub admin_password: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    pub url: String,
    pub reference: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PackageSettings {
    pub core_path: PathBuf,
    pub extension_paths: Vec<PathBuf>,
    pub core_git: Option<GitSource>,
    pub extension_git: Vec<GitSource>,
    pub git_token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct DbtSettings {
    pub executable: Option<PathBuf>,
    pub select: Option<String>,
    pub freshness_max_age_minutes: u32,
    pub as_of_date: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub project_dir: PathBuf,
    pub env_file: PathBuf,
    pub runtime: Runtime,
    pub compose_project: String,
    pub compose_cmd: Option<String>,
    pub source: SourceSettings,
    pub cdc: CdcSettings,
    pub clickhouse: ClickHouseSettings,
    pub superset: SupersetSettings,
    pub airflow: AirflowSettings,
    pub packages: PackageSettings,
    pub dbt: DbtSettings,
    /// Every raw value with its origin, for `olmisctl config` and for child processes.
    pub layers: Layers,
}

/// A required secret that is not set: say which variable, and how to set it.
pub fn required<'a>(secret: &'a Option<Secret>, var: &str) -> Result<&'a Secret> {
    secret.as_ref().ok_or_else(|| Error::Config {
        var: var.to_string(),
        value: None,
        expected: "a value, but it is not set".to_string(),
        hint: Some(format!("run `olmisctl init` to generate it, or set {var} in the environment or .env")),
    })
}

impl Settings {
    pub fn load(
        project_dir: &Path,
        env_file: &Path,
        flags: &[(String, String)],
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<Settings> {
        let layers = Layers::collect(flags, env, Some(env_file))?;
        Settings::from_layers(project_dir, env_file, layers)
    }

    pub fn from_layers(project_dir: &Path, env_file: &Path, layers: Layers) -> Result<Settings> {
        let p = Parser { layers: &layers };
        for (var, raw) in layers.iter() {
            if let Some(raw) = raw {
                p.check(var, &raw.value)?;
            }
        }
        let resolve = |s: String| {
            let path = PathBuf::from(s);
            if path.is_absolute() { path } else { project_dir.join(path) }
        };
        let git_urls = p.list("ANALYTICS_EXTENSION_GIT_URLS");
        let git_refs = p.list("ANALYTICS_EXTENSION_GIT_REFS");
        if !git_refs.is_empty() && git_refs.len() != git_urls.len() {
            return Err(Error::Config {
                var: "ANALYTICS_EXTENSION_GIT_REFS".into(),
                value: Some(git_refs.join(",")),
                expected: format!("one ref per URL in ANALYTICS_EXTENSION_GIT_URLS ({} URLs)", git_urls.len()),
                hint: None,
            });
        }
        let source_host = p.text("SOURCE_PG_HOST");
        let source_port = p.port("SOURCE_PG_PORT");
        let bootstrap = p.list("KAFKA_BOOTSTRAP_SERVERS");
        let ch_brokers = p.list("CLICKHOUSE_KAFKA_BROKERS");
        Ok(Settings {
            project_dir: project_dir.to_path_buf(),
            env_file: env_file.to_path_buf(),
            runtime: match p.text("OLMIS_RUNTIME").as_str() {
                "external" => Runtime::External,
                _ => Runtime::Compose,
            },
            compose_project: p.text("COMPOSE_PROJECT_NAME"),
            compose_cmd: p.opt("OLMIS_COMPOSE_CMD"),
            source: SourceSettings {
                connect_host: p.opt("SOURCE_PG_CONNECT_HOST").unwrap_or_else(|| source_host.clone()),
                connect_port: p
                    .opt("SOURCE_PG_CONNECT_PORT")
                    .map(|_| p.port("SOURCE_PG_CONNECT_PORT"))
                    .unwrap_or(source_port),
                host: source_host,
                port: source_port,
                db: p.text("SOURCE_PG_DB"),
                user: p.text("SOURCE_PG_USER"),
                password: p.secret("SOURCE_PG_PASSWORD"),
                sslmode: p.text("SOURCE_PG_SSLMODE"),
                sslrootcert: p.opt("SOURCE_PG_SSLROOTCERT").map(resolve),
                connect_sslrootcert: p
                    .opt("SOURCE_PG_CONNECT_SSLROOTCERT")
                    .or_else(|| p.opt("SOURCE_PG_SSLROOTCERT").map(|path| resolve(path).display().to_string())),
                slot_name: p.text("SOURCE_PG_SLOT_NAME"),
                publication: p.text("SOURCE_PG_PUBLICATION"),
                table_allowlist: p
                    .list("SOURCE_PG_TABLE_ALLOWLIST")
                    .iter()
                    .filter_map(|t| TableName::parse(t))
                    .collect(),
            },
            cdc: CdcSettings {
                topic_prefix: p.text("DEBEZIUM_TOPIC_PREFIX"),
                connector_name: p.text("CONNECTOR_NAME"),
                connect_url: p.url("CONNECT_URL")?,
                kafka_bootstrap_servers: bootstrap.clone(),
            },
            clickhouse: ClickHouseSettings {
                url: p.url("CLICKHOUSE_URL")?,
                user: p.text("CLICKHOUSE_USER"),
                password: p.secret("CLICKHOUSE_PASSWORD"),
                kafka_brokers: if ch_brokers.is_empty() { bootstrap } else { ch_brokers },
                cluster: p.opt("CLICKHOUSE_CLUSTER"),
                raw_topics: p.list("RAW_KAFKA_TOPICS"),
                raw_ttl_days: p.number("RAW_TTL_DAYS"),
                raw_database: p.text("CLICKHOUSE_RAW_DATABASE"),
                curated_database: p.text("CLICKHOUSE_CURATED_DATABASE"),
            },
            superset: SupersetSettings {
                url: p.url("SUPERSET_URL")?,
                clickhouse_url: match p.opt("SUPERSET_CLICKHOUSE_URL") {
                    Some(_) => p.url("SUPERSET_CLICKHOUSE_URL")?,
                    None => p.url("CLICKHOUSE_URL")?,
                },
                admin_user: p.text("SUPERSET_ADMIN_USER"),
                admin_password: p.secret("SUPERSET_ADMIN_PASSWORD"),
            },
            airflow: AirflowSettings {
                url: p.url("AIRFLOW_URL")?,
                admin_user: p.text("AIRFLOW_ADMIN_USER"),
                admin_password: p.secret("AIRFLOW_ADMIN_PASSWORD"),
            },
            packages: PackageSettings {
                core_path: resolve(p.text("ANALYTICS_CORE_PATH")),
                extension_paths: p.list("ANALYTICS_EXTENSIONS_PATHS").into_iter().map(resolve).collect(),
                core_git: p
                    .opt("ANALYTICS_CORE_GIT_URL")
                    .map(|url| GitSource { url, reference: p.opt("ANALYTICS_CORE_GIT_REF") }),
                extension_git: git_urls
                    .into_iter()
                    .enumerate()
                    .map(|(i, url)| GitSource { url, reference: git_refs.get(i).cloned() })
                    .collect(),
                git_token: p.secret("GIT_TOKEN"),
            },
            dbt: DbtSettings {
                executable: p.opt("OLMIS_DBT").map(PathBuf::from),
                select: p.opt("DBT_SELECT"),
                freshness_max_age_minutes: p.number("FRESHNESS_MAX_AGE_MINUTES"),
                as_of_date: p.opt("DBT_AS_OF_DATE"),
            },
            layers,
        })
    }

    /// Every secret that is set, for redacting text that comes back from external systems.
    pub fn secrets(&self) -> Vec<Secret> {
        self.layers
            .iter()
            .filter(|(var, _)| var.secret)
            .filter_map(|(_, raw)| raw.map(|r| Secret::new(r.value.clone())))
            .collect()
    }
}

/// Reads values that `check` has already validated, so the typed accessors can't fail.
struct Parser<'a> {
    layers: &'a Layers,
}

impl Parser<'_> {
    fn opt(&self, name: &str) -> Option<String> {
        self.layers.get(name).map(|r| r.value.clone())
    }

    fn text(&self, name: &str) -> String {
        self.opt(name).unwrap_or_default()
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        self.opt(name).map(Secret::new)
    }

    fn port(&self, name: &str) -> u16 {
        self.opt(name).and_then(|v| v.parse().ok()).unwrap_or_default()
    }

    fn number(&self, name: &str) -> u32 {
        self.opt(name).and_then(|v| v.parse().ok()).unwrap_or_default()
    }

    fn url(&self, name: &str) -> Result<Url> {
        let value = self.text(name);
        Url::parse(&value).map_err(|_| Error::Config {
            var: name.to_string(),
            value: Some(value.clone()),
            expected: "a URL such as http://host:port".to_string(),
            hint: None,
        })
    }

    fn list(&self, name: &str) -> Vec<String> {
        split_list(&self.text(name))
    }

    fn check(&self, var: &vars::Var, value: &str) -> Result<()> {
        let bad = |expected: &str| Error::Config {
            var: var.name.to_string(),
            value: (!var.secret).then(|| value.to_string()),
            expected: expected.to_string(),
            hint: Some(format!("fix {} in the environment or {}", var.name, ".env")),
        };
        match var.kind {
            Kind::Text | Kind::Path | Kind::List => Ok(()),
            Kind::Name => {
                let ok = value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if ok { Ok(()) } else { Err(bad("letters, digits, '_', '-' or '.'")) }
            }
            Kind::Identifier => {
                let ok = value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
                if ok { Ok(()) } else { Err(bad("letters, digits and '_', not starting with a digit")) }
            }
            Kind::Date => {
                if is_iso_date(value) {
                    Ok(())
                } else {
                    Err(bad("a date as YYYY-MM-DD, e.g. 2024-12-31"))
                }
            }
            Kind::Port => match value.parse::<u16>() {
                Ok(p) if p > 0 => Ok(()),
                _ => Err(bad("a TCP port number (1-65535)")),
            },
            Kind::Number => value.parse::<u32>().map(|_| ()).map_err(|_| bad("a whole number (0 or more)")),
            Kind::Url => match Url::parse(value) {
                Ok(u) if !u.cannot_be_a_base() && u.host().is_some() => Ok(()),
                Ok(u) if u.scheme() == "file" => Ok(()),
                _ => Err(bad("a URL such as http://host:port")),
            },
            Kind::OneOf(choices) => {
                if choices.contains(&value) {
                    Ok(())
                } else {
                    Err(bad(&format!("one of {}", choices.join(", "))))
                }
            }
            Kind::Tables => {
                for entry in split_list(value) {
                    if TableName::parse(&entry).is_none() {
                        return Err(Error::Config {
                            var: var.name.to_string(),
                            value: Some(value.to_string()),
                            expected: format!("comma-separated schema.table names in lowercase; {entry:?} is not one"),
                            hint: Some(format!(
                                "fix {} in the environment or .env, e.g. referencedata.facilities,requisition.requisitions",
                                var.name
                            )),
                        });
                    }
                }
                Ok(())
            }
        }
    }
}

/// `YYYY-MM-DD` with a month 1-12 and a day that exists in that month.
fn is_iso_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return false };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

pub fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings> {
        let env: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load(Path::new("/proj"), Path::new("/proj/.env-missing"), &[], &env)
    }

    #[test]
    fn defaults_are_valid() {
        let s = load(&[]).unwrap();
        assert_eq!(s.runtime, Runtime::Compose);
        assert_eq!(s.source.port, 5432);
        assert_eq!(s.source.connect_host, "localhost");
        assert_eq!(s.packages.core_path, Path::new("/proj/examples/olmis-analytics-core"));
        assert_eq!(s.clickhouse.kafka_brokers, vec!["localhost:9094"]);
        assert!(s.source.password.is_none());
    }

    #[test]
    fn the_root_certificate_resolves_against_the_project_and_is_kafka_connects_default() {
        let s = load(&[]).unwrap();
        assert_eq!((s.source.sslrootcert, s.source.connect_sslrootcert), (None, None));
        let s = load(&[("SOURCE_PG_SSLROOTCERT", "certs/rds.pem")]).unwrap();
        assert_eq!(s.source.sslrootcert.as_deref(), Some(Path::new("/proj/certs/rds.pem")));
        assert_eq!(s.source.connect_sslrootcert.as_deref(), Some("/proj/certs/rds.pem"));
        let s = load(&[("SOURCE_PG_SSLROOTCERT", "certs/rds.pem"), ("SOURCE_PG_CONNECT_SSLROOTCERT", "/etc/ca.pem")])
            .unwrap();
        assert_eq!(s.source.connect_sslrootcert.as_deref(), Some("/etc/ca.pem"));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = load(&[("SOURCE_PG_PORT", "54x2")]).unwrap_err();
        assert!(err.to_string().starts_with("SOURCE_PG_PORT=\"54x2\""), "{err}");
        let err = load(&[("CONNECT_URL", "not a url")]).unwrap_err();
        assert!(err.to_string().contains("CONNECT_URL"), "{err}");
        let err = load(&[("SOURCE_PG_TABLE_ALLOWLIST", "referencedata.facilities,facilities")]).unwrap_err();
        assert!(err.to_string().contains("\"facilities\" is not one"), "{err}");
        let err = load(&[("OLMIS_RUNTIME", "kubernetes")]).unwrap_err();
        assert!(err.to_string().contains("one of compose, external"), "{err}");
    }

    #[test]
    fn database_names_and_dates_are_checked() {
        let s = load(&[("CLICKHOUSE_RAW_DATABASE", "raw_test"), ("DBT_AS_OF_DATE", "2024-02-29")]).unwrap();
        assert_eq!(s.clickhouse.raw_database, "raw_test");
        assert_eq!(s.clickhouse.curated_database, "curated");
        assert_eq!(s.dbt.as_of_date.as_deref(), Some("2024-02-29"));
        let err = load(&[("CLICKHOUSE_CURATED_DATABASE", "cur-ated")]).unwrap_err();
        assert!(err.to_string().contains("letters, digits and '_'"), "{err}");
        for bad in ["2023-02-29", "2024-13-01", "24-01-01", "2024-1-1", "yesterday"] {
            let err = load(&[("DBT_AS_OF_DATE", bad)]).unwrap_err();
            assert!(err.to_string().contains("YYYY-MM-DD"), "{bad}: {err}");
        }
    }

    #[test]
    fn allowlist_parses_into_tables() {
        let s = load(&[("SOURCE_PG_TABLE_ALLOWLIST", " referencedata.facilities , requisition.requisitions")]).unwrap();
        let names: Vec<String> = s.source.table_allowlist.iter().map(|t| t.to_string()).collect();
        assert_eq!(names, vec!["referencedata.facilities", "requisition.requisitions"]);
    }

    #[test]
    fn extension_refs_must_match_urls() {
        let err =
            load(&[("ANALYTICS_EXTENSION_GIT_URLS", "file:///a,file:///b"), ("ANALYTICS_EXTENSION_GIT_REFS", "v1")])
                .unwrap_err();
        assert!(err.to_string().contains("one ref per URL"), "{err}");
    }

    #[test]
    fn missing_required_secret_says_how_to_fix() {
        let s = load(&[]).unwrap();
        let err = required(&s.source.password, "SOURCE_PG_PASSWORD").unwrap_err();
        assert!(err.hint().unwrap().contains("olmisctl init"));
    }
}
