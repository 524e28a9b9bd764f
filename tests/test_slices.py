"""Progress per (owner, lead type), read in time slices: what a schedule meets on real LinkedIn.

Daily quotas smaller than a backfill, throttling that clears, lead types and owners added
later, offset caps, refused page sizes, one owner failing, fixed windows and late leads.
Each test ends with the destination checked by SQL: every lead LinkedIn holds, exactly once.
"""

import random
import time
from itertools import pairwise
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple

import dlt
import pytest

from linkedin_leads.emulator import Dataset, Fault, LinkedInEmulator, generate
from linkedin_leads.emulator.data import DAY_MS
from linkedin_leads.reading.left import responses_state
from linkedin_leads.tables.values import from_epoch_ms

from .conftest import (
    DAILY_QUOTA_BODY,
    NOW_MS,
    every_lead_once,
    lead_ids,
    make_source,
    newest_by_pair,
    run_once,
    sql,
)

MakePipeline = Callable[..., dlt.Pipeline]


def metrics(pipeline: dlt.Pipeline) -> Dict[str, Any]:
    """The custom metrics of ``lead_form_responses`` in the last extract."""
    assert pipeline.last_trace is not None
    extract = pipeline.last_trace.last_extract_info
    assert extract is not None
    for steps in extract.metrics.values():
        for step in steps:
            resource = step["resource_metrics"].get("lead_form_responses")
            if resource is not None:
                return dict(resource.custom_metrics)
    raise AssertionError("no metrics for lead_form_responses")


def progress(pipeline: dlt.Pipeline) -> Dict[str, Any]:
    return responses_state(pipeline)


def queried(emulator: LinkedInEmulator, owner: str = "", lead_type: str = "") -> List[Tuple[int, int]]:
    """The ``[start, end)`` each responses query of ``owner`` (a URN; any if empty) and
    ``lead_type`` (any if empty) covered (its range starts 1 ms early)."""
    spans = []
    for record in emulator.calls("leadFormResponses"):
        params = record.params
        if "submittedAtTimeRange" not in params:
            continue
        if owner and owner not in params["owner"].values():
            continue
        if lead_type and params["leadType"] != {"leadType": lead_type}:
            continue
        bounds = params["submittedAtTimeRange"]
        spans.append((int(bounds["start"]) + 1, int(bounds["end"])))
    return sorted(set(spans))


def overlap(spans: List[Tuple[int, int]], other: List[Tuple[int, int]]) -> int:
    """Milliseconds ``spans`` share with ``other``."""
    return sum(max(0, min(e, f) - max(s, t)) for s, e in spans for t, f in other)


def read_ms(pipeline: dlt.Pipeline) -> int:
    """Milliseconds recorded as read, over every pair."""
    pairs = progress(pipeline).get("progress", {})
    return sum(e - s for by_type in pairs.values() for pair in by_type.values() for s, e in pair["read"])


def count_leads(pipeline: dlt.Pipeline) -> int:
    try:
        return int(sql(pipeline, "SELECT count(*) FROM lead_form_responses")[0][0])
    except Exception:  # no table yet
        return 0


def backfill_data(leads: int = 3000) -> Dataset:
    return generate(NOW_MS, accounts=2, organizations=0, forms_per_owner=2, leads=leads, days=300)


def test_backfill_larger_than_the_daily_quota_finishes_over_days(make_pipeline: MakePipeline) -> None:
    """About twice the daily quota: more leads every day, done by the third day, each lead once."""
    with LinkedInEmulator(backfill_data()) as unlimited:
        make_pipeline("measure").run(make_source(unlimited, page_size=50))
        needed = len(unlimited.calls("leadFormResponses"))
    quota = needed // 2
    with LinkedInEmulator(backfill_data(), daily_quota={"leadFormResponses": quota}) as emulator:
        pipeline = make_pipeline()
        loaded: List[int] = []
        covered: List[int] = []
        for _day in range(3):
            emulator.new_day()
            pipeline.run(make_source(emulator, page_size=50))
            loaded.append(count_leads(pipeline))
            covered.append(read_ms(pipeline))
            if not metrics(pipeline)["left"]:
                break
            # a stopped day says what is left and when the quota resets
            assert metrics(pipeline)["stopped"]["reason"] == "daily_quota"
            assert metrics(pipeline)["stopped"]["resets_at"]
        assert len(loaded) >= 2, "the quota never stopped a run: the test proves nothing"
        # every day more of the window is recorded as read, and more leads are loaded until all are
        assert all(b > a for a, b in pairwise(covered)), covered
        assert all(b > a or b == len(emulator.visible_leads()) for a, b in pairwise(loaded)), loaded
        assert not metrics(pipeline)["left"]
        every_lead_once(pipeline, emulator)
        assert progress(pipeline)["last_run"] == {"stopped": None, "left": []}


def test_a_daily_quota_message_that_clears_after_two_tries(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    """LinkedIn's message text is no promise: a DAY-limit 429 is retried like any 429."""
    fault = emulator.inject(Fault(path="leadFormResponses", status=429, body=DAILY_QUOTA_BODY, times=2))
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    assert fault.times == 0
    assert not metrics(pipeline)["left"]
    every_lead_once(pipeline, emulator)


def test_a_persisting_quota_keeps_what_was_read_and_the_next_run_continues(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    # 40 calls first: the queries cut at their first page and the form-version look-ups come first
    fault = emulator.inject(
        Fault(path="leadFormResponses", status=429, body=DAILY_QUOTA_BODY, times=10_000, after=40)
    )
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, page_size=20))  # no exception: the run ends, partly read
    read = count_leads(pipeline)
    assert 0 < read < len(emulator.visible_leads())
    left = metrics(pipeline)["left"]
    assert left and {"owner", "lead_type", "start", "end", "reason"} <= set(left[0])
    warning = next(line for line in dlt_log if "were not all read" in line)
    assert left[0]["owner"] in warning and "daily quota" in warning and "resets at" in warning
    fault.times = 0
    pipeline.run(make_source(emulator, page_size=20))
    assert not metrics(pipeline)["left"]
    every_lead_once(pipeline, emulator)


def test_one_owner_failing_after_every_retry_does_not_stop_the_others(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    failing = emulator.data.accounts[1]
    fault = emulator.inject(
        Fault(path="leadFormResponses", query=f"sponsoredAccount%3A{failing})", status=503, times=10_000)
    )
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    others = sorted(lead.id for lead in emulator.visible_leads() if lead.owner_id != failing)
    assert lead_ids(pipeline) == others
    left = metrics(pipeline)["left"]
    assert {x["owner"] for x in left} == {f"urn:li:sponsoredAccount:{failing}"}
    assert {x["reason"] for x in left} == {"errors"}
    assert "503" in metrics(pipeline)["stopped"]["message"]
    fault.times = 0
    pipeline.run(make_source(emulator))
    every_lead_once(pipeline, emulator)


def test_a_lead_type_added_later_gets_its_history(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, lead_types="SPONSORED, COMPANY"))
    assert not {r[0] for r in sql(pipeline, "SELECT DISTINCT lead_type FROM lead_form_responses")} & {"EVENT"}
    pipeline.run(make_source(emulator, lead_types="SPONSORED, COMPANY, EVENT"))
    events = [lead for lead in emulator.visible_leads() if lead.lead_type == "EVENT"]
    old = [lead for lead in events if lead.submitted_at < NOW_MS - 30 * DAY_MS]
    assert old, "no EVENT lead older than the lookback: the test proves nothing"
    assert metrics(pipeline)["first_read"] == {
        f"urn:li:organization:{emulator.data.organizations[0]}": ["EVENT"]
    }
    expected = sorted(
        lead.id for lead in emulator.visible_leads() if lead.lead_type != "ORGANIZATION_PRODUCT"
    )
    assert lead_ids(pipeline) == expected


def test_an_owner_refused_mid_run_continues_where_it_stopped(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    denied = emulator.data.accounts[0]
    pipeline = make_pipeline()
    # its forms listing works, then its leads are refused after a few slices
    fault = emulator.inject(
        Fault(
            path="leadFormResponses",
            query=f"sponsoredAccount%3A{denied})",
            status=403,
            body={"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough"},
            times=10_000,
            after=30,  # its first page, the probes of its size, then the first slice cut from it
        )
    )
    pipeline.run(make_source(emulator, skip_inaccessible_owners=True, concurrency=1, page_size=10))
    assert metrics(pipeline)["owners_skipped"] == [f"urn:li:sponsoredAccount:{denied}"]
    known = progress(pipeline)["progress"][f"urn:li:sponsoredAccount:{denied}"]["SPONSORED"]
    assert known["read"], "the slices read before the refusal are kept"
    fault.times = 0
    emulator.reset_log()
    pipeline.run(make_source(emulator, skip_inaccessible_owners=True, page_size=10))
    every_lead_once(pipeline, emulator)
    # the owner's second run reads only what it had not read, and the lookback before its newest lead
    again = queried(emulator, f"urn:li:sponsoredAccount:{denied}")
    assert again
    lookback = [(known["newest"] - DAY_MS, NOW_MS + DAY_MS)]
    read = [tuple(span) for span in known["read"]]
    assert overlap(again, read) <= overlap(read, lookback)


def test_offset_cap_and_refused_count(make_pipeline: MakePipeline, dlt_log: List[str]) -> None:
    """A finder that pages no deeper than 10,000 and serves at most 500 a page, one busy month."""
    data = generate(NOW_MS, accounts=1, organizations=0, forms_per_owner=1, leads=0)
    rng = random.Random(8)
    form = next(iter(data.forms))
    data.leads = [data.make_lead(form, NOW_MS - rng.randint(60_000, 5 * DAY_MS), rng) for _ in range(12_000)]
    with LinkedInEmulator(data, max_offset=10_000, max_count=500, short_pages=False) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, page_size=1000))
        every_lead_once(pipeline, emulator)
        assert metrics(pipeline)["slices"]["split"] >= 1
        refused = [r for r in emulator.calls("leadFormResponses") if r.status == 400]
        assert any(r.params["count"] == "1000" for r in refused)  # once, then 500 for the rest of the run
        assert all(r.params.get("count") != "1000" for r in emulator.calls() if r.status == 200)
        assert any("asking for 500 per page" in line for line in dlt_log)
        assert all(
            int(r.params["start"]) + 500 <= 10_000
            for r in emulator.calls("leadFormResponses")
            if r.status == 200
        )


def test_refused_count_in_forms_listing_and_discovery(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    emulator.max_count = 40
    emulator.extra_accounts = [520000000 + i for i in range(50)]  # more than one page of 40
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=None, organization_ids=None, page_size=100))
    every_lead_once(pipeline, emulator)
    pages = [r for r in emulator.calls("adAccounts") if r.status == 200]
    assert pages and all(r.params["pageSize"] == "25" for r in pages)  # 100, 50, then 25 kept
    assert all(r.params["count"] == "25" for r in emulator.calls("leadForms") if r.status == 200)


def test_a_fixed_window_then_the_rest(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    """An orchestrator's interval reads exactly its window; a normal run later reads only the rest."""
    start, end = NOW_MS - 200 * DAY_MS, NOW_MS - 100 * DAY_MS
    source = make_source(emulator)
    source.lead_form_responses.apply_hints(
        incremental=dlt.sources.incremental(
            "submitted_at", initial_value=from_epoch_ms(start), end_value=from_epoch_ms(end)
        )
    )
    pipeline = make_pipeline()
    pipeline.run(source)
    inside = [lead for lead in emulator.visible_leads() if start <= lead.submitted_at < end]
    assert len(inside) > 50
    assert lead_ids(pipeline) == sorted(lead.id for lead in inside)
    emulator.reset_log()
    pipeline.run(make_source(emulator))
    every_lead_once(pipeline, emulator)
    # the window already read is not asked for again, but for the lookback before each pair's
    # newest lead in it
    pairs = {(f"urn:li:{x.owner_kind}:{x.owner_id}", x.lead_type) for x in emulator.visible_leads()}
    for owner, lead_type in pairs:
        of_pair = [
            x.submitted_at
            for x in inside
            if f"urn:li:{x.owner_kind}:{x.owner_id}" == owner and x.lead_type == lead_type
        ]
        anchor = max(of_pair, default=end)  # no lead: the end of what was read
        spans = queried(emulator, owner, lead_type)
        assert spans and overlap(spans, [(start, end)]) <= end - (anchor - DAY_MS)


def test_late_leads_of_every_pair_are_loaded_once(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    pipeline = run_once(make_pipeline, emulator)
    rng = random.Random(12)
    late = []
    for (owner_id, lead_type), newest in newest_by_pair(emulator.visible_leads()).items():
        form = next(f for f in emulator.data.forms.values() if f.owner_id == owner_id)
        late.append(emulator.data.make_lead(form.id, newest - 3_600_000, rng, lead_type=lead_type))
    emulator.add_leads(late)
    pipeline.run(make_source(emulator))
    assert len(late) == 5
    every_lead_once(pipeline, emulator)


def test_the_window_ends_when_the_extract_runs(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    source = make_source(emulator)
    time.sleep(0.01)
    new = emulator.data.make_lead(next(iter(emulator.data.forms)), int(time.time() * 1000), random.Random(2))
    emulator.add_leads([new])
    pipeline = make_pipeline()
    pipeline.run(source)
    assert new.id in lead_ids(pipeline)


@pytest.mark.parametrize("reason", [None])
def test_progress_is_kept_per_pair_in_the_resource_state(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, reason: Optional[str]
) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    state = progress(pipeline)["progress"]
    assert set(state) == {f"urn:li:sponsoredAccount:{a}" for a in emulator.data.accounts} | {
        f"urn:li:organization:{o}" for o in emulator.data.organizations
    }
    for by_type in state.values():
        for pair in by_type.values():
            assert len(pair["read"]) == 1  # the whole window, merged
            assert pair["newest"] is not None
    assert progress(pipeline)["last_run"]["stopped"] is reason


def test_progress_shows_pairs_slices_and_leads(emulator: LinkedInEmulator, tmp_path: Any) -> None:
    """What a person watching the run sees (dlt's progress collector: bars in a terminal, log lines
    elsewhere): (owner, lead type) pairs done out of all, slices read out of all, leads read."""
    from dlt.common.runtime.collector import DictCollector

    class Kept(DictCollector):
        """dlt's counting collector, keeping the extract's counters when the step ends."""

        kept: ClassVar[Dict[str, int]] = {}

        def _stop(self) -> None:
            if "LinkedIn slices read" in (self.counters or {}):  # not the state's own extract after it
                Kept.kept = dict(self.counters or {})
            super()._stop()

    collector = Kept()
    pipeline = dlt.pipeline(
        pipeline_name="progress",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "progress.duckdb")),
        dataset_name="linkedin",
        progress=collector,
    )
    pipeline.extract(make_source(emulator, page_size=10))
    counters = Kept.kept
    assert counters["LinkedIn pairs done"] == 5  # every pair, out of 5
    assert counters["LinkedIn leads read"] == len(emulator.visible_leads())
    assert counters["LinkedIn slices read"] == metrics(pipeline)["slices"]["read"] > 5
