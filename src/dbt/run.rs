//! `dbt-build` and `dbt-test`: prepare the runner project, run dbt's steps with their output
//! streaming to the user, and summarize the results.

use std::path::{Path, PathBuf};

use super::container;
use super::invocation::{self, Step};
use super::process::{self, Finished};
use super::project::{self, DbtPackage, PackageSource, Runner};
use super::results::{self, FreshnessResults, Manifest, RunResults, RunSummary};
use super::source_collection::SourceConnection;
use crate::clients::clickhouse::ClickHouse;
use crate::context::Ctx;
use crate::error::{Error, Exit, Result};

/// What the user asked for.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    Build { full_refresh: bool },
    Test,
}

pub async fn run(ctx: &Ctx, goal: Goal, select: Option<String>) -> Result<Exit> {
    Ok(ctx.out.report(&summary(ctx, goal, select).await?))
}

/// Runs dbt as [`run`] does and returns the summary instead of printing it (for commands that run
/// dbt as one of their steps).
pub async fn summary(ctx: &Ctx, goal: Goal, select: Option<String>) -> Result<RunSummary> {
    let settings = &ctx.settings;
    if container::wanted(settings) {
        return container::summary(ctx, goal, select).await;
    }
    let runner = Runner::locate(&settings.project_dir, std::env::var("DBT_TARGET_PATH").ok().as_deref())?;
    let exe = process::find_dbt(settings.dbt.executable.as_deref(), std::env::var_os("PATH").as_deref())?;
    let packages = project::configured_packages(settings)?;

    // The reconciliation tests reach the source through this collection; refreshing it first also
    // fails fast, with the service's own error, when ClickHouse is unreachable.
    let clickhouse = ClickHouse::new(settings)?;
    SourceConnection::from_settings(settings)?.apply(&clickhouse).await?;
    let changed = project::write_if_changed(&runner.packages_yml(), &project::render_packages_yml(&packages))?;
    let vars = invocation::dbt_vars(settings);
    let run_step = |step: Step, selector: String| {
        let (exe, runner, vars) = (&exe, &runner, &vars);
        async move {
            let user_indirect_selection = std::env::var_os("DBT_INDIRECT_SELECTION").is_some();
            let env = invocation::environment(settings, step, &runner.dir, user_indirect_selection)?;
            let args = invocation::args(step, &selector, vars);
            let progress = ctx.out.progress(step.label());
            let finished = process::run(exe, &runner.dir, &args, &env, &progress).await?;
            match finished.code {
                Some(0) => progress.finish("done"),
                Some(code) => progress.fail(format!("exit code {code}")),
                None => progress.fail("killed"),
            }
            Ok::<Finished, Error>(finished)
        }
    };

    if !changed && installed(&runner, &packages) {
        ctx.out.info("dbt deps: the packages are installed and unchanged");
    } else {
        let deps = run_step(Step::Deps, String::new()).await?;
        if deps.code != Some(0) {
            return Err(Error::service(
                process::SERVICE,
                format!("dbt deps could not install the packages:\n{}", deps.tail_text()),
            )
            .with_hint(format!("check the packages in {}", runner.packages_yml().display())));
        }
    }
    let selector =
        select.or_else(|| settings.dbt.select.clone()).unwrap_or_else(|| project::default_selector(&packages));

    let sources_json = fresh_artifact(&runner.target_dir.join("sources.json"))?;
    let checked = run_step(Step::Freshness, invocation::freshness_selector(&selector)).await?;
    let freshness: Option<FreshnessResults> = match checked.code {
        Some(0 | 1) if sources_json.is_file() => Some(results::read_artifact(&sources_json)?),
        Some(0 | 1) => None,
        _ => return Err(stopped(Step::Freshness, &checked, &runner)),
    };

    let step = match goal {
        Goal::Build { full_refresh } => Step::Build { full_refresh },
        Goal::Test => Step::Test,
    };
    let run_results = fresh_artifact(&runner.target_dir.join("run_results.json"))?;
    let finished = run_step(step, selector.clone()).await?;
    if !run_results.is_file() {
        return Err(stopped(step, &finished, &runner));
    }
    let run: RunResults = results::read_artifact(&run_results)?;
    let manifest_path = runner.target_dir.join("manifest.json");
    let manifest: Manifest =
        if manifest_path.is_file() { results::read_artifact(&manifest_path)? } else { Manifest::default() };
    let project_dir = settings.project_dir.canonicalize().unwrap_or_else(|_| settings.project_dir.clone());
    let locate = |package: &str, path: &str| display_path(&project_dir, &package_file(&runner, package, path));
    Ok(results::summarize(step.label(), &selector, &run, freshness.as_ref(), &manifest, &locate))
}

/// The selector a build without `--select` uses: DBT_SELECT, else every configured package.
pub fn default_selector(settings: &crate::settings::Settings) -> Result<String> {
    Ok(match &settings.dbt.select {
        Some(select) => select.clone(),
        None => project::default_selector(&project::configured_packages(settings)?),
    })
}

/// Whether `dbt deps` has nothing to do: only local packages (dbt links them, so their content is
/// always current), all installed. Git packages are fetched again every time: a branch may move.
fn installed(runner: &Runner, packages: &[DbtPackage]) -> bool {
    packages.iter().all(|p| {
        matches!(p.source, PackageSource::Local(_))
            && runner.installed(&p.project_name).join("dbt_project.yml").is_file()
    })
}

/// Removes an artifact left by an earlier run, so what is read afterwards is this run's.
fn fresh_artifact(path: &Path) -> Result<PathBuf> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(path.to_path_buf()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(Error::file(path, format!("cannot remove the previous run's file: {e}"))),
    }
}

/// dbt exited without running anything (a project that doesn't parse, a connection refused).
fn stopped(step: Step, finished: &Finished, runner: &Runner) -> Error {
    let code = finished.code.map(|c| c.to_string()).unwrap_or_else(|| "none (killed)".into());
    Error::Failed(format!(
        "{} stopped before running anything (exit code {code}):\n{}\n(dbt's log: {})",
        step.label(),
        finished.tail_text(),
        runner.dir.join("logs").join("dbt.log").display()
    ))
}

/// A file of a dbt package (through the runner's `dbt_packages/`, resolving the link `dbt deps`
/// makes to a local package), or of the runner project itself.
fn package_file(runner: &Runner, package: &str, path: &str) -> PathBuf {
    let installed = runner.installed(package);
    let full = if !package.is_empty() && installed.is_dir() { installed.join(path) } else { runner.dir.join(path) };
    full.canonicalize().unwrap_or(full)
}

/// Relative to the project directory when inside it: shorter, and what people type.
fn display_path(project_dir: &Path, path: &Path) -> String {
    path.strip_prefix(project_dir).unwrap_or(path).display().to_string()
}
