//! Every `olmisctl ...` command in the README and docs/ is one that works: its subcommands exist,
//! its flags exist where they are used, and values of flags and arguments with a fixed set of
//! values are among them. Checked against the real command-line definition (`Cli::command()`),
//! so renaming a flag without fixing the docs fails here. Also the commands `setup` prints for
//! re-running one of its steps.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use olmisctl::cli::Cli;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md")];
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    found.sort();
    docs.extend(found);
    docs
}

/// Command lines in a Markdown text: lines of code blocks starting with `olmisctl `, and inline
/// code spans starting with `olmisctl `. Returned with their line numbers.
fn command_lines(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let command = trimmed.trim_start_matches("$ ");
            // "olmisctl watchdog: keeps ..." in a diagram is prose, not a command.
            let prose = command.split_whitespace().nth(1).is_some_and(|w| w.ends_with(':'));
            if command.starts_with("olmisctl ") && !prose {
                found.push((i + 1, command.to_string()));
            }
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find('`') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('`') else { break };
            let span = &after[..end];
            if span.starts_with("olmisctl ") {
                found.push((i + 1, span.to_string()));
            }
            rest = &after[end + 1..];
        }
    }
    found
}

/// The words of a command line up to a comment or a shell operator, unquoted.
fn words(line: &str) -> Vec<String> {
    let line = line.split(" #").next().unwrap_or(line);
    let mut out = Vec::new();
    for word in line.split_whitespace() {
        if matches!(word, "|" | "||" | "&&" | ";" | ">" | "2>&1") || word.starts_with('>') {
            break;
        }
        out.push(word.trim_matches(|c| c == '\'' || c == '"').replace("\\|", "|"));
    }
    out
}

/// `<a|b>` and `a|b` stand for alternatives; `<x>` and `[X...]` for any value.
fn alternatives(word: &str) -> Option<Vec<String>> {
    let inner = word.strip_prefix('<').and_then(|w| w.strip_suffix('>')).unwrap_or(word);
    let placeholder = word.starts_with('<') || word.starts_with('[') || word.contains("...");
    if inner.contains('|') {
        return Some(inner.split('|').map(str::to_string).collect());
    }
    if placeholder { None } else { Some(vec![word.to_string()]) }
}

/// Checks one command line against the command tree; `Err` says what is wrong.
fn check(line: &str) -> Result<(), String> {
    let words = words(line);
    let mut command = Cli::command();
    // Fills in what clap derives at build time (how many values each flag takes, ...).
    command.build();
    let mut globals: Vec<clap::Arg> = command.get_arguments().filter(|a| a.is_global_set()).cloned().collect();
    let mut positional = 0;
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        if let Some(flag) = word.strip_prefix("--") {
            let (name, inline_value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            if name == "help" {
                return Ok(());
            }
            let arg = command
                .get_arguments()
                .chain(globals.iter())
                .find(|a| a.get_long() == Some(name))
                .cloned()
                .ok_or_else(|| format!("`{}` has no flag --{name}", command.get_name()))?;
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
            if takes_value {
                let value = match inline_value {
                    Some(v) => v,
                    None => {
                        i += 1;
                        words.get(i).cloned().ok_or_else(|| format!("--{name} needs a value"))?
                    }
                };
                check_value(&arg, &value)?;
            }
        } else if word.starts_with('-') && word.len() == 2 {
            let short = word.chars().nth(1).unwrap_or('?');
            let arg = command
                .get_arguments()
                .chain(globals.iter())
                .find(|a| a.get_short() == Some(short))
                .cloned()
                .ok_or_else(|| format!("`{}` has no flag {word}", command.get_name()))?;
            if arg.get_num_args().is_some_and(|n| n.takes_values()) {
                i += 1;
            }
        } else if command.has_subcommands() && positional == 0 {
            let options = alternatives(word).ok_or_else(|| format!("{word:?} is not a subcommand"))?;
            let mut next = None;
            for option in &options {
                let sub = command
                    .find_subcommand(option)
                    .cloned()
                    .ok_or_else(|| format!("`{}` has no subcommand {option:?}", command.get_name()))?;
                next.get_or_insert(sub);
            }
            globals.extend(command.get_arguments().filter(|a| a.is_global_set()).cloned());
            command = next.ok_or("empty alternatives")?;
        } else {
            let args: Vec<clap::Arg> = command.get_positionals().cloned().collect();
            let arg = args
                .get(positional)
                .or_else(|| args.last().filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1)))
                .cloned()
                .ok_or_else(|| format!("`{}` takes no argument {word:?}", command.get_name()))?;
            check_value(&arg, word)?;
            positional += 1;
        }
        i += 1;
    }
    Ok(())
}

fn check_value(arg: &clap::Arg, value: &str) -> Result<(), String> {
    let possible: Vec<String> = arg.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
    if possible.is_empty() {
        return Ok(());
    }
    let Some(options) = alternatives(value) else { return Ok(()) };
    for option in options {
        if !possible.contains(&option) {
            return Err(format!("{option:?} is not a value of {} (one of {})", arg.get_id(), possible.join(", ")));
        }
    }
    Ok(())
}

#[test]
fn every_documented_command_exists_with_its_flags() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("readable doc");
        for (line, command) in command_lines(&text) {
            checked += 1;
            if let Err(e) = check(&command) {
                problems
                    .push(format!("{}:{line}: `{command}`: {e}", doc.strip_prefix(repo()).unwrap_or(&doc).display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} commands found in the docs: is the extraction broken?");
    assert!(problems.is_empty(), "commands in the docs that don't work:\n{}", problems.join("\n"));
}

#[test]
fn setups_rerun_commands_exist() {
    for step in olmisctl::setup::plan::Step::ALL {
        check(step.command()).unwrap_or_else(|e| panic!("setup step {}: `{}`: {e}", step.name(), step.command()));
    }
}

#[test]
fn the_checker_catches_what_it_must() {
    assert!(check("olmisctl verify all --json").is_ok());
    assert!(check("olmisctl verify <services|cdc>").is_ok());
    assert!(check("olmisctl connector status|delete|refresh").is_ok());
    assert!(check("olmisctl snapshot-tables schema.t1,schema.t2 --timeout 60").is_ok());
    assert!(check("olmisctl status --format prometheus").is_ok());
    assert!(check("olmisctl verify everything").unwrap_err().contains("not a value"));
    assert!(check("olmisctl setup --no-such-flag").unwrap_err().contains("no flag --no-such-flag"));
    assert!(check("olmisctl frobnicate").unwrap_err().contains("no subcommand"));
    assert!(check("olmisctl status --format yaml").unwrap_err().contains("not a value"));
    assert!(check("olmisctl status extra").unwrap_err().contains("takes no argument"));
}
