"""What the benchmark jobs share: their arguments (where the emulator is, which owners to read),
the emulator's test client, the pipeline they load with, and the figures of its load jobs.

A job that sets the shipped script's allocators imports this module after doing so (importing
the source imports dlt and pyarrow).
"""

import argparse
import os
from typing import Any, Dict

import dlt
import requests

from linkedin_leads import LinkedInOAuthCredentials, linkedin_leads
from linkedin_leads.settings import DEFAULT_API_VERSION


def job_parser() -> argparse.ArgumentParser:
    """A parser with ``--base-url``, ``--token-url``, ``--accounts`` and ``--organizations``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token-url", required=True)
    parser.add_argument("--accounts", default="", help="comma separated ad account ids")
    parser.add_argument("--organizations", default="", help="comma separated organization ids")
    return parser


def plain_session(token_url: str) -> requests.Session:
    """A ``requests`` session with the emulator's access token and LinkedIn's headers."""
    token = requests.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "test-refresh-token",
            "client_id": "test-client",
            "client_secret": "test-client-secret",
        },
        timeout=60,
    ).json()["access_token"]
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": DEFAULT_API_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
    )
    return session


def emulator_source(args: argparse.Namespace, **options: Any) -> Any:
    """The ``linkedin_leads`` source for the owners in ``args``, with the emulator's test client."""
    credentials = LinkedInOAuthCredentials()
    credentials.client_id = "test-client"
    credentials.client_secret = "test-client-secret"
    credentials.refresh_token = "test-refresh-token"
    credentials.token_url = args.token_url
    return linkedin_leads(
        account_ids=args.accounts or None,
        organization_ids=args.organizations or None,
        credentials=credentials,
        base_url=args.base_url,
        **options,
    )


def bench_pipeline(workdir: str) -> Any:
    """The pipeline of a job: its working folder and a DuckDB file in ``workdir``."""
    return dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=os.path.join(workdir, "pipelines"),
        destination=dlt.destinations.duckdb(os.path.join(workdir, "bench.duckdb")),
        dataset_name="linkedin",
    )


def load_job_seconds(loaded: Any) -> Dict[str, float]:
    """Seconds of each load job, by table and kind: the copy of its files into the staging
    dataset, and the merge (SQL) into the table."""
    seconds: Dict[str, float] = {}
    for job_metrics in (m["job_metrics"] for ms in loaded.metrics.values() for m in ms):
        for job in job_metrics.values():
            if job.finished_at is None:
                continue
            key = f"{job.table_name} {'merge' if job.file_path.endswith('.sql') else 'copy'}"
            seconds[key] = round(
                seconds.get(key, 0.0) + (job.finished_at - job.started_at).total_seconds(), 2
            )
    return seconds
