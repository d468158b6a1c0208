#!/usr/bin/env bash
# Freshness of the raw landing: time from a committed PostgreSQL change to its row in
# raw.events_<t>, p50 / p99 over N single-row transactions, on the test stack.
#
#   benches/freshness.sh [N]          N changes (default 200), spaced 50-450 ms apart
#
# What runs: a fresh database with one table, a Debezium connector for it (registered here with
# curl), `olmisctl clickhouse-init` for its topic, then N commits. Latency per change is
# ingested_at (stamped by ClickHouse when the row is inserted) minus source.ts_ms (the commit time
# PostgreSQL reports to Debezium); both clocks are this machine's. Everything the run creates is
# removed at the end.
#
# Knobs (environment):
#   OLMISCTL             olmisctl binary (default: $CARGO_TARGET_DIR or ./target, debug build)
#   POLL_INTERVAL_MS     Debezium poll.interval.ms (default 50)
#   IDLE_TOPICS          topics landed beside the measured one, idle (default 21: the core
#                        package lands 22 tables, and their consumers share ClickHouse's pool)
#   KAFKA_SETTINGS       Kafka engine settings to try instead of the template's, e.g.
#                        "kafka_flush_interval_ms=7500,kafka_poll_timeout_ms=500"
set -euo pipefail

n=${1:-200}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_file=${OLMIS_STACK_ENV:-$HOME/.cache/olmisctl-stack/run/stack.env}
[[ -f $env_file ]] || { echo "the test stack is not up ($env_file missing): tests/stack/stack.sh up" >&2; exit 2; }
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
olmisctl=${OLMISCTL:-${CARGO_TARGET_DIR:-$root/target}/debug/olmisctl}
[[ -x $olmisctl ]] || { echo "no olmisctl at $olmisctl: cargo build first (or set OLMISCTL)" >&2; exit 2; }
bin=$OLMIS_STACK_BIN

run=bench_$(date +%s)_$$
db=$run schema=$run table=changes
topic=$run.$schema.$table
t=${schema}_$table
idle=${IDLE_TOPICS:-21}
idle_topics=() ids=("$t") # topics and table ids beside the measured ones
for i in $(seq 1 "$idle"); do
  idle_topics+=("$run.$schema.idle_$i")
  ids+=("${schema}_idle_$i")
done
topics=$(IFS=,; echo "$topic${idle_topics[*]:+,${idle_topics[*]}}")
project=$(mktemp -d)
trap cleanup EXIT

# Credentials go through the environment and stdin, never through process arguments.
export PGHOST=$SOURCE_PG_HOST PGPORT=$SOURCE_PG_PORT PGUSER=$SOURCE_PG_USER PGPASSWORD=$SOURCE_PG_PASSWORD
export PGSSLMODE=disable PGOPTIONS='--client-min-messages=warning'
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
ch() {
  curl -sS --fail-with-body --config - --data-binary "$1" "$CLICKHOUSE_URL" <<EOF
header = "X-ClickHouse-User: $CLICKHOUSE_USER"
header = "X-ClickHouse-Key: $CLICKHOUSE_PASSWORD"
EOF
}
say() { printf '%s\n' "$*" >&2; }

cleanup() {
  set +e
  curl -s -o /dev/null -X DELETE "$CONNECT_URL/connectors/$run"
  local id
  for id in "${ids[@]}"; do
    for view in parsed_${id}_mv events_${id}_mv errors_${id}_mv; do ch "DROP TABLE IF EXISTS raw.$view SYNC" >/dev/null; done
    for tbl in kafka_$id parsed_$id events_$id; do ch "DROP TABLE IF EXISTS raw.$tbl SYNC" >/dev/null; done
  done
  # The connector's task lets go of the slot some time after the DELETE (longer on a busy worker).
  for _ in $(seq 1 60); do
    [[ $(psql_q -d postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$run' AND active") == 0 ]] && break
    sleep 1
  done
  psql_q -d postgres -c "SELECT pg_drop_replication_slot('$run') FROM pg_replication_slots WHERE slot_name = '$run'" >/dev/null
  psql_q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  "$bin/kafka-topics" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --delete --topic "$run\..*" >/dev/null 2>&1
  rm -rf "$project"
}

say "source: database $db, table $schema.$table"
psql_q -d postgres -c "CREATE DATABASE $db"
psql_q -d "$db" <<SQL
CREATE SCHEMA $schema;
CREATE TABLE $schema.$table (id bigint PRIMARY KEY, n int NOT NULL, note text NOT NULL);
CREATE PUBLICATION $run FOR TABLE $schema.$table;
SQL

say "connector $run (poll.interval.ms ${POLL_INTERVAL_MS:-50})"
config=$(mktemp)
chmod 600 "$config"
cat >"$config" <<EOF
{
  "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "tasks.max": "1",
  "plugin.name": "pgoutput",
  "database.hostname": "$SOURCE_PG_CONNECT_HOST",
  "database.port": "$SOURCE_PG_CONNECT_PORT",
  "database.user": "$SOURCE_PG_USER",
  "database.password": "$SOURCE_PG_PASSWORD",
  "database.dbname": "$db",
  "slot.name": "$run",
  "publication.name": "$run",
  "publication.autocreate.mode": "disabled",
  "topic.prefix": "$run",
  "table.include.list": "$schema.$table",
  "snapshot.mode": "initial",
  "poll.interval.ms": "${POLL_INTERVAL_MS:-50}",
  "key.converter": "org.apache.kafka.connect.json.JsonConverter",
  "key.converter.schemas.enable": "false",
  "value.converter": "org.apache.kafka.connect.json.JsonConverter",
  "value.converter.schemas.enable": "false",
  "decimal.handling.mode": "string",
  "tombstones.on.delete": "false",
  "topic.creation.default.partitions": "1",
  "topic.creation.default.replication.factor": "1"
}
EOF
curl -sS --fail-with-body -o /dev/null -X PUT -H 'Content-Type: application/json' \
  --data-binary "@$config" "$CONNECT_URL/connectors/$run/config"
rm -f "$config"
for _ in $(seq 1 60); do
  state=$(curl -s "$CONNECT_URL/connectors/$run/status" | grep -o '"state":"[A-Z]*"' | tail -1 || true)
  [[ $state == '"state":"RUNNING"' ]] && break
  sleep 0.5
done
[[ $state == '"state":"RUNNING"' ]] || { say "connector did not start: $state"; exit 1; }

# A first change creates the topic; then the landing, then the measured changes.
psql_q -d "$db" -c "INSERT INTO $schema.$table VALUES (0, 0, 'warm-up')"
delivered=no
for _ in $(seq 1 120); do
  if "$bin/kcat" -C -b "$KAFKA_BOOTSTRAP_SERVERS" -t "$topic" -c 1 -e -q >/dev/null 2>&1; then delivered=yes; break; fi
  sleep 0.5
done
[[ $delivered == yes ]] || { say "the connector delivered nothing to $topic within 60 s"; exit 1; }
for idle_topic in "${idle_topics[@]}"; do
  "$bin/kafka-topics" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --create --topic "$idle_topic" \
    --partitions 1 --replication-factor 1 >/dev/null
done
say "clickhouse-init for $topic and $idle idle topics"
init() { (cd "$project" && RAW_KAFKA_TOPICS=$topics "$olmisctl" -q clickhouse-init >/dev/null); }
init

if [[ -n ${KAFKA_SETTINGS:-} ]]; then
  say "Kafka engine settings of every landed topic: $KAFKA_SETTINGS"
  IFS=, read -ra pairs <<<"$KAFKA_SETTINGS"
  for id in "${ids[@]}"; do
    query=$(ch "SELECT create_table_query FROM system.tables WHERE database = 'raw' AND name = 'kafka_$id' FORMAT TSVRaw")
    for pair in "${pairs[@]}"; do
      key=${pair%%=*} value=${pair#*=}
      if [[ $query == *"$key = "* ]]; then
        query=$(sed -E "s/($key = )[^,]+/\\1$value/" <<<"$query")
      else
        query="$query, $key = $value"
      fi
    done
    # Stop consuming, swap the Kafka table (same consumer group), consume again.
    ch "DROP TABLE raw.parsed_${id}_mv SYNC"
    ch "DROP TABLE raw.kafka_$id SYNC"
    ch "$query"
  done
  init || true # reports the Kafka tables' drift (exit 1) and recreates the consuming views
fi

landed() { ch "SELECT count() FROM raw.events_$t"; }
for _ in $(seq 1 120); do [[ $(landed) -ge 1 ]] && break; sleep 0.5; done
[[ $(landed) -ge 1 ]] || { say "the warm-up change did not land"; exit 1; }

say "$n changes, one transaction each"
{
  for i in $(seq 1 "$n"); do
    if ((i % 3 == 0)); then
      echo "UPDATE $schema.$table SET n = n + 1, note = 'updated $i' WHERE id = $((i - 1));"
    else
      echo "INSERT INTO $schema.$table VALUES ($i, $i, 'inserted $i');"
    fi
    # 50-450 ms between commits, varied so commits don't line up with the consumer's cycle
    echo "SELECT pg_sleep($(((i * 7919) % 400 + 50)) / 1000.0);"
  done
} | psql_q -d "$db" >/dev/null

# Debezium delivers at least once: a connector task restarted by a rebalance of the shared Connect
# worker sends some changes again (same LSN, new Kafka offset). Those are the source's duplicates
# and land as such; a Kafka offset landing twice would be the landing's fault.
changes() { ch "SELECT uniqExact(lsn, kafka_key) FROM raw.events_$t"; }
for _ in $(seq 1 120); do [[ $(changes) -ge $((n + 1)) ]] && break; sleep 0.5; done
sleep 2
read -r found offsets events <<<"$(ch "SELECT uniqExact(lsn, kafka_key), uniqExact(kafka_offset), count() FROM raw.events_$t FORMAT TSV")"
[[ $found -eq $((n + 1)) ]] || { say "expected $((n + 1)) changes, found $found"; exit 1; }
[[ $events -eq $offsets ]] || { say "FAIL: $((events - offsets)) Kafka messages landed twice"; exit 1; }
((offsets == found)) || say "note: Debezium sent $((offsets - found)) changes twice (connector task restarted); each counts once below"

ch "
SELECT
    count() AS changes,
    quantileExact(0.5)(total) AS p50_ms,
    quantileExact(0.99)(total) AS p99_ms,
    max(total) AS max_ms,
    quantileExact(0.5)(to_kafka) AS p50_commit_to_kafka_ms,
    quantileExact(0.5)(in_clickhouse) AS p50_kafka_to_row_ms
FROM
(
    -- the first landing of each change
    SELECT
        min(toUnixTimestamp64Milli(ingested_at)) - any(source_ts_ms) AS total,
        min(toUnixTimestamp64Milli(kafka_ts)) - any(source_ts_ms) AS to_kafka,
        total - to_kafka AS in_clickhouse
    FROM raw.events_$t
    WHERE JSONExtractInt(after, 'id') != 0
    GROUP BY lsn, kafka_key
)
FORMAT PrettyCompactMonoBlock"
