//! The Debezium connector config: rendered from the core package's `connect/` template (local or
//! fetched from Git, as [`crate::packages::resolve`] finds it) and the settings, then checked
//! against what the rest of olmisctl relies on (slot, publication, topic prefix, signal and
//! heartbeat tables), so a template can't silently break the pipeline.

use std::collections::BTreeMap;
use std::path::Path;

use super::template::{self, TemplateError, TemplateVar, TemplateVars};
use super::{HEARTBEAT_TABLE, SIGNAL_TABLE};
use crate::clients::connect::ConfigMap;
use crate::error::{Error, Result};
use crate::packages::connect::{ALLOWLIST_VAR, TEMPLATE_FILE};
use crate::packages::{self, files};
use crate::settings::{Settings, TableName};

pub const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";

/// A rendered config. It holds the source password: `Debug` masks password fields, and
/// [`ConnectorConfig::map`] is only handed to the Connect client.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectorConfig {
    values: ConfigMap,
}

impl std::fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.redacted()).finish()
    }
}

/// The values olmisctl's other commands depend on; the template must agree with them.
#[derive(Debug, Clone)]
pub struct Contract {
    pub dbname: String,
    pub slot: String,
    pub publication: String,
    pub topic_prefix: String,
}

impl Contract {
    pub fn from_settings(settings: &Settings) -> Contract {
        Contract {
            dbname: settings.source.db.clone(),
            slot: settings.source.slot_name.clone(),
            publication: settings.source.publication.clone(),
            topic_prefix: settings.cdc.topic_prefix.clone(),
        }
    }
}

/// Reads and renders the core package's template for the current settings.
pub fn load(settings: &Settings) -> Result<ConnectorConfig> {
    let packages = packages::resolve(settings)?;
    let core = &packages.core;
    let path = core.connect_template().ok_or_else(|| {
        Error::file(core.root.join(TEMPLATE_FILE), "does not exist: the core package's connector template")
            .with_hint("the core package configures change capture there; `olmisctl packages validate` checks it")
    })?;
    let text = files::read_text(&path).map_err(|message| Error::file(&path, message))?;
    let mut vars = template_vars(settings);
    // An empty allowlist means the core's tables (the default its template lists).
    if settings.source.table_allowlist.is_empty() {
        let tables: Vec<String> = packages.core_tables()?.iter().map(ToString::to_string).collect();
        vars.insert(ALLOWLIST_VAR.to_string(), TemplateVar { value: Some(tables.join(",")), secret: false });
    }
    render(&text, &vars, &Contract::from_settings(settings)).map_err(|e| file_error(&path, e))
}

fn file_error(path: &Path, e: TemplateError) -> Error {
    let message = match &e.field {
        Some(field) => format!("field {field:?}: {}", e.message),
        None => e.message.clone(),
    };
    let err = Error::file(path, message);
    match e.hint {
        Some(hint) => err.with_hint(hint),
        None => err,
    }
}

/// Every configuration variable with its effective value; the Connect-side host and port fall
/// back to olmisctl's own, as the settings define.
pub fn template_vars(settings: &Settings) -> TemplateVars {
    let mut vars: TemplateVars = settings
        .layers
        .iter()
        .map(|(var, raw)| {
            (var.name.to_string(), TemplateVar { value: raw.map(|r| r.value.clone()), secret: var.secret })
        })
        .collect();
    let derived = [
        ("SOURCE_PG_CONNECT_HOST", settings.source.connect_host.clone()),
        ("SOURCE_PG_CONNECT_PORT", settings.source.connect_port.to_string()),
    ];
    for (name, value) in derived {
        vars.insert(name.to_string(), TemplateVar { value: Some(value), secret: false });
    }
    let rootcert = settings.source.connect_sslrootcert.clone();
    vars.insert("SOURCE_PG_CONNECT_SSLROOTCERT".to_string(), TemplateVar { value: rootcert, secret: false });
    vars
}

/// Fields left out of the config when they render empty: the PostgreSQL JDBC driver reads an empty
/// `sslrootcert` as a file name, where a missing one means its own default.
const OMITTED_WHEN_EMPTY: &[&str] = &["database.sslrootcert"];

/// Renders a template (pure): substitution, then the contract checks.
pub fn render(text: &str, vars: &TemplateVars, contract: &Contract) -> Result<ConnectorConfig, TemplateError> {
    let raw = template::parse_fields(text)?;
    let password = raw.get("database.password").map(String::as_str).unwrap_or("");
    if !template::is_exactly(password, "SOURCE_PG_PASSWORD") && !template::is_provider_reference(password) {
        return Err(TemplateError::new(
            Some("database.password"),
            "must be ${SOURCE_PG_PASSWORD} (or a Kafka Connect config provider reference)",
        )
        .with_hint("a password written into a package would end up in Git"));
    }
    let mut values = ConfigMap::new();
    for (key, value) in &raw {
        let value = template::substitute(key, value, vars)?;
        if !(value.is_empty() && OMITTED_WHEN_EMPTY.contains(&key.as_str())) {
            values.insert(key.clone(), value);
        }
    }
    let config = ConnectorConfig { values };
    config.check(contract)?;
    Ok(config)
}

impl ConnectorConfig {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The same config with one value replaced, for a registration that differs from the template
    /// on purpose (e.g. `snapshot.mode` when the data was loaded another way).
    pub fn with(mut self, key: &str, value: &str) -> ConnectorConfig {
        self.values.insert(key.to_string(), value.to_string());
        self
    }

    /// The full config for the Connect client's PUT (contains the password).
    pub fn map(&self) -> &ConfigMap {
        &self.values
    }

    /// The config with password fields masked, for display.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), if k.ends_with("password") { "***".to_string() } else { v.clone() }))
            .collect()
    }

    /// The captured tables (`table.include.list`), checked at render time.
    pub fn tables(&self) -> Vec<TableName> {
        self.get("table.include.list").map(parse_tables).unwrap_or_default().into_iter().flatten().collect()
    }

    /// Keys whose value differs from the registered config (Connect adds `name` itself).
    pub fn changed_keys(&self, registered: &ConfigMap) -> Vec<String> {
        let ours = self.values.keys().filter(|k| registered.get(*k) != self.values.get(*k));
        let gone = registered.keys().filter(|k| k.as_str() != "name" && !self.values.contains_key(*k));
        let mut keys: Vec<String> = ours.chain(gone).cloned().collect();
        keys.sort();
        keys.dedup();
        keys
    }

    fn check(&self, c: &Contract) -> Result<(), TemplateError> {
        let expect = |field: &str, want: &str, var: Option<&str>| -> Result<(), TemplateError> {
            let found = self.get(field).unwrap_or("");
            if found == want {
                return Ok(());
            }
            let err = TemplateError::new(Some(field), format!("is {found:?}, but olmisctl expects {want:?}"));
            Err(match var {
                Some(var) => {
                    err.with_hint(format!("write \"${{{var}}}\": preflight, snapshots and the watchdog use {var}"))
                }
                None => err.with_hint(format!("write {want:?}")),
            })
        };
        expect("connector.class", CONNECTOR_CLASS, None)?;
        expect("plugin.name", "pgoutput", None)?;
        expect("database.dbname", &c.dbname, Some("SOURCE_PG_DB"))?;
        expect("slot.name", &c.slot, Some("SOURCE_PG_SLOT_NAME"))?;
        expect("publication.name", &c.publication, Some("SOURCE_PG_PUBLICATION"))?;
        expect("topic.prefix", &c.topic_prefix, Some("DEBEZIUM_TOPIC_PREFIX"))?;
        expect("signal.data.collection", SIGNAL_TABLE, None)?;
        // olmisctl owns the publication: its preflight keeps the signal and heartbeat tables in it,
        // and creating one needs table ownership the connector's user rarely has.
        expect("publication.autocreate.mode", "disabled", None)?;
        let heartbeat = self.get("heartbeat.interval.ms").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if heartbeat == 0 {
            return Err(TemplateError::new(Some("heartbeat.interval.ms"), "must be a positive number of milliseconds")
                .with_hint(
                    "heartbeats keep the slot advancing on an idle source; write \"${DEBEZIUM_HEARTBEAT_INTERVAL_MS}\"",
                ));
        }
        let query = self.get("heartbeat.action.query").unwrap_or("").to_lowercase();
        if !query.contains(HEARTBEAT_TABLE) {
            return Err(TemplateError::new(Some("heartbeat.action.query"), format!("must write to {HEARTBEAT_TABLE}"))
                .with_hint("the preflight keeps that table in the publication so heartbeats advance the slot"));
        }
        match self.get("table.include.list").map(parse_tables) {
            None => Err(TemplateError::new(Some("table.include.list"), "is missing")
                .with_hint("write \"${SOURCE_PG_TABLE_ALLOWLIST:-schema.table,...}\" with the package's tables")),
            Some(entries) if entries.is_empty() => {
                Err(TemplateError::new(Some("table.include.list"), "lists no table"))
            }
            Some(entries) => match entries.iter().position(Option::is_none) {
                Some(i) => {
                    let bad = self.get("table.include.list").unwrap_or("").split(',').nth(i).unwrap_or("").trim();
                    Err(TemplateError::new(Some("table.include.list"), format!("{bad:?} is not a schema.table name"))
                        .with_hint("list plain lowercase schema.table names (no patterns): olmisctl checks each one"))
                }
                None => Ok(()),
            },
        }
    }
}

fn parse_tables(list: &str) -> Vec<Option<TableName>> {
    crate::settings::split_list(list).iter().map(|t| TableName::parse(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../examples/olmis-analytics-core/connect/connector.json.tmpl");

    fn contract() -> Contract {
        Contract {
            dbname: "open_lmis".into(),
            slot: "slot1".into(),
            publication: "pub1".into(),
            topic_prefix: "olmis".into(),
        }
    }

    fn vars(allowlist: Option<&str>) -> TemplateVars {
        let mut v = TemplateVars::new();
        let mut set = |k: &str, val: Option<&str>, secret: bool| {
            v.insert(k.to_string(), TemplateVar { value: val.map(str::to_string), secret });
        };
        set("SOURCE_PG_CONNECT_HOST", Some("db.internal"), false);
        set("SOURCE_PG_CONNECT_PORT", Some("5432"), false);
        set("SOURCE_PG_DB", Some("open_lmis"), false);
        set("SOURCE_PG_USER", Some("cdc"), false);
        set("SOURCE_PG_PASSWORD", Some("pw-very-secret"), true);
        set("SOURCE_PG_SSLMODE", Some("require"), false);
        set("SOURCE_PG_CONNECT_SSLROOTCERT", None, false);
        set("SOURCE_PG_SLOT_NAME", Some("slot1"), false);
        set("SOURCE_PG_PUBLICATION", Some("pub1"), false);
        set("SOURCE_PG_TABLE_ALLOWLIST", allowlist, false);
        set("DEBEZIUM_TOPIC_PREFIX", Some("olmis"), false);
        set("DEBEZIUM_HEARTBEAT_INTERVAL_MS", Some("10000"), false);
        set("KAFKA_TOPIC_PARTITIONS", Some("3"), false);
        set("KAFKA_TOPIC_REPLICATION_FACTOR", Some("1"), false);
        v
    }

    #[test]
    fn core_template_renders_the_platform_contract() {
        let c = render(TEMPLATE, &vars(None), &contract()).unwrap();
        assert_eq!(c.get("database.hostname"), Some("db.internal"));
        assert_eq!(c.get("database.sslmode"), Some("require"));
        assert_eq!(c.get("database.password"), Some("pw-very-secret"));
        assert_eq!(c.get("slot.name"), Some("slot1"));
        assert_eq!(c.get("publication.name"), Some("pub1"));
        assert_eq!(c.get("topic.prefix"), Some("olmis"));
        assert_eq!(c.get("plugin.name"), Some("pgoutput"));
        assert_eq!(c.get("signal.data.collection"), Some("public.debezium_signal"));
        assert_eq!(c.get("decimal.handling.mode"), Some("string"));
        assert_eq!(c.get("errors.tolerance"), Some("all"));
        assert_eq!(c.get("topic.creation.default.partitions"), Some("3"));
        assert_eq!(c.get("topic.creation.default.replication.factor"), Some("1"));
        assert_eq!(c.get("key.converter.schemas.enable"), Some("false"));
        let poll: u64 = c.get("poll.interval.ms").unwrap().parse().unwrap();
        assert!(poll <= 200, "poll.interval.ms {poll} is too slow for a 2 s freshness target");
        let tables: Vec<String> = c.tables().iter().map(|t| t.to_string()).collect();
        assert!(tables.contains(&"referencedata.facilities".to_string()), "{tables:?}");
        assert!(tables.contains(&"stockmanagement.stock_card_line_items".to_string()), "{tables:?}");
    }

    #[test]
    fn the_root_certificate_reaches_debezium_only_when_set() {
        let c = render(TEMPLATE, &vars(None), &contract()).unwrap();
        assert_eq!(c.get("database.sslrootcert"), None, "an empty path would be read as a file name");
        let mut with = vars(None);
        let path = Some("/etc/kafka/source-ca.pem".to_string());
        with.insert("SOURCE_PG_CONNECT_SSLROOTCERT".into(), TemplateVar { value: path, secret: false });
        let c = render(TEMPLATE, &with, &contract()).unwrap();
        assert_eq!(c.get("database.sslrootcert"), Some("/etc/kafka/source-ca.pem"));
    }

    #[test]
    fn allowlist_overrides_the_core_tables() {
        let c = render(TEMPLATE, &vars(Some("a.b,c.d")), &contract()).unwrap();
        let tables: Vec<String> = c.tables().iter().map(|t| t.to_string()).collect();
        assert_eq!(tables, vec!["a.b", "c.d"]);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = render(TEMPLATE, &vars(None), &contract()).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("pw-very-secret"));
        assert_eq!(c.redacted()["database.password"], "***");
    }

    #[test]
    fn a_template_that_disagrees_with_the_settings_is_refused() {
        let bad = TEMPLATE.replace("${SOURCE_PG_SLOT_NAME}", "hardcoded_slot");
        let err = render(&bad, &vars(None), &contract()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("slot.name"));
        assert!(err.hint.unwrap().contains("${SOURCE_PG_SLOT_NAME}"));
    }

    #[test]
    fn a_literal_password_is_refused() {
        let bad = TEMPLATE.replace("${SOURCE_PG_PASSWORD}", "hunter2");
        let err = render(&bad, &vars(None), &contract()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("database.password"));
    }

    #[test]
    fn table_patterns_are_refused() {
        let bad = TEMPLATE.replace("${SOURCE_PG_TABLE_ALLOWLIST:-", "${SOURCE_PG_TABLE_ALLOWLIST:-requisition.*,");
        let err = render(&bad, &vars(None), &contract()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("table.include.list"));
        assert!(err.message.contains("\"requisition.*\" is not a schema.table name"), "{err:?}");
    }

    /// A core `packages fetch` cloned is used like a local one; an empty allowlist means its tables.
    #[test]
    fn a_fetched_core_and_its_tables_are_used() {
        let project = tempfile::tempdir().unwrap();
        let core = project.path().join(".packages/core");
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
        std::fs::create_dir_all(core.join("connect")).unwrap();
        std::fs::copy(example.join("manifest.yaml"), core.join("manifest.yaml")).unwrap();
        let own = TEMPLATE.replace("${SOURCE_PG_TABLE_ALLOWLIST:-", "${SOURCE_PG_TABLE_ALLOWLIST:-demo.fetched_only,");
        std::fs::write(core.join(TEMPLATE_FILE), own).unwrap();
        let env = [
            ("ANALYTICS_CORE_GIT_URL", "https://git.example.org/moh/olmis-analytics-core.git"),
            ("SOURCE_PG_PASSWORD", "pw-very-secret"),
            ("SOURCE_PG_TABLE_ALLOWLIST", ""),
        ];
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let settings = Settings::load(project.path(), &project.path().join(".env"), &[], &env).unwrap();
        let config = load(&settings).unwrap();
        let tables: Vec<String> = config.tables().iter().map(ToString::to_string).collect();
        assert_eq!(tables[0], "demo.fetched_only");
        assert!(tables.contains(&"referencedata.facilities".to_string()), "{tables:?}");
    }

    #[test]
    fn changed_keys_ignore_connects_name_field() {
        let c = render(TEMPLATE, &vars(None), &contract()).unwrap();
        let mut registered = c.map().clone();
        registered.insert("name".into(), "openlmis-source".into());
        assert!(c.changed_keys(&registered).is_empty());
        registered.insert("poll.interval.ms".into(), "500".into());
        registered.insert("old.key".into(), "x".into());
        assert_eq!(c.changed_keys(&registered), vec!["old.key", "poll.interval.ms"]);
    }
}
