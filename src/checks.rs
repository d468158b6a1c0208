//! Tri-state findings (pass / warn / fail), shared by every `verify` target, preflights and the
//! package validator, so they all print, serialize and set exit codes the same way.

use serde::{Deserialize, Serialize};

use crate::error::Exit;
use crate::output::{Report, Styles};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub level: Level,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    pub fn pass(name: impl Into<String>, message: impl Into<String>) -> Check {
        Check { name: name.into(), level: Level::Pass, message: message.into(), hint: None }
    }

    pub fn warn(name: impl Into<String>, message: impl Into<String>) -> Check {
        Check { name: name.into(), level: Level::Warn, message: message.into(), hint: None }
    }

    pub fn fail(name: impl Into<String>, message: impl Into<String>) -> Check {
        Check { name: name.into(), level: Level::Fail, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub title: String,
    pub status: Level,
    pub checks: Vec<Check>,
}

impl CheckReport {
    pub fn new(title: impl Into<String>, checks: Vec<Check>) -> CheckReport {
        let status = checks.iter().map(|c| c.level).max().unwrap_or(Level::Pass);
        CheckReport { title: title.into(), status, checks }
    }

    pub fn count(&self, level: Level) -> usize {
        self.checks.iter().filter(|c| c.level == level).count()
    }
}

pub fn label(level: Level, styles: &Styles) -> String {
    match level {
        Level::Pass => styles.ok.apply_to("PASS").to_string(),
        Level::Warn => styles.warn.apply_to("WARN").to_string(),
        Level::Fail => styles.fail.apply_to("FAIL").to_string(),
    }
}

impl Report for CheckReport {
    fn human(&self, styles: &Styles) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = format!("{}\n", styles.bold.apply_to(&self.title));
        for c in &self.checks {
            out.push_str(&format!("  {} {:width$}  {}\n", label(c.level, styles), c.name, c.message));
            if let Some(hint) = &c.hint {
                out.push_str(&format!("       {:width$}  {} {hint}\n", "", styles.dim.apply_to("fix:")));
            }
        }
        out.push_str(&format!(
            "{} passed, {} warnings, {} failed\n",
            self.count(Level::Pass),
            self.count(Level::Warn),
            self.count(Level::Fail)
        ));
        out
    }

    fn exit(&self) -> Exit {
        if self.status == Level::Fail { Exit::Failed } else { Exit::Ok }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_level_decides_status_and_exit() {
        let r = CheckReport::new("t", vec![Check::pass("a", "ok"), Check::warn("b", "slow")]);
        assert_eq!(r.status, Level::Warn);
        assert_eq!(r.exit(), Exit::Ok);
        let r = CheckReport::new("t", vec![Check::pass("a", "ok"), Check::fail("b", "down").with_hint("start it")]);
        assert_eq!(r.exit(), Exit::Failed);
        let text = r.human(&Styles::plain());
        assert!(text.contains("FAIL b  down"), "{text}");
        assert!(text.contains("fix: start it"), "{text}");
    }
}
