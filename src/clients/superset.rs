//! Superset's REST API: login (JWT), the CSRF token and session cookie that state-changing calls
//! need, the assets import and dashboard export, and look-ups by UUID.
//!
//! Only Superset's JSON answers count as success. Without the CSRF cookie a POST is redirected to
//! the login page, which a redirect-following client would read as "200 OK"; redirects are
//! therefore not followed, and an HTML page, a redirect or a 500 becomes an error that shows the
//! useful part of the response.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::http;
use crate::error::{Error, Result};
use crate::packages::superset::{AssetKind, is_uuid};
use crate::settings::{Secret, Settings, required};

pub const SERVICE: &str = "superset";

/// Superset's largest list page.
const PAGE_SIZE: usize = 100;

/// Where Superset's own error detail ends up when its answer doesn't carry it.
const LOG_HINT: &str = "Superset's log has the detail (`olmisctl logs superset` in compose mode)";

pub struct Superset {
    http: reqwest::Client,
    base: url::Url,
    user: String,
    password: Secret,
    session: Option<Session>,
}

struct Session {
    token: Secret,
    csrf: Secret,
    cookie: Secret,
}

/// An object found by UUID: its id in this Superset and its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub id: i64,
    pub uuid: String,
    pub title: String,
    /// Dashboards only.
    pub published: Option<bool>,
    pub slug: Option<String>,
}

impl Superset {
    pub fn new(settings: &Settings) -> Result<Superset> {
        let s = &settings.superset;
        let password = required(&s.admin_password, "SUPERSET_ADMIN_PASSWORD")?.clone();
        // Imports of big bundles take a while on a busy Superset; lookups are quick.
        let client = http::build(http::builder(Duration::from_secs(300)).redirect(reqwest::redirect::Policy::none()))?;
        Ok(Superset { http: client, base: s.url.clone(), user: s.admin_user.clone(), password, session: None })
    }

    pub fn url(&self) -> &url::Url {
        &self.base
    }

    fn endpoint(&self, path: &str) -> Result<url::Url> {
        self.base.join(path).map_err(|e| Error::service(SERVICE, format!("bad URL {}{path}: {e}", self.base)))
    }

    async fn send(&self, request: RequestBuilder, url: &url::Url) -> Result<Response> {
        request.send().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))
    }

    /// `GET /health`: the web server answers (no login needed).
    pub async fn health(&self) -> Result<()> {
        let url = self.endpoint("health")?;
        let response = self.send(self.http.get(url.clone()), &url).await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() && body.trim() == "OK" {
            Ok(())
        } else {
            Err(Error::service(SERVICE, format!("{url} answered {status}: {}", useful_part(&body))))
        }
    }

    /// Logs in as the admin and fetches the CSRF token (with its session cookie).
    pub async fn login(&mut self) -> Result<()> {
        let url = self.endpoint("api/v1/security/login")?;
        let body = serde_json::json!({
            "username": self.user, "password": self.password.expose(), "provider": "db", "refresh": false,
        });
        let response = self.send(self.http.post(url.clone()).json(&body), &url).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(Error::service(SERVICE, format!("authentication failed for user {:?}", self.user)).with_hint(
                "check SUPERSET_ADMIN_USER and SUPERSET_ADMIN_PASSWORD (the password is applied only when the admin is first created)",
            ));
        }
        #[derive(Deserialize)]
        struct Login {
            access_token: String,
        }
        let login: Login = decode(&url, json(&url, response).await?)?;
        let token = Secret::new(login.access_token);

        let url = self.endpoint("api/v1/security/csrf_token/")?;
        let response = self.send(self.http.get(url.clone()).bearer_auth(token.expose()), &url).await?;
        let cookie = session_cookie(&response).ok_or_else(|| {
            Error::service(SERVICE, format!("{url} set no session cookie"))
                .with_hint("state-changing calls need Superset's session cookie; check that no proxy strips Set-Cookie")
        })?;
        #[derive(Deserialize)]
        struct Csrf {
            result: String,
        }
        let csrf: Csrf = decode(&url, json(&url, response).await?)?;
        self.session = Some(Session { token, csrf: Secret::new(csrf.result), cookie });
        Ok(())
    }

    fn session(&self) -> Result<&Session> {
        self.session.as_ref().ok_or_else(|| Error::service(SERVICE, "not logged in (call login first)"))
    }

    async fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let session = self.session()?;
        let url = self.endpoint(path)?;
        let request = self.http.get(url.clone()).query(query).bearer_auth(session.token.expose());
        let response = self.send(request, &url).await?;
        json(&url, response).await
    }

    /// `POST /api/v1/assets/import/` with the bundle and the database passwords (keyed by the
    /// database file's path in the bundle). `sparse` lets the bundle reference objects Superset
    /// already has (e.g. an extension's chart on a core dataset).
    pub async fn import_assets(
        &self,
        bundle: Vec<u8>,
        passwords: &BTreeMap<String, Secret>,
        sparse: bool,
    ) -> Result<()> {
        let session = self.session()?;
        let url = self.endpoint("api/v1/assets/import/")?;
        let passwords: BTreeMap<&str, &str> = passwords.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        let passwords = serde_json::to_string(&passwords).map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let part = reqwest::multipart::Part::bytes(bundle)
            .file_name("bundle.zip")
            .mime_str("application/zip")
            .map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let mut form = reqwest::multipart::Form::new().part("bundle", part).text("passwords", passwords);
        if sparse {
            form = form.text("sparse", "true");
        }
        let request = self.state_changing(self.http.post(url.clone()), session).multipart(form);
        let response = self.send(request, &url).await?;
        let body = json(&url, response).await?;
        if body.get("message").and_then(Value::as_str) == Some("OK") {
            Ok(())
        } else {
            Err(Error::service(
                SERVICE,
                format!("{url} did not confirm the import: {}", http::snippet(&body.to_string())),
            ))
        }
    }

    fn state_changing(&self, request: RequestBuilder, session: &Session) -> RequestBuilder {
        request
            .bearer_auth(session.token.expose())
            .header("X-CSRFToken", session.csrf.expose())
            .header(COOKIE, session.cookie.expose())
            .header("Referer", self.base.as_str())
    }

    /// The export ZIP of one dashboard with its charts, datasets and database.
    pub async fn export_dashboard(&self, id: i64) -> Result<Vec<u8>> {
        let session = self.session()?;
        let url = self.endpoint("api/v1/dashboard/export/")?;
        let request =
            self.http.get(url.clone()).query(&[("q", format!("!({id})"))]).bearer_auth(session.token.expose());
        let response = self.send(request, &url).await?;
        let kind = content_type(&response);
        if response.status().is_success() && kind.contains("zip") {
            let bytes = response.bytes().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
            return Ok(bytes.to_vec());
        }
        Err(failure(&url, response).await)
    }

    /// The object of `kind` with this UUID, if Superset has it.
    pub async fn find(&self, kind: AssetKind, uuid: &str) -> Result<Option<Object>> {
        Ok(self.list(kind, "uuid", uuid).await?.into_iter().next())
    }

    /// A dashboard by UUID or slug.
    pub async fn find_dashboard(&self, uuid_or_slug: &str) -> Result<Option<Object>> {
        let column = if is_uuid(uuid_or_slug) { "uuid" } else { "slug" };
        Ok(self.list(AssetKind::Dashboard, column, uuid_or_slug).await?.into_iter().next())
    }

    /// Every object of `kind` whose `column` equals `value`.
    pub async fn list(&self, kind: AssetKind, column: &str, value: &str) -> Result<Vec<Object>> {
        let filter = format!("filters:!((col:{column},opr:eq,value:'{}')),", rison_escape(value));
        self.page(kind, &filter, 0).await
    }

    /// Every object of `kind` (page by page: one request per 100 objects).
    pub async fn all(&self, kind: AssetKind) -> Result<Vec<Object>> {
        let mut objects = Vec::new();
        for page in 0.. {
            let batch = self.page(kind, "", page).await?;
            let done = batch.len() < PAGE_SIZE;
            objects.extend(batch);
            if done {
                break;
            }
        }
        Ok(objects)
    }

    async fn page(&self, kind: AssetKind, filter: &str, page: usize) -> Result<Vec<Object>> {
        let title = kind.title_field();
        let extra = if kind == AssetKind::Dashboard { ",published,slug" } else { "" };
        let q = format!("(columns:!(id,uuid,{title}{extra}),{filter}page:{page},page_size:{PAGE_SIZE})");
        let body = self.get_json(&format!("api/v1/{}/", kind.as_str()), &[("q", q)]).await?;
        let items = body.get("result").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(Object {
                    id: item.get("id")?.as_i64()?,
                    uuid: item.get("uuid").and_then(Value::as_str).unwrap_or_default().to_string(),
                    title: item.get(title).and_then(Value::as_str).unwrap_or_default().to_string(),
                    published: item.get("published").and_then(Value::as_bool),
                    slug: item.get("slug").and_then(Value::as_str).map(str::to_string),
                })
            })
            .collect())
    }

    /// Whether Superset connects to database `id` with what it stored (address, user and the
    /// encrypted password): `Ok(Err(reason))` when the database refuses or is unreachable.
    pub async fn test_stored_connection(&self, id: i64) -> Result<std::result::Result<(), String>> {
        let body = self.get_json(&format!("api/v1/database/{id}/connection"), &[]).await?;
        let result = body.get("result").cloned().unwrap_or_default();
        let name = result.get("database_name").and_then(Value::as_str).unwrap_or_default();
        // The stored URI, password masked: Superset substitutes the stored password only when
        // the URI equals the stored one.
        let uri = result.get("sqlalchemy_uri").and_then(Value::as_str).unwrap_or_default();
        let session = self.session()?;
        let url = self.endpoint("api/v1/database/test_connection/")?;
        let request = self
            .state_changing(self.http.post(url.clone()), session)
            .json(&serde_json::json!({"database_name": name, "sqlalchemy_uri": uri}));
        let response = self.send(request, &url).await?;
        let status = response.status();
        if status.is_client_error() && content_type(&response).contains("json") && status != StatusCode::UNAUTHORIZED {
            let body = response.text().await.unwrap_or_default();
            return Ok(Err(database_error(&json_message(&body))));
        }
        json(&url, response).await.map(|_| Ok(()))
    }
}

/// The database's own words from Superset's wrapped driver error (`DB::Exception: ...`).
pub fn database_error(message: &str) -> String {
    let core = match message.find("DB::Exception: ") {
        Some(start) => {
            let rest = &message[start + "DB::Exception: ".len()..];
            rest.split(" (for url").next().unwrap_or(rest).trim_end_matches(']').trim()
        }
        None => message,
    };
    http::snippet(core)
}

/// Rison quotes strings with `'` and escapes `'` and `!` with `!`.
fn rison_escape(value: &str) -> String {
    value.replace('!', "!!").replace('\'', "!'")
}

fn content_type(response: &Response) -> String {
    response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase()
}

/// The `session=...` pair of the Set-Cookie headers, as a Cookie header value.
fn session_cookie(response: &Response) -> Option<Secret> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.trim_start().starts_with("session="))
        .map(|pair| Secret::new(pair.trim().to_string()))
}

/// The JSON body of a successful answer; anything else is an error.
async fn json(url: &url::Url, response: Response) -> Result<Value> {
    if response.status().is_success() && content_type(&response).contains("json") {
        let text = response.text().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
        return serde_json::from_str(&text).map_err(|e| {
            Error::service(SERVICE, format!("{url} answered malformed JSON ({e}): {}", http::snippet(&text)))
        });
    }
    Err(failure(url, response).await)
}

fn decode<T: serde::de::DeserializeOwned>(url: &url::Url, value: Value) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| {
        Error::service(SERVICE, format!("{url} answered unexpected JSON ({e}): {}", http::snippet(&value.to_string())))
    })
}

/// An error for a response that is not the JSON success we wanted.
async fn failure(url: &url::Url, response: Response) -> Error {
    let status = response.status();
    if status.is_redirection() {
        let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?").to_string();
        return Error::service(SERVICE, format!("{url} redirected ({status}) to {location} instead of answering"))
            .with_hint("Superset refused the session: the login token, CSRF token or session cookie was not accepted");
    }
    let kind = content_type(&response);
    let body = response.text().await.unwrap_or_default();
    let detail = if kind.contains("json") { json_message(&body) } else { useful_part(&body) };
    let error = Error::service(SERVICE, format!("{url} answered {status}: {detail}"));
    match status {
        StatusCode::UNAUTHORIZED => error.with_hint("check SUPERSET_ADMIN_USER and SUPERSET_ADMIN_PASSWORD"),
        StatusCode::FORBIDDEN => error.with_hint("the Superset user needs the Admin role"),
        s if s.is_server_error() => error.with_hint(LOG_HINT),
        _ => error,
    }
}

/// Superset's JSON errors: `{"message": ...}` (a string or a map of field errors) or `{"errors": [...]}`.
fn json_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else { return http::snippet(body) };
    let message = match (value.get("message"), value.get("errors")) {
        (Some(Value::String(s)), _) => s.clone(),
        (Some(other), _) => other.to_string(),
        (None, Some(Value::Array(errors))) => errors
            .iter()
            .map(|e| e.get("message").and_then(Value::as_str).map_or_else(|| e.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join("; "),
        _ => value.to_string(),
    };
    http::snippet(&message)
}

/// The readable part of an answer: an HTML page's title, else the start of the text.
pub fn useful_part(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && start + 7 <= end
    {
        return format!("an HTML page titled {:?}", body[start + 7..end].trim());
    }
    if lower.trim_start().starts_with("<!doctype") || lower.trim_start().starts_with("<html") {
        return "an HTML page".to_string();
    }
    http::snippet(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_answers_are_summarized_by_title() {
        let page = "<!doctype html><html><head><title>500: Internal server error | Superset</title></head><body>...</body></html>";
        assert_eq!(useful_part(page), "an HTML page titled \"500: Internal server error | Superset\"");
        assert_eq!(useful_part("<html><body>x</body></html>"), "an HTML page");
        assert_eq!(useful_part("plain text"), "plain text");
    }

    #[test]
    fn json_errors_are_flattened() {
        assert_eq!(json_message(r#"{"message": "Not authorized"}"#), "Not authorized");
        assert_eq!(json_message(r#"{"errors": [{"message": "a"}, {"message": "b"}]}"#), "a; b");
        assert_eq!(json_message(r#"{"message": {"uuid": ["bad"]}}"#), r#"{"uuid":["bad"]}"#);
    }

    #[test]
    fn driver_errors_keep_the_database_message() {
        let m = "(builtins.NoneType) None\n[SQL: Received ClickHouse exception, code: 81, server response: Code: 81. DB::Exception: Database curated does not exist. (UNKNOWN_DATABASE) (version 26.9.2.1) (for url http://h:8123)]";
        assert_eq!(database_error(m), "Database curated does not exist. (UNKNOWN_DATABASE) (version 26.9.2.1)");
        assert_eq!(database_error("timeout"), "timeout");
    }

    #[test]
    fn rison_strings_are_escaped() {
        assert_eq!(rison_escape("it's!"), "it!'s!!");
    }
}
