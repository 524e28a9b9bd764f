"""Airflow DAG: loads LinkedIn lead forms and leads every hour with dlt's PipelineTasksGroup.

Deploy (as `dlt deploy linkedin_leads_pipeline.py airflow-composer` would): copy this file and
the `linkedin_leads` package into the DAGs folder, put the contents of `.dlt/secrets.toml` and
`.dlt/config.toml` into the Airflow variable `dlt_secrets_toml` (dlt reads its secrets and config
from there), and set the destination's credentials the same way.

Large installations spread the owners over tasks with the Airflow variable
`linkedin_leads_owner_groups`, a JSON list such as
`[{"account_ids": [1, 2]}, {"account_ids": [3]}, {"organization_ids": [4]}]`: each group is its
own pipeline (`linkedin_leads_group_<n>`) with its own state, so one group's newest lead never
moves another group's window, and its own staging dataset (`linkedin_staging_<pipeline>`), so
groups loading at the same moment never fill or empty each other's staging tables. The groups
run in parallel; what they share (question column names, deleted leads) is read from the
destination (`linkedin_leads.reading.shared`). Without it, one pipeline reads every configured owner.

Each run restores the pipeline state (the progress per owner and lead type, the question column
names, the form versions) from the destination, so the workers keep no local state
(`use_data_folder=False`, `wipe_local_data=True`).

Each group starts with `<pipeline>_preflight`: `python -m linkedin_leads check` for the group's
owners (token, scopes, API version, forms and leads readable; a few requests of one record each).
When a row fails, the task fails with the table and its fixes, and the group's run does not start;
a token about to expire (30 days) is a warning in the task's log.

When LinkedIn stops a run part-way (a daily quota, or an owner failing after every retry), the
run task loads what was read and succeeds; the group's `<pipeline>_check` task after it then
fails, naming what is left, so the DAG run shows failed. The next run continues there.
"""

import json
import os
import tempfile
from datetime import timedelta
from typing import Any, Dict, List

import dlt
import pendulum
from dlt.helpers.airflow_helper import PipelineTasksGroup

try:  # Airflow 3 (the Task SDK and the standard provider)
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import Variable, dag
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2
    from airflow.decorators import dag  # type: ignore[no-redef]
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef,assignment]
    from airflow.models import Variable  # type: ignore[no-redef]
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]

from linkedin_leads import left_line, linkedin_leads, work_left
from linkedin_leads.api.exceptions import LinkedInLeadsError
from linkedin_leads.commands.check import preflight
from linkedin_leads.reading.shared import writer_destination

DESTINATION = os.environ.get("LINKEDIN_LEADS_DESTINATION", "duckdb")
"""The dlt destination to load into; its credentials come from `dlt_secrets_toml` as usual."""

DEFAULT_TASK_ARGS = {
    "owner": "data",
    "depends_on_past": False,
    "email_on_failure": False,
    "retries": 0,
    "execution_timeout": timedelta(hours=6),
}


def owner_groups() -> List[Dict[str, Any]]:
    """The owner groups from the Airflow variable, or one group with the configured owners."""
    try:
        raw = Variable.get("linkedin_leads_owner_groups", None) or ""
    except Exception:  # no metadata database or API server while a DAG file is only parsed
        raw = ""
    raw = raw or os.environ.get("LINKEDIN_LEADS_OWNER_GROUPS", "")
    groups: List[Dict[str, Any]] = json.loads(raw) if raw else []
    return groups or [{}]


def fail_if_work_left(pipeline_name: str) -> None:
    """Fails when the pipeline's last run left leads unread (its state, from the destination)."""
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        dataset_name="linkedin",
        destination=DESTINATION,
        pipelines_dir=tempfile.mkdtemp(prefix="linkedin_leads_check_"),
    )
    pipeline.sync_destination()
    left = work_left(pipeline)
    if left:
        spans = "; ".join(left_line(x) for x in left)
        raise AirflowFailException(
            f"{pipeline_name}: the run loaded what it read, but LinkedIn stopped it before: {spans}. "
            "The next run continues there."
        )


def check_before_run(group: Dict[str, Any]) -> List[str]:
    """`check` for the group's owners: fails the task (no retry) with the table of what failed and
    each fix; returns (and logs) the warnings, such as a token about to expire."""
    try:
        return preflight(**group)
    except LinkedInLeadsError as exc:
        raise AirflowFailException(str(exc)) from None


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_TASK_ARGS,
)
def linkedin_leads_dag() -> None:
    """LinkedIn lead forms and leads, one dlt pipeline per owner group."""
    groups = owner_groups()
    for number, group in enumerate(groups):
        name = "linkedin_leads" if len(groups) == 1 else f"linkedin_leads_group_{number}"
        tasks = PipelineTasksGroup(name, use_data_folder=False, wipe_local_data=True)
        destination = DESTINATION if len(groups) == 1 else writer_destination(DESTINATION, name)
        pipeline = dlt.pipeline(pipeline_name=name, dataset_name="linkedin", destination=destination)
        # the group's owners win over the configured ones; everything else comes from the config
        source = linkedin_leads(**group)
        # groups loading at the same moment may race to create a table or column: the loser's load
        # fails, and a retry is safe (dlt reads the destination again, applies what is missing)
        run = tasks.add_run(
            pipeline,
            source,
            decompose="none",
            retries=0 if len(groups) == 1 else 1,
            retry_delay=timedelta(seconds=30),
        )
        check = PythonOperator(
            task_id=f"{name}_check", python_callable=fail_if_work_left, op_args=[name], retries=0
        )
        first = PythonOperator(
            task_id=f"{name}_preflight", python_callable=check_before_run, op_args=[group], retries=0
        )
        first >> run[0]
        run[-1] >> check


linkedin_leads_dag()
