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

from job_common import bench_pipeline, emulator_source, job_parser, load_job_seconds


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
    pipeline = bench_pipeline(args.workdir)
    figures: Dict[str, Any] = {}
    started, cpu = time.perf_counter(), time.process_time()
    if args.step == "prepare":
        source = emulator_source(args)
        pipeline.extract(source)
        figures["leads"] = pipeline.normalize().row_counts.get("lead_form_responses", 0)
    else:
        loaded = pipeline.load()
        jobs = {k: v for k, v in load_job_seconds(loaded).items() if k.startswith("lead_form_responses")}
        figures["jobs_s"] = jobs
    figures["elapsed_s"] = round(time.perf_counter() - started, 2)
    figures["cpu_s"] = round(time.process_time() - cpu, 2)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
