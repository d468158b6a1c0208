//! The steps of `setup`, each calling the module that owns the work (the same code as the command
//! of the same name) after checking its own done-state.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::Options;
use super::done;
use super::landing::{Landing, TableLanding};
use super::plan::{self, Facts, Step};
use super::report::{Dashboard, Login, StepError};
use super::state;
use crate::airflow::REFRESH_DAG;
use crate::cdc::connector_config::{self, ConnectorConfig};
use crate::cdc::offsets::{self, SnapshotState};
use crate::cdc::preflight::Preflight;
use crate::cdc::register::Applied;
use crate::checks::Level;
use crate::clickhouse::observe;
use crate::clickhouse::topics::Topic;
use crate::clients::airflow::Airflow;
use crate::clients::clickhouse::ClickHouse;
use crate::clients::connect::Connect;
use crate::clients::postgres::{self, query_error, quote_ident};
use crate::clients::superset::{Object, Superset};
use crate::commands::register_connector::{self, Source};
use crate::commands::superset_import::{self, Outcome as ImportOutcome};
use crate::commands::{demo, verify};
use crate::compose::{Stack, start};
use crate::context::Ctx;
use crate::dbt::project::Runner;
use crate::dbt::run::Goal;
use crate::demo::generate::Scale;
use crate::error::{Exit, Result};
use crate::output::Report as _;
use crate::packages::superset::AssetKind;
use crate::settings::TableName;
use crate::superset::tree::AssetTree;
use crate::verify_all::AllReport;

/// A finished step: what it did, or found already done.
pub struct Done {
    pub already: bool,
    pub detail: String,
}

impl Done {
    fn did(detail: impl Into<String>) -> Done {
        Done { already: false, detail: detail.into() }
    }

    fn found(detail: impl Into<String>) -> Done {
        Done { already: true, detail: detail.into() }
    }
}

type StepResult = std::result::Result<Done, StepError>;

/// State carried from step to step.
pub struct Run<'a> {
    ctx: &'a Ctx,
    options: &'a Options,
    facts: &'a Facts,
    /// The preflight's outcome, for registration.
    source: Option<(Preflight, Vec<String>)>,
    pub verified: Option<AllReport>,
}

impl<'a> Run<'a> {
    pub fn new(ctx: &'a Ctx, options: &'a Options, facts: &'a Facts) -> Run<'a> {
        Run { ctx, options, facts, source: None, verified: None }
    }

    pub async fn step(&mut self, step: Step) -> StepResult {
        match step {
            Step::Init => Ok(Done::found(".env exists")),
            Step::Up => self.up().await,
            Step::DemoSeed => self.demo_seed().await,
            Step::Preflight => self.preflight().await,
            Step::RegisterConnector => self.register().await,
            Step::ClickhouseInit => self.clickhouse_init().await,
            Step::Snapshot => self.snapshot().await,
            Step::DbtBuild => self.dbt_build().await,
            Step::SupersetImport => self.superset_import().await,
            Step::Schedule => self.schedule().await,
            Step::Verify => self.verify().await,
        }
    }

    fn config(&self) -> Result<ConnectorConfig, StepError> {
        Ok(connector_config::load(&self.ctx.settings)?)
    }

    /// `compose up` of the default services (and the demo source), waiting until each is ready.
    /// Done already when every one of them was up before.
    async fn up(&mut self) -> StepResult {
        let settings = &self.ctx.settings;
        let stack = Stack::connect(settings, "setup").await?;
        let compose = stack.compose(settings).await?;
        let config = compose.config().await?;
        let defaults = config.services_to_start(&[], &compose.active_profiles()?);
        let services = plan::compose_services(defaults, self.facts.demo);
        let before = stack.containers().await?;
        let were_up = services.iter().all(|s| before.iter().any(|c| &c.service == s && c.is_up()));
        let report = start::up(&stack, &compose, &self.ctx.out, &services, None).await?;
        let detail = format!("{} services ready in compose project `{}`", report.services.len(), report.project);
        Ok(Done { already: were_up, detail })
    }

    async fn demo_seed(&mut self) -> StepResult {
        let scale = Scale::new(1).ok_or_else(|| StepError::failed("scale 1 is out of range"))?;
        let report = demo::seed_database(self.ctx, demo::DEFAULT_SEED, scale, false).await?;
        let detail = crate::output::Report::human(&report, &crate::output::Styles::plain()).trim().to_string();
        Ok(if report.outcome == demo::Outcome::AlreadySeeded { Done::found(detail) } else { Done::did(detail) })
    }

    async fn preflight(&mut self) -> StepResult {
        let config = self.config()?;
        // The demo source is olmisctl's own: make the changes it needs without asking.
        let yes = self.options.yes || self.facts.demo;
        match register_connector::prepare_source(self.ctx, &config, yes).await? {
            Source::Ready { preflight, changes } => {
                let warnings = preflight.checks.iter().filter(|c| c.level == Level::Warn).count();
                let detail = if changes.is_empty() {
                    format!("the source is ready ({} checks passed, {warnings} warnings)", preflight.checks.len())
                } else {
                    format!("the source is ready after: {}", changes.join("; "))
                };
                let already = changes.is_empty();
                self.source = Some((preflight, changes));
                Ok(Done { already, detail })
            }
            Source::Blocked(preflight) => {
                let mut details: Vec<String> = preflight
                    .checks
                    .iter()
                    .filter(|c| c.level == Level::Fail)
                    .map(|c| match &c.hint {
                        Some(fix) => format!("FAIL {}: {} (fix: {fix})", c.name, c.message),
                        None => format!("FAIL {}: {}", c.name, c.message),
                    })
                    .collect();
                let sql = register_connector::dba_sql(&preflight);
                if !sql.is_empty() {
                    details.push("SQL for a DBA (as a superuser or the tables' owner):".into());
                    details.extend(sql.iter().map(|s| format!("  {s}")));
                }
                let hint = if sql.is_empty() || yes {
                    "fix the failed checks below"
                } else {
                    "olmisctl may make these changes itself: run `olmisctl setup --yes`, or have a DBA run the SQL below"
                };
                Err(StepError::failed("the source database is not ready for change capture")
                    .with_hint(hint)
                    .with_details(details))
            }
        }
    }

    async fn register(&mut self) -> StepResult {
        let config = self.config()?;
        let (preflight, changes) =
            self.source.take().ok_or_else(|| StepError::failed("the source preflight did not run"))?;
        let report =
            register_connector::register(self.ctx, &config, preflight, changes, self.options.connector_timeout).await?;
        let detail = format!(
            "{} {}, {} tables into {}.<schema>.<table>; snapshot: {}",
            report.connector,
            report.applied.describe(),
            report.tables,
            report.topic_prefix,
            register_connector::describe_snapshot(&report.snapshot)
        );
        Ok(Done { already: report.applied == Applied::Unchanged, detail })
    }

    /// The raw landing; done already when every object exists as configured.
    async fn clickhouse_init(&mut self) -> StepResult {
        let report = crate::clickhouse::init::run(self.ctx, false).await?;
        let problems: Vec<String> = report
            .objects
            .iter()
            .filter(|o| o.outcome.is_problem())
            .map(|o| format!("{}: {}", o.name, o.outcome.label()))
            .collect();
        if !problems.is_empty() {
            return Err(StepError::failed("existing raw-layer tables or views differ from the configuration")
                .with_hint("`olmisctl clickhouse-init` shows each difference; `olmisctl clickhouse-init --migrate` applies them and keeps the rows")
                .with_details(problems));
        }
        let s = &report.summary;
        let changed = s.created + s.rebuilt + s.migrated;
        Ok(if changed == 0 {
            Done::found(format!("the raw landing of all {} topics is in place", report.topics.len()))
        } else {
            Done::did(format!("{changed} tables and views created for {} topics", report.topics.len()))
        })
    }

    /// Waits until Debezium has read every table and ClickHouse has landed at least as many events
    /// per table as the source has rows, announcing each table as it completes.
    async fn snapshot(&mut self) -> StepResult {
        let settings = &self.ctx.settings;
        let captured = self.config()?.tables();
        let topics: Vec<Topic> = crate::clickhouse::topics::resolve(settings)?
            .topics
            .into_iter()
            .filter(|t| captured.iter().any(|c| c.schema == t.schema && c.table == t.table))
            .collect();
        let connect = Connect::new(settings)?;
        let ch = ClickHouse::new(settings)?;
        let source = postgres::connect(settings).await?;
        let deadline = Instant::now() + self.options.snapshot_timeout;
        let progress = self.ctx.out.progress(format!("Waiting for {} tables to land", topics.len()));
        let mut last = Landing { streaming: false, tables: Vec::new() };
        let mut first = true;
        loop {
            let now = read_landing(
                &connect,
                &settings.cdc.connector_name,
                &ch,
                &settings.clickhouse.raw_database,
                &source,
                &topics,
            )
            .await?;
            if first && now.done() {
                progress.finish("done");
                return Ok(Done::found(format!("all {} tables landed ({} events)", now.tables.len(), now.events())));
            }
            for t in now.newly_done(&last) {
                self.ctx.out.info(format!(
                    "  {} {}: {} events for {} rows",
                    self.ctx.out.styles.ok.apply_to("✓"),
                    t.table,
                    t.landed,
                    t.source_rows
                ));
            }
            if now.done() {
                progress.finish("done");
                return Ok(Done::did(format!("all {} tables landed ({} events)", now.tables.len(), now.events())));
            }
            progress.update(now.describe());
            if Instant::now() >= deadline {
                progress.fail("not yet");
                let secs = self.options.snapshot_timeout.as_secs();
                return Err(StepError {
                    message: format!("the initial snapshot has not landed after {secs}s: {}", now.describe()),
                    hint: Some("it goes on in the background: run `olmisctl setup` again to keep waiting (--snapshot-timeout), `olmisctl status` shows each table".into()),
                    details: Vec::new(),
                    exit: Exit::Timeout,
                });
            }
            last = now;
            first = false;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// `dbt build` of the default selection, unless the last one succeeded after the newest raw
    /// event landed and after the last change to the packages' dbt files.
    async fn dbt_build(&mut self) -> StepResult {
        let settings = &self.ctx.settings;
        let runner = Runner::locate(&settings.project_dir, std::env::var("DBT_TARGET_PATH").ok().as_deref())?;
        let mut default: Vec<String> =
            crate::dbt::run::default_selector(settings)?.split_whitespace().map(String::from).collect();
        default.sort();
        let last_run = if crate::dbt::container::wanted(settings) {
            crate::dbt::container::last_run(settings).await?
        } else {
            crate::dbt::verify::read_last_run(&runner)?
        };
        let last = last_run.map(|(run, summary)| done::LastBuild {
            finished_ms: humantime::parse_rfc3339_weak(&run.metadata.generated_at).map(epoch_ms).unwrap_or(0),
            was_build: run.args.which.as_deref() == Some("build") && run.args.selected() == default,
            succeeded: summary.exit() == Exit::Ok,
        });
        let topics = crate::clickhouse::topics::resolve(settings)?.topics;
        let observed =
            observe::observe(&ClickHouse::new(settings)?, &settings.clickhouse.raw_database, &topics, None).await?;
        // ClickHouse's clock and this machine's may differ: compare ages, not timestamps.
        let now = epoch_ms(SystemTime::now());
        let newest_raw =
            observed.topics.iter().filter_map(|o| o.newest_ingested_ms).max().map(|t| now - (observed.now_ms - t));
        let mut dirs = vec![runner.dir.clone()];
        dirs.extend(crate::packages::resolve(settings)?.iter().filter_map(|p| p.dbt.as_ref().map(|d| d.dir.clone())));
        let changed = dirs.iter().filter_map(|d| newest_change(d)).max().map(epoch_ms);
        let reason = match done::marts_current(last.as_ref(), newest_raw, changed) {
            Ok(why) => return Ok(Done::found(why)),
            Err(reason) => reason,
        };
        let summary = crate::dbt::run::summary(self.ctx, Goal::Build { full_refresh: false }, None).await?;
        let (n, t) = (&summary.nodes, &summary.tests);
        if summary.exit() == Exit::Failed {
            let details = summary
                .problems
                .iter()
                .filter(|p| p.level == Level::Fail)
                .map(|p| {
                    let file = p.file.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
                    format!("{} {} {}: {}{file}", p.kind, p.name, p.status, p.message)
                })
                .collect();
            return Err(StepError::failed(format!(
                "dbt build: {} models failed, {} tests failed",
                n.failed,
                t.failed + t.errored
            ))
            .with_hint("fix the models and tests named below; `olmisctl dbt-build` shows the whole summary")
            .with_details(details));
        }
        Ok(Done::did(format!("{} models built, {} tests passed, {} warned ({reason})", n.built, t.passed, t.warned)))
    }

    async fn superset_import(&mut self) -> StepResult {
        let settings = &self.ctx.settings;
        let selection = superset_import::configured(settings)?;
        let trees = selection.trees();
        let digests = superset_import::digests(settings, &trees)?;
        let mut superset = Superset::new(settings)?;
        superset.login().await?;
        let missing = missing_assets(&trees, &crate::superset::verify::objects_by_uuid(&superset, &trees).await?);
        let url = superset.url().to_string();
        let mut saved = state::load(&settings.project_dir);
        if superset_import_current(&saved, &url, &digests, &missing) {
            return Ok(Done::found(format!("the same assets are in Superset ({} packages)", digests.len())));
        }
        let reason = done::superset_import_needed(saved.superset.get(&url), &digests, &missing).unwrap_or_default();
        match superset_import::import(self.ctx, &selection).await? {
            ImportOutcome::Refused(report) => Err(StepError::failed(report.title.clone())
                .with_hint("fix the asset files named below, then run `olmisctl setup` again")
                .with_details(report.checks.iter().map(|c| format!("{}: {}", c.name, c.message)).collect())),
            ImportOutcome::Imported(report) => {
                saved.superset.insert(url, digests);
                state::save(&settings.project_dir, &saved)?;
                let dashboards: usize = report.imported.iter().map(|i| i.dashboards).sum();
                let packages: Vec<&str> = report.imported.iter().map(|i| i.package.as_str()).collect();
                Ok(Done::did(format!("imported {} ({dashboards} dashboards) because {reason}", packages.join(", "))))
            }
        }
    }

    async fn schedule(&mut self) -> StepResult {
        let airflow = Airflow::login(&self.ctx.settings).await?;
        let dag = airflow.dag(REFRESH_DAG).await?.ok_or_else(|| {
            StepError::failed(format!("Airflow has no DAG {REFRESH_DAG}"))
                .with_hint("check that airflow/dags is Airflow's DAG folder; new files are picked up within a minute")
        })?;
        if dag.has_import_errors {
            return Err(StepError::failed(format!("{REFRESH_DAG}'s file fails to import in Airflow"))
                .with_hint("`olmisctl verify airflow` shows the error"));
        }
        if !dag.is_paused {
            return Ok(Done::found(format!("{REFRESH_DAG} is unpaused")));
        }
        airflow.set_paused(REFRESH_DAG, false).await?;
        Ok(Done::did(format!("{REFRESH_DAG} unpaused: the marts refresh on its schedule")))
    }

    async fn verify(&mut self) -> StepResult {
        let args = verify::VerifyArgs::all()?;
        let report = verify::all(&args, self.ctx).await;
        let count = |level| report.targets.iter().filter(|t| t.status == level).count();
        let detail = format!(
            "{} targets passed, {} with warnings, {} failed",
            count(Level::Pass),
            count(Level::Warn),
            count(Level::Fail)
        );
        let failed: Vec<String> = report
            .targets
            .iter()
            .flat_map(|t| t.report.checks.iter().map(move |c| (t, c)))
            .filter(|(_, c)| c.level == Level::Fail)
            .map(|(t, c)| format!("FAIL {} / {}: {}", t.target, c.name, c.message))
            .collect();
        let status = report.status;
        self.verified = Some(report);
        if status == Level::Fail {
            return Err(StepError::failed(detail)
                .with_hint("`olmisctl verify all` shows every check with its fix")
                .with_details(failed));
        }
        Ok(Done::did(detail))
    }

    /// The imported dashboards' addresses and how to log in (never the password itself).
    pub async fn dashboards(&self) -> (Vec<Dashboard>, Option<Login>) {
        let settings = &self.ctx.settings;
        let base = settings.superset.url.clone();
        let password_var = "SUPERSET_ADMIN_PASSWORD";
        let where_ = match settings.layers.get(password_var).map(|r| r.origin) {
            Some(crate::settings::Origin::EnvFile) => format!("{password_var} in {}", settings.env_file.display()),
            Some(origin) => format!("{password_var} (from the {})", origin.label()),
            None => format!("{password_var}, which is not set"),
        };
        let login = Login { url: base.to_string(), user: settings.superset.admin_user.clone(), password: where_ };
        let dashboards = async {
            let trees = superset_import::configured(settings).ok()?.trees();
            let mut superset = Superset::new(settings).ok()?;
            superset.login().await.ok()?;
            let objects = crate::superset::verify::objects_by_uuid(&superset, &trees).await.ok()?;
            let found = objects.get(&AssetKind::Dashboard)?;
            Some(
                trees
                    .iter()
                    .flat_map(|t| t.of_kind(AssetKind::Dashboard))
                    .filter_map(|d| found.get(&d.uuid))
                    .map(|o: &Object| Dashboard { title: o.title.clone(), url: dashboard_url(&base, o) })
                    .collect(),
            )
        };
        (dashboards.await.unwrap_or_default(), Some(login))
    }
}

/// Debezium's snapshot state, and per table the source's rows against the events landed.
async fn read_landing(
    connect: &Connect,
    connector: &str,
    ch: &ClickHouse,
    raw: &str,
    source: &tokio_postgres::Client,
    topics: &[Topic],
) -> Result<Landing> {
    let streaming = offsets::read(&connect.offsets(connector).await?).snapshot == SnapshotState::Streaming;
    let observed = observe::observe(ch, raw, topics, None).await?;
    let mut tables = Vec::with_capacity(topics.len());
    for obs in &observed.topics {
        let name = TableName { schema: obs.topic.schema.clone(), table: obs.topic.table.clone() };
        let rows: i64 = source
            .query_one(&format!("SELECT count(*) FROM {}.{}", quote_ident(&name.schema), quote_ident(&name.table)), &[])
            .await
            .map_err(|e| query_error(&format!("counting the rows of {name}"), &e))?
            .get(0);
        tables.push(TableLanding { table: name.to_string(), source_rows: rows.max(0) as u64, landed: obs.events });
    }
    Ok(Landing { streaming, tables })
}

fn superset_import_current(
    saved: &state::State,
    url: &str,
    digests: &BTreeMap<String, String>,
    missing: &[String],
) -> bool {
    done::superset_import_needed(saved.superset.get(url), digests, missing).is_none()
}

/// The trees' assets Superset does not have, as `kind "title"`.
fn missing_assets(trees: &[AssetTree], objects: &BTreeMap<AssetKind, BTreeMap<String, Object>>) -> Vec<String> {
    trees
        .iter()
        .flat_map(|t| AssetKind::ALL.into_iter().flat_map(move |k| t.of_kind(k).map(move |a| (k, a))))
        .filter(|(k, a)| !objects.get(k).is_some_and(|m| m.contains_key(&a.uuid)))
        .map(|(k, a)| format!("{} {:?}", k.as_str(), a.title))
        .collect()
}

/// Superset serves a dashboard at `/superset/dashboard/<slug or id>/`.
pub fn dashboard_url(base: &url::Url, dashboard: &Object) -> String {
    let key = dashboard.slug.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| dashboard.id.to_string());
    base.join(&format!("superset/dashboard/{key}/")).map(|u| u.to_string()).unwrap_or_else(|_| base.to_string())
}

/// The newest modification time of the files under `dir`, leaving out what dbt generates.
fn newest_change(dir: &std::path::Path) -> Option<SystemTime> {
    const GENERATED: [&str; 4] = ["target", "dbt_packages", "logs", ".user.yml"];
    let mut newest = None;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            if GENERATED.iter().any(|g| entry.file_name() == *g) {
                continue;
            }
            // Symbolic links are not followed: a loop can't trap the walk.
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if let Ok(modified) = meta.modified() {
                newest = newest.max(Some(modified));
            }
        }
    }
    newest
}

/// Epoch milliseconds of a time.
pub fn epoch_ms(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
