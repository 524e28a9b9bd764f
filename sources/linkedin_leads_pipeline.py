"""Examples of loading LinkedIn lead forms and leads with the ``linkedin_leads`` source.

    python linkedin_leads_pipeline.py           # everything configured in .dlt/, with a summary
    python linkedin_leads_pipeline.py --demo    # a local LinkedIn emulator, no credentials
    python linkedin_leads_pipeline.py --check   # the configuration checked against LinkedIn

Each run reads, for each ad account or organization and lead type, only what earlier runs have not
read (and a lookback for late leads); the first run starts at ``start_date`` (default: 365 days
ago). Exit status: 0 when everything was read; 3 when LinkedIn stopped the run part-way (what was
read is loaded, what is left is printed, the next run continues); 2 for configuration errors.
"""

import ctypes
import os
import sys
from typing import List, Union


def use_lean_allocators() -> None:
    """Memory for this process, set before dlt and pyarrow are imported (``docs/limits.md``).

    Arrow takes the C library's ``malloc`` instead of its own allocator, which keeps a heap for
    every thread; glibc keeps at most two arenas instead of one per thread, and serves blocks of
    128 KiB and more from their own mappings, given back when freed. Together they took the
    source's peak RSS from about 355 MB to 272 MB at 100k leads (``bench/README.md``). Settings
    already in the environment are kept.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        if "MALLOC_ARENA_MAX" not in os.environ:
            libc.mallopt(-8, 2)  # M_ARENA_MAX (malloc.h)
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD; fixed, glibc no longer raises it
    except (OSError, AttributeError):
        pass


use_lean_allocators()

import dlt  # noqa: E402

from linkedin_leads import linkedin_leads  # noqa: E402
from linkedin_leads.commands.cli import script  # noqa: E402
from linkedin_leads.commands.demo import run_demo  # noqa: E402
from linkedin_leads.commands.run import progress_collector, run  # noqa: E402


def make_pipeline(pipeline_name: str = "linkedin_leads", dataset_name: str = "linkedin") -> dlt.Pipeline:
    """The pipeline the examples load with; ``dlt init`` writes your destination into it."""
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination="duckdb",
        dataset_name=dataset_name,
        progress=progress_collector(),
    )


def load_everything() -> int:
    """Every configured ad account and organization (or every one the token can read), with a
    summary of what was read and what is left; returns the exit status."""
    return run(make_pipeline())


def load_chosen_owners(account_ids: List[Union[int, str]], organization_ids: List[Union[int, str]]) -> None:
    """Only these ad accounts and organizations (company pages), whatever is configured."""
    pipeline = make_pipeline()
    load_info = pipeline.run(linkedin_leads(account_ids=account_ids, organization_ids=organization_ids))
    print(load_info)


def load_from_date(start_date: str = "2026-01-01") -> None:
    """Leads submitted from ``start_date`` on; later runs go on from where this one ended."""
    pipeline = make_pipeline("linkedin_leads_since", "linkedin_since")
    print(pipeline.run(linkedin_leads(start_date=start_date)))


def load_test_leads_only() -> None:
    """Only the test leads of LinkedIn's form preview, into a dataset of their own."""
    pipeline = make_pipeline("linkedin_leads_test", "linkedin_test_leads")
    print(pipeline.run(linkedin_leads(test_leads="only")))


def load_demo() -> int:
    """The source against a local LinkedIn emulator, into DuckDB whatever the destination above."""
    return run_demo()


if __name__ == "__main__":
    sys.exit(script(load_everything))
