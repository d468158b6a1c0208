# shellcheck shell=bash
# Airflow 3 service of the real-service test stack: apache-airflow in a venv, LocalExecutor, SQLite
# metadata in the run folder, SimpleAuthManager; three processes (api-server on
# 127.0.0.1:$OLMIS_STACK_AIRFLOW_PORT, scheduler, dag-processor).
# Airflow works from the checkout that last ran `up` (airflow or the whole stack): its DAG files, its
# target/debug/olmisctl (the DAG tasks' olmisctl) and its directory as OLMIS_PROJECT_DIR. It reaches
# them through the link $OLMIS_STACK_RUN/airflow/checkout, so `up` from another checkout re-points a
# running Airflow without a restart (the DAG processor re-reads its folder within seconds; tasks find
# olmisctl when they start). Every airflow process runs through tests/stack/airflow/airflow-cli.sh,
# which loads $OLMIS_STACK_RUN/stack.env (when present) and $OLMIS_STACK_RUN/airflow/airflow.env;
# OLMIS_STACK_ENV_FILE names stack.env for tasks that want to re-read it. A running Airflow whose
# settings changed is restarted by `up`. Sourced by tests/stack/stack.sh. Stop: TERM to the three
# processes (the scheduler ends its LocalExecutor workers), then leftovers of their process groups.

# Top-level pins; tests/stack/airflow/constraints.txt pins the whole tree as measured (the upstream
# constraints files live on GitHub, which these machines cannot reach).
AIRFLOW_STACK_PKGS=(
  "apache-airflow==3.3.2"
  "apache-airflow-providers-standard==1.21.0"
)

# shellcheck source=common.inc
source "$(dirname "${BASH_SOURCE[0]}")/common.inc"

airflow_ready_timeout=180

_airflow_venv() { echo "${OLMIS_STACK_CACHE:-$HOME/.cache/olmisctl-stack}/venv-airflow"; }
_airflow_run_dir() { echo "${OLMIS_STACK_RUN:-${OLMIS_STACK_CACHE:-$HOME/.cache/olmisctl-stack}/run}"; }
_airflow_dir() { echo "$(_airflow_run_dir)/airflow"; }
_airflow_port() { echo "${OLMIS_STACK_AIRFLOW_PORT:-28080}"; }
_airflow_url() { echo "http://127.0.0.1:$(_airflow_port)"; }
_airflow_cli() { echo "${OLMIS_REPO:?}/tests/stack/airflow/airflow-cli.sh"; }
_airflow_checkout() { echo "$(_airflow_dir)/checkout"; }

# Point the checkout link at this repository; a rename, so a task never finds the link missing.
_airflow_point_at_repo() {
  local link
  link=$(_airflow_checkout)
  mkdir -p "$(dirname "$link")"
  ln -sfn "${OLMIS_REPO:?}" "$link.new.$$"
  mv -Tf "$link.new.$$" "$link"
}

airflow_install() {
  local c="${OLMIS_REPO:?}/tests/stack/airflow/constraints.txt" args=()
  [ -f "$c" ] && args=(-c "$c")
  _stack_pyvenv_install "$(_airflow_venv)" "${args[@]}" "${AIRFLOW_STACK_PKGS[@]}"
}

airflow_admin_password() { stack_secret airflow_admin_password; }

# Write $dir/airflow.env (settings of every airflow process) and the SimpleAuthManager passwords file;
# AIRFLOW_CONFIG_CHANGED=1 when airflow.env changed.
AIRFLOW_CONFIG_CHANGED=0
_airflow_write_config() {
  local dir venv jwt api_key fernet port checkout
  dir=$(_airflow_dir); venv=$(_airflow_venv); port=$(_airflow_port); checkout=$(_airflow_checkout)
  mkdir -p "$dir/logs" "$dir/dbt" "${OLMIS_REPO:?}/airflow/dags"
  # JWT secret shared by api-server, scheduler and dag-processor: 64+ bytes (128 hex characters)
  jwt=$(printf '%s' "$(stack_secret airflow_jwt_secret)" | sha512sum | cut -c1-128)
  api_key=$(stack_secret airflow_api_secret_key)
  fernet=$("$venv/bin/python" -c 'import base64, hashlib, sys
print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode())' \
    "$(stack_secret airflow_fernet_seed)")
  (
    umask 077
    jq -nc --arg p "$(airflow_admin_password)" '{admin: $p}' > "$dir/passwords.json"
    cat > "$dir/airflow.env.new" <<ENV
OLMIS_AIRFLOW_VENV=$venv
OLMIS_AIRFLOW_CHECKOUT=$checkout
OLMIS_STACK_ENV_FILE=$(_airflow_run_dir)/stack.env
OLMIS_PROJECT_DIR=$checkout
AIRFLOW_HOME=$dir
AIRFLOW__CORE__DAGS_FOLDER=$checkout/airflow/dags
AIRFLOW__CORE__LOAD_EXAMPLES=False
AIRFLOW__CORE__EXECUTOR=LocalExecutor
AIRFLOW__CORE__PARALLELISM=4
AIRFLOW__CORE__FERNET_KEY=$fernet
AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$dir/passwords.json
AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$port/execution/
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$dir/airflow.db
AIRFLOW__API__HOST=127.0.0.1
AIRFLOW__API__PORT=$port
AIRFLOW__API__WORKERS=1
AIRFLOW__API__BASE_URL=http://127.0.0.1:$port
AIRFLOW__API__SECRET_KEY=$api_key
AIRFLOW__API_AUTH__JWT_SECRET=$jwt
AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
AIRFLOW__LOGGING__BASE_LOG_FOLDER=$dir/logs
DBT_TARGET_PATH=$dir/dbt/target
DBT_LOG_PATH=$dir/dbt/logs
ENV
  )
  if cmp -s "$dir/airflow.env.new" "$dir/airflow.env"; then
    rm -f "$dir/airflow.env.new"
  else
    mv -f "$dir/airflow.env.new" "$dir/airflow.env"
    AIRFLOW_CONFIG_CHANGED=1
  fi
}

_airflow_migrate() {
  local dir marker want
  dir=$(_airflow_dir); marker="$dir/.migrated"; want="${AIRFLOW_STACK_PKGS[0]}"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return 0; fi
  stack_log "airflow: db migrate (log: $dir/migrate.log)"
  "$(_airflow_cli)" db migrate >>"$dir/migrate.log" 2>&1 \
    || stack_die "airflow db migrate failed, see $dir/migrate.log"
  echo "$want" > "$marker"
}

# _airflow_reap PROC...: end what is left of the process groups of the recorded (dead) PROCs: after
# a kill -9 of the scheduler its LocalExecutor workers live on, orphaned, in its process group
# (stack_start_bg makes each process a group leader, so the group id is the recorded PID).
_airflow_reap() {
  local proc pg p
  for proc in "$@"; do
    stack_pid_alive airflow "$proc" && continue
    pg=$(stack_pid airflow "$proc" 2>/dev/null) || continue
    [[ $pg =~ ^[0-9]+$ ]] || continue
    for p in $(pgrep -g "$pg" 2>/dev/null); do
      if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q airflow; then
        kill -KILL "$p" 2>/dev/null || true
      fi
    done
  done
}

airflow_start() {
  local dir cli port
  dir=$(_airflow_dir); cli=$(_airflow_cli); port=$(_airflow_port)
  [ -x "$(_airflow_venv)/bin/airflow" ] || stack_die "airflow is not installed (run airflow_install)"
  _airflow_point_at_repo
  _airflow_write_config
  if stack_pid_alive airflow api-server && stack_pid_alive airflow scheduler \
      && stack_pid_alive airflow dag-processor; then
    ((AIRFLOW_CONFIG_CHANGED)) || return 0
    stack_log "airflow: its settings changed (see $dir/airflow.env), restarting"
    airflow_stop
  fi
  _airflow_migrate
  # The processes (and so every DAG task) take the stack's env from stack.env when they start, but
  # stack.sh writes it only at the end of `up`: write it now (all _env outputs are static) so that a
  # first `up` of the whole stack already hands the right values to Airflow.
  if declare -F write_env >/dev/null && declare -p SELECTED >/dev/null 2>&1; then
    write_env
  fi
  if ! stack_pid_alive airflow api-server; then
    _stack_port_free "$port" || stack_die "airflow: 127.0.0.1:$port is already in use"
  fi
  _airflow_reap api-server scheduler dag-processor
  local base=(env "OLMIS_STACK_RUN=$(_airflow_run_dir)" "OLMIS_REPO=$OLMIS_REPO" "$cli")
  stack_start_bg airflow api-server "$dir/api-server.log" "${base[@]}" api-server \
    --host 127.0.0.1 --port "$port" --workers 1
  stack_start_bg airflow scheduler "$dir/scheduler.log" "${base[@]}" scheduler --skip-serve-logs
  stack_start_bg airflow dag-processor "$dir/dag-processor.log" "${base[@]}" dag-processor
}

# epoch seconds at which the recorded process PROC started (0 when unknown)
_airflow_started_at() {
  local pid et
  pid=$(stack_pid airflow "$1" 2>/dev/null) || { echo 0; return; }
  et=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
  [[ $et =~ ^[0-9]+$ ]] && echo $(($(date +%s) - et)) || echo 0
}

airflow_ready() {
  local url body
  url=$(_airflow_url)
  # healthy, and the heartbeats come from the current processes (right after a restart the health
  # endpoint still shows the previous ones' recent heartbeats as healthy)
  curl -fsS -m 5 "$url/api/v2/monitor/health" 2>/dev/null | jq -e \
      --argjson s "$(_airflow_started_at scheduler)" --argjson d "$(_airflow_started_at dag-processor)" '
      def t: if . == null then 0 else (.[0:19] + "Z" | fromdateiso8601) end;
      .metadatabase.status == "healthy" and .scheduler.status == "healthy"
      and .dag_processor.status == "healthy"
      and (.scheduler.latest_scheduler_heartbeat | t) >= $s - 1
      and (.dag_processor.latest_dag_processor_heartbeat | t) >= $d - 1' >/dev/null || return 1
  body=$(jq -nc --arg p "$(airflow_admin_password)" '{username: "admin", password: $p}')
  curl -fsS -m 10 -H 'Content-Type: application/json' -d "$body" "$url/auth/token" 2>/dev/null \
    | jq -e '.access_token | length > 0' >/dev/null
}

airflow_env() {
  echo "AIRFLOW_URL=$(_airflow_url)"
  echo "AIRFLOW_ADMIN_USER=admin"
  echo "AIRFLOW_ADMIN_PASSWORD=$(airflow_admin_password)"
}

airflow_stop() {
  local pgs=() proc pg p
  for proc in api-server scheduler dag-processor; do   # group ids = recorded PIDs (see _airflow_reap)
    pg=$(stack_pid airflow "$proc" 2>/dev/null) && [[ $pg =~ ^[0-9]+$ ]] && pgs+=("$pg")
  done
  stack_stop_svc airflow
  for pg in "${pgs[@]}"; do
    for p in $(pgrep -g "$pg" 2>/dev/null); do
      if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q airflow; then
        kill -KILL "$p" 2>/dev/null || true
      fi
    done
  done
  return 0
}
