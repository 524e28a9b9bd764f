"""The ``run`` command: a pull with a summary a person reads, and exit statuses a scheduler reads.

``run(pipeline)`` loads every configured owner through the pipeline it is given (the example
script's, whose destination ``dlt init`` sets; or ``default_pipeline``, DuckDB here), prints per
owner and lead type what was read, what is left and where the data is, and returns:

- 0 when everything was read;
- 3 (``PARTIAL``) when LinkedIn stopped the run part-way (a daily quota, or an owner failing after
  every retry): what was read is loaded, what is left is printed, and the next run continues there;
- 2 for a configuration error; 1 for any other failure LinkedIn explains.
"""

import importlib.util
import sys
from typing import Any, Dict, List, Optional

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.pipeline import LoadInfo
from dlt.common.runtime.collector import LogCollector
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineStepFailed

from .. import linkedin_leads
from ..api.exceptions import LinkedInConfigError, LinkedInLeadsError, find_cause
from ..config.keys import near_miss_credentials
from ..config.validate import validate_settings
from ..reading.left import left_line
from ..reading.shared import destination_lock, duckdb_here, lock_timeout, run_writer
from ..settings import VERSION, command

PARTIAL = 3
"""Exit status of a run that LinkedIn stopped part-way: loaded what it read, the rest is left."""

MISSING_CONFIG_HELP = """\
linkedin_leads is not configured: {missing}.

Set these keys in .dlt/secrets.toml and .dlt/config.toml ({init} writes commented templates),
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
(and r_organization_admin for organization_ids); {auth} gets one.
To try the source without credentials: {demo}
"""


def default_pipeline(pipeline_name: str = "linkedin_leads") -> dlt.Pipeline:
    """The pipeline of ``linkedin-leads run`` and ``python -m linkedin_leads run``: DuckDB, dataset
    ``linkedin``, ``<pipeline_name>.duckdb`` in the current folder.

    Args:
        pipeline_name: The pipeline's name, which also names its state and its DuckDB file.

    Returns:
        dlt.Pipeline: The pipeline, with a progress display (``progress_collector``).
    """
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination="duckdb",
        dataset_name="linkedin",
        progress=progress_collector(),
    )


def run(pipeline: dlt.Pipeline, **source_args: Any) -> int:
    """Loads the configured owners through ``pipeline``, prints a summary; returns the exit status.

    Args:
        pipeline: Where to load: the example script's pipeline, or ``default_pipeline()``.
        **source_args: Arguments of the ``linkedin_leads`` source that override the configuration.

    Returns:
        int: 0, ``PARTIAL`` (3), 2 or 1, as the module's docstring says.

    Raises:
        PipelineStepFailed: If a step failed for a reason that is not the source's own.
    """
    try:
        validate_settings()  # every mistake at once, before dlt resolves anything
        source = linkedin_leads(**source_args)
    except ConfigFieldMissingException as exc:
        help_text = MISSING_CONFIG_HELP.format(
            missing=", ".join(exc.fields),
            init=command("init"),
            auth=command("auth"),
            demo=command("run --demo"),
        )
        print(help_text, file=sys.stderr)
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
    duckdb_here(pipeline.pipeline_name)
    try:
        metrics = load(pipeline, source)
    except LinkedInLeadsError as exc:  # the destination held by another writer, or a bad setting
        print(str(exc), file=sys.stderr)
        return 2 if isinstance(exc, LinkedInConfigError) else 1
    except PipelineStepFailed as exc:
        cause = find_cause(exc, LinkedInLeadsError)
        if cause is None:
            raise
        # LinkedIn's own words and the fix, without dlt's traceback around them
        print(f"The {exc.step} step failed: {cause}", file=sys.stderr)
        return 2 if isinstance(cause, LinkedInConfigError) else 1
    return PARTIAL if metrics.get("left") else 0


def load(pipeline: dlt.Pipeline, source: Any) -> Dict[str, Any]:
    """Runs the pipeline and prints a short summary of what was loaded.

    On DuckDB the file is held (``shared.destination_lock``) only while the run touches it
    (``run_in_steps``): a lead-notification receiver loading into the same file lands its batches
    while this run reads LinkedIn.

    Args:
        pipeline: The pipeline to run.
        source: The ``linkedin_leads`` source (or its resources) to load.

    Returns:
        Dict[str, Any]: The ``lead_form_responses`` metrics of the extract (``lead_metrics``).

    Raises:
        LinkedInLeadsError: If another writer held the DuckDB file too long.
        PipelineStepFailed: If a step of the pipeline failed.
    """
    writer = f"the pull ({pipeline.pipeline_name})"
    timeout = lock_timeout()
    load_info = run_in_steps(pipeline, source, writer, timeout)
    metrics = lead_metrics(pipeline)
    with destination_lock(pipeline, writer, timeout):  # the summary counts rows
        print(summary(pipeline, load_info, metrics))
    return metrics


def run_in_steps(pipeline: dlt.Pipeline, source: Any, writer: str, timeout: float) -> Optional[LoadInfo]:
    """``pipeline.run(source)`` as dlt's steps, the destination held only while they touch it.

    Held: the state sync (and a package an earlier run left, finished as ``run`` would), then
    the load, with the purge of leads recorded deleted meanwhile (``deletions.purge_deleted``),
    in one hold: a ``DELETED`` notification loaded while this run read LinkedIn is not undone.
    Not held: the extract (its reads of the dataset hold the file a moment each) and the normalize.

    Args:
        pipeline: The pull's pipeline.
        source: The source to load.
        writer: Names this process in the lock file.
        timeout: Seconds each hold waits for another writer.

    Returns:
        Optional[LoadInfo]: The load's info.

    Raises:
        LinkedInLeadsError: If another writer held the DuckDB file for ``timeout`` seconds.
        PipelineStepFailed: If a step of the pipeline failed.
    """
    from ..tables.deletions import purge_deleted  # with pyarrow: not at import (dlt init)

    with destination_lock(pipeline, writer, timeout):
        # dlt's `run` without data: the state synced from the destination (once per pipeline
        # object), and a package an earlier run left loaded, as `run` does, and only it
        load_info: Optional[LoadInfo] = run_writer(pipeline)
        if load_info is not None:
            purge_deleted(pipeline)
            return load_info
    pipeline.extract(source)
    pipeline.normalize()
    with destination_lock(pipeline, writer, timeout):
        load_info = run_writer(pipeline, load_only=True)  # tried again on a schema race
        purge_deleted(pipeline)
    return load_info


def lead_metrics(pipeline: dlt.Pipeline) -> Dict[str, Any]:
    """The ``lead_form_responses`` metrics of the last extract (see ``docs/guarantees.md``).

    Args:
        pipeline: A pipeline that ran the source.

    Returns:
        Dict[str, Any]: ``leads_read``, ``spans``, ``left``, ``stopped``... (empty before a run).
    """
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

    Returns:
        Any: What ``dlt.pipeline(progress=...)`` takes: a collector's name, or a collector.
    """
    if sys.stdout.isatty():
        for name in ("enlighten", "tqdm"):
            if importlib.util.find_spec(name) is not None:
                return name
    # memory and CPU in the log lines only where psutil is installed (dlt warns otherwise)
    return LogCollector(log_period=30, dump_system_stats=importlib.util.find_spec("psutil") is not None)


def count_rows(pipeline: dlt.Pipeline, table: str) -> int:
    """Rows of ``table`` in the destination.

    Args:
        pipeline: The pipeline whose dataset holds the table.
        table: The table's name.

    Returns:
        int: Its rows; 0 before the table exists (a run stopped early).
    """
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(f"SELECT count(*) FROM {table}")  # noqa: S608
    except DatabaseUndefinedRelation:
        return 0
    return int(rows[0][0]) if rows else 0


def summary(pipeline: dlt.Pipeline, load_info: Optional[LoadInfo], metrics: Dict[str, Any]) -> str:
    """What a run did, as lines a person reads.

    Args:
        pipeline: The pipeline that ran.
        load_info: Its load info.
        metrics: The source's metrics (``lead_metrics``).

    Returns:
        str: Per owner and lead type the leads read and the window asked, owners skipped, token
        warnings, what is left, the totals and where the data is.
    """
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
    lines += deletion_lines(metrics.get("deletions") or {})
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
        f" in {_where(pipeline)}",
    ]
    return "\n".join(lines)


def deletion_lines(deletions: Dict[str, Any]) -> List[str]:
    """The summary's lines on the deletion check.

    Args:
        deletions: The ``deletions`` metrics of the run (``deletion_check.CheckOutcome.metrics``).

    Returns:
        List[str]: What was checked, found and revoked, pairs skipped and valves tripped; none
        when no pair was due.
    """
    skipped, valves = deletions.get("pairs_skipped") or [], deletions.get("valves_tripped") or []
    if not (deletions.get("pairs_checked") or skipped or valves):
        return []
    window = deletions.get("window") or {}
    lines = [
        f"Deletion check of {deletions.get('pairs_checked', 0)} owner and lead type pairs, leads submitted "
        f"{window.get('start')} to {window.get('end')}: {deletions.get('found', 0)} found deleted on "
        f"LinkedIn and removed, {deletions.get('revoked', 0)} listed again and loaded again."
    ]
    lines += [
        f"  {x['owner']} {x['lead_type']}: not checked ({x['reason']}); the next run tries again"
        for x in skipped
    ]
    lines += [
        f"  {x['owner']} {x['lead_type']}: SAFETY VALVE, {x['missing']} of {x['in_destination']} leads "
        "missing from LinkedIn's listing; nothing deleted (see the warning above)"
        for x in valves
    ]
    return lines


def _where(pipeline: dlt.Pipeline) -> str:
    credentials = pipeline.destination_client().config.credentials
    return str(getattr(credentials, "database", "") or "")
