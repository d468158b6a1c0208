//! `olmisctl demo seed` against the stack's PostgreSQL: each test seeds databases of its own and
//! checks the result with SQL through psql (row counts, invariants, digests of every table), so the
//! assertions don't trust the code under test.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

const SCHEMAS: &str = "'referencedata', 'requisition', 'stockmanagement', 'fulfillment'";

/// `olmisctl demo seed ARGS` against `database`, from an empty project directory.
fn seed(database: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    stack()
        .olmisctl(dir.path())
        .env("SOURCE_PG_DB", database)
        .args(["demo", "seed"])
        .args(args)
        .output()
        .expect("olmisctl runs")
}

fn tables(database: &str) -> Vec<String> {
    stack()
        .psql(
            database,
            &format!(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables \
                 WHERE table_schema IN ({SCHEMAS}) AND table_type = 'BASE TABLE' ORDER BY 1"
            ),
        )
        .lines()
        .map(str::to_string)
        .collect()
}

/// md5 of every demo table's rows in a fixed order, in one query.
fn digests(database: &str) -> BTreeMap<String, String> {
    let sql = tables(database)
        .iter()
        .map(|t| {
            format!("SELECT '{t}', (SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM {t} x)")
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    stack()
        .psql(database, &sql)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(t, d)| (t.to_string(), d.to_string()))
        .collect()
}

fn counts(database: &str) -> BTreeMap<String, u64> {
    let sql = tables(database)
        .iter()
        .map(|t| format!("SELECT '{t}', count(*) FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    stack()
        .psql(database, &sql)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(t, n)| (t.to_string(), n.parse().expect("a count")))
        .collect()
}

/// Runs a query that counts violations of an invariant and asserts there are none.
fn none(database: &str, what: &str, sql: &str) {
    assert_eq!(stack().psql(database, sql), "0", "{what}");
}

fn drop_database(database: &str) {
    stack().psql("postgres", &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
}

#[test]
fn seed_fills_a_fresh_database_with_consistent_data_once() {
    let s = stack();
    let db = s.create_database("demo_seed");
    let out = seed(&db, &["--json"]);
    assert!(out.status.success(), "demo seed failed: {}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("--json prints one JSON document");
    assert_eq!(report["outcome"], "seeded");
    assert_eq!((report["seed"].as_u64(), report["scale"].as_u64()), (Some(42), Some(1)));
    assert!(stderr(&out).contains("referencedata.facilities"), "progress names each table");

    // The report tells the truth, table by table.
    let counts = counts(&db);
    let reported: BTreeMap<String, u64> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| (t["table"].as_str().unwrap_or_default().to_string(), t["rows"].as_u64().unwrap_or_default()))
        .collect();
    assert_eq!(reported, counts);
    assert_eq!(report["rows"].as_u64(), Some(counts.values().sum()));
    // The demo's shape (fixed whatever the seed) and this seed's exact volumes.
    for (table, expected) in [
        ("referencedata.geographic_levels", 4),
        ("referencedata.geographic_zones", 205),
        ("referencedata.facilities", 2_700),
        ("referencedata.programs", 8),
        ("referencedata.orderables", 10_000),
        ("referencedata.processing_periods", 425),
        ("stockmanagement.stock_cards", 116),
    ] {
        assert_eq!(counts[table], expected, "{table}");
    }
    let listing: String = counts.iter().map(|(t, n)| format!("{t}: {n}\n")).collect();
    insta::assert_snapshot!("row_counts_seed_42_scale_1", listing);

    let levels = s.psql(
        &db,
        "SELECT l.levelnumber, count(*) FROM referencedata.geographic_zones z \
         JOIN referencedata.geographic_levels l ON l.id = z.levelid GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(levels, "1\t1\n2\t3\n3\t28\n4\t173", "Malawi: country, regions, districts, cities");

    // Stock never goes negative, and replaying every card's lines gives OpenLMIS' calculated stock:
    // a line with no reason, source or destination is a count; a source or CREDIT adds; else it removes.
    none(
        &db,
        "negative calculated stock",
        "SELECT count(*) FROM stockmanagement.calculated_stocks_on_hand WHERE stockonhand < 0",
    );
    none(&db, "unsigned quantities", "SELECT count(*) FROM stockmanagement.stock_card_line_items WHERE quantity < 0");
    let replay = "WITH lines AS (
          SELECT l.id, l.stockcardid, l.occurreddate, l.processeddate,
                 (l.reasonid IS NULL AND l.sourceid IS NULL AND l.destinationid IS NULL) AS is_count,
                 CASE WHEN l.sourceid IS NOT NULL OR r.reasontype = 'CREDIT' THEN l.quantity ELSE -l.quantity END AS delta,
                 l.quantity
          FROM stockmanagement.stock_card_line_items l
          LEFT JOIN stockmanagement.stock_card_line_item_reasons r ON r.id = l.reasonid),
        counted AS (
          SELECT *, count(*) FILTER (WHERE is_count)
                    OVER (PARTITION BY stockcardid ORDER BY occurreddate, processeddate, id) AS since
          FROM lines),
        replayed AS (
          SELECT stockcardid, occurreddate, since,
                 sum(CASE WHEN is_count THEN quantity ELSE delta END)
                   OVER (PARTITION BY stockcardid, since ORDER BY occurreddate, processeddate, id) AS stock
          FROM counted)";
    none(&db, "every card opens with a count", &format!("{replay} SELECT count(*) FROM replayed WHERE since = 0"));
    none(&db, "replayed stock is never negative", &format!("{replay} SELECT count(*) FROM replayed WHERE stock < 0"));
    none(
        &db,
        "replayed stock matches calculated_stocks_on_hand",
        &format!(
            "{replay} SELECT count(*) FROM replayed r FULL JOIN stockmanagement.calculated_stocks_on_hand c \
             USING (stockcardid, occurreddate) WHERE r.stock IS DISTINCT FROM c.stockonhand"
        ),
    );
    none(
        &db,
        "requisition stock columns add up (E = A + B - C + D) and never go negative",
        "SELECT count(*) FROM requisition.requisition_line_items
         WHERE stockonhand <> beginningbalance + totalreceivedquantity - totalconsumedquantity + totallossesandadjustments
            OR stockonhand < 0 OR beginningbalance < 0",
    );
    none(
        &db,
        "losses and adjustments are the sum of the line's adjustments",
        "SELECT count(*) FROM requisition.requisition_line_items li
         LEFT JOIN (SELECT a.requisitionlineitemid AS id,
                           sum(CASE r.reasontype WHEN 'CREDIT' THEN a.quantity ELSE -a.quantity END) AS total
                    FROM requisition.stock_adjustments a
                    JOIN requisition.stock_adjustment_reasons r ON r.id = a.reasonid GROUP BY 1) adj USING (id)
         WHERE li.beginningbalance IS NOT NULL AND li.totallossesandadjustments <> coalesce(adj.total, 0)",
    );

    // Statuses: valid, the requisition's is its last status change, and each change is allowed.
    none(
        &db,
        "valid statuses",
        "SELECT count(*) FROM requisition.requisitions WHERE status NOT IN ('INITIATED', 'REJECTED', 'SUBMITTED', \
         'AUTHORIZED', 'IN_APPROVAL', 'APPROVED', 'RELEASED', 'RELEASED_WITHOUT_ORDER', 'SKIPPED')",
    );
    none(
        &db,
        "the status is the last status change",
        "SELECT count(*) FROM requisition.requisitions q WHERE q.status <> (SELECT c.status FROM \
         requisition.status_changes c WHERE c.requisitionid = q.id ORDER BY c.createddate DESC LIMIT 1)",
    );
    none(
        &db,
        "every status change follows the workflow",
        "WITH steps AS (SELECT status, lag(status) OVER (PARTITION BY requisitionid ORDER BY createddate) AS previous
                        FROM requisition.status_changes)
         SELECT count(*) FROM steps WHERE (previous, status) NOT IN (VALUES
           (NULL, 'INITIATED'), ('INITIATED', 'SUBMITTED'), ('INITIATED', 'SKIPPED'), ('REJECTED', 'SUBMITTED'),
           ('SUBMITTED', 'AUTHORIZED'), ('SUBMITTED', 'REJECTED'), ('AUTHORIZED', 'IN_APPROVAL'),
           ('AUTHORIZED', 'APPROVED'), ('AUTHORIZED', 'REJECTED'), ('IN_APPROVAL', 'APPROVED'),
           ('IN_APPROVAL', 'REJECTED'), ('APPROVED', 'RELEASED'), ('APPROVED', 'RELEASED_WITHOUT_ORDER'))
           OR previous IS NULL AND status <> 'INITIATED'",
    );
    let statuses = s.psql(&db, "SELECT count(DISTINCT status) FROM requisition.requisitions");
    assert!(statuses.parse::<u32>().unwrap_or(0) >= 7, "the demo shows most statuses, got {statuses}");
    none(
        &db,
        "orders only for released requisitions",
        "SELECT count(*) FROM fulfillment.orders o LEFT JOIN requisition.requisitions q ON q.id = o.externalid \
         WHERE q.status IS DISTINCT FROM 'RELEASED'",
    );

    // Dates: requisitions start inside their period, stock counts too, nothing after the demo's today.
    none(
        &db,
        "requisitions initiated within their period",
        "SELECT count(*) FROM requisition.requisitions q JOIN referencedata.processing_periods p \
         ON p.id = q.processingperiodid WHERE (q.createddate AT TIME ZONE 'UTC')::date NOT BETWEEN p.startdate AND p.enddate \
         OR q.datephysicalstockcountcompleted NOT BETWEEN p.startdate AND p.enddate",
    );
    none(
        &db,
        "status changes in order and not before the requisition",
        "SELECT count(*) FROM requisition.status_changes c JOIN requisition.requisitions q ON q.id = c.requisitionid \
         WHERE c.createddate < q.createddate OR c.createddate > q.modifieddate",
    );
    none(
        &db,
        "stock movements processed on or after they occurred, up to the demo's today",
        "SELECT count(*) FROM stockmanagement.stock_card_line_items \
         WHERE (processeddate AT TIME ZONE 'UTC')::date < occurreddate OR occurreddate > DATE '2026-10-31'",
    );

    // References across services (OpenLMIS has no foreign keys between schemas) all resolve.
    for (what, sql) in [
        (
            "requisition facility",
            "requisition.requisitions q LEFT JOIN referencedata.facilities f ON f.id = q.facilityid WHERE f.id IS NULL",
        ),
        (
            "requisition program",
            "requisition.requisitions q LEFT JOIN referencedata.programs p ON p.id = q.programid WHERE p.id IS NULL",
        ),
        (
            "requisition period",
            "requisition.requisitions q LEFT JOIN referencedata.processing_periods p ON p.id = q.processingperiodid WHERE p.id IS NULL",
        ),
        (
            "line item orderable version",
            "requisition.requisition_line_items l LEFT JOIN referencedata.orderables o ON (o.id, o.versionnumber) = (l.orderableid, l.orderableversionnumber) WHERE o.id IS NULL",
        ),
        (
            "stock card facility",
            "stockmanagement.stock_cards c LEFT JOIN referencedata.facilities f ON f.id = c.facilityid WHERE f.id IS NULL",
        ),
        (
            "stock card orderable",
            "stockmanagement.stock_cards c WHERE NOT EXISTS (SELECT 1 FROM referencedata.orderables o WHERE o.id = c.orderableid)",
        ),
        (
            "stock card lot",
            "stockmanagement.stock_cards c LEFT JOIN referencedata.lots l ON l.id = c.lotid WHERE c.lotid IS NOT NULL AND l.id IS NULL",
        ),
        (
            "stock node facility",
            "stockmanagement.nodes n LEFT JOIN referencedata.facilities f ON f.id = n.referenceid WHERE f.id IS NULL",
        ),
        (
            "order supplying facility",
            "fulfillment.orders o LEFT JOIN referencedata.facilities f ON f.id = o.supplyingfacilityid WHERE f.id IS NULL",
        ),
        (
            "order line orderable version",
            "fulfillment.order_line_items l LEFT JOIN referencedata.orderables o ON (o.id, o.versionnumber) = (l.orderableid, l.orderableversionnumber) WHERE o.id IS NULL",
        ),
        (
            "status change author",
            "requisition.status_changes c LEFT JOIN referencedata.users u ON u.id = c.authorid WHERE u.id IS NULL",
        ),
    ] {
        none(&db, what, &format!("SELECT count(*) FROM {sql}"));
    }
    let foreign_keys = s.psql(
        &db,
        &format!(
            "SELECT count(*) FROM information_schema.table_constraints \
             WHERE constraint_type = 'FOREIGN KEY' AND table_schema IN ({SCHEMAS})"
        ),
    );
    assert!(foreign_keys.parse::<u32>().unwrap_or(0) >= 40, "foreign keys inside each schema: {foreign_keys}");
    none(
        &db,
        "every table has a primary key",
        &format!(
            "SELECT count(*) FROM information_schema.tables t WHERE t.table_schema IN ({SCHEMAS}) AND NOT EXISTS \
             (SELECT 1 FROM information_schema.table_constraints c WHERE c.table_schema = t.table_schema \
              AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY')"
        ),
    );
    assert_eq!(
        s.psql(&db, "SELECT relreplident FROM pg_class WHERE oid IN ('requisition.requisitions'::regclass, 'referencedata.facilities'::regclass) ORDER BY relname"),
        "d\nf",
        "whole before-images where rows change in place, keys elsewhere"
    );
    assert_eq!(
        s.psql(
            &db,
            "SELECT table_name || ':' || string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name IN ('debezium_signal', 'debezium_heartbeat') GROUP BY table_name ORDER BY 1"
        ),
        "debezium_heartbeat:id integer, ts timestamp with time zone\n\
         debezium_signal:id character varying, type character varying, data character varying"
    );
    // A role with no grants of its own (as a replication user would be) can read the tables.
    let role = unique("reader").to_lowercase();
    s.psql(&db, &format!("CREATE ROLE {role} NOLOGIN"));
    let read = s.psql(&db, &format!("SET ROLE {role}; SELECT count(*) FROM stockmanagement.stock_card_line_items"));
    s.psql(&db, &format!("DROP ROLE {role}"));
    assert_eq!(read, counts["stockmanagement.stock_card_line_items"].to_string());

    // A second run finds the data and changes nothing.
    let before = digests(&db);
    let again = seed(&db, &[]);
    assert!(again.status.success(), "second run: {}", stderr(&again));
    let text = stdout(&again);
    assert!(text.contains("already holds the demo data (seed 42, scale 1") && text.contains("nothing to do"), "{text}");
    assert_eq!(digests(&db), before, "a second run changes nothing");

    // Another seed without --reset is refused, and loses nothing.
    let refused = seed(&db, &["--seed", "7"]);
    assert_eq!(refused.status.code(), Some(2), "usage error: {}", stderr(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("already holds demo data of seed 42, scale 1") && message.contains("asked for seed 7"),
        "{message}"
    );
    assert!(message.contains("--reset"), "says how to proceed: {message}");
    assert_eq!(digests(&db), before);

    // --reset starts over with the new seed.
    let reset = seed(&db, &["--seed", "7", "--reset"]);
    assert!(reset.status.success(), "--reset: {}", stderr(&reset));
    assert!(stdout(&reset).contains("after dropping the previous demo data"), "{}", stdout(&reset));
    assert_eq!(s.psql(&db, "SELECT seed, scale FROM public.olmis_demo_seed"), "7\t1");
    let after = digests(&db);
    assert_eq!(after.len(), before.len());
    assert_ne!(after["referencedata.facilities"], before["referencedata.facilities"], "new seed, new data");

    // Schemas dropped by hand leave a stale marker behind; seeding again just works.
    s.psql(&db, "DROP SCHEMA referencedata, requisition, stockmanagement, fulfillment CASCADE");
    let again = seed(&db, &[]);
    assert!(again.status.success(), "seed after a manual drop: {}", stderr(&again));
    assert_eq!(s.psql(&db, "SELECT seed, scale FROM public.olmis_demo_seed"), "42\t1");
    assert_eq!(digests(&db), before, "seed 42 again, the same data as the first time");
    drop_database(&db);
}

#[test]
fn the_same_seed_gives_identical_tables_in_two_databases() {
    let s = stack();
    let (first, second) = (s.create_database("demo_same"), s.create_database("demo_same"));
    let runs = std::thread::scope(|scope| {
        let a = scope.spawn(|| seed(&first, &["--seed", "1234"]));
        let b = scope.spawn(|| seed(&second, &["--seed", "1234"]));
        [a.join().expect("first seed"), b.join().expect("second seed")]
    });
    for run in &runs {
        assert!(run.status.success(), "{}", stderr(run));
    }
    let (a, b) = (digests(&first), digests(&second));
    assert_eq!(a.len(), 39, "every demo table is compared");
    assert_eq!(a, b, "same seed, same rows in every table");
    drop_database(&first);
    drop_database(&second);
}

#[test]
fn a_database_with_schemas_of_its_own_is_never_touched() {
    let s = stack();
    let db = s.create_database("demo_foreign");
    s.psql(&db, "CREATE SCHEMA referencedata; CREATE TABLE referencedata.facilities (id uuid PRIMARY KEY, code text)");
    s.psql(&db, "INSERT INTO referencedata.facilities VALUES (gen_random_uuid(), 'REAL001')");
    for args in [&[][..], &["--reset"][..]] {
        let out = seed(&db, args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let message = stderr(&out);
        assert!(message.contains("schema referencedata not created by `olmisctl demo seed`"), "{message}");
        assert!(message.contains("SOURCE_PG_DB"), "says what to do: {message}");
    }
    assert_eq!(s.psql(&db, "SELECT code FROM referencedata.facilities"), "REAL001");
    assert_eq!(s.psql(&db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'requisition'"), "0");
    drop_database(&db);
}

#[test]
fn a_missing_database_is_a_clear_service_error() {
    let out = seed("olmis_no_such_database", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("olmis_no_such_database") && message.contains("does not exist"), "{message}");
    assert!(!message.contains(stack().get("SOURCE_PG_PASSWORD")), "no password in errors");
}
