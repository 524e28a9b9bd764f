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

import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, Iterator, List, MutableMapping, Optional, Sequence, Tuple, Union, cast

import dlt
from dlt.common import logger, pendulum
from dlt.common.time import ensure_pendulum_datetime
from dlt.common.typing import TDataItem
from dlt.extract.incremental import Incremental, IncrementalResourceWrapper
from dlt.extract.items import DataItemWithMeta

from ..api.client import LinkedInClient
from ..api.credentials import expiry_warning
from ..api.exceptions import LinkedInAccessError, LinkedInAPIError, LinkedInLeadsError
from ..api.restli import QueryParams, Raw
from ..config.checks import TestLeads
from ..config.owners import LeadTypesSetting, Owner, discovered_owners
from ..settings import LEAD_FIELDS, LEAD_FORM_RESPONSES_PATH, LEAD_FORMS_PATH, RETENTION_DAYS
from ..tables.forms import FormCatalog, lead_form_row
from ..tables.lead_tables import LeadTableBuilder
from ..tables.pages import PageBatches, look_up_forms, page_tables, resolve_forms
from ..tables.records import decode_lead_rows, form_version_urns
from ..tables.values import from_epoch_ms, to_epoch_ms
from .concurrency import StreamPool, fan_in, system_memory_pool
from .deletion_check import CheckSettings, check_deletions, check_window, outcome_tables, recorded_deletions
from .discovery import discover_accounts, discover_organizations
from .progress import PairProgress, Slice, estimate, plan
from .relabel import pending_since, read_again
from .runs import THROTTLED, Run, SliceEnd, iso
from .shared import (
    active_pipeline,
    question_column_rows,
    shared_question_columns,
    writer_name,
)

TEST_LEAD_FILTER: Dict[TestLeads, Optional[bool]] = {"include": None, "exclude": False, "only": True}
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
    warning = expiry_warning(client.token_expiry(), time.time())  # the token, before any data
    if warning:
        logger.warning(warning)
    state = dlt.current.source_state()
    # question names: this writer's, updated with those every writer reads (`shared`)
    catalog.columns.bind(state.setdefault("question_columns", {}), shared_question_columns(active_pipeline()))
    catalog.stored = state.setdefault("form_versions", {})
    catalog.unresolved.stored = state.setdefault("unresolved_form_versions", {})
    discovered = not owners
    if discovered:  # none configured: every owner the token can read
        accounts = discover_accounts(client)
        organizations = discover_organizations(client)
        logger.info(f"Discovered LinkedIn owners: account_ids={accounts}, organization_ids={organizations}")
        owners = discovered_owners(accounts, organizations, lead_types)
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
class Window:
    """The ``submittedAt`` window a run reads, from the incremental, in epoch ms."""

    start: int
    end: int
    lookback_ms: int
    now: int


def requested_window(incremental: Optional[Incremental[Any]], start_date: pendulum.DateTime) -> Window:
    """The window asked for: ``initial_value`` (else ``start_date``) to ``end_value`` or now.

    The end is taken now, when the extract runs, and never lies in the future: what is read
    is recorded as read. The incremental's ``lag`` (seconds) is the lookback.
    """
    now = pendulum.now("UTC")
    start = _as_datetime(incremental.initial_value) if incremental and incremental.initial_value else None
    end = _as_datetime(incremental.end_value) if incremental and incremental.end_value else None
    lag = float(incremental.lag or 0) if incremental else 0.0
    return Window(
        to_epoch_ms(start or start_date),
        to_epoch_ms(min(end, now) if end else now),
        int(lag * 1000),
        to_epoch_ms(now),
    )


def read_leads(
    listed: Listed,
    client: LinkedInClient,
    catalog: FormCatalog,
    start_date: pendulum.DateTime,
    test_leads: TestLeads,
    concurrency: int,
    skip_inaccessible_owners: bool,
    deletion: CheckSettings,
) -> Iterator[TDataItem]:
    """The leads of every (owner, lead type), read as time slices, concurrently; first the
    deletion check, if due (``deletion_check``).

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
    retention = to_epoch_ms(pendulum.now("UTC").subtract(days=RETENTION_DAYS + 1))
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
        incremental.primary_key = cast(Any, ())  # dlt's setter is typed `str`; () means none
    again = pending_since(catalog, by_urn)  # leads to load again with their version's labels
    pipeline = active_pipeline()
    limited = TEST_LEAD_FILTER[test_leads]
    known_deleted = recorded_deletions(pipeline)
    # before the reads: the leads it finds deleted join those the run skips
    bounds = check_window(window.now, deletion.days, window.lookback_ms, window.start, window.end)
    checks = state.setdefault("deletion_checks", {})
    check = check_deletions(client, pipeline, by_urn, pairs, bounds, limited, deletion, checks, known_deleted)
    checked = [check.earliest] if check.earliest is not None else []
    if incremental is not None and (slices or again is not None or checked):
        # dlt's incremental drops rows before its start value (the newest lead loaded minus the
        # lag); a pair read from further back (added later, or stopped by a quota), a lead
        # loaded again, or a tombstone must pass. Set before the first row is yielded: dlt
        # builds its filter then.
        starts = [s.start for s in slices] + ([again] if again is not None else []) + checked
        incremental.start_value = from_epoch_ms(min(starts) - 1)  # as asked, below
    run = Run(by_urn, progress, skip_inaccessible_owners or listed.discovered, workers)
    if pipeline is not None:  # run by a pipeline, not iterated by hand
        run.progress_view(pipeline.collector, slices)
    run.skipped.update(listed.skipped)
    run.deleted = frozenset((set(known_deleted) - set(check.revoked)) | set(check.confirmed))
    yield from outcome_tables(client, pipeline, catalog, by_urn, check, limited, run.urn_ids, run.names)
    if again is not None:
        yield from read_again(client, catalog, by_urn, limited, run.deleted, run.names, run.urn_ids)
    reader = partial(read_slice, client=client, catalog=catalog, limited=limited, run=run)
    with system_memory_pool(), run.builders, run.probes, StreamPool[Any](workers) as pool:

        def submit(piece: Slice) -> None:
            run.pending[piece] = None
            pool.submit(partial(reader, piece))

        for piece in slices:
            submit(piece)
        batches = PageBatches()  # a few pages' tables at once: dlt's cost is per item
        for item in pool:
            if not isinstance(item, SliceEnd):
                yield from batches.add(item)
                continue
            for child in run.end(item, pool):  # a slice cut in smaller ones
                submit(child)
        yield from batches.flush()
    # the names given in this run, where the other writers of the dataset read them: plain rows
    # without the cursor, let through by the incremental (whoever made it; every lead has one)
    named = question_column_rows(catalog.columns.take_new(), writer_name())
    if named and incremental is not None:
        incremental.on_cursor_value_missing = "include"
    yield from named
    for pair, known in progress.items():
        stored.setdefault(pair[0], {})[pair[1]] = known.to_state()
    left = run.left()
    state["last_run"] = {"stopped": run.stopped, "left": left}
    if left:
        logger.warning(run.describe_left(left))
    dlt.current.resource_metrics().update(
        {
            "leads_read": run.leads_read,
            "window": {"start": iso(window.start), "end": iso(window.end)},
            "first_read": _by_owner(first_read),
            "spans": _spans(slices),
            "owners_skipped": sorted(run.skipped),
            "slices": {"planned": len(slices), "read": run.slices_read, "split": run.slices_split},
            "stopped": run.stopped,
            "left": left,
            "name_lookups": run.names.lookups,
            "token_expiry_warning": expiry_warning(client.token_expiry(), time.time()),
            "unresolved_form_versions": sorted(catalog.unresolved.stored),
            "deletions": check.metrics(),
        }
    )


def read_slice(
    piece: Slice,
    client: LinkedInClient,
    catalog: FormCatalog,
    limited: Optional[bool],
    run: Run,
) -> Iterator[Union[TDataItem, SliceEnd]]:
    """The tables of one slice, page by page, then its ``SliceEnd`` (runs in a worker thread).

    A slice of unknown size whose first page comes back full is probed (``progress.estimate``):
    within ``PROBE_PAGES`` pages it is paged on, that page kept; bigger, it ends at once with
    ``split``, that page dropped (the smaller slices read it again).
    """
    if not run.should_read(piece):
        return
    leads, newest = 0, None
    owner, lead_type = run.owners[piece.pair[0]], piece.pair[1]
    finder = [("q", "owner"), ("owner", owner.restli), ("leadType", {"leadType": lead_type})]
    fetch = partial(client.form_version, finder)
    params = [
        *finder,
        ("limitedToTestLeads", limited),
        # one millisecond earlier: whether LinkedIn's range start is inclusive is not documented
        # (and an end included by LinkedIn only brings one lead twice, merged on id)
        ("submittedAtTimeRange", {"start": piece.start - 1, "end": piece.end}),
        ("fields", Raw(LEAD_FIELDS)),
    ]
    failed: List[Exception] = []

    def look_up(body: bytes) -> None:
        # the versions a body names, looked up before it is decoded: waiting on LinkedIn (or on
        # another reader's lookup of the same version) holds the bytes, not a decoded page
        try:
            look_up_forms(catalog, form_version_urns(body), fetch)
        except Exception as error:  # raised by the reader below, not as an error of the body
            failed.append(error)

    try:
        # a page is held from its decoding to its tables in dlt's queue in one of a few slots
        with run.page_slots.slot() as slot:
            # no enumerate(): it keeps its last (number, page) pair while the next page is read
            first = True
            for page in client.get_leads(params, slot.decoding(decode_lead_rows, before=look_up)):
                if failed:
                    raise failed.pop()
                count = client.count(LEAD_FORM_RESPONSES_PATH)
                if first and not piece.sized and len(page) >= count:
                    leads_in = estimate(_probes(run, client, params), count)
                    if leads_in is not None:
                        del page  # freed before its slot is given back
                        slot.release()
                        yield SliceEnd(piece, 0, None, split=leads_in, page_size=count)
                        return
                first = False
                # versions the body's search missed, and names the leads came without: here, not
                # in the builders, the slot given back
                resolve_forms(catalog, page, fetch, slot.released)
                run.names.look_up(client.get_entity, owner.urn, page, slot.released)
                builder = LeadTableBuilder(catalog, owner.kind, owner.id, fetch, run.urn_ids, run.names)
                built = run.builders.submit(page_tables, builder, page, limited, run.deleted).result()
                del page, builder  # while dlt catches up, the tables are held, not the page
                if built is not None:
                    tables, count, page_newest = built
                    leads += count
                    if newest is None or page_newest > newest:
                        newest = page_newest
                    yield from tables
                    del tables, built
                slot.release()
    except LinkedInAPIError as error:
        if error.status == 429:
            run.stopping = True  # at once: no other slice starts while the consumer catches up
        yield SliceEnd(piece, leads, newest, error)
        return
    yield SliceEnd(piece, leads, newest)


def _probes(run: Run, client: LinkedInClient, params: QueryParams) -> Callable[[Sequence[int]], List[bool]]:
    """Asks whether the query has a lead at each offset, all at once (``progress.estimate``)."""
    ask = partial(client.has_lead_at, params)
    return lambda offsets: list(run.probes.map(ask, offsets))


def current_incremental() -> Optional[Incremental[Any]]:
    """The incremental attached to the running resource (with ``apply_hints``), if any.

    Read here, never declared as an argument: dlt re-binds a transformer's incremental argument
    on each call (dlt issues 2838 and 2429), which would drop older leads of later owners.
    """
    step: Any = dlt.current.resource().incremental
    return step.incremental if isinstance(step, IncrementalResourceWrapper) else step


def check_meta(meta: Any) -> Listed:
    """What the forms listing handed over, or a clear error if it did not."""
    if not isinstance(meta, Listed):
        raise LinkedInLeadsError("lead_form_responses must be fed by the lead_forms resource of this source")
    return meta


def _as_datetime(value: Any) -> pendulum.DateTime:
    return ensure_pendulum_datetime(value)


def _by_owner(pairs: List[Tuple[str, str]]) -> Dict[str, List[str]]:
    grouped: Dict[str, List[str]] = {}
    for urn, lead_type in pairs:
        grouped.setdefault(urn, []).append(lead_type)
    return grouped


def _spans(slices: List[Slice]) -> Dict[str, Dict[str, Dict[str, str]]]:
    """Per owner and lead type, the ``submittedAt`` span this run asked LinkedIn for."""
    spans: Dict[str, Dict[str, Dict[str, str]]] = {}
    bounds: Dict[Tuple[str, str], Tuple[int, int]] = {}
    for piece in slices:
        low, high = bounds.get(piece.pair, (piece.start, piece.end))
        bounds[piece.pair] = (min(low, piece.start), max(high, piece.end))
    for (urn, lead_type), (low, high) in sorted(bounds.items()):
        spans.setdefault(urn, {})[lead_type] = {"start": iso(low), "end": iso(high)}
    return spans
