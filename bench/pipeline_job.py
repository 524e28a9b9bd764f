"""One benchmark run of the real pipeline into DuckDB, in its own process.

Prints one JSON line: elapsed seconds, leads loaded, peak RSS of this process.
"""

import json
import os
import resource
import time
from typing import Any, Dict

import dlt
from job_args import job_parser

from linkedin_leads import LinkedInOAuthCredentials, linkedin_leads, work_left
from linkedin_leads_pipeline import limit_duckdb_memory


def main() -> None:
    parser = job_parser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--lookback-hours", type=float, default=24)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    credentials = LinkedInOAuthCredentials()
    credentials.client_id = "test-client"
    credentials.client_secret = "test-client-secret"
    credentials.refresh_token = "test-refresh-token"
    credentials.token_url = args.token_url
    limit_duckdb_memory()  # as the pipeline script does
    started = time.perf_counter()
    source = linkedin_leads(
        account_ids=args.accounts or None,
        organization_ids=args.organizations or None,
        credentials=credentials,
        base_url=args.base_url,
        lookback_hours=args.lookback_hours,
        page_size=args.page_size,
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=os.path.join(args.workdir, "pipelines"),
        destination=dlt.destinations.duckdb(os.path.join(args.workdir, "bench.duckdb")),
        dataset_name="linkedin",
    )
    pipeline.run(source)
    elapsed = time.perf_counter() - started
    left = work_left(pipeline)
    metrics: Dict[str, Any] = {}
    extract = pipeline.last_trace.last_extract_info
    for steps in extract.metrics.values() if extract else []:
        for step in steps:
            if "lead_form_responses" in step["resource_metrics"]:
                metrics = dict(step["resource_metrics"]["lead_form_responses"].custom_metrics)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    with pipeline.sql_client() as client:
        total = client.execute_sql("SELECT count(*), count(DISTINCT id) FROM lead_form_responses")[0]
    print(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "leads_loaded": counts.get("lead_form_responses", 0),
                "leads_in_table": total[0],
                "distinct_leads_in_table": total[1],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "left": len(left),
                "slices": (metrics.get("slices") or {}).get("planned", 0),
                "steps_s": {
                    step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
                    for step in pipeline.last_trace.steps
                },
            }
        )
    )


if __name__ == "__main__":
    main()
