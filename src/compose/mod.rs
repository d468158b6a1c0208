//! The Docker Compose stack (runtime `compose`): its lifecycle through the compose CLI (`cli`,
//! `args`), everything per container through the Engine API (`crate::clients::docker`), and the
//! waiting in between (`wait`). Pure decisions live in `args`, `config`, `compat`, `readiness` and
//! `listing`.
//!
//! Other commands use [`Stack`]: `Stack::connect(&ctx.settings, "setup")` then `stack.exec(...)`
//! to run a command in a service's container (e.g. `superset init`), or [`start::up`] to start
//! services and wait until they are ready.

pub mod args;
pub mod cli;
pub mod compat;
pub mod config;
pub mod listing;
pub mod readiness;
pub mod start;
pub mod wait;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::clients::docker::{Container, Engine, ExecOutput, OutputStream, RunState};
use crate::error::{Error, Result};
use crate::output::Progress;
use crate::settings::{Origin, Runtime, Settings, layers::read_env_file};
use args::{Action, Target};
use cli::ComposeCli;
use compat::{CompatDecision, CompatMode};
use config::ComposeConfig;

/// Where the stack's files are, relative to the project directory.
pub const COMPOSE_FILE: &str = "compose/docker-compose.yml";
pub const COMPAT_FILE: &str = "compose/docker-compose.compat.yml";

/// The compose project olmisctl manages, by name and files.
#[derive(Debug, Clone)]
pub struct Project {
    /// As compose writes it into labels (normalized).
    pub name: String,
    pub dir: PathBuf,
    pub compose_file: PathBuf,
    pub compat_file: PathBuf,
    pub env_file: PathBuf,
}

impl Project {
    /// Fails in `external` mode: there are no containers of ours to manage.
    pub fn from_settings(settings: &Settings, command: &str) -> Result<Project> {
        if settings.runtime == Runtime::External {
            return Err(Error::usage(format!(
                "OLMIS_RUNTIME=external: olmisctl manages no containers in this mode, so `olmisctl {command}` has nothing to do"
            ))
            .with_hint("the services run elsewhere (check them with `olmisctl verify services`); set OLMIS_RUNTIME=compose to manage the bundled Docker Compose stack"));
        }
        let name = args::normalize_project_name(&settings.compose_project);
        if name.is_empty() {
            return Err(Error::Config {
                var: "COMPOSE_PROJECT_NAME".into(),
                value: Some(settings.compose_project.clone()),
                expected: "a name with at least one letter or digit".into(),
                hint: None,
            });
        }
        let dir = settings.project_dir.clone();
        Ok(Project {
            name,
            compose_file: dir.join(COMPOSE_FILE),
            compat_file: dir.join(COMPAT_FILE),
            env_file: settings.env_file.clone(),
            dir,
        })
    }
}

/// A compose project on a reachable engine.
pub struct Stack {
    pub project: Project,
    pub engine: Engine,
}

impl Stack {
    pub async fn connect(settings: &Settings, command: &str) -> Result<Stack> {
        let project = Project::from_settings(settings, command)?;
        let engine = Engine::connect().await?;
        Ok(Stack { project, engine })
    }

    pub async fn containers(&self) -> Result<Vec<Container>> {
        self.engine.project_containers(&self.project.name).await
    }

    /// The containers of these services (all when empty). A named service without a container is
    /// an error: there is nothing to show or restart.
    pub async fn service_containers(&self, services: &[String]) -> Result<Vec<Container>> {
        let all = self.containers().await?;
        if services.is_empty() {
            return Ok(all);
        }
        let missing: Vec<&str> =
            services.iter().filter(|s| !all.iter().any(|c| &c.service == *s)).map(String::as_str).collect();
        if !missing.is_empty() {
            let mut have: Vec<&str> = all.iter().map(|c| c.service.as_str()).collect();
            have.dedup();
            let have = if have.is_empty() { "none".to_string() } else { have.join(", ") };
            return Err(Error::usage(format!(
                "no container for {} in compose project `{}` (services with containers: {have})",
                missing.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
                self.project.name
            ))
            .with_hint(format!("start it with `olmisctl up {}`", missing.join(" "))));
        }
        Ok(all.into_iter().filter(|c| services.contains(&c.service)).collect())
    }

    /// Runs a command in the running container of `service` and returns its output and exit code
    /// (a non-zero exit is not an error here: the caller decides). `env` is `NAME=value` entries.
    pub async fn exec(&self, service: &str, cmd: &[&str], env: &[String]) -> Result<ExecOutput> {
        let container = self.running_container(service).await?;
        self.engine.exec(&container, cmd, env).await
    }

    /// Like [`Stack::exec`], handing the output to `on_output` as it comes; returns the exit code.
    pub async fn exec_streaming(
        &self,
        service: &str,
        cmd: &[&str],
        on_output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<i64> {
        let container = self.running_container(service).await?;
        self.engine.exec_streaming(&container, cmd, &[], on_output).await
    }

    async fn running_container(&self, service: &str) -> Result<String> {
        let containers = self.service_containers(&[service.to_string()]).await?;
        let container = containers.iter().find(|c| c.state == RunState::Running).ok_or_else(|| {
            Error::service(
                "docker",
                format!("`{service}` has no running container in compose project `{}`", self.project.name),
            )
            .with_hint(format!("start it with `olmisctl up {service}`"))
        })?;
        Ok(container.id.clone())
    }

    /// The compose CLI for this project, after checking what it needs: the compose file, the env
    /// file, a compose command. Also decides on the compatibility overlay.
    pub async fn compose(&self, settings: &Settings) -> Result<Compose> {
        let p = &self.project;
        if !p.compose_file.is_file() {
            return Err(Error::file(&p.compose_file, "does not exist")
                .with_hint("run olmisctl in the project directory (the one holding compose/), or pass --project-dir"));
        }
        if !p.env_file.is_file() {
            return Err(Error::file(&p.env_file, "does not exist")
                .with_hint("create it with `olmisctl init` (it writes .env with fresh secrets)"));
        }
        let cli = ComposeCli::detect(settings.compose_cmd.as_deref()).await?;
        let mode =
            CompatMode::parse(settings.layers.get("OLMIS_COMPOSE_COMPAT").map(|r| r.value.as_str()).unwrap_or(""));
        let compat = compat::decide(mode, &self.engine.info.version, self.engine.info.seccomp.as_deref());
        let mut files = vec![p.compose_file.clone()];
        if compat.apply {
            if !p.compat_file.is_file() {
                return Err(Error::file(&p.compat_file, format!("is needed ({}) but does not exist", compat.reason))
                    .with_hint(
                        "restore it from the olmisctl repository, or set OLMIS_COMPOSE_COMPAT=off to try without",
                    ));
            }
            files.push(p.compat_file.clone());
        }
        // What olmisctl resolved from --set flags and its own defaults, so compose interpolates the
        // same values (environment and .env values compose reads itself). Never secrets.
        let child_env = settings
            .layers
            .iter()
            .filter(|(var, _)| !var.secret)
            .filter_map(|(var, raw)| raw.map(|r| (var, r)))
            .filter(|(_, raw)| matches!(raw.origin, Origin::Flag | Origin::Default))
            .map(|(var, raw)| (var.name.to_string(), raw.value.clone()))
            .collect();
        Ok(Compose {
            cli,
            target: Target { project: p.name.clone(), files, env_file: p.env_file.clone() },
            dir: p.dir.clone(),
            child_env,
            compat,
        })
    }
}

#[derive(Clone)]
pub struct Compose {
    pub cli: ComposeCli,
    pub target: Target,
    dir: PathBuf,
    child_env: Vec<(String, String)>,
    pub compat: CompatDecision,
}

impl Compose {
    fn args(&self, action: &Action) -> Vec<OsString> {
        args::command_line(&self.target, action)
    }

    /// Runs an action with compose's output captured (shown on `progress`, and in the error).
    pub async fn run(&self, action: &Action<'_>, progress: Option<&Progress>) -> Result<String> {
        self.cli.run(&self.args(action), &self.child_env, &self.dir, progress).await
    }

    /// Runs an action with compose's output shown as it comes.
    pub async fn run_visible(&self, action: &Action<'_>) -> Result<()> {
        self.cli.run_visible(&self.args(action), &self.child_env, &self.dir).await
    }

    /// The resolved configuration of every service. compose v2 leaves services of inactive
    /// profiles out of `config` unless all profiles are on (`*`); v1 always lists them all.
    pub async fn config(&self) -> Result<ComposeConfig> {
        let mut env = self.child_env.clone();
        env.push(("COMPOSE_PROFILES".into(), "*".into()));
        let yaml = self.cli.run(&self.args(&Action::Config), &env, &self.dir, None).await?;
        ComposeConfig::parse(&yaml, &format!("{} config", self.cli.display))
    }

    /// What compose sees for a variable: our environment, then the env file.
    fn variables(&self) -> Result<BTreeMap<String, String>> {
        let mut values = read_env_file(&self.target.env_file)?;
        values.extend(self.child_env.iter().cloned());
        values.extend(std::env::vars());
        Ok(values)
    }

    /// Variables the compose file requires (`${NAME?...}`) that are unset or empty. compose itself
    /// accepts them empty, and the service would then start without its password.
    pub fn check_required_variables(&self) -> Result<()> {
        let compose_file = &self.target.files[0];
        let text = std::fs::read_to_string(compose_file)
            .map_err(|e| Error::file(compose_file, format!("cannot read: {e}")))?;
        let values = self.variables()?;
        let missing: Vec<String> = config::required_variables(&text)
            .into_iter()
            .filter(|name| values.get(name).is_none_or(|v| v.trim().is_empty()))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::usage(format!(
            "{} needs {} but {} empty or not set in {}",
            compose_file.display(),
            missing.join(", "),
            if missing.len() == 1 { "it is" } else { "they are" },
            self.target.env_file.display()
        ))
        .with_hint("set them in the env file (`olmisctl init` fills in missing secrets)"))
    }

    /// `COMPOSE_PROFILES` as compose sees it.
    pub fn active_profiles(&self) -> Result<Vec<String>> {
        Ok(config::parse_profiles(self.variables()?.get("COMPOSE_PROFILES").map(String::as_str)))
    }
}
