//! ClickHouse over its HTTP interface. Credentials travel in headers, never in the URL, so they
//! can't end up in a logged or echoed URL.

use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::http;
use crate::error::{Error, Result};
use crate::settings::{Secret, Settings, required};

pub const SERVICE: &str = "clickhouse";

#[derive(Clone)]
pub struct ClickHouse {
    http: reqwest::Client,
    url: url::Url,
    user: String,
    password: Secret,
}

/// A failed statement: ClickHouse's numeric error code (e.g. 60 = unknown table) and its message.
/// What ClickHouse reports about a finished INSERT (its `X-ClickHouse-Summary` header).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InsertSummary {
    #[serde(default, deserialize_with = "number_in_string")]
    pub written_rows: u64,
    #[serde(default, deserialize_with = "number_in_string")]
    pub read_rows: u64,
}

fn number_in_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// Streamed inserts can run for long; the client's usual time limit is for statements.
const INSERT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone)]
pub struct ServerError {
    pub code: Option<u32>,
    pub message: String,
}

impl ClickHouse {
    pub fn new(settings: &Settings) -> Result<ClickHouse> {
        let c = &settings.clickhouse;
        let password = required(&c.password, "CLICKHOUSE_PASSWORD")?.clone();
        Ok(ClickHouse {
            http: http::client(Duration::from_secs(300))?,
            url: c.url.clone(),
            user: c.user.clone(),
            password,
        })
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// `GET /ping`: the server is up (does not check credentials).
    pub async fn ping(&self) -> Result<()> {
        let url = self.url.join("ping").map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let response =
            self.http.get(url.clone()).send().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Error::service(SERVICE, format!("{url} answered {}", response.status())))
        }
    }

    /// Runs one statement and returns the raw response body.
    pub async fn raw(&self, sql: &str) -> Result<String> {
        self.try_raw(sql).await?.map_err(|e| self.statement_error(sql, &e))
    }

    /// Runs one statement; a server-side failure comes back as `Ok(Err(..))` so callers can branch
    /// on the error code (e.g. "table does not exist"), while transport failures stay `Err`.
    pub async fn try_raw(&self, sql: &str) -> Result<std::result::Result<String, ServerError>> {
        let response = self
            .request()
            .body(sql.to_string())
            .send()
            .await
            .map_err(|e| http::transport_error(SERVICE, self.url.as_str(), &e))?;
        let status = response.status();
        let code = exception_code(&response);
        let body = response.text().await.map_err(|e| http::transport_error(SERVICE, self.url.as_str(), &e))?;
        if status.is_success() {
            Ok(Ok(body))
        } else {
            if status == reqwest::StatusCode::UNAUTHORIZED || code == Some(516) {
                return Err(self.authentication_failed());
            }
            Ok(Err(ServerError { code, message: http::snippet(&body) }))
        }
    }

    /// Runs an INSERT whose data is `body`, streamed as it is produced, so memory stays flat whatever
    /// its size. `sql` is the statement with its FORMAT clause (it travels in the URL's `query`
    /// parameter); `content_encoding` names the body's compression (`zstd`, `gzip`, ...), which
    /// ClickHouse undoes on its side.
    pub async fn insert_stream<S>(&self, sql: &str, content_encoding: Option<&str>, body: S) -> Result<InsertSummary>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let mut request = self.request().query(&[("query", sql)]).timeout(INSERT_TIMEOUT);
        if let Some(encoding) = content_encoding {
            request = request.header(reqwest::header::CONTENT_ENCODING, encoding);
        }
        let response = request
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .map_err(|e| http::transport_error(SERVICE, self.url.as_str(), &e))?;
        let status = response.status();
        let code = exception_code(&response);
        let summary = response
            .headers()
            .get("X-ClickHouse-Summary")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| serde_json::from_str::<InsertSummary>(v).ok())
            .unwrap_or_default();
        let text = response.text().await.map_err(|e| http::transport_error(SERVICE, self.url.as_str(), &e))?;
        // A failure after the headers went out arrives as an exception in the body of a 200.
        let late_failure = text.contains("DB::Exception") || text.contains("Code: ");
        if status.is_success() && !late_failure {
            return Ok(summary);
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || code == Some(516) {
            return Err(self.authentication_failed());
        }
        Err(self.statement_error(sql, &ServerError { code, message: http::snippet(&text) }))
    }

    /// A POST to the server as the configured user; the password travels in a header, never in
    /// the URL (where proxies and ClickHouse's query log would keep it).
    fn request(&self) -> reqwest::RequestBuilder {
        self.http
            .post(self.url.clone())
            .header("X-ClickHouse-User", &self.user)
            .header("X-ClickHouse-Key", self.password.expose())
    }

    fn authentication_failed(&self) -> Error {
        Error::service(SERVICE, format!("authentication failed for user {:?}", self.user))
            .with_hint("check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD")
    }

    pub async fn execute(&self, sql: &str) -> Result<()> {
        self.raw(sql).await.map(|_| ())
    }

    /// Runs a SELECT and decodes each row (the statement must not carry its own FORMAT clause).
    pub async fn rows<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>> {
        let body = self.raw(&format!("{sql}\nFORMAT JSONEachRow")).await?;
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line)
                    .map_err(|e| Error::service(SERVICE, format!("unexpected row {}: {e}", http::snippet(line))))
            })
            .collect()
    }

    /// A single value (e.g. `SELECT count() FROM t`), as text.
    pub async fn scalar(&self, sql: &str) -> Result<String> {
        Ok(self.raw(&format!("{sql}\nFORMAT TabSeparatedRaw")).await?.trim_end_matches('\n').to_string())
    }

    fn statement_error(&self, sql: &str, err: &ServerError) -> Error {
        let first_line = sql.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let code = err.code.map(|c| format!(" (code {c})")).unwrap_or_default();
        Error::service(
            SERVICE,
            format!("statement failed{code}: {}\n  statement: {}", err.message, http::snippet(first_line)),
        )
    }
}

/// The server's error code, which it sends as a header on every failed query.
fn exception_code(response: &reqwest::Response) -> Option<u32> {
    response.headers().get("X-ClickHouse-Exception-Code").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}
