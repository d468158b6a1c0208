//! Which steps `setup` takes, in which order, and which it skips (pure). Every step that runs
//! checks its own done-state first, so a plan is the same on the first run and on a re-run: what
//! differs is whether a step finds its work already done.

use serde::Serialize;

use crate::settings::{Runtime, Settings};

/// The compose service of the demo source (profile `demo`), as containers reach it.
pub const DEMO_SOURCE_SERVICE: &str = "demo-source";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Init,
    Up,
    DemoSeed,
    Preflight,
    RegisterConnector,
    ClickhouseInit,
    Snapshot,
    DbtBuild,
    SupersetImport,
    Schedule,
    Verify,
}

impl Step {
    pub const ALL: [Step; 11] = [
        Step::Init,
        Step::Up,
        Step::DemoSeed,
        Step::Preflight,
        Step::RegisterConnector,
        Step::ClickhouseInit,
        Step::Snapshot,
        Step::DbtBuild,
        Step::SupersetImport,
        Step::Schedule,
        Step::Verify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Init => "init",
            Step::Up => "up",
            Step::DemoSeed => "demo-seed",
            Step::Preflight => "preflight",
            Step::RegisterConnector => "register-connector",
            Step::ClickhouseInit => "clickhouse-init",
            Step::Snapshot => "snapshot",
            Step::DbtBuild => "dbt-build",
            Step::SupersetImport => "superset-import",
            Step::Schedule => "schedule",
            Step::Verify => "verify",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Init => "Write .env with fresh secrets",
            Step::Up => "Start the Docker Compose stack and wait until it is healthy",
            Step::DemoSeed => "Fill the demo source with OpenLMIS-shaped data",
            Step::Preflight => "Check the source database (logical replication, publication, privileges)",
            Step::RegisterConnector => "Register the Debezium connector",
            Step::ClickhouseInit => "Create the raw landing in ClickHouse",
            Step::Snapshot => "Wait for the initial snapshot to land in ClickHouse",
            Step::DbtBuild => "Build the dbt marts",
            Step::SupersetImport => "Import the Superset dashboards",
            Step::Schedule => "Unpause Airflow's platform_refresh",
            Step::Verify => "Verify every part of the platform",
        }
    }

    /// The command that does this step on its own (`setup` itself resumes at any step).
    pub fn command(self) -> &'static str {
        match self {
            Step::Init => "olmisctl init",
            Step::Up => "olmisctl up",
            Step::DemoSeed => "olmisctl demo seed",
            Step::Preflight | Step::RegisterConnector => "olmisctl register-connector",
            Step::ClickhouseInit => "olmisctl clickhouse-init",
            Step::Snapshot => "olmisctl verify ingestion",
            Step::DbtBuild => "olmisctl dbt-build",
            Step::SupersetImport => "olmisctl superset-import",
            Step::Schedule => "olmisctl verify airflow",
            Step::Verify => "olmisctl verify all",
        }
    }
}

/// What decides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub runtime: Runtime,
    /// `.env` was missing when setup started (and `init` created it).
    pub env_created: bool,
    /// The source is the bundled demo source, to be filled by `demo seed`.
    pub demo: bool,
}

impl Facts {
    /// The demo source is used when asked (`--demo`), or in compose mode when the source is the
    /// compose stack's own `demo-source` service (what `.env.example` configures).
    pub fn from_settings(settings: &Settings, env_created: bool, demo_asked: bool) -> Facts {
        let compose = settings.runtime == Runtime::Compose;
        Facts {
            runtime: settings.runtime,
            env_created,
            demo: demo_asked || (compose && settings.source.connect_host == DEMO_SOURCE_SERVICE),
        }
    }
}

/// The compose services setup starts: the default ones (active profiles), plus the demo source
/// when it is used (its profile need not be active).
pub fn compose_services(mut defaults: Vec<String>, demo: bool) -> Vec<String> {
    if demo && !defaults.iter().any(|s| s == DEMO_SOURCE_SERVICE) {
        defaults.push(DEMO_SOURCE_SERVICE.to_string());
    }
    defaults
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub step: Step,
    /// Why the step does not apply to this deployment (`None`: it runs).
    pub skip: Option<String>,
}

pub fn plan(facts: &Facts) -> Vec<Planned> {
    Step::ALL
        .iter()
        .map(|&step| {
            let skip = match step {
                Step::Init if !facts.env_created => Some(".env exists: your values are kept".to_string()),
                Step::Up if facts.runtime == Runtime::External => {
                    Some("external mode: the services run elsewhere".to_string())
                }
                Step::DemoSeed if !facts.demo => {
                    Some("the source is an OpenLMIS database (no demo data; `--demo` asks for it)".to_string())
                }
                _ => None,
            };
            Planned { step, skip }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(plan: &[Planned]) -> Vec<Step> {
        plan.iter().filter(|p| p.skip.is_some()).map(|p| p.step).collect()
    }

    #[test]
    fn fresh_compose_demo_runs_every_step_in_order() {
        let plan = plan(&Facts { runtime: Runtime::Compose, env_created: true, demo: true });
        assert_eq!(plan.iter().map(|p| p.step).collect::<Vec<_>>(), Step::ALL.to_vec());
        assert!(skipped(&plan).is_empty());
    }

    #[test]
    fn external_mode_skips_the_containers_and_a_real_source_skips_the_demo() {
        let plan = plan(&Facts { runtime: Runtime::External, env_created: false, demo: false });
        assert_eq!(skipped(&plan), vec![Step::Init, Step::Up, Step::DemoSeed]);
        assert!(plan[1].skip.as_deref().unwrap().contains("external mode"));
    }

    #[test]
    fn the_demo_source_service_is_added_once() {
        let defaults = vec!["kafka".to_string(), "clickhouse".to_string()];
        assert_eq!(compose_services(defaults.clone(), false), defaults);
        let with_demo = compose_services(defaults.clone(), true);
        assert_eq!(with_demo, vec!["kafka", "clickhouse", "demo-source"]);
        assert_eq!(compose_services(with_demo.clone(), true), with_demo);
    }

    #[test]
    fn the_demo_source_is_detected_in_compose_mode_only() {
        let load = |pairs: &[(&str, &str)]| {
            let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Settings::load(std::path::Path::new("/p"), std::path::Path::new("/p/.env-none"), &[], &env).unwrap()
        };
        let demo = load(&[("SOURCE_PG_CONNECT_HOST", "demo-source")]);
        assert!(Facts::from_settings(&demo, false, false).demo);
        let external = load(&[("SOURCE_PG_CONNECT_HOST", "demo-source"), ("OLMIS_RUNTIME", "external")]);
        assert!(!Facts::from_settings(&external, false, false).demo);
        assert!(Facts::from_settings(&external, false, true).demo);
        let real = load(&[("SOURCE_PG_HOST", "db.example.org")]);
        assert!(!Facts::from_settings(&real, false, false).demo);
    }
}
