//! `olmisctl watchdog`: keeps the connector alive. Each check re-registers a missing connector,
//! restarts FAILED parts with backoff, restarts a connector whose slot stays inactive while it
//! claims to run, and logs every finding and action as one structured event. Unreachable
//! services are logged and retried; nothing ends the loop but Ctrl-C or SIGTERM.

use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use serde::Serialize;

use crate::cdc::connector_config;
use crate::cdc::register;
use crate::cdc::watchdog::{Assessment, Backoff, assess};
use crate::checks::Level;
use crate::clients::connect::Connect;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};

#[derive(Debug, Args)]
pub struct WatchdogArgs {
    /// Seconds between checks
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub interval: u64,
    /// Check and repair once, then exit (for cron and tests): 0 healthy or repaired, 1 a problem
    /// it could not repair, 3 Kafka Connect or the source unreachable
    #[arg(long)]
    pub once: bool,
}

/// How long `--once` waits for a repair to take before judging it.
const SETTLE: Duration = Duration::from_secs(60);
/// Backoff cap between repairs of the same thing.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Serialize)]
struct Event {
    ts: String,
    level: &'static str,
    event: &'static str,
    connector: String,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Healthy,
    Repaired,
    Failing,
    Unreachable,
}

impl Outcome {
    fn exit(self) -> Exit {
        match self {
            Outcome::Healthy | Outcome::Repaired => Exit::Ok,
            Outcome::Failing => Exit::Failed,
            Outcome::Unreachable => Exit::Service,
        }
    }
}

#[derive(Debug, Serialize)]
struct OnceReport {
    connector: String,
    outcome: Outcome,
    events: Vec<Event>,
}

impl Report for OnceReport {
    fn human(&self, _styles: &Styles) -> String {
        let what = match self.outcome {
            Outcome::Healthy => "healthy",
            Outcome::Repaired => "repaired",
            Outcome::Failing => "failing (see the events above)",
            Outcome::Unreachable => "unreachable (see the events above)",
        };
        format!("watchdog: connector {} {what}\n", self.connector)
    }

    fn exit(&self) -> Exit {
        self.outcome.exit()
    }
}

struct Watch<'a> {
    ctx: &'a Ctx,
    connect: Connect,
    name: String,
    once: bool,
    backoff: Backoff,
    /// Consecutive checks that found the slot inactive under a RUNNING task.
    inactive_checks: u32,
    last: Option<Outcome>,
    events: Vec<Event>,
}

pub async fn run(args: WatchdogArgs, ctx: &Ctx) -> Result<Exit> {
    let interval = Duration::from_secs(args.interval.max(1));
    let mut watch = Watch {
        ctx,
        connect: Connect::new(&ctx.settings)?,
        name: ctx.settings.cdc.connector_name.clone(),
        once: args.once,
        backoff: Backoff::new(interval, MAX_BACKOFF),
        inactive_checks: 0,
        last: None,
        events: Vec::new(),
    };
    if args.once {
        let outcome = watch.check().await;
        return Ok(ctx.out.report(&OnceReport { connector: watch.name.clone(), outcome, events: watch.events }));
    }
    watch.emit("info", "started", format!("checking every {}s", interval.as_secs()));
    let mut stop = terminate_signal();
    loop {
        let outcome = watch.check().await;
        watch.last = Some(outcome);
        watch.events.clear();
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut stop => {
                watch.emit("info", "stopped", "terminated".into());
                return Ok(Exit::Ok);
            }
        }
    }
}

/// SIGTERM (what `docker stop` sends) ends the loop cleanly; Ctrl-C is handled by the caller.
fn terminate_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => Box::pin(async move {
                sig.recv().await;
            }),
            Err(_) => Box::pin(std::future::pending()),
        }
    }
    #[cfg(not(unix))]
    {
        Box::pin(std::future::pending())
    }
}

impl Watch<'_> {
    fn emit(&mut self, level: &'static str, event: &'static str, message: String) {
        let e = Event {
            ts: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            level,
            event,
            connector: self.name.clone(),
            message: self.ctx.out.redact(&message),
        };
        if self.ctx.out.json {
            // One JSON object per line while looping; `--once` prints them in its one document.
            if !self.once {
                println!("{}", serde_json::to_string(&e).unwrap_or_default());
            }
        } else {
            eprintln!("{} {:5} {}: {}", e.ts, e.level, e.event, e.message);
        }
        self.events.push(e);
    }

    async fn check(&mut self) -> Outcome {
        // The config is the truth about existence: a deleted connector's status can linger in
        // the status topic (as UNASSIGNED) for a while.
        let status = match self.connect.config(&self.name).await {
            Ok(None) => return self.register_missing().await,
            Ok(Some(_)) => self.connect.status(&self.name).await,
            Err(e) => Err(e),
        };
        let status = match status {
            Ok(Some(status)) => status,
            Ok(None) => return self.settle("registered").await,
            Err(e) => {
                self.emit("warn", "connect_unreachable", format!("{e}; retrying"));
                return Outcome::Unreachable;
            }
        };
        match assess(&status) {
            Assessment::Healthy => {
                self.backoff.reset("restart");
                self.check_slot().await
            }
            Assessment::Failed { what } => {
                let reason = register::failure(&status).unwrap_or_default();
                self.restart(&what.join(", "), &reason, true).await
            }
            Assessment::Parked { state } => {
                if self.once || self.last != Some(Outcome::Healthy) {
                    self.emit("info", "parked", format!("connector is {state} by an operator: leaving it alone"));
                }
                Outcome::Healthy
            }
            Assessment::Settling { state } => {
                if !self.once {
                    self.emit("info", "settling", state);
                    return Outcome::Healthy;
                }
                self.settle("settling").await
            }
        }
    }

    async fn register_missing(&mut self) -> Outcome {
        self.emit("warn", "missing", "connector is not registered in Kafka Connect".into());
        if let Some(until) = self.backoff.wait_until("register", Instant::now()) {
            let secs = until.saturating_duration_since(Instant::now()).as_secs();
            self.emit("info", "backing_off", format!("next registration attempt in {secs}s"));
            return Outcome::Failing;
        }
        let config = match connector_config::load(&self.ctx.settings) {
            Ok(config) => config,
            Err(e) => {
                self.emit("error", "config_invalid", hinted(&e));
                return Outcome::Failing;
            }
        };
        let (mut client, mut found) = match register::preflight(&self.ctx.settings, &config).await {
            Ok(result) => result,
            Err(e) => {
                self.emit("warn", "source_unreachable", format!("{}; retrying", hinted(&e)));
                return Outcome::Unreachable;
            }
        };
        // Waiting for a source to come up is not a failed repair: only count attempts from here.
        self.backoff.attempted("register", Instant::now());
        if found.fixes.iter().any(|f| f.permitted) {
            match register::apply_fixes(&self.ctx.settings, &config, &mut client, &found).await {
                Ok((after, applied)) => {
                    for change in applied {
                        self.emit("info", "source_fix", change);
                    }
                    found = after;
                }
                Err(e) => self.emit("error", "source_fix_failed", hinted(&e)),
            }
        }
        let failed: Vec<String> = found
            .checks
            .iter()
            .filter(|c| c.level == Level::Fail)
            .map(|c| format!("{}: {} (fix: {})", c.name, c.message, c.hint.as_deref().unwrap_or("-")))
            .collect();
        if !failed.is_empty() {
            self.emit("error", "preflight_failed", failed.join("; "));
            return Outcome::Failing;
        }
        match register::put_if_changed(&self.connect, &self.name, &config).await {
            Ok((applied, _)) => {
                self.backoff.reset("register");
                self.emit("info", "registered", format!("connector {}", applied.describe()));
            }
            Err(e) => {
                self.emit("error", "register_failed", hinted(&e));
                return Outcome::Failing;
            }
        }
        self.settle("registered").await
    }

    async fn restart(&mut self, what: &str, reason: &str, only_failed: bool) -> Outcome {
        if let Some(until) = self.backoff.wait_until("restart", Instant::now()) {
            let secs = until.saturating_duration_since(Instant::now()).as_secs();
            self.emit("info", "backing_off", format!("{reason}; next restart in {secs}s"));
            return Outcome::Failing;
        }
        let delay = self.backoff.attempted("restart", Instant::now());
        let attempt = self.backoff.attempts("restart");
        if let Err(e) = self.connect.restart(&self.name, only_failed).await {
            self.emit("error", "restart_failed", hinted(&e));
            return Outcome::Failing;
        }
        self.emit(
            "warn",
            "restarted",
            format!("{what} restarted (attempt {attempt}, next no sooner than {}s): {reason}", delay.as_secs()),
        );
        self.settle("restarted").await
    }

    /// After a repair: `--once` waits to judge it; the loop judges it at the next check. Debezium
    /// reports RUNNING while it retries internally, so a repair only counts once the slot is read.
    async fn settle(&mut self, after: &'static str) -> Outcome {
        if !self.once {
            return Outcome::Repaired;
        }
        let started = Instant::now();
        // The status still shows the state from before the repair for a moment.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let status = match register::wait_running(&self.connect, &self.name, SETTLE, |_| {}).await {
            Ok(status) => status,
            Err(e) => {
                self.emit("error", "still_failing", hinted(&e));
                return Outcome::Failing;
            }
        };
        while started.elapsed() < SETTLE {
            match self.slot_read().await {
                Ok(true) => {
                    self.emit("info", "running", format!("{after}: {}", register::describe_status(&status)));
                    return Outcome::Repaired;
                }
                Ok(false) => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(e) => {
                    self.emit("warn", "source_unreachable", hinted(&e));
                    return Outcome::Unreachable;
                }
            }
        }
        let slot = &self.ctx.settings.source.slot_name;
        self.emit(
            "error",
            "still_failing",
            format!("{after}: tasks say RUNNING but slot {slot} is not read (Debezium is retrying; `olmisctl logs kafka-connect`)"),
        );
        Outcome::Failing
    }

    async fn slot_read(&self) -> Result<bool> {
        register::slot_read(&self.ctx.settings, &self.connect).await
    }

    /// A task can say RUNNING while reading nothing; the slot's `active` flag is the source's
    /// view. Inactive on two checks in a row (a restart leaves it inactive for a moment) means
    /// stalled: restart the connector.
    async fn check_slot(&mut self) -> Outcome {
        let slot = self.ctx.settings.source.slot_name.clone();
        let checks = if self.once { 2 } else { 1 };
        for i in 0..checks {
            match self.slot_read().await {
                Err(e) => {
                    self.emit("warn", "source_unreachable", format!("{}; cannot check slot {slot}", hinted(&e)));
                    return Outcome::Unreachable;
                }
                Ok(true) => {
                    self.inactive_checks = 0;
                    if self.once || self.last != Some(Outcome::Healthy) {
                        self.emit("info", "healthy", format!("connector and tasks RUNNING, slot {slot} read"));
                    }
                    return Outcome::Healthy;
                }
                Ok(false) => self.inactive_checks += 1,
            }
            if i + 1 < checks {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        if self.inactive_checks < 2 {
            return Outcome::Healthy;
        }
        self.inactive_checks = 0;
        let reason = format!("slot {slot} is not being read although the tasks say RUNNING");
        self.restart("connector and tasks", &reason, false).await
    }
}

/// An error with its hint, on one line for a log event.
fn hinted(e: &crate::error::Error) -> String {
    match e.hint() {
        Some(hint) => format!("{e} (hint: {hint})"),
        None => e.to_string(),
    }
}
