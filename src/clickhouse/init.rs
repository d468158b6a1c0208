//! `olmisctl clickhouse-init`: read what exists, compare it with what should, run the plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ddl::{self, Kind, Layout, Object, TopicNames};
use super::display::count;
use super::drift::{self, Fix};
use super::plan::{self, Assessed, ObjectOutcome, Outcome, Status};
use super::sqltext;
use super::template::literal;
use super::topics::{self, Topic, TopicSet};
use crate::clients::clickhouse::ClickHouse;
use crate::context::Ctx;
use crate::error::{Exit, Result};
use crate::output::{Report, Styles};

/// The DDL for the configured topics, for `--print-sql`: no connection needed.
pub fn print_sql(ctx: &Ctx) -> Result<String> {
    let set = topics::resolve(&ctx.settings)?;
    let layout = Layout::from_settings(&ctx.settings.clickhouse);
    let objects = ddl::full_ddl(&set.topics, &layout)?;
    Ok(objects.iter().map(|o| format!("{};\n", o.sql)).collect::<Vec<_>>().join("\n"))
}

pub async fn run(ctx: &Ctx, migrate: bool) -> Result<InitReport> {
    let set = topics::resolve(&ctx.settings)?;
    let layout = Layout::from_settings(&ctx.settings.clickhouse);
    let ch = ClickHouse::new(&ctx.settings)?;

    let progress = ctx.out.progress(format!("Reading the raw layer at {}", ch.url()));
    let existing = Existing::load(&ch, &layout).await?;
    let groups = existing.consumer_groups(&layout.raw, &set.topics);
    let platform = ddl::platform_objects(&layout)?;
    let mut topic_objects = Vec::with_capacity(set.topics.len());
    for topic in &set.topics {
        let group = groups.get(&topic.name).cloned().unwrap_or_else(|| ddl::default_group(&layout.raw, topic));
        topic_objects.push(ddl::topic_objects(topic, &layout, &group)?);
    }
    let platform = assess(&ch, &existing, platform).await?;
    let mut assessed_topics = Vec::with_capacity(topic_objects.len());
    for (i, objects) in topic_objects.into_iter().enumerate() {
        progress.update(format!("{}/{} topics", i + 1, set.topics.len()));
        assessed_topics.push(assess(&ch, &existing, objects).await?);
    }
    let plan = plan::plan(&platform, &assessed_topics, migrate, &layout)?;
    progress.finish(format!(
        "{}, {} to run",
        count(set.topics.len() as u64, "topic"),
        count(plan.steps.len() as u64, "statement")
    ));

    let mut statements = Vec::with_capacity(plan.steps.len());
    if !plan.steps.is_empty() {
        let progress = ctx.out.progress(format!("Applying {}", count(plan.steps.len() as u64, "statement")));
        for (i, step) in plan.steps.iter().enumerate() {
            progress.update(format!("{}/{}: {:?} {}", i + 1, plan.steps.len(), step.action, step.object));
            if let Err(err) = ch.execute(&step.sql).await {
                progress.fail(format!("{:?} {} failed", step.action, step.object));
                return Err(err.with_hint(
                    "fix the cause and run `olmisctl clickhouse-init` again: it picks up where this run stopped",
                ));
            }
            statements.push(without_comments(&step.sql));
        }
        progress.finish("done");
    }
    Ok(InitReport::new(&set, &layout, &groups, migrate, plan.outcomes, statements))
}

/// Raw-layer tables and databases on the server, with their stored definitions made canonical.
struct Existing {
    databases: BTreeSet<String>,
    tables: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct TableRow {
    name: String,
    create_table_query: String,
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

impl Existing {
    async fn load(ch: &ClickHouse, layout: &Layout) -> Result<Existing> {
        let databases: Vec<NameRow> = ch
            .rows(&format!(
                "SELECT name FROM system.databases WHERE name IN ({}, {})",
                literal(&layout.raw),
                literal(&layout.curated)
            ))
            .await?;
        let tables: Vec<TableRow> = ch
            .rows(&format!(
                "SELECT name, create_table_query FROM system.tables WHERE database = {} AND NOT is_temporary",
                literal(&layout.raw)
            ))
            .await?;
        Ok(Existing {
            databases: databases.into_iter().map(|r| r.name).collect(),
            tables: tables
                .into_iter()
                .map(|r| (format!("{}.{}", layout.raw, r.name), sqltext::canonical(&r.create_table_query)))
                .collect(),
        })
    }

    /// Each topic's consumer group: the existing Kafka table's (its offsets are the landing's
    /// position and must never be reset), else a new one.
    fn consumer_groups(&self, raw: &str, topics: &[Topic]) -> BTreeMap<String, String> {
        topics
            .iter()
            .map(|topic| {
                let existing = self
                    .tables
                    .get(&TopicNames::of(raw, topic).kafka)
                    .and_then(|q| sqltext::parse(q).setting("kafka_group_name"))
                    .map(|v| sqltext::unquote(&v));
                (topic.name.clone(), existing.unwrap_or_else(|| ddl::default_group(raw, topic)))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct Formatted {
    queries: Vec<String>,
}

/// Compares each object with the server, in one round trip: the server formats our statements so
/// both sides of every comparison come from the same formatter.
async fn assess(ch: &ClickHouse, existing: &Existing, objects: Vec<Object>) -> Result<Vec<Assessed>> {
    let compared: Vec<&Object> =
        objects.iter().filter(|o| o.kind != Kind::Database && existing.tables.contains_key(&o.name)).collect();
    let formatted = if compared.is_empty() {
        Vec::new()
    } else {
        let list = compared.iter().map(|o| literal(&without_comments(&o.sql))).collect::<Vec<_>>().join(", ");
        let rows: Vec<Formatted> =
            ch.rows(&format!("SELECT arrayMap(q -> formatQuerySingleLine(q), [{list}]) AS queries")).await?;
        rows.into_iter().next().map(|r| r.queries).unwrap_or_default()
    };
    let expected: BTreeMap<String, String> =
        compared.iter().zip(formatted).map(|(o, q)| (o.name.clone(), sqltext::canonical(&q))).collect();
    Ok(objects
        .into_iter()
        .map(|object| {
            let status = match object.kind {
                Kind::Database if existing.databases.contains(&object.name) => Status::Current,
                Kind::Database => Status::Missing,
                _ => match (existing.tables.get(&object.name), expected.get(&object.name)) {
                    (Some(found), Some(want)) => match drift::compare(object.kind, want, found) {
                        None => Status::Current,
                        Some((differences, fix)) => Status::Drifted { differences, fix },
                    },
                    _ => Status::Missing,
                },
            };
            Assessed { object, status }
        })
        .collect())
}

/// A statement without its explanatory comment lines, for JSON and for server round trips.
fn without_comments(sql: &str) -> String {
    sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n")
}

#[derive(Debug, Serialize)]
pub struct TopicOutcome {
    pub topic: String,
    pub table: String,
    pub consumer_group: String,
    /// The most significant outcome among the topic's objects.
    pub outcome: Outcome,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub created: usize,
    pub rebuilt: usize,
    pub migrated: usize,
    pub unchanged: usize,
    pub drifted: usize,
    pub needs_manual: usize,
}

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub topics_from: String,
    pub cluster: Option<String>,
    pub ttl_days: u32,
    pub migrate: bool,
    pub topics: Vec<TopicOutcome>,
    pub objects: Vec<ObjectOutcome>,
    /// The statements run, in order (comments stripped).
    pub statements: Vec<String>,
    pub summary: Summary,
}

impl InitReport {
    fn new(
        set: &TopicSet,
        layout: &Layout,
        groups: &BTreeMap<String, String>,
        migrate: bool,
        objects: Vec<ObjectOutcome>,
        statements: Vec<String>,
    ) -> InitReport {
        let count = |o: Outcome| objects.iter().filter(|x| x.outcome == o).count();
        let summary = Summary {
            created: count(Outcome::Created),
            rebuilt: count(Outcome::Rebuilt),
            migrated: count(Outcome::Migrated),
            unchanged: count(Outcome::Unchanged),
            drifted: count(Outcome::Drifted),
            needs_manual: count(Outcome::NeedsManual),
        };
        let topics = set
            .topics
            .iter()
            .map(|topic| {
                let names = TopicNames::of(&layout.raw, topic);
                let outcome = objects
                    .iter()
                    .filter(|o| names.all().contains(&o.name.as_str()))
                    .map(|o| o.outcome)
                    .max()
                    .unwrap_or(Outcome::Unchanged);
                TopicOutcome {
                    topic: topic.name.clone(),
                    table: names.events,
                    consumer_group: groups.get(&topic.name).cloned().unwrap_or_default(),
                    outcome,
                }
            })
            .collect();
        InitReport {
            topics_from: set.source.to_string(),
            cluster: layout.cluster.clone(),
            ttl_days: layout.ttl_days,
            migrate,
            topics,
            objects,
            statements,
            summary,
        }
    }

    fn problems(&self) -> impl Iterator<Item = &ObjectOutcome> {
        self.objects.iter().filter(|o| o.outcome.is_problem())
    }
}

impl Report for InitReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = format!(
            "{} {} from {}{}\n",
            styles.bold.apply_to("ClickHouse raw landing:"),
            count(self.topics.len() as u64, "topic"),
            self.topics_from,
            self.cluster.as_ref().map(|c| format!(", cluster {c}")).unwrap_or_default()
        );
        let style = |o: Outcome| match o {
            Outcome::Unchanged => &styles.dim,
            Outcome::Created | Outcome::Migrated | Outcome::Rebuilt => &styles.ok,
            Outcome::Drifted => &styles.warn,
            Outcome::NeedsManual => &styles.fail,
        };
        for t in &self.topics {
            let label = format!("{:9}", t.outcome.label());
            out.push_str(&format!("  {} {} -> {}\n", style(t.outcome).apply_to(label), t.topic, t.table));
        }
        for o in self.objects.iter().filter(|o| o.kind == Kind::Database || o.kind == Kind::ErrorsTable) {
            if o.outcome != Outcome::Unchanged {
                let label = format!("{:9}", o.outcome.label());
                out.push_str(&format!("  {} {}\n", style(o.outcome).apply_to(label), o.name));
            }
        }
        for o in self.problems() {
            out.push_str(&format!(
                "\n{} {} ({})\n",
                style(o.outcome).apply_to(o.outcome.label()),
                o.name,
                kind_label(o.kind)
            ));
            for d in &o.differences {
                out.push_str(&format!("    {d}\n"));
            }
            let fix = match &o.fix {
                Some(Fix::Manual { reason }) => reason.clone(),
                Some(Fix::Recreate) if o.kind == Kind::KafkaTable => {
                    "`olmisctl clickhouse-init --migrate` recreates it with the same consumer group, so landing resumes from its committed offsets".into()
                }
                Some(Fix::Recreate) => "`olmisctl clickhouse-init --migrate` recreates it (it holds no rows)".into(),
                Some(Fix::Alter { changes }) => format!(
                    "`olmisctl clickhouse-init --migrate` runs ALTER TABLE ... {} (rows are kept)",
                    changes.join("; ")
                ),
                None => String::new(),
            };
            out.push_str(&format!("    {} {fix}\n", styles.dim.apply_to("fix:")));
        }
        let s = &self.summary;
        let mut parts = vec![format!("{} created", s.created)];
        for (n, label) in [(s.migrated, "migrated"), (s.rebuilt, "rebuilt")] {
            if n > 0 {
                parts.push(format!("{n} {label}"));
            }
        }
        parts.push(format!("{} unchanged", s.unchanged));
        for (n, label) in [(s.drifted, "drifted"), (s.needs_manual, "need manual changes")] {
            if n > 0 {
                parts.push(format!("{n} {label}"));
            }
        }
        out.push_str(&format!("\nObjects: {}\n", parts.join(", ")));
        if s.drifted > 0 {
            out.push_str(
                "Run `olmisctl clickhouse-init --migrate` to apply the changes (rows and consumer offsets are kept).\n",
            );
        }
        out
    }

    fn exit(&self) -> Exit {
        if self.problems().next().is_some() { Exit::Failed } else { Exit::Ok }
    }
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Database => "database",
        Kind::ErrorsTable => "error table",
        Kind::EventsTable => "events table",
        Kind::ParsedTable => "parsed stream, engine Null",
        Kind::EventsView => "view to the events table",
        Kind::ErrorsView => "view to the error table",
        Kind::KafkaTable => "Kafka table",
        Kind::ParsedView => "consuming view",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::drift::Difference;
    use crate::settings::TableName;

    fn report(outcome: Outcome, fix: Option<Fix>) -> InitReport {
        let topic = Topic::new("openlmis", &TableName::parse("referencedata.facilities").unwrap());
        let set = TopicSet { source: topics::TopicSource::Allowlist, topics: vec![topic.clone()] };
        let layout = Layout::for_tests();
        let groups = BTreeMap::from([(topic.name.clone(), ddl::default_group(&layout.raw, &topic))]);
        let objects = ddl::topic_objects(&topic, &layout, "g")
            .unwrap()
            .into_iter()
            .map(|o| {
                let drifted = o.kind == Kind::KafkaTable;
                ObjectOutcome {
                    name: o.name,
                    kind: o.kind,
                    outcome: if drifted { outcome } else { Outcome::Unchanged },
                    differences: if drifted {
                        vec![Difference {
                            part: "setting kafka_flush_interval_ms".into(),
                            expected: "500".into(),
                            found: "7500".into(),
                        }]
                    } else {
                        vec![]
                    },
                    fix: if drifted { fix.clone() } else { None },
                }
            })
            .collect();
        InitReport::new(&set, &layout, &groups, false, objects, vec![])
    }

    #[test]
    fn drift_is_explained_with_its_fix_and_fails() {
        let r = report(Outcome::Drifted, Some(Fix::Recreate));
        assert_eq!(r.exit(), Exit::Failed);
        insta::assert_snapshot!(r.human(&Styles::plain()));
    }

    #[test]
    fn unchanged_passes() {
        let r = report(Outcome::Unchanged, None);
        assert_eq!(r.exit(), Exit::Ok);
        assert!(r.human(&Styles::plain()).contains("unchanged openlmis.referencedata.facilities"));
    }

    #[test]
    fn comments_are_stripped_from_reported_statements() {
        assert_eq!(without_comments("-- a\nSELECT 1\n  -- b\nFROM x"), "SELECT 1\nFROM x");
    }
}
