"""A pipeline run in its own process, for the crash tests: killed with SIGKILL, then run again.

Usage: crash_child.py <base_url> <duckdb path> <pipelines dir> steps|run
``steps`` runs extract, normalize and load one by one and prints a line after each.
"""

import sys

import dlt

from linkedin_leads import LinkedInAccessTokenCredentials, linkedin_leads


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
    if mode == "run":
        pipeline.run(source)
        print("DONE", flush=True)
        return
    pipeline.extract(source)
    print("EXTRACTED", flush=True)
    pipeline.normalize()
    print("NORMALIZED", flush=True)
    pipeline.load()
    print("LOADED", flush=True)


if __name__ == "__main__":
    main()
