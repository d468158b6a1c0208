//! `dbt-build`, `dbt-test` and `verify dbt` on the real engines: the core and Malawi packages built
//! by dbt in the test stack's ClickHouse from raw Debezium events, checked against the source
//! PostgreSQL data with computations written here independently of the models (SQL on the
//! source, and the stock ledger replayed in Rust).

mod common;
mod dbt_data;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{copy_dir, stack, stderr, stdout};
use dbt_data::{Platform, Sizes, Source, repo_path};

/// The window of the stock status mart's average monthly consumption (the core package's var).
const CONSUMPTION_WINDOW_DAYS: i64 = 90;

fn run(cmd: &mut common::Command) -> std::process::Output {
    cmd.output().expect("olmisctl runs")
}

fn assert_ok(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(output), stderr(output)))
}

/// Both sides as sorted lines; on a difference, shows only the lines that differ.
fn assert_same(what: &str, curated: Vec<String>, source: Vec<String>) {
    assert!(!source.is_empty(), "{what}: the source side is empty, the comparison would prove nothing");
    if curated != source {
        let (c, s): (BTreeSet<_>, BTreeSet<_>) = (curated.iter().collect(), source.iter().collect());
        let only_curated: Vec<_> = c.difference(&s).take(10).collect();
        let only_source: Vec<_> = s.difference(&c).take(10).collect();
        panic!(
            "{what}: the mart ({} rows) differs from the source ({} rows)\nonly in the mart: {only_curated:#?}\nonly in the source: {only_source:#?}",
            curated.len(),
            source.len()
        );
    }
}

#[test]
fn marts_follow_the_source_through_inserts_updates_and_deletes() {
    let p = Platform::new("dbt_marts", Source::Generated(Sizes::TEST));

    let first = run(p.olmisctl().args(["--json", "dbt-build"]));
    assert_ok(&first);
    let summary = json(&first);
    assert_eq!(summary["selector"], "package:olmis_analytics_core package:olmis_analytics_malawi");
    assert_clean_run(&summary, 35);
    assert!(stderr(&first).contains("OK created sql table model"), "dbt's progress is streamed");
    assert_marts_match_source(&p);
    known_values_before_changes(&p);

    change_the_source(&p);
    let second = run(p.olmisctl().args(["--json", "dbt-build"]));
    assert_ok(&second);
    assert_clean_run(&json(&second), 35);
    assert!(stderr(&second).contains("packages are installed and unchanged"), "{}", stderr(&second));
    assert_marts_match_source(&p);
    known_values_after_changes(&p);

    for output in [&first, &second] {
        assert_no_secret(&format!("{}{}", stdout(output), stderr(output)), "olmisctl's output");
    }
    assert_no_secret_in_files(p.project.path());

    // verify dbt: the marts are there with rows and the last run passed; a missing mart fails.
    let verified = run(p.olmisctl().args(["--json", "verify", "dbt"]));
    assert_ok(&verified);
    let report = json(&verified);
    assert_eq!(report["status"], "pass", "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    let marts: Vec<&str> =
        checks.iter().filter_map(|c| c["name"].as_str()).filter(|name| name.starts_with("mart_")).collect();
    assert_eq!(marts.len(), 9, "{marts:?}");
    assert!(marts.contains(&"mart_mw_stock_status_by_region"));
    stack().clickhouse(&format!("DROP TABLE {}.mart_adjustments", p.curated));
    let broken = run(p.olmisctl().args(["verify", "dbt"]));
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    assert!(stdout(&broken).contains("FAIL mart_adjustments"), "{}", stdout(&broken));
}

/// Every model built, every test passed (no warnings either: reconciliation and relationship
/// tests warn), every source fresh.
fn assert_clean_run(summary: &serde_json::Value, models: u64) {
    assert_eq!(summary["nodes"]["built"], models, "{summary:#}");
    assert_eq!(summary["nodes"]["failed"], 0, "{summary:#}");
    let tests = &summary["tests"];
    assert!(tests["passed"].as_u64().unwrap() > 140, "{summary:#}");
    for key in ["warned", "failed", "errored", "skipped"] {
        assert_eq!(tests[key], 0, "{key}: {summary:#}");
    }
    // the four fact tables have a freshness check (models/staging/sources.yml)
    assert_eq!(summary["sources"]["fresh"], 4, "{summary:#}");
    assert_eq!(summary["problems"].as_array().unwrap().len(), 0, "{summary:#}");
}

fn assert_marts_match_source(p: &Platform) {
    assert_same(
        "mart_facility_directory",
        p.curated_rows(
            "SELECT toString(facility_id), facility_code, facility_name, ifNull(district_name, '-'), ifNull(region_name, '-'),
                    active_program_count
             FROM {curated}.mart_facility_directory FORMAT TSV",
        ),
        p.source_rows(&format!(
            "WITH chain AS ({ZONE_CHAIN})
             SELECT f.id, f.code, f.name,
                    coalesce((SELECT name FROM chain c WHERE c.facility_id = f.id AND c.levelnumber = 3), '-'),
                    coalesce((SELECT name FROM chain c WHERE c.facility_id = f.id AND c.levelnumber = 2), '-'),
                    (SELECT count(*) FROM referencedata.supported_programs sp WHERE sp.facilityid = f.id AND sp.active)
             FROM referencedata.facilities f"
        )),
    );

    let ledger = Ledger::read(p);
    assert_same(
        "mart_stock_on_hand",
        p.curated_rows("SELECT toString(stock_card_id), stock_on_hand FROM {curated}.mart_stock_on_hand FORMAT TSV"),
        ledger.cards.iter().map(|(id, card)| format!("{id}\t{}", card.on_hand)).collect_sorted(),
    );
    assert_same(
        "mart_stockouts",
        p.curated_rows(
            "SELECT toString(stockout_id), toString(stock_card_id), started_on, ifNull(toString(ended_on), '-'), days_stocked_out
             FROM {curated}.mart_stockouts FORMAT TSV",
        ),
        ledger.stockouts.clone(),
    );
    let status = ledger.stock_status();
    assert_same(
        "mart_stock_status",
        p.curated_rows(
            "SELECT toString(facility_id), toString(program_id), toString(orderable_id), stock_on_hand, issued_in_window,
                    stock_status
             FROM {curated}.mart_stock_status FORMAT TSV",
        ),
        status
            .iter()
            .map(|((f, pr, o), s)| format!("{f}\t{pr}\t{o}\t{}\t{}\t{}", s.on_hand, s.issued, s.status))
            .collect_sorted(),
    );
    assert_same(
        "mart_adjustments",
        p.curated_rows(
            "SELECT toString(adjustment_id), reason_name, quantity, signed_quantity FROM {curated}.mart_adjustments FORMAT TSV",
        ),
        ledger.adjustments.clone(),
    );

    // Malawi: the regional roll-up of the stock status computed above.
    let regions: BTreeMap<String, String> = p
        .psql(&format!("WITH chain AS ({ZONE_CHAIN}) SELECT facility_id, name FROM chain WHERE levelnumber = 2"))
        .lines()
        .map(|l| l.split_once('\t').map(|(f, r)| (f.to_string(), r.to_string())).unwrap())
        .collect();
    let mut by_region: BTreeMap<(String, &str, &str), (u32, u32, u32)> = BTreeMap::new();
    for ((facility, program, orderable), s) in &status {
        let region = regions.get(facility).cloned().unwrap_or_else(|| "Unknown region".into());
        let entry = by_region.entry((region, program, orderable)).or_default();
        entry.0 += 1;
        entry.1 += u32::from(s.status == "stocked_out");
        entry.2 += u32::from(s.status == "understocked");
    }
    assert_same(
        "mart_mw_stock_status_by_region",
        p.curated_rows(
            "SELECT region_name, toString(program_id), toString(orderable_id), facility_count, stocked_out_count,
                    understocked_count
             FROM {curated}.mart_mw_stock_status_by_region FORMAT TSV",
        ),
        by_region
            .iter()
            .map(|((r, pr, o), (n, out, under))| format!("{r}\t{pr}\t{o}\t{n}\t{out}\t{under}"))
            .collect_sorted(),
    );

    assert_same(
        "mart_requisition_summary",
        p.curated_rows(
            "SELECT toString(requisition_id), status, line_item_count, toInt64(total_cost * 100),
                    ifNull(formatDateTime(submitted_at, '%Y-%m-%d %H:%i:%S'), '-')
             FROM {curated}.mart_requisition_summary FORMAT TSV",
        ),
        p.source_rows(
            "SELECT r.id, r.status,
                    (SELECT count(*) FROM requisition.requisition_line_items li WHERE li.requisitionid = r.id AND NOT li.skipped),
                    coalesce((SELECT (sum(li.totalcost) * 100)::bigint FROM requisition.requisition_line_items li
                              WHERE li.requisitionid = r.id AND NOT li.skipped), 0),
                    coalesce((SELECT to_char(min(sc.createddate) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
                              FROM requisition.status_changes sc WHERE sc.requisitionid = r.id AND sc.status = 'SUBMITTED'), '-')
             FROM requisition.requisitions r",
        ),
    );
    assert_same(
        "mart_consumption",
        p.curated_rows(
            "SELECT toString(requisition_line_item_id), ifNull(toString(consumed_quantity), '-'), period_name, product_name
             FROM {curated}.mart_consumption FORMAT TSV",
        ),
        p.source_rows(
            "SELECT li.id, coalesce(li.totalconsumedquantity::text, '-'), pp.name, o.fullproductname
             FROM requisition.requisition_line_items li
             JOIN requisition.requisitions r ON r.id = li.requisitionid
             JOIN referencedata.processing_periods pp ON pp.id = r.processingperiodid
             JOIN referencedata.orderables o ON o.id = li.orderableid AND o.versionnumber = li.orderableversionnumber
             WHERE NOT li.skipped",
        ),
    );
    assert_same(
        "mart_reporting_rate",
        p.curated_rows(
            "SELECT program_code, period_name, geographic_zone_name, expected_reports, reported, reported_on_time
             FROM {curated}.mart_reporting_rate FORMAT TSV",
        ),
        p.source_rows(&format!(
            "WITH expected AS (
                 SELECT DISTINCT sp.facilityid, sp.programid, pp.id AS periodid
                 FROM referencedata.supported_programs sp
                 JOIN referencedata.facilities f ON f.id = sp.facilityid
                 JOIN referencedata.requisition_group_members m ON m.facilityid = sp.facilityid
                 JOIN referencedata.requisition_group_program_schedules g
                   ON g.requisitiongroupid = m.requisitiongroupid AND g.programid = sp.programid
                 JOIN referencedata.processing_periods pp ON pp.processingscheduleid = g.processingscheduleid
                 WHERE sp.active AND f.active AND pp.enddate <= DATE '{as_of}'
                   AND (sp.startdate IS NULL OR pp.enddate >= sp.startdate)),
             regular AS (
                 SELECT r.facilityid, r.programid, r.processingperiodid, r.status,
                        (SELECT min(sc.createddate) FROM requisition.status_changes sc
                         WHERE sc.requisitionid = r.id AND sc.status = 'SUBMITTED') AS submitted_at
                 FROM requisition.requisitions r WHERE NOT r.emergency),
             reports AS (
                 SELECT facilityid, programid, processingperiodid, min(submitted_at) AS submitted_at
                 FROM regular
                 WHERE submitted_at IS NOT NULL
                    OR status IN ('SUBMITTED', 'AUTHORIZED', 'IN_APPROVAL', 'APPROVED', 'RELEASED', 'RELEASED_WITHOUT_ORDER')
                 GROUP BY facilityid, programid, processingperiodid)
             SELECT pr.code, pp.name, z.name, count(*), count(rep.facilityid),
                    count(*) FILTER (WHERE (rep.submitted_at AT TIME ZONE 'UTC')::date <= pp.enddate + 10)
             FROM expected e
             JOIN referencedata.facilities f ON f.id = e.facilityid
             JOIN referencedata.geographic_zones z ON z.id = f.geographiczoneid
             JOIN referencedata.programs pr ON pr.id = e.programid
             JOIN referencedata.processing_periods pp ON pp.id = e.periodid
             LEFT JOIN reports rep
               ON rep.facilityid = e.facilityid AND rep.programid = e.programid AND rep.processingperiodid = e.periodid
             GROUP BY pr.code, pp.name, z.name",
            as_of = p.as_of
        )),
    );
}

/// Each facility with every zone above it (its own included), walking parentid in PostgreSQL.
const ZONE_CHAIN: &str = "WITH RECURSIVE chain AS (
        SELECT f.id AS facility_id, z.parentid, z.name, l.levelnumber
        FROM referencedata.facilities f
        JOIN referencedata.geographic_zones z ON z.id = f.geographiczoneid
        JOIN referencedata.geographic_levels l ON l.id = z.levelid
      UNION ALL
        SELECT c.facility_id, z.parentid, z.name, l.levelnumber
        FROM chain c
        JOIN referencedata.geographic_zones z ON z.id = c.parentid
        JOIN referencedata.geographic_levels l ON l.id = z.levelid)
    SELECT * FROM chain";

trait CollectSorted {
    fn collect_sorted(self) -> Vec<String>;
}

impl<I: Iterator<Item = String>> CollectSorted for I {
    fn collect_sorted(self) -> Vec<String> {
        let mut lines: Vec<String> = self.collect();
        lines.sort();
        lines
    }
}

#[derive(Default)]
struct Card {
    facility: String,
    program: String,
    orderable: String,
    on_hand: i64,
    issued: i64,
}

struct Status {
    on_hand: i64,
    issued: i64,
    status: &'static str,
}

/// The stock ledger replayed from the source rows: each card's lines in OpenLMIS order, with the
/// direction rules of ../shared/facts/openlmis-source.md, up to the as-of date.
struct Ledger {
    cards: BTreeMap<String, Card>,
    stockouts: Vec<String>,
    adjustments: Vec<String>,
}

impl Ledger {
    fn read(p: &Platform) -> Ledger {
        let window_start = p.psql(&format!("SELECT DATE '{}' - {CONSUMPTION_WINDOW_DAYS}", p.as_of));
        let mut cards: BTreeMap<String, Card> = p
            .psql("SELECT id, facilityid, programid, orderableid FROM stockmanagement.stock_cards")
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].to_string(),
                    Card { facility: f[1].into(), program: f[2].into(), orderable: f[3].into(), ..Card::default() },
                )
            })
            .collect();
        let mut lines: Vec<Vec<String>> = p
            .psql(
                "SELECT li.stockcardid, li.occurreddate,
                        to_char(li.processeddate AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), li.id, li.quantity,
                        li.sourceid IS NOT NULL, li.destinationid IS NOT NULL, li.reasonid IS NOT NULL,
                        coalesce(r.reasontype, '-'), coalesce(r.name, '-')
                 FROM stockmanagement.stock_card_line_items li
                 LEFT JOIN stockmanagement.stock_card_line_item_reasons r ON r.id = li.reasonid",
            )
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        lines.sort();
        let (mut stockouts, mut adjustments) = (Vec::new(), Vec::new());
        for (card_id, card) in cards.iter_mut() {
            // (line id, date) of the movement that emptied the card, while it stays empty
            let mut empty_since: Option<(String, String)> = None;
            let mut close = |started: (String, String), end: &str| {
                let days = day_number(if end == "-" { &p.as_of } else { end }) - day_number(&started.1);
                stockouts.push(format!("{}\t{card_id}\t{}\t{end}\t{days}", started.0, started.1));
            };
            for l in lines.iter().filter(|l| &l[0] == card_id) {
                let (date, id, qty) = (&l[1], &l[3], l[4].parse::<i64>().unwrap());
                let (source, destination, has_reason, reason_type) = (l[5] == "t", l[6] == "t", l[7] == "t", &l[8]);
                let signed = if source || reason_type == "CREDIT" {
                    qty
                } else if destination || reason_type == "DEBIT" {
                    -qty
                } else {
                    0
                };
                if has_reason {
                    adjustments.push(format!("{id}\t{}\t{qty}\t{signed}", l[9]));
                }
                if date.as_str() > p.as_of.as_str() {
                    continue;
                }
                let physical_inventory = !source && !destination && !has_reason;
                card.on_hand = if physical_inventory { qty } else { card.on_hand + signed };
                if signed < 0 && !physical_inventory && date.as_str() > window_start.as_str() {
                    card.issued -= signed;
                }
                match (card.on_hand <= 0, empty_since.take()) {
                    (true, None) => empty_since = Some((id.clone(), date.clone())),
                    (true, still) => empty_since = still,
                    (false, Some(started)) => close(started, date),
                    (false, None) => {}
                }
            }
            if let Some(started) = empty_since {
                close(started, "-");
            }
        }
        stockouts.sort();
        adjustments.sort();
        Ledger { cards, stockouts, adjustments }
    }

    /// Per facility, program and product: stock on hand, issues in the window, and the status by
    /// months of stock (below 3 understocked, above 6 overstocked).
    fn stock_status(&self) -> BTreeMap<(String, String, String), Status> {
        let mut sums: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
        for card in self.cards.values() {
            let sum = sums.entry((card.facility.clone(), card.program.clone(), card.orderable.clone())).or_default();
            sum.0 += card.on_hand;
            sum.1 += card.issued;
        }
        sums.into_iter()
            .map(|(key, (on_hand, issued))| {
                // months of stock = on_hand / (issued / 3); compared without division
                let status = if on_hand <= 0 {
                    "stocked_out"
                } else if issued == 0 {
                    "no_consumption"
                } else if on_hand * 3 < 3 * issued {
                    "understocked"
                } else if on_hand * 3 > 6 * issued {
                    "overstocked"
                } else {
                    "adequate"
                };
                (key, Status { on_hand, issued, status })
            })
            .collect()
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian; Hinnant's days_from_civil).
fn day_number(date: &str) -> i64 {
    let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (y, m, d) = (if parts[1] <= 2 { parts[0] - 1 } else { parts[0] }, parts[1], parts[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn scalar(p: &Platform, sql: &str) -> String {
    stack().clickhouse(&sql.replace("{curated}", &p.curated))
}

fn known_values_before_changes(p: &Platform) {
    // Facility 0 sits in District 0, Facility 1 in City 1 of District 1 (generator rules: zone
    // of facility i, district of city c = c mod 6, region of district d = N, C, S by d mod 3).
    assert_eq!(
        scalar(
            p,
            "SELECT district_name, region_name, country_name, geographic_zone_level FROM {curated}.mart_facility_directory WHERE facility_code = 'HC00000'"
        ),
        "District 0\tNorthern Region\tMalawi\t3"
    );
    assert_eq!(
        scalar(
            p,
            "SELECT geographic_zone_name, district_name, region_name FROM {curated}.mart_facility_directory WHERE facility_code = 'HC00001'"
        ),
        "City 1\tDistrict 1\tCentral Region"
    );
    assert_eq!(scalar(p, "SELECT count() FROM {curated}.mart_facility_directory"), "40");
    assert_eq!(scalar(p, "SELECT count() FROM {curated}.mart_stock_on_hand"), "40");
    assert_eq!(scalar(p, "SELECT DISTINCT as_of_date FROM {curated}.mart_stock_status"), p.as_of);
    // The generator leaves stockouts and every requisition status behind.
    assert!(scalar(p, "SELECT count() FROM {curated}.mart_stockouts").parse::<u32>().unwrap() > 10);
    assert_eq!(scalar(p, "SELECT uniqExact(status) > 5 FROM {curated}.mart_requisition_summary"), "1");
}

/// Inserts, updates and deletes in the source, each followed by the events CDC would deliver;
/// plus an event that arrives late with an older position, which must not win.
fn change_the_source(p: &Platform) {
    // facilities: a rename, a move to another region, a new one, and one deleted with its links
    p.psql("UPDATE referencedata.facilities SET name = 'Renamed Facility' WHERE code = 'HC00002'");
    p.emit("referencedata.facilities", "u", "code = 'HC00002'");
    p.psql("UPDATE referencedata.facilities SET geographiczoneid = olmis_test_id('zone-D2') WHERE code = 'HC00001'");
    p.emit("referencedata.facilities", "u", "code = 'HC00001'");
    p.psql(
        "INSERT INTO referencedata.facilities (id, code, name, active, enabled, geographiczoneid, typeid)
         VALUES (olmis_test_id('facility-new'), 'HC99999', 'New Facility', true, true, olmis_test_id('zone-D0'),
                 olmis_test_id('type-hc'))",
    );
    p.emit("referencedata.facilities", "c", "code = 'HC99999'");
    let victim = p.psql(
        "SELECT id FROM referencedata.facilities f
         WHERE NOT EXISTS (SELECT 1 FROM stockmanagement.stock_cards c WHERE c.facilityid = f.id)
           AND NOT EXISTS (SELECT 1 FROM requisition.requisitions r WHERE r.facilityid = f.id)
           AND code <> 'HC99999'
         ORDER BY code LIMIT 1",
    );
    assert!(!victim.is_empty(), "the generator leaves facilities without stock cards or requisitions");
    for (table, column) in [
        ("referencedata.supported_programs", "facilityid"),
        ("referencedata.requisition_group_members", "facilityid"),
        ("referencedata.facilities", "id"),
    ] {
        let filter = format!("{column} = '{victim}'");
        p.emit_deletes(table, &filter);
        p.psql(&format!("DELETE FROM {table} WHERE {filter}"));
    }
    // a composite key updated: a program support turned off
    let support = "facilityid = olmis_test_id('facility0') AND programid = olmis_test_id('program0')";
    p.psql(&format!("UPDATE referencedata.supported_programs SET active = false WHERE {support}"));
    p.emit("referencedata.supported_programs", "u", support);

    // stock: card0 counted empty after all its movements (a new, ongoing stockout); a quantity
    // corrected; a line deleted; a line deleted and created again with the same id; a late event
    let card0 = "olmis_test_id('card0')";
    p.psql(&format!(
        "INSERT INTO stockmanagement.stock_card_line_items (id, stockcardid, origineventid, quantity, occurreddate, processeddate)
         VALUES (olmis_test_id('line-count-zero'), {card0}, olmis_test_id('event-count-zero'), 0, DATE '2024-12-20',
                 TIMESTAMPTZ '2024-12-20 10:00:00+00')"
    ));
    p.emit("stockmanagement.stock_card_line_items", "c", "id = olmis_test_id('line-count-zero')");
    let line_of = |card: u32, k: u32| {
        p.psql(&format!(
            "SELECT id FROM stockmanagement.stock_card_line_items WHERE stockcardid = olmis_test_id('card{card}')
             ORDER BY occurreddate OFFSET {k} LIMIT 1"
        ))
    };
    let corrected = line_of(1, 1);
    p.psql(&format!(
        "UPDATE stockmanagement.stock_card_line_items SET quantity = quantity + 5 WHERE id = '{corrected}'"
    ));
    p.emit("stockmanagement.stock_card_line_items", "u", &format!("id = '{corrected}'"));
    let deleted = line_of(2, 3);
    p.emit_deletes("stockmanagement.stock_card_line_items", &format!("id = '{deleted}'"));
    p.psql(&format!("DELETE FROM stockmanagement.stock_card_line_items WHERE id = '{deleted}'"));
    let recreated = line_of(3, 4);
    p.emit_deletes("stockmanagement.stock_card_line_items", &format!("id = '{recreated}'"));
    p.psql(&format!(
        "CREATE TEMP TABLE kept AS SELECT * FROM stockmanagement.stock_card_line_items WHERE id = '{recreated}';
         DELETE FROM stockmanagement.stock_card_line_items WHERE id = '{recreated}';
         INSERT INTO stockmanagement.stock_card_line_items SELECT * FROM kept;
         UPDATE stockmanagement.stock_card_line_items SET quantity = quantity + 3 WHERE id = '{recreated}'"
    ));
    p.emit("stockmanagement.stock_card_line_items", "c", &format!("id = '{recreated}'"));
    let late = line_of(4, 2);
    p.emit_late(
        "stockmanagement.stock_card_line_items",
        "olmis_test_debezium(to_jsonb(t) || '{\"quantity\": 99999}', 'stockmanagement.stock_card_line_items')::text",
        &format!("id = '{late}'"),
        1,
    );
    // card0's product gets a new version: the stock marts name the current one
    p.psql(
        "INSERT INTO referencedata.orderables (id, versionnumber, code, fullproductname, packroundingthreshold, netcontent,
                                               roundtozero, dispensableid, lastupdated)
         SELECT id, versionnumber + 10, code, 'Renamed Product', packroundingthreshold, netcontent, roundtozero,
                dispensableid, now()
         FROM referencedata.orderables
         WHERE id = (SELECT orderableid FROM stockmanagement.stock_cards WHERE id = olmis_test_id('card0'))
         ORDER BY versionnumber DESC LIMIT 1",
    );
    p.emit("referencedata.orderables", "c", "fullproductname = 'Renamed Product'");

    // requisitions: one approved (status, history, approved quantities), one deleted with its
    // lines and history, one line's consumption corrected
    let approved = p.psql("SELECT id FROM requisition.requisitions WHERE status = 'AUTHORIZED' ORDER BY id LIMIT 1");
    p.psql(&format!(
        "UPDATE requisition.requisitions SET status = 'APPROVED' WHERE id = '{approved}';
         INSERT INTO requisition.status_changes (id, requisitionid, status, createddate)
         VALUES (olmis_test_id('approval'), '{approved}', 'APPROVED', TIMESTAMPTZ '2024-12-01 12:00:00+00');
         UPDATE requisition.requisition_line_items SET approvedquantity = requestedquantity WHERE requisitionid = '{approved}'"
    ));
    p.emit("requisition.requisitions", "u", &format!("id = '{approved}'"));
    p.emit("requisition.status_changes", "c", "id = olmis_test_id('approval')");
    p.emit("requisition.requisition_line_items", "u", &format!("requisitionid = '{approved}'"));
    let dropped = p.psql("SELECT id FROM requisition.requisitions WHERE status = 'REJECTED' ORDER BY id LIMIT 1");
    for (table, column) in [
        ("requisition.requisition_line_items", "requisitionid"),
        ("requisition.status_changes", "requisitionid"),
        ("requisition.requisitions", "id"),
    ] {
        let filter = format!("{column} = '{dropped}'");
        p.emit_deletes(table, &filter);
        p.psql(&format!("DELETE FROM {table} WHERE {filter}"));
    }
    let corrected_line =
        p.psql("SELECT id FROM requisition.requisition_line_items WHERE NOT skipped ORDER BY id LIMIT 1");
    p.psql(&format!(
        "UPDATE requisition.requisition_line_items SET totalconsumedquantity = 4242 WHERE id = '{corrected_line}'"
    ));
    p.emit("requisition.requisition_line_items", "u", &format!("id = '{corrected_line}'"));
}

fn known_values_after_changes(p: &Platform) {
    let directory = |code: &str| {
        scalar(
            p,
            &format!(
                "SELECT facility_name, region_name FROM {{curated}}.mart_facility_directory WHERE facility_code = '{code}'"
            ),
        )
    };
    assert!(directory("HC00002").starts_with("Renamed Facility\t"), "{}", directory("HC00002"));
    assert_eq!(directory("HC00001").split('\t').nth(1), Some("Southern Region"), "moved to District 2");
    assert_eq!(directory("HC99999"), "New Facility\tNorthern Region");
    assert_eq!(scalar(p, "SELECT count() FROM {curated}.mart_facility_directory"), "40", "one added, one deleted");
    let card0 = p.psql("SELECT olmis_test_id('card0')");
    assert_eq!(
        scalar(
            p,
            &format!(
                "SELECT stock_on_hand, product_name FROM {{curated}}.mart_stock_on_hand WHERE stock_card_id = '{card0}'"
            )
        ),
        "0\tRenamed Product"
    );
    let count_zero = p.psql("SELECT olmis_test_id('line-count-zero')");
    assert_eq!(
        scalar(
            p,
            &format!(
                "SELECT started_on, is_ongoing FROM {{curated}}.mart_stockouts WHERE stockout_id = '{count_zero}'"
            )
        ),
        "2024-12-20\t1"
    );
    assert_eq!(
        scalar(p, "SELECT countIf(quantity = 99999) FROM {curated}_staging.stg_stock_card_line_items"),
        "0",
        "late event lost"
    );
    assert_eq!(
        scalar(p, "SELECT count() FROM {curated}.mart_consumption WHERE consumed_quantity = 4242"),
        "1",
        "corrected consumption"
    );
}

/// The stack's secrets that dbt handles: none may appear in output or in any file dbt wrote.
fn secrets() -> [(&'static str, String); 2] {
    [
        ("CLICKHOUSE_PASSWORD", stack().get("CLICKHOUSE_PASSWORD").to_string()),
        ("SOURCE_PG_PASSWORD", stack().get("SOURCE_PG_PASSWORD").to_string()),
    ]
}

fn assert_no_secret(text: &str, place: &str) {
    for (name, value) in secrets() {
        assert!(!text.contains(&value), "{name} appears in {place}");
    }
}

fn assert_no_secret_in_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_symlink() {
            continue; // dbt_packages/ links to the example packages in the repository
        }
        if path.is_dir() {
            assert_no_secret_in_files(&path);
        } else if let Ok(bytes) = std::fs::read(&path) {
            assert_no_secret(&String::from_utf8_lossy(&bytes), &path.display().to_string());
        }
    }
}

/// The platform's own demo data (`olmisctl demo seed`), built and checked mart by mart.
#[test]
fn marts_match_the_demo_data() {
    let p = Platform::new("dbt_demo", Source::Demo { scale: 1 });
    let output = run(p.olmisctl().args(["--json", "dbt-build"]));
    assert_ok(&output);
    assert_clean_run(&json(&output), 35);
    assert_eq!(scalar(&p, "SELECT count() FROM {curated}.mart_facility_directory"), "2700");
    assert_eq!(scalar(&p, "SELECT count() FROM {curated}.mart_stock_on_hand"), "116");
    assert_marts_match_source(&p);
}

#[test]
fn a_broken_model_and_a_failing_test_are_named_in_the_summary() {
    let mut p = Platform::new("dbt_broken", Source::Generated(Sizes::TEST));
    let packages = tempfile::tempdir().unwrap();
    let core = packages.path().join("olmis-analytics-core");
    copy_dir(&repo_path("examples/olmis-analytics-core"), &core, &["target", "dbt_packages", "logs"]);
    let marts = core.join("dbt/models/marts");
    // a model ClickHouse rejects, and a model whose key is no longer unique (neither is upstream
    // of the other: dbt build skips what depends on a failed test)
    edit(&marts.join("mart_requisition_summary.sql"), "    r.status,\n", "    r.no_such_column AS status,\n");
    edit(
        &marts.join("mart_consumption.sql"),
        "INNER JOIN {{ ref('stg_requisitions') }} AS r ON r.id = li.requisitionid\n",
        "INNER JOIN {{ ref('stg_requisitions') }} AS r ON r.id = li.requisitionid\nCROSS JOIN numbers(2) AS duplicated\n",
    );
    p.core = core.clone();
    p.extensions.clear();

    let selector = "+mart_consumption +mart_requisition_summary";
    let output = run(p.olmisctl().args(["dbt-build", "--select", selector]));
    assert_eq!(output.status.code(), Some(1), "{}\n{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    let model_file = core.join("dbt/models/marts/mart_requisition_summary.sql");
    assert!(text.contains("FAIL model mart_requisition_summary: Database Error"), "{text}");
    assert!(text.contains(&format!("file: {}", model_file.canonicalize().unwrap().display())), "{text}");
    assert!(text.contains("FAIL test unique_mart_consumption_requisition_line_item_id"), "{text}");
    assert!(
        text.contains(&format!("file: {}", core.join("dbt/models/marts/marts.yml").canonicalize().unwrap().display())),
        "{text}"
    );
    assert!(text.contains("sql:  dbt/target/compiled/olmis_analytics_core/models/marts/marts.yml/"), "{text}");

    // dbt-test runs the tests alone, with the same summary and exit code.
    let output = run(p.olmisctl().args(["--json", "dbt-test", "--select", "mart_consumption"]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = json(&output);
    assert_eq!(summary["command"], "dbt test");
    assert_eq!(summary["nodes"]["built"], 0);
    let failed: Vec<&str> = summary["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["level"] == "fail")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(failed.contains(&"unique_mart_consumption_requisition_line_item_id"), "{summary:#}");
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn git_packages_are_installed_at_their_pinned_revision() {
    let mut p = Platform::new("dbt_git", Source::Generated(Sizes::TEST));
    let repo = tempfile::tempdir().unwrap();
    copy_dir(&repo_path("examples/olmis-analytics-core"), repo.path(), &["target", "dbt_packages", "logs"]);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(repo.path())
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "v1"]);
    git(&["tag", "v1"]);
    std::fs::write(repo.path().join("dbt/models/staging/stg_after_v1.sql"), "SELECT 1 AS x\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "after v1"]);
    p.extensions.clear();
    let url = format!("file://{}", repo.path().display());

    let git_mode = || {
        let mut cmd = p.olmisctl();
        cmd.env("ANALYTICS_CORE_GIT_URL", &url).env("ANALYTICS_CORE_GIT_REF", "v1");
        cmd
    };

    // Like every command, dbt-build reads the packages `packages fetch` checked out.
    let output = run(git_mode().args(["dbt-build"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("packages fetch"), "{}", stderr(&output));
    assert_ok(&run(git_mode().args(["packages", "fetch"])));
    let output = run(git_mode().args(["--json", "dbt-build", "--select", "+stg_requisitions"]));
    assert_ok(&output);
    let summary = json(&output);
    assert_eq!(summary["nodes"]["built"], 2, "cdc_requisitions and stg_requisitions: {summary:#}");
    assert_eq!(summary["tests"]["failed"], 0, "{summary:#}");
    assert_eq!(summary["sources"]["fresh"], 1, "the one source upstream: {summary:#}");
    let packages_yml = std::fs::read_to_string(p.project.path().join("dbt/packages.yml")).unwrap();
    assert!(
        packages_yml.contains(&format!("  - git: \"{url}\"\n    revision: \"v1\"\n    subdirectory: dbt\n")),
        "{packages_yml}"
    );
    let installed = p.project.path().join("dbt/dbt_packages/olmis_analytics_core/models/staging");
    assert!(installed.join("stg_requisitions.sql").is_file());
    assert!(!installed.join("stg_after_v1.sql").exists(), "a commit after the pinned tag was installed");
    assert_eq!(
        stack().clickhouse(&format!("SELECT count() FROM {}_staging.stg_requisitions", p.curated)),
        p.psql("SELECT count(*) FROM requisition.requisitions")
    );
}
