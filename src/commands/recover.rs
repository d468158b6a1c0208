//! `olmisctl recover`: services, then the connector, its tasks and its slot (see
//! [`crate::recover`]), then `verify cdc` and `verify ingestion` to show the result.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::cdc::{connector_config, offsets, register, source_facts};
use crate::checks::{Check, CheckReport, Level, label};
use crate::clients::connect::Connect;
use crate::clients::postgres;
use crate::commands::register_connector::{self, Source};
use crate::compose::{Stack, start};
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};
use crate::recover::{self, Decision, Facts, RECOVER_SLOT, Repair};
use crate::services;
use crate::settings::Runtime;
use crate::verify_all;

#[derive(Debug, Args)]
#[command(after_help = "\
Order: verify services -> gather the connector, its tasks and its replication slot -> re-register a
missing connector -> restart FAILED tasks -> an invalidated slot stops the repairs and points to
`olmisctl bootstrap recover-slot` -> verify cdc -> verify ingestion.
Exit codes: 0 healthy or repaired, 1 a problem remains (see the report), 3 a service is down.")]
pub struct RecoverArgs {
    /// Report what is wrong without changing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for a repaired connector to run
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum ActionOutcome {
    Done,
    Failed,
    /// `--dry-run`: what would be done.
    WouldDo,
    /// Needs a person: the command to run is in the detail.
    Manual,
}

#[derive(Debug, Serialize)]
struct Action {
    #[serde(flatten)]
    repair: Repair,
    outcome: ActionOutcome,
    detail: String,
}

#[derive(Debug, Serialize)]
struct RecoverReport {
    dry_run: bool,
    status: Level,
    /// Services that failed their health check.
    services_down: Vec<Check>,
    #[serde(flatten)]
    decision: Decision,
    actions: Vec<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_cdc: Option<CheckReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_ingestion: Option<CheckReport>,
}

impl Report for RecoverReport {
    fn human(&self, st: &Styles) -> String {
        let title = if self.dry_run { "Recover (dry run: nothing was changed)" } else { "Recover" };
        let mut out = format!("{}\n", st.bold.apply_to(title));
        let nothing = self.services_down.is_empty() && self.decision.findings.is_empty();
        out.push_str(&format!("{}\n", st.bold.apply_to("Found")));
        if nothing {
            out.push_str("  nothing wrong with the services, the connector, its tasks or its slot\n");
        }
        for c in &self.services_down {
            out.push_str(&format!("  {} service {}: {}\n", label(c.level, st), c.name, c.message));
        }
        for f in &self.decision.findings {
            out.push_str(&format!("  {} {f}\n", label(Level::Fail, st)));
        }
        for n in &self.decision.notes {
            out.push_str(&format!("  {} {n}\n", st.dim.apply_to("note:")));
        }
        if !self.actions.is_empty() {
            out.push_str(&format!("{}\n", st.bold.apply_to(if self.dry_run { "Would do" } else { "Did" })));
            for a in &self.actions {
                let mark = match a.outcome {
                    ActionOutcome::Done => st.ok.apply_to("✓").to_string(),
                    ActionOutcome::Failed => st.fail.apply_to("✗").to_string(),
                    ActionOutcome::WouldDo => st.dim.apply_to("·").to_string(),
                    ActionOutcome::Manual => st.warn.apply_to("!").to_string(),
                };
                out.push_str(&format!("  {mark} {}\n", a.detail));
            }
        }
        for report in [&self.verify_cdc, &self.verify_ingestion].into_iter().flatten() {
            out.push('\n');
            out.push_str(&report.human(st));
        }
        let verdict = match (self.status, self.dry_run) {
            (Level::Fail, _) => st.fail.apply_to("problems remain (see above)").to_string(),
            (_, true) if !self.actions.is_empty() => st.warn.apply_to("repairs needed").to_string(),
            (_, _) if self.actions.is_empty() => st.ok.apply_to("healthy").to_string(),
            _ => st.ok.apply_to("repaired").to_string(),
        };
        out.push_str(&format!("\nResult: {verdict}\n"));
        out
    }

    fn exit(&self) -> Exit {
        if !self.services_down.is_empty() {
            Exit::Service
        } else if self.status == Level::Fail || (self.dry_run && !self.actions.is_empty()) {
            Exit::Failed
        } else {
            Exit::Ok
        }
    }
}

pub async fn run(args: RecoverArgs, ctx: &Ctx) -> Result<Exit> {
    let settings = &ctx.settings;
    let mut actions = Vec::new();
    let mut container_findings = Vec::new();
    let timeout = Duration::from_secs(args.timeout);
    if settings.runtime == Runtime::Compose {
        let down = containers_down(ctx).await?;
        if !down.is_empty() {
            container_findings.push(format!("not up in compose: {}", down.join(", ")));
            let repair = Repair::StartServices { services: down };
            actions.push(if args.dry_run {
                Action { detail: would(&repair), repair, outcome: ActionOutcome::WouldDo }
            } else {
                apply(ctx, &repair, timeout).await
            });
        }
    }
    let progress = ctx.out.progress("Checking every service's health");
    let services_down: Vec<Check> =
        services::probe(settings).await.into_iter().filter(|c| c.level == Level::Fail).collect();
    progress.finish(if services_down.is_empty() {
        "all up".to_string()
    } else {
        format!("{} down", services_down.len())
    });
    // Without Connect or the source nothing below can be read, let alone repaired.
    let blocking = services_down.iter().any(|c| c.name == services::CONNECT || c.name == services::SOURCE);
    if blocking {
        let report = RecoverReport {
            dry_run: args.dry_run,
            status: Level::Fail,
            services_down,
            decision: Decision { findings: container_findings, repairs: Vec::new(), notes: vec![
                "the connector and its slot can't be checked while Kafka Connect or the source database is down: start them, then run recover again".into(),
            ] },
            actions,
            verify_cdc: None,
            verify_ingestion: None,
        };
        return Ok(ctx.out.report(&report));
    }

    let progress = ctx.out.progress("Reading the connector, its tasks and its replication slot");
    let facts = gather(ctx).await?;
    let decision = recover::decide(&facts);
    progress.finish(if decision.findings.is_empty() { "fine".to_string() } else { decision.findings.join("; ") });

    let mut decision = decision;
    decision.findings.splice(0..0, container_findings);
    for repair in &decision.repairs {
        actions.push(if args.dry_run {
            Action { repair: repair.clone(), outcome: ActionOutcome::WouldDo, detail: would(repair) }
        } else {
            apply(ctx, repair, timeout).await
        });
    }

    let (verify_cdc, verify_ingestion) = if args.dry_run {
        (None, None)
    } else {
        let cdc = match crate::cdc::verify::checks(settings, &ctx.out).await {
            Ok(checks) => CheckReport::new("verify cdc", checks),
            Err(e) => verify_all::errored("cdc", &e),
        };
        let ingestion =
            crate::clickhouse::ingestion::run(ctx).await.unwrap_or_else(|e| verify_all::errored("ingestion", &e));
        (Some(cdc), Some(ingestion))
    };
    let failed_action = actions.iter().any(|a| matches!(a.outcome, ActionOutcome::Failed | ActionOutcome::Manual));
    let status = [
        verify_cdc.as_ref().map_or(Level::Pass, |r| r.status),
        verify_ingestion.as_ref().map_or(Level::Pass, |r| r.status),
        if failed_action { Level::Fail } else { Level::Pass },
        if services_down.is_empty() { Level::Pass } else { Level::Fail },
    ]
    .into_iter()
    .max()
    .unwrap_or(Level::Pass);
    Ok(ctx.out.report(&RecoverReport {
        dry_run: args.dry_run,
        status,
        services_down,
        decision,
        actions,
        verify_cdc,
        verify_ingestion,
    }))
}

async fn gather(ctx: &Ctx) -> Result<Facts> {
    let settings = &ctx.settings;
    let connect = Connect::new(settings)?;
    let name = &settings.cdc.connector_name;
    let connector = match connect.config(name).await? {
        None => None,
        Some(_) => connect.status(name).await?,
    };
    let offset = match connector {
        Some(_) => Some(offsets::read(&connect.offsets(name).await?)),
        None => None,
    };
    let client = postgres::connect(settings).await?;
    let slot = source_facts::slot(&client, &settings.source.slot_name).await?;
    Ok(Facts { connector, offset, slot, slot_name: settings.source.slot_name.clone() })
}

/// Compose mode: the services that should be up but are not.
async fn containers_down(ctx: &Ctx) -> Result<Vec<String>> {
    let stack = Stack::connect(&ctx.settings, "recover").await?;
    let compose = stack.compose(&ctx.settings).await?;
    let expected = compose.config().await?.services_to_start(&[], &compose.active_profiles()?);
    Ok(recover::services_down(&expected, &stack.containers().await?))
}

async fn start_services(ctx: &Ctx, services: &[String]) -> Result<String> {
    let stack = Stack::connect(&ctx.settings, "recover").await?;
    let compose = stack.compose(&ctx.settings).await?;
    let report = start::up(&stack, &compose, &ctx.out, services, None).await?;
    let names: Vec<&str> = report.services.iter().map(|o| o.service.as_str()).collect();
    Ok(format!("started {}: all ready", names.join(", ")))
}

fn would(repair: &Repair) -> String {
    match repair {
        Repair::StartServices { services } => format!("start {} (`olmisctl up`)", services.join(", ")),
        Repair::Register => "register the connector again (`olmisctl register-connector`)".into(),
        Repair::RestartFailed { what } => {
            format!("restart {} (`olmisctl watchdog --once` does the same)", what.join(", "))
        }
        Repair::RecoverSlot { .. } => format!("nothing automatic: run `{RECOVER_SLOT}`"),
    }
}

async fn apply(ctx: &Ctx, repair: &Repair, timeout: Duration) -> Action {
    let result = match repair {
        Repair::StartServices { services } => start_services(ctx, services).await.map_err(|e| with_hint(&e)),
        Repair::Register => reregister(ctx, timeout).await,
        Repair::RestartFailed { what } => restart(ctx, what, timeout).await,
        Repair::RecoverSlot { reason } => {
            return Action {
                repair: repair.clone(),
                outcome: ActionOutcome::Manual,
                detail: format!(
                    "{reason}. Run `{RECOVER_SLOT}`: it reloads the tables from a fresh export and re-registers the connector (see docs/runbook-slot-recovery.md)"
                ),
            };
        }
    };
    match result {
        Ok(detail) => Action { repair: repair.clone(), outcome: ActionOutcome::Done, detail },
        Err(detail) => Action { repair: repair.clone(), outcome: ActionOutcome::Failed, detail },
    }
}

/// A repaired connector counts once the source sees it reading its slot again (a task says
/// RUNNING while Debezium is still connecting, or retrying).
async fn wait_slot_read(ctx: &Ctx, timeout: Duration) -> std::result::Result<(), String> {
    let connect = Connect::new(&ctx.settings).map_err(|e| with_hint(&e))?;
    let slot = &ctx.settings.source.slot_name;
    let progress = ctx.out.progress(format!("Waiting for the connector to read slot {slot}"));
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match register::slot_read(&ctx.settings, &connect).await {
            Ok(true) => {
                progress.finish("reading");
                return Ok(());
            }
            Ok(false) if std::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_secs(1)).await,
            Ok(false) => {
                progress.fail("not reading");
                return Err(format!(
                    "the connector runs but has not read slot {slot} in {}s (`olmisctl logs kafka-connect` shows why)",
                    timeout.as_secs()
                ));
            }
            Err(e) => {
                progress.fail("unreachable");
                return Err(with_hint(&e));
            }
        }
    }
}

fn with_hint(e: &crate::error::Error) -> String {
    match e.hint() {
        Some(hint) => format!("{e} (fix: {hint})"),
        None => e.to_string(),
    }
}

/// The same as `register-connector --yes`: recovery applies the source changes olmisctl may make.
async fn reregister(ctx: &Ctx, timeout: Duration) -> std::result::Result<String, String> {
    let config = connector_config::load(&ctx.settings).map_err(|e| with_hint(&e))?;
    match register_connector::prepare_source(ctx, &config, true).await.map_err(|e| with_hint(&e))? {
        Source::Blocked(preflight) => {
            let failed: Vec<String> = preflight
                .checks
                .iter()
                .filter(|c| c.level == Level::Fail)
                .map(|c| format!("{}: {} (fix: {})", c.name, c.message, c.hint.as_deref().unwrap_or("-")))
                .collect();
            Err(format!("not registered: the source preflight fails: {}", failed.join("; ")))
        }
        Source::Ready { preflight, changes } => {
            let report = register_connector::register(ctx, &config, preflight, changes, timeout)
                .await
                .map_err(|e| format!("re-registering failed: {}", with_hint(&e)))?;
            wait_slot_read(ctx, timeout).await?;
            Ok(format!(
                "re-registered connector {} ({}): {}",
                report.connector,
                report.applied.describe(),
                report.state
            ))
        }
    }
}

async fn restart(ctx: &Ctx, what: &[String], timeout: Duration) -> std::result::Result<String, String> {
    let connect = Connect::new(&ctx.settings).map_err(|e| with_hint(&e))?;
    let name = &ctx.settings.cdc.connector_name;
    let progress = ctx.out.progress(format!("Restarting {} of {name}", what.join(", ")));
    if let Err(e) = connect.restart(name, true).await {
        progress.fail("refused");
        return Err(format!("restarting {} failed: {}", what.join(", "), with_hint(&e)));
    }
    // The status shows the state from before the restart for a moment.
    tokio::time::sleep(Duration::from_secs(3)).await;
    match register::wait_running(&connect, name, timeout, |s| progress.update(s)).await {
        Ok(status) => {
            progress.finish("running");
            wait_slot_read(ctx, timeout).await?;
            Ok(format!("restarted {}: {}", what.join(", "), register::describe_status(&status)))
        }
        Err(e) => {
            progress.fail("still failing");
            Err(format!("restarted {}, but: {}", what.join(", "), with_hint(&e)))
        }
    }
}
