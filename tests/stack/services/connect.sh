# shellcheck shell=bash
# connect: Kafka Connect distributed worker (one worker), same Kafka version as the broker, with
# the Debezium PostgreSQL connector in its own plugin.path folder. Jars from Maven Central
# (profiles `connect` and `debezium` of tests/stack/maven/pom.xml). REST on 127.0.0.1 only.

CONNECT_KAFKA_VERSION=${KAFKA_VERSION:-4.2.1}
DEBEZIUM_VERSION=3.4.2.Final
# shellcheck disable=SC2034 # read by stack.sh up (${svc}_ready_timeout)
connect_ready_timeout=120

_connect_libs() { echo "$OLMIS_STACK_CACHE/connect-$CONNECT_KAFKA_VERSION/libs"; }
_connect_plugins() { echo "$OLMIS_STACK_CACHE/connect-plugins"; }
_connect_dir() { echo "$OLMIS_STACK_RUN/connect"; }
_connect_url() { echo "http://127.0.0.1:$OLMIS_STACK_CONNECT_PORT"; }

connect_install() {
  stack_java_ok
  stack_mvn_copy connect "$(_connect_libs)" "-Dkafka.version=$CONNECT_KAFKA_VERSION"
  local plugins p
  plugins=$(_connect_plugins)
  # Debezium's jars only: Kafka's own, SLF4J and Jackson come from the worker, as with the Debezium
  # plugin archive (a Jackson of its own breaks io.debezium.converters.CloudEventsConverter, which
  # looks up JsonConverter.convertToConnect(Schema, JsonNode) by reflection)
  stack_mvn_copy debezium "$plugins/debezium-connector-postgres-$DEBEZIUM_VERSION" \
    "-Ddebezium.version=$DEBEZIUM_VERSION" -DexcludeGroupIds=org.apache.kafka,org.slf4j,com.fasterxml.jackson.core
  shopt -s nullglob
  for p in "$plugins"/debezium-connector-postgres-*; do # one version on plugin.path
    [[ $p == "$plugins/debezium-connector-postgres-$DEBEZIUM_VERSION" || $p == *.tmp.* ]] || rm -rf "$p"
  done
  shopt -u nullglob
}

connect_start() {
  local d libs
  d=$(_connect_dir)
  libs=$(_connect_libs)
  if stack_pid_alive connect worker; then
    return 0
  fi
  [[ -f $libs/.olmis-installed ]] || stack_die "connect: not installed (run stack.sh install connect)"
  mkdir -p "$d"
  cat >"$d/worker.properties" <<EOF
# written by tests/stack/services/connect.sh at every start
bootstrap.servers=127.0.0.1:$OLMIS_STACK_KAFKA_PORT
group.id=olmis-stack-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
config.storage.topic=connect-configs
offset.storage.topic=connect-offsets
status.storage.topic=connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=1
status.storage.partitions=1
offset.flush.interval.ms=1000
# one worker: never wait for a departed member to come back before reassigning its work
scheduled.rebalance.max.delay.ms=0
plugin.path=$(_connect_plugins)
# the default hybrid_warn adds a ~7 s reflection scan at start
plugin.discovery=service_load
topic.creation.enable=true
listeners=http://127.0.0.1:$OLMIS_STACK_CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$OLMIS_STACK_CONNECT_PORT
rest.advertised.listener=http
EOF
  cat >"$d/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $d/connect.log
appender.file.filePattern = $d/connect.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c:%L)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.kafkaclients.name = org.apache.kafka.clients
logger.kafkaclients.level = WARN
logger.kafkaclientsconsumer.name = org.apache.kafka.clients.consumer.internals.ConsumerCoordinator
logger.kafkaclientsconsumer.level = INFO
EOF
  stack_start_bg connect worker "$d/connect-stdout.log" \
    java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$d/log4j2.properties" \
    -cp "$libs/*" org.apache.kafka.connect.cli.ConnectDistributed "$d/worker.properties"
}

connect_ready() {
  curl -fsS --max-time 2 "$(_connect_url)/connector-plugins" 2>/dev/null |
    grep -q '"io.debezium.connector.postgresql.PostgresConnector"'
}

connect_env() {
  cat <<EOF
CONNECT_URL=$(_connect_url)
OLMIS_STACK_CONNECT_PORT=$OLMIS_STACK_CONNECT_PORT
EOF
}
