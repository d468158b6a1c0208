//! Benchmark: `olmisctl dbt-build` of the core package, full and incremental, on the demo data
//! (`olmisctl demo seed`) at scale 1 and 10, against the test stack (tests/stack/stack.sh up).
//!
//!     cargo bench --bench dbt_build            # scale factors 1 and 10
//!     cargo bench --bench dbt_build -- 10      # one factor
//!
//! Per scale: seed the source and land its rows as raw snapshot events, a first (full) build, a
//! build with no new events, then about 1% of stock movements and 10% of requisitions changed
//! (updates, inserts, deletes as CDC events), an incremental build, and a --full-refresh. Wall time
//! includes dbt's start-up (deps is skipped once installed); "dbt" is dbt's own run time.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/dbt_data/mod.rs"]
mod dbt_data;

use std::time::Instant;

use dbt_data::{Platform, Source};

fn main() {
    let mut factors: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if factors.is_empty() {
        factors = vec![1, 10];
    }
    println!("{:>6}  {:<34} {:>9} {:>9}", "scale", "phase", "wall s", "dbt s");
    for factor in factors {
        let started = Instant::now();
        let mut p = Platform::new("bench_dbt", Source::Demo { scale: factor });
        p.extensions.clear();
        let events = p.raw_event_count();
        report(factor, &format!("seed + {events} raw events"), started.elapsed().as_secs_f64(), None);
        build(&p, factor, "first build (full)", &["dbt-build"]);
        build(&p, factor, "rebuild, no new events", &["dbt-build"]);
        change(&p);
        build(&p, factor, "incremental after changes", &["dbt-build"]);
        build(&p, factor, "--full-refresh", &["dbt-build", "--full-refresh"]);
    }
}

fn build(p: &Platform, factor: u32, phase: &str, args: &[&str]) {
    let started = Instant::now();
    let output = p.olmisctl().arg("--json").args(args).output().expect("olmisctl runs");
    let wall = started.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert!(
        output.status.success(),
        "{phase} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    report(factor, phase, wall, summary["elapsed_seconds"].as_f64());
}

fn report(factor: u32, phase: &str, wall: f64, dbt: Option<f64>) {
    let dbt = dbt.map(|s| format!("{s:.1}")).unwrap_or_default();
    println!("{:>5}x  {phase:<34} {wall:>9.1} {dbt:>9}", factor);
}

/// About 1% of stock movements corrected, 0.2% deleted, a new movement on 1% of cards, and 10% of
/// requisitions moved to APPROVED: each change followed by its CDC event.
fn change(p: &Platform) {
    let lines = "stockmanagement.stock_card_line_items";
    // a stable pseudo-random 1 in n of the rows
    let picked = |salt: &str, n: u32| format!("('x' || substr(md5('{salt}' || id), 1, 8))::bit(32)::int % {n} = 0");
    p.psql(&format!("UPDATE {lines} SET quantity = quantity + 1 WHERE {}", picked("update", 100)));
    p.emit(lines, "u", &picked("update", 100));
    let deleted = picked("delete", 500);
    p.emit_deletes(lines, &deleted);
    p.psql(&format!("DELETE FROM {lines} WHERE {deleted}"));
    // a stock event and its line per picked card (the demo source has the foreign key)
    p.psql(&format!(
        "INSERT INTO stockmanagement.stock_events (id, facilityid, programid, processeddate)
         SELECT md5('event' || id)::uuid, facilityid, programid, now() FROM stockmanagement.stock_cards WHERE {cards};
         INSERT INTO {lines} (id, stockcardid, origineventid, quantity, occurreddate, processeddate)
         SELECT md5('new' || id)::uuid, id, md5('event' || id)::uuid, 7, DATE '{as_of}', now()
         FROM stockmanagement.stock_cards WHERE {cards}",
        cards = picked("card", 100),
        as_of = p.as_of,
    ));
    p.emit(lines, "c", "origineventid IN (SELECT md5('event' || id)::uuid FROM stockmanagement.stock_cards)");
    let requisitions = format!("NOT emergency AND {}", picked("approve", 10));
    p.psql(&format!("UPDATE requisition.requisitions SET status = 'APPROVED' WHERE {requisitions}"));
    p.emit("requisition.requisitions", "u", &requisitions);
}
