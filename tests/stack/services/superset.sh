# shellcheck shell=bash
# Superset service of the real-service test stack: apache-superset 6.1.0 in a venv, SQLite metadata
# in the run folder, gunicorn (one gthread worker) on 127.0.0.1:$OLMIS_STACK_SUPERSET_PORT.
# Sourced by tests/stack/stack.sh after lib.sh. Stop: the default (TERM to the gunicorn master).

# Top-level pins. The wheel misses rich and cachetools; flask-caching 2.5 breaks `db upgrade`;
# clickhouse-connect 0.15.1 as in the production image (superset[clickhouse] wants <1.0).
# tests/stack/superset/constraints.txt pins the whole tree as measured (pip freeze of a good install).
SUPERSET_STACK_PKGS=(
  "apache-superset==6.1.0"
  "clickhouse-connect==0.15.1"
  "flask-caching==2.3.1"
  "rich==15.0.0"
  "cachetools==8.0.2"
)

# shellcheck source=common.inc
source "$(dirname "${BASH_SOURCE[0]}")/common.inc"

superset_ready_timeout=120   # gunicorn boot; the one-time init runs in superset_start

_superset_venv() { echo "${OLMIS_STACK_CACHE:-$HOME/.cache/olmisctl-stack}/venv-superset"; }
_superset_dir() { echo "${OLMIS_STACK_RUN:-${OLMIS_STACK_CACHE:-$HOME/.cache/olmisctl-stack}/run}/superset"; }
_superset_port() { echo "${OLMIS_STACK_SUPERSET_PORT:-28088}"; }
_superset_url() { echo "http://127.0.0.1:$(_superset_port)"; }

superset_install() {
  local c="${OLMIS_REPO:?}/tests/stack/superset/constraints.txt" args=()
  [ -f "$c" ] && args=(-c "$c")
  _stack_pyvenv_install "$(_superset_venv)" "${args[@]}" "${SUPERSET_STACK_PKGS[@]}"
  # `verify superset --render` and its test open the dashboards in a headless Chromium.
  command -v chromedriver >/dev/null || stack_apt_install --no-install-recommends chromium chromium-driver
}

superset_admin_password() { stack_secret superset_admin_password; }

# Environment of every superset process (one NAME=VALUE per line).
_superset_proc_env() {
  local dir venv
  dir=$(_superset_dir); venv=$(_superset_venv)
  echo "SUPERSET_CONFIG_PATH=${OLMIS_REPO:?}/tests/stack/superset/superset_config.py"
  echo "SUPERSET_SECRET_KEY=$(stack_secret superset_secret_key)"
  echo "SUPERSET_DATABASE_URI=sqlite:///$dir/superset.db"
  echo "SUPERSET_HOME=$dir/home"
  echo "PATH=$venv/bin:$PATH"
  echo "SUPERSET_ENV=production"   # as in the apache/superset image
  echo "PYTHONUNBUFFERED=1"
}

_superset_run() {   # _superset_run CMD...: run a superset CLI command with the service's env
  local envs=()
  mapfile -t envs < <(_superset_proc_env)
  env "${envs[@]}" "$@"
}

# One-time metadata setup (db upgrade, admin, init), guarded by a marker naming the version.
_superset_init_db() {
  local dir venv marker log want
  dir=$(_superset_dir); venv=$(_superset_venv)
  marker="$dir/.initialized"; log="$dir/init.log"
  want="${SUPERSET_STACK_PKGS[0]}"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return 0; fi
  stack_log "superset: db upgrade + create-admin + init (log: $log)"
  _superset_run "$venv/bin/superset" db upgrade >>"$log" 2>&1 \
    || stack_die "superset db upgrade failed, see $log"
  # create-admin succeeds and changes nothing when the user already exists
  _superset_run "$venv/bin/superset" fab create-admin --username admin --firstname Admin \
      --lastname Stack --email admin@olmis.local --password "$(superset_admin_password)" >>"$log" 2>&1 \
    || stack_die "superset fab create-admin failed, see $log"
  _superset_run "$venv/bin/superset" init >>"$log" 2>&1 || stack_die "superset init failed, see $log"
  echo "$want" > "$marker"
}

superset_start() {
  local dir venv port
  dir=$(_superset_dir); venv=$(_superset_venv); port=$(_superset_port)
  if stack_pid_alive superset gunicorn; then return 0; fi
  [ -x "$venv/bin/gunicorn" ] || stack_die "superset is not installed (run superset_install)"
  mkdir -p "$dir/home"
  _superset_init_db
  _stack_port_free "$port" || stack_die "superset: 127.0.0.1:$port is already in use"
  local envs=()
  mapfile -t envs < <(_superset_proc_env)
  stack_start_bg superset gunicorn "$dir/superset.log" env "${envs[@]}" \
    "$venv/bin/gunicorn" --bind "127.0.0.1:$port" --workers 1 --worker-class gthread --threads 8 \
    --timeout 120 --limit-request-line 0 --limit-request-field_size 0 \
    --pid "$dir/gunicorn.pid" "superset.app:create_app()"
}

superset_ready() {
  local url body
  url=$(_superset_url)
  [ "$(curl -fsS -m 5 "$url/health" 2>/dev/null)" = "OK" ] || return 1
  body=$(jq -nc --arg p "$(superset_admin_password)" \
    '{username: "admin", password: $p, provider: "db", refresh: true}')
  curl -fsS -m 10 -H 'Content-Type: application/json' -d "$body" \
    "$url/api/v1/security/login" 2>/dev/null | jq -e '.access_token | length > 0' >/dev/null
}

superset_env() {
  echo "SUPERSET_URL=$(_superset_url)"
  echo "SUPERSET_ADMIN_USER=admin"
  echo "SUPERSET_ADMIN_PASSWORD=$(superset_admin_password)"
  echo "SUPERSET_SECRET_KEY=$(stack_secret superset_secret_key)"
}

