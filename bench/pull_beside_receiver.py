"""The pull, in its own process, as ``linkedin-leads run`` runs it, for ``notification_latency``.

``python bench/pull_beside_receiver.py <duckdb file> [--hold-whole-run]``: settings come from
``SOURCES__LINKEDIN_LEADS__*``. ``--hold-whole-run`` holds the DuckDB file for the whole run, as
the pull did before it held it only while it touches it: the same requests and data, the baseline.
Prints one JSON line: the run's seconds and its exit status.
"""

import json
import sys
import time

import dlt

import linkedin_leads_pipeline  # noqa: F401  # its allocators, as shipped
from linkedin_leads import linkedin_leads
from linkedin_leads.commands.run import load
from linkedin_leads.reading.shared import destination_lock


def main() -> None:
    database, whole = sys.argv[1], "--hold-whole-run" in sys.argv
    pipeline = dlt.pipeline(
        pipeline_name="linkedin_leads", destination=dlt.destinations.duckdb(database), dataset_name="linkedin"
    )
    started = time.perf_counter()
    if whole:  # the holds within are taken again by the same thread: the file is held throughout
        with destination_lock(pipeline, "the pull (whole run)"):
            metrics = load(pipeline, linkedin_leads())
    else:
        metrics = load(pipeline, linkedin_leads())
    leads = sum(sum(by_type.values()) for by_type in (metrics.get("leads_read") or {}).values())
    print(json.dumps({"seconds": time.perf_counter() - started, "leads": leads}), flush=True)


if __name__ == "__main__":
    main()
