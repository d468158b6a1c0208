//! Everything the user sees: a human summary on stdout by default, one JSON document on stdout with
//! `--json`, and progress and logs on stderr. Text that may carry a secret echoed back by a service
//! passes through the redactor before it is printed.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::{Error, Exit};
use crate::settings::{Secret, secret::redact};

/// A command's result: printed as text for people, as JSON for machines, with the exit code CI reads.
pub trait Report: Serialize {
    fn human(&self, styles: &Styles) -> String;
    fn exit(&self) -> Exit {
        Exit::Ok
    }
}

#[derive(Clone)]
pub struct Styles {
    pub ok: Style,
    pub warn: Style,
    pub fail: Style,
    pub dim: Style,
    pub bold: Style,
}

impl Styles {
    /// No colour codes: for tests and for output that is not a terminal.
    pub fn plain() -> Styles {
        Styles::new(false)
    }

    fn new(color: bool) -> Styles {
        let s = |style: Style| style.force_styling(color);
        Styles {
            ok: s(Style::new().green()),
            warn: s(Style::new().yellow()),
            fail: s(Style::new().red().bold()),
            dim: s(Style::new().dim()),
            bold: s(Style::new().bold()),
        }
    }
}

#[derive(Clone)]
pub struct Output {
    pub json: bool,
    quiet: bool,
    interactive: bool,
    pub styles: Styles,
    secrets: Arc<Mutex<Vec<Secret>>>,
}

impl Output {
    pub fn new(json: bool, quiet: bool, no_color: bool) -> Output {
        let stderr_tty = std::io::stderr().is_terminal();
        let color = !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal() && !json;
        Output { json, quiet, interactive: stderr_tty && !json, styles: Styles::new(color), secrets: Arc::default() }
    }

    /// The same output with progress and info lines silenced (warnings, reports and errors still
    /// show): for work that runs under another command's own progress line, e.g. the targets
    /// `verify all` runs in parallel.
    pub fn silenced(&self) -> Output {
        Output { quiet: true, ..self.clone() }
    }

    /// Registers the secrets of the loaded configuration so nothing printed afterwards shows them.
    pub fn set_secrets(&self, secrets: Vec<Secret>) {
        if let Ok(mut guard) = self.secrets.lock() {
            *guard = secrets;
        }
    }

    pub fn redact(&self, text: &str) -> String {
        match self.secrets.lock() {
            Ok(guard) => redact(text, guard.iter()),
            Err(_) => text.to_string(),
        }
    }

    /// A step or status line on stderr (people follow along; stdout stays clean for results).
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", self.redact(message.as_ref()));
        }
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        eprintln!("{} {}", self.styles.warn.apply_to("warning:"), self.redact(message.as_ref()));
    }

    /// Prints a command's result and returns its exit code.
    pub fn report<R: Report>(&self, report: &R) -> Exit {
        if self.json {
            self.print_json(report);
        } else {
            let text = self.redact(&report.human(&self.styles));
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "{text}");
            if !text.ends_with('\n') && !text.is_empty() {
                let _ = writeln!(stdout);
            }
        }
        report.exit()
    }

    /// One line of a streamed result on stdout (log lines, say), redacted.
    pub fn line(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", self.redact(text));
    }

    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        println!("{}", self.redact(&text));
    }

    pub fn error(&self, err: &Error) {
        let message = self.redact(&err.to_string());
        let hint = err.hint().map(|h| self.redact(h));
        if self.json {
            self.print_json(&serde_json::json!({
                "error": { "kind": err.kind(), "message": message, "hint": hint, "exit_code": err.exit() as u8 }
            }));
        }
        eprintln!("{} {message}", self.styles.fail.apply_to("error:"));
        if let Some(hint) = hint {
            eprintln!("  {} {hint}", self.styles.dim.apply_to("hint:"));
        }
    }

    /// Asks a yes/no question on the terminal. Without one (scripts, CI, `--json`) the answer is
    /// no, so commands that change things need their `--yes` flag there.
    pub fn confirm(&self, question: &str) -> bool {
        if self.json || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return false;
        }
        eprint!("{} [y/N] ", self.redact(question));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
    }

    /// A live line for work that takes more than a moment. On a terminal it spins; elsewhere (CI
    /// logs, `--json`) it prints one line when it starts and one when it ends.
    pub fn progress(&self, message: impl Into<String>) -> Progress {
        self.progress_in(None, message.into())
    }

    /// Several live lines at once (one per service, say): each `ProgressGroup::progress` adds a
    /// line that updates in place and stays, with its outcome, when it ends.
    pub fn progress_group(&self) -> ProgressGroup {
        let multi =
            (self.interactive && !self.quiet).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        ProgressGroup { out: self.clone(), multi, drawn: Default::default() }
    }

    fn progress_in(&self, multi: Option<&MultiProgress>, message: String) -> Progress {
        let bar = if self.interactive && !self.quiet {
            let bar = ProgressBar::new_spinner();
            let bar = match multi {
                Some(multi) => multi.add(bar),
                None => {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar
                }
            };
            if let Ok(style) = ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(self.redact(&message));
            Some(bar)
        } else {
            self.info(format!("{message} ..."));
            None
        };
        Progress { out: self.clone(), bar, message, started: Instant::now(), in_group: multi.is_some() }
    }
}

pub struct ProgressGroup {
    out: Output,
    multi: Option<MultiProgress>,
    drawn: std::sync::atomic::AtomicBool,
}

impl ProgressGroup {
    pub fn progress(&self, message: impl Into<String>) -> Progress {
        self.drawn.store(true, std::sync::atomic::Ordering::Relaxed);
        self.out.progress_in(self.multi.as_ref(), message.into())
    }
}

impl Drop for ProgressGroup {
    /// indicatif leaves the cursor at the end of the group's last line; what follows starts below.
    fn drop(&mut self) {
        if self.multi.is_some() && self.drawn.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!();
        }
    }
}

/// `1234567` -> `1,234,567`: row counts for people.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Clones update the same line (a task can report on it while its owner ends it).
#[derive(Clone)]
pub struct Progress {
    out: Output,
    bar: Option<ProgressBar>,
    message: String,
    started: Instant,
    /// In a group the finished line stays in place; printing it separately would break the others.
    in_group: bool,
}

impl Progress {
    pub fn update(&self, detail: impl AsRef<str>) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.out.redact(&format!("{} ({})", self.message, detail.as_ref())));
        }
    }

    /// A line of a child process's output (dbt's progress, say), printed above the live line on a
    /// terminal and as a plain line elsewhere, redacted like everything else.
    pub fn log(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(self.out.redact(line.as_ref())),
            None => self.out.info(line),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn finish(self, outcome: impl AsRef<str>) {
        self.end(&self.out.styles.ok, "✓", outcome.as_ref());
    }

    pub fn fail(self, outcome: impl AsRef<str>) {
        self.end(&self.out.styles.fail, "✗", outcome.as_ref());
    }

    fn end(&self, style: &Style, mark: &str, outcome: &str) {
        let line = format!(
            "{} {}: {} {}",
            style.apply_to(mark),
            self.message,
            outcome,
            self.out.styles.dim.apply_to(format!("({:.1}s)", self.started.elapsed().as_secs_f64()))
        );
        match &self.bar {
            Some(bar) if self.in_group => {
                if let Ok(style) = ProgressStyle::with_template("{msg}") {
                    bar.set_style(style);
                }
                bar.finish_with_message(self.out.redact(&line));
            }
            Some(bar) => {
                bar.finish_and_clear();
                self.out.info(line);
            }
            None => self.out.info(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
