//! `olmisctl setup`: from a fresh clone to populated dashboards, one step at a time.
//!
//! [`plan`] decides the steps (pure); [`steps`] runs each, and each first checks whether its work
//! is already done (connector config unchanged, tables present, snapshot landed, marts built after
//! the newest raw event, the same Superset bundles imported), so a re-run resumes where the last
//! one stopped and changes nothing that is finished. [`landing`] and [`done`] hold the pure parts
//! of those checks; [`state`] the one fact no service can tell (what was imported into Superset).

pub mod done;
pub mod landing;
pub mod plan;
pub mod report;
pub mod state;
pub mod steps;

use std::time::{Duration, Instant};

use crate::context::Ctx;
use crate::error::Result;
use crate::output::Output;
use plan::{Facts, Planned, Step};
use report::{Failure, Outcome, SetupReport, StepError, StepRecord};

/// How the runner shows a step: a header when it starts (its own work may print progress lines
/// under it), and one line with its outcome when it ends.
struct Line<'a> {
    out: &'a Output,
    n: usize,
    total: usize,
    step: Step,
    started: Instant,
}

impl<'a> Line<'a> {
    fn start(out: &'a Output, n: usize, total: usize, step: Step) -> Line<'a> {
        out.info(format!("{} [{n}/{total}] {}: {}", out.styles.bold.apply_to("▸"), step.name(), step.title()));
        Line { out, n, total, step, started: Instant::now() }
    }

    fn end(&self, outcome: Outcome, detail: &str) -> StepRecord {
        let seconds = self.started.elapsed().as_secs_f64();
        let (mark, style) = match outcome {
            Outcome::Failed => ("✗", &self.out.styles.fail),
            Outcome::AlreadyDone => ("=", &self.out.styles.ok),
            _ => ("✓", &self.out.styles.ok),
        };
        let what = if outcome == Outcome::AlreadyDone { format!("already done: {detail}") } else { detail.to_string() };
        self.out.info(format!(
            "{} [{}/{}] {}: {what} {}",
            style.apply_to(mark),
            self.n,
            self.total,
            self.step.name(),
            self.out.styles.dim.apply_to(format!("({seconds:.1}s)"))
        ));
        StepRecord { step: self.step, title: self.step.title(), outcome, detail: detail.to_string(), seconds }
    }
}

/// Options of the run (the command's flags).
pub struct Options {
    pub demo: bool,
    pub yes: bool,
    pub snapshot_timeout: Duration,
    pub connector_timeout: Duration,
}

/// Runs the plan on a loaded configuration. `init` (which must come before the configuration can
/// be loaded) has already run; `init_record` says what it did.
pub async fn run(ctx: &Ctx, options: &Options, init_record: StepRecord, env_created: bool) -> Result<SetupReport> {
    let started = Instant::now();
    let facts = Facts::from_settings(&ctx.settings, env_created, options.demo);
    let planned: Vec<Planned> = plan::plan(&facts);
    let total = planned.len();
    let mut records = vec![init_record];
    let mut failure = None;
    let mut run = steps::Run::new(ctx, options, &facts);
    for (i, p) in planned.iter().enumerate().filter(|(_, p)| p.step != Step::Init) {
        if failure.is_some() {
            records.push(StepRecord {
                step: p.step,
                title: p.step.title(),
                outcome: Outcome::NotRun,
                detail: String::new(),
                seconds: 0.0,
            });
            continue;
        }
        let line = Line::start(&ctx.out, i + 1, total, p.step);
        if let Some(reason) = &p.skip {
            records.push(line.end(Outcome::Skipped, reason));
            continue;
        }
        match run.step(p.step).await {
            Ok(done) => {
                let outcome = if done.already { Outcome::AlreadyDone } else { Outcome::Done };
                records.push(line.end(outcome, &done.detail));
            }
            Err(e) => {
                records.push(line.end(Outcome::Failed, &e.message));
                failure = Some(failure_of(p.step, e));
            }
        }
    }
    let ok = failure.is_none();
    let (dashboards, login) = if ok { run.dashboards().await } else { (Vec::new(), None) };
    let mut notes = Vec::new();
    if facts.demo && ctx.settings.dbt.as_of_date.is_none() {
        let end = crate::demo::generate::AS_OF;
        notes.push(format!(
            "the demo data ends on {end}; the stock status, stockout and reporting marts are computed for today. \
             Set DBT_AS_OF_DATE={end} in .env (then `olmisctl dbt-build`) to see them as of the data's last day."
        ));
    }
    Ok(SetupReport {
        ok,
        runtime: facts.runtime,
        demo: facts.demo,
        seconds: started.elapsed().as_secs_f64(),
        steps: records,
        failure,
        verify: run.verified.take(),
        dashboards,
        login,
        notes,
    })
}

fn failure_of(step: Step, e: StepError) -> Failure {
    Failure { step, message: e.message, hint: e.hint, details: e.details, step_command: step.command(), exit: e.exit }
}

/// Step 1, before the configuration can be loaded: create `.env` when it is missing. Returns the
/// step's record and whether the file was created.
pub fn init(global: &crate::cli::Global, out: &Output) -> Result<(StepRecord, bool)> {
    let (project_dir, env_file) = crate::context::locate(global)?;
    let line = Line::start(out, 1, Step::ALL.len(), Step::Init);
    if env_file.is_file() {
        return Ok((
            line.end(Outcome::Skipped, &format!("{} exists: your values are kept", env_file.display())),
            false,
        ));
    }
    let report = crate::commands::init::write_env(&project_dir, &env_file)?;
    let detail = format!("created {} with {} fresh secrets", report.env_file, report.outcome.generated.len());
    Ok((line.end(Outcome::Done, &detail), true))
}
