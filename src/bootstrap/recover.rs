//! `bootstrap recover-slot`: rebuilding change capture after the replication slot was invalidated
//! (`wal_status = lost`: PostgreSQL removed WAL the connector had not read) or lost, without losing
//! a change.
//!
//! Steps, each logged to the audit file, resumable with `--resume-from`:
//! 1. delete-connector: stop Debezium from using the broken slot (and drop its stale offsets);
//! 2. drop-slot: remove the orphaned slot;
//! 3. create-slot: a new slot *before* the export, so every change committed after the export's
//!    snapshot is kept in WAL for the connector (creating it after would lose the changes made
//!    during export and import);
//! 4. export and 5. import: the source's current state as bootstrap events, ranked against CDC
//!    events by the snapshot's watermark; rows deleted during the outage get delete events;
//! 6. register-connector with `snapshot.mode = no_data` (Debezium 3.4's name; `never` is rejected):
//!    it streams from the new slot without reading the tables again;
//! 7. wait-streaming: connector and task running, slot active;
//! 8. dbt-build: the marts catch up;
//! 9. reconcile: PostgreSQL and ClickHouse agree (retried while the last changes land).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use super::audit::{self, Audit};
use super::export::{self, ExportRequest};
use super::import::{self, ImportRequest};
use super::pipeline;
use super::{catalog, reconcile};
use crate::clients::clickhouse::ClickHouse;
use crate::clients::postgres::{self, query_error};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::output::{Report, Styles};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    DeleteConnector,
    DropSlot,
    CreateSlot,
    Export,
    Import,
    RegisterConnector,
    WaitStreaming,
    DbtBuild,
    Reconcile,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::DeleteConnector,
        Step::DropSlot,
        Step::CreateSlot,
        Step::Export,
        Step::Import,
        Step::RegisterConnector,
        Step::WaitStreaming,
        Step::DbtBuild,
        Step::Reconcile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::DeleteConnector => "delete-connector",
            Step::DropSlot => "drop-slot",
            Step::CreateSlot => "create-slot",
            Step::Export => "export",
            Step::Import => "import",
            Step::RegisterConnector => "register-connector",
            Step::WaitStreaming => "wait-streaming",
            Step::DbtBuild => "dbt-build",
            Step::Reconcile => "reconcile",
        }
    }

    fn describe(self, ctx: &Ctx) -> String {
        let s = &ctx.settings;
        match self {
            Step::DeleteConnector => format!("delete connector {} (and its stored offsets)", s.cdc.connector_name),
            Step::DropSlot => format!("drop replication slot {}", s.source.slot_name),
            Step::CreateSlot => format!("create replication slot {} again", s.source.slot_name),
            Step::Export => "export the captured tables from one consistent snapshot".into(),
            Step::Import => "import them into ClickHouse's raw event tables".into(),
            Step::RegisterConnector => "register the connector again without a snapshot (snapshot.mode=no_data)".into(),
            Step::WaitStreaming => "wait until it streams from the new slot".into(),
            Step::DbtBuild => "rebuild the dbt marts".into(),
            Step::Reconcile => "reconcile PostgreSQL with ClickHouse".into(),
        }
    }
}

/// What the slot looks like before recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SlotState {
    Missing,
    Lost,
    Healthy { wal_status: String, active: bool },
}

/// From `pg_replication_slots`: (active, wal_status) of the slot, or None when there is none.
pub fn diagnose(slot: Option<(bool, Option<String>)>) -> SlotState {
    match slot {
        None => SlotState::Missing,
        Some((_, Some(status))) if status == "lost" => SlotState::Lost,
        Some((active, status)) => SlotState::Healthy { wal_status: status.unwrap_or_default(), active },
    }
}

pub struct Options {
    pub yes: bool,
    pub resume_from: Option<Step>,
    pub dir: PathBuf,
    pub timeout: Duration,
}

#[derive(Debug, Serialize)]
pub struct RecoverReport {
    pub slot: SlotState,
    pub recovered: bool,
    pub steps: Vec<StepResult>,
    pub audit_file: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct StepResult {
    pub step: Step,
    pub seconds: f64,
    pub detail: String,
}

impl Report for RecoverReport {
    fn human(&self, styles: &Styles) -> String {
        if !self.recovered {
            let status = match &self.slot {
                SlotState::Healthy { wal_status, active } => {
                    format!("wal_status {wal_status}, {}", if *active { "active" } else { "inactive" })
                }
                other => format!("{other:?}"),
            };
            return format!("The replication slot is healthy ({status}): nothing to recover.\n");
        }
        let mut out = format!("{}\n", styles.bold.apply_to("Replication slot recovered"));
        for s in &self.steps {
            out.push_str(&format!(
                "  {} {:18} {:>6.1}s  {}\n",
                styles.ok.apply_to("✓"),
                s.step.name(),
                s.seconds,
                s.detail
            ));
        }
        out.push_str(&format!("Audit log: {}\n", self.audit_file.display()));
        out
    }
}

async fn slot_facts(pg: &Client, slot: &str) -> Result<Option<(bool, Option<String>)>> {
    let row = pg
        .query_opt("SELECT active, wal_status FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .map_err(|e| query_error("reading the replication slot", &e))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

pub async fn recover_slot(ctx: &Ctx, options: Options) -> Result<RecoverReport> {
    let settings = &ctx.settings;
    let pg = postgres::connect(settings).await?;
    let slot = diagnose(slot_facts(&pg, &settings.source.slot_name).await?);
    let audit_path = options.dir.join("audit.jsonl");
    if options.resume_from.is_none()
        && let SlotState::Healthy { .. } = slot
    {
        if let Some(step) = audit::unfinished(&audit_path) {
            return Err(Error::Failed(format!(
                "the replication slot is healthy, but the recovery logged in {} stopped at step {step}; \
                 finish it with: olmisctl bootstrap recover-slot --resume-from {step}",
                audit_path.display()
            )));
        }
        return Ok(RecoverReport { slot, recovered: false, steps: Vec::new(), audit_file: audit_path });
    }
    let first = options.resume_from.unwrap_or(Step::DeleteConnector);
    let steps: Vec<Step> = Step::ALL.into_iter().filter(|s| *s >= first).collect();
    confirm(ctx, &slot, &steps, options.yes)?;

    let run = format!("{}-{:06x}", std::process::id(), rand::random::<u32>() & 0xff_ffff);
    let audit = Audit::open(&audit_path, &run)?;
    audit.record("run", "started", &format!("slot {:?}; steps from {}", slot, first.name()))?;
    let mut results = Vec::new();
    for step in steps {
        audit.record(step.name(), "started", &step.describe(ctx))?;
        let started = Instant::now();
        let (outcome, resume_at) = match lost_again(&pg, &settings.source.slot_name, step).await {
            Ok(Some(e)) => (Err(e), Step::DropSlot),
            Ok(None) => (run_step(ctx, &pg, step, &options).await, step),
            Err(e) => (Err(e), step),
        };
        match outcome {
            Ok(detail) => {
                audit.record(step.name(), "finished", &detail)?;
                results.push(StepResult { step, seconds: started.elapsed().as_secs_f64(), detail });
            }
            Err(e) => {
                audit.record(step.name(), "failed", &ctx.out.redact(&e.to_string()))?;
                let resume = format!(
                    "resume with: olmisctl bootstrap recover-slot --yes --resume-from {} (audit log: {})",
                    resume_at.name(),
                    audit.path().display()
                );
                return Err(stopped_at(step, e, resume));
            }
        }
    }
    audit.record("run", "finished", "")?;
    Ok(RecoverReport { slot, recovered: true, steps: results, audit_file: audit_path })
}

/// Before the connector is registered again: the new slot held WAL for the whole export and import,
/// and on a server with a small `max_slot_wal_keep_size` a long load can lose it again (Debezium
/// would then fail on it). The recovery must then start over from dropping that slot.
async fn lost_again(pg: &Client, slot: &str, step: Step) -> Result<Option<Error>> {
    if step != Step::RegisterConnector {
        return Ok(None);
    }
    Ok(match diagnose(slot_facts(pg, slot).await?) {
        SlotState::Lost => Some(
            Error::usage(format!(
                "replication slot {slot} was invalidated again while the tables were exported and imported: \
                 more WAL was written meanwhile than max_slot_wal_keep_size keeps"
            ))
            .with_hint(
                "raise max_slot_wal_keep_size for the recovery (ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; \
                 SELECT pg_reload_conf())",
            ),
        ),
        _ => None,
    })
}

/// The step's error, prefixed with the step and carrying how to resume (as the hint where the
/// error kind has one, else in the message).
fn stopped_at(step: Step, e: Error, resume: String) -> Error {
    let prefix = format!("recover-slot stopped at step {}", step.name());
    let hint = |old: Option<String>| Some(old.map(|h| format!("{h}; then {resume}")).unwrap_or(resume.clone()));
    match e {
        Error::Service { service, message, hint: old } => {
            Error::Service { service, message: format!("{prefix}: {message}"), hint: hint(old) }
        }
        Error::Timeout { what, after_secs, detail, hint: old } => {
            Error::Timeout { what: format!("{what} ({prefix})"), after_secs, detail, hint: hint(old) }
        }
        Error::Usage { message, hint: old } => {
            Error::Usage { message: format!("{prefix}: {message}"), hint: hint(old) }
        }
        Error::File { path, message, hint: old } => {
            Error::File { path, message: format!("{message} ({prefix})"), hint: hint(old) }
        }
        Error::Interrupted => Error::Interrupted,
        other => Error::Failed(format!("{prefix}: {other}\n  {resume}")),
    }
}

fn confirm(ctx: &Ctx, slot: &SlotState, steps: &[Step], yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let state = match slot {
        SlotState::Missing => "missing".to_string(),
        SlotState::Lost => "invalidated (wal_status = lost)".to_string(),
        SlotState::Healthy { wal_status, .. } => format!("healthy ({wal_status}), resuming a recovery"),
    };
    let name = &ctx.settings.source.slot_name;
    if ctx.out.json || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(format!(
            "replication slot {name} is {state}; recovering deletes the connector and replaces the slot, \
             and there is no terminal to confirm on"
        ))
        .with_hint("re-run with --yes to confirm (for scripts)"));
    }
    let plan: Vec<String> =
        steps.iter().enumerate().map(|(i, s)| format!("  {}. {}", i + 1, s.describe(ctx))).collect();
    ctx.out.info(format!("Replication slot {name} is {state}. Recovery will:\n{}", plan.join("\n")));
    if ctx.out.confirm("Proceed?") {
        Ok(())
    } else {
        Err(Error::Failed("recovery not confirmed: nothing was changed".into()))
    }
}

async fn run_step(ctx: &Ctx, pg: &Client, step: Step, options: &Options) -> Result<String> {
    let settings = &ctx.settings;
    let slot = &settings.source.slot_name;
    let export_dir = options.dir.join("export");
    match step {
        Step::DeleteConnector => pipeline::delete_connector(ctx, options.timeout).await,
        Step::DropSlot => pipeline::drop_slot(pg, slot, options.timeout).await,
        Step::CreateSlot => pipeline::create_slot(pg, slot).await,
        Step::Export => {
            let tables = catalog::captured_tables(settings)?;
            let request = ExportRequest { tables, dir: export_dir, chunk_rows: export::DEFAULT_CHUNK_ROWS };
            let report = export::export(settings, &ctx.out, request).await?;
            let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
            Ok(format!("{} tables, {rows} rows at LSN {}", report.tables.len(), report.snapshot.lsn))
        }
        Step::Import => {
            let request = ImportRequest { dir: export_dir, tables: None, range: None };
            let report = import::import(settings, &ctx.out, request).await?;
            let rows: u64 = report.tables.iter().map(|t| t.rows_imported).sum();
            let deletes: u64 = report.tables.iter().filter_map(|t| t.implied_deletes).sum();
            Ok(format!("{rows} rows imported, {deletes} deletes during the outage"))
        }
        Step::RegisterConnector => pipeline::register_connector_without_snapshot(ctx, options.timeout).await,
        Step::WaitStreaming => pipeline::wait_streaming(ctx, pg, options.timeout).await,
        Step::DbtBuild => pipeline::dbt_build(ctx).await,
        Step::Reconcile => reconcile_until_equal(ctx, pg, options.timeout).await,
    }
}

/// Reconciles until equal: the changes made while recovering may still be on their way through
/// Kafka into ClickHouse.
async fn reconcile_until_equal(ctx: &Ctx, pg: &Client, timeout: Duration) -> Result<String> {
    let ch = ClickHouse::new(&ctx.settings)?;
    let tables = catalog::captured_tables(&ctx.settings)?;
    let at = reconcile::Databases::from_settings(&ctx.settings);
    let mirrors = reconcile::declared_mirrors(&ctx.settings);
    let deadline = Instant::now() + timeout;
    let progress = ctx.out.progress(format!("reconciling {} tables", tables.len()));
    loop {
        let report = reconcile::reconcile(pg, &ch, &at, &tables, &mirrors).await?;
        if report.equal {
            progress.finish("equal");
            return Ok(format!("{} tables and {} marts equal", report.tables.len(), report.marts.len()));
        }
        let divergent: Vec<String> =
            report.divergent().iter().map(|c| format!("{} ({:+} rows)", c.name, c.row_difference)).collect();
        if Instant::now() >= deadline {
            progress.fail("divergent");
            return Err(Error::Timeout {
                what: "PostgreSQL and ClickHouse to agree".into(),
                after_secs: timeout.as_secs(),
                detail: divergent.join(", "),
                hint: None,
            });
        }
        progress.update(format!("waiting: {}", divergent.join(", ")));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_states() {
        assert_eq!(diagnose(None), SlotState::Missing);
        assert_eq!(diagnose(Some((false, Some("lost".into())))), SlotState::Lost);
        assert_eq!(
            diagnose(Some((true, Some("reserved".into())))),
            SlotState::Healthy { wal_status: "reserved".into(), active: true }
        );
    }

    #[test]
    fn steps_resume_in_order() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names[0], "delete-connector");
        assert_eq!(names[8], "reconcile");
        let from: Vec<Step> = Step::ALL.into_iter().filter(|s| *s >= Step::Import).collect();
        assert_eq!(from.first(), Some(&Step::Import));
        assert_eq!(from.len(), 5);
        for s in Step::ALL {
            assert_eq!(<Step as clap::ValueEnum>::from_str(s.name(), false).unwrap(), s);
        }
    }
}
