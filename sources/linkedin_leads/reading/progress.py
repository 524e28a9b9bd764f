"""Progress per (owner, lead type) and the time slices a run reads: pure, no HTTP, no dlt.

What has been read is kept per pair as ``submittedAt`` spans in epoch milliseconds, half-open
``[start, end)``, merged, plus the newest lead read and the pair's observed lead rate. A run
reads, for each pair, the parts of the requested window that no earlier run read, plus the
lookback before the pair's newest lead (leads LinkedIn makes visible late), as time slices.

How slices are sized (and why):

- A pair whose lead rate is not known yet reads each span as one slice: most pairs hold less
  than a page a year, and one query (its page and the empty page) is all they cost.
- A slice of unknown size whose first page comes back full is probed before anything else is
  decided: one lead asked for at ``PROBE_PAGES`` pages in (``count=1``). LinkedIn answering with
  nothing there means the slice holds at most that many pages: it is paged to its end, its first
  page kept, so nothing is read twice. A lead there means it is big: further probes at twice,
  four times, ... the offset, asked at once, bound its size (``estimate``), and it is cut
  (``split``) into slices of about
  ``TARGET_SLICE_PAGES`` pages, equal in time, halved further while the run has fewer than two
  slices per worker (never below a page of leads or ``FILL_MIN_SPAN_MS``). Its first page is then
  the only one read twice. The probes use the same rule the paging trusts, an empty page means
  the end; ``paging.total``, whose meaning LinkedIn does not document, is not used.
- Only a slice read to its empty last page counts as read, so a slice is what a run keeps when
  it has to stop (a daily quota): ``PROBE_PAGES`` pages bound the loss.
- Once a pair's lead rate is known (from the slices it read, kept in the state), its spans are
  planned in slices of about ``TARGET_SLICE_PAGES`` pages (at least an hour), and the fill rule
  applies at planning already. A lookback re-read of a few days stays one query.
- A slice that LinkedIn refuses to page deeper (an offset cap) is halved while it is read,
  down to ``MIN_SPLIT_SPAN_MS`` (see ``resources``). Its halves read its first pages again:
  merged on ``id``, each lead stays once.

So a small pair costs one query per span; a big one the probes, one page read twice, and about
``leads / (5 pages)`` slices, and the fill rule adds at most two per worker for the whole run.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

Span = Tuple[int, int]
"""``[start, end)`` in epoch milliseconds."""

Pair = Tuple[str, str]
"""``(owner URN, lead type)``."""

DAY_MS = 86_400_000
MAX_SLICE_SPAN_MS = 400 * DAY_MS
"""The longest slice planned from a lead rate: all of LinkedIn's retention (pages, not days,
bound what a stopped run reads again)."""
MIN_SLICE_SPAN_MS = 3_600_000
"""The shortest slice planned from a lead rate (one hour)."""
FILL_MIN_SPAN_MS = 7 * DAY_MS
"""Slices shorter than this are not halved just to keep workers busy."""
TARGET_SLICE_PAGES = 5
"""Pages of leads a slice planned from a known lead rate should hold."""
PROBE_PAGES = 2 * TARGET_SLICE_PAGES
"""A slice of unknown size whose first page is full is paged on if LinkedIn has no lead this many
pages in, and cut otherwise."""
MAX_PROBES = 7
"""Probes at PROBE_PAGES, twice that, ... pages: beyond 640 pages a slice counts as that big."""
SLICES_PER_WORKER = 2
MIN_SPLIT_SPAN_MS = 60_000
"""A slice LinkedIn will not page through is halved down to this span (one minute), no further."""


def merge(spans: Iterable[Span]) -> List[Span]:
    """Sorted, non-empty spans with overlapping or touching spans joined."""
    merged: List[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(window: Span, spans: Iterable[Span]) -> List[Span]:
    """The parts of ``window`` that none of ``spans`` covers."""
    start, end = window
    left: List[Span] = []
    for s, e in merge(spans):
        if e <= start or s >= end:
            continue
        if s > start:
            left.append((start, s))
        start = max(start, e)
    if start < end:
        left.append((start, end))
    return left


def halve(span: Span) -> Tuple[Span, Span]:
    """The two halves of ``span``; the first gets the odd millisecond."""
    start, end = span
    middle = start + (end - start + 1) // 2
    return (start, middle), (middle, end)


def cut(span: Span, max_span: int) -> List[Span]:
    """``span`` in equal parts of at most ``max_span``, newest first."""
    start, end = span
    parts = max(1, -(-(end - start) // max(1, max_span)))
    bounds = [start + (end - start) * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in reversed(range(parts))]


@dataclass
class PairProgress:
    """What runs have read of one (owner, lead type)."""

    read: List[Span] = field(default_factory=list)
    """``submittedAt`` spans fully read (every page up to the empty one), merged."""
    newest: Optional[int] = None
    """The newest ``submittedAt`` read, in epoch ms."""
    rate: Optional[float] = None
    """Leads per day seen in the pair's slices (the highest seen), for sizing slices."""

    def to_state(self) -> Dict[str, Any]:
        """A JSON-friendly form for dlt's resource state."""
        return {"read": [list(s) for s in self.read], "newest": self.newest, "rate": self.rate}

    @classmethod
    def from_state(cls, value: Optional[Mapping[str, Any]]) -> "PairProgress":
        """The inverse of ``to_state``; ``None`` is a pair never read."""
        if not value:
            return cls()
        return cls(
            merge((int(s), int(e)) for s, e in value.get("read") or []),
            None if value.get("newest") is None else int(value["newest"]),
            None if value.get("rate") is None else float(value["rate"]),
        )

    def record(self, span: Span, leads: int, newest: Optional[int], complete: bool) -> None:
        """Notes a slice: its span as read if ``complete``, its leads for the rate either way."""
        if complete:
            self.read = merge([*self.read, span])
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest
        days = (span[1] - span[0]) / DAY_MS
        if leads and days > 0:
            rate = leads / days  # a lower bound when the slice was not read to its end
            self.rate = rate if self.rate is None else max(self.rate, rate)

    def to_read(self, window: Span, lookback_ms: int) -> List[Span]:
        """The spans of ``window`` to read: never read, or within the lookback of the newest lead.

        Without a lead read yet, the lookback counts back from the end of what was read.
        """
        start, end = window
        if end <= start:
            return []
        spans = subtract(window, self.read)
        anchor = self.newest if self.newest is not None else (self.read[-1][1] if self.read else None)
        if anchor is not None:
            tail = max(start, anchor - max(0, lookback_ms))
            spans = merge([*spans, (tail, end)])
        return spans

    def max_span(self, page_size: int) -> Optional[int]:
        """The longest slice to plan for this pair; None: not known yet (split on demand)."""
        if not self.rate:
            return None
        span = int(TARGET_SLICE_PAGES * page_size / self.rate * DAY_MS)
        return max(MIN_SLICE_SPAN_MS, min(MAX_SLICE_SPAN_MS, span))

    def trim(self, before: int) -> None:
        """Forgets read spans that end before ``before`` (beyond LinkedIn's retention)."""
        self.read = [(max(s, before), e) for s, e in self.read if e > before]


@dataclass(frozen=True)
class Slice:
    """A ``submittedAt`` span of one (owner, lead type) to read with one paged query."""

    pair: Pair
    start: int
    end: int
    sized: bool = False
    """Planned or cut from a known lead rate: paged to its end, never probed."""

    @property
    def span(self) -> Span:
        return (self.start, self.end)

    def halves(self) -> Tuple["Slice", "Slice"]:
        """The slice in two, newer half first."""
        older, newer = halve(self.span)
        return Slice(self.pair, *newer, self.sized), Slice(self.pair, *older, self.sized)


def fill(by_pair: Dict[Pair, List[Span]], wanted: int, min_span: int = FILL_MIN_SPAN_MS) -> None:
    """Halves the longest span (newer half first) while there are fewer than ``wanted`` spans.

    Never into halves shorter than ``min_span``. Changes ``by_pair`` in place.
    """
    while sum(len(s) for s in by_pair.values()) < wanted:
        longest = max(
            ((pair, i, span) for pair, spans in by_pair.items() for i, span in enumerate(spans)),
            key=lambda item: item[2][1] - item[2][0],
            default=None,
        )
        if longest is None or longest[2][1] - longest[2][0] < 2 * min_span:
            return
        pair, i, span = longest
        older, newer = halve(span)
        by_pair[pair][i : i + 1] = [newer, older]


def estimate(has_leads_at: Callable[[Sequence[int]], List[bool]], page_size: int) -> Optional[int]:
    """How many leads a slice whose first page came back full holds, from probes of one lead;
    None: at most ``PROBE_PAGES`` pages (page it to its end).

    ``has_leads_at(offsets)`` asks LinkedIn for one lead at each offset, at once (True where one
    comes back, or where LinkedIn refuses to page that deep). The first probe is at
    ``PROBE_PAGES`` pages; only when a lead is there are the deeper ones (twice, four times, ...
    as deep) asked, all in one round, so a big slice waits for two answers, not one per doubling.
    The estimate is the middle of the bounds found.
    """
    first = PROBE_PAGES * page_size
    if not has_leads_at([first])[0]:
        return None
    deeper = [first << i for i in range(1, MAX_PROBES)]
    for offset, there in zip(deeper, has_leads_at(deeper), strict=True):
        if not there:
            return offset * 3 // 4
    return deeper[-1] * 2


def split(piece: "Slice", leads: int, page_size: int, busy: int, workers: int) -> List["Slice"]:
    """The slices to read instead of ``piece``, which holds about ``leads``: about
    ``TARGET_SLICE_PAGES`` pages each, equal in time, newest first, halved further while the run
    has fewer than two slices per worker (``busy``: the run's slices not ended yet, this one
    included), never below a page of leads expected or ``FILL_MIN_SPAN_MS``."""
    span = piece.end - piece.start
    parts = max(2, -(-leads // (TARGET_SLICE_PAGES * page_size)))
    longest = max(MIN_SLICE_SPAN_MS, -(-span // parts))
    by_pair = {piece.pair: cut(piece.span, longest)}
    page_span = span * page_size // max(1, leads)
    fill(by_pair, SLICES_PER_WORKER * max(1, workers) - (busy - 1), max(FILL_MIN_SPAN_MS, page_span))
    return [Slice(piece.pair, *part, sized=True) for part in by_pair[piece.pair]]


def plan(
    progress: Mapping[Pair, PairProgress],
    pairs: Sequence[Pair],
    window: Span,
    lookback_ms: int,
    workers: int,
    page_size: int,
) -> List[Slice]:
    """The slices a run reads, in the order to start them.

    Round robin over the pairs, each pair newest first, so that every owner gets its recent
    leads early and one owner's backfill does not hold the others back.
    """
    by_pair: Dict[Pair, List[Span]] = {}
    sized: List[Pair] = []
    for pair in pairs:
        known = progress.get(pair) or PairProgress()
        max_span = known.max_span(page_size)
        spans = known.to_read(window, lookback_ms)
        if max_span is None:
            by_pair[pair] = spans  # split on demand, once a first page shows the pair is big
        else:
            by_pair[pair] = [part for span in spans for part in cut(span, max_span)]
            sized.append(pair)
    unsized = sum(len(spans) for pair, spans in by_pair.items() if pair not in sized)
    fill({pair: by_pair[pair] for pair in sized}, SLICES_PER_WORKER * max(1, workers) - unsized)
    slices: List[Slice] = []
    queues = [list(spans) for spans in by_pair.values()]
    keys = list(by_pair)
    while any(queues):
        for key, queue in zip(keys, queues, strict=True):
            if queue:
                slices.append(Slice(key, *queue.pop(0), sized=key in sized))
    return slices
