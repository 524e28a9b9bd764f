"""Leads deleted on LinkedIn, found by the pull: for deployments without the receiver.

At most every ``deletion_check_every_hours``, for each (owner, lead type) this writer reads, the
pull lists what LinkedIn returns for a window fixed once for the run, ``[now -
deletion_check_days, now - lookback_hours)`` (ids and times only), and compares it with the ids
the destination holds for the same owner, lead type, test-lead mode and window. Deleting on a
guess is worse than keeping a lead, so:

- an id missing from the listing is only a candidate: it is deleted when ``GET
  leadFormResponses/{id}`` answers 404 and, in the same check, a GET of a lead the listing did
  return answered 200 (LinkedIn also answers 404 for a restricted API). Any other answer keeps it;
- a pair whose listing is refused, throttled or cut short is skipped for this run;
- the safety valve: when the listing is empty while the destination has leads in the window, or
  when more than ``VALVE_COUNT`` leads and more than ``VALVE_SHARE`` of them are missing, nothing
  is deleted for the pair, and a warning says how to check again;
- a tombstone the pull made is revoked when a later listing returns the lead: it is read again.

The window never reaches back further than ``MAX_DELETION_CHECK_DAYS`` (60): a lead ageing out
of LinkedIn's retention (90 days for some lead types) must never look deleted. Confirmed leads
become tombstones (``tables.deletions``) with ``found_by = 'pull'``, and the run skips them.
"""

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, MutableMapping, Optional, Tuple

from dlt.common import logger
from dlt.common.typing import TDataItem

from ..api.client import LinkedInClient
from ..api.exceptions import LinkedInAPIError, LinkedInPagingLimitError
from ..api.restli import Raw
from ..config.owners import Owner
from ..settings import DELETION_CHECK_FIELDS, LEAD_FORM_RESPONSES_PATH
from ..tables.deletions import (
    FOUND_BY_PULL,
    child_keys,
    deleted_leads,
    leads_in_window,
    purge_deleted,
    revocations,
    tombstones,
)
from ..tables.forms import FormCatalog
from ..tables.lead_tables import UrnIds
from ..tables.names import EntityNames
from ..tables.records import Lead
from .by_id import LeadFetcher, lead_by_id, lead_rows
from .progress import DAY_MS, PROBE_PAGES
from .runs import iso
from .shared import reading_dataset

VALVE_COUNT = 5
VALVE_SHARE = 0.05
"""The safety valve trips when more than this many leads, and this share of the destination's
leads in the window, are missing from LinkedIn's listing."""
MAX_SPLITS = 12
"""How many times a slice refused for its depth (an offset cap) is halved before the pair is skipped."""

Pair = Tuple[str, str]


@dataclass(frozen=True)
class CheckSettings:
    """``deletion_check_days`` (0: off) and ``deletion_check_every_hours`` (0: every run)."""

    days: int
    every_hours: float


def recorded_deletions(pipeline: Any) -> Dict[str, str]:
    """``{id: found_by}`` of the leads recorded deleted, read as the extract starts; their rows that a
    load brought back are removed first (``deletions.purge_deleted``): a writer run by a plain
    ``pipeline.run`` (the Airflow groups) removes them here, at its next run."""
    with reading_dataset(pipeline):
        purge_deleted(pipeline)
        return deleted_leads(pipeline)


def check_window(
    now_ms: int, days: int, lookback_ms: int, read_from: int, read_to: int
) -> Optional[Tuple[int, int]]:
    """The window ``[start, end)`` this run checks, in epoch ms; None when the check is off or empty.

    Never earlier than what the run reads from (``start_date``) nor later than its end, and never
    within the lookback, where leads LinkedIn makes visible late are still arriving.
    """
    if days <= 0:
        return None
    start = max(now_ms - days * DAY_MS, read_from)
    end = min(now_ms - lookback_ms, read_to)
    return (start, end) if start < end else None


def is_due(last_ms: Optional[int], now_ms: int, every_hours: float) -> bool:
    """Whether a pair last checked at ``last_ms`` (None: never) is checked in this run."""
    return last_ms is None or every_hours <= 0 or now_ms - last_ms >= every_hours * 3_600_000


def valve_trips(listed: int, in_destination: int, missing: int) -> bool:
    """Whether the safety valve stops the deletions of a pair (see the module's docstring)."""
    if in_destination and not listed:
        return True
    return missing > VALVE_COUNT and missing > VALVE_SHARE * in_destination


def slices(times: List[int], start: int, end: int, per_slice: int) -> List[Tuple[int, int]]:
    """``[start, end)`` cut so that each piece holds at most ``per_slice`` of the known ``times``."""
    ordered = sorted(t for t in times if start <= t < end)
    bounds = [start]
    for index in range(per_slice, len(ordered), per_slice):
        cut = ordered[index]
        if cut > bounds[-1]:
            bounds.append(cut)
    bounds.append(end)
    return list(itertools.pairwise(bounds))


def budget(leads: int, pieces: int, candidates: int, page_size: int) -> int:
    """The requests a pair's check may make: two per page's worth of leads in the window (short
    pages), one more per extra time slice, one control GET and one GET per candidate."""
    return 2 * max(1, math.ceil(leads / page_size)) + (pieces - 1) + 1 + candidates


@dataclass
class CheckOutcome:
    """What a run's check found, for its tables, its skip set and its metrics."""

    window: Optional[Tuple[int, int]] = None
    checked: List[Pair] = field(default_factory=list)
    confirmed: Dict[str, int] = field(default_factory=dict)
    """Leads found deleted: id -> submitted_at (epoch ms)."""
    revoked: Dict[str, Tuple[Pair, int]] = field(default_factory=dict)
    """Tombstones the pull made whose lead LinkedIn listed again: id -> (pair, submitted_at)."""
    revived: Dict[str, Lead] = field(default_factory=dict)
    """The revoked leads, read again by id."""
    skipped: List[Dict[str, str]] = field(default_factory=list)
    valves: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def earliest(self) -> Optional[int]:
        """The earliest ``submitted_at`` of the rows the check yields (the incremental lets them
        through), None if it yields none."""
        times = list(self.confirmed.values()) + [t for _, t in self.revoked.values()]
        return min(times) if times else None

    def metrics(self) -> Dict[str, Any]:
        """The run's ``deletions`` metrics."""
        return {
            "window": None
            if self.window is None
            else {"start": iso(self.window[0]), "end": iso(self.window[1])},
            "pairs_checked": len(self.checked),
            "found": len(self.confirmed),
            "revoked": len(self.revoked),
            "pairs_skipped": self.skipped,
            "valves_tripped": self.valves,
        }


def check_deletions(
    client: LinkedInClient,
    pipeline: Any,
    owners: Mapping[str, Owner],
    pairs: List[Pair],
    window: Optional[Tuple[int, int]],
    limited: Optional[bool],
    settings: CheckSettings,
    checked_at: MutableMapping[str, Any],
    known_deleted: Mapping[str, str],
) -> CheckOutcome:
    """Checks the pairs that are due (``checked_at``: the writer's state, updated per pair checked).

    Args:
        client: The LinkedIn client.
        pipeline: The running pipeline, whose destination holds the leads compared.
        owners: The run's owners by URN.
        pairs: The run's (owner URN, lead type) pairs.
        window: ``check_window`` for this run.
        limited: The test-lead filter of the run (``limitedToTestLeads``; None: not sent).
        settings: The check's settings.
        checked_at: Per owner URN and lead type, when the last complete check ended (epoch ms).
        known_deleted: ``{id: found_by}`` of ``lead_form_responses_deleted``.

    Returns:
        CheckOutcome: The leads confirmed deleted, the tombstones revoked, pairs skipped, valves.
    """
    outcome = CheckOutcome(window)
    now = int(time.time() * 1000)
    due = [p for p in pairs if is_due((checked_at.get(p[0]) or {}).get(p[1]), now, settings.every_hours)]
    if window is None or not due or pipeline is None:
        return outcome
    with reading_dataset(pipeline):
        in_destination = leads_in_window(pipeline, window[0], window[1], limited)
    for number, pair in enumerate(due):
        owner = owners[pair[0]]
        known = in_destination.get((owner.kind, owner.id, pair[1]), {})
        if not known and FOUND_BY_PULL not in known_deleted.values():
            # nothing to compare and nothing to revoke (a first run): checked, without a request;
            # what this run loads, LinkedIn has just listed
            checked_at.setdefault(pair[0], {})[pair[1]] = now
            continue
        try:
            listed = list_window(client, owner, pair[1], limited, window, known)
            revoked = {i: (pair, t) for i, t in listed.items() if known_deleted.get(i) == FOUND_BY_PULL}
            missing = [i for i in known if i not in listed]
            if valve_trips(len(listed), len(known), len(missing)):
                _trip(outcome, pair, len(listed), len(known), len(missing))
            elif missing:
                deleted, stopped = confirm(client, missing, listed)
                outcome.confirmed.update({i: known[i] for i in deleted})  # kept, even if stopped
                if stopped is not None:
                    raise stopped
        except LinkedInAPIError as exc:
            # not checked: due again at the next run, whenever it was last checked
            not_checked = due[number:] if exc.status == 429 else [pair]  # a quota: the others too
            for urn, lead_type in not_checked:
                (checked_at.get(urn) or {}).pop(lead_type, None)
                reason = f"{exc.status} {exc.message}" if (urn, lead_type) == pair else "LinkedIn's quota"
                outcome.skipped.append({"owner": urn, "lead_type": lead_type, "reason": reason})
            logger.warning(
                f"The deletion check of {pair[0]} ({pair[1]}) was skipped: LinkedIn answered {exc.status} "
                f"({exc.message}). Only leads it confirmed deleted before are removed; the next run "
                "checks it again."
            )
            if exc.status == 429:
                break
            continue
        outcome.revoked.update(revoked)
        outcome.checked.append(pair)
        checked_at.setdefault(pair[0], {})[pair[1]] = now
    if outcome.revoked:
        _read_revoked(client, outcome)
    return outcome


def _read_revoked(client: LinkedInClient, outcome: CheckOutcome) -> None:
    """Reads by id the leads whose tombstone is revoked; a tombstone stays if its lead is not read."""
    try:
        outcome.revived = LeadFetcher(client).fetch(sorted(outcome.revoked))
    except LinkedInAPIError as exc:
        logger.warning(f"Leads LinkedIn lists again could not be read ({exc.status} {exc.message}): next run")
    for lead_id in [i for i in outcome.revoked if i not in outcome.revived]:
        del outcome.revoked[lead_id]


def list_window(
    client: LinkedInClient,
    owner: Owner,
    lead_type: str,
    limited: Optional[bool],
    window: Tuple[int, int],
    known: Mapping[str, int],
) -> Dict[str, int]:
    """``{id: submittedAt}`` of every lead LinkedIn lists for the pair in the window.

    The window is cut where the destination's leads would fill ``PROBE_PAGES`` pages per slice,
    as the pull sizes its slices; a slice refused for its depth is halved. Paging as the pull's
    (``paging``): until an empty page, short pages and repeats handled.

    Raises:
        LinkedInAPIError: If a request failed after its retries, or a slice cannot be cut smaller:
            the listing is not complete.
    """
    per_slice = PROBE_PAGES * client.count(LEAD_FORM_RESPONSES_PATH)
    pending = [(lo, hi, 0) for lo, hi in slices(list(known.values()), window[0], window[1], per_slice)]
    listed: Dict[str, int] = {}
    finder = [("q", "owner"), ("owner", owner.restli), ("leadType", {"leadType": lead_type})]
    while pending:
        lo, hi, splits = pending.pop()
        params = [
            *finder,
            ("limitedToTestLeads", limited),
            # a millisecond earlier, as the pull asks: whether LinkedIn's start is inclusive is not documented
            ("submittedAtTimeRange", {"start": lo - 1, "end": hi}),
            ("fields", Raw(DELETION_CHECK_FIELDS)),
        ]
        try:
            for page in client.get_pages(LEAD_FORM_RESPONSES_PATH, params):
                listed.update({str(e["id"]): int(e.get("submittedAt") or 0) for e in page})
        except LinkedInPagingLimitError:
            middle = (lo + hi) // 2
            if splits >= MAX_SPLITS or middle <= lo:
                raise
            pending += [(lo, middle, splits + 1), (middle, hi, splits + 1)]
    return listed


def confirm(
    client: LinkedInClient, candidates: List[str], listed: Mapping[str, int]
) -> Tuple[List[str], Optional[LinkedInAPIError]]:
    """The candidates LinkedIn confirms deleted: each GET answered 404, after a control GET of a
    listed lead answered 200 (a restricted API answers 404 too). Any other answer keeps the lead.

    Returns:
        Tuple[List[str], Optional[LinkedInAPIError]]: The leads confirmed deleted, and the error
        that stopped the confirmations part-way (LinkedIn's throttling), if any.
    """
    control = min(listed)
    try:
        lead_by_id(client, control, DELETION_CHECK_FIELDS)
    except LinkedInAPIError as exc:
        if exc.status == 429:
            return [], exc
        logger.warning(
            f"A lead LinkedIn listed could not be read by id ({exc.status} {exc.message}): a restricted "
            f"API or a lost permission. None of {len(candidates)} leads missing from the listing is deleted."
        )
        return [], None
    deleted: List[str] = []
    for lead_id in sorted(candidates):
        try:
            lead_by_id(client, lead_id, DELETION_CHECK_FIELDS)
        except LinkedInAPIError as exc:
            if exc.status == 404:
                deleted.append(lead_id)
                continue
            if exc.status == 429:
                return deleted, exc
            logger.warning(
                f"Lead {lead_id} is missing from LinkedIn's listing, but reading it by id failed "
                f"({exc.status} {exc.message}): it is kept."
            )
    return deleted, None


def _trip(outcome: CheckOutcome, pair: Pair, listed: int, known: int, missing: int) -> None:
    outcome.valves.append(
        {"owner": pair[0], "lead_type": pair[1], "missing": missing, "in_destination": known}
    )
    logger.warning(
        f"Deletion check of {pair[0]} ({pair[1]}): LinkedIn listed {listed} leads where the destination "
        f"has {known}, {missing} missing. That looks like LinkedIn's answer, not deletions: nothing is "
        "deleted (the safety valve). To check again at the next run, run it once with "
        "SOURCES__LINKEDIN_LEADS__DELETION_CHECK_EVERY_HOURS=0."
    )


def outcome_tables(
    client: LinkedInClient,
    pipeline: Any,
    catalog: FormCatalog,
    owners: Mapping[str, Owner],
    outcome: CheckOutcome,
    limited: Optional[bool],
    urn_ids: UrnIds,
    names: EntityNames,
) -> Iterator[TDataItem]:
    """The tombstones of the leads found deleted, the revocations of tombstones LinkedIn undid,
    and the rows of those leads, read again."""
    if outcome.confirmed:
        ids = sorted(outcome.confirmed)
        with reading_dataset(pipeline):
            children = child_keys(pipeline, ids)
        now = int(time.time() * 1000)
        times = [outcome.confirmed[i] for i in ids]
        yield from tombstones(ids, [now] * len(ids), now, children, FOUND_BY_PULL, times)
        logger.warning(f"{len(ids)} leads were deleted on LinkedIn (found by the deletion check): removed")
    if outcome.revoked:
        ids = sorted(outcome.revoked)
        yield from revocations(ids, [outcome.revoked[i][1] for i in ids])
        grouped: Dict[Pair, List[Lead]] = {}
        for lead_id in ids:
            grouped.setdefault(outcome.revoked[lead_id][0], []).append(outcome.revived[lead_id])
        for (urn, lead_type), leads in grouped.items():
            yield from lead_rows(
                client, catalog, owners[urn].restli, lead_type, leads, limited, urn_ids, names
            )
        logger.info(f"{len(ids)} leads found deleted before are listed by LinkedIn again: loaded again")
