"""One step of the pipeline in its own process, for `load_costs.py`: `prepare` or `load`.

``prepare`` extracts and normalizes a backfill into ``--workdir`` (a normalized package, not
loaded); ``load`` loads the package found there into the DuckDB file beside it. DuckDB settings
for the load come as JSON in ``--duckdb-local`` and ``--duckdb-global`` (dlt's
``credentials.local_config`` and ``global_config``). Prints one JSON line: wall and CPU seconds,
peak RSS, and for a load the seconds of each load job.
"""

import json
import os
import resource
import time
from typing import Any, Dict

if not os.environ.get("BENCH_DEFAULT_ALLOCATORS"):
    import linkedin_leads_pipeline  # noqa: F401  # its allocators, set before dlt is imported: as shipped

import dlt
from job_args import job_parser

from linkedin_leads import LinkedInOAuthCredentials, linkedin_leads


def main() -> None:
    parser = job_parser()
    parser.add_argument("step", choices=("prepare", "load"))
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--duckdb-local", default="")
    parser.add_argument("--duckdb-global", default="")
    args = parser.parse_args()
    if args.duckdb_local:
        os.environ["DESTINATION__DUCKDB__CREDENTIALS__LOCAL_CONFIG"] = args.duckdb_local
    if args.duckdb_global:
        os.environ["DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"] = args.duckdb_global
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=os.path.join(args.workdir, "pipelines"),
        destination=dlt.destinations.duckdb(os.path.join(args.workdir, "bench.duckdb")),
        dataset_name="linkedin",
    )
    figures: Dict[str, Any] = {}
    started, cpu = time.perf_counter(), time.process_time()
    if args.step == "prepare":
        credentials = LinkedInOAuthCredentials()
        credentials.client_id = "test-client"
        credentials.client_secret = "test-client-secret"
        credentials.refresh_token = "test-refresh-token"
        credentials.token_url = args.token_url
        source = linkedin_leads(
            account_ids=[int(a) for a in filter(None, args.accounts.split(","))] or None,
            organization_ids=[int(o) for o in filter(None, args.organizations.split(","))] or None,
            credentials=credentials,
            base_url=args.base_url,
        )
        pipeline.extract(source)
        figures["leads"] = pipeline.normalize().row_counts.get("lead_form_responses", 0)
    else:
        loaded = pipeline.load()
        jobs: Dict[str, float] = {}
        for job_metrics in (m["job_metrics"] for ms in loaded.metrics.values() for m in ms):
            for job in job_metrics.values():
                if job.finished_at is not None and job.table_name.startswith("lead_form_responses"):
                    key = f"{job.table_name} {'merge' if job.file_path.endswith('.sql') else 'copy'}"
                    jobs[key] = round(
                        jobs.get(key, 0.0) + (job.finished_at - job.started_at).total_seconds(), 2
                    )
        figures["jobs_s"] = jobs
    figures["elapsed_s"] = round(time.perf_counter() - started, 2)
    figures["cpu_s"] = round(time.process_time() - cpu, 2)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
