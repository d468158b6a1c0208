//! Kafka Connect's REST API, typed: connector status, config, restarts, pause/resume/stop,
//! offsets, deletion, plugins and validation.
//!
//! Connector configs carry the source password (Connect needs it), so nothing here logs a request
//! or response body, and every error message passes through the redactor with the secrets given to
//! [`Connect::new`] before it leaves this module.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::http;
use crate::error::{Error, Result};
use crate::settings::secret::redact;
use crate::settings::{Secret, Settings};

pub const SERVICE: &str = "kafka-connect";

/// A connector's config as Connect stores it: every value a string.
pub type ConfigMap = BTreeMap<String, String>;

#[derive(Clone)]
pub struct Connect {
    http: reqwest::Client,
    url: url::Url,
    secrets: Vec<Secret>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: StateInfo,
    #[serde(default)]
    pub tasks: Vec<TaskStatus>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct StateInfo {
    pub state: String,
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Java stack trace of a FAILED connector or task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct TaskStatus {
    pub id: u32,
    #[serde(flatten)]
    pub info: StateInfo,
}

impl ConnectorStatus {
    pub fn failed_tasks(&self) -> impl Iterator<Item = &TaskStatus> {
        self.tasks.iter().filter(|t| t.info.state == "FAILED")
    }

    /// The connector and at least one task run, and no task is in another state.
    pub fn all_running(&self) -> bool {
        self.connector.state == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t.info.state == "RUNNING")
    }
}

/// One source partition's committed offset (Debezium PostgreSQL has exactly one: `{server: prefix}`).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct PartitionOffset {
    pub partition: serde_json::Map<String, serde_json::Value>,
    pub offset: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Offsets {
    offsets: Vec<PartitionOffset>,
}

/// What a config PUT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Updated,
}

#[derive(Debug, Deserialize)]
pub struct Plugin {
    pub class: String,
    #[serde(default)]
    pub version: Option<String>,
}

impl Connect {
    /// `secrets` are redacted from every error message (Connect echoes config values in some).
    pub fn new(settings: &Settings) -> Result<Connect> {
        Ok(Connect {
            http: http::client(Duration::from_secs(60))?,
            url: settings.cdc.connect_url.clone(),
            secrets: settings.secrets(),
        })
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// `GET /connector-plugins`: also the cheapest "is Connect up" probe.
    pub async fn plugins(&self) -> Result<Vec<Plugin>> {
        self.json(Method::GET, "connector-plugins", None).await
    }

    pub async fn connectors(&self) -> Result<Vec<String>> {
        self.json(Method::GET, "connectors", None).await
    }

    /// `None` when the connector does not exist.
    pub async fn status(&self, name: &str) -> Result<Option<ConnectorStatus>> {
        self.optional(Method::GET, &format!("connectors/{}/status", seg(name)), None).await
    }

    /// The stored config (it contains the password: never print it). `None` when absent.
    pub async fn config(&self, name: &str) -> Result<Option<ConfigMap>> {
        self.optional(Method::GET, &format!("connectors/{}/config", seg(name)), None).await
    }

    /// `PUT /connectors/<name>/config`: creates or replaces the connector.
    pub async fn put_config(&self, name: &str, config: &ConfigMap) -> Result<PutOutcome> {
        let body = serde_json::to_value(config).map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let (status, _) = self
            .send(Method::PUT, &format!("connectors/{}/config", seg(name)), Some(&body))
            .await
            .map_err(ConnectError::into_error)?;
        Ok(if status == StatusCode::CREATED { PutOutcome::Created } else { PutOutcome::Updated })
    }

    /// `POST /connectors` with `initial_state: STOPPED` (Kafka 3.7+): the connector exists with its
    /// config but runs nothing, so its stored offsets can be cleared before it first starts.
    pub async fn create_stopped(&self, name: &str, config: &ConfigMap) -> Result<()> {
        let body = serde_json::json!({ "name": name, "config": config, "initial_state": "STOPPED" });
        self.send(Method::POST, "connectors", Some(&body)).await.map(|_| ()).map_err(ConnectError::into_error)
    }

    /// Validates a config against the plugin without creating anything; returns the error messages
    /// per field (empty when valid).
    pub async fn validate(&self, class: &str, config: &ConfigMap) -> Result<Vec<(String, String)>> {
        #[derive(Deserialize)]
        struct Validation {
            configs: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            value: EntryValue,
        }
        #[derive(Deserialize)]
        struct EntryValue {
            name: String,
            #[serde(default)]
            errors: Vec<String>,
        }
        let body = serde_json::to_value(config).map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let simple = class.rsplit('.').next().unwrap_or(class);
        let v: Validation =
            self.json(Method::PUT, &format!("connector-plugins/{}/config/validate", seg(simple)), Some(&body)).await?;
        Ok(v.configs
            .into_iter()
            .flat_map(|e| {
                let name = e.value.name;
                e.value.errors.into_iter().map(move |msg| (name.clone(), msg))
            })
            .collect())
    }

    /// Restarts the connector and, with `only_failed`, just its FAILED tasks (Connect answers 202).
    pub async fn restart(&self, name: &str, only_failed: bool) -> Result<()> {
        let path = format!("connectors/{}/restart?includeTasks=true&onlyFailed={only_failed}", seg(name));
        self.call(Method::POST, &path).await
    }

    pub async fn restart_task(&self, name: &str, task: u32) -> Result<()> {
        self.call(Method::POST, &format!("connectors/{}/tasks/{task}/restart", seg(name))).await
    }

    pub async fn pause(&self, name: &str) -> Result<()> {
        self.call(Method::PUT, &format!("connectors/{}/pause", seg(name))).await
    }

    /// Resumes a paused or stopped connector.
    pub async fn resume(&self, name: &str) -> Result<()> {
        self.call(Method::PUT, &format!("connectors/{}/resume", seg(name))).await
    }

    /// Stops the connector and its tasks (config kept); offsets can only be changed in this state.
    pub async fn stop(&self, name: &str) -> Result<()> {
        self.call(Method::PUT, &format!("connectors/{}/stop", seg(name))).await
    }

    /// The committed source offsets (empty before the first flush).
    pub async fn offsets(&self, name: &str) -> Result<Vec<PartitionOffset>> {
        let offsets: Offsets = self.json(Method::GET, &format!("connectors/{}/offsets", seg(name)), None).await?;
        Ok(offsets.offsets)
    }

    /// Clears the committed offsets of a STOPPED connector.
    pub async fn reset_offsets(&self, name: &str) -> Result<()> {
        self.call(Method::DELETE, &format!("connectors/{}/offsets", seg(name))).await
    }

    /// The topics the connector has written to since its topics were last reset.
    pub async fn topics(&self, name: &str) -> Result<Vec<String>> {
        let map: Option<BTreeMap<String, TopicList>> =
            self.optional(Method::GET, &format!("connectors/{}/topics", seg(name)), None).await?;
        #[derive(Deserialize)]
        struct TopicList {
            topics: Vec<String>,
        }
        Ok(map.and_then(|mut m| m.remove(name)).map(|t| t.topics).unwrap_or_default())
    }

    /// The configs the tasks run with (they follow a config PUT after a short delay).
    pub async fn task_configs(&self, name: &str) -> Result<Vec<ConfigMap>> {
        #[derive(Deserialize)]
        struct Task {
            config: ConfigMap,
        }
        let tasks: Vec<Task> = self.json(Method::GET, &format!("connectors/{}/tasks", seg(name)), None).await?;
        Ok(tasks.into_iter().map(|t| t.config).collect())
    }

    /// Deletes the connector; `false` when it did not exist.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        match self.send(Method::DELETE, &format!("connectors/{}", seg(name)), None).await {
            Ok(_) => Ok(true),
            Err(ConnectError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into_error()),
        }
    }

    /// An action without an answer body worth reading (restart, pause, stop, ...).
    async fn call(&self, method: Method, path: &str) -> Result<()> {
        self.send(method, path, None).await.map(|_| ()).map_err(ConnectError::into_error)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        self.optional(method, path, body).await?.ok_or_else(|| {
            ConnectError::NotFound(format!("{} answered 404 Not Found", self.endpoint(path))).into_error()
        })
    }

    async fn optional<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<T>> {
        match self.send(method, path, body).await {
            Ok((_, text)) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::service(
                    SERVICE,
                    self.redacted(&format!(
                        "unexpected answer from {}: {e}: {}",
                        self.endpoint(path),
                        http::snippet(&text)
                    )),
                )
            }),
            Err(ConnectError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into_error()),
        }
    }

    /// Sends a request, retrying for up to ~15 s while the worker group rebalances (409, or 500
    /// "a rebalance is expected"): every call here is safe to repeat.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<(StatusCode, String), ConnectError> {
        let mut attempt = 0;
        loop {
            match self.send_once(method.clone(), path, body).await {
                Err(ConnectError::Rebalancing(_)) if attempt < 30 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(ConnectError::Rebalancing(e)) => return Err(ConnectError::Other(e)),
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<(StatusCode, String), ConnectError> {
        let url = self.endpoint(path);
        let mut request = self.http.request(method, url.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            ConnectError::Other(http::transport_error(SERVICE, url.as_str(), &e).with_hint(
                "check CONNECT_URL and that Kafka Connect is running (`olmisctl ps`, `olmisctl logs kafka-connect`)",
            ))
        })?;
        let status = response.status();
        let text =
            response.text().await.map_err(|e| ConnectError::Other(http::transport_error(SERVICE, url.as_str(), &e)))?;
        if status == StatusCode::NOT_FOUND {
            return Err(ConnectError::NotFound(format!("{url} answered 404 Not Found")));
        }
        if !status.is_success() {
            // Connect's errors are `{"error_code": .., "message": ..}`; its message is the useful part.
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or_else(|| http::snippet(&text));
            let hint = match status {
                StatusCode::CONFLICT => "Connect is rebalancing; retry in a few seconds",
                StatusCode::BAD_REQUEST => "the connector config was refused; `olmisctl verify cdc` checks the source",
                _ => "`olmisctl logs kafka-connect` shows the worker's side",
            };
            let err =
                Error::service(SERVICE, self.redacted(&format!("{url} answered {status}: {message}"))).with_hint(hint);
            let rebalancing = status == StatusCode::CONFLICT || message.contains("rebalance");
            return Err(if rebalancing { ConnectError::Rebalancing(err) } else { ConnectError::Other(err) });
        }
        Ok((status, text))
    }

    fn endpoint(&self, path: &str) -> url::Url {
        // CONNECT_URL may carry a path prefix (behind a proxy): keep it.
        let mut base = self.url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(path).unwrap_or(base)
    }

    fn redacted(&self, text: &str) -> String {
        redact(text, self.secrets.iter())
    }
}

enum ConnectError {
    NotFound(String),
    /// The worker group is rebalancing: worth repeating the request shortly.
    Rebalancing(Error),
    Other(Error),
}

impl ConnectError {
    fn into_error(self) -> Error {
        match self {
            ConnectError::NotFound(message) => Error::service(SERVICE, message)
                .with_hint("is the connector registered? `olmisctl register-connector` registers it"),
            ConnectError::Rebalancing(e) | ConnectError::Other(e) => e,
        }
    }
}

/// A connector name as one URL path segment.
fn seg(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_decodes_failed_task_with_trace() {
        let json = r#"{"name":"c","connector":{"state":"RUNNING","worker_id":"w:8083"},
            "tasks":[{"id":0,"state":"FAILED","worker_id":"w:8083","trace":"org.apache.kafka.connect.errors.ConnectException: boom\n\tat x"}],
            "type":"source"}"#;
        let status: ConnectorStatus = serde_json::from_str(json).unwrap();
        assert!(!status.all_running());
        let failed: Vec<_> = status.failed_tasks().collect();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].info.trace.as_deref().unwrap().contains("boom"));
    }

    #[test]
    fn no_tasks_is_not_running() {
        let status: ConnectorStatus =
            serde_json::from_str(r#"{"name":"c","connector":{"state":"RUNNING"},"tasks":[]}"#).unwrap();
        assert!(!status.all_running());
    }

    #[test]
    fn names_are_escaped_as_one_segment() {
        assert_eq!(seg("openlmis-source"), "openlmis-source");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
