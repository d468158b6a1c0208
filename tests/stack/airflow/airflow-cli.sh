#!/usr/bin/env bash
# Run `airflow ARGS...` with the test stack's Airflow settings (tests/stack/services/airflow.sh
# starts the api-server, scheduler and dag-processor through this; usable by hand too, e.g.
# `tests/stack/airflow/airflow-cli.sh dags list`).
# Loads, in order: $OLMIS_STACK_RUN/stack.env (the stack's env, when present: DAG tasks inherit it),
# then $OLMIS_STACK_RUN/airflow/airflow.env (written by airflow_start). Lines are KEY=VALUE, taken
# literally (no shell expansion); blank lines and # comments are skipped. olmisctl comes first on PATH
# from target/debug of the checkout Airflow works from (OLMIS_AIRFLOW_CHECKOUT, else this repository).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${OLMIS_REPO:=$(cd "$here/../../.." && pwd)}"
: "${OLMIS_STACK_CACHE:=$HOME/.cache/olmisctl-stack}"
: "${OLMIS_STACK_RUN:=$OLMIS_STACK_CACHE/run}"
export OLMIS_REPO OLMIS_STACK_CACHE OLMIS_STACK_RUN

load_env_file() {
  local line key val
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#export }
    case $line in ''|'#'*) continue ;; *=*) ;; *) continue ;; esac
    key=${line%%=*}; val=${line#*=}
    # tolerate one level of surrounding quotes
    if [[ $val == \"*\" && ${#val} -ge 2 ]]; then val=${val:1:${#val}-2};
    elif [[ $val == \'*\' && ${#val} -ge 2 ]]; then val=${val:1:${#val}-2}; fi
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && export "$key=$val"
  done < "$1"
}

[ -f "$OLMIS_STACK_RUN/stack.env" ] && load_env_file "$OLMIS_STACK_RUN/stack.env"
cfg="$OLMIS_STACK_RUN/airflow/airflow.env"
[ -f "$cfg" ] || { echo "airflow-cli: $cfg missing (start the airflow service first)" >&2; exit 1; }
load_env_file "$cfg"
export PATH="${OLMIS_AIRFLOW_CHECKOUT:-$OLMIS_REPO}/target/debug:$OLMIS_AIRFLOW_VENV/bin:$PATH"
exec "$OLMIS_AIRFLOW_VENV/bin/airflow" "$@"
