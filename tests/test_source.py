"""End to end: emulator over HTTP -> linkedin_leads source -> DuckDB -> SQL."""

import json
import random
import threading
import time
import weakref
from collections import Counter
from itertools import pairwise
from typing import Any, Callable, Dict, List, Tuple

import dlt
import pytest

from linkedin_leads.api.client import LinkedInClient
from linkedin_leads.emulator import Dataset, Fault, Lead, LeadForm, LinkedInEmulator, generate
from linkedin_leads.emulator.data import DAY_MS, form_versions
from linkedin_leads.reading import resources
from linkedin_leads.reading.progress import MAX_PROBES, PROBE_PAGES
from linkedin_leads.reading.runs import DECODED_PAGES
from linkedin_leads.tables import records
from linkedin_leads.tables.values import from_epoch_ms

from .conftest import (
    NOW_MS,
    every_lead_once,
    lead_ids,
    loaded_rows,
    make_source,
    newest_by_pair,
    oauth,
    sql,
    within_lookback,
)

MakePipeline = Callable[..., dlt.Pipeline]


def ids_of(leads: List[Lead]) -> List[str]:
    return sorted(lead.id for lead in leads)


def expected_answers(emulator: LinkedInEmulator, lead: Lead) -> List[Tuple[str, int, Any]]:
    """(lead id, question id, answer) as a reader expects them, from the emulator's own data."""
    form = emulator.data.forms[lead.form_id].versions[lead.form_version - 1]
    labels = {
        q["questionId"]: {
            o["id"]: o["text"]["localized"]["en_US"]
            for o in q["questionDetails"].get("multipleChoiceQuestionDetails", {}).get("options", [])
        }
        for q in form["questions"]
    }
    rows = []
    for answer in lead.entity["formResponse"]["answers"]:
        details = answer["answerDetails"]
        if "textQuestionAnswer" in details:
            text = details["textQuestionAnswer"]["answer"]
        else:
            text = "; ".join(
                labels[answer["questionId"]][o] for o in details["multipleChoiceAnswer"]["options"]
            )
        rows.append((lead.id, answer["questionId"], text))
    return rows


def test_full_load_matches_the_emulator(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    truth = {lead.id: lead for lead in emulator.visible_leads()}
    assert len(truth) == 600
    rows = sql(
        pipeline,
        "SELECT id, submitted_at, test_lead, lead_type, form_id, form_version, owner_type, owner_id"
        " FROM lead_form_responses",
    )
    assert sorted(r[0] for r in rows) == sorted(truth)  # every lead, exactly once
    for lead_id, submitted_at, test_lead, lead_type, form_id, form_version, owner_type, owner_id in rows:
        lead = truth[lead_id]
        assert submitted_at == from_epoch_ms(lead.submitted_at)
        assert test_lead is lead.test_lead
        assert (lead_type, form_id, form_version) == (lead.lead_type, lead.form_id, lead.form_version)
        assert (owner_type, owner_id) == (lead.owner_kind, lead.owner_id)
    answers = sql(pipeline, "SELECT lead_id, question_id, answer FROM lead_form_responses__answers")
    expected = [row for lead in truth.values() for row in expected_answers(emulator, lead)]
    assert sorted(answers, key=str) == sorted(expected, key=str)


def test_forms_load_with_exact_big_ids(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    forms = sql(pipeline, "SELECT id, name, version_id, created FROM lead_forms")
    assert sorted(f[0] for f in forms) == sorted(emulator.data.forms)
    assert 6_955_637_458_260_688_897 in {f[0] for f in forms}  # above 2**53, exact
    for form_id, name, version_id, created in forms:
        form = emulator.data.forms[form_id]
        assert (name, version_id, created) == (form.name, form.version_id, from_epoch_ms(form.created))
    big = 6_955_637_458_260_688_897
    big_leads = sql(pipeline, "SELECT count(*) FROM lead_form_responses WHERE form_id = %s", big)
    assert big_leads[0][0] == sum(1 for lead in emulator.visible_leads() if lead.form_id == big) > 0


def test_second_run_without_new_leads_adds_nothing(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    """It re-reads only the lookback window (here none: the newest lead of each pair) and merges it."""
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, lookback_hours=0))
    info = pipeline.run(make_source(emulator, lookback_hours=0))
    newest = newest_by_pair(emulator.visible_leads())
    assert loaded_rows(info, "lead_form_responses") == len(
        within_lookback(emulator.visible_leads(), newest, 0)
    )
    assert len(newest) == 5
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())


def test_second_run_rereads_exactly_the_lookback_window(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    info = pipeline.run(make_source(emulator))  # default lookback: 24 hours
    in_window = within_lookback(emulator.visible_leads(), newest_by_pair(emulator.visible_leads()), DAY_MS)
    assert 5 < len(in_window) < 600
    assert loaded_rows(info, "lead_form_responses") == len(in_window)
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())
    assert (
        sql(
            pipeline,
            "SELECT count(*), count(DISTINCT (lead_id, question_id)) FROM lead_form_responses__answers",
        )[0]
        == (sum(len(lead.entity["formResponse"]["answers"]) for lead in emulator.visible_leads()),) * 2
    )


def test_second_run_loads_exactly_the_new_leads(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, lookback_hours=0))
    before = set(lead_ids(pipeline))
    at_boundary = len(within_lookback(emulator.visible_leads(), newest_by_pair(emulator.visible_leads()), 0))
    rng = random.Random(1)
    new = [
        emulator.data.make_lead(form_id, int(time.time() * 1000) - 30_000 + i, rng)
        for i, form_id in enumerate(list(emulator.data.forms) * 3)
    ]
    source = make_source(emulator, lookback_hours=0)
    emulator.add_leads(new)  # the window ends when the extract runs, not when the source is made
    info = pipeline.run(source)
    # the new leads, and the newest lead of each pair of the last run again (its window starts at it)
    assert loaded_rows(info, "lead_form_responses") == len(new) + at_boundary
    assert sorted(set(lead_ids(pipeline)) - before) == ids_of(new)
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())


def two_owner_dataset() -> Dataset:
    """Account A (read first) has only a recent lead; account B only leads 100 days old."""
    data = Dataset()
    rng = random.Random(3)
    for owner_id, form_id in ((510000001, 8100001), (510000002, 8100002), (510000003, 8100003)):
        data.add_form(
            LeadForm(
                form_id,
                "sponsoredAccount",
                owner_id,
                f"F{form_id}",
                NOW_MS - 400 * DAY_MS,
                form_versions(form_id, 1),
            )
        )
    data.leads.append(data.make_lead(8100001, NOW_MS - 3_600_000, rng))
    data.leads += [data.make_lead(8100002, NOW_MS - 100 * DAY_MS + i, rng) for i in range(5)]
    data.leads += [data.make_lead(8100003, NOW_MS - 50 * DAY_MS + i, rng) for i in range(5)]
    return data


def test_older_leads_of_a_later_owner_still_load(make_pipeline: MakePipeline) -> None:
    """dlt re-binds a transformer's incremental argument per call (dlt #2838, #2429)."""
    data = two_owner_dataset()
    with LinkedInEmulator(data) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, account_ids=[510000001, 510000002, 510000003], lookback_hours=0))
        assert lead_ids(pipeline) == ids_of(data.leads)
        # next run: a new lead for B only, later than A's newest
        newest = newest_by_pair(data.leads)
        new = data.make_lead(8100002, int(time.time() * 1000) - 1000, random.Random(4))
        emulator.add_leads([new])
        info = pipeline.run(
            make_source(emulator, account_ids=[510000001, 510000002, 510000003], lookback_hours=0)
        )
        # the new lead, and each pair's newest lead of the last run (where its window starts)
        assert loaded_rows(info, "lead_form_responses") == 1 + len(
            within_lookback(data.leads[:-1], newest, 0)
        )
        assert lead_ids(pipeline) == ids_of(data.leads)


@pytest.mark.parametrize("false_excludes_tests", [False, True], ids=["false-means-all", "false-means-real"])
@pytest.mark.parametrize("mode", ["include", "exclude", "only"])
def test_test_leads_modes(
    dataset: Dataset, make_pipeline: MakePipeline, mode: str, false_excludes_tests: bool
) -> None:
    with LinkedInEmulator(dataset, limited_false_excludes_tests=false_excludes_tests) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, test_leads=mode))
        filters: Dict[str, Callable[[Lead], bool]] = {
            "include": lambda lead: True,
            "exclude": lambda lead: not lead.test_lead,
            "only": lambda lead: lead.test_lead,
        }
        wanted = filters[mode]
        expected = [lead for lead in emulator.visible_leads() if wanted(lead)]
        assert 0 < len(expected)
        assert lead_ids(pipeline) == ids_of(expected)


def test_every_owner_and_lead_type(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    by_owner = Counter(
        (f"urn:li:{r[0]}:{r[1]}", r[2])
        for r in sql(pipeline, "SELECT owner_type, owner_id, lead_type FROM lead_form_responses")
    )
    expected = Counter(
        (f"urn:li:{lead.owner_kind}:{lead.owner_id}", lead.lead_type) for lead in emulator.visible_leads()
    )
    assert by_owner == expected
    assert {t for _, t in by_owner} == {"SPONSORED", "COMPANY", "EVENT", "ORGANIZATION_PRODUCT"}
    assert len({o for o, _ in by_owner}) == 3


def test_lead_types_restrict_the_queries(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, lead_types="EVENT, sponsored"))
    types = {r[0] for r in sql(pipeline, "SELECT DISTINCT lead_type FROM lead_form_responses")}
    assert types == {"SPONSORED", "EVENT"}
    sent = {r.params["leadType"]["leadType"] for r in emulator.calls("leadFormResponses")}
    assert sent == {"SPONSORED", "EVENT"}


@pytest.mark.parametrize("total", ["wrong", "absent", "exact"])
def test_paging_short_pages_and_untrusted_totals(
    dataset: Dataset, make_pipeline: MakePipeline, total: str
) -> None:
    with LinkedInEmulator(dataset, total=total, short_pages=True) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, page_size=7))
        assert lead_ids(pipeline) == ids_of(emulator.visible_leads())
        # every page asked for where the one before it ended, until an empty page
        starts: Dict[str, List[int]] = {}
        for record in emulator.calls("leadFormResponses"):
            params = record.params
            query = str({k: v for k, v in params.items() if k not in ("start", "count")})
            starts.setdefault(query, []).append(int(params["start"]))
        short_page_seen = any(any(b - a < 7 for a, b in pairwise(s)) for s in starts.values())
        assert short_page_seen


@pytest.mark.parametrize(
    "start_inclusive,end_inclusive", [(True, False), (False, False), (True, True), (False, True)]
)
def test_time_range_bounds_either_way(
    make_pipeline: MakePipeline, start_inclusive: bool, end_inclusive: bool
) -> None:
    """Whether LinkedIn's range bounds are inclusive is not documented: no lead is lost either way."""
    data = two_owner_dataset()
    start_ms = data.leads[1].submitted_at  # a lead exactly at start_date
    with LinkedInEmulator(
        data, range_start_inclusive=start_inclusive, range_end_inclusive=end_inclusive
    ) as emulator:
        pipeline = make_pipeline()
        owners = [510000001, 510000002, 510000003]
        pipeline.run(make_source(emulator, account_ids=owners, start_date=from_epoch_ms(start_ms)))
        assert lead_ids(pipeline) == ids_of([lead for lead in data.leads if lead.submitted_at >= start_ms])
        # a new lead exactly one millisecond after the newest loaded one
        newest = max(lead.submitted_at for lead in data.leads)
        emulator.add_leads([data.make_lead(8100003, newest + 1, random.Random(5))])
        pipeline.run(make_source(emulator, account_ids=owners, start_date=from_epoch_ms(start_ms)))
        assert lead_ids(pipeline) == ids_of([lead for lead in data.leads if lead.submitted_at >= start_ms])


def test_start_date_bounds_the_first_run(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    start = NOW_MS - 30 * DAY_MS
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, start_date=from_epoch_ms(start).isoformat()))
    expected = [lead for lead in emulator.visible_leads() if lead.submitted_at >= start]
    assert 0 < len(expected) < 600
    assert lead_ids(pipeline) == ids_of(expected)


def queries(emulator: LinkedInEmulator, path: str) -> Dict[str, List[int]]:
    """The start offsets asked of each query of ``path`` (its parameters but start and count)."""
    by_query: Dict[str, List[int]] = {}
    for record in emulator.calls(path):
        params = record.params
        if "versionedLeadGenFormUrn" in params:
            continue  # a form-version look-up, counted apart
        key = json.dumps({k: v for k, v in params.items() if k not in ("start", "count")}, sort_keys=True)
        by_query.setdefault(key, []).append(int(params["start"]))
    return by_query


def leads_in_query(emulator: LinkedInEmulator, query: str) -> int:
    """How many leads the emulator holds for one responses query (its owner, type and range)."""
    params = json.loads(query)
    owner_id = int(next(iter(params["owner"].values())).rsplit(":", 1)[1])
    lead_type = params["leadType"]["leadType"]
    bounds = params["submittedAtTimeRange"]
    start, end = int(bounds["start"]), int(bounds["end"])
    return sum(
        1
        for lead in emulator.visible_leads()
        if lead.owner_id == owner_id and lead.lead_type == lead_type and start <= lead.submitted_at < end
    )


def old_versions(leads: List[Lead], emulator: LinkedInEmulator) -> int:
    """Form versions, other than the current one, that these leads were submitted on."""
    data = emulator.data
    return len(
        {(x.form_id, x.form_version) for x in leads if x.form_version != data.forms[x.form_id].version_id}
    )


def test_api_call_budget(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    """Backfill: per (owner, lead type) one query, ceil(leads / page) + 1 calls, plus one probe
    of one lead when its first page came back full (at ``PROBE_PAGES`` pages in: nothing there,
    so it is paged on and no page is read twice), the forms listings, and one look-up per form
    version other than the current one: within 2 calls per page of leads plus 2 per pair.

    Incremental with no new leads: one forms listing per owner and one responses query per
    (owner, lead type), re-reading that pair's newest lead (LinkedIn's range bounds are
    undocumented), so its pages are that lead's page and the closing empty one.
    """
    data = emulator.data
    owners = len(data.accounts) + len(data.organizations)
    pairs = len(data.accounts) * 1 + len(data.organizations) * 3
    emulator.short_pages = False
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, page_size=50, lookback_hours=0))
    forms = queries(emulator, "leadForms")
    assert len(forms) == owners and all(v == [0, 2] for v in forms.values())  # a page, an empty page
    slices = queries(emulator, "leadFormResponses")
    probes = {q: starts for q, starts in slices.items() if '"fields": "id"' in q}
    read = {q: starts for q, starts in slices.items() if q not in probes}
    assert len(read) == pairs  # no pair holds more than PROBE_PAGES pages: none cut
    for query, starts in read.items():
        assert len(starts) == -(-leads_in_query(emulator, query) // 50) + 1, query
    assert sum(leads_in_query(emulator, q) for q in read) == len(emulator.visible_leads())
    big = [q for q in read if leads_in_query(emulator, q) >= 50]
    assert big and len(probes) == len(big) and all(s == [PROBE_PAGES * 50] for s in probes.values())
    pages = sum(-(-leads_in_query(emulator, q) // 50) for q in read)
    assert sum(len(s) for s in slices.values()) <= 2 * pages + 2 * pairs
    versions = [r for r in emulator.calls("leadFormResponses") if "versionedLeadGenFormUrn" in r.params]
    assert len(versions) == old_versions(emulator.visible_leads(), emulator) > 0

    emulator.reset_log()
    pipeline.run(make_source(emulator, page_size=50, lookback_hours=0))
    forms = queries(emulator, "leadForms")
    assert len(forms) == owners and all(v == [0, 2] for v in forms.values())
    leads = queries(emulator, "leadFormResponses")
    assert len(leads) == pairs  # one query per (owner, lead type) ...
    assert all(v == [0, 1] for v in leads.values())  # ... re-reading its newest lead
    # form versions looked up once are kept in the pipeline state: never asked for again
    assert not [r for r in emulator.calls("leadFormResponses") if "versionedLeadGenFormUrn" in r.params]


def served(emulator: LinkedInEmulator) -> int:
    """Leads LinkedIn's finder sent (pages are full but the last: the emulator's short pages off)."""
    sent = 0
    for record in emulator.calls("leadFormResponses"):
        params = record.params
        if "versionedLeadGenFormUrn" in params or record.status != 200:
            continue
        key = json.dumps({k: v for k, v in params.items() if k not in ("start", "count")}, sort_keys=True)
        left = leads_in_query(emulator, key) - int(params["start"])
        sent += max(0, min(int(params["count"]), left))
    return sent


def test_a_big_backfill_reads_each_lead_once_but_one_page_per_big_pair(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    """Pages of 10 make every pair (about 150 leads) bigger than PROBE_PAGES pages: its first
    page is probed, then it is cut in slices of about five pages; only that page is served twice."""
    emulator.short_pages = False
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, page_size=10, lookback_hours=0))
    every_lead_once(pipeline, emulator)
    visible = len(emulator.visible_leads())
    from .test_slices import metrics

    cut = metrics(pipeline)["slices"]["split"]
    assert cut >= 1
    assert served(emulator) <= visible + cut * (10 + MAX_PROBES)  # a page and the probes' leads
    assert served(emulator) <= visible * 1.1


def test_readers_hold_few_decoded_pages_however_many_they_are(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten readers, pages of 20 leads, form-version lookups that take a while: the decoded pages
    alive at once are never more than ``DECODED_PAGES``. A reader waiting on LinkedIn, for a
    slot, or on a form-version lookup (made from the body, before decoding it) holds no page,
    not even its last one. A page is watched through what pyarrow read of it, which each of its
    leads holds (``LeadHead.answers``)."""
    lock = threading.Lock()
    alive, most, pages, lookups = [0], [0], [0], [0]

    def freed() -> None:
        with lock:
            alive[0] -= 1

    def decode_and_count(body: bytes) -> Any:
        page = records.decode_lead_rows(body)
        if page.elements:
            answers = page.elements[0].answers
            assert answers is not None  # the emulator's pages are of the regular shape
            with lock:
                alive[0] += 1
                pages[0] += 1
                most[0] = max(most[0], alive[0])
            weakref.finalize(answers, freed)
        return page

    original = LinkedInClient.form_version

    def slow_lookup(self: LinkedInClient, *args: Any) -> Any:
        lookups[0] += 1
        time.sleep(0.1)  # every reader meets its first page's versions while one is looked up
        return original(self, *args)

    monkeypatch.setattr(resources, "decode_lead_rows", decode_and_count)
    monkeypatch.setattr(LinkedInClient, "form_version", slow_lookup)
    emulator.latency = 0.005
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, page_size=20, concurrency=10))
    every_lead_once(pipeline, emulator)
    assert lookups[0] > 0 and pages[0] > 30 and most[0] <= DECODED_PAGES, (lookups, pages, most)


def test_oauth_refresh_token_mode(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, credentials=oauth(emulator)))
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())
    token_calls = [r for r in emulator.requests if r.path == "/oauth/v2/accessToken"]
    assert len(token_calls) == 1


def test_token_expiring_mid_run_is_refreshed(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    # every access token expires after ten API calls: more than the readers (10) can spend between
    # one reader's renewal and its retry, so no reader is starved of a token three times in a row
    # (real tokens expire by time, after 60 days: a renewal serves every reader)
    emulator.token_uses = 10
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, credentials=oauth(emulator), page_size=40))
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())
    token_calls = [r for r in emulator.requests if r.path == "/oauth/v2/accessToken"]
    api_calls = emulator.calls()
    assert len(token_calls) > 3
    # owners run concurrently: requests that meet the same expired token share one refresh,
    # and each of them is retried once
    unauthorized = [r for r in api_calls if r.status == 401]
    assert len(token_calls) - 1 <= len(unauthorized) <= 2 * (len(token_calls) - 1) * 10
    retried = Counter(r.query for r in api_calls if r.status == 200)
    assert all(retried[r.query] >= 1 for r in unauthorized)


def test_configuration_from_environment(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = emulator.data.accounts
    monkeypatch.setenv(
        "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS", f"{accounts[0]}, urn:li:sponsoredAccount:{accounts[1]}"
    )
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS", f"[{emulator.data.organizations[0]}]")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN", "test-access-token")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__BASE_URL", emulator.base_url)
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__PAGE_SIZE", "25")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__TEST_LEADS", "exclude")
    from linkedin_leads import linkedin_leads

    pipeline = make_pipeline()
    pipeline.run(linkedin_leads())
    assert lead_ids(pipeline) == ids_of([lead for lead in emulator.visible_leads() if not lead.test_lead])
    # every request but the form-version look-ups and the size probes (one lead each)
    assert all(
        r.params["count"] == "25"
        for r in emulator.calls()
        if "versionedLeadGenFormUrn" not in r.params and r.params.get("fields") != "id"
    )


def test_full_refresh_replace_and_append(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    """Airbyte's full refresh (overwrite) and (append), the dlt way."""
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    # overwrite: drop tables and state, load everything again
    info = pipeline.run(make_source(emulator), refresh="drop_sources")
    assert loaded_rows(info, "lead_form_responses") == 600
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())
    # append: every run adds the window it read, duplicates included by design
    append = make_pipeline("append_mode")
    append.run(make_source(emulator), write_disposition="append")
    append.run(make_source(emulator), write_disposition="append", refresh="drop_resources")
    assert len(lead_ids(append)) == 600
    append.run(
        make_source(emulator, start_date=from_epoch_ms(NOW_MS - 400 * DAY_MS)),
        write_disposition="append",
        refresh="drop_data",
    )
    assert len(lead_ids(append)) == 600
    replace = make_pipeline("replace_mode")
    replace.run(make_source(emulator), write_disposition="replace")
    assert len(lead_ids(replace)) == 600


def test_column_types(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    types = dict(
        sql(
            pipeline,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'linkedin'",
        )
    )
    assert types["lead_form_responses.submitted_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["lead_form_responses.test_lead"] == "BOOLEAN"
    assert types["lead_form_responses.form_id"] == "BIGINT"
    assert types["lead_forms.id"] == "BIGINT"
    assert types["lead_forms.created"] == "TIMESTAMP WITH TIME ZONE"


def test_forms_are_paged(make_pipeline: MakePipeline) -> None:
    data = generate(NOW_MS, accounts=1, organizations=1, forms_per_owner=9, leads=50)
    with LinkedInEmulator(data) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, page_size=2))
        forms = [r[0] for r in sql(pipeline, "SELECT id FROM lead_forms ORDER BY id")]
        assert forms == sorted(data.forms)
        assert len(emulator.calls("leadForms")) > 2 * 9 // 2


def test_throttling_and_server_errors_are_retried(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    emulator.inject(Fault(path="leadFormResponses", status=429, body={"status": 429}, times=2))
    emulator.inject(Fault(path="leadForms", status=503, body={"status": 503}, times=1))
    emulator.inject(Fault(path="leadFormResponses", action="reset", times=1, after=2))
    emulator.inject(Fault(path="leadFormResponses", status=504, body=b"<html>gateway</html>", after=3))
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    assert lead_ids(pipeline) == ids_of(emulator.visible_leads())
    statuses = Counter(r.status for r in emulator.calls())
    assert statuses[429] == 2 and statuses[503] == 1 and statuses[504] == 1 and statuses[-1] == 1


def test_expired_access_token_says_how_to_renew(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    emulator.expire_access_tokens()
    pipeline = make_pipeline()
    with pytest.raises(Exception) as failure:
        pipeline.run(make_source(emulator))
    message = str(failure.value)
    assert "has expired or was revoked (LinkedIn access tokens live 60 days)" in message
    assert "refresh_token" in message
    assert "test-access-token" not in message
