//! The source PostgreSQL database: connecting with the configured credentials and SSL mode
//! ([`super::postgres_tls`] has the TLS part).

use std::time::Duration;

use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls, Socket};

use super::postgres_tls as tls;

use crate::error::{Error, Result};
use crate::settings::{Settings, required};

pub const SERVICE: &str = "postgresql";

/// Connects to the source database as SOURCE_PG_USER, over TLS as SOURCE_PG_SSLMODE says.
///
/// The connection task is spawned on the runtime; dropping the client closes it.
pub async fn connect(settings: &Settings) -> Result<Client> {
    connect_to(settings, &settings.source.db).await
}

/// Like [`connect`], to another database on the same server (for tests and admin work).
pub async fn connect_to(settings: &Settings, database: &str) -> Result<Client> {
    let s = &settings.source;
    let password = required(&s.password, "SOURCE_PG_PASSWORD")?;
    let plan = tls::plan(&s.sslmode, s.sslrootcert.as_deref())?;
    let mut config = Config::new();
    config
        .host(&s.host)
        .port(s.port)
        .dbname(database)
        .user(&s.user)
        .password(password.expose())
        .application_name("olmisctl")
        .ssl_mode(plan.ssl_mode)
        .connect_timeout(Duration::from_secs(10));
    let connected = match tls::connector(&plan)? {
        Some(tls) => open(&config, tls).await,
        None => open(&config, NoTls).await,
    };
    connected.map_err(|e| {
        let where_ = format!("{}:{}/{database} as {}", s.host, s.port, s.user);
        connect_error(&where_, &e, settings)
    })
}

async fn open<T>(config: &Config, tls: T) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("postgres connection closed: {e}");
        }
    });
    Ok(client)
}

fn connect_error(where_: &str, err: &tokio_postgres::Error, settings: &Settings) -> Error {
    let s = &settings.source;
    let detail = describe(err);
    let attempt = tls::Attempt { sslmode: &s.sslmode, host: &s.host, rootcert: s.sslrootcert.as_deref() };
    if let Some(d) = tls::diagnose(&detail, rustls_error(err), &attempt) {
        return Error::service(SERVICE, format!("cannot connect to {where_}: {}", d.problem)).with_hint(d.hint);
    }
    let hint = if detail.contains("password authentication failed") {
        "check SOURCE_PG_USER and SOURCE_PG_PASSWORD"
    } else if detail.contains("does not exist") {
        "check SOURCE_PG_DB and SOURCE_PG_USER"
    } else {
        "check SOURCE_PG_HOST and SOURCE_PG_PORT, and that the database is running"
    };
    Error::service(SERVICE, format!("cannot connect to {where_}: {detail}")).with_hint(hint)
}

/// The rustls error behind a failed handshake: tokio-rustls wraps it in an `io::Error`, whose
/// `source()` skips it, so each link is also looked into with `get_ref`.
fn rustls_error(err: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        let wrapped = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if let Some(found) = wrapped.and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The server's message when there is one (it names the real problem), else the transport error.
pub fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                text.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            text
        }
    }
}

/// Wraps a query failure with what we were doing.
pub fn query_error(doing: &str, err: &tokio_postgres::Error) -> Error {
    Error::service(SERVICE, format!("{doing}: {}", describe(err)))
}

/// An identifier (role, publication, table) as SQL: bare when PostgreSQL would read it back
/// unchanged, double-quoted otherwise. For SQL we print for people as well as run.
pub fn quote_ident(name: &str) -> String {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ];
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// A string literal for SQL we print or run (standard_conforming_strings, on since 9.1).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("olmis_cdc"), "olmis_cdc");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Cdc-User"), "\"Cdc-User\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
