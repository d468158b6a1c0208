//! Opens dashboards in headless Chromium as a user would and reads back, per chart, whether it
//! rendered data, showed an error, or came back empty; keeps a screenshot per dashboard. Charts are
//! forced past Superset's result cache, so what shows is what the marts hold now.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clients::superset::database_error;
use crate::clients::webdriver::{Binaries, Browser};
use crate::error::{Error, Result};
use crate::settings::{Settings, required};

/// How long one dashboard may take until every chart has settled.
const SETTLE: Duration = Duration::from_secs(90);

/// The state of every chart on the page, as the DOM shows it.
const CHART_STATES: &str = r#"
return Array.from(document.querySelectorAll('[data-test="chart-grid-component"]')).map(function (el) {
  var name = el.getAttribute('data-test-chart-name') || '';
  var text = el.innerText || '';
  var alert = el.querySelector('.ant-alert, [role="alert"], [data-test="error-alert"]');
  if (alert) return {name: name, state: 'error', message: (alert.innerText || '').slice(0, 300)};
  if (el.querySelector('[aria-label="Loading"], .loading, [data-test="loading-indicator"]')) return {name: name, state: 'loading', message: ''};
  if (/No results were returned|No data/i.test(text)) return {name: name, state: 'empty', message: ''};
  if (el.querySelector('canvas, svg, table, .header-line, .big_number')) return {name: name, state: 'rendered', message: ''};
  return {name: name, state: 'loading', message: ''};
});
"#;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct ChartState {
    pub name: String,
    /// rendered, error, empty or loading (did not settle in time).
    pub state: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    pub title: String,
    pub charts: Vec<ChartState>,
    pub expected_charts: usize,
    pub screenshot: PathBuf,
}

impl Rendered {
    /// Charts that failed to show data, with why.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .charts
            .iter()
            .filter(|c| c.state != "rendered")
            .map(|c| match c.state.as_str() {
                "error" => format!("{:?}: {}", c.name, database_error(&c.message.replace('\n', " "))),
                "empty" => format!("{:?}: no rows", c.name),
                _ => format!("{:?}: still loading after {}s", c.name, SETTLE.as_secs()),
            })
            .collect();
        if self.charts.len() < self.expected_charts {
            problems.push(format!("{} of {} charts on the page", self.charts.len(), self.expected_charts));
        }
        problems
    }
}

/// One dashboard to open: its title, Superset id, how many charts its layout places, and a file
/// name for the screenshot.
pub struct Target {
    pub title: String,
    pub id: i64,
    pub expected_charts: usize,
    pub file_stem: String,
}

/// Logs in through the login form and renders each dashboard.
pub async fn render(settings: &Settings, targets: &[Target], screenshots: &Path) -> Result<Vec<Rendered>> {
    let bins = Binaries::find()?;
    let browser = Browser::launch(&bins, 1400, 2200).await?;
    let result = render_all(&browser, settings, targets, screenshots).await;
    browser.close().await;
    result
}

async fn render_all(
    browser: &Browser,
    settings: &Settings,
    targets: &[Target],
    screenshots: &Path,
) -> Result<Vec<Rendered>> {
    let base = &settings.superset.url;
    let join = |path: &str| base.join(path).map_err(|e| Error::usage(format!("bad SUPERSET_URL: {e}")));
    browser.goto(&join("login/")?).await?;
    browser.type_into("#username", &settings.superset.admin_user).await?;
    let password = required(&settings.superset.admin_password, "SUPERSET_ADMIN_PASSWORD")?;
    browser.type_into("#password", password.expose()).await?;
    browser.click("button[type=submit]").await?;
    let started = Instant::now();
    while browser.current_url().await?.contains("/login") {
        if started.elapsed() > Duration::from_secs(15) {
            return Err(Error::service("superset", "the browser login did not get past the login page")
                .with_hint("check SUPERSET_ADMIN_USER and SUPERSET_ADMIN_PASSWORD"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut rendered = Vec::new();
    for target in targets {
        browser.goto(&join(&format!("superset/dashboard/{}/?standalone=1&force=true", target.id))?).await?;
        let started = Instant::now();
        let charts = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let value = browser.execute(CHART_STATES, Vec::new()).await?;
            let charts: Vec<ChartState> = serde_json::from_value(value).unwrap_or_default();
            let settled = charts.len() >= target.expected_charts && charts.iter().all(|c| c.state != "loading");
            if settled || started.elapsed() > SETTLE {
                break charts;
            }
        };
        // Let the last animations finish so the screenshot shows the charts drawn.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let screenshot = screenshots.join(format!("{}.png", target.file_stem));
        browser.screenshot(&screenshot).await?;
        rendered.push(Rendered {
            title: target.title.clone(),
            charts,
            expected_charts: target.expected_charts,
            screenshot,
        });
    }
    Ok(rendered)
}
