# shellcheck shell=bash
# dbt service of the real-service test stack: a venv with dbt-core + dbt-clickhouse. No process.
# Sourced by tests/stack/stack.sh after lib.sh; defines dbt_install/_start/_ready/_env/_stop.

# Exact pins (dbt-core 1.12 does not install here: a dependency downloads a binary at build time).
DBT_STACK_PKGS=(
  "dbt-core==1.11.16"
  "dbt-clickhouse==1.10.3"
)

# shellcheck source=common.inc
source "$(dirname "${BASH_SOURCE[0]}")/common.inc"

_dbt_venv() { echo "${OLMIS_STACK_CACHE:-$HOME/.cache/olmisctl-stack}/venv-dbt"; }

dbt_install() {
  _stack_pyvenv_install "$(_dbt_venv)" "${DBT_STACK_PKGS[@]}"
}

dbt_start() { :; }   # nothing to run

dbt_ready() {
  local venv; venv=$(_dbt_venv)
  # `dbt --version` contacts PyPI, so only check that the CLI entry point and the adapter load.
  [ -x "$venv/bin/dbt" ] \
    && "$venv/bin/python" -c 'import dbt.cli.main, dbt.adapters.clickhouse' >/dev/null 2>&1
}

dbt_env() {
  echo "OLMIS_DBT=$(_dbt_venv)/bin/dbt"
  echo "DBT_SEND_ANONYMOUS_USAGE_STATS=False"
}

dbt_stop() { :; }   # no process
