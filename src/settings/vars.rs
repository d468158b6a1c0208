//! Every configuration variable olmisctl reads: name, group, default, whether it is a secret, the
//! shape of a valid value, and its documentation. This table is the single source for validation,
//! `olmisctl config`, `init`'s secret generation, and the README's variable table (a test keeps the
//! README and `.env.example` in step with it).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Runtime,
    Source,
    Cdc,
    ClickHouse,
    Superset,
    Airflow,
    Packages,
    Dbt,
    HostPorts,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Runtime => "Runtime",
            Group::Source => "Source database",
            Group::Cdc => "CDC (Kafka, Kafka Connect, Debezium)",
            Group::ClickHouse => "ClickHouse",
            Group::Superset => "Superset",
            Group::Airflow => "Airflow",
            Group::Packages => "Analytics packages",
            Group::Dbt => "dbt and refresh",
            Group::HostPorts => "Host ports (compose mode)",
        }
    }
}

/// What a valid value looks like; `settings::parse` turns each into a typed value or a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A lowercase identifier (slot, publication, topic prefix): letters, digits, `_`, `-`, `.`.
    Name,
    Port,
    Url,
    Number,
    OneOf(&'static [&'static str]),
    /// Comma-separated `schema.table` entries.
    Tables,
    /// Comma-separated items (topics, paths, URLs, refs).
    List,
    Path,
    /// A database or table name usable unquoted in SQL: letters, digits and `_`, not starting with a digit.
    Identifier,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// How `olmisctl init` fills an empty secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    /// Not generated: the operator supplies it (a token, a real database password).
    No,
    /// A random alphanumeric string of this many characters.
    Alphanumeric(usize),
    /// A Fernet key: 32 random bytes, URL-safe base64.
    Fernet,
}

#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    pub group: Group,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub generate: Generate,
    pub kind: Kind,
    pub doc: &'static str,
}

const fn var(name: &'static str, group: Group, default: Option<&'static str>, kind: Kind, doc: &'static str) -> Var {
    Var { name, group, default, secret: false, generate: Generate::No, kind, doc }
}

const fn secret(name: &'static str, group: Group, generate: Generate, doc: &'static str) -> Var {
    Var { name, group, default: None, secret: true, generate, kind: Kind::Text, doc }
}

pub const SSL_MODES: &[&str] = &["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
pub const RUNTIMES: &[&str] = &["compose", "external"];
pub const COMPAT_MODES: &[&str] = &["auto", "on", "off"];

use Group::*;
use Kind::*;

pub const VARS: &[Var] = &[
    var(
        "OLMIS_RUNTIME",
        Runtime,
        Some("compose"),
        OneOf(RUNTIMES),
        "`compose`: olmisctl manages the Docker Compose stack; `external`: services run elsewhere and only their URLs are used",
    ),
    var(
        "COMPOSE_PROJECT_NAME",
        Runtime,
        Some("olmis"),
        Name,
        "Compose project name (prefix of containers, volumes and the network)",
    ),
    var(
        "OLMIS_COMPOSE_CMD",
        Runtime,
        None,
        Text,
        "Command that runs compose (default: `docker compose`, then `docker-compose`)",
    ),
    var(
        "OLMIS_COMPOSE_COMPAT",
        Runtime,
        Some("auto"),
        OneOf(COMPAT_MODES),
        "Add compose/docker-compose.compat.yml (no seccomp for glibc images): `auto` on engines older than 20.10.10, `on`, `off`",
    ),
    var("SOURCE_PG_HOST", Source, Some("localhost"), Text, "OpenLMIS PostgreSQL host, as olmisctl reaches it"),
    var("SOURCE_PG_PORT", Source, Some("5432"), Port, "OpenLMIS PostgreSQL port, as olmisctl reaches it"),
    var("SOURCE_PG_DB", Source, Some("open_lmis"), Text, "OpenLMIS database name"),
    var("SOURCE_PG_USER", Source, Some("postgres"), Text, "User with REPLICATION and SELECT on the captured tables"),
    secret(
        "SOURCE_PG_PASSWORD",
        Source,
        Generate::Alphanumeric(32),
        "Password of SOURCE_PG_USER (generated for the demo source)",
    ),
    var("SOURCE_PG_SSLMODE", Source, Some("prefer"), OneOf(SSL_MODES), "libpq SSL mode for olmisctl and Debezium"),
    var(
        "SOURCE_PG_SSLROOTCERT",
        Source,
        None,
        Path,
        "CA certificates (PEM) to verify the source's certificate with (default: the system's CAs); with it, require and prefer check the chain too",
    ),
    var("SOURCE_PG_CONNECT_HOST", Source, None, Text, "Source host as Kafka Connect sees it (default: SOURCE_PG_HOST)"),
    var("SOURCE_PG_CONNECT_PORT", Source, None, Port, "Source port as Kafka Connect sees it (default: SOURCE_PG_PORT)"),
    var(
        "SOURCE_PG_CONNECT_SSLROOTCERT",
        Source,
        None,
        Path,
        "SOURCE_PG_SSLROOTCERT's path on the Kafka Connect worker (default: SOURCE_PG_SSLROOTCERT)",
    ),
    var("SOURCE_PG_SLOT_NAME", Source, Some("olmis_analytics"), Name, "Logical replication slot used by Debezium"),
    var("SOURCE_PG_PUBLICATION", Source, Some("olmis_analytics"), Name, "Publication Debezium reads (pgoutput)"),
    var(
        "SOURCE_PG_TABLE_ALLOWLIST",
        Source,
        None,
        Tables,
        "Captured tables, `schema.table,...` (default: the core package's tables)",
    ),
    var(
        "DEBEZIUM_TOPIC_PREFIX",
        Cdc,
        Some("openlmis"),
        Name,
        "Kafka topic prefix; topics are `<prefix>.<schema>.<table>`",
    ),
    var("CONNECTOR_NAME", Cdc, Some("openlmis-source"), Name, "Name of the Debezium connector in Kafka Connect"),
    var("KAFKA_BOOTSTRAP_SERVERS", Cdc, Some("localhost:9094"), List, "Kafka brokers, as olmisctl reaches them"),
    var("CONNECT_URL", Cdc, Some("http://localhost:8083"), Url, "Kafka Connect REST URL"),
    var(
        "DEBEZIUM_HEARTBEAT_INTERVAL_MS",
        Cdc,
        Some("10000"),
        Number,
        "Debezium heartbeat interval; heartbeats advance the replication slot on an idle source",
    ),
    var("KAFKA_TOPIC_PARTITIONS", Cdc, Some("1"), Number, "Partitions of the topics the connector creates"),
    var(
        "KAFKA_TOPIC_REPLICATION_FACTOR",
        Cdc,
        Some("1"),
        Number,
        "Replication factor of the topics the connector creates (at most the number of brokers)",
    ),
    var("CLICKHOUSE_URL", ClickHouse, Some("http://localhost:8123"), Url, "ClickHouse HTTP interface"),
    var("CLICKHOUSE_USER", ClickHouse, Some("olmis"), Text, "ClickHouse user"),
    secret("CLICKHOUSE_PASSWORD", ClickHouse, Generate::Alphanumeric(32), "Password of CLICKHOUSE_USER"),
    var(
        "CLICKHOUSE_KAFKA_BROKERS",
        ClickHouse,
        None,
        List,
        "Kafka brokers as ClickHouse sees them (default: KAFKA_BOOTSTRAP_SERVERS)",
    ),
    var(
        "CLICKHOUSE_CLUSTER",
        ClickHouse,
        None,
        Name,
        "Cluster name: DDL uses ON CLUSTER and Replicated engines (one shard, any number of replicas)",
    ),
    var(
        "RAW_KAFKA_TOPICS",
        ClickHouse,
        None,
        List,
        "Topics to land, full names (default: SOURCE_PG_TABLE_ALLOWLIST with the prefix when set, else the core package's default tables)",
    ),
    var("RAW_TTL_DAYS", ClickHouse, Some("0"), Number, "Days to keep raw events; 0 keeps them forever"),
    var(
        "CLICKHOUSE_RAW_DATABASE",
        ClickHouse,
        Some("raw"),
        Identifier,
        "ClickHouse database of the raw landing: `clickhouse-init` and `bootstrap import` write the event tables (`events_<schema>_<table>`) there, dbt and the checks read them",
    ),
    var(
        "CLICKHOUSE_CURATED_DATABASE",
        ClickHouse,
        Some("curated"),
        Identifier,
        "ClickHouse database of the dbt marts (staging models go to `<it>_staging`; Superset's datasets read `curated`)",
    ),
    var("SUPERSET_URL", Superset, Some("http://localhost:8088"), Url, "Superset URL"),
    var("SUPERSET_ADMIN_USER", Superset, Some("admin"), Text, "Superset admin user"),
    var(
        "SUPERSET_CLICKHOUSE_URL",
        Superset,
        None,
        Url,
        "ClickHouse HTTP interface as Superset reaches it; the imported database's host and port (default: CLICKHOUSE_URL)",
    ),
    secret("SUPERSET_ADMIN_PASSWORD", Superset, Generate::Alphanumeric(24), "Superset admin password"),
    secret("SUPERSET_SECRET_KEY", Superset, Generate::Alphanumeric(64), "Superset's Flask SECRET_KEY"),
    secret(
        "SUPERSET_DB_PASSWORD",
        Superset,
        Generate::Alphanumeric(32),
        "Password of Superset's metadata database (compose)",
    ),
    var("AIRFLOW_URL", Airflow, Some("http://localhost:8080"), Url, "Airflow API server URL"),
    var("AIRFLOW_ADMIN_USER", Airflow, Some("admin"), Text, "Airflow admin user"),
    secret("AIRFLOW_ADMIN_PASSWORD", Airflow, Generate::Alphanumeric(24), "Airflow admin password"),
    secret(
        "AIRFLOW__CORE__FERNET_KEY",
        Airflow,
        Generate::Fernet,
        "Airflow Fernet key (encrypts connections and variables)",
    ),
    secret(
        "AIRFLOW_JWT_SECRET",
        Airflow,
        Generate::Alphanumeric(86),
        "Secret shared by Airflow's processes to sign API tokens",
    ),
    secret(
        "AIRFLOW_DB_PASSWORD",
        Airflow,
        Generate::Alphanumeric(32),
        "Password of Airflow's metadata database (compose)",
    ),
    var(
        "ANALYTICS_CORE_PATH",
        Packages,
        Some("examples/olmis-analytics-core"),
        Path,
        "Local core package (relative to the project directory)",
    ),
    var("ANALYTICS_EXTENSIONS_PATHS", Packages, None, List, "Local extension packages, comma-separated, in order"),
    var(
        "ANALYTICS_CORE_GIT_URL",
        Packages,
        None,
        Text,
        "Git URL of the core package (Git mode; `packages fetch` clones it)",
    ),
    var("ANALYTICS_CORE_GIT_REF", Packages, None, Text, "Tag, branch or commit of the core package"),
    var("ANALYTICS_EXTENSION_GIT_URLS", Packages, None, List, "Git URLs of extension packages, comma-separated"),
    var("ANALYTICS_EXTENSION_GIT_REFS", Packages, None, List, "Refs of the extension packages, in the same order"),
    secret("GIT_TOKEN", Packages, Generate::No, "Token for HTTPS Git access (never written to .git/config)"),
    var("OLMIS_DBT", Dbt, None, Path, "dbt executable (default: `dbt` on PATH)"),
    var(
        "DBT_SELECT",
        Dbt,
        None,
        Text,
        "dbt selector for `dbt-build` and `dbt-test` (default: the core package and the extensions)",
    ),
    var(
        "FRESHNESS_MAX_AGE_MINUTES",
        Dbt,
        Some("120"),
        Number,
        "Raw data older than this fails the freshness gate, unless its consumer has landed everything in Kafka",
    ),
    var(
        "DBT_AS_OF_DATE",
        Dbt,
        None,
        Date,
        "Day the stock status, stockout and reporting marts are computed for, `YYYY-MM-DD` (default: today)",
    ),
    var(
        "OLMIS_REFRESH_SCHEDULE",
        Dbt,
        Some("@hourly"),
        Text,
        "Schedule of Airflow's platform_refresh DAG (cron or preset)",
    ),
    var("KAFKA_HOST_PORT", HostPorts, Some("9094"), Port, "Host port of Kafka's external listener"),
    var("CONNECT_HOST_PORT", HostPorts, Some("8083"), Port, "Host port of Kafka Connect"),
    var("KAFKA_UI_HOST_PORT", HostPorts, Some("8090"), Port, "Host port of kafka-ui"),
    var("CLICKHOUSE_HOST_PORT", HostPorts, Some("8123"), Port, "Host port of ClickHouse HTTP"),
    var("SUPERSET_HOST_PORT", HostPorts, Some("8088"), Port, "Host port of Superset"),
    var("AIRFLOW_HOST_PORT", HostPorts, Some("8080"), Port, "Host port of the Airflow API server"),
    var("DEMO_SOURCE_HOST_PORT", HostPorts, Some("5433"), Port, "Host port of the demo source PostgreSQL"),
];

pub fn lookup(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// The README's configuration table, generated so docs can't drift from the code.
pub fn markdown_table() -> String {
    let mut out = String::from("| Variable | Default | Description |\n|---|---|---|\n");
    for v in VARS {
        let default = match (v.secret, v.default) {
            (true, _) if v.generate != Generate::No => "generated by `init`".to_string(),
            (true, _) => "(secret)".to_string(),
            (false, Some(d)) => format!("`{d}`"),
            (false, None) => String::new(),
        };
        out.push_str(&format!("| `{}` | {} | {} |\n", v.name, default, v.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- variables:start -->\n";
    const END: &str = "<!-- variables:end -->";

    /// The README's table is generated from `VARS`; `OLMIS_BLESS=1 cargo test` rewrites it.
    #[test]
    fn readme_documents_every_variable() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
            panic!("README.md lacks the {START:?} ... {END:?} markers");
        };
        let current = &readme[start + START.len()..end];
        let wanted = markdown_table();
        if current != wanted && std::env::var_os("OLMIS_BLESS").is_some() {
            let updated = format!("{}{wanted}{}", &readme[..start + START.len()], &readme[end..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(current, wanted, "README's variable table is stale: run `OLMIS_BLESS=1 cargo test readme`");
    }

    #[test]
    fn env_example_lists_exactly_the_known_variables() {
        let example = include_str!("../../.env.example");
        let names: Vec<&str> = example
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        for var in VARS {
            assert!(names.contains(&var.name), ".env.example lacks {}", var.name);
        }
        for name in &names {
            assert!(lookup(name).is_some(), ".env.example has {name}, which settings/vars.rs doesn't know");
        }
    }

    #[test]
    fn secrets_are_empty_in_env_example() {
        for line in include_str!("../../.env.example").lines() {
            if let Some((name, value)) = line.split_once('=')
                && lookup(name.trim()).is_some_and(|v| v.secret)
            {
                assert!(value.trim().is_empty(), "{name} must be empty in .env.example");
            }
        }
    }
}
