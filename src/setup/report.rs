//! What `setup` did, step by step, and where to go next: one screen, or one JSON document.

use serde::Serialize;

use super::plan::Step;
use crate::error::{Error, Exit};
use crate::output::{Report, Styles};
use crate::settings::Runtime;
use crate::verify_all::AllReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The step did its work.
    Done,
    /// The step found its work done earlier and changed nothing.
    AlreadyDone,
    /// The step does not apply to this deployment.
    Skipped,
    Failed,
    /// An earlier step failed.
    NotRun,
}

#[derive(Debug, Serialize)]
pub struct StepRecord {
    pub step: Step,
    pub title: &'static str,
    pub outcome: Outcome,
    pub detail: String,
    pub seconds: f64,
}

/// Why setup stopped, and how to go on.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub step: Step,
    pub message: String,
    pub hint: Option<String>,
    /// More lines worth showing: failed checks, SQL for a DBA.
    pub details: Vec<String>,
    /// Runs this step alone.
    pub step_command: &'static str,
    #[serde(skip)]
    pub exit: Exit,
}

/// A step's failure before it knows its step (set by the runner).
#[derive(Debug)]
pub struct StepError {
    pub message: String,
    pub hint: Option<String>,
    pub details: Vec<String>,
    pub exit: Exit,
}

impl StepError {
    pub fn failed(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), hint: None, details: Vec::new(), exit: Exit::Failed }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> StepError {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_details(mut self, details: Vec<String>) -> StepError {
        self.details = details;
        self
    }
}

impl From<Error> for StepError {
    fn from(e: Error) -> StepError {
        StepError { message: e.to_string(), hint: e.hint().map(String::from), details: Vec::new(), exit: e.exit() }
    }
}

#[derive(Debug, Serialize)]
pub struct Dashboard {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct Login {
    pub url: String,
    pub user: String,
    /// Where the password is (never the password).
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct SetupReport {
    pub ok: bool,
    pub runtime: Runtime,
    pub demo: bool,
    pub seconds: f64,
    pub steps: Vec<StepRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<AllReport>,
    pub dashboards: Vec<Dashboard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
    /// Worth knowing before looking at the dashboards.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn mark(outcome: Outcome, styles: &Styles) -> String {
    match outcome {
        Outcome::Done => styles.ok.apply_to("✓").to_string(),
        Outcome::AlreadyDone => styles.ok.apply_to("=").to_string(),
        Outcome::Skipped => styles.dim.apply_to("-").to_string(),
        Outcome::Failed => styles.fail.apply_to("✗").to_string(),
        Outcome::NotRun => styles.dim.apply_to(" ").to_string(),
    }
}

fn describe(outcome: Outcome, detail: &str) -> String {
    match outcome {
        Outcome::Done => detail.to_string(),
        Outcome::AlreadyDone => format!("already done: {detail}"),
        Outcome::Skipped => format!("skipped: {detail}"),
        Outcome::Failed => format!("failed: {detail}"),
        Outcome::NotRun => "not run".to_string(),
    }
}

impl Report for SetupReport {
    fn human(&self, st: &Styles) -> String {
        let total = self.steps.len();
        let mut out = match &self.failure {
            None => format!("{} in {:.0}s\n", st.bold.apply_to("Setup complete"), self.seconds),
            Some(f) => {
                let n = self.steps.iter().position(|s| s.step == f.step).map_or(0, |i| i + 1);
                format!("{} at step {n}/{total} ({})\n", st.fail.apply_to("Setup stopped"), f.step.name())
            }
        };
        let width = self.steps.iter().map(|s| s.step.name().len()).max().unwrap_or(0);
        for s in &self.steps {
            out.push_str(&format!(
                "  {} {:width$}  {}\n",
                mark(s.outcome, st),
                s.step.name(),
                describe(s.outcome, &s.detail)
            ));
        }
        if let Some(f) = &self.failure {
            out.push_str(&format!("\n{} {}\n", st.fail.apply_to("error:"), f.message));
            if let Some(hint) = &f.hint {
                out.push_str(&format!("  {} {hint}\n", st.dim.apply_to("fix:")));
            }
            for line in &f.details {
                out.push_str(&format!("  {line}\n"));
            }
            out.push_str(&format!(
                "\nOnce fixed, run `olmisctl setup` again: it checks the finished steps and goes on from here.\nThis step alone: `{}`.\n",
                f.step_command
            ));
            return out;
        }
        if !self.dashboards.is_empty() {
            out.push_str(&format!("\n{}\n", st.bold.apply_to("Dashboards")));
            let width = self.dashboards.iter().map(|d| d.title.len()).max().unwrap_or(0);
            for d in &self.dashboards {
                out.push_str(&format!("  {:width$}  {}\n", d.title, d.url));
            }
        }
        if let Some(login) = &self.login {
            out.push_str(&format!(
                "\nLog in at {} as {:?}; the password is {}.\n",
                login.url, login.user, login.password
            ));
        }
        for note in &self.notes {
            out.push_str(&format!("{} {note}\n", st.warn.apply_to("note:")));
        }
        out.push_str(
            "The marts refresh on Airflow's platform_refresh schedule. `olmisctl status` shows the platform's state.\n",
        );
        out
    }

    fn exit(&self) -> Exit {
        self.failure.as_ref().map_or(Exit::Ok, |f| f.exit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: Step, outcome: Outcome, detail: &str) -> StepRecord {
        StepRecord { step, title: step.title(), outcome, detail: detail.into(), seconds: 0.1 }
    }

    #[test]
    fn a_stopped_setup_names_the_step_the_cause_and_how_to_go_on() {
        let report = SetupReport {
            ok: false,
            runtime: Runtime::External,
            demo: false,
            seconds: 3.0,
            steps: vec![
                record(Step::Init, Outcome::Skipped, ".env exists"),
                record(Step::Preflight, Outcome::Failed, "wal_level is replica"),
                record(Step::RegisterConnector, Outcome::NotRun, ""),
            ],
            failure: Some(Failure {
                step: Step::Preflight,
                message: "the source is not ready for change capture".into(),
                hint: Some("apply the SQL below as a superuser".into()),
                details: vec!["FAIL wal_level: is \"replica\"".into(), "ALTER SYSTEM SET wal_level = logical;".into()],
                step_command: Step::Preflight.command(),
                exit: Exit::Failed,
            }),
            verify: None,
            dashboards: Vec::new(),
            login: None,
            notes: Vec::new(),
        };
        insta::assert_snapshot!(report.human(&Styles::plain()));
        assert_eq!(report.exit(), Exit::Failed);
    }

    #[test]
    fn a_complete_setup_lists_dashboards_and_where_the_password_is() {
        let report = SetupReport {
            ok: true,
            runtime: Runtime::Compose,
            demo: true,
            seconds: 183.0,
            steps: vec![
                record(Step::Init, Outcome::Done, "created /p/.env with fresh secrets"),
                record(Step::RegisterConnector, Outcome::AlreadyDone, "config unchanged, connector RUNNING"),
            ],
            failure: None,
            verify: None,
            dashboards: vec![Dashboard { title: "Stock".into(), url: "http://s/superset/dashboard/stock/".into() }],
            login: Some(Login {
                url: "http://s/".into(),
                user: "admin".into(),
                password: "SUPERSET_ADMIN_PASSWORD in /p/.env".into(),
            }),
            notes: vec!["the demo data ends on 2026-10-31: set DBT_AS_OF_DATE=2026-10-31".into()],
        };
        insta::assert_snapshot!(report.human(&Styles::plain()));
        assert_eq!(report.exit(), Exit::Ok);
    }
}
