//! From "what exists" and "what should exist" to the statements to run, in a safe order.
//!
//! The rules that keep data safe:
//! - Tables with rows (events, errors) are created or altered, never dropped.
//! - Anything else in a topic's pipeline holds no rows and may be dropped and created again; the
//!   Kafka table keeps its consumer group, so its committed offsets survive.
//! - The consuming view (`raw.parsed_<t>_mv`) is dropped before any other part of its pipeline is
//!   touched and created after all of them exist, so no message passes a half-built pipeline.
//!   Stopping it loses nothing: the consumer resumes from its committed offset.

use std::collections::BTreeSet;

use serde::Serialize;

use super::ddl::{self, Kind, Layout, Object};
use super::drift::{Difference, Fix};
use crate::error::Result;

/// An object as found on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Missing,
    Current,
    Drifted { differences: Vec<Difference>, fix: Fix },
}

#[derive(Debug, Clone)]
pub struct Assessed {
    pub object: Object,
    pub status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Unchanged,
    /// Dropped and created again with its pipeline; its definition had not changed.
    Rebuilt,
    Created,
    /// Brought in line with the expected definition (`--migrate`).
    Migrated,
    /// Differs and was left as it is (run with `--migrate`).
    Drifted,
    /// Differs in a way `--migrate` can't fix in place.
    NeedsManual,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Rebuilt => "rebuilt",
            Outcome::Created => "created",
            Outcome::Migrated => "migrated",
            Outcome::Drifted => "drift",
            Outcome::NeedsManual => "manual",
        }
    }

    /// The command left the server different from the configuration.
    pub fn is_problem(self) -> bool {
        matches!(self, Outcome::Drifted | Outcome::NeedsManual)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Drop,
    Alter,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub object: String,
    pub action: Action,
    pub sql: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectOutcome {
    pub name: String,
    pub kind: Kind,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub outcomes: Vec<ObjectOutcome>,
}

impl Plan {
    fn create(&mut self, object: &Object) {
        self.steps.push(Step { object: object.name.clone(), action: Action::Create, sql: object.sql.clone() });
    }

    fn drop(&mut self, name: &str, layout: &Layout) -> Result<()> {
        self.steps.push(Step { object: name.to_string(), action: Action::Drop, sql: ddl::drop_sql(name, layout)? });
        Ok(())
    }

    fn alter(&mut self, name: &str, changes: &[String], layout: &Layout) -> Result<()> {
        for change in changes {
            let sql = ddl::alter_sql(name, layout, change)?;
            self.steps.push(Step { object: name.to_string(), action: Action::Alter, sql });
        }
        Ok(())
    }

    fn record(&mut self, assessed: &Assessed, outcome: Outcome) {
        let (differences, fix) = match &assessed.status {
            Status::Drifted { differences, fix } => (differences.clone(), Some(fix.clone())),
            _ => (Vec::new(), None),
        };
        self.outcomes.push(ObjectOutcome {
            name: assessed.object.name.clone(),
            kind: assessed.object.kind,
            outcome,
            differences,
            fix,
        });
    }

    /// A table with rows: create it, alter it (`--migrate`), or report it.
    fn table_with_rows(&mut self, assessed: &Assessed, migrate: bool, layout: &Layout) -> Result<()> {
        let outcome = match &assessed.status {
            Status::Missing => {
                self.create(&assessed.object);
                Outcome::Created
            }
            Status::Current => Outcome::Unchanged,
            Status::Drifted { fix: Fix::Manual { .. }, .. } => Outcome::NeedsManual,
            Status::Drifted { fix: Fix::Alter { changes }, .. } if migrate => {
                self.alter(&assessed.object.name, changes, layout)?;
                Outcome::Migrated
            }
            Status::Drifted { .. } => Outcome::Drifted,
        };
        self.record(assessed, outcome);
        Ok(())
    }
}

/// `platform` is databases and raw.errors; `topics` holds each topic's objects in creation order
/// (as `ddl::topic_objects` returns them).
pub fn plan(platform: &[Assessed], topics: &[Vec<Assessed>], migrate: bool, layout: &Layout) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut errors_table_created = false;
    for assessed in platform {
        match assessed.object.kind {
            Kind::ErrorsTable => {
                errors_table_created = assessed.status == Status::Missing;
                plan.table_with_rows(assessed, migrate, layout)?;
            }
            _ => {
                let outcome = if assessed.status == Status::Missing {
                    plan.create(&assessed.object);
                    Outcome::Created
                } else {
                    Outcome::Unchanged
                };
                plan.record(assessed, outcome);
            }
        }
    }
    for objects in topics {
        topic_pipeline(&mut plan, objects, migrate, errors_table_created, layout)?;
    }
    Ok(plan)
}

fn topic_pipeline(
    plan: &mut Plan,
    objects: &[Assessed],
    migrate: bool,
    errors_table_created: bool,
    layout: &Layout,
) -> Result<()> {
    let of = |kind: Kind| objects.iter().find(|a| a.object.kind == kind);
    let mut rebuild: BTreeSet<Kind> = BTreeSet::new();
    for a in objects.iter().filter(|a| !a.object.kind.keeps_rows()) {
        let recreate = matches!(a.status, Status::Drifted { fix: Fix::Recreate, .. }) && migrate;
        if a.status == Status::Missing || recreate {
            rebuild.insert(a.object.kind);
        }
    }
    // A view is bound to the tables it reads and writes when it is created: new tables mean new views.
    if rebuild.contains(&Kind::ParsedTable) {
        rebuild.extend([Kind::EventsView, Kind::ErrorsView, Kind::ParsedView]);
    }
    if rebuild.contains(&Kind::KafkaTable) {
        rebuild.insert(Kind::ParsedView);
    }
    if of(Kind::EventsTable).is_some_and(|a| a.status == Status::Missing) {
        rebuild.insert(Kind::EventsView);
    }
    if errors_table_created {
        rebuild.insert(Kind::ErrorsView);
    }
    if !rebuild.is_empty() {
        rebuild.insert(Kind::ParsedView);
    }
    let exists = |kind: Kind| of(kind).is_some_and(|a| a.status != Status::Missing);

    if rebuild.contains(&Kind::ParsedView) && exists(Kind::ParsedView) {
        plan.drop(&name(objects, Kind::ParsedView), layout)?;
    }
    for kind in [Kind::ErrorsView, Kind::EventsView, Kind::KafkaTable, Kind::ParsedTable] {
        if rebuild.contains(&kind) && exists(kind) {
            plan.drop(&name(objects, kind), layout)?;
        }
    }
    for a in objects {
        let kind = a.object.kind;
        if kind.keeps_rows() {
            plan.table_with_rows(a, migrate, layout)?;
            continue;
        }
        let outcome = match (&a.status, rebuild.contains(&kind)) {
            (Status::Missing, _) => Outcome::Created,
            (Status::Drifted { .. }, true) => Outcome::Migrated,
            (Status::Current, true) => Outcome::Rebuilt,
            (Status::Drifted { .. }, false) => Outcome::Drifted,
            (Status::Current, false) => Outcome::Unchanged,
        };
        if rebuild.contains(&kind) {
            plan.create(&a.object);
        }
        plan.record(a, outcome);
    }
    Ok(())
}

fn name(objects: &[Assessed], kind: Kind) -> String {
    objects.iter().find(|a| a.object.kind == kind).map(|a| a.object.name.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::topics::Topic;
    use crate::settings::TableName;

    fn layout() -> Layout {
        Layout { brokers: vec!["k:9092".into()], ..Layout::for_tests() }
    }

    fn topic_objects(status: impl Fn(Kind) -> Status) -> Vec<Assessed> {
        let topic = Topic::new("p", &TableName::parse("s.t").unwrap());
        ddl::topic_objects(&topic, &layout(), "g")
            .unwrap()
            .into_iter()
            .map(|object| Assessed { status: status(object.kind), object })
            .collect()
    }

    fn platform(status: Status) -> Vec<Assessed> {
        ddl::platform_objects(&layout())
            .unwrap()
            .into_iter()
            .map(|object| Assessed { object, status: status.clone() })
            .collect()
    }

    fn steps(plan: &Plan) -> Vec<String> {
        plan.steps.iter().map(|s| format!("{:?} {}", s.action, s.object)).collect()
    }

    fn drifted(fix: Fix) -> Status {
        Status::Drifted { differences: vec![], fix }
    }

    #[test]
    fn fresh_install_creates_everything_consuming_view_last() {
        let result = plan(&platform(Status::Missing), &[topic_objects(|_| Status::Missing)], false, &layout()).unwrap();
        assert_eq!(
            steps(&result),
            [
                "Create raw",
                "Create curated",
                "Create raw.errors",
                "Create raw.events_s_t",
                "Create raw.parsed_s_t",
                "Create raw.events_s_t_mv",
                "Create raw.errors_s_t_mv",
                "Create raw.kafka_s_t",
                "Create raw.parsed_s_t_mv"
            ]
        );
        assert!(result.outcomes.iter().all(|o| o.outcome == Outcome::Created));
    }

    #[test]
    fn a_current_install_runs_nothing() {
        let result = plan(&platform(Status::Current), &[topic_objects(|_| Status::Current)], true, &layout()).unwrap();
        assert!(result.steps.is_empty());
        assert!(result.outcomes.iter().all(|o| o.outcome == Outcome::Unchanged));
    }

    #[test]
    fn a_missing_view_is_added_behind_a_stopped_consumer() {
        let objects = topic_objects(|k| if k == Kind::ErrorsView { Status::Missing } else { Status::Current });
        let result = plan(&platform(Status::Current), &[objects], false, &layout()).unwrap();
        assert_eq!(steps(&result), ["Drop raw.parsed_s_t_mv", "Create raw.errors_s_t_mv", "Create raw.parsed_s_t_mv"]);
    }

    #[test]
    fn drift_is_reported_without_migrate_and_fixed_with_it() {
        let objects =
            || topic_objects(|k| if k == Kind::KafkaTable { drifted(Fix::Recreate) } else { Status::Current });
        let report_only = plan(&platform(Status::Current), &[objects()], false, &layout()).unwrap();
        assert!(report_only.steps.is_empty());
        let kafka = report_only.outcomes.iter().find(|o| o.kind == Kind::KafkaTable).unwrap();
        assert_eq!(kafka.outcome, Outcome::Drifted);

        let migrated = plan(&platform(Status::Current), &[objects()], true, &layout()).unwrap();
        assert_eq!(
            steps(&migrated),
            ["Drop raw.parsed_s_t_mv", "Drop raw.kafka_s_t", "Create raw.kafka_s_t", "Create raw.parsed_s_t_mv"]
        );
        let outcome = |kind| migrated.outcomes.iter().find(|o| o.kind == kind).unwrap().outcome;
        assert_eq!(outcome(Kind::KafkaTable), Outcome::Migrated);
        assert_eq!(outcome(Kind::ParsedView), Outcome::Rebuilt);
        assert_eq!(outcome(Kind::EventsTable), Outcome::Unchanged);
    }

    #[test]
    fn a_recreated_parsed_table_takes_its_views_along() {
        let objects = topic_objects(|k| if k == Kind::ParsedTable { drifted(Fix::Recreate) } else { Status::Current });
        let result = plan(&platform(Status::Current), &[objects], true, &layout()).unwrap();
        assert_eq!(
            steps(&result),
            [
                "Drop raw.parsed_s_t_mv",
                "Drop raw.errors_s_t_mv",
                "Drop raw.events_s_t_mv",
                "Drop raw.parsed_s_t",
                "Create raw.parsed_s_t",
                "Create raw.events_s_t_mv",
                "Create raw.errors_s_t_mv",
                "Create raw.parsed_s_t_mv"
            ]
        );
    }

    #[test]
    fn tables_with_rows_are_altered_never_dropped() {
        let alter = Fix::Alter { changes: vec!["REMOVE TTL".into()] };
        let objects = topic_objects(|k| if k == Kind::EventsTable { drifted(alter.clone()) } else { Status::Current });
        let result = plan(&platform(Status::Current), &[objects], true, &layout()).unwrap();
        assert_eq!(steps(&result), ["Alter raw.events_s_t"]);
        assert!(result.steps[0].sql.ends_with("ALTER TABLE raw.events_s_t REMOVE TTL"), "{}", result.steps[0].sql);

        let manual = Fix::Manual { reason: "x".into() };
        let objects = topic_objects(|k| if k == Kind::EventsTable { drifted(manual.clone()) } else { Status::Current });
        let manual_plan = plan(&platform(Status::Current), &[objects], true, &layout()).unwrap();
        assert!(manual_plan.steps.is_empty());
        assert!(manual_plan.outcomes.iter().any(|o| o.outcome == Outcome::NeedsManual));
    }

    #[test]
    fn a_new_errors_table_gets_new_error_views() {
        let platform = platform(Status::Current)
            .into_iter()
            .map(|mut a| {
                if a.object.kind == Kind::ErrorsTable {
                    a.status = Status::Missing;
                }
                a
            })
            .collect::<Vec<_>>();
        let result = plan(&platform, &[topic_objects(|_| Status::Current)], false, &layout()).unwrap();
        assert_eq!(
            steps(&result),
            [
                "Create raw.errors",
                "Drop raw.parsed_s_t_mv",
                "Drop raw.errors_s_t_mv",
                "Create raw.errors_s_t_mv",
                "Create raw.parsed_s_t_mv"
            ]
        );
    }
}
