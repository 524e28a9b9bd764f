"""One benchmark run of the real pipeline into DuckDB, in its own process.

Prints one JSON line: elapsed seconds, leads loaded, peak RSS of this process through extract
and normalize (the source's own share) and through the whole run, with DuckDB at its defaults
as the pipeline script ships.
"""

import json
import os
import resource
import time
from typing import Any, Dict

if not os.environ.get("BENCH_DEFAULT_ALLOCATORS"):
    import linkedin_leads_pipeline  # noqa: F401  # its allocators, set before dlt is imported: as shipped

from job_common import bench_pipeline, emulator_source, job_parser, load_job_seconds

from linkedin_leads import work_left


def main() -> None:
    parser = job_parser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--lookback-hours", type=float, default=24)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    source = emulator_source(args, lookback_hours=args.lookback_hours, page_size=args.page_size)
    pipeline = bench_pipeline(args.workdir)
    # the steps of pipeline.run one by one, to read the source's own peak before the load
    steps: Dict[str, float] = {}
    cpu: Dict[str, float] = {}
    mark, cpu_mark = time.perf_counter(), time.process_time()
    extract = pipeline.extract(source)
    steps["extract"], mark = round(time.perf_counter() - mark, 2), time.perf_counter()
    cpu["extract"], cpu_mark = round(time.process_time() - cpu_mark, 2), time.process_time()
    extract_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    normalized = pipeline.normalize()
    steps["normalize"], mark = round(time.perf_counter() - mark, 2), time.perf_counter()
    cpu["normalize"], cpu_mark = round(time.process_time() - cpu_mark, 2), time.process_time()
    source_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loaded = pipeline.load()
    steps["load"] = round(time.perf_counter() - mark, 2)
    cpu["load"] = round(time.process_time() - cpu_mark, 2)
    elapsed = time.perf_counter() - started
    left = work_left(pipeline)
    metrics: Dict[str, Any] = {}
    for load_metrics in extract.metrics.values():
        for step in load_metrics:
            if "lead_form_responses" in step["resource_metrics"]:
                metrics = dict(step["resource_metrics"]["lead_form_responses"].custom_metrics)
    counts = normalized.row_counts
    load_jobs = load_job_seconds(loaded)
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
                "source_peak_rss_mb": source_rss,
                "extract_peak_rss_mb": extract_rss,
                "left": len(left),
                "slices": metrics.get("slices") or {},
                "steps_s": steps,
                "cpu_s": cpu,
                "load_jobs_s": dict(sorted(load_jobs.items(), key=lambda item: -item[1])),
                # CPU time of the whole process (every thread) per lead, in the extract step
                "extract_cpu_us_per_lead": cpu["extract"]
                / max(1, counts.get("lead_form_responses", 0))
                * 1e6,
            }
        )
    )


if __name__ == "__main__":
    main()
