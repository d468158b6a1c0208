//! The ClickHouse named collection holding the source PostgreSQL connection, which the
//! `olmis_reconcile` dbt test reads through `postgresql(olmis_source, ...)`.
//!
//! Keeping the connection in ClickHouse means the source password is in no dbt file, compiled SQL
//! or log: ClickHouse stores it with its named collections and masks it in its query log and in
//! `system.named_collections`. olmisctl refreshes it before every dbt run from SOURCE_PG_*.

use crate::clients::clickhouse::{ClickHouse, SERVICE};
use crate::error::{Error, Result};
use crate::settings::{Secret, Settings, required};

/// The collection's name, passed to dbt as the var `olmis_source_collection`: one per source
/// connection, because a named collection belongs to the whole ClickHouse server, and two runs
/// reading different sources (tests in parallel, or two deployments on one ClickHouse) would
/// otherwise point each other's reconciliation tests at the wrong database.
pub fn collection_name(settings: &Settings) -> String {
    use sha2::Digest;
    let s = &settings.source;
    let id = format!("{}:{}/{}/{}", s.connect_host, s.connect_port, s.db, s.user);
    let digest = sha2::Sha256::digest(id.as_bytes());
    format!("olmis_source_{}", hex::encode(&digest[..4]))
}

/// The connection as ClickHouse sees the source: the host and port Kafka Connect uses
/// (SOURCE_PG_CONNECT_*), since ClickHouse runs next to it.
pub struct SourceConnection<'a> {
    pub name: String,
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a Secret,
    pub database: &'a str,
    pub cluster: Option<&'a str>,
}

impl<'a> SourceConnection<'a> {
    pub fn from_settings(settings: &'a Settings) -> Result<SourceConnection<'a>> {
        let s = &settings.source;
        Ok(SourceConnection {
            name: collection_name(settings),
            host: &s.connect_host,
            port: s.connect_port,
            user: &s.user,
            password: required(&s.password, "SOURCE_PG_PASSWORD")?,
            database: &s.db,
            cluster: settings.clickhouse.cluster.as_deref(),
        })
    }

    /// Creates the collection when missing, then sets every key, so re-running after a password
    /// change updates it and concurrent runs never see it missing. The first line of each
    /// statement (which error messages quote) holds no value.
    pub fn statements(&self) -> [String; 2] {
        let on_cluster = self.cluster.map(|c| format!(" ON CLUSTER {}", identifier(c))).unwrap_or_default();
        let values = format!(
            "host = {}, port = {}, user = {}, password = {}, database = {}",
            literal(self.host),
            self.port,
            literal(self.user),
            literal(self.password.expose()),
            literal(self.database)
        );
        [
            format!("CREATE NAMED COLLECTION IF NOT EXISTS {}{on_cluster} AS\n  {values}", self.name),
            format!("ALTER NAMED COLLECTION {}{on_cluster} SET\n  {values}", self.name),
        ]
    }

    pub async fn apply(&self, clickhouse: &ClickHouse) -> Result<()> {
        for statement in self.statements() {
            if let Err(e) = clickhouse.try_raw(&statement).await? {
                let first_line = statement.lines().next().unwrap_or_default();
                return Err(Error::service(SERVICE, format!("{first_line} failed: {}", e.message)).with_hint(
                    "CLICKHOUSE_USER needs named_collection_control (users.xml) to keep the source connection \
                     the reconciliation tests use",
                ));
            }
        }
        Ok(())
    }
}

/// A ClickHouse string literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn identifier(value: &str) -> String {
    format!("`{}`", value.replace('\\', "\\\\").replace('`', "\\`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_values_and_keep_them_off_the_first_line() {
        let password = Secret::new("p'w\\d".to_string());
        let conn = SourceConnection {
            name: "olmis_source_0a1b2c3d".into(),
            host: "demo-source",
            port: 5432,
            user: "postgres",
            password: &password,
            database: "open_lmis",
            cluster: Some("main"),
        };
        let [create, alter] = conn.statements();
        assert_eq!(
            create.lines().next().unwrap(),
            "CREATE NAMED COLLECTION IF NOT EXISTS olmis_source_0a1b2c3d ON CLUSTER `main` AS"
        );
        assert_eq!(alter.lines().next().unwrap(), "ALTER NAMED COLLECTION olmis_source_0a1b2c3d ON CLUSTER `main` SET");
        assert!(create.ends_with(
            "host = 'demo-source', port = 5432, user = 'postgres', password = 'p\\'w\\\\d', database = 'open_lmis'"
        ));
    }
}
