"""Backfill chosen source tables, then rebuild the marts built on them. Triggered by hand.

Params: `tables` (schema.table names), `mode` (`snapshot`: an incremental Debezium snapshot through
the signal table; `bootstrap`: a consistent export from PostgreSQL loaded straight into the raw event
tables), and for bootstrap an optional date range `since`/`until` on `date_column`.
"""

import datetime
import re

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param, task

TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


class BackfillParamsError(ValueError):
    """Raised with a message naming the bad param, what it got and what it expects."""


def check_params(params):
    """Returns the normalized params, or raises BackfillParamsError. Pure, so it is easy to test."""
    tables = params.get("tables") or []
    if isinstance(tables, str):
        tables = [t for t in tables.split(",")]
    tables = [t.strip() for t in tables if t and t.strip()]
    if not tables:
        raise BackfillParamsError("param 'tables' is empty: give at least one schema.table")
    bad = [t for t in tables if not TABLE.match(t)]
    if bad:
        raise BackfillParamsError(
            f"param 'tables' has {bad!r}: expected lowercase schema.table names, e.g. referencedata.facilities"
        )
    mode = params.get("mode") or "snapshot"
    if mode not in ("snapshot", "bootstrap"):
        raise BackfillParamsError(f"param 'mode' is {mode!r}: expected 'snapshot' or 'bootstrap'")

    def day(name):
        value = (params.get(name) or "").strip()
        if not value:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise BackfillParamsError(f"param {name!r} is {value!r}: expected a date YYYY-MM-DD") from None

    since, until = day("since"), day("until")
    date_column = (params.get("date_column") or "").strip()
    if since or until:
        if mode != "bootstrap":
            raise BackfillParamsError("a date range (since/until) needs mode 'bootstrap'")
        if not COLUMN.match(date_column):
            raise BackfillParamsError(
                f"param 'date_column' is {date_column!r}: a date range needs the column it applies to"
            )
    if since and until and since >= until:
        raise BackfillParamsError(f"param 'since' ({since}) must be before 'until' ({until})")
    staging = " ".join(f"stg_{t.split('.', 1)[1]}+" for t in tables)
    return {
        "tables": ",".join(tables),
        "mode": mode,
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
        "date_column": date_column,
        "select": staging,
    }


with DAG(
    dag_id="backfill",
    description="Re-load chosen source tables (snapshot or bootstrap), then rebuild their marts",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["olmis"],
    params={
        "tables": Param([], type="array", items={"type": "string"}, description="schema.table names"),
        "mode": Param("snapshot", type="string", enum=["snapshot", "bootstrap"]),
        "since": Param("", type="string", description="bootstrap only: first date, YYYY-MM-DD"),
        "until": Param("", type="string", description="bootstrap only: day after the last, YYYY-MM-DD"),
        "date_column": Param("", type="string", description="bootstrap only: the column the range applies to"),
    },
) as dag:

    @task
    def validate_params(params=None):
        return check_params(params or {})

    checked = validate_params()
    v = "ti.xcom_pull(task_ids='validate_params')"
    load = BashOperator(
        task_id="load",
        bash_command=(
            "set -euo pipefail\n"
            "{% set p = " + v + " %}"
            "{% if p['mode'] == 'snapshot' %}"
            "olmisctl snapshot-tables '{{ p['tables'] }}'\n"
            "{% else %}"
            'dir="${TMPDIR:-/tmp}/olmis-backfill-{{ run_id | replace(":", "_") | replace("+", "_") }}"\n'
            "olmisctl bootstrap export --tables '{{ p['tables'] }}' --to \"$dir\"\n"
            "olmisctl bootstrap import --from \"$dir\" --tables '{{ p['tables'] }}'"
            "{% if p['since'] %} --since '{{ p['since'] }}'{% endif %}"
            "{% if p['until'] %} --until '{{ p['until'] }}'{% endif %}"
            "{% if p['date_column'] %} --date-column '{{ p['date_column'] }}'{% endif %}\n"
            "{% endif %}"
        ),
    )
    rebuild = BashOperator(
        task_id="rebuild_marts",
        bash_command="olmisctl dbt-build --select '{{ " + v + "['select'] }}'",
    )

    checked >> load >> rebuild
