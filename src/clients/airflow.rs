//! Airflow 3's REST API (`/api/v2`), authenticated with a JWT from `/auth/token`.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http;
use crate::error::{Error, Result};
use crate::settings::{Settings, required};

pub const SERVICE: &str = "airflow";

pub struct Airflow {
    http: reqwest::Client,
    base: url::Url,
    token: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ComponentHealth {
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Health {
    pub metadatabase: ComponentHealth,
    pub scheduler: ComponentHealth,
    pub dag_processor: Option<ComponentHealth>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dag {
    pub dag_id: String,
    pub is_paused: bool,
    #[serde(default)]
    pub has_import_errors: bool,
    pub fileloc: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImportError {
    pub filename: String,
    pub stack_trace: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DagRun {
    pub dag_run_id: String,
    pub state: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct TaskInstance {
    pub task_id: String,
    pub state: Option<String>,
    #[serde(default)]
    pub try_number: u32,
}

/// `GET /api/v2/monitor/health` needs no login: used to tell "down" from "wrong password".
pub async fn health(settings: &Settings) -> Result<Health> {
    let http = http::client(Duration::from_secs(15))?;
    let url = join(&settings.airflow.url, "api/v2/monitor/health")?;
    let response = http.get(url.clone()).send().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
    decode(response, url.as_str()).await
}

impl Airflow {
    pub async fn login(settings: &Settings) -> Result<Airflow> {
        let a = &settings.airflow;
        let password = required(&a.admin_password, "AIRFLOW_ADMIN_PASSWORD")?;
        let http = http::client(Duration::from_secs(30))?;
        let url = join(&a.url, "auth/token")?;
        let response = http
            .post(url.clone())
            .json(&json!({ "username": a.admin_user, "password": password.expose() }))
            .send()
            .await
            .map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::service(SERVICE, format!("login as {:?} was refused", a.admin_user))
                .with_hint("check AIRFLOW_ADMIN_USER and AIRFLOW_ADMIN_PASSWORD"));
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
        }
        let token: Token = decode(response, url.as_str()).await?;
        Ok(Airflow { http, base: a.url.clone(), token: token.access_token })
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder, what: &str) -> Result<T> {
        let response =
            request.bearer_auth(&self.token).send().await.map_err(|e| http::transport_error(SERVICE, what, &e))?;
        decode(response, what).await
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        join(&self.base, path)
    }

    /// `None` when Airflow does not know the DAG (not parsed yet, or the file is missing).
    pub async fn dag(&self, dag_id: &str) -> Result<Option<Dag>> {
        let url = self.url(&format!("api/v2/dags/{dag_id}"))?;
        let response = self
            .http
            .get(url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        decode(response, url.as_str()).await.map(Some)
    }

    /// The DAG file's text as Airflow last parsed it.
    pub async fn dag_source(&self, dag_id: &str) -> Result<String> {
        #[derive(Deserialize)]
        struct Source {
            content: String,
        }
        let url = self.url(&format!("api/v2/dagSources/{dag_id}"))?;
        let request = self.http.get(url.clone()).header("Accept", "application/json");
        let source: Source = self.send(request, url.as_str()).await?;
        Ok(source.content)
    }

    pub async fn import_errors(&self) -> Result<Vec<ImportError>> {
        #[derive(Deserialize)]
        struct Page {
            import_errors: Vec<ImportError>,
        }
        let url = self.url("api/v2/importErrors?limit=100")?;
        let page: Page = self.send(self.http.get(url.clone()), url.as_str()).await?;
        Ok(page.import_errors)
    }

    pub async fn set_paused(&self, dag_id: &str, paused: bool) -> Result<Dag> {
        let url = self.url(&format!("api/v2/dags/{dag_id}"))?;
        self.send(self.http.patch(url.clone()).json(&json!({ "is_paused": paused })), url.as_str()).await
    }

    /// Starts a run now; Airflow 3 needs `logical_date` present (null = "now", no data interval).
    pub async fn trigger(&self, dag_id: &str, run_id: &str, conf: Value) -> Result<DagRun> {
        self.trigger_for(dag_id, run_id, None, conf).await
    }

    /// Starts a run now for a logical date (RFC 3339). Only runs with one have, and count as, a
    /// previous successful run (`prev_start_date_success`); Airflow 3 leaves the others out.
    pub async fn trigger_for(
        &self,
        dag_id: &str,
        run_id: &str,
        logical_date: Option<&str>,
        conf: Value,
    ) -> Result<DagRun> {
        let url = self.url(&format!("api/v2/dags/{dag_id}/dagRuns"))?;
        let body = json!({ "dag_run_id": run_id, "logical_date": logical_date, "conf": conf });
        self.send(self.http.post(url.clone()).json(&body), url.as_str()).await
    }

    pub async fn dag_run(&self, dag_id: &str, run_id: &str) -> Result<DagRun> {
        let url = self.url(&format!("api/v2/dags/{dag_id}/dagRuns/{run_id}"))?;
        self.send(self.http.get(url.clone()), url.as_str()).await
    }

    /// Deletes a run and its task instances (their log files stay); a run already gone is fine.
    pub async fn delete_dag_run(&self, dag_id: &str, run_id: &str) -> Result<()> {
        let url = self.url(&format!("api/v2/dags/{dag_id}/dagRuns/{run_id}"))?;
        let response = self
            .http
            .delete(url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(Error::service(SERVICE, format!("{url} answered {status}: {}", http::snippet(&body))))
    }

    /// The newest run of a DAG, if any.
    pub async fn latest_run(&self, dag_id: &str) -> Result<Option<DagRun>> {
        #[derive(Deserialize)]
        struct Page {
            dag_runs: Vec<DagRun>,
        }
        let url = self.url(&format!("api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=1"))?;
        let page: Page = self.send(self.http.get(url.clone()), url.as_str()).await?;
        Ok(page.dag_runs.into_iter().next())
    }

    pub async fn task_instances(&self, dag_id: &str, run_id: &str) -> Result<Vec<TaskInstance>> {
        #[derive(Deserialize)]
        struct Page {
            task_instances: Vec<TaskInstance>,
        }
        let url = self.url(&format!("api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"))?;
        let page: Page = self.send(self.http.get(url.clone()), url.as_str()).await?;
        Ok(page.task_instances)
    }

    /// The task's log as plain lines (Airflow 3 returns structured records; we keep their text).
    pub async fn task_log(&self, dag_id: &str, run_id: &str, task_id: &str, try_number: u32) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Log {
            content: Value,
        }
        let url = self.url(&format!(
            "api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}?full_content=true"
        ))?;
        let request = self.http.get(url.clone()).header("Accept", "application/json");
        let log: Log = self.send(request, url.as_str()).await?;
        Ok(log_lines(&log.content))
    }
}

/// Flattens Airflow's log payload: a list of strings, or of records with an `event` field.
pub fn log_lines(content: &Value) -> Vec<String> {
    match content {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                Value::Object(record) => {
                    let event = record.get("event").and_then(Value::as_str).unwrap_or_default();
                    let mut line = match record.get("level").and_then(Value::as_str) {
                        Some(level) if !event.is_empty() => format!("[{level}] {event}"),
                        _ => event.to_string(),
                    };
                    // A task's exception travels in `error_detail`, not in the event text.
                    for detail in record.get("error_detail").and_then(Value::as_array).into_iter().flatten() {
                        let kind = detail.get("exc_type").and_then(Value::as_str).unwrap_or("error");
                        let value = detail.get("exc_value").and_then(Value::as_str).unwrap_or_default();
                        line.push_str(&format!("\n{kind}: {value}"));
                    }
                    line
                }
                other => other.to_string(),
            })
            .flat_map(|text| text.lines().map(String::from).collect::<Vec<_>>())
            .collect(),
        Value::String(s) => s.lines().map(String::from).collect(),
        _ => Vec::new(),
    }
}

fn join(base: &url::Url, path: &str) -> Result<url::Url> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path).map_err(|e| Error::service(SERVICE, format!("bad URL {base}{path}: {e}")))
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response, what: &str) -> Result<T> {
    let status = response.status();
    let body = response.text().await.map_err(|e| http::transport_error(SERVICE, what, &e))?;
    if !status.is_success() {
        return Err(Error::service(SERVICE, format!("{what} answered {status}: {}", http::snippet(&body))));
    }
    serde_json::from_str(&body).map_err(|e| {
        Error::service(SERVICE, format!("{what} answered something unexpected ({e}): {}", http::snippet(&body)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_reads_both_payload_shapes() {
        let structured = json!([
            {"event": "hello", "level": "info"},
            {"event": "::group::x"},
            "plain",
            {"event": "Task failed", "level": "error", "error_detail": [{"exc_type": "ValueError", "exc_value": "bad"}]}
        ]);
        assert_eq!(
            log_lines(&structured),
            vec!["[info] hello", "::group::x", "plain", "[error] Task failed", "ValueError: bad"]
        );
        assert_eq!(log_lines(&json!("a\nb")), vec!["a", "b"]);
    }

    #[test]
    fn join_keeps_a_base_path() {
        let base = url::Url::parse("http://h:1/airflow").unwrap();
        assert_eq!(join(&base, "api/v2/x").unwrap().as_str(), "http://h:1/airflow/api/v2/x");
    }
}
