"""Refresh the curated marts: freshness gate -> dbt build -> dbt test.

Every task calls olmisctl, which the Airflow image carries together with dbt, so no Docker socket is
needed. Configuration comes from the task environment (the same variables as olmisctl's .env):
DBT_SELECT, FRESHNESS_MAX_AGE_MINUTES and OLMIS_REFRESH_SCHEDULE (default hourly).

A run triggered by hand can take another configuration for that run only (params, or the run's
conf): `project_dir` (olmisctl's project directory) and `settings` (olmisctl variables, handed over
as `--set NAME=VALUE`, which refuses unknown variables and secrets), e.g. a staging build into its
own database: {"settings": {"CLICKHOUSE_CURATED_DATABASE": "curated_staging"}}. Triggered for a
logical date, such a run counts as the DAG's last success too: the next scheduled run's gate then
looks for data newer than its start (without a logical date it never counts, see gate()). Whoever may
trigger runs with a conf can point olmisctl at other databases and projects: grant it accordingly.
"""

import os
import shlex

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

# The gate exits with this code when no raw event arrived since the last successful run: the
# build is then skipped, not failed (BashOperator turns it into a skip).
NOTHING_NEW_EXIT_CODE = 99


def olmisctl(params, *args):
    """The shell command running olmisctl with the run's project directory and settings, every word
    quoted (values come from a run's conf and must never be read as shell syntax)."""
    words = ["olmisctl"]
    if params.get("project_dir"):
        words += ["--project-dir", params["project_dir"]]
    for name, value in sorted((params.get("settings") or {}).items()):
        words += ["--set", f"{name}={value}"]
    return shlex.join(words + [str(a) for a in args])


def gate(params, since):
    """`verify freshness`; with the previous successful run's start, exit 99 when nothing landed
    after it. Airflow 3 knows a previous successful run only for runs with a logical date (scheduled
    ones, and those triggered for a date), among runs with one: a run triggered without a logical
    date, like the first run, gets no `since` and builds whenever the data is fresh enough."""
    args = ["verify", "freshness", "--max-age-minutes", params["freshness_max_age_minutes"]]
    if since:
        args += ["--since", since.isoformat(), "--nothing-new-exit-code", NOTHING_NEW_EXIT_CODE]
    return olmisctl(params, *args)


def dbt(params, command):
    select = ["--select", params["select"]] if params.get("select") else []
    return olmisctl(params, command, *select)


with DAG(
    dag_id="platform_refresh",
    description="Freshness gate, then dbt build and dbt test of the analytics packages",
    schedule=os.environ.get("OLMIS_REFRESH_SCHEDULE") or "@hourly",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["olmis"],
    # Commands are built in Python, not in the templates: a template can't quote for the shell.
    user_defined_macros={"gate": gate, "dbt": dbt},
    params={
        "select": Param(
            os.environ.get("DBT_SELECT", ""),
            type="string",
            description="dbt selector; empty means the core package",
        ),
        "freshness_max_age_minutes": Param(
            int(os.environ.get("FRESHNESS_MAX_AGE_MINUTES") or 120),
            type="integer",
            minimum=1,
            description="Fail when the newest raw event is older than this",
        ),
        "project_dir": Param(
            "",
            type="string",
            description="olmisctl project directory for this run; empty means OLMIS_PROJECT_DIR",
        ),
        "settings": Param(
            {},
            type="object",
            propertyNames={"pattern": "^[A-Z][A-Z0-9_]*$"},
            additionalProperties={"type": ["string", "integer"]},
            description="olmisctl variables for this run (as `olmisctl --set`; no secrets)",
        ),
    },
) as dag:
    freshness_gate = BashOperator(
        task_id="freshness_gate",
        bash_command="{{ gate(params, prev_start_date_success) }}",
        skip_on_exit_code=NOTHING_NEW_EXIT_CODE,
    )
    dbt_build = BashOperator(task_id="dbt_build", bash_command="{{ dbt(params, 'dbt-build') }}")
    dbt_test = BashOperator(task_id="dbt_test", bash_command="{{ dbt(params, 'dbt-test') }}")

    freshness_gate >> dbt_build >> dbt_test
