//! One error type for the whole tool, and the exit codes it maps to.
//!
//! Every failure a user can meet is a variant here, carrying what went wrong and what to do about it,
//! so `main` prints one clear message instead of a backtrace.

use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes are part of the CLI's contract (documented in the README): CI scripts branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked and every check passed (warnings included).
    Ok = 0,
    /// The command ran but found problems: a check failed, a package has violations, a build failed.
    Failed = 1,
    /// The command could not start: bad flags, malformed configuration.
    Usage = 2,
    /// An external system was unreachable, refused us, or answered with an error.
    Service = 3,
    /// Waited for something (health, a snapshot, a run) longer than allowed.
    Timeout = 4,
    /// Nothing new to process (`verify freshness --since`): a scheduler can skip the work.
    /// 99 because Airflow's BashOperator marks a task skipped on that code by default.
    Unchanged = 99,
    /// Stopped by Ctrl-C.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(code: Exit) -> Self {
        ExitCode::from(code as u8)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line mistake clap could not catch (conflicting values, a bad list entry).
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },

    /// A configuration variable is missing or malformed. `value` is `None` for secrets.
    #[error("{}", config_message(.var, .value.as_deref(), .expected))]
    Config { var: String, value: Option<String>, expected: String, hint: Option<String> },

    /// A file the user gave us can't be read, parsed or written.
    #[error("{}: {message}", .path.display())]
    File { path: PathBuf, message: String, hint: Option<String> },

    /// An external system (PostgreSQL, Kafka Connect, ClickHouse, ...) failed us.
    #[error("{service}: {message}")]
    Service { service: &'static str, message: String, hint: Option<String> },

    /// Waiting for a condition ran out of time; `detail` says what was last seen.
    #[error("timed out after {}s waiting for {what}{}", .after_secs, detail_suffix(.detail))]
    Timeout { what: String, after_secs: u64, detail: String, hint: Option<String> },

    /// The command ran to the end and its findings are failures (already reported to the user).
    #[error("{0}")]
    Failed(String),

    #[error("interrupted")]
    Interrupted,
}

fn config_message(var: &str, value: Option<&str>, expected: &str) -> String {
    match value {
        Some(v) => format!("{var}={v:?} is not valid: expected {expected}"),
        None => format!("{var} is not valid: expected {expected}"),
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage { message: message.into(), hint: None }
    }

    pub fn service(service: &'static str, message: impl Into<String>) -> Self {
        Error::Service { service, message: message.into(), hint: None }
    }

    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::File { path: path.into(), message: message.into(), hint: None }
    }

    /// Adds (or replaces) the "what to do" line shown under the message.
    pub fn with_hint(mut self, new_hint: impl Into<String>) -> Self {
        let new_hint = Some(new_hint.into());
        match &mut self {
            Error::Usage { hint, .. }
            | Error::Config { hint, .. }
            | Error::File { hint, .. }
            | Error::Service { hint, .. }
            | Error::Timeout { hint, .. } => *hint = new_hint,
            Error::Failed(_) | Error::Interrupted => {}
        }
        self
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Usage { hint, .. }
            | Error::Config { hint, .. }
            | Error::File { hint, .. }
            | Error::Service { hint, .. }
            | Error::Timeout { hint, .. } => hint.as_deref(),
            Error::Failed(_) | Error::Interrupted => None,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Failed(_) => Exit::Failed,
            Error::Usage { .. } | Error::Config { .. } | Error::File { .. } => Exit::Usage,
            Error::Service { .. } => Exit::Service,
            Error::Timeout { .. } => Exit::Timeout,
            Error::Interrupted => Exit::Interrupted,
        }
    }

    /// A stable machine-readable kind for `--json` error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage { .. } => "usage",
            Error::Config { .. } => "config",
            Error::File { .. } => "file",
            Error::Service { .. } => "service",
            Error::Timeout { .. } => "timeout",
            Error::Failed(_) => "failed",
            Error::Interrupted => "interrupted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_variable_value_and_expectation() {
        let err = Error::Config {
            var: "SOURCE_PG_PORT".into(),
            value: Some("54x2".into()),
            expected: "a TCP port number (1-65535)".into(),
            hint: None,
        };
        assert_eq!(err.to_string(), r#"SOURCE_PG_PORT="54x2" is not valid: expected a TCP port number (1-65535)"#);
        assert_eq!(err.exit(), Exit::Usage);
    }

    #[test]
    fn secret_config_error_omits_the_value() {
        let err = Error::Config { var: "GIT_TOKEN".into(), value: None, expected: "a token".into(), hint: None };
        assert_eq!(err.to_string(), "GIT_TOKEN is not valid: expected a token");
    }

    #[test]
    fn exit_codes_are_stable() {
        assert_eq!(Error::Failed("x".into()).exit() as u8, 1);
        assert_eq!(Error::usage("x").exit() as u8, 2);
        assert_eq!(Error::service("clickhouse", "down").exit() as u8, 3);
        let timeout = Error::Timeout { what: "x".into(), after_secs: 1, detail: String::new(), hint: None };
        assert_eq!(timeout.exit() as u8, 4);
        assert_eq!(Exit::Unchanged as u8, 99);
    }
}
