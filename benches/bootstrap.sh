#!/usr/bin/env bash
# Throughput of `bootstrap export` + `bootstrap import` for one big table, against the baseline of
# piping `psql -c "\copy ... to stdout"` into ClickHouse's HTTP interface with curl (`-T -`, which
# streams; `--data-binary @-` would read all of stdin into memory first), in one run on the test
# stack. Reports rows/s, the ratio and peak RSS (GNU time -v).
#
#   benches/bootstrap.sh [ROWS]        ROWS in the table (default 10000000)
#
# The source table (OpenLMIS's stockmanagement.stock_card_line_items shape: uuids, a date, a
# timestamptz, texts, a jsonb) lives in database olmis_bench_bootstrap and is kept between runs
# (seeding 10 million rows takes a few minutes). The baseline lands the rows as they are in a
# ClickHouse table with the same columns, typed; olmisctl lands them as Debezium-shaped events in
# raw.events_<t> (ORDER BY (kafka_key, lsn, kafka_offset), as clickhouse-init creates it). Both
# ClickHouse tables are dropped at the end.
#
# Knobs (environment): OLMISCTL (default: the release build in $CARGO_TARGET_DIR or ./target).
set -euo pipefail

rows=${1:-10000000}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_file=${OLMIS_STACK_ENV:-$HOME/.cache/olmisctl-stack/run/stack.env}
[[ -f $env_file ]] || { echo "the test stack is not up ($env_file missing): tests/stack/stack.sh up" >&2; exit 2; }
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
olmisctl=${OLMISCTL:-${CARGO_TARGET_DIR:-$root/target}/release/olmisctl}
[[ -x $olmisctl ]] || { echo "no olmisctl at $olmisctl: cargo build --release first (or set OLMISCTL)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }

db=olmis_bench_bootstrap schema=benchstock table=stock_card_line_items
t=${schema}_$table
work=$(mktemp -d)
trap 'ch "DROP TABLE IF EXISTS raw.events_$t SYNC" >/dev/null 2>&1 || true; ch "DROP TABLE IF EXISTS raw.baseline_$t SYNC" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Credentials go through the environment and files, never through process arguments.
export PGHOST=$SOURCE_PG_HOST PGPORT=$SOURCE_PG_PORT PGUSER=$SOURCE_PG_USER PGPASSWORD=$SOURCE_PG_PASSWORD
psql="$OLMIS_STACK_BIN/psql -X -q -v ON_ERROR_STOP=1"
(umask 077 && printf 'X-ClickHouse-User: %s\nX-ClickHouse-Key: %s\n' "$CLICKHOUSE_USER" "$CLICKHOUSE_PASSWORD" >"$work/headers")
ch() { curl -sS --fail-with-body -H "@$work/headers" --data-binary "$1" "$CLICKHOUSE_URL"; }

have=$($psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")
[[ $have == 1 ]] || $psql -d postgres -c "CREATE DATABASE $db"
count=$($psql -d $db -tAc "SELECT CASE WHEN to_regclass('$schema.$table') IS NULL THEN -1 ELSE (SELECT count(*) FROM $schema.$table) END" 2>/dev/null || echo -1)
if [[ $count != "$rows" ]]; then
  echo "seeding $schema.$table with $rows rows (once) ..." >&2
  $psql -d $db <<SQL
DROP SCHEMA IF EXISTS $schema CASCADE;
CREATE SCHEMA $schema;
CREATE TABLE $schema.$table (
  id uuid PRIMARY KEY, stockcardid uuid NOT NULL, quantity integer NOT NULL, reasonid uuid, sourceid uuid,
  destinationid uuid, occurreddate date NOT NULL, processeddate timestamptz NOT NULL, reasonfreetext text,
  sourcefreetext text, destinationfreetext text, documentnumber text, signature text, userid uuid NOT NULL,
  extradata jsonb);
INSERT INTO $schema.$table
SELECT gen_random_uuid(), md5('card' || (i % 50000))::uuid, (i::bigint * 7919 % 500)::int,
       CASE WHEN i % 3 = 0 THEN md5('reason' || (i % 12))::uuid END,
       CASE WHEN i % 3 = 1 THEN md5('facility' || (i % 2700))::uuid END,
       CASE WHEN i % 3 = 2 THEN md5('facility' || (i % 2701))::uuid END,
       DATE '2018-01-01' + (i % 2900), TIMESTAMPTZ '2018-01-01 06:00:00+00' + i * INTERVAL '25 second',
       CASE WHEN i % 10 = 0 THEN 'counted again' END, NULL, NULL, 'DOC-' || (i / 40), NULL,
       md5('user' || (i % 300))::uuid, CASE WHEN i % 20 = 0 THEN '{"source": "mobile", "version": 3}'::jsonb END
FROM generate_series(1, $rows) i;
ANALYZE $schema.$table;
SQL
fi
size=$($psql -d $db -tAc "SELECT pg_size_pretty(pg_table_size('$schema.$table'))")

# Warm the page cache so neither run pays for the first read of the table.
$psql -d $db -c "\\copy $schema.$table to /dev/null"

ch "CREATE DATABASE IF NOT EXISTS raw" >/dev/null
ch "DROP TABLE IF EXISTS raw.baseline_$t SYNC" >/dev/null
ch "CREATE TABLE raw.baseline_$t (id UUID, stockcardid UUID, quantity Int32, reasonid Nullable(UUID),
  sourceid Nullable(UUID), destinationid Nullable(UUID), occurreddate Date32, processeddate DateTime64(6, 'UTC'),
  reasonfreetext Nullable(String), sourcefreetext Nullable(String), destinationfreetext Nullable(String),
  documentnumber Nullable(String), signature Nullable(String), userid UUID, extradata Nullable(String))
  ENGINE = MergeTree ORDER BY id" >/dev/null
ch "DROP TABLE IF EXISTS raw.events_$t SYNC" >/dev/null
ch "CREATE TABLE raw.events_$t (kafka_topic LowCardinality(String), kafka_partition Int32, kafka_offset Int64,
  kafka_key String, kafka_ts DateTime64(3), op LowCardinality(String), source_ts_ms Int64, lsn UInt64,
  origin LowCardinality(String), before String, after String, ingested_at DateTime64(3) DEFAULT now64(3))
  ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (kafka_key, lsn, kafka_offset)" >/dev/null
if [[ $(ch "EXISTS TABLE raw.bootstrap_imports") == 1 ]]; then
  ch "DELETE FROM raw.bootstrap_imports WHERE source_table = '$schema.$table'" >/dev/null
fi

seconds() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }

echo "baseline: psql \\copy | curl INSERT ... FORMAT TabSeparated" >&2
query="INSERT INTO raw.baseline_$t FORMAT TabSeparated"
/usr/bin/time -v -o "$work/baseline.time" bash -c "set -o pipefail; $psql -d $db -c '\\copy $schema.$table to stdout' \
  | curl -sS --fail-with-body -H @$work/headers -X POST -T - '$CLICKHOUSE_URL/?query=$(printf %s "$query" | jq -sRr @uri)'"
landed=$(ch "SELECT count() FROM raw.baseline_$t")
[[ $landed == "$rows" ]] || { echo "baseline landed $landed rows, expected $rows" >&2; exit 1; }
ch "DROP TABLE raw.baseline_$t SYNC" >/dev/null # disk: both tables at once need a few GB

echo "olmisctl bootstrap export, then import" >&2
export SOURCE_PG_DB=$db
/usr/bin/time -v -o "$work/export.time" "$olmisctl" -q bootstrap export --tables "$schema.$table" --to "$work/export" >/dev/null
/usr/bin/time -v -o "$work/import.time" "$olmisctl" -q bootstrap import --from "$work/export" >/dev/null
landed=$(ch "SELECT count() FROM raw.events_$t")
[[ $landed == "$rows" ]] || { echo "olmisctl landed $landed rows, expected $rows" >&2; exit 1; }
files=$(du -sh "$work/export" | cut -f1)

b=$(seconds "$work/baseline.time") e=$(seconds "$work/export.time") i=$(seconds "$work/import.time")
awk -v rows="$rows" -v b="$b" -v e="$e" -v i="$i" -v size="$size" -v files="$files" \
  -v brss="$(rss_mb "$work/baseline.time")" -v erss="$(rss_mb "$work/export.time")" -v irss="$(rss_mb "$work/import.time")" 'BEGIN {
  printf "table: %d rows, %s in PostgreSQL; export files %s\n", rows, size, files
  printf "baseline (psql | curl):      %7.1f s  %9.0f rows/s  peak RSS %s MB\n", b, rows / b, brss
  printf "olmisctl export:             %7.1f s  %9.0f rows/s  peak RSS %s MB\n", e, rows / e, erss
  printf "olmisctl import:             %7.1f s  %9.0f rows/s  peak RSS %s MB\n", i, rows / i, irss
  printf "olmisctl export + import:    %7.1f s  %9.0f rows/s  ratio to baseline %.2fx\n", e + i, rows / (e + i), b / (e + i)
}'
