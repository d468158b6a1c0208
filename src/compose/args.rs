//! The compose command lines olmisctl runs. Only flags that docker-compose 1.29 and the compose v2
//! plugin both accept, and never a secret: compose reads those from the env file itself.

use std::ffi::OsString;
use std::path::PathBuf;

/// What every compose call names explicitly, so neither compose version guesses from the working
/// directory or from `COMPOSE_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub project: String,
    /// The compose file, then overlays, in order.
    pub files: Vec<PathBuf>,
    pub env_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// The resolved configuration as YAML (variables interpolated).
    Config,
    /// Create and start in the background; waiting is olmisctl's job.
    Up(&'a [String]),
    /// Stop and remove containers and networks, keep volumes.
    Down,
    /// Stop and remove everything, named volumes included.
    DownWithVolumes,
    /// Stop and remove the containers of some services (`down` takes no services in v1).
    Remove(&'a [String]),
    Build(&'a [String]),
}

pub fn command_line(target: &Target, action: &Action) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-p".into(), target.project.clone().into()];
    for file in &target.files {
        args.push("-f".into());
        args.push(file.clone().into());
    }
    args.push("--env-file".into());
    args.push(target.env_file.clone().into());
    let (verb, flags, services): (&str, &[&str], &[String]) = match action {
        Action::Config => ("config", &[], &[]),
        Action::Up(services) => ("up", &["-d"], services),
        Action::Down => ("down", &[], &[]),
        Action::DownWithVolumes => ("down", &["--volumes", "--remove-orphans"], &[]),
        Action::Remove(services) => ("rm", &["--force", "--stop"], services),
        Action::Build(services) => ("build", &[], services),
    };
    args.push(verb.into());
    args.extend(flags.iter().map(OsString::from));
    args.extend(services.iter().map(OsString::from));
    args
}

/// The project name as compose uses it in labels: v1 and v2 both lowercase it and drop every
/// character but `a-z`, `0-9`, `-` and `_` (v2 also refuses a leading `-` or `_`).
pub fn normalize_project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')
        .collect();
    kept.trim_start_matches(['-', '_']).to_string()
}

/// `OLMIS_COMPOSE_CMD` split into program and leading arguments ("docker compose").
pub fn split_command(cmd: &str) -> Option<(String, Vec<String>)> {
    let mut words = cmd.split_whitespace().map(str::to_string);
    let program = words.next()?;
    Some((program, words.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(files: &[&str]) -> Target {
        Target { project: "olmis".into(), files: files.iter().map(PathBuf::from).collect(), env_file: "/p/.env".into() }
    }

    fn line(target: &Target, action: Action) -> String {
        command_line(target, &action).iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn every_call_names_project_files_and_env_file() {
        let t = target(&["/p/compose/docker-compose.yml"]);
        assert_eq!(line(&t, Action::Config), "-p olmis -f /p/compose/docker-compose.yml --env-file /p/.env config");
        let services = vec!["kafka".to_string(), "clickhouse".to_string()];
        assert_eq!(
            line(&t, Action::Up(&services)),
            "-p olmis -f /p/compose/docker-compose.yml --env-file /p/.env up -d kafka clickhouse"
        );
    }

    #[test]
    fn the_overlay_comes_after_the_main_file() {
        let t = target(&["/p/compose/docker-compose.yml", "/p/compose/docker-compose.compat.yml"]);
        assert_eq!(
            line(&t, Action::Up(&[])),
            "-p olmis -f /p/compose/docker-compose.yml -f /p/compose/docker-compose.compat.yml --env-file /p/.env up -d"
        );
    }

    #[test]
    fn down_keeps_volumes_and_reset_removes_them() {
        let t = target(&["c.yml"]);
        assert!(line(&t, Action::Down).ends_with(" down"));
        assert!(line(&t, Action::DownWithVolumes).ends_with(" down --volumes --remove-orphans"));
        let services = vec!["superset".to_string()];
        assert!(line(&t, Action::Remove(&services)).ends_with(" rm --force --stop superset"));
        assert!(line(&t, Action::Build(&services)).ends_with(" build superset"));
    }

    #[test]
    fn project_names_are_normalized_like_compose() {
        assert_eq!(normalize_project_name("Olmis.Prod_1"), "olmisprod_1");
        assert_eq!(normalize_project_name("_x-y"), "x-y");
        assert_eq!(normalize_project_name("..."), "");
    }

    #[test]
    fn compose_command_override_splits_into_words() {
        assert_eq!(split_command(" docker  compose "), Some(("docker".into(), vec!["compose".into()])));
        assert_eq!(split_command("docker-compose"), Some(("docker-compose".into(), vec![])));
        assert_eq!(split_command("  "), None);
    }
}
