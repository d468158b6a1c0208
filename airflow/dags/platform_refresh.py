"""Refresh the curated marts: freshness gate -> dbt build -> dbt test.

Every task calls olmisctl, which the Airflow image carries together with dbt, so no Docker socket is
needed. Configuration comes from the task environment (the same variables as olmisctl's .env):
DBT_SELECT, FRESHNESS_MAX_AGE_MINUTES and OLMIS_REFRESH_SCHEDULE (default hourly).
"""

import os

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

# The gate exits with this code when no raw event arrived since the last successful run: the
# build is then skipped, not failed (BashOperator turns it into a skip).
NOTHING_NEW_EXIT_CODE = 99

with DAG(
    dag_id="platform_refresh",
    description="Freshness gate, then dbt build and dbt test of the analytics packages",
    schedule=os.environ.get("OLMIS_REFRESH_SCHEDULE") or "@hourly",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["olmis"],
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
    },
) as dag:
    # prev_start_date_success is empty on the first run: then the gate only checks the age limit.
    freshness_gate = BashOperator(
        task_id="freshness_gate",
        bash_command=(
            "olmisctl verify freshness"
            " --max-age-minutes {{ params.freshness_max_age_minutes }}"
            "{% if prev_start_date_success %} --since {{ prev_start_date_success.isoformat() }}"
            " --nothing-new-exit-code " + str(NOTHING_NEW_EXIT_CODE) + "{% endif %}"
        ),
        skip_on_exit_code=NOTHING_NEW_EXIT_CODE,
    )
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command="olmisctl dbt-build{% if params.select %} --select '{{ params.select }}'{% endif %}",
    )
    dbt_test = BashOperator(
        task_id="dbt_test",
        bash_command="olmisctl dbt-test{% if params.select %} --select '{{ params.select }}'{% endif %}",
    )

    freshness_gate >> dbt_build >> dbt_test
