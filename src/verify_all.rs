//! `verify all`: every verify target run at once (they only read), each reported tri-state, then
//! a summary with how long each took and how long the whole took.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;

use crate::checks::{Check, CheckReport, Level, label};
use crate::error::{Exit, Result};
use crate::output::{Output, Report, Styles};

/// One target's checks, boxed so targets of different futures run in one set.
pub type TargetRun<'a> = Pin<Box<dyn Future<Output = Result<CheckReport>> + Send + 'a>>;

#[derive(Debug, Serialize)]
pub struct TargetResult {
    pub target: String,
    /// The report's own status (serialized once, with the report).
    #[serde(skip)]
    pub status: Level,
    pub seconds: f64,
    #[serde(flatten)]
    pub report: CheckReport,
}

#[derive(Debug, Serialize)]
pub struct AllReport {
    pub status: Level,
    /// Wall time of the whole verification.
    pub seconds: f64,
    /// The targets' times added up: what running them one after another would roughly take.
    pub sum_of_targets_seconds: f64,
    pub targets: Vec<TargetResult>,
}

impl AllReport {
    /// `results` in any order; the report lists them in `order`.
    pub fn new(mut results: Vec<TargetResult>, order: &[&str], wall: Duration) -> AllReport {
        results.sort_by_key(|r| order.iter().position(|o| *o == r.target).unwrap_or(usize::MAX));
        AllReport {
            status: results.iter().map(|r| r.status).max().unwrap_or(Level::Pass),
            seconds: wall.as_secs_f64(),
            sum_of_targets_seconds: results.iter().map(|r| r.seconds).sum(),
            targets: results,
        }
    }
}

/// A target that could not run at all (a service refused, bad configuration) is one failed check.
pub fn errored(target: &str, e: &crate::error::Error) -> CheckReport {
    let check = Check::fail(target, e.to_string());
    let check = match e.hint() {
        Some(hint) => check.with_hint(hint),
        None => check,
    };
    CheckReport::new(format!("verify {target}"), vec![check])
}

/// Runs the targets concurrently, with one progress line counting them down.
pub async fn run(out: &Output, targets: Vec<(&'static str, TargetRun<'_>)>) -> AllReport {
    let order: Vec<&str> = targets.iter().map(|(name, _)| *name).collect();
    let total = targets.len();
    let progress = out.progress(format!("Verifying {} in parallel", order.join(", ")));
    let started = Instant::now();
    let mut running: FuturesUnordered<_> = targets
        .into_iter()
        .map(|(name, run)| async move {
            let begun = Instant::now();
            let report = run.await.unwrap_or_else(|e| errored(name, &e));
            TargetResult {
                target: name.to_string(),
                status: report.status,
                seconds: begun.elapsed().as_secs_f64(),
                report,
            }
        })
        .collect();
    let mut results = Vec::with_capacity(total);
    while let Some(result) = running.next().await {
        results.push(result);
        let waiting: Vec<&str> =
            order.iter().copied().filter(|o| !results.iter().any(|r: &TargetResult| r.target == *o)).collect();
        progress.update(format!("{}/{total} done, waiting for {}", results.len(), waiting.join(", ")));
    }
    let report = AllReport::new(results, &order, started.elapsed());
    progress.finish(format!("{:?}", report.status).to_lowercase());
    report
}

impl Report for AllReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = String::new();
        for t in &self.targets {
            out.push_str(&t.report.human(styles));
            out.push('\n');
        }
        out.push_str(&format!(
            "{} {:.1}s (the targets took {:.1}s together)\n",
            styles.bold.apply_to("verify all:"),
            self.seconds,
            self.sum_of_targets_seconds
        ));
        let width = self.targets.iter().map(|t| t.target.len()).max().unwrap_or(0);
        for t in &self.targets {
            let counts = format!(
                "{} passed, {} warnings, {} failed",
                t.report.count(Level::Pass),
                t.report.count(Level::Warn),
                t.report.count(Level::Fail)
            );
            out.push_str(&format!(
                "  {} {:width$}  {counts:36} {}\n",
                label(t.status, styles),
                t.target,
                styles.dim.apply_to(format!("{:.1}s", t.seconds))
            ));
        }
        out
    }

    fn exit(&self) -> Exit {
        if self.status == Level::Fail { Exit::Failed } else { Exit::Ok }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(target: &str, checks: Vec<Check>, seconds: f64) -> TargetResult {
        let report = CheckReport::new(format!("verify {target}"), checks);
        TargetResult { target: target.into(), status: report.status, seconds, report }
    }

    #[test]
    fn summary_orders_targets_and_takes_the_worst() {
        let report = AllReport::new(
            vec![
                result("cdc", vec![Check::warn("snapshot", "running")], 2.0),
                result("services", vec![Check::pass("kafka", "up")], 0.5),
            ],
            &["services", "cdc"],
            Duration::from_secs_f64(2.1),
        );
        assert_eq!(report.targets[0].target, "services");
        assert_eq!(report.status, Level::Warn);
        assert_eq!(report.exit(), Exit::Ok);
        assert!((report.sum_of_targets_seconds - 2.5).abs() < 1e-9);
        let text = report.human(&Styles::plain());
        assert!(text.contains("verify all: 2.1s (the targets took 2.5s together)"), "{text}");
        assert!(text.contains("  WARN cdc       0 passed, 1 warnings, 0 failed"), "{text}");
    }

    #[tokio::test]
    async fn a_target_that_errors_is_one_failed_check_and_the_others_still_run() {
        let out = Output::new(true, true, true);
        let ok: TargetRun = Box::pin(async { Ok(CheckReport::new("verify a", vec![Check::pass("x", "fine")])) });
        let broken: TargetRun = Box::pin(async {
            Err(crate::error::Error::service("kafka-connect", "cannot connect").with_hint("start it"))
        });
        let report = run(&out, vec![("a", ok), ("b", broken)]).await;
        assert_eq!(report.status, Level::Fail);
        assert_eq!(report.exit(), Exit::Failed);
        let b = &report.targets[1].report.checks[0];
        assert_eq!((b.name.as_str(), b.level, b.hint.as_deref()), ("b", Level::Fail, Some("start it")));
        assert_eq!(report.targets[0].status, Level::Pass);
    }
}
