"""One benchmark run of the real pipeline into DuckDB, in its own process.

Prints one JSON line: elapsed seconds, leads loaded, peak RSS of this process.
"""

import json
import os
import resource
import time

import dlt
from job_args import job_parser

from linkedin_leads import LinkedInOAuthCredentials, linkedin_leads
from linkedin_leads_pipeline import limit_duckdb_memory


def main() -> None:
    parser = job_parser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--lookback-hours", type=float, default=24)
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
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=os.path.join(args.workdir, "pipelines"),
        destination=dlt.destinations.duckdb(os.path.join(args.workdir, "bench.duckdb")),
        dataset_name="linkedin",
    )
    pipeline.run(source)
    elapsed = time.perf_counter() - started
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
                "steps_s": {
                    step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
                    for step in pipeline.last_trace.steps
                },
            }
        )
    )


if __name__ == "__main__":
    main()
