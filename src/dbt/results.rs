//! dbt's artifacts (`run_results.json`, `sources.json`, `manifest.json`) and the summary olmisctl
//! prints from them: what was built, which tests passed, warned or failed, and for every problem
//! the file to look at.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checks::{Level, label};
use crate::clients::http::snippet;
use crate::error::{Error, Exit, Result};
use crate::output::{Report, Styles};

#[derive(Debug, Deserialize)]
pub struct RunResults {
    pub metadata: Metadata,
    /// The command line's options as dbt recorded them; `which` is the command (build, test).
    #[serde(default)]
    pub args: RunArgs,
    #[serde(default)]
    pub results: Vec<NodeResult>,
    #[serde(default)]
    pub elapsed_time: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub generated_at: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RunArgs {
    #[serde(default)]
    pub which: Option<String>,
    /// The selection as dbt recorded it: a list of words, or null when none was given.
    #[serde(default)]
    pub select: Option<serde_json::Value>,
}

impl RunArgs {
    /// The selection's words, in any order (`package:a package:b`).
    pub fn selected(&self) -> Vec<String> {
        let mut words: Vec<String> = match &self.select {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str())
                .flat_map(|s| s.split_whitespace().map(String::from).collect::<Vec<_>>())
                .collect(),
            Some(serde_json::Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            _ => Vec::new(),
        };
        words.sort();
        words
    }
}

#[derive(Debug, Deserialize)]
pub struct NodeResult {
    pub unique_id: String,
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// `sources.json`, written by `dbt source freshness`.
#[derive(Debug, Deserialize)]
pub struct FreshnessResults {
    #[serde(default)]
    pub results: Vec<FreshnessResult>,
}

#[derive(Debug, Deserialize)]
pub struct FreshnessResult {
    pub unique_id: String,
    pub status: String,
    #[serde(default)]
    pub max_loaded_at_time_ago_in_s: Option<f64>,
    #[serde(default)]
    pub criteria: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<String>,
}

/// The parts of `manifest.json` the summary needs.
#[derive(Debug, Default, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub nodes: HashMap<String, ManifestNode>,
    #[serde(default)]
    pub sources: HashMap<String, ManifestNode>,
}

#[derive(Debug, Deserialize)]
pub struct ManifestNode {
    pub resource_type: String,
    pub package_name: String,
    pub name: String,
    #[serde(default)]
    pub source_name: Option<String>,
    #[serde(default)]
    pub original_file_path: Option<String>,
    #[serde(default)]
    pub compiled_path: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub config: NodeConfig,
}

#[derive(Debug, Default, Deserialize)]
pub struct NodeConfig {
    #[serde(default)]
    pub materialized: Option<String>,
}

/// Reads and parses one of dbt's JSON artifacts.
pub fn read_artifact<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::file(path, format!("is not a dbt artifact this olmisctl understands: {e}"))
            .with_hint("dbt-core 1.11 is supported; rerun the build to rewrite it")
    })
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeCounts {
    /// Models, seeds and snapshots built.
    pub built: usize,
    pub failed: usize,
    /// Not run because something upstream failed.
    pub skipped: usize,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    /// The test's query itself failed.
    pub errored: usize,
    pub skipped: usize,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FreshnessCounts {
    pub fresh: usize,
    pub stale: usize,
    pub errored: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    pub level: Level,
    /// model, test, seed, snapshot or source
    pub kind: String,
    pub name: String,
    /// dbt's status: error, fail, warn, runtime error, ...
    pub status: String,
    pub message: String,
    /// Where it is defined (the model's .sql, the test's .yml).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The SQL dbt ran, to run by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

/// The outcome of one `dbt-build` or `dbt-test`. Deserialized too: a build run inside the
/// Airflow container reports it as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub command: String,
    pub selector: String,
    pub nodes: NodeCounts,
    pub tests: TestCounts,
    /// `None` when source freshness did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<FreshnessCounts>,
    pub problems: Vec<Problem>,
    /// dbt's own run time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
}

/// How problems name files: `(package, path inside the package)` to a path to show.
pub type Locate<'a> = &'a dyn Fn(&str, &str) -> String;

/// Builds the summary from the parsed artifacts. `freshness` is absent when that step didn't run.
pub fn summarize(
    command: &str,
    selector: &str,
    run: &RunResults,
    freshness: Option<&FreshnessResults>,
    manifest: &Manifest,
    locate: Locate<'_>,
) -> RunSummary {
    let mut nodes = NodeCounts::default();
    let mut tests = TestCounts::default();
    let mut problems = Vec::new();
    for result in &run.results {
        let node = manifest.nodes.get(&result.unique_id);
        let kind = result.unique_id.split('.').next().unwrap_or("node");
        let level = if kind == "test" || kind == "unit_test" {
            let (counter, level) = match result.status.as_str() {
                "pass" => (&mut tests.passed, None),
                "warn" => (&mut tests.warned, Some(Level::Warn)),
                "fail" => (&mut tests.failed, Some(Level::Fail)),
                "skipped" => (&mut tests.skipped, None),
                _ => (&mut tests.errored, Some(Level::Fail)),
            };
            *counter += 1;
            level
        } else {
            let (counter, level) = match result.status.as_str() {
                "success" => (&mut nodes.built, None),
                "skipped" => (&mut nodes.skipped, None),
                _ => (&mut nodes.failed, Some(Level::Fail)),
            };
            *counter += 1;
            level
        };
        if let Some(level) = level {
            problems.push(Problem {
                level,
                kind: kind.to_string(),
                name: node.map(|n| n.name.clone()).unwrap_or_else(|| short_name(&result.unique_id)),
                status: result.status.clone(),
                message: first_lines(result.message.as_deref().unwrap_or("")),
                file: node.and_then(|n| n.original_file_path.as_deref().map(|p| locate(&n.package_name, p))),
                sql: node.and_then(|n| n.compiled_path.as_deref().map(|p| locate("", p))),
            });
        }
    }
    let sources = freshness.map(|f| {
        let mut counts = FreshnessCounts::default();
        for result in &f.results {
            let source = manifest.sources.get(&result.unique_id);
            let name = source
                .map(|s| format!("{}.{}", s.source_name.as_deref().unwrap_or("?"), s.name))
                .unwrap_or_else(|| short_name(&result.unique_id));
            let (level, message) = match result.status.as_str() {
                "pass" => {
                    counts.fresh += 1;
                    continue;
                }
                "warn" | "error" => {
                    counts.stale += 1;
                    let level = if result.status == "warn" { Level::Warn } else { Level::Fail };
                    (level, stale_message(result))
                }
                _ => {
                    counts.errored += 1;
                    (Level::Fail, first_lines(result.error.as_deref().unwrap_or("freshness query failed")))
                }
            };
            problems.push(Problem {
                level,
                kind: "source".into(),
                name,
                status: result.status.clone(),
                message,
                file: source.and_then(|s| s.original_file_path.as_deref().map(|p| locate(&s.package_name, p))),
                sql: None,
            });
        }
        counts
    });
    // Failures first, then warnings; dbt's order within each.
    problems.sort_by_key(|p| std::cmp::Reverse(p.level));
    RunSummary {
        command: command.to_string(),
        selector: selector.to_string(),
        nodes,
        tests,
        sources,
        problems,
        elapsed_seconds: run.elapsed_time,
    }
}

/// A unique id (`test.<package>.<name>.<hash>`, `source.<package>.<source>.<table>`) without its
/// resource type and package, for when the manifest is missing.
fn short_name(unique_id: &str) -> String {
    unique_id.splitn(3, '.').nth(2).unwrap_or(unique_id).to_string()
}

fn stale_message(result: &FreshnessResult) -> String {
    let age = result
        .max_loaded_at_time_ago_in_s
        .map(|s| humantime::format_duration(std::time::Duration::from_secs(s.max(0.0) as u64)).to_string());
    let limit = result.criteria.as_ref().and_then(|c| {
        let key = if result.status == "warn" { "warn_after" } else { "error_after" };
        let after = c.get(key)?;
        Some(format!("{} {}s", after.get("count")?.as_u64()?, after.get("period")?.as_str()?))
    });
    match (age, limit) {
        (Some(age), Some(limit)) => format!("newest raw event is {age} old (limit {limit})"),
        (Some(age), None) => format!("newest raw event is {age} old"),
        _ => "no raw events".to_string(),
    }
}

/// dbt's messages can hold a whole SQL statement: keep the first lines.
fn first_lines(message: &str) -> String {
    let text: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).take(3).collect();
    snippet(&text.join(" "))
}

impl Report for RunSummary {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!("{} {}\n", styles.bold.apply_to(&self.command), styles.dim.apply_to(&self.selector));
        let n = &self.nodes;
        if n.built + n.failed + n.skipped > 0 {
            out.push_str(&format!("  models   {} built, {} failed, {} skipped\n", n.built, n.failed, n.skipped));
        }
        let t = &self.tests;
        out.push_str(&format!(
            "  tests    {} passed, {} warned, {} failed{}\n",
            t.passed,
            t.warned,
            t.failed + t.errored,
            if t.skipped > 0 { format!(", {} skipped", t.skipped) } else { String::new() }
        ));
        if let Some(s) = self.sources.as_ref().filter(|s| s.fresh + s.stale + s.errored > 0) {
            let errored = if s.errored > 0 { format!(", {} failed to check", s.errored) } else { String::new() };
            out.push_str(&format!("  sources  {} fresh, {} stale{errored}\n", s.fresh, s.stale));
        }
        for p in &self.problems {
            out.push_str(&format!("  {} {} {}: {}\n", label(p.level, styles), p.kind, p.name, p.message));
            if let Some(file) = &p.file {
                out.push_str(&format!("       {} {file}\n", styles.dim.apply_to("file:")));
            }
            if let Some(sql) = &p.sql {
                out.push_str(&format!("       {} {sql}\n", styles.dim.apply_to("sql: ")));
            }
        }
        out
    }

    fn exit(&self) -> Exit {
        if self.problems.iter().any(|p| p.level == Level::Fail) { Exit::Failed } else { Exit::Ok }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = r#"{
      "metadata": {"generated_at": "2026-11-26T22:17:52Z", "invocation_id": "abc"},
      "elapsed_time": 12.5,
      "results": [
        {"unique_id": "model.core.stg_facilities", "status": "success", "message": "OK"},
        {"unique_id": "model.core.mart_requisition_summary", "status": "error",
         "message": "Database Error in model mart_requisition_summary\n  Code: 47. Unknown identifier nope\n  more\n  and more"},
        {"unique_id": "model.core.mart_consumption", "status": "skipped", "message": null},
        {"unique_id": "test.core.unique_mart_facility_directory_facility_id.1a", "status": "fail",
         "message": "Got 1 result, configured to fail if != 0"},
        {"unique_id": "test.core.olmis_reconcile_stg_lots.2b", "status": "warn", "message": "Got 1 result"},
        {"unique_id": "test.core.not_null_stg_lots_id.3c", "status": "pass", "message": null}
      ]
    }"#;

    const MANIFEST: &str = r#"{
      "nodes": {
        "model.core.mart_requisition_summary": {"resource_type": "model", "package_name": "core",
          "name": "mart_requisition_summary", "original_file_path": "models/marts/mart_requisition_summary.sql",
          "schema": "curated", "config": {"materialized": "table"}},
        "test.core.unique_mart_facility_directory_facility_id.1a": {"resource_type": "test", "package_name": "core",
          "name": "unique_mart_facility_directory_facility_id", "original_file_path": "models/marts/marts.yml",
          "compiled_path": "target/compiled/core/models/marts/marts.yml/unique_mart_facility_directory_facility_id.sql"}
      },
      "sources": {
        "source.core.openlmis.events_referencedata_lots": {"resource_type": "source", "package_name": "core",
          "name": "events_referencedata_lots", "source_name": "openlmis", "original_file_path": "models/staging/sources.yml"}
      }
    }"#;

    const FRESHNESS: &str = r#"{"results": [
      {"unique_id": "source.core.openlmis.events_referencedata_lots", "status": "warn",
       "max_loaded_at_time_ago_in_s": 7260.5,
       "criteria": {"warn_after": {"count": 120, "period": "minute"}, "error_after": {"count": null, "period": null}}},
      {"unique_id": "source.core.openlmis.events_x", "status": "pass", "max_loaded_at_time_ago_in_s": 3.0},
      {"unique_id": "source.core.openlmis.events_y", "status": "runtime error", "error": "Database raw does not exist"}
    ]}"#;

    fn summary() -> RunSummary {
        let run: RunResults = serde_json::from_str(RUN).unwrap();
        let manifest: Manifest = serde_json::from_str(MANIFEST).unwrap();
        let freshness: FreshnessResults = serde_json::from_str(FRESHNESS).unwrap();
        let locate = |package: &str, path: &str| format!("<{package}>/{path}");
        summarize("dbt build", "package:core", &run, Some(&freshness), &manifest, &locate)
    }

    #[test]
    fn counts_every_status() {
        let s = summary();
        assert_eq!(s.nodes, NodeCounts { built: 1, failed: 1, skipped: 1 });
        assert_eq!(s.tests, TestCounts { passed: 1, warned: 1, failed: 1, errored: 0, skipped: 0 });
        assert_eq!(s.sources, Some(FreshnessCounts { fresh: 1, stale: 1, errored: 1 }));
        assert_eq!(s.exit(), Exit::Failed);
    }

    #[test]
    fn human_summary_names_failures_with_their_files() {
        insta::assert_snapshot!(summary().human(&Styles::plain()), @r"
        dbt build package:core
          models   1 built, 1 failed, 1 skipped
          tests    1 passed, 1 warned, 1 failed
          sources  1 fresh, 1 stale, 1 failed to check
          FAIL model mart_requisition_summary: Database Error in model mart_requisition_summary Code: 47. Unknown identifier nope more
               file: <core>/models/marts/mart_requisition_summary.sql
          FAIL test unique_mart_facility_directory_facility_id: Got 1 result, configured to fail if != 0
               file: <core>/models/marts/marts.yml
               sql:  <>/target/compiled/core/models/marts/marts.yml/unique_mart_facility_directory_facility_id.sql
          FAIL source openlmis.events_y: Database raw does not exist
          WARN test olmis_reconcile_stg_lots.2b: Got 1 result
          WARN source openlmis.events_referencedata_lots: newest raw event is 2h 1m old (limit 120 minutes)
               file: <core>/models/staging/sources.yml
        ");
    }

    #[test]
    fn warnings_alone_exit_zero() {
        let run: RunResults = serde_json::from_str(
            r#"{"metadata": {"generated_at": "x"}, "results": [{"unique_id": "test.a.b", "status": "warn"}]}"#,
        )
        .unwrap();
        let locate = |_: &str, p: &str| p.to_string();
        let s = summarize("dbt test", "x", &run, None, &Manifest::default(), &locate);
        assert_eq!(s.exit(), Exit::Ok);
        assert!(s.sources.is_none());
    }
}
