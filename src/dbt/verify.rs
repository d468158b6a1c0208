//! `olmisctl verify dbt`: the last dbt run's results, and the curated marts it built exist in
//! ClickHouse and have rows.

use super::project::Runner;
use super::results::{self, Manifest, RunResults, RunSummary};
use crate::checks::{Check, CheckReport};
use crate::clients::clickhouse::ClickHouse;
use crate::error::Result;
use crate::settings::Settings;

const BUILD_HINT: &str = "run `olmisctl dbt-build`";

pub async fn check(settings: &Settings) -> CheckReport {
    let title = "verify dbt";
    if super::container::wanted(settings) {
        return super::container::verify(settings)
            .await
            .unwrap_or_else(|e| CheckReport::new(title, vec![Check::fail(super::container::SERVICE, e.to_string())]));
    }
    let runner = match Runner::locate(&settings.project_dir, std::env::var("DBT_TARGET_PATH").ok().as_deref()) {
        Ok(runner) => runner,
        Err(e) => return CheckReport::new(title, vec![Check::fail("runner project", e.to_string())]),
    };
    let mut checks = vec![last_run(&runner)];
    let manifest_path = runner.target_dir.join("manifest.json");
    let manifest: Manifest = match results::read_artifact(&manifest_path) {
        Ok(manifest) => manifest,
        Err(e) => {
            checks.push(Check::fail("marts", e.to_string()).with_hint(BUILD_HINT));
            return CheckReport::new(title, checks);
        }
    };
    let curated = &settings.clickhouse.curated_database;
    let mut marts: Vec<&str> = manifest
        .nodes
        .values()
        .filter(|n| n.resource_type == "model" && n.schema.as_deref() == Some(curated.as_str()))
        .filter(|n| n.config.materialized.as_deref() != Some("ephemeral"))
        .map(|n| n.name.as_str())
        .collect();
    marts.sort_unstable();
    if marts.is_empty() {
        checks.push(Check::fail("marts", format!("the last run defines no model in database {curated}")));
        return CheckReport::new(title, checks);
    }
    let clickhouse = match ClickHouse::new(settings) {
        Ok(clickhouse) => clickhouse,
        Err(e) => {
            checks.push(Check::fail("clickhouse", e.to_string()));
            return CheckReport::new(title, checks);
        }
    };
    if let Err(e) = clickhouse.ping().await {
        checks.push(Check::fail("clickhouse", e.to_string()));
        return CheckReport::new(title, checks);
    }
    for mart in marts {
        checks.push(mart_check(&clickhouse, curated, mart).await);
    }
    CheckReport::new(title, checks)
}

/// The last dbt run in the runner project, with its summary; `None` before the first run.
pub fn read_last_run(runner: &Runner) -> Result<Option<(RunResults, RunSummary)>> {
    let path = runner.target_dir.join("run_results.json");
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(summarize_last_run(results::read_artifact(&path)?)))
}

/// The summary of a run read from its run_results.json.
pub fn summarize_last_run(run: RunResults) -> (RunResults, RunSummary) {
    let locate = |_: &str, p: &str| p.to_string();
    let summary = results::summarize("", "", &run, None, &Manifest::default(), &locate);
    (run, summary)
}

fn last_run(runner: &Runner) -> Check {
    let name = "last run";
    let (run, summary) = match read_last_run(runner) {
        Ok(Some(last)) => last,
        Ok(None) => {
            let path = runner.target_dir.join("run_results.json");
            return Check::fail(name, format!("no dbt run recorded ({} is missing)", path.display()))
                .with_hint(BUILD_HINT);
        }
        Err(e) => return Check::fail(name, e.to_string()).with_hint(BUILD_HINT),
    };
    let (n, t) = (&summary.nodes, &summary.tests);
    let counts = format!(
        "dbt {} at {}: {} models built, {} failed; {} tests passed, {} warned, {} failed",
        run.args.which.as_deref().unwrap_or("run"),
        run.metadata.generated_at,
        n.built,
        n.failed,
        t.passed,
        t.warned,
        t.failed + t.errored
    );
    let failing: Vec<&str> =
        summary.problems.iter().filter(|p| p.level == crate::checks::Level::Fail).map(|p| p.name.as_str()).collect();
    if !failing.is_empty() {
        let shown = failing.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        let more = failing.len().saturating_sub(5);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        Check::fail(name, format!("{counts} ({shown}{more})")).with_hint("run `olmisctl dbt-build` for the details")
    } else if t.warned > 0 {
        Check::warn(name, counts)
    } else {
        Check::pass(name, counts)
    }
}

async fn mart_check(clickhouse: &ClickHouse, database: &str, mart: &str) -> Check {
    let name = mart.to_string();
    let sql = format!("SELECT count() FROM `{database}`.`{mart}`");
    match clickhouse.try_raw(&format!("{sql}\nFORMAT TabSeparatedRaw")).await {
        Ok(Ok(body)) => match body.trim().parse::<u64>() {
            Ok(0) => Check::warn(name, "exists, no rows").with_hint("check that raw events arrived, then rebuild"),
            Ok(rows) => Check::pass(name, format!("{rows} rows")),
            Err(_) => Check::fail(name, format!("unexpected answer to {sql}: {}", body.trim())),
        },
        // 60: unknown table, 81: unknown database
        Ok(Err(e)) if matches!(e.code, Some(60 | 81)) => {
            Check::fail(name, format!("missing in ClickHouse database {database}")).with_hint(BUILD_HINT)
        }
        Ok(Err(e)) => Check::fail(name, e.message),
        Err(e) => Check::fail(name, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Level;

    fn runner_with(run_results: Option<&str>) -> (tempfile::TempDir, Runner) {
        let project = tempfile::tempdir().unwrap();
        let dir = project.path().join("dbt");
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("dbt_project.yml"), "name: x\n").unwrap();
        if let Some(text) = run_results {
            std::fs::write(dir.join("target/run_results.json"), text).unwrap();
        }
        let runner = Runner::locate(project.path(), None).unwrap();
        (project, runner)
    }

    fn results(statuses: &[(&str, &str)]) -> String {
        let results: Vec<String> =
            statuses.iter().map(|(id, status)| format!(r#"{{"unique_id": "{id}", "status": "{status}"}}"#)).collect();
        format!(
            r#"{{"metadata": {{"generated_at": "2026-11-26T10:00:00Z"}}, "args": {{"which": "build"}}, "results": [{}]}}"#,
            results.join(",")
        )
    }

    #[test]
    fn last_run_is_tri_state() {
        let (_p, runner) = runner_with(None);
        let check = last_run(&runner);
        assert_eq!(check.level, Level::Fail);
        assert!(check.message.contains("no dbt run recorded"), "{}", check.message);
        assert_eq!(check.hint.as_deref(), Some(BUILD_HINT));

        let (_p, runner) = runner_with(Some(&results(&[("model.p.a", "success"), ("test.p.t1.x", "pass")])));
        let check = last_run(&runner);
        assert_eq!(check.level, Level::Pass, "{}", check.message);
        assert!(check.message.starts_with("dbt build at 2026-11-26T10:00:00Z: 1 models built"), "{}", check.message);

        let (_p, runner) = runner_with(Some(&results(&[("model.p.a", "success"), ("test.p.t1.x", "warn")])));
        assert_eq!(last_run(&runner).level, Level::Warn);

        let (_p, runner) = runner_with(Some(&results(&[("model.p.mart_a", "error"), ("test.p.unique_b.x", "fail")])));
        let check = last_run(&runner);
        assert_eq!(check.level, Level::Fail);
        assert!(check.message.contains("(mart_a, unique_b.x)"), "{}", check.message);

        let (_p, runner) = runner_with(Some("{ not json"));
        assert_eq!(last_run(&runner).level, Level::Fail);
    }
}
