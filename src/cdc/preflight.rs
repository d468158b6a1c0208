//! The source preflight, evaluated (pure) over facts gathered from PostgreSQL by `source_facts`:
//! logical decoding, slot and sender capacity, the user's privileges, the captured tables, the
//! signal and heartbeat tables, the publication and the replication slot. Every finding is
//! pass / warn / fail with the exact SQL that fixes it; the fixes olmisctl may apply itself
//! (tables and publication) are also returned as [`SourceFix`]es, marked `permitted` when the
//! user holds the privileges they need.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{HEARTBEAT_TABLE, SIGNAL_TABLE, table};
use crate::checks::Check;
use crate::clients::postgres::{quote_ident, quote_literal};
use crate::settings::TableName;

#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    pub server_version: String,
    pub wal_level: String,
    pub max_replication_slots: i64,
    pub replication_slots_used: i64,
    pub max_wal_senders: i64,
    pub wal_senders_used: i64,
    pub user: String,
    pub superuser: bool,
    /// The REPLICATION attribute, or membership in a managed service's replication role.
    pub replication: bool,
    pub can_create_in_database: bool,
    pub can_create_in_public: bool,
    /// The tables that exist among those asked about.
    pub tables: BTreeMap<TableName, TableFacts>,
    pub publication: Option<PublicationFacts>,
    pub slot: Option<SlotFacts>,
}

#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    pub schema_usage: bool,
    pub select: bool,
    pub insert: bool,
    pub update: bool,
    /// The user owns the table (or is a member of its owner role).
    pub owned: bool,
    pub primary_key: bool,
    /// `pg_class.relreplident`: d default, f full, i index, n nothing.
    pub replica_identity: char,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PublicationFacts {
    pub all_tables: bool,
    pub inserts: bool,
    pub updates: bool,
    pub deletes: bool,
    pub owned: bool,
    pub tables: BTreeSet<TableName>,
}

#[derive(Debug, Clone, Default)]
pub struct SlotFacts {
    pub plugin: String,
    pub database: String,
    pub active: bool,
    /// reserved, extended, unreserved or lost (PostgreSQL 13+).
    pub wal_status: Option<String>,
    /// WAL between the server's position and what the consumer confirmed.
    pub lag_bytes: Option<i64>,
}

/// What the connector will need from the source.
#[derive(Debug, Clone)]
pub struct Wants {
    pub user: String,
    pub database: String,
    pub publication: String,
    pub slot: String,
    pub tables: Vec<TableName>,
}

/// A change olmisctl can make on the source itself when the user may.
#[derive(Debug, Clone, Serialize)]
pub struct SourceFix {
    pub description: String,
    pub sql: Vec<String>,
    pub permitted: bool,
}

#[derive(Debug, Clone)]
pub struct Preflight {
    pub checks: Vec<Check>,
    pub fixes: Vec<SourceFix>,
}

pub fn signal_table_sql(user: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {SIGNAL_TABLE} (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048));"
        ),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {SIGNAL_TABLE} TO {};", quote_ident(user)),
    ]
}

pub fn heartbeat_table_sql(user: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {HEARTBEAT_TABLE} (id integer PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now());"
        ),
        format!("GRANT SELECT, INSERT, UPDATE ON {HEARTBEAT_TABLE} TO {};", quote_ident(user)),
    ]
}

pub fn evaluate(f: &SourceFacts, w: &Wants) -> Preflight {
    let mut checks = Vec::new();
    let mut fixes = Vec::new();
    let user = quote_ident(&w.user);

    checks.push(if f.wal_level == "logical" {
        Check::pass("wal_level", "logical")
    } else {
        Check::fail("wal_level", format!("is {:?}: logical decoding needs \"logical\"", f.wal_level)).with_hint(
            "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (managed services: enable logical replication in the parameter group, e.g. rds.logical_replication = 1)",
        )
    });

    let slot_exists = f.slot.is_some();
    let free_slots = f.max_replication_slots - f.replication_slots_used;
    checks.push(if slot_exists || free_slots > 0 {
        Check::pass(
            "slot capacity",
            format!("{} of {} replication slots in use", f.replication_slots_used, f.max_replication_slots),
        )
    } else {
        Check::fail("slot capacity", format!("all {} replication slots are in use", f.max_replication_slots)).with_hint(
            format!(
                "ALTER SYSTEM SET max_replication_slots = {}; then restart PostgreSQL (or drop an unused slot)",
                f.max_replication_slots + 4
            ),
        )
    });

    let slot_active = f.slot.as_ref().is_some_and(|s| s.active);
    let free_senders = f.max_wal_senders - f.wal_senders_used;
    checks.push(if slot_active || free_senders > 0 {
        Check::pass("wal senders", format!("{} of {} WAL senders in use", f.wal_senders_used, f.max_wal_senders))
    } else {
        Check::fail("wal senders", format!("all {} WAL senders are in use", f.max_wal_senders))
            .with_hint(format!("ALTER SYSTEM SET max_wal_senders = {}; then restart PostgreSQL", f.max_wal_senders + 4))
    });

    checks.push(if f.superuser || f.replication {
        Check::pass("replication role", format!("{} may replicate", w.user))
    } else {
        Check::fail("replication role", format!("{} lacks the REPLICATION attribute", w.user))
            .with_hint(format!("ALTER ROLE {user} WITH REPLICATION;"))
    });

    // The captured tables.
    let missing: Vec<&TableName> = w.tables.iter().filter(|t| !f.tables.contains_key(*t)).collect();
    checks.push(if missing.is_empty() {
        Check::pass("tables", format!("all {} captured tables exist", w.tables.len()))
    } else {
        Check::fail("tables", format!("{} do(es) not exist in {}", list(&missing), w.database))
            .with_hint("fix SOURCE_PG_TABLE_ALLOWLIST (or the core package's list), or check SOURCE_PG_DB")
    });
    let present: Vec<(&TableName, &TableFacts)> =
        w.tables.iter().filter_map(|t| f.tables.get(t).map(|tf| (t, tf))).collect();
    let no_usage: BTreeSet<&str> =
        present.iter().filter(|(_, t)| !t.schema_usage).map(|(n, _)| n.schema.as_str()).collect();
    let no_select: Vec<&TableName> = present.iter().filter(|(_, t)| !t.select).map(|(n, _)| *n).collect();
    checks.push(if no_usage.is_empty() && no_select.is_empty() {
        Check::pass("table access", format!("{} may read every captured table", w.user))
    } else {
        let mut sql: Vec<String> = no_usage.iter().map(|s| format!("GRANT USAGE ON SCHEMA {s} TO {user};")).collect();
        if !no_select.is_empty() {
            sql.push(format!("GRANT SELECT ON {} TO {user};", list(&no_select)));
        }
        let what = if no_select.is_empty() { format!("schemas {}", join(&no_usage)) } else { list(&no_select) };
        Check::fail("table access", format!("{} may not read {what}", w.user)).with_hint(sql.join(" "))
    });
    // A table without a primary key and with REPLICA IDENTITY DEFAULT can't be updated once it is
    // published: PostgreSQL refuses the application's UPDATE and DELETE. Never publish one as is.
    let unsafe_identity: Vec<&TableName> = present
        .iter()
        .filter(|(_, t)| (t.replica_identity == 'd' && !t.primary_key) || t.replica_identity == 'n')
        .map(|(n, _)| *n)
        .collect();
    let full = present.iter().filter(|(_, t)| t.replica_identity == 'f').count();
    checks.push(if unsafe_identity.is_empty() {
        Check::pass(
            "replica identity",
            format!(
                "{full} of {} tables send full before-images (REPLICA IDENTITY FULL), the others their keys",
                present.len()
            ),
        )
    } else {
        Check::fail(
            "replica identity",
            format!(
                "{} have no primary key or replica identity: once published, UPDATE and DELETE on them fail",
                list(&unsafe_identity)
            ),
        )
        .with_hint(
            unsafe_identity
                .iter()
                .map(|t| format!("ALTER TABLE {t} REPLICA IDENTITY FULL;"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    });

    // Signal and heartbeat tables: olmisctl may create them.
    let mut created_by_fix = BTreeSet::new();
    for (name, label, needs_update, sql) in [
        (SIGNAL_TABLE, "signal table", false, signal_table_sql(&w.user)),
        (HEARTBEAT_TABLE, "heartbeat table", true, heartbeat_table_sql(&w.user)),
    ] {
        let t = table(name);
        match f.tables.get(&t) {
            None => {
                checks.push(Check::fail(label, format!("{name} does not exist")).with_hint(sql.join(" ")));
                fixes.push(SourceFix {
                    description: format!("create {name}"),
                    sql,
                    permitted: f.superuser || f.can_create_in_public,
                });
                created_by_fix.insert(t);
            }
            Some(facts) => {
                let shape_ok =
                    name != SIGNAL_TABLE || ["id", "type", "data"].iter().all(|c| facts.columns.iter().any(|x| x == c));
                let rights_ok = facts.select && facts.insert && (!needs_update || facts.update);
                checks.push(if !shape_ok {
                    Check::fail(label, format!("{name} lacks the columns id, type, data Debezium expects"))
                        .with_hint(format!("DROP TABLE {name}; then {}", sql[0]))
                } else if !rights_ok {
                    Check::fail(label, format!("{} may not write to {name}", w.user)).with_hint(sql[1].clone())
                } else {
                    Check::pass(label, format!("{name} is ready"))
                });
            }
        }
    }

    // The publication: every publishable captured table plus the signal and heartbeat tables.
    let mut needed: Vec<TableName> =
        present.iter().filter(|(n, _)| !unsafe_identity.contains(n)).map(|(n, _)| (*n).clone()).collect();
    for name in [SIGNAL_TABLE, HEARTBEAT_TABLE] {
        let t = table(name);
        if f.tables.contains_key(&t) || created_by_fix.contains(&t) {
            needed.push(t);
        }
    }
    let owns_all = |tables: &[&TableName]| {
        tables.iter().all(|t| f.tables.get(*t).is_some_and(|x| x.owned) || created_by_fix.contains(*t))
    };
    let pub_name = quote_ident(&w.publication);
    match &f.publication {
        None => {
            let refs: Vec<&TableName> = needed.iter().collect();
            let sql = vec![format!(
                "CREATE PUBLICATION {pub_name} FOR TABLE {} WITH (publish = 'insert, update, delete');",
                list(&refs)
            )];
            checks
                .push(Check::fail("publication", format!("{} does not exist", w.publication)).with_hint(sql.join(" ")));
            fixes.push(SourceFix {
                description: format!("create publication {} with {} tables", w.publication, needed.len()),
                sql,
                permitted: f.superuser || (f.can_create_in_database && owns_all(&refs)),
            });
        }
        Some(p) => {
            let absent: Vec<&TableName> =
                if p.all_tables { vec![] } else { needed.iter().filter(|t| !p.tables.contains(*t)).collect() };
            let mut sql = Vec::new();
            if !absent.is_empty() {
                sql.push(format!("ALTER PUBLICATION {pub_name} ADD TABLE {};", list(&absent)));
            }
            if !(p.inserts && p.updates && p.deletes) {
                sql.push(format!("ALTER PUBLICATION {pub_name} SET (publish = 'insert, update, delete');"));
            }
            if sql.is_empty() {
                let scope = if p.all_tables { "all tables".to_string() } else { format!("{} tables", p.tables.len()) };
                checks.push(Check::pass(
                    "publication",
                    format!("{} publishes {scope}, including every captured one", w.publication),
                ));
            } else {
                let mut problems = Vec::new();
                if !absent.is_empty() {
                    problems.push(format!("lacks {}", list(&absent)));
                }
                if !(p.inserts && p.updates && p.deletes) {
                    problems.push("does not publish inserts, updates and deletes".to_string());
                }
                checks.push(
                    Check::fail("publication", format!("{} {}", w.publication, problems.join(" and ")))
                        .with_hint(sql.join(" ")),
                );
                fixes.push(SourceFix {
                    description: format!("alter publication {} ({})", w.publication, problems.join(", ")),
                    sql,
                    permitted: f.superuser || (p.owned && owns_all(&absent)),
                });
            }
        }
    }

    checks.push(slot_check(f, w));
    Preflight { checks, fixes }
}

fn slot_check(f: &SourceFacts, w: &Wants) -> Check {
    let valid = !w.slot.is_empty() && w.slot.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Check::fail("slot", format!("{:?} is not a valid slot name", w.slot))
            .with_hint("set SOURCE_PG_SLOT_NAME to lower-case letters, digits and _ only");
    }
    let Some(s) = &f.slot else {
        return Check::pass("slot", format!("{} does not exist yet: the connector creates it", w.slot));
    };
    let drop_sql = format!("SELECT pg_drop_replication_slot({});", quote_literal(&w.slot));
    if s.plugin != "pgoutput" {
        return Check::fail("slot", format!("{} uses the {:?} plugin, not pgoutput", w.slot, s.plugin))
            .with_hint(format!("{drop_sql} (or set SOURCE_PG_SLOT_NAME to another name)"));
    }
    if s.database != w.database {
        return Check::fail("slot", format!("{} belongs to database {:?}", w.slot, s.database))
            .with_hint("set SOURCE_PG_SLOT_NAME to a slot name unused on this server");
    }
    let lag = s.lag_bytes.map(|b| format!(", {} behind", bytes(b))).unwrap_or_default();
    let state = if s.active { "active" } else { "inactive" };
    match s.wal_status.as_deref() {
        Some("lost") => Check::fail("slot", format!("{} lost the WAL it needed: changes were missed", w.slot))
            .with_hint("olmisctl connector refresh --mode reset (drops the slot and snapshots again)"),
        Some("unreserved") => {
            Check::warn("slot", format!("{} ({state}{lag}) is about to lose WAL (max_slot_wal_keep_size)", w.slot))
                .with_hint("get the connector running now: olmisctl watchdog --once")
        }
        Some("extended") => Check::warn("slot", format!("{} ({state}{lag}) holds more WAL than max_wal_size", w.slot))
            .with_hint("check that the connector keeps up: olmisctl connector status"),
        _ if !s.active => {
            Check::warn("slot", format!("{} is inactive{lag}: it holds WAL until the connector reads it", w.slot))
                .with_hint("start the connector (olmisctl register-connector), or drop the slot if it is abandoned")
        }
        _ => Check::pass("slot", format!("{} is {state}{lag}", w.slot)),
    }
}

fn list(tables: &[&TableName]) -> String {
    tables.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

fn join(items: &BTreeSet<&str>) -> String {
    items.iter().copied().collect::<Vec<_>>().join(", ")
}

/// Bytes for people: 512 B, 3.4 MiB, 1.2 GiB.
pub fn bytes(n: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", units[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Level;

    fn t(name: &str) -> TableName {
        TableName::parse(name).unwrap()
    }

    fn table_ok() -> TableFacts {
        TableFacts {
            schema_usage: true,
            select: true,
            insert: true,
            update: true,
            owned: true,
            primary_key: true,
            replica_identity: 'd',
            columns: vec!["id".into(), "type".into(), "data".into()],
        }
    }

    fn wants() -> Wants {
        Wants {
            user: "cdc".into(),
            database: "open_lmis".into(),
            publication: "olmis_analytics".into(),
            slot: "olmis_analytics".into(),
            tables: vec![t("referencedata.facilities"), t("requisition.requisitions")],
        }
    }

    /// A source where everything is ready.
    fn healthy() -> SourceFacts {
        let mut tables = BTreeMap::new();
        for name in ["referencedata.facilities", "requisition.requisitions", SIGNAL_TABLE, HEARTBEAT_TABLE] {
            tables.insert(t(name), table_ok());
        }
        SourceFacts {
            server_version: "15.8".into(),
            wal_level: "logical".into(),
            max_replication_slots: 10,
            replication_slots_used: 1,
            max_wal_senders: 10,
            wal_senders_used: 1,
            user: "cdc".into(),
            superuser: false,
            replication: true,
            can_create_in_database: true,
            can_create_in_public: true,
            publication: Some(PublicationFacts {
                all_tables: false,
                inserts: true,
                updates: true,
                deletes: true,
                owned: true,
                tables: tables.keys().cloned().collect(),
            }),
            tables,
            slot: None,
        }
    }

    fn check<'a>(p: &'a Preflight, name: &str) -> &'a Check {
        p.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name}: {:?}", p.checks))
    }

    #[test]
    fn a_ready_source_passes_everything() {
        let p = evaluate(&healthy(), &wants());
        assert!(p.checks.iter().all(|c| c.level == Level::Pass), "{:#?}", p.checks);
        assert!(p.fixes.is_empty());
    }

    #[test]
    fn wal_level_replica_fails_with_the_alter_system_fix() {
        let mut f = healthy();
        f.wal_level = "replica".into();
        let p = evaluate(&f, &wants());
        let c = check(&p, "wal_level");
        assert_eq!(c.level, Level::Fail);
        assert!(c.message.contains("\"replica\""), "{}", c.message);
        assert!(c.hint.as_deref().unwrap().starts_with("ALTER SYSTEM SET wal_level = logical;"));
    }

    #[test]
    fn user_without_replication_gets_the_alter_role() {
        let mut f = healthy();
        f.replication = false;
        let p = evaluate(&f, &wants());
        let c = check(&p, "replication role");
        assert_eq!(c.level, Level::Fail);
        assert_eq!(c.hint.as_deref(), Some("ALTER ROLE cdc WITH REPLICATION;"));
    }

    #[test]
    fn missing_publication_table_is_added_by_a_permitted_fix() {
        let mut f = healthy();
        f.publication.as_mut().unwrap().tables.remove(&t("requisition.requisitions"));
        let p = evaluate(&f, &wants());
        let c = check(&p, "publication");
        assert_eq!(c.level, Level::Fail);
        assert!(c.message.contains("lacks requisition.requisitions"), "{}", c.message);
        assert_eq!(c.hint.as_deref(), Some("ALTER PUBLICATION olmis_analytics ADD TABLE requisition.requisitions;"));
        assert_eq!(p.fixes.len(), 1);
        assert!(p.fixes[0].permitted);
    }

    #[test]
    fn a_publication_fix_on_foreign_tables_is_for_a_dba() {
        let mut f = healthy();
        f.publication.as_mut().unwrap().tables.remove(&t("requisition.requisitions"));
        f.tables.get_mut(&t("requisition.requisitions")).unwrap().owned = false;
        let p = evaluate(&f, &wants());
        assert!(!p.fixes[0].permitted);
    }

    #[test]
    fn absent_publication_and_helper_tables_are_created_in_order() {
        let mut f = healthy();
        f.publication = None;
        f.tables.remove(&t(SIGNAL_TABLE));
        f.tables.remove(&t(HEARTBEAT_TABLE));
        let p = evaluate(&f, &wants());
        let order: Vec<&str> = p.fixes.iter().map(|x| x.description.as_str()).collect();
        assert_eq!(
            order,
            vec![
                "create public.debezium_signal",
                "create public.debezium_heartbeat",
                "create publication olmis_analytics with 4 tables"
            ]
        );
        assert!(p.fixes.iter().all(|x| x.permitted));
        assert!(p.fixes[2].sql[0].contains(
            "FOR TABLE referencedata.facilities, requisition.requisitions, public.debezium_signal, public.debezium_heartbeat"
        ));
    }

    #[test]
    fn a_table_without_key_is_never_published_as_is() {
        let mut f = healthy();
        f.publication = None;
        f.tables.get_mut(&t("requisition.requisitions")).unwrap().primary_key = false;
        let p = evaluate(&f, &wants());
        let c = check(&p, "replica identity");
        assert_eq!(c.level, Level::Fail);
        assert_eq!(c.hint.as_deref(), Some("ALTER TABLE requisition.requisitions REPLICA IDENTITY FULL;"));
        assert!(!p.fixes[0].sql[0].contains("requisition.requisitions"), "{:?}", p.fixes);
    }

    #[test]
    fn missing_tables_and_grants_are_named() {
        let mut f = healthy();
        f.tables.remove(&t("requisition.requisitions"));
        f.tables.get_mut(&t("referencedata.facilities")).unwrap().select = false;
        let p = evaluate(&f, &wants());
        assert!(check(&p, "tables").message.contains("requisition.requisitions"));
        assert_eq!(check(&p, "table access").hint.as_deref(), Some("GRANT SELECT ON referencedata.facilities TO cdc;"));
    }

    #[test]
    fn slot_states() {
        let mut f = healthy();
        let slot = |active, status: &str| SlotFacts {
            plugin: "pgoutput".into(),
            database: "open_lmis".into(),
            active,
            wal_status: Some(status.into()),
            lag_bytes: Some(5 * 1024 * 1024),
        };
        f.slot = Some(slot(true, "reserved"));
        let c = check(&evaluate(&f, &wants()), "slot").clone();
        assert_eq!((c.level, c.message.as_str()), (Level::Pass, "olmis_analytics is active, 5.0 MiB behind"));
        f.slot = Some(slot(false, "reserved"));
        assert_eq!(check(&evaluate(&f, &wants()), "slot").level, Level::Warn);
        f.slot = Some(slot(false, "lost"));
        let p = evaluate(&f, &wants());
        assert_eq!(check(&p, "slot").level, Level::Fail);
        assert!(check(&p, "slot").hint.as_deref().unwrap().contains("--mode reset"));
        f.slot = Some(SlotFacts { plugin: "wal2json".into(), ..slot(false, "reserved") });
        assert!(
            check(&evaluate(&f, &wants()), "slot")
                .hint
                .as_deref()
                .unwrap()
                .contains("pg_drop_replication_slot('olmis_analytics')")
        );
        let mut w = wants();
        w.slot = "bad-name".into();
        assert_eq!(check(&evaluate(&healthy(), &w), "slot").level, Level::Fail);
    }

    #[test]
    fn capacity_is_only_needed_for_a_new_slot() {
        let mut f = healthy();
        f.replication_slots_used = 10;
        assert_eq!(check(&evaluate(&f, &wants()), "slot capacity").level, Level::Fail);
        f.slot = Some(SlotFacts { plugin: "pgoutput".into(), database: "open_lmis".into(), ..Default::default() });
        assert_eq!(check(&evaluate(&f, &wants()), "slot capacity").level, Level::Pass);
    }

    #[test]
    fn identifiers_are_quoted_in_fix_sql() {
        let mut f = healthy();
        f.replication = false;
        let mut w = wants();
        w.user = "Cdc-User".into();
        assert_eq!(
            check(&evaluate(&f, &w), "replication role").hint.as_deref(),
            Some("ALTER ROLE \"Cdc-User\" WITH REPLICATION;")
        );
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 + 400 * 1024), "3.4 MiB");
    }
}
