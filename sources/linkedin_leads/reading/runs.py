"""What one run of ``lead_form_responses`` knows of its slices, and what it reports.

The consumer of the slice readers (``resources.read_leads``) keeps a ``Run``: the slices
pending, how each ended (``SliceEnd``), which to cut or stop, and, at the end, what is left
per (owner, lead type) and why. ``left.work_left`` reads that back from a pipeline's state.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Set, Tuple

from dlt.common import logger, pendulum

from ..api.exceptions import (
    LinkedInAccessError,
    LinkedInAPIError,
    LinkedInPagingLimitError,
    LinkedInQuotaError,
)
from ..config.owners import Owner
from ..tables.lead_tables import UrnIds
from ..tables.names import EntityNames
from ..tables.values import from_epoch_ms
from .concurrency import PageSlots, StreamPool
from .left import left_line
from .progress import MAX_PROBES, MIN_SPLIT_SPAN_MS, PairProgress, Slice, merge, split


@dataclass
class SliceEnd:
    """Sent by a slice's reader after its last table: how far it got."""

    piece: Slice
    leads: int
    newest: Optional[int]
    error: Optional[LinkedInAPIError] = None
    """None: read to its empty last page (unless ``split``)."""
    split: int = 0
    """Not read: its first page came back full, probes say it holds about this many leads, and it
    is to be cut instead (``progress.estimate``)."""
    page_size: int = 0
    """The ``count`` its pages were asked with (for sizing the slices cut from it)."""


THROTTLED = ("daily_quota", "throttled")
TABLE_BUILDERS = 2
"""Threads that build the Arrow tables of every reader's pages."""
DECODED_PAGES = TABLE_BUILDERS
"""Pages held decoded (or as tables not yet queued) at once, whatever the number of readers: one
for each table builder (``concurrency.PageSlots``). Three measured the same speed and 13 MB more."""


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
        self.deleted: AbstractSet[str] = frozenset()
        """Ids of leads deleted on LinkedIn, left out (``deletions``)."""
        self.urn_ids: UrnIds = {None: None}
        """URN -> id, shared by the run's table builders."""
        self.names = EntityNames()
        """Owner, campaign and creative names looked up for leads without decorations."""
        self.builders = ThreadPoolExecutor(
            max_workers=TABLE_BUILDERS, thread_name_prefix="linkedin_leads_tables"
        )
        """Where the readers' pages become Arrow tables. Arrow's allocator keeps a heap per thread
        that allocates, so a few builders hold less memory than one per reader, at no cost in
        speed: the work holds the GIL either way (measured in ``bench/README.md``)."""

        self.probes = ThreadPoolExecutor(max_workers=MAX_PROBES, thread_name_prefix="linkedin_leads_probes")
        """Where a big slice's size probes are asked at once (``progress.estimate``)."""
        self.page_slots = PageSlots(DECODED_PAGES)
        """Bounds the pages the readers hold decoded at once (``concurrency.PageSlots``)."""

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
        piece = item.piece
        collector.update(
            "LinkedIn slices read",
            0 if children else 1,
            inc_total=children - 1 if children else None,
            message=f"{piece.pair[0]} {piece.pair[1]} {iso(piece.start)[:10]} to {iso(piece.end)[:10]}",
        )
        if item.leads:
            collector.update("LinkedIn leads read", item.leads)
        self.pairs_left[piece.pair] = self.pairs_left.get(piece.pair, 0) + children - 1
        if self.pairs_left[piece.pair] <= 0:
            collector.update("LinkedIn pairs done", 1)

    def should_read(self, piece: Slice) -> bool:
        """Whether a slice about to start is still wanted (asked by the workers)."""
        return not self.stopping and piece.pair not in self.cancelled

    def end(self, item: SliceEnd, pool: "StreamPool[Any]") -> List[Slice]:
        """Records a slice's end; returns the slices to read instead of it, if any.

        Raises:
            LinkedInLeadsError: For errors no later run can get past by itself.
        """
        children = self._end(item, pool)
        self._show(item, len(children))
        return children

    def _end(self, item: SliceEnd, pool: "StreamPool[Any]") -> List[Slice]:
        piece, error = item.piece, item.error
        self.pending.pop(piece, None)
        urn, lead_type = piece.pair
        if item.split:
            self.progress[piece.pair].record(piece.span, item.split, None, complete=False)
            self.slices_split += 1
            return split(piece, item.split, item.page_size, len(self.pending) + 1, self.workers)
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
                    f"one minute of submissions ({iso(piece.start)}): lower `page_size` under "
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
                        "start": iso(start),
                        "end": iso(end),
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


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 text in UTC."""
    return from_epoch_ms(ms).isoformat()


def _next_midnight() -> str:
    now = pendulum.now("UTC")
    return str(now.add(days=1).start_of("day").isoformat())
