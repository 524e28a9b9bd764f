"""Leads deleted on LinkedIn, found by the pull's deletion check (no receiver), safely.

Every test loads through real HTTP from the emulator into DuckDB (and PostgreSQL where marked)
and checks the three lead tables by SQL.
"""

import math
import random
from typing import Any, Callable, Dict, List, Set, Tuple

import dlt
import pytest

from linkedin_leads.commands.run import lead_metrics
from linkedin_leads.emulator import Dataset, Fault, Lead, LinkedInEmulator, generate
from linkedin_leads.reading.deletion_check import budget, check_window, is_due, slices, valve_trips
from linkedin_leads.settings import DELETION_CHECK_FIELDS

from .conftest import DAILY_QUOTA_BODY, NOW_MS, make_source, run_once, sql

DAY_MS = 86_400_000
LOOKBACK_MS = 24 * 3_600_000
NOT_FOUND = {"status": 404, "code": "NOT_FOUND", "message": "Could not find entity"}


def deletion_data(leads: int = 1500, days: int = 120, seed: int = 11) -> Dataset:
    return generate(NOW_MS, accounts=2, organizations=1, forms_per_owner=2, leads=leads, days=days, seed=seed)


def aged(emulator: LinkedInEmulator, low_days: float, high_days: float) -> List[Lead]:
    """Leads submitted between ``low_days`` and ``high_days`` ago, in id order."""
    return sorted(
        (
            x
            for x in emulator.data.leads
            if NOW_MS - high_days * DAY_MS <= x.submitted_at < NOW_MS - low_days * DAY_MS
        ),
        key=lambda x: x.id,
    )


def spread(leads: List[Lead], count: int, per_pair: int = 2) -> List[Lead]:
    """``count`` leads, at most ``per_pair`` of each (owner, lead type): no safety valve trips."""
    chosen: List[Lead] = []
    taken: Dict[Tuple[int, str], int] = {}
    for lead in random.Random(5).sample(leads, len(leads)):
        pair = (lead.owner_id, lead.lead_type)
        if taken.get(pair, 0) < per_pair and len(chosen) < count:
            taken[pair] = taken.get(pair, 0) + 1
            chosen.append(lead)
    assert len(chosen) == count
    return chosen


def deleted_unnotified(
    emulator: LinkedInEmulator, count: int, per_pair: int = 1, days: Tuple[float, float] = (2, 20)
) -> List[Lead]:
    """``count`` leads submitted ``days`` ago (at most ``per_pair`` of each owner and lead type),
    deleted on LinkedIn without a notification: only the pull's check can find them."""
    gone = spread(aged(emulator, *days), count, per_pair)
    for lead in gone:
        emulator.notifications.delete_lead(lead, notify=False)
    return gone


def ids_of(pipeline: dlt.Pipeline, table: str = "lead_form_responses", key: str = "id") -> List[str]:
    return [str(r[0]) for r in sql(pipeline, f"SELECT {key} FROM {table}")]


def tombstoned(pipeline: dlt.Pipeline) -> Dict[str, str]:
    return {
        str(r[0]): str(r[1]) for r in sql(pipeline, "SELECT id, found_by FROM lead_form_responses_deleted")
    }


def assert_exactly(pipeline: dlt.Pipeline, emulator: LinkedInEmulator, absent: Set[str]) -> None:
    """Every lead LinkedIn keeps, but ``absent``, is in the three tables once, with each answer."""
    expected = sorted(x.id for x in emulator.visible_leads() if x.id not in absent)
    assert sorted(ids_of(pipeline)) == expected
    answers = ids_of(pipeline, "lead_form_responses__answers", "lead_id")
    assert set(answers) == {
        x.id for x in emulator.visible_leads() if x.id not in absent and x.entity["formResponse"]["answers"]
    }
    rows = sql(
        pipeline, "SELECT count(*), count(DISTINCT (lead_id, question_id)) FROM lead_form_responses__answers"
    )
    assert rows[0][0] == rows[0][1]
    assert not set(ids_of(pipeline, "lead_form_responses__consents", "lead_id")) & absent


def listing_calls(emulator: LinkedInEmulator) -> int:
    return sum(
        1
        for r in emulator.requests
        if r.path == "/rest/leadFormResponses" and DELETION_CHECK_FIELDS in r.query
    )


def get_calls(emulator: LinkedInEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path.startswith("/rest/leadFormResponses/"))


def pair_counts(
    emulator: LinkedInEmulator, start: int, end: int, skip: Set[str]
) -> Dict[Tuple[int, str], int]:
    counts: Dict[Tuple[int, str], int] = {}
    for lead in emulator.visible_leads():
        if start <= lead.submitted_at < end and lead.id not in skip:
            key = (lead.owner_id, lead.lead_type)
            counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture
def deleting() -> Any:
    with LinkedInEmulator(deletion_data()) as emulator:
        yield emulator


@pytest.mark.parametrize("destination", ["duckdb", "postgres"])
def test_leads_deleted_in_the_window_leave_and_older_ones_stay(
    make_pipeline: Callable[..., dlt.Pipeline], deleting: LinkedInEmulator, destination: str, request: Any
) -> None:
    emulator = deleting
    if destination == "postgres":
        url = request.getfixturevalue("postgres_url")
        name = f"pgdel{random.randint(0, 10**6)}"
        pipeline = dlt.pipeline(
            pipeline_name=name, destination=dlt.destinations.postgres(url), dataset_name=f"{name}_data"
        )
        pipeline.run(make_source(emulator))
    else:
        pipeline = run_once(make_pipeline, emulator)
    assert listing_calls(emulator) == 0  # nothing in the destination yet: nothing to compare
    recent = deleted_unnotified(emulator, 8, per_pair=2)
    deleted_unnotified(emulator, 6, per_pair=2, days=(35, 110))  # older than the window
    in_window = pair_counts(emulator, NOW_MS - 30 * DAY_MS, NOW_MS - LOOKBACK_MS, set())
    emulator.reset_log()

    pipeline.run(make_source(emulator))  # checked by the first run (nothing to compare): not due yet
    assert listing_calls(emulator) == 0 and set(ids_of(pipeline)) >= {x.id for x in recent}
    emulator.reset_log()
    pipeline.run(make_source(emulator, deletion_check_every_hours=0))

    gone = {x.id for x in recent}
    assert_exactly(pipeline, emulator, gone)  # the 6 older ones stay: outside the window
    assert tombstoned(pipeline) == {lead_id: "pull" for lead_id in gone}
    deletions = lead_metrics(pipeline)["deletions"]
    assert deletions["found"] == 8 and deletions["pairs_checked"] == len(in_window)
    assert not deletions["pairs_skipped"] and not deletions["valves_tripped"]
    # the budget: per pair 2 x max(1, ceil(leads / 1,000)) listing requests (one slice each here),
    # one control GET, one GET per candidate
    allowed = sum(budget(count, 1, 0, 1000) for count in in_window.values())
    assert listing_calls(emulator) + get_calls(emulator) <= allowed + len(gone)
    with_candidates = {(x.owner_id, x.lead_type) for x in recent}
    assert get_calls(emulator) == len(with_candidates) + len(gone)  # a control per pair + each candidate

    # a no-op run (checked again at once) deletes nothing more, and brings nothing back
    pipeline.run(make_source(emulator, deletion_check_every_hours=0))
    assert_exactly(pipeline, emulator, gone)
    assert set(tombstoned(pipeline)) == gone


def test_the_check_is_pure_where_it_can_be() -> None:
    assert check_window(100 * DAY_MS, 30, LOOKBACK_MS, 0, 100 * DAY_MS) == (
        70 * DAY_MS,
        100 * DAY_MS - LOOKBACK_MS,
    )
    assert check_window(100 * DAY_MS, 30, LOOKBACK_MS, 90 * DAY_MS, 100 * DAY_MS)[0] == 90 * DAY_MS  # type: ignore[index]
    assert check_window(100 * DAY_MS, 0, LOOKBACK_MS, 0, 100 * DAY_MS) is None
    assert check_window(100 * DAY_MS, 1, 2 * DAY_MS, 0, 100 * DAY_MS) is None
    assert is_due(None, 5, 24) and is_due(1, 2, 0) and not is_due(0, 3_600_000, 24)
    assert is_due(0, 24 * 3_600_000, 24)
    assert valve_trips(0, 1, 1) and not valve_trips(0, 0, 0)
    assert not valve_trips(100, 105, 5) and not valve_trips(1000, 1200, 60)  # 5%: not more
    assert valve_trips(100, 110, 6) and valve_trips(1000, 1200, 61)
    assert slices([1, 2, 3, 4, 5], 0, 10, 2) == [(0, 3), (3, 5), (5, 10)]
    assert slices([], 0, 10, 2) == [(0, 10)]
    assert budget(0, 1, 0, 1000) == 3 and budget(2500, 3, 4, 1000) == 6 + 2 + 1 + 4
    assert math.ceil(2500 / 1000) == 3


def check_listing(**fault: Any) -> Fault:
    """A fault on the deletion check's listing only (its projection), not on the pull's reads."""
    return Fault(path="/rest/leadFormResponses", query=f"fields={DELETION_CHECK_FIELDS}", **fault)


EMPTY_PAGE = {"elements": [], "paging": {"start": 0, "count": 1000, "total": 0}}


@pytest.mark.parametrize(
    "case",
    ["restricted_api", "listing_refused", "listing_cut_short", "listing_empty", "get_fails", "quota"],
)
def test_nothing_is_deleted_on_a_doubtful_answer(
    make_pipeline: Callable[..., dlt.Pipeline], deleting: LinkedInEmulator, dlt_log: List[str], case: str
) -> None:
    emulator = deleting
    pipeline = run_once(make_pipeline, emulator)
    gone = deleted_unnotified(emulator, 3)
    kept = {x.id for x in gone}
    if case == "restricted_api":  # LinkedIn's 404 for a restricted API, on every GET
        emulator.inject(Fault(path="/rest/leadFormResponses/", status=404, body=NOT_FOUND, times=10**6))
    elif case == "listing_refused":
        emulator.inject(
            check_listing(status=403, body={"status": 403, "message": "Not enough permissions"}, times=10**6)
        )
    elif case == "listing_cut_short":  # the first page, then 500 on every attempt
        emulator.inject(check_listing(status=500, body={"status": 500}, times=10**6, after=1))
    elif case == "listing_empty":  # LinkedIn suddenly returns nothing
        emulator.inject(check_listing(status=200, body=EMPTY_PAGE, times=10**6))
    elif case == "get_fails":  # one lead's GET fails with 5xx on every attempt: it alone is kept
        emulator.inject(Fault(path=f"/rest/leadFormResponses/{gone[0].id}", status=503, body={}, times=10**6))
        kept = {gone[0].id}
    else:  # the daily quota, from the check's first request on
        emulator.inject(check_listing(status=429, body=DAILY_QUOTA_BODY, times=10**6))

    pipeline.run(make_source(emulator, page_size=100, deletion_check_every_hours=0))

    assert_exactly(pipeline, emulator, {x.id for x in gone} - kept)
    deletions = lead_metrics(pipeline)["deletions"]
    assert deletions["found"] == 3 - len(kept)
    if case in ("listing_refused", "listing_cut_short", "quota"):
        assert deletions["pairs_skipped"] and "was skipped" in "\n".join(dlt_log)
    if case == "listing_empty":
        assert deletions["valves_tripped"] and "safety valve" in "\n".join(dlt_log)
        assert "DELETION_CHECK_EVERY_HOURS=0" in "\n".join(dlt_log)
    if case == "restricted_api":
        assert "restricted" in "\n".join(dlt_log)
    if case == "get_fails":
        assert f"Lead {gone[0].id} is missing" in "\n".join(dlt_log)


def test_leads_ageing_out_of_retention_are_never_deleted(make_pipeline: Callable[..., dlt.Pipeline]) -> None:
    """LinkedIn keeps some lead types 90 days: with the widest check (60 days), a lead it stops
    keeping (gone from listings, 404 by id in the emulator) is never in the window."""
    data = deletion_data(days=95)
    clock = [NOW_MS]
    retention = dict.fromkeys(("SPONSORED", "COMPANY", "EVENT", "ORGANIZATION_PRODUCT"), 90)
    with LinkedInEmulator(data, retention_days=retention, now=lambda: clock[0]) as emulator:
        pipeline = run_once(make_pipeline, emulator, deletion_check_days=60)
        before = set(ids_of(pipeline))
        clock[0] += 29 * DAY_MS  # LinkedIn's clock: a month on, leads from 61 to 90 days ago age out
        emulator.forget_selections()
        aged_out = {x.id for x in emulator.data.leads if not emulator.retained(x)} & before
        assert len(aged_out) > 100
        pipeline.run(make_source(emulator, deletion_check_days=60, deletion_check_every_hours=0))
        assert set(ids_of(pipeline)) == before
        assert "lead_form_responses_deleted" not in pipeline.default_schema.tables  # no tombstone ever


@pytest.mark.parametrize("max_offset", [None, 60])
def test_the_check_pages_and_slices_as_the_pull_does(
    make_pipeline: Callable[..., dlt.Pipeline], max_offset: Any
) -> None:
    """Small pages (short ones among them): the window is cut in slices of ten pages of the
    destination's leads, within the budget; and where LinkedIn refuses deep offsets, a slice is
    halved until it pages, and the check still finds exactly the deleted leads."""
    with LinkedInEmulator(deletion_data(), max_offset=max_offset) as emulator:
        pipeline = run_once(make_pipeline, emulator, page_size=10)
        gone = deleted_unnotified(emulator, 5, per_pair=2, days=(2, 28))
        start, end = NOW_MS - 30 * DAY_MS, NOW_MS - LOOKBACK_MS
        times: Dict[Tuple[int, str], List[int]] = {}
        for lead in emulator.visible_leads():
            if start <= lead.submitted_at < end:
                times.setdefault((lead.owner_id, lead.lead_type), []).append(lead.submitted_at)
        emulator.reset_log()
        pipeline.run(make_source(emulator, page_size=10, deletion_check_every_hours=0))
        assert_exactly(pipeline, emulator, {x.id for x in gone})
        if max_offset is None:
            allowed = sum(budget(len(t), len(slices(t, start, end, 100)), 0, 10) for t in times.values())
            assert max(len(t) for t in times.values()) > 100  # some pair is cut in slices
            assert listing_calls(emulator) <= allowed
        else:  # LinkedIn did refuse the check's deep offsets
            assert any(r.status == 400 and DELETION_CHECK_FIELDS in r.query for r in emulator.requests)


def test_rows_recorded_before_found_by_existed_read_as_notifications(
    make_pipeline: Callable[..., dlt.Pipeline],
) -> None:
    """A ``lead_form_responses_deleted`` written by an earlier version (no ``found_by``): LinkedIn's
    word, never revoked."""
    from linkedin_leads.tables.deletions import deleted_leads

    pipeline = make_pipeline()
    old = [{"id": "8100001", "occurred_at": "2026-11-01T00:00:00Z", "deleted_at": "2026-11-01T00:00:01Z"}]
    pipeline.run(old, table_name="lead_form_responses_deleted")
    assert deleted_leads(pipeline) == {"8100001": "notification"}


def test_a_check_stopped_by_the_quota_keeps_what_it_confirmed_and_the_next_run_goes_on(
    make_pipeline: Callable[..., dlt.Pipeline], deleting: LinkedInEmulator
) -> None:
    emulator = deleting
    pipeline = run_once(make_pipeline, emulator)
    gone = deleted_unnotified(emulator, 3)
    # the first pair's control GET and its candidate's pass, then the daily quota
    quota = emulator.inject(
        Fault(path="/rest/leadFormResponses/", status=429, body=DAILY_QUOTA_BODY, times=10**6, after=2)
    )
    pipeline.run(make_source(emulator, deletion_check_every_hours=0))
    removed = {x.id for x in gone} - set(ids_of(pipeline))
    assert len(removed) == 1 and set(tombstoned(pipeline)) == removed
    deletions = lead_metrics(pipeline)["deletions"]
    assert deletions["found"] == 1 and deletions["pairs_skipped"]

    quota.times = 0  # a new day: the pairs not checked are due, the ones checked are not
    emulator.reset_log()
    pipeline.run(make_source(emulator))
    assert_exactly(pipeline, emulator, {x.id for x in gone})
    assert lead_metrics(pipeline)["deletions"]["found"] == 2
