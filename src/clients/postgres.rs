//! The source PostgreSQL database: connecting with the configured credentials and SSL mode.

use std::time::Duration;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};
use crate::settings::{Settings, required};

pub const SERVICE: &str = "postgresql";

/// Connects to the source database as SOURCE_PG_USER.
///
/// The connection task is spawned on the runtime; dropping the client closes it.
pub async fn connect(settings: &Settings) -> Result<Client> {
    connect_to(settings, &settings.source.db).await
}

/// Like [`connect`], to another database on the same server (for tests and admin work).
pub async fn connect_to(settings: &Settings, database: &str) -> Result<Client> {
    let s = &settings.source;
    let password = required(&s.password, "SOURCE_PG_PASSWORD")?;
    let mut config = Config::new();
    config
        .host(&s.host)
        .port(s.port)
        .dbname(database)
        .user(&s.user)
        .password(password.expose())
        .application_name("olmisctl")
        .connect_timeout(Duration::from_secs(10));
    let where_ = format!("{}:{}/{database} as {}", s.host, s.port, s.user);
    match s.sslmode.as_str() {
        "disable" => {
            config.ssl_mode(SslMode::Disable);
        }
        "allow" | "prefer" => {
            // Without a TLS connector, "prefer" degrades to plain text as libpq does when the
            // server has no SSL; require-and-above must not silently degrade.
            config.ssl_mode(SslMode::Disable);
        }
        mode => {
            return Err(Error::Config {
                var: "SOURCE_PG_SSLMODE".into(),
                value: Some(mode.to_string()),
                expected: "disable, allow or prefer (TLS to the source is not supported by this build)".into(),
                hint: Some("set SOURCE_PG_SSLMODE=prefer, or reach the database over a trusted network".into()),
            });
        }
    }
    let (client, connection) = config.connect(NoTls).await.map_err(|e| connect_error(&where_, &e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("postgres connection closed: {e}");
        }
    });
    Ok(client)
}

fn connect_error(where_: &str, err: &tokio_postgres::Error) -> Error {
    let detail = describe(err);
    let hint = if detail.contains("password authentication failed") {
        "check SOURCE_PG_USER and SOURCE_PG_PASSWORD"
    } else if detail.contains("does not exist") {
        "check SOURCE_PG_DB and SOURCE_PG_USER"
    } else {
        "check SOURCE_PG_HOST and SOURCE_PG_PORT, and that the database is running"
    };
    Error::service(SERVICE, format!("cannot connect to {where_}: {detail}")).with_hint(hint)
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
