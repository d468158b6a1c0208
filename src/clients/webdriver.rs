//! A headless Chromium driven over the W3C WebDriver protocol (chromedriver), for checks that
//! need a real browser: log in, open a page, run a script, take a screenshot. The protocol is a
//! handful of JSON calls, so this speaks it with the HTTP client the tool already has.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::http;
use crate::error::{Error, Result};

pub const SERVICE: &str = "chromium";

/// The browser and driver binaries, found on PATH.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Binaries {
    pub fn find() -> Result<Binaries> {
        let chromium = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|n| on_path(n));
        let chromedriver = on_path("chromedriver");
        match (chromium, chromedriver) {
            (Some(chromium), Some(chromedriver)) => Ok(Binaries { chromium, chromedriver }),
            _ => Err(Error::service(SERVICE, "no headless Chromium with chromedriver on PATH")
                .with_hint("install them (Debian: `apt-get install chromium chromium-driver`)")),
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file())
}

pub struct Browser {
    http: reqwest::Client,
    session: url::Url,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a session in a fresh profile.
    pub async fn launch(bins: &Binaries, width: u32, height: u32) -> Result<Browser> {
        let mut driver = Command::new(&bins.chromedriver)
            .arg("--port=0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::service(SERVICE, format!("cannot start {}: {e}", bins.chromedriver.display())))?;
        let port = read_port(&mut driver).await?;
        let base = url::Url::parse(&format!("http://127.0.0.1:{port}/"))
            .map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let profile = std::env::temp_dir().join(format!("olmisctl-chromium-{}-{port}", std::process::id()));
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": bins.chromium, "args": args},
        }}});
        let client = http::client(Duration::from_secs(120))?;
        let url = base.join("session").map_err(|e| Error::service(SERVICE, e.to_string()))?;
        let value = call(client.post(url.clone()).json(&capabilities), &url).await?;
        let id = value.get("sessionId").and_then(Value::as_str).unwrap_or_default();
        let session = base.join(&format!("session/{id}/")).map_err(|e| Error::service(SERVICE, e.to_string()))?;
        Ok(Browser { http: client, session, driver, profile })
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        self.session.join(path).map_err(|e| Error::service(SERVICE, e.to_string()))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let url = self.url(path)?;
        call(self.http.post(url.clone()).json(&body), &url).await
    }

    pub async fn goto(&self, url: &url::Url) -> Result<()> {
        self.post("url", json!({"url": url.as_str()})).await.map(|_| ())
    }

    pub async fn current_url(&self) -> Result<String> {
        let url = self.url("url")?;
        Ok(call(self.http.get(url.clone()), &url).await?.as_str().unwrap_or_default().to_string())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("execute/sync", json!({"script": script, "args": args})).await
    }

    async fn element(&self, css: &str) -> Result<String> {
        let value = self.post("element", json!({"using": "css selector", "value": css})).await?;
        value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::service(SERVICE, format!("no element matches {css:?}")))
    }

    /// Types into the element `css` selects (keystrokes, so the page sees them as a user's).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.post(&format!("element/{id}/value"), json!({"text": text})).await.map(|_| ())
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.post(&format!("element/{id}/click"), json!({})).await.map(|_| ())
    }

    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let url = self.url("screenshot")?;
        let value = call(self.http.get(url.clone()), &url).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or_default())
            .map_err(|e| Error::service(SERVICE, format!("the screenshot is not base64: {e}")))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, format!("cannot create: {e}")))?;
        }
        std::fs::write(path, png).map_err(|e| Error::file(path, format!("cannot write: {e}")))
    }

    /// Ends the session, the browser and the driver, and removes the profile.
    pub async fn close(mut self) {
        // chromedriver routes `DELETE /session/<id>` (no trailing slash); that call ends Chromium,
        // which killing the driver alone would leave running.
        let url = self.session.as_str().trim_end_matches('/').to_string();
        let _ = self.http.delete(url).send().await;
        let _ = self.driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// chromedriver prints "... started successfully on port N." once it listens.
async fn read_port(driver: &mut Child) -> Result<u16> {
    let stdout = driver.stdout.take().ok_or_else(|| Error::service(SERVICE, "chromedriver has no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let wait = async {
        while let Ok(Some(line)) = lines.next_line().await {
            // The first line says "Starting ChromeDriver ... on port 0"; wait for the real one.
            if !line.contains("started successfully") {
                continue;
            }
            if let Some(rest) = line.split("on port ").nth(1) {
                return rest.trim_end_matches('.').trim().parse().ok();
            }
        }
        None
    };
    match tokio::time::timeout(Duration::from_secs(15), wait).await {
        Ok(Some(port)) => Ok(port),
        _ => Err(Error::service(SERVICE, "chromedriver did not report its port within 15 s")),
    }
}

/// One WebDriver call: the `value` of the answer, or the driver's error message.
async fn call(request: reqwest::RequestBuilder, url: &url::Url) -> Result<Value> {
    let response = request.send().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| http::transport_error(SERVICE, url.as_str(), &e))?;
    let body: Value = serde_json::from_str(&text)
        .map_err(|_| Error::service(SERVICE, format!("chromedriver answered {status}: {}", http::snippet(&text))))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        let message = value.get("message").and_then(Value::as_str).unwrap_or_default();
        Err(Error::service(SERVICE, format!("chromedriver: {}", http::snippet(message))))
    }
}
