//! `up` and `restart`: start (or restart) services, then wait until each is ready.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::args::Action;
use super::wait::{self, ComposeRun, Outcome, Target};
use super::{COMPAT_FILE, Compose, Stack};
use crate::error::{Error, Result};
use crate::output::{Output, Report, Styles};

#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    pub project: String,
    /// Whether `compose/docker-compose.compat.yml` was applied (`up` only).
    pub compat_overlay: bool,
    pub networks_created: Vec<String>,
    pub services: Vec<Outcome>,
}

impl Report for StartReport {
    fn human(&self, styles: &Styles) -> String {
        let width = self.services.iter().map(|o| o.service.len()).max().unwrap_or(0);
        let mut text = format!(
            "{} {} ready in compose project `{}`:\n",
            self.services.len(),
            if self.services.len() == 1 { "service is" } else { "services are" },
            self.project
        );
        for o in &self.services {
            let status =
                serde_json::to_value(o.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            text.push_str(&format!(
                "  {:<width$}  {} {}\n",
                o.service,
                styles.ok.apply_to(status),
                styles.dim.apply_to(format!("after {:.1}s", o.seconds))
            ));
        }
        text
    }
}

/// Starts services (all when `services` is empty) through `compose up -d` and waits until each of
/// them and their dependencies is ready. `timeout` overrides every service's default
/// (`readiness::default_timeout`).
pub async fn up(
    stack: &Stack,
    compose: &Compose,
    out: &Output,
    services: &[String],
    timeout: Option<Duration>,
) -> Result<StartReport> {
    compose.check_required_variables()?;
    let config = compose.config().await?;
    config.check_services(services)?;
    if compose.compat.apply {
        out.info(format!("Adding {COMPAT_FILE}: {}", compose.compat.reason));
    }
    let mut networks_created = Vec::new();
    for network in &config.external_networks {
        if stack.engine.ensure_network(network).await? {
            out.info(format!("Created the external network `{network}` the compose file expects"));
            networks_created.push(network.clone());
        }
    }
    let targets: Vec<Target> = config
        .services_to_start(services, &compose.active_profiles()?)
        .into_iter()
        .map(|service| Target {
            depends_on: config.services.get(&service).map(|s| s.depends_on.clone()).unwrap_or_default(),
            service,
            timeout,
        })
        .collect();
    let since = SystemTime::now();
    let group = out.progress_group();
    let line = group.progress(format!("{} up", compose.cli.display));
    let task_compose = compose.clone();
    let task_line = line.clone();
    let requested = services.to_vec();
    let handle =
        tokio::spawn(async move { task_compose.run(&Action::Up(&requested), Some(&task_line)).await.map(|_| ()) });
    let run = ComposeRun { handle, line };
    let (outcomes, compose_error) = wait::wait_ready(stack, &group, &targets, Some(run), since).await?;
    if let Some(err) = wait::failure_error(&stack.project.name, &outcomes, compose_error) {
        return Err(err);
    }
    Ok(StartReport {
        project: stack.project.name.clone(),
        compat_overlay: compose.compat.apply,
        networks_created,
        services: outcomes,
    })
}

/// Restarts the containers of some services (all when empty) through the Engine API and waits
/// until they are ready again.
pub async fn restart(
    stack: &Stack,
    out: &Output,
    services: &[String],
    timeout: Option<Duration>,
) -> Result<StartReport> {
    let containers = stack.service_containers(services).await?;
    if containers.is_empty() {
        return Err(Error::usage(format!("compose project `{}` has no containers to restart", stack.project.name))
            .with_hint("start the stack with `olmisctl up`"));
    }
    let names: BTreeSet<String> = containers.iter().map(|c| c.service.clone()).collect();
    let group = out.progress_group();
    let line = group.progress(format!("restarting {}", names.iter().cloned().collect::<Vec<_>>().join(", ")));
    let restarts = containers.iter().map(|c| stack.engine.restart(&c.id));
    let results = futures_util::future::join_all(restarts).await;
    if let Some(err) = results.into_iter().find_map(Result::err) {
        line.fail("failed");
        return Err(err);
    }
    line.finish("restarted");
    let targets: Vec<Target> =
        names.into_iter().map(|service| Target { service, timeout, depends_on: Vec::new() }).collect();
    let (outcomes, _) = wait::wait_ready(stack, &group, &targets, None, SystemTime::now()).await?;
    if let Some(err) = wait::failure_error(&stack.project.name, &outcomes, None) {
        return Err(err);
    }
    Ok(StartReport {
        project: stack.project.name.clone(),
        compat_overlay: false,
        networks_created: Vec::new(),
        services: outcomes,
    })
}
