# shellcheck shell=bash
# postgres: the source database. PostgreSQL 15 from Debian, our own cluster in
# $OLMIS_STACK_RUN/postgres/data, logical decoding on, TCP on 127.0.0.1 only with scram passwords.
# As root, initdb/postgres run as the system user `olmisstack` (PostgreSQL refuses root).

PG_MAJOR=15
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
# shellcheck disable=SC2034 # read by stack.sh up (${svc}_ready_timeout)
postgres_ready_timeout=60

_pg_dir() { echo "$OLMIS_STACK_RUN/postgres"; }
_pg_admin_password() { stack_secret pg-admin; }
_pg_psql() { # _pg_psql DB ARGS...: psql as the superuser over TCP
  local db=$1
  shift
  PGPASSWORD=$(_pg_admin_password) PGCONNECT_TIMEOUT=2 "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$OLMIS_STACK_PG_PORT" -U postgres -d "$db" "$@"
}

_pg_as_user() { # prefix that runs a command as the stack user when root (an array, for exec)
  PG_AS=()
  if ((EUID == 0)); then
    PG_AS=(setpriv "--reuid=$OLMIS_STACK_USER" "--regid=$OLMIS_STACK_USER" --init-groups --)
  fi
}

postgres_install() {
  if [[ ! -x $PG_BINDIR/postgres || ! -x $PG_BINDIR/psql ]]; then
    ((EUID == 0)) || stack_die "postgres: PostgreSQL $PG_MAJOR missing; run: sudo apt-get install -y postgresql-$PG_MAJOR"
    stack_apt_install "postgresql-$PG_MAJOR"
  fi
  # The source TLS tests make their CA and server certificates with it.
  if ! command -v openssl >/dev/null; then
    ((EUID == 0)) || stack_die "postgres: openssl missing; run: sudo apt-get install -y openssl"
    stack_apt_install openssl
  fi
  if ((EUID == 0)); then
    if ! id -u "$OLMIS_STACK_USER" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OLMIS_STACK_USER"
    fi
    if ! command -v setfacl >/dev/null; then # to let olmisstack traverse /root (mode 700)
      stack_apt_install acl
    fi
  fi
}

# As root, the stack user must be able to traverse every folder above its data dir
# ($HOME is /root, mode 700): grant it search (x) on those folders only, by ACL.
_pg_grant_traverse() {
  ((EUID == 0)) || return 0
  local d="" part
  local -a parts
  IFS=/ read -ra parts <<<"$(_pg_dir)"
  for part in "${parts[@]}"; do # top-down, so only the folders that block get an ACL
    [[ -n $part ]] || continue
    d="$d/$part"
    [[ -d $d ]] || break
    if ! setpriv "--reuid=$OLMIS_STACK_USER" "--regid=$OLMIS_STACK_USER" --init-groups -- test -x "$d"; then
      if command -v setfacl >/dev/null; then
        setfacl -m "u:$OLMIS_STACK_USER:x" "$d"
      else
        chmod o+x "$d"
      fi
      stack_log "postgres: granted $OLMIS_STACK_USER search access to $d"
    fi
  done
}

postgres_start() {
  local d data
  d=$(_pg_dir)
  data=$d/data
  if stack_pid_alive postgres server; then
    _pg_ensure_db
    return 0
  fi
  [[ -x $PG_BINDIR/postgres ]] || stack_die "postgres: not installed (run stack.sh install postgres)"
  _pg_as_user
  mkdir -p "$d"
  if ((EUID == 0)); then
    id -u "$OLMIS_STACK_USER" >/dev/null 2>&1 || stack_die "postgres: user $OLMIS_STACK_USER missing (run stack.sh install postgres)"
    chown "$OLMIS_STACK_USER:" "$d"
    _pg_grant_traverse
  fi
  if [[ ! -s $data/PG_VERSION ]]; then
    stack_log "postgres: initdb $data"
    rm -rf "$data"
    local pw=$d/.pwfile
    (umask 077 && _pg_admin_password >"$pw")
    ((EUID == 0)) && chown "$OLMIS_STACK_USER:" "$pw"
    "${PG_AS[@]}" "$PG_BINDIR/initdb" -D "$data" -U postgres --pwfile="$pw" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
      >"$d/initdb.log" 2>&1 || { rm -f "$pw"; cat "$d/initdb.log" >&2; stack_die "postgres: initdb failed"; }
    rm -f "$pw"
    cat >"$data/pg_hba.conf" <<'EOF'
# written by tests/stack/services/postgres.sh: passwords (scram) only, loopback only
local   all           all                   scram-sha-256
host    all           all   127.0.0.1/32    scram-sha-256
host    replication   all   127.0.0.1/32    scram-sha-256
EOF
    echo "include_if_exists = 'stack.conf'" >>"$data/postgresql.conf"
  fi
  # rewritten at every start, so port overrides take effect
  cat >"$data/stack.conf" <<EOF
# written by tests/stack/services/postgres.sh at every start
listen_addresses = '127.0.0.1'
port = $OLMIS_STACK_PG_PORT
unix_socket_directories = ''
password_encryption = scram-sha-256
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 100
shared_buffers = 128MB
fsync = off
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_replication_commands = on
EOF
  if ((EUID == 0)); then chown "$OLMIS_STACK_USER:" "$data/pg_hba.conf" "$data/stack.conf" "$data/postgresql.conf"; fi
  stack_start_bg postgres server "$d/postgres.log" "${PG_AS[@]}" "$PG_BINDIR/postgres" -D "$data"
  local i
  for ((i = 0; i < postgres_ready_timeout * 4; i++)); do
    "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$OLMIS_STACK_PG_PORT" && break
    stack_pid_alive postgres server || break
    sleep 0.25
  done
  _pg_ensure_db || true # stack_wait reports the failure with the logs
  stack_link_bin psql "$PG_BINDIR/psql"
  stack_link_bin pg_dump "$PG_BINDIR/pg_dump"
  stack_link_bin pg_isready "$PG_BINDIR/pg_isready"
  stack_link_bin pg_recvlogical "$PG_BINDIR/pg_recvlogical"
}

_pg_ensure_db() {
  local have
  have=$(_pg_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'open_lmis'" 2>/dev/null) || return 1
  if [[ $have != 1 ]]; then
    _pg_psql postgres -c "CREATE DATABASE open_lmis" && stack_log "postgres: created database open_lmis"
  fi
}

postgres_ready() {
  [[ $(_pg_psql open_lmis -tAc "SELECT 1" 2>/dev/null) == 1 ]]
}

# fast shutdown (SIGINT): the default TERM is PostgreSQL's "smart" shutdown, which waits for
# clients such as Debezium's replication connection to leave
postgres_stop() { stack_stop_svc postgres INT; }

postgres_env() {
  local pw
  pw=$(_pg_admin_password)
  cat <<EOF
SOURCE_PG_HOST=127.0.0.1
SOURCE_PG_PORT=$OLMIS_STACK_PG_PORT
SOURCE_PG_DB=open_lmis
SOURCE_PG_USER=postgres
SOURCE_PG_PASSWORD=$pw
SOURCE_PG_SSLMODE=disable
SOURCE_PG_CONNECT_HOST=127.0.0.1
SOURCE_PG_CONNECT_PORT=$OLMIS_STACK_PG_PORT
OLMIS_STACK_PG_PORT=$OLMIS_STACK_PG_PORT
OLMIS_STACK_PG_ADMIN_URL=postgres://postgres:$pw@127.0.0.1:$OLMIS_STACK_PG_PORT/postgres?sslmode=disable
OLMIS_STACK_PG_BINDIR=$PG_BINDIR
EOF
}
