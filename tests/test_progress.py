"""Span arithmetic, per-pair progress and slice planning (pure: no HTTP, no dlt)."""

from typing import Callable, List, Sequence

import pytest

from linkedin_leads.reading.progress import (
    DAY_MS,
    FILL_MIN_SPAN_MS,
    MAX_SLICE_SPAN_MS,
    MIN_SLICE_SPAN_MS,
    PROBE_PAGES,
    Pair,
    PairProgress,
    Slice,
    Span,
    cut,
    estimate,
    halve,
    merge,
    plan,
    split,
    subtract,
)

A: Pair = ("urn:li:sponsoredAccount:1", "SPONSORED")
B: Pair = ("urn:li:organization:2", "EVENT")


@pytest.mark.parametrize(
    "spans,merged",
    [
        ([], []),
        ([(5, 5)], []),
        ([(5, 9), (1, 3)], [(1, 3), (5, 9)]),
        ([(1, 3), (3, 6)], [(1, 6)]),
        ([(1, 10), (2, 3), (9, 12)], [(1, 12)]),
    ],
)
def test_merge(spans: List[Span], merged: List[Span]) -> None:
    assert merge(spans) == merged


@pytest.mark.parametrize(
    "window,spans,left",
    [
        ((0, 10), [], [(0, 10)]),
        ((0, 10), [(0, 10)], []),
        ((0, 10), [(2, 4), (6, 8)], [(0, 2), (4, 6), (8, 10)]),
        ((0, 10), [(-5, 3), (8, 20)], [(3, 8)]),
        ((0, 10), [(20, 30)], [(0, 10)]),
        ((5, 5), [], []),
    ],
)
def test_subtract(window: Span, spans: List[Span], left: List[Span]) -> None:
    assert subtract(window, spans) == left


def test_halve_and_cut_cover_the_span_exactly() -> None:
    assert halve((0, 5)) == ((0, 3), (3, 5))
    parts = cut((0, 100), 30)
    assert parts == [(75, 100), (50, 75), (25, 50), (0, 25)]  # newest first, equal parts
    assert merge(parts) == [(0, 100)]
    assert cut((0, 10), 10) == [(0, 10)]


def test_progress_round_trips_through_the_state() -> None:
    progress = PairProgress([(0, 10), (20, 30)], newest=25, rate=12.5)
    assert PairProgress.from_state(progress.to_state()) == progress
    assert PairProgress.from_state(None) == PairProgress()
    # JSON turns tuples into lists and may hand numbers back as floats or strings
    assert (
        PairProgress.from_state({"read": [["20", 30.0], [0, 10]], "newest": "25", "rate": 12.5}) == progress
    )


def test_record_keeps_only_slices_read_to_their_end() -> None:
    progress = PairProgress()
    progress.record((0, DAY_MS), leads=10, newest=500, complete=True)
    progress.record((DAY_MS, 2 * DAY_MS), leads=40, newest=DAY_MS + 9, complete=False)
    assert progress.read == [(0, DAY_MS)]
    assert progress.newest == DAY_MS + 9  # its leads were kept and loaded all the same
    assert progress.rate == 40  # per day; a lower bound for the unfinished slice


def test_to_read_is_the_unread_window_plus_the_lookback() -> None:
    never = PairProgress()
    assert never.to_read((0, 100), lookback_ms=10) == [(0, 100)]
    read = PairProgress([(0, 80)], newest=70)
    assert read.to_read((0, 100), lookback_ms=10) == [(60, 100)]  # 10 before the newest lead
    assert read.to_read((0, 100), lookback_ms=0) == [(70, 100)]
    # a fixed window read already: only the lookback tail that falls in it
    assert read.to_read((0, 50), lookback_ms=10) == []
    # a lead type with no lead yet: the lookback counts from the end of what was read
    empty = PairProgress([(0, 80)])
    assert empty.to_read((0, 100), lookback_ms=10) == [(70, 100)]
    # a gap left by a run that stopped, and an earlier start_date
    holes = PairProgress([(20, 40), (60, 90)], newest=85)
    assert holes.to_read((0, 100), lookback_ms=5) == [(0, 20), (40, 60), (80, 100)]


def test_slice_size_follows_the_lead_rate_within_bounds() -> None:
    assert PairProgress().max_span(1000) is None  # not known: split on demand
    assert PairProgress(rate=1000.0).max_span(1000) == 5 * DAY_MS  # five pages of 1000 leads
    assert PairProgress(rate=1e9).max_span(1000) == MIN_SLICE_SPAN_MS
    assert PairProgress(rate=0.01).max_span(1000) == MAX_SLICE_SPAN_MS


def test_a_pair_of_unknown_rate_is_one_query_per_span() -> None:
    """Most pairs hold less than a page a year: one query (its page and the empty page) each."""
    year = (0, 365 * DAY_MS)
    slices = plan({}, [A, B], year, 0, workers=10, page_size=1000)
    assert [(s.pair, s.span) for s in slices] == [(A, year), (B, year)]


def test_a_full_first_page_is_probed_before_the_slice_is_cut() -> None:
    rounds: List[List[int]] = []

    def has_leads_at(leads: int) -> Callable[[Sequence[int]], List[bool]]:
        def probe(offsets: Sequence[int]) -> List[bool]:
            rounds.append(list(offsets))
            return [offset < leads for offset in offsets]

        return probe

    # at most PROBE_PAGES pages: paged on, after one probe
    assert estimate(has_leads_at(9_999), 1000) is None and rounds == [[PROBE_PAGES * 1000]]
    rounds.clear()
    # bigger: the deeper probes in one round; the middle of the bounds found
    assert estimate(has_leads_at(35_000), 1000) == 30_000
    assert rounds == [[10_000], [20_000, 40_000, 80_000, 160_000, 320_000, 640_000]]
    # every probe found one: at least that
    assert estimate(lambda offsets: [True] * len(offsets), 1000) == 1_280_000


def test_a_big_slice_is_cut_into_slices_of_about_five_pages() -> None:
    year = Slice(A, 0, 365 * DAY_MS)
    parts = split(year, 50_000, 1000, busy=40, workers=10)  # every worker busy: no finer cut
    assert len(parts) == 10 and all(p.sized for p in parts)
    assert merge(s.span for s in parts) == [year.span]  # every millisecond, once
    assert parts[0].end == year.end and parts[1].end == parts[0].start  # newest first


def test_one_big_pair_is_cut_finer_to_keep_every_worker_busy() -> None:
    year = Slice(A, 0, 360 * DAY_MS)
    parts = split(year, 200_000, 1000, busy=1, workers=10)
    assert len(parts) == 40  # five pages each: already two per worker
    parts = split(year, 30_000, 1000, busy=1, workers=10)
    assert len(parts) == 20  # halved to two per worker
    assert merge(s.span for s in parts) == [year.span]
    assert min(s.end - s.start for s in parts) >= FILL_MIN_SPAN_MS
    # never below a page of leads expected
    parts = split(year, 12_000, 1000, busy=1, workers=10)
    assert len(parts) <= 12 and min(s.end - s.start for s in parts) >= 360 * DAY_MS // 12 // 2


def test_a_run_with_nothing_new_makes_one_query_per_pair() -> None:
    now = 400 * DAY_MS
    progress = {
        A: PairProgress([(0, now - 3_600_000)], newest=now - 5 * 3_600_000),
        B: PairProgress([(0, now - 3_600_000)], newest=now - 10 * DAY_MS),  # quiet for 10 days
    }
    slices = plan(progress, [A, B], (35 * DAY_MS, now), DAY_MS, workers=10, page_size=1000)
    # the lookback before each pair's newest lead, up to now, each one query (not cut to fill workers)
    assert [(s.pair, s.span) for s in slices] == [
        (A, (now - 5 * 3_600_000 - DAY_MS, now)),
        (B, (now - 11 * DAY_MS, now)),
    ]


def test_a_known_rate_plans_smaller_slices() -> None:
    progress = {A: PairProgress([(300 * DAY_MS, 360 * DAY_MS)], newest=359 * DAY_MS, rate=2000.0)}
    slices = plan(progress, [A], (0, 360 * DAY_MS), 0, workers=1, page_size=1000)
    gap = [s for s in slices if s.end <= 300 * DAY_MS]
    assert len(gap) == 120 and all(s.end - s.start == int(2.5 * DAY_MS) for s in gap)


def test_slices_halve_newer_half_first() -> None:
    piece = Slice(A, 0, 10)
    assert [s.span for s in piece.halves()] == [(5, 10), (0, 5)]
