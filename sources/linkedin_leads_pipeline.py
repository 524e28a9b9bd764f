"""Loads LinkedIn lead forms and leads into a local DuckDB file.

    python linkedin_leads_pipeline.py          # your LinkedIn data (configure .dlt/ first)
    python linkedin_leads_pipeline.py --demo   # a local LinkedIn emulator, no credentials

Installed as a package (``pip install linkedin-leads``), the same is the ``linkedin-leads``
command: ``linkedin-leads run [--demo]``, ``check``, ``auth``, ``notifications ...``, ``--version``.

Each run reads, for each ad account or organization and lead type, only what earlier runs
have not read (and a lookback for late leads); the first run starts at ``start_date``
(default: 365 days ago).

Exit status: 0 when everything was read; 3 when LinkedIn stopped the run part-way (a daily
quota, or an owner failing after every retry): what was read is loaded, what is left is
printed, and the next run continues there; 2 for configuration errors; 1 for other failures.
"""

import argparse
import ctypes
import importlib.util
import os
import sys
import time
from typing import Any, Dict, List, Optional


def use_lean_allocators() -> None:
    """Memory for this process, set before dlt and pyarrow are imported (``docs/limits.md``).

    Arrow takes the C library's ``malloc`` instead of its own allocator, which keeps a heap for
    every thread; glibc keeps at most two arenas instead of one per thread, and serves blocks of
    128 KiB and more (a page's body, Arrow's larger buffers) from their own mappings, given back
    when freed, instead of raising that threshold as it goes and growing its heaps with them.
    Together they took the source's peak RSS from about 355 MB to 272 MB at 100k leads, and the
    fixed threshold 1M leads from 286 MB to 273 MB, at the same speed (``bench/README.md``).
    ``ARROW_DEFAULT_MEMORY_POOL``, ``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_`` set in the
    environment are kept.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        if "MALLOC_ARENA_MAX" not in os.environ:
            libc.mallopt(M_ARENA_MAX, 2)  # glibc; elsewhere a no-op or absent
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass


M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter for the number of malloc arenas (``malloc.h``)."""
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter for the size from which blocks get their own mapping; setting
it turns off glibc's raising of it after each such block is freed (``mallopt(3)``)."""

use_lean_allocators()

import dlt  # noqa: E402
from dlt.common.configuration.exceptions import ConfigFieldMissingException  # noqa: E402
from dlt.common.pipeline import LoadInfo  # noqa: E402
from dlt.common.runtime.collector import LogCollector  # noqa: E402
from dlt.destinations.exceptions import DatabaseUndefinedRelation  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402

from linkedin_leads import (  # noqa: E402
    VERSION,
    LinkedInConfigError,
    LinkedInLeadsError,
    LinkedInOAuthCredentials,
    find_cause,
    left_line,
    linkedin_leads,
)
from linkedin_leads.config.keys import near_miss_credentials  # noqa: E402
from linkedin_leads.reading.shared import destination_lock, duckdb_here, lock_timeout, run_writer  # noqa: E402

MISSING_CONFIG_HELP = """\
linkedin_leads is not configured: {missing}.

Set these keys in .dlt/secrets.toml (copy .dlt/example.secrets.toml) and .dlt/config.toml,
or as environment variables:

  [sources.linkedin_leads]
  account_ids = [512345678]          # SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS="512345678"

  [sources.linkedin_leads.credentials]  # either an OAuth refresh token ...
  client_id = "..."                  # SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_ID
  client_secret = "..."              # SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_SECRET
  refresh_token = "..."              # SOURCES__LINKEDIN_LEADS__CREDENTIALS__REFRESH_TOKEN
  # ... or a 60-day access token:
  # access_token = "..."             # SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN

The token needs the scopes r_marketing_leadgen_automation and r_ads
(and r_organization_admin for organization_ids). To try the source without
credentials: python linkedin_leads_pipeline.py --demo
"""


PARTIAL = 3
"""Exit status of a run that LinkedIn stopped part-way: loaded what it read, the rest is left."""


def load(pipeline: dlt.Pipeline, source: Any) -> Dict[str, Any]:
    """Runs the pipeline, prints a short summary of what was loaded; returns the source's metrics.

    On DuckDB the file is held for the whole run (``shared.destination_lock``): a lead-notification
    receiver loading into the same file waits for it, and this run waits for the receiver's batch.
    """
    with destination_lock(pipeline, f"the pull ({pipeline.pipeline_name})", lock_timeout()):
        load_info = run_writer(pipeline, source)
        metrics = lead_metrics(pipeline)
        print(summary(pipeline, load_info, metrics))
    return metrics


def lead_metrics(pipeline: dlt.Pipeline) -> Dict[str, Any]:
    """The ``lead_form_responses`` metrics of the last extract (see the README's guarantees)."""
    trace = pipeline.last_trace
    extract_info = trace.last_extract_info if trace else None
    for load_metrics in extract_info.metrics.values() if extract_info else []:
        for step in load_metrics:
            resource = step["resource_metrics"].get("lead_form_responses")
            if resource is not None:
                return dict(resource.custom_metrics)
    return {}


def progress_collector() -> Any:
    """Live bars in a terminal (tqdm or enlighten, if installed); else a log line every 30 s.

    Either way the source reports its (owner, lead type) pairs done, slices read and leads read.
    """
    if sys.stdout.isatty():
        for name in ("enlighten", "tqdm"):
            try:
                __import__(name)
            except ImportError:
                continue
            return name
    # memory and CPU in the log lines only where psutil is installed (dlt warns otherwise)
    return LogCollector(log_period=30, dump_system_stats=importlib.util.find_spec("psutil") is not None)


def count_rows(pipeline: dlt.Pipeline, table: str) -> int:
    """Rows of ``table`` in the destination; 0 before the table exists (a run stopped early)."""
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(f"SELECT count(*) FROM {table}")  # noqa: S608
    except DatabaseUndefinedRelation:
        return 0
    return int(rows[0][0]) if rows else 0


def summary(pipeline: dlt.Pipeline, load_info: LoadInfo, metrics: Dict[str, Any]) -> str:
    """Lines a person can read: per owner and lead type the leads read, the window, the totals,
    owners skipped, what is left, and where the data is."""
    trace = pipeline.last_trace
    row_counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
    forms, total = count_rows(pipeline, "lead_forms"), count_rows(pipeline, "lead_form_responses")
    first = metrics.get("first_read") or {}
    spans = metrics.get("spans") or {}
    lines = [
        f"linkedin_leads {VERSION}. Leads read, per owner and lead type, with the span of submission "
        "times asked of LinkedIn:"
    ]
    for owner, by_type in sorted((metrics.get("leads_read") or {}).items()):
        for lead_type, count in sorted(by_type.items()):
            span = (spans.get(owner) or {}).get(lead_type)
            note = f"  {span['start']} to {span['end']}" if span else "  nothing left to ask"
            if lead_type in first.get(owner, []):
                note += " (first run: from start_date)"
            lines.append(f"  {owner:<36} {lead_type:<22} {count:>9}{note}")
    for owner in metrics.get("owners_skipped") or []:
        lines.append(f"  {owner}: SKIPPED, LinkedIn refused access (see the warning above)")
    if metrics.get("token_expiry_warning"):
        lines.append(f"WARNING: {metrics['token_expiry_warning']}")
    left = metrics.get("left") or []
    if left:
        lines.append("NOT READ YET (the next run continues here):")
        lines += [f"  {left_line(x)}" for x in left]
        stopped = metrics.get("stopped") or {}
        if stopped.get("resets_at"):
            lines.append(f"  LinkedIn's daily quota resets at {stopped['resets_at']}.")
    lines += [
        f"Loaded {row_counts.get('lead_form_responses', 0)} leads (new, or re-read in the lookback"
        f" window; {total} in all) and {forms} lead forms.",
        f"Data: {pipeline.destination.destination_name} dataset `{pipeline.dataset_name}`"
        f" in {getattr(pipeline.destination_client().config.credentials, 'database', '')}",
    ]
    return "\n".join(lines)


def run(pipeline_name: str = "linkedin_leads") -> int:
    """Loads the configured accounts and organizations into ``<pipeline_name>.duckdb``."""
    try:
        source = linkedin_leads()
    except ConfigFieldMissingException as exc:
        print(MISSING_CONFIG_HELP.format(missing=", ".join(exc.fields)), file=sys.stderr)
        for where in near_miss_credentials():
            print(
                f"Credentials were found under {where}, a section this source does not read: "
                "move them to [sources.linkedin_leads.credentials] "
                "(or SOURCES__LINKEDIN_LEADS__CREDENTIALS__...).",
                file=sys.stderr,
            )
        return 2
    except LinkedInLeadsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    duckdb_here(pipeline_name)
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination="duckdb",
        dataset_name="linkedin",
        progress=progress_collector(),
    )
    try:
        metrics = load(pipeline, source)
    except LinkedInLeadsError as exc:  # the destination held by another writer, or a bad setting
        print(str(exc), file=sys.stderr)
        return 2 if isinstance(exc, LinkedInConfigError) else 1
    except PipelineStepFailed as exc:
        cause = linkedin_cause(exc)
        if cause is None:
            raise
        # LinkedIn's own words and the fix, without dlt's traceback around them
        print(f"The {exc.step} step failed: {cause}", file=sys.stderr)
        return 2 if isinstance(cause, LinkedInConfigError) else 1
    return PARTIAL if metrics.get("left") else 0


def linkedin_cause(error: BaseException) -> Optional[LinkedInLeadsError]:
    """The source's own error behind a pipeline failure, if there is one."""
    return find_cause(error, LinkedInLeadsError)


def run_demo(leads: int = 3000, pipeline_name: str = "linkedin_leads_demo") -> int:
    """Runs the same pipeline against the local emulator with generated data."""
    from linkedin_leads.emulator import LinkedInEmulator, generate  # only the demo needs it

    data = generate(int(time.time() * 1000), accounts=2, organizations=1, forms_per_owner=3, leads=leads)
    with LinkedInEmulator(data) as emulator:
        oauth = LinkedInOAuthCredentials()
        oauth.client_id = "test-client"
        oauth.client_secret = "test-client-secret"
        oauth.refresh_token = "test-refresh-token"
        oauth.token_url = emulator.token_url
        source = linkedin_leads(
            account_ids=[*data.accounts],
            organization_ids=[*data.organizations],
            credentials=oauth,
            base_url=emulator.base_url,
        )
        duckdb_here(pipeline_name)
        pipeline = dlt.pipeline(
            pipeline_name=pipeline_name,
            destination="duckdb",
            dataset_name="linkedin",
        )
        print(f"Demo: LinkedIn emulator at {emulator.base_url} with {len(data.leads)} leads.")
        metrics = load(pipeline, source)
        print(f"API requests sent: {len(emulator.calls())}")
    return PARTIAL if metrics.get("left") else 0


def main(argv: Optional[List[str]] = None) -> int:
    """``python linkedin_leads_pipeline.py [--demo | --check | --version]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"linkedin_leads {VERSION}")
    parser.add_argument(
        "--demo", action="store_true", help="load from a local LinkedIn emulator (no credentials)"
    )
    parser.add_argument(
        "--check", action="store_true", help="verify the configuration against LinkedIn and load nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        from linkedin_leads.commands.cli import check

        return check()
    return run_demo() if args.demo else run()


def cli(argv: Optional[List[str]] = None) -> int:
    """The ``linkedin-leads`` command of the installed package: ``run``, ``check``, ``auth``,
    ``notifications``; the same code as this script and ``python -m linkedin_leads``."""
    from linkedin_leads.commands.cli import add_commands, dispatch

    parser = argparse.ArgumentParser(prog="linkedin-leads", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"linkedin_leads {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="load your LinkedIn leads into <pipeline>.duckdb here")
    running.add_argument(
        "--demo", action="store_true", help="load from a local LinkedIn emulator (no credentials)"
    )
    add_commands(commands)
    commands.add_parser(
        "notifications", help="the lead-notification receiver: serve [--demo], subscribe, unsubscribe, list"
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["notifications"]:
        args = parser.parse_args(argv)
        return (run_demo() if args.demo else run()) if args.command == "run" else dispatch(args)
    # the receiver's own options, parsed by its own parser
    try:
        from linkedin_leads.notifications.__main__ import main as notifications_main
    except ImportError as exc:
        print(
            f"The receiver needs the package's extra `notifications` ({exc.name} is missing): "
            "pip install '.[notifications]' in the checkout, or '<wheel file>[notifications]'",
            file=sys.stderr,
        )
        return 2
    return notifications_main(argv[1:], prog="linkedin-leads notifications")


if __name__ == "__main__":
    sys.exit(main())
