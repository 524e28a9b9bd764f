"""The bodies of the source's two resources: the forms listing, and the leads read in slices.

``__init__.py`` wires them into dlt; everything they use comes in as a parameter.

Reading leads: each (owner, lead type) keeps its progress in the resource state of
``lead_form_responses`` (``progress``: the ``submittedAt`` spans fully read, the newest lead,
the lead rate; see ``progress``). A run plans the time slices still to read, reads them
concurrently, and records each slice read to its empty last page. When LinkedIn keeps
throttling (a daily quota), or an owner keeps failing after every retry, the source stops
reading what it cannot read, keeps everything it read, and says what is left: in a warning, in
the extract metrics and in the resource state (``last_run``). The next run continues there.
"""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any, Dict, Iterator, List, Mapping, MutableMapping, Optional, Set, Tuple, Union

import dlt
import pyarrow as pa
from dlt.common import logger, pendulum
from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext
from dlt.common.time import ensure_pendulum_datetime
from dlt.common.typing import TDataItem
from dlt.extract.incremental import Incremental, IncrementalResourceWrapper
from dlt.extract.items import DataItemWithMeta

from .client import LinkedInClient
from .concurrency import StreamPool, fan_in
from .config import LeadTypesSetting, Owner, plan_owners
from .discovery import discover_accounts, discover_organizations
from .exceptions import (
    LinkedInAccessError,
    LinkedInAPIError,
    LinkedInLeadsError,
    LinkedInPagingLimitError,
    LinkedInQuotaError,
)
from .progress import MIN_SPLIT_SPAN_MS, PairProgress, Slice, merge, plan, should_split, split
from .records import Lead
from .restli import Raw
from .rows import FormCatalog, LeadTableBuilder, from_epoch_ms, lead_form_row, to_epoch_ms
from .settings import (
    ANSWERS_TABLE,
    CONSENTS_TABLE,
    FORM_VERSION_FIELDS,
    LEAD_FIELDS,
    LEAD_FORM_RESPONSES_PATH,
    LEAD_FORMS_PATH,
    RETENTION_DAYS,
)

TEST_LEAD_FILTER: Dict[str, Optional[bool]] = {"include": None, "exclude": False, "only": True}
"""``test_leads`` -> LinkedIn's ``limitedToTestLeads`` (None: the parameter is not sent)."""


def list_lead_forms(
    client: LinkedInClient,
    owners: List[Owner],
    lead_types: LeadTypesSetting,
    catalog: FormCatalog,
    concurrency: int,
    skip_inaccessible_owners: bool,
) -> Iterator[DataItemWithMeta]:
    """Every lead form of every owner, listed concurrently, as one batch (the owners as meta).

    With no owner configured, the owners are discovered first. Owners LinkedIn refuses (403)
    fail the run, or are left out of the meta with a warning if ``skip_inaccessible_owners`` or
    if they were discovered (LinkedIn lists ad accounts whose leads the member may not read).
    """
    state = dlt.current.source_state()
    catalog.columns.names = state.setdefault("question_columns", {})
    catalog.stored = state.setdefault("form_versions", {})
    discovered = not owners
    if discovered:  # none configured: every owner the token can read
        accounts: List[Union[int, str]] = list(discover_accounts(client))
        organizations: List[Union[int, str]] = list(discover_organizations(client))
        logger.info(f"Discovered LinkedIn owners: account_ids={accounts}, organization_ids={organizations}")
        owners = plan_owners(accounts, organizations, lead_types, discovered=True)
    skipped: List[Owner] = []

    def listing(owner: Owner) -> Iterator[List[Dict[str, Any]]]:
        params = {"q": "owner", "owner": owner.restli}
        with access_checked(owner, "lead forms", skip_inaccessible_owners or discovered, skipped):
            for page in client.get_pages(LEAD_FORMS_PATH, params):
                yield [lead_form_row(form, catalog.add_listed(form)) for form in page]

    forms = [
        form for batch in fan_in([partial(listing, owner) for owner in owners], concurrency) for form in batch
    ]
    readable = [owner for owner in owners if owner not in skipped]
    # one batch with every readable owner, even one without forms, so that the transformer
    # reads the leads of each (forms may be deleted while their leads remain)
    yield DataItemWithMeta(Listed(readable, [o.urn for o in skipped], discovered), forms)


@dataclass
class Listed:
    """What ``lead_forms`` hands to ``lead_form_responses`` with the forms (dlt's meta)."""

    owners: List[Owner]
    """The owners whose forms LinkedIn listed: their leads are read."""
    skipped: List[str]
    """URNs of owners LinkedIn refused (403), skipped (``skip_inaccessible_owners``, or discovered)."""
    discovered: bool = False
    """Whether the owners were discovered (none configured): a refused one is skipped, not fatal."""


@contextmanager
def access_checked(owner: Owner, resource: str, skip: bool, skipped: List[Owner]) -> Iterator[None]:
    """Turns a 403 into an error naming the owner and the scope, or a warning and a skip."""
    try:
        yield
    except LinkedInAPIError as exc:
        if exc.status != 403:
            raise
        error = LinkedInAccessError(owner.urn, resource, exc)
        if not skip:
            raise error from None
        logger.warning(f"Skipped {owner.urn} ({resource} refused): {error}")
        skipped.append(owner)


@dataclass
class SliceEnd:
    """Sent by a slice's reader after its last table: how far it got."""

    slice: Slice
    leads: int
    newest: Optional[int]
    error: Optional[LinkedInAPIError] = None
    """None: read to its empty last page (unless ``split``)."""
    split: int = 0
    """Not read: its first page came back full (this many leads) and it is to be cut instead."""


@dataclass
class Window:
    """The ``submittedAt`` window a run reads, from the incremental, in epoch ms."""

    start: int
    end: int
    lookback_ms: int


def requested_window(incremental: Optional[Incremental[Any]], start_date: datetime) -> Window:
    """The window asked for: ``initial_value`` (else ``start_date``) to ``end_value`` or now.

    The end is taken now, when the extract runs, and never lies in the future: what is read
    is recorded as read. The incremental's ``lag`` (seconds) is the lookback.
    """
    now = datetime.now(timezone.utc)
    start = _as_datetime(incremental.initial_value) if incremental and incremental.initial_value else None
    end = _as_datetime(incremental.end_value) if incremental and incremental.end_value else None
    lag = float(incremental.lag or 0) if incremental else 0.0
    return Window(
        to_epoch_ms(start or start_date),
        to_epoch_ms(min(end, now) if end else now),
        int(lag * 1000),
    )


def read_leads(
    listed: Listed,
    client: LinkedInClient,
    catalog: FormCatalog,
    start_date: datetime,
    test_leads: str,
    concurrency: int,
    skip_inaccessible_owners: bool,
) -> Iterator[TDataItem]:
    """The leads of every (owner, lead type), read as time slices, concurrently.

    The tables go to dlt as they are read; the progress of each pair is written into the
    resource state as its slices end, and the run's outcome into the extract metrics.
    """
    owners = listed.owners
    incremental = current_incremental()
    window = requested_window(incremental, start_date)
    state = dlt.current.resource_state()
    stored: MutableMapping[str, Any] = state.setdefault("progress", {})
    by_urn = {owner.urn: owner for owner in owners}
    pairs = [(owner.urn, lead_type) for owner in owners for lead_type in owner.lead_types]
    progress = {pair: PairProgress.from_state(stored.get(pair[0], {}).get(pair[1])) for pair in pairs}
    retention = to_epoch_ms(datetime.now(timezone.utc) - timedelta(days=RETENTION_DAYS + 1))
    for known in progress.values():
        known.trim(retention)
    first_read = sorted(pair for pair in pairs if not progress[pair].read)
    # after a run stopped by throttling, slices are read one at a time: a slice stopped
    # half-way is read again, so in-flight slices are what a quota costs
    throttled = ((state.get("last_run") or {}).get("stopped") or {}).get("reason") in THROTTLED
    workers = 1 if throttled else concurrency
    slices = plan(
        progress,
        pairs,
        (window.start, window.end),
        window.lookback_ms,
        workers,
        client.count(LEAD_FORM_RESPONSES_PATH),
    )
    if incremental is not None:
        # leads read twice are merged on id by the destination; dlt's own de-duplication at the
        # window's start would need an `id` column in the answers table too (a user's own
        # incremental, given with apply_hints, gets the same)
        incremental.primary_key = ()  # type: ignore[assignment]  # dlt's setter is typed `str`
    if incremental is not None and slices:
        # dlt's incremental drops rows before its start value (the newest lead loaded minus the
        # lag); a pair read from further back (added later, or stopped by a quota) must pass.
        # Set before the first row is yielded: dlt builds its filter from it then.
        incremental.start_value = from_epoch_ms(min(s.start for s in slices) - 1)  # as asked, below
    run = Run(by_urn, progress, skip_inaccessible_owners or listed.discovered, workers)
    context = Container()[PipelineContext]
    if context.is_active():  # run by a pipeline, not iterated by hand
        run.progress_view(context.pipeline().collector, slices)
    run.skipped.update(listed.skipped)
    reader = partial(
        read_slice, client=client, catalog=catalog, limited=TEST_LEAD_FILTER[test_leads], run=run
    )
    with run.builders, StreamPool[Any](workers) as pool:

        def submit(piece: Slice) -> None:
            run.pending[piece] = None
            pool.submit(partial(reader, piece))

        for piece in slices:
            submit(piece)
        for item in pool:
            if not isinstance(item, SliceEnd):
                yield item
                continue
            for child in run.end(item, pool):  # a slice cut in smaller ones
                submit(child)
    # Arrow's allocator (mimalloc) keeps, per thread, the tables other threads freed: some
    # 100 MB after a backfill, which the load step (DuckDB has its own allocator) adds to
    pa.default_memory_pool().release_unused()
    for pair, known in progress.items():
        stored.setdefault(pair[0], {})[pair[1]] = known.to_state()
    left = run.left()
    state["last_run"] = {"stopped": run.stopped, "left": left}
    if left:
        logger.warning(run.describe_left(left))
    dlt.current.resource_metrics().update(
        {
            "leads_read": run.leads_read,
            "window": {"start": _iso(window.start), "end": _iso(window.end)},
            "first_read": _by_owner(first_read),
            "owners_skipped": sorted(run.skipped),
            "slices": {"planned": len(slices), "read": run.slices_read, "split": run.slices_split},
            "stopped": run.stopped,
            "left": left,
        }
    )


THROTTLED = ("daily_quota", "throttled")
TABLE_BUILDERS = 2
"""Threads that build the Arrow tables of every reader's pages."""


class Run:
    """What the consumer knows of the slices of one run; touched only by the consumer's thread."""

    def __init__(
        self,
        owners: Mapping[str, Owner],
        progress: Dict[Tuple[str, str], PairProgress],
        skip: bool,
        workers: int,
    ):
        self.owners = owners
        self.progress = progress
        self.skip = skip
        self.workers = workers
        self.pending: Dict[Slice, None] = {}
        """Slices submitted and not ended (their spans are left if the run stops)."""
        self.unread: List[Slice] = []
        """Slices that ended before their last page."""
        self.cancelled: Set[Tuple[str, str]] = set()
        """Pairs whose slices not started yet are not read (read by the workers)."""
        self.stopping = False
        self.stopped: Optional[Dict[str, Any]] = None
        self.failures: Dict[Tuple[str, str], str] = {}
        self.skipped: Set[str] = set()
        self.leads_read: Dict[str, Dict[str, int]] = {}
        for urn, lead_type in progress:
            self.leads_read.setdefault(urn, {})[lead_type] = 0
        self.slices_read = 0
        self.slices_split = 0
        self.collector: Any = None
        self.pairs_left: Dict[Tuple[str, str], int] = {}
        self.builders = ThreadPoolExecutor(
            max_workers=TABLE_BUILDERS, thread_name_prefix="linkedin_leads_tables"
        )
        """Where the readers' pages become Arrow tables. Arrow's allocator keeps a heap per thread
        that allocates: building in two threads rather than in every reader took the source's
        peak from about 420 MB to 341 MB with ten readers (100k leads, ``bench/README.md``), at
        no cost in speed (the work holds the GIL either way)."""

    def progress_view(self, collector: Any, slices: List[Slice]) -> None:
        """Shows the run in dlt's progress collector (``progress=`` of the pipeline): pairs done
        of all, slices read of all (splits add to it), leads read, and the slice last read."""
        self.collector = collector
        self.pairs_left = {piece.pair: 0 for piece in slices}
        for piece in slices:
            self.pairs_left[piece.pair] += 1
        collector.update("LinkedIn pairs done", 0, total=len(self.progress))
        collector.update("LinkedIn slices read", 0, total=len(slices))
        collector.update("LinkedIn pairs done", len(self.progress) - len(self.pairs_left))

    def _show(self, item: "SliceEnd", children: int) -> None:
        collector = self.collector
        if collector is None:
            return
        piece = item.slice
        collector.update(
            "LinkedIn slices read",
            0 if children else 1,
            inc_total=children - 1 if children else None,
            message=f"{piece.pair[0]} {piece.pair[1]} {_iso(piece.start)[:10]} to {_iso(piece.end)[:10]}",
        )
        if item.leads:
            collector.update("LinkedIn leads read", item.leads)
        self.pairs_left[piece.pair] = self.pairs_left.get(piece.pair, 0) + children - 1
        if self.pairs_left[piece.pair] <= 0:
            collector.update("LinkedIn pairs done", 1)

    def should_read(self, piece: Slice) -> bool:
        """Whether a slice about to start is still wanted (asked by the workers)."""
        return not self.stopping and piece.pair not in self.cancelled

    def should_split(self, piece: Slice) -> bool:
        """Whether a slice whose first page came back full is cut instead (asked by the workers)."""
        return should_split(piece, len(self.pending), self.workers)

    def end(self, item: SliceEnd, pool: "StreamPool[Any]") -> List[Slice]:
        """Records a slice's end; returns the slices to read instead of it, if any.

        Raises:
            LinkedInLeadsError: For errors no later run can get past by itself.
        """
        children = self._end(item, pool)
        self._show(item, len(children))
        return children

    def _end(self, item: SliceEnd, pool: "StreamPool[Any]") -> List[Slice]:
        piece, error = item.slice, item.error
        self.pending.pop(piece, None)
        urn, lead_type = piece.pair
        if item.split:
            self.progress[piece.pair].record(piece.span, item.split, None, complete=False)
            self.slices_split += 1
            return split(piece, len(self.pending) + 1, self.workers)
        self.leads_read[urn][lead_type] += item.leads
        self.progress[piece.pair].record(piece.span, item.leads, item.newest, complete=error is None)
        if error is None:
            self.slices_read += 1
            return []
        self.unread.append(piece)
        if isinstance(error, LinkedInPagingLimitError):
            if piece.end - piece.start >= 2 * MIN_SPLIT_SPAN_MS:
                self.unread.remove(piece)
                self.slices_split += 1
                return list(piece.halves())
            raise LinkedInAPIError(
                error.status,
                error.code,
                error.message,
                error.url,
                hint=(
                    f"LinkedIn would not page deeper into the leads of {urn} ({lead_type}) even for "
                    f"one minute of submissions ({_iso(piece.start)}): lower `page_size` under "
                    "[sources.linkedin_leads] and report this at the project's issue tracker"
                ),
            )
        if error.status == 403:
            owner = self.owners[urn]
            access = LinkedInAccessError(urn, "leads", error)
            if not self.skip:
                raise access from None
            if urn not in self.skipped:
                logger.warning(f"Skipped {urn} (leads refused): {access}")
            self.skipped.add(urn)
            self.cancelled.update((urn, t) for t in owner.lead_types)
            return []
        if error.status == 429:
            self.stopping = True
            pool.stop()
            if (self.stopped or {}).get("reason") not in THROTTLED:
                quota = isinstance(error, LinkedInQuotaError)
                self.stopped = {
                    "reason": "daily_quota" if quota else "throttled",
                    "message": str(error),
                    "resets_at": _next_midnight() if quota else None,
                }
            return []
        if error.status == 0 or error.status >= 500 or error.code == "INVALID_BODY":
            # LinkedIn kept failing for this pair after every retry: the other pairs go on
            self.failures.setdefault(piece.pair, str(error))
            self.cancelled.add(piece.pair)
            if self.stopped is None:
                self.stopped = {"reason": "errors", "message": str(error), "resets_at": None}
            return []
        raise error

    def left(self) -> List[Dict[str, Any]]:
        """What this run did not read, per (owner, lead type): merged spans, with the reason."""
        spans: Dict[Tuple[str, str], List[Tuple[int, int]]] = {}
        for piece in [*self.pending, *self.unread]:
            if piece.pair[0] in self.skipped:
                continue  # a skipped owner is reported as skipped, and read once accessible
            spans.setdefault(piece.pair, []).append(piece.span)
        left = []
        for pair, pair_spans in sorted(spans.items()):
            reason = "errors" if pair in self.failures else (self.stopped or {}).get("reason", "stopped")
            for start, end in merge(pair_spans):
                left.append(
                    {
                        "owner": pair[0],
                        "lead_type": pair[1],
                        "start": _iso(start),
                        "end": _iso(end),
                        "reason": reason,
                    }
                )
        return left

    def describe_left(self, left: List[Dict[str, Any]]) -> str:
        """The warning a partial run ends with."""
        stopped = self.stopped or {}
        lines = [
            "LinkedIn leads were not all read: everything read so far is kept and loaded, and the "
            "next run continues with what is left:"
        ]
        lines += [f"  {left_line(x)}" for x in left]
        if stopped.get("reason") == "daily_quota":
            lines.append(f"LinkedIn's daily quota is used up; it resets at {stopped['resets_at']}.")
        elif stopped.get("message"):
            lines.append(f"Last error: {stopped['message']}")
        return "\n".join(lines)


def read_slice(
    piece: Slice,
    client: LinkedInClient,
    catalog: FormCatalog,
    limited: Optional[bool],
    run: Run,
) -> Iterator[Union[TDataItem, SliceEnd]]:
    """The tables of one slice, page by page, then its ``SliceEnd`` (runs in a worker thread).

    A slice whose first page comes back full may be cut instead of paged (``Run.should_split``):
    it ends at once with ``split``, its first page dropped (the smaller slices read it again).
    """
    if not run.should_read(piece):
        return
    leads, newest = 0, None
    owner, lead_type = run.owners[piece.pair[0]], piece.pair[1]
    finder = [("q", "owner"), ("owner", owner.restli), ("leadType", {"leadType": lead_type})]
    fetch = partial(fetch_form_version, client, finder)
    params = [
        *finder,
        ("limitedToTestLeads", limited),
        # one millisecond earlier: whether LinkedIn's range start is inclusive is not documented
        # (and an end included by LinkedIn only brings one lead twice, merged on id)
        ("submittedAtTimeRange", {"start": piece.start - 1, "end": piece.end}),
        ("fields", Raw(LEAD_FIELDS)),
    ]
    try:
        for number, page in enumerate(client.get_lead_pages(LEAD_FORM_RESPONSES_PATH, params)):
            full = len(page) >= client.count(LEAD_FORM_RESPONSES_PATH)
            if number == 0 and full and run.should_split(piece):
                yield SliceEnd(piece, 0, None, split=len(page))
                return
            builder = LeadTableBuilder(catalog, owner.kind, owner.id, fetch)
            built = run.builders.submit(page_tables, builder, page, limited).result()
            if built is None:
                continue
            tables, count, page_newest = built
            leads += count
            if newest is None or page_newest > newest:
                newest = page_newest
            yield from tables
    except LinkedInAPIError as error:
        if error.status == 429:
            run.stopping = True  # at once: no other slice starts while the consumer catches up
        yield SliceEnd(piece, leads, newest, error)
        return
    yield SliceEnd(piece, leads, newest)


def page_tables(
    builder: LeadTableBuilder, page: List[Lead], limited: Optional[bool]
) -> Optional[Tuple[List[TDataItem], int, int]]:
    """One page of leads as Arrow tables (leads, answers, consents), its leads and its newest.

    ``limited`` is the test-lead filter (None: all, False: real leads only, True: test leads
    only); None is returned when no lead of the page passes it.
    """
    add = builder.add
    if limited is None:
        for lead in page:
            add(lead)
    else:  # LinkedIn's filter is applied again: `false` may not exclude test leads
        for lead in page:
            if bool(lead.test_lead) is limited:
                add(lead)
    if not builder.count:
        return None
    newest = max(builder.fixed["submitted_at"])
    leads, answers, consents = builder.tables()
    tables: List[TDataItem] = [
        leads,
        dlt.mark.with_hints(
            answers,
            dlt.mark.make_hints(table_name=ANSWERS_TABLE, primary_key=["lead_id", "question_id"]),
            create_table_variant=True,
        ),
    ]
    if consents.num_rows:
        tables.append(
            dlt.mark.with_hints(
                consents,
                dlt.mark.make_hints(table_name=CONSENTS_TABLE, primary_key=["lead_id", "consent_id"]),
                create_table_variant=True,
            )
        )
    return tables, builder.count, newest


def fetch_form_version(
    client: LinkedInClient, finder: List[Any], form_id: int, version: int
) -> Optional[Dict[str, Any]]:
    """The form version as submitted, projected into one lead of that version (or None)."""
    urn = f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version})"
    body = client.get(
        LEAD_FORM_RESPONSES_PATH,
        [
            *finder,
            ("versionedLeadGenFormUrn", urn),
            ("fields", Raw(FORM_VERSION_FIELDS)),
            ("start", 0),
            ("count", 1),
        ],
    )
    for element in body.get("elements") or []:
        form = element.get("form")
        return form if isinstance(form, dict) else None
    return None


def current_incremental() -> Optional[Incremental[Any]]:
    """The incremental attached to the running resource (with ``apply_hints``), if any.

    Read here, never declared as an argument: dlt re-binds a transformer's incremental argument
    on each call (dlt issues 2838 and 2429), which would drop older leads of later owners.
    """
    step: Any = dlt.current.resource().incremental
    return step.incremental if isinstance(step, IncrementalResourceWrapper) else step


def left_line(item: Mapping[str, Any]) -> str:
    """One item of ``work_left`` (or of the metrics' ``left``) as a line a person reads."""
    return f"{item['owner']} {item['lead_type']}: {item['start']} to {item['end']} ({item['reason']})"


def work_left(pipeline: Any) -> List[Dict[str, Any]]:
    """What the pipeline's last run of this source did not read (empty when it read everything).

    Read from the pipeline state (``last_run`` in the resource state of ``lead_form_responses``),
    so it also works in a later process after ``pipeline.sync_destination()``. Each item names
    the ``owner``, the ``lead_type``, the ``start`` and ``end`` of the span and the ``reason``.
    """
    sources = pipeline.state.get("sources", {})
    resource = sources.get("linkedin_leads", {}).get("resources", {}).get("lead_form_responses", {})
    left: List[Dict[str, Any]] = (resource.get("last_run") or {}).get("left") or []
    return left


def check_meta(meta: Any) -> Listed:
    """What the forms listing handed over, or a clear error if it did not."""
    if not isinstance(meta, Listed):
        raise LinkedInLeadsError("lead_form_responses must be fed by the lead_forms resource of this source")
    return meta


def _as_datetime(value: Union[str, date, datetime, Any]) -> datetime:
    parsed: datetime = ensure_pendulum_datetime(value)
    return parsed


def _iso(ms: int) -> str:
    return from_epoch_ms(ms).isoformat()


def _next_midnight() -> str:
    now = pendulum.now("UTC")
    return str(now.add(days=1).start_of("day").isoformat())


def _by_owner(pairs: List[Tuple[str, str]]) -> Dict[str, List[str]]:
    grouped: Dict[str, List[str]] = {}
    for urn, lead_type in pairs:
        grouped.setdefault(urn, []).append(lead_type)
    return grouped
