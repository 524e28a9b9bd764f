"""A pipeline run in its own process, for the crash tests: killed with SIGKILL, then run again.

Usage: crash_child.py <base_url> <duckdb path> <pipelines dir> steps|run
``steps`` runs extract, normalize and load one by one and prints a line after each;
``steps-hold-load`` also stops after the first table of the load was copied.
"""

import sys
import time

import dlt

from linkedin_leads import LinkedInAccessTokenCredentials, linkedin_leads
from linkedin_leads.reading.shared import destination_lock


def hold_after_first_copy_job() -> None:
    """Makes the load stop for a while after its first table was copied: killed there, the
    process dies in the middle of the load, some tables loaded and others not."""
    from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob

    run = DuckDbCopyJob.run

    def run_then_hold(self: DuckDbCopyJob) -> None:
        run(self)
        print("COPIED", flush=True)
        time.sleep(60)

    DuckDbCopyJob.run = run_then_hold  # type: ignore[method-assign]


def main() -> None:
    base_url, database, pipelines_dir, mode = sys.argv[1:5]
    credentials = LinkedInAccessTokenCredentials()
    credentials.access_token = "test-access-token"
    source = linkedin_leads(
        account_ids=sys.argv[5],
        organization_ids=sys.argv[6],
        credentials=credentials,
        base_url=base_url,
        page_size=50,
        concurrency=2,
    )
    pipeline = dlt.pipeline(
        pipeline_name="crash",
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.duckdb(database),
        dataset_name="linkedin",
    )
    # the file held as the pipeline script holds it, for a receiver loading beside (test_writers)
    with destination_lock(pipeline, "the crash child"):
        if mode == "run":
            pipeline.run(source)
            print("DONE", flush=True)
            return
        if mode == "steps-hold-load":
            hold_after_first_copy_job()
        pipeline.extract(source)
        print("EXTRACTED", flush=True)
        pipeline.normalize()
        print("NORMALIZED", flush=True)
        pipeline.load()
        print("LOADED", flush=True)


if __name__ == "__main__":
    main()
