# shellcheck shell=bash
# clickhouse: the real ClickHouse 26.9 engine from the PyPI wheel chdb-core, served over HTTP and
# the native protocol by tests/stack/clickhouse/server.py (see that file). Config, users, data and
# logs in $OLMIS_STACK_RUN/clickhouse/.

CHDB_CORE_VERSION=26.9.0
# shellcheck disable=SC2034 # read by stack.sh up (${svc}_ready_timeout)
clickhouse_ready_timeout=60
# memory cap of the server (bytes); ClickHouse otherwise takes 0.9 x RAM
: "${OLMIS_STACK_CH_MAX_MEMORY:=3221225472}"

_ch_venv() { echo "$OLMIS_STACK_CACHE/venv-clickhouse"; }
_ch_dir() { echo "$OLMIS_STACK_RUN/clickhouse"; }
_ch_url() { echo "http://127.0.0.1:$OLMIS_STACK_CH_HTTP_PORT"; }
_ch_password() { stack_secret clickhouse-olmis; }

clickhouse_install() {
  local venv stamp py
  venv=$(_ch_venv)
  stamp="chdb-core==$CHDB_CORE_VERSION"
  if [[ -x $venv/bin/python && -f $venv/.olmis-installed && $(<"$venv/.olmis-installed") == "$stamp" ]]; then
    return 0
  fi
  py=${OLMIS_STACK_PYTHON:-$(command -v python3.11 || command -v python3)} || stack_die "clickhouse: no python3"
  [[ -x $venv/bin/python ]] || "$py" -m venv "$venv" || stack_die "clickhouse: venv creation failed"
  rm -f "$venv/.olmis-installed"
  # --no-deps: the server only needs the engine's shared object, not chdb's Python extras
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$stamp" ||
    stack_die "clickhouse: pip install $stamp failed"
  printf '%s\n' "$stamp" >"$venv/.olmis-installed"
}

_ch_write_config() {
  local d=$1 pwhash
  pwhash=$(printf '%s' "$(_ch_password)" | sha256sum | cut -c1-64)
  cat >"$d/config.xml.tmp" <<EOF
<!-- written by tests/stack/services/clickhouse.sh at every start -->
<clickhouse>
  <logger>
    <level>information</level>
    <log>$d/clickhouse.log</log>
    <errorlog>$d/clickhouse.err.log</errorlog>
    <size>50M</size>
    <count>2</count>
    <console>0</console>
    <async>false</async>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$OLMIS_STACK_CH_HTTP_PORT</http_port>
  <tcp_port>$OLMIS_STACK_CH_TCP_PORT</tcp_port>
  <timezone>UTC</timezone>
  <max_server_memory_usage>$OLMIS_STACK_CH_MAX_MEMORY</max_server_memory_usage>
  <mark_cache_size>268435456</mark_cache_size>
  <users_config>users.xml</users_config>
  <!-- clickhouse-server's default; clickhouse-local has 2, which (with the scheduler's cap of 0.8 of
       a pool per task type) leaves a single thread for all Kafka tables: 22 landed topics then take
       turns and freshness goes from under a second to tens of seconds -->
  <background_message_broker_schedule_pool_size>16</background_message_broker_schedule_pool_size>
  <kafka>
    <!-- librdkafka: 10 s instead of 45 s, so that after a kill -9 a restarted server gets its
         partitions back sooner (a clean stop detaches Kafka tables: their consumers leave) -->
    <session_timeout_ms>10000</session_timeout_ms>
    <heartbeat_interval_ms>3000</heartbeat_interval_ms>
    <!-- librdkafka statistics every 3 s: the only source of consumer lag (partition high
         watermarks) in system.kafka_consumers.rdkafka_stat; ClickHouse 26.9 leaves them off -->
    <statistics_interval_ms>3000</statistics_interval_ms>
  </kafka>
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <flush_interval_milliseconds>3000</flush_interval_milliseconds>
  </query_log>
</clickhouse>
EOF
  cat >"$d/users.xml.tmp" <<EOF
<!-- written by tests/stack/services/clickhouse.sh at every start -->
<clickhouse>
  <profiles>
    <default>
      <!-- clickhouse-local turns these on; clickhouse-server has them off -->
      <implicit_select>0</implicit_select>
      <allow_introspection_functions>0</allow_introspection_functions>
    </default>
  </profiles>
  <users>
    <!-- chdb: \`default\` must stay passwordless -->
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <olmis>
      <password_sha256_hex>$pwhash</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
      <access_management>1</access_management>
      <named_collection_control>1</named_collection_control>
      <show_named_collections>1</show_named_collections>
      <show_named_collections_secrets>1</show_named_collections_secrets>
    </olmis>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</clickhouse>
EOF
  chmod 600 "$d/users.xml.tmp"
  mv -f "$d/config.xml.tmp" "$d/config.xml"
  mv -f "$d/users.xml.tmp" "$d/users.xml"
}

clickhouse_start() {
  local d venv
  d=$(_ch_dir)
  venv=$(_ch_venv)
  if stack_pid_alive clickhouse server; then
    return 0
  fi
  [[ -f $venv/.olmis-installed ]] || stack_die "clickhouse: not installed (run stack.sh install clickhouse)"
  mkdir -p "$d/data"
  _ch_write_config "$d"
  stack_start_bg clickhouse server "$d/server-stdout.log" \
    "$venv/bin/python" "$OLMIS_STACK_DIR/clickhouse/server.py" "$d"
  # clickhouse-client-like helper: SQL from args or stdin, as user olmis, over HTTP
  mkdir -p "$OLMIS_STACK_BIN"
  cat >"$OLMIS_STACK_BIN/ch-query.tmp" <<EOF
#!/bin/sh
# generated by tests/stack/services/clickhouse.sh: ch-query [SQL]  (SQL from stdin when no argument)
if [ \$# -gt 0 ]; then printf '%s' "\$*"; else cat; fi |
  curl -sS --fail-with-body -u "olmis:\$(cat '$OLMIS_STACK_RUN/secrets/clickhouse-olmis')" \\
    --data-binary @- '$(_ch_url)/'
EOF
  chmod 755 "$OLMIS_STACK_BIN/ch-query.tmp"
  mv -f "$OLMIS_STACK_BIN/ch-query.tmp" "$OLMIS_STACK_BIN/ch-query"
}

clickhouse_ready() {
  [[ $(curl -fsS --max-time 2 "$(_ch_url)/ping" 2>/dev/null) == "Ok." ]] || return 1
  curl -fsS --max-time 2 -u "olmis:$(_ch_password)" --data-binary 'SELECT version()' "$(_ch_url)/" 2>/dev/null |
    grep -q '^[0-9]'
}

clickhouse_env() {
  cat <<EOF
CLICKHOUSE_URL=$(_ch_url)
CLICKHOUSE_USER=olmis
CLICKHOUSE_PASSWORD=$(_ch_password)
OLMIS_STACK_CH_TCP_PORT=$OLMIS_STACK_CH_TCP_PORT
OLMIS_STACK_CH_HTTP_PORT=$OLMIS_STACK_CH_HTTP_PORT
EOF
}
