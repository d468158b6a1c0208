//! `olmisctl verify dbt`: the last dbt run's results, and the curated marts it built exist in
//! ClickHouse and have rows.

use super::project::Runner;
use super::results::{self, Manifest, RunResults};
use crate::checks::{Check, CheckReport};
use crate::clients::clickhouse::ClickHouse;
use crate::settings::Settings;

const BUILD_HINT: &str = "run `olmisctl dbt-build`";

pub async fn check(settings: &Settings) -> CheckReport {
    let title = "verify dbt";
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

fn last_run(runner: &Runner) -> Check {
    let name = "last run";
    let path = runner.target_dir.join("run_results.json");
    if !path.is_file() {
        return Check::fail(name, format!("no dbt run recorded ({} is missing)", path.display())).with_hint(BUILD_HINT);
    }
    let run: RunResults = match results::read_artifact(&path) {
        Ok(run) => run,
        Err(e) => return Check::fail(name, e.to_string()).with_hint(BUILD_HINT),
    };
    let manifest = Manifest::default();
    let locate = |_: &str, p: &str| p.to_string();
    let summary = results::summarize("", "", &run, None, &manifest, &locate);
    let (n, t) = (&summary.nodes, &summary.tests);
    let counts = format!(
        "{}: {} models built, {} failed; {} tests passed, {} warned, {} failed",
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
    let name = format!("mart {mart}");
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
