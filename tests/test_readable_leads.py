"""Leads people can read: resolved answers, the wide row, consents, attribution, organic leads."""

import json
import random
import threading
import time
from typing import Any, Callable, Dict, List

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from linkedin_leads.api.client import LinkedInClient
from linkedin_leads.api.exceptions import LinkedInAPIError, LinkedInPagingLimitError
from linkedin_leads.emulator import Dataset, Fault, Lead, LeadForm, LinkedInEmulator, generate
from linkedin_leads.emulator.data import DAY_MS, choice_question, form_versions, text_question
from linkedin_leads.reading import resources
from linkedin_leads.reading.runs import DECODED_PAGES
from linkedin_leads.tables.questions import QuestionColumns
from linkedin_leads.tables.values import from_epoch_ms

from .conftest import NOW_MS, every_lead_once, lead_ids, make_source, run_once, sql

MakePipeline = Callable[..., dlt.Pipeline]
FORM = 8100001
ACCOUNT = 510000001


def three_version_dataset(per_version: int = 12) -> Dataset:
    """One form with three versions: v2 relabels the custom question and its options, v3 adds one."""
    data = Dataset()
    data.add_form(
        LeadForm(
            FORM, "sponsoredAccount", ACCOUNT, "Whitepaper", NOW_MS - 400 * DAY_MS, form_versions(FORM, 3)
        )
    )
    rng = random.Random(11)
    for version in (1, 2, 3):
        for i in range(per_version):
            data.leads.append(
                data.make_lead(FORM, NOW_MS - (10 - version) * DAY_MS + i, rng, version=version)
            )
    return data


def run(emulator: LinkedInEmulator, make_pipeline: MakePipeline, **kwargs: Any) -> dlt.Pipeline:
    pipeline = make_pipeline()
    args: Dict[str, Any] = {
        "account_ids": emulator.data.accounts,
        "organization_ids": emulator.data.organizations,
    }
    args.update(kwargs)
    pipeline.run(make_source(emulator, **args))
    return pipeline


def labels_of(form: Dict[str, Any], question_id: int) -> Dict[int, str]:
    question = next(q for q in form["questions"] if q["questionId"] == question_id)
    return {
        o["id"]: o["text"]["localized"]["en_US"]
        for o in question["questionDetails"]["multipleChoiceQuestionDetails"]["options"]
    }


@pytest.mark.parametrize("searched", [True, False], ids=["versions-found-in-the-body", "search-missed"])
def test_answers_are_resolved_by_the_version_submitted(
    make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch, searched: bool
) -> None:
    """Older versions are looked up from the body before it is decoded; where that search finds
    nothing (a key spelt with escapes), the decoded page's own check looks them up."""
    if not searched:
        monkeypatch.setattr(resources, "form_version_urns", lambda body: set())
    data = three_version_dataset()
    with LinkedInEmulator(data) as emulator:
        pipeline = run(emulator, make_pipeline)
    rows = sql(
        pipeline,
        "SELECT lead_id, question_id, question_text, answer, option_ids, option_labels, form_version"
        " FROM lead_form_responses__answers",
    )
    by_lead = {lead.id: lead for lead in data.leads}
    assert {r[0] for r in rows} == set(by_lead)
    checked = 0
    for lead_id, question_id, question_text, answer, option_ids, option_labels, version in rows:
        lead = by_lead[lead_id]
        content = data.forms[FORM].versions[lead.form_version - 1]
        question = next(q for q in content["questions"] if q["questionId"] == question_id)
        assert version == lead.form_version
        assert question_text == question["question"]["localized"]["en_US"]
        if option_ids is not None:
            labels = labels_of(content, question_id)
            assert json.loads(option_labels) == [labels[o] for o in json.loads(option_ids)]
            assert answer == "; ".join(labels[o] for o in json.loads(option_ids))
            checked += 1
    assert checked >= 36
    # the relabelled question keeps one column; each lead shows its own version's labels
    team_question = 700_000_000 + FORM
    wide = dict(sql(pipeline, "SELECT id, how_big_is_your_team FROM lead_form_responses"))
    for lead in data.leads:
        answer = next(a for a in lead.entity["formResponse"]["answers"] if a["questionId"] == team_question)
        labels = labels_of(data.forms[FORM].versions[lead.form_version - 1], team_question)
        assert wide[lead.id] == "; ".join(
            labels[o] for o in answer["answerDetails"]["multipleChoiceAnswer"]["options"]
        )
    interests = sql(
        pipeline, "SELECT form_version, count(interests) FROM lead_form_responses GROUP BY 1 ORDER BY 1"
    )
    assert interests == [(1, 0), (2, 0), (3, 12)]


def test_wide_row_has_a_column_per_field(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = run(emulator, make_pipeline)
    rows = {
        r[0]: r[1:]
        for r in sql(
            pipeline,
            "SELECT id, email, first_name, last_name, company_name, job_title FROM lead_form_responses",
        )
    }
    assert len(rows) == 600
    for lead in emulator.visible_leads():
        predefined = {}
        form = emulator.data.forms[lead.form_id].versions[lead.form_version - 1]
        fields = {q["questionId"]: q.get("predefinedField") for q in form["questions"]}
        for answer in lead.entity["formResponse"]["answers"]:
            if "textQuestionAnswer" in answer["answerDetails"]:
                predefined[fields[answer["questionId"]]] = answer["answerDetails"]["textQuestionAnswer"][
                    "answer"
                ]
        assert rows[lead.id] == tuple(
            predefined[f] for f in ("EMAIL", "FIRST_NAME", "LAST_NAME", "COMPANY_NAME", "JOB_TITLE")
        )
    multi = sql(pipeline, "SELECT interests FROM lead_form_responses WHERE interests LIKE '%; %' LIMIT 1")
    assert multi and set(multi[0][0].split("; ")) <= {"Ads", "Data", "AI"}


def test_consents_hidden_fields_and_attribution(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    pipeline = run(emulator, make_pipeline)
    consents = {
        r[0]: r[1:]
        for r in sql(
            pipeline,
            "SELECT lead_id, consent_id, consent_text, accepted, check_required"
            " FROM lead_form_responses__consents",
        )
    }
    rows = {
        r[0]: r[1:]
        for r in sql(
            pipeline,
            "SELECT id, hidden_utm_source, campaign_id, creative_id, event_id, campaign_name, owner_name"
            " FROM lead_form_responses",
        )
    }
    events = 0
    for lead in emulator.visible_leads():
        response = lead.entity["formResponse"]["consentResponses"][0]
        assert consents[lead.id] == (0, "Email me updates", response["accepted"], False)
        hidden, campaign, creative, event, campaign_name, owner_name = rows[lead.id]
        assert hidden == "linkedin"
        assert owner_name == f"Owner {lead.owner_id}"
        if lead.lead_type == "SPONSORED":
            urn = lead.entity["leadMetadata"]["sponsoredLeadMetadata"]["campaign"]
            assert campaign == int(urn.rsplit(":", 1)[1])
            assert campaign_name == f"Campaign {campaign} – “Q3”, (EU)"
            assert creative == int(lead.entity["associatedEntity"]["associatedCreative"].rsplit(":", 1)[1])
            assert event is None
        elif lead.lead_type == "EVENT":
            assert event == int(lead.entity["associatedEntity"]["event"].rsplit(":", 1)[1]) > 2**63 // 2
            assert campaign is None and creative is None
            events += 1
    assert events > 0


def test_an_organization_only_data_set_loads(make_pipeline: MakePipeline) -> None:
    """The emulator once made event ids above 2**63 when the first form (id above 2**53) was an
    organization's: its event leads could not be stored in a 64-bit column."""
    data = generate(NOW_MS, accounts=0, organizations=1, forms_per_owner=2, leads=120)
    with LinkedInEmulator(data) as emulator:
        pipeline = run(emulator, make_pipeline)
        every_lead_once(pipeline, emulator)
        events = sql(pipeline, "SELECT event_id FROM lead_form_responses WHERE lead_type = 'EVENT'")
        assert events and all(2**62 < e[0] < 2**63 for e in events)


def test_organic_leads_and_their_forms(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    pipeline = run(emulator, make_pipeline)
    organization = emulator.data.organizations[0]
    organic = sorted(lead.id for lead in emulator.visible_leads() if lead.owner_kind == "organization")
    loaded = sql(
        pipeline,
        "SELECT id, lead_type FROM lead_form_responses WHERE owner_type = 'organization' AND owner_id = %s",
        organization,
    )
    assert sorted(r[0] for r in loaded) == organic
    assert {r[1] for r in loaded} == {"COMPANY", "EVENT", "ORGANIZATION_PRODUCT"}
    forms = sql(
        pipeline,
        "SELECT id FROM lead_forms WHERE owner_type = 'organization' AND owner_id = %s",
        organization,
    )
    assert sorted(f[0] for f in forms) == sorted(
        f.id for f in emulator.data.forms.values() if f.owner_kind == "organization"
    )
    # a SPONSORED query is never sent for an organization, nor an organic one for an ad account
    for record in emulator.calls("leadFormResponses"):
        organic_owner = "organization" in record.params["owner"]
        assert (record.params["leadType"] == {"leadType": "SPONSORED"}) is not organic_owner
    questions = sql(
        pipeline,
        "SELECT q.text FROM lead_forms f JOIN lead_forms__questions q ON q._dlt_parent_id = f._dlt_id"
        " WHERE f.owner_type = 'organization' AND q.predefined_field = 'EMAIL'",
    )
    assert questions and {q[0] for q in questions} == {"Email address"}


def test_late_lead_is_loaded_by_the_next_run_once(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    pipeline = run_once(make_pipeline, emulator)
    rng = random.Random(21)
    form = next(iter(emulator.data.forms))
    owner = emulator.data.forms[form].owner_id
    newest = max(lead.submitted_at for lead in emulator.visible_leads() if lead.owner_id == owner)
    late = emulator.data.make_lead(form, newest - 2 * 3_600_000, rng)  # within the 24 h lookback
    too_late = emulator.data.make_lead(form, newest - 2 * DAY_MS, rng)  # beyond it
    emulator.add_leads([late, too_late])
    pipeline.run(make_source(emulator))
    ids = lead_ids(pipeline)
    assert late.id in ids and too_late.id not in ids
    assert len(ids) == len(set(ids)) == 601
    # a longer lookback reaches the older one; still nothing twice
    pipeline.run(make_source(emulator, lookback_hours=72))
    ids = lead_ids(pipeline)
    assert too_late.id in ids and len(ids) == len(set(ids)) == 602
    every_lead_once(pipeline, emulator)


def test_lenient_shapes_are_read(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    """Numbers sent as strings, nulls, unknown fields and union members do not lose a lead."""
    lead = next(lead for lead in emulator.visible_leads() if lead.lead_type == "SPONSORED")
    entity = lead.entity
    entity["submittedAt"] = str(entity["submittedAt"])
    entity["testLead"] = None
    entity["submitter"] = None
    entity["responseId"] = {"unknown": [1, 2]}
    response = entity["formResponse"]
    for answer in response["answers"]:
        answer["questionId"] = str(answer["questionId"])
    response["consentResponses"][0]["consentId"] = "0"
    # a decoration of the projection, not of the stored lead
    lead.decorations = {"ownerInfo": b',"ownerInfo":{"futureOwnerInfo":{"name":"Renamed owner"}}'}
    entity["associatedEntity"] = {"futureEntity": "urn:li:future:7"}
    lead._json = None
    pipeline = run(emulator, make_pipeline)
    every_lead_once(pipeline, emulator)
    row = sql(
        pipeline,
        "SELECT test_lead, submitter, owner_name, associated_entity, creative_id,"
        " epoch_ms(submitted_at) FROM lead_form_responses WHERE id = %s",
        lead.id,
    )
    assert row == [(False, None, "Renamed owner", "urn:li:future:7", None, lead.submitted_at)]
    answers = sql(pipeline, "SELECT count(*) FROM lead_form_responses__answers WHERE lead_id = %s", lead.id)
    assert answers == [(len(response["answers"]),)]
    assert sql(
        pipeline, "SELECT consent_text FROM lead_form_responses__consents WHERE lead_id = %s", lead.id
    ) == [("Email me updates",)]


TRICKY = [
    "李小龙",
    "Zoë 🚀✨",
    'He said "hi", (twice)',
    "a,b;c|d",
    "O'Brien (CEO), Acme: EU/US",
    "  spaces  ",
    "\\n no newline",
]


def test_non_ascii_answers_round_trip_and_big_ids(make_pipeline: MakePipeline) -> None:
    big = 9_007_199_254_740_993 * 100  # far above 2**53
    data = Dataset()
    data.add_form(
        LeadForm(
            big,
            "sponsoredAccount",
            ACCOUNT,
            "Formulaire « été » 日本",
            NOW_MS - 400 * DAY_MS,
            form_versions(big, 1),
        )
    )
    rng = random.Random(5)
    leads: List[Lead] = []
    for i, text in enumerate(TRICKY):
        lead = data.make_lead(big, NOW_MS - DAY_MS + i, rng)
        for answer in lead.entity["formResponse"]["answers"]:
            if "textQuestionAnswer" in answer["answerDetails"]:
                answer["answerDetails"]["textQuestionAnswer"]["answer"] = text
        leads.append(lead)
    data.leads = leads
    with LinkedInEmulator(data) as emulator:
        pipeline = run(emulator, make_pipeline)
    rows = dict(sql(pipeline, "SELECT id, first_name FROM lead_form_responses"))
    assert [rows[lead.id] for lead in leads] == TRICKY
    assert sql(pipeline, "SELECT DISTINCT form_id FROM lead_form_responses") == [(big,)]
    assert sql(pipeline, "SELECT DISTINCT form_id FROM lead_form_responses__answers") == [(big,)]
    assert sql(pipeline, "SELECT id, name FROM lead_forms") == [(big, "Formulaire « été » 日本")]


def test_unresolvable_versions_keep_every_answer(make_pipeline: MakePipeline) -> None:
    """If LinkedIn does not return the projected form, answers of old versions stay, by id."""
    data = three_version_dataset(per_version=3)
    with LinkedInEmulator(data, project_form=False) as emulator:
        pipeline = run(emulator, make_pipeline)
    assert lead_ids(pipeline) == sorted(lead.id for lead in data.leads)
    total = sum(len(lead.entity["formResponse"]["answers"]) for lead in data.leads)
    assert sql(pipeline, "SELECT count(*) FROM lead_form_responses__answers")[0][0] == total
    # version 3 (the listed one) resolves; versions 1 and 2 keep ids, with no labels
    resolved = sql(
        pipeline,
        "SELECT form_version, count(question_text), count(*) FROM lead_form_responses__answers"
        " GROUP BY 1 ORDER BY 1",
    )
    assert resolved[2][1] == resolved[2][2] and resolved[0][1] == resolved[1][1] == 0
    old = sql(
        pipeline,
        "SELECT option_ids FROM lead_form_responses__answers"
        " WHERE form_version = 1 AND option_ids IS NOT NULL",
    )
    assert old and all(json.loads(r[0]) for r in old)
    columns = {
        r[0]
        for r in sql(pipeline, "SELECT column_name FROM lead_form_responses__answers WHERE form_version = 1")
    }
    assert columns == {
        f"question_{q}"
        for q in (
            100_000_000 + FORM,
            200_000_000 + FORM,
            300_000_000 + FORM,
            400_000_000 + FORM,
            500_000_000 + FORM,
            700_000_000 + FORM,
        )
    }


def test_column_names_survive_a_relabel_across_runs(make_pipeline: MakePipeline) -> None:
    data = Dataset()
    data.add_form(
        LeadForm(FORM, "sponsoredAccount", ACCOUNT, "F", NOW_MS - 400 * DAY_MS, form_versions(FORM, 1))
    )
    rng = random.Random(8)
    data.leads.append(data.make_lead(FORM, NOW_MS - DAY_MS, rng))
    with LinkedInEmulator(data) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT]))
        # the form gets a version 2 that relabels the custom question; a lead is submitted on it
        data.forms[FORM].versions = form_versions(FORM, 2)
        emulator.add_leads([data.make_lead(FORM, int(time.time() * 1000) - 1000, rng, version=2)])
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT]))
    values = sql(pipeline, "SELECT form_version, team_size FROM lead_form_responses ORDER BY 1")
    assert [v[0] for v in values] == [1, 2] and all(v[1] for v in values)
    assert "how_big_is_your_team" not in {
        r[0] for r in sql(pipeline, "SELECT column_name FROM information_schema.columns")
    }


def question(question_id: int, text: str, predefined: Any = None) -> Dict[str, Any]:
    if predefined:
        return text_question(question_id, text, text, predefined)
    return choice_question(question_id, "Custom question 0", text, ["a"])


@pytest.mark.parametrize(
    "text,predefined,expected",
    [
        ("First name", "FIRST_NAME", "first_name"),
        ("Work e-mail", "WORK_EMAIL", "work_email"),
        ("Team size?", None, "team_size"),
        ("Wie groß ist Ihr Team?", None, "wie_gross_ist_ihr_team"),
        ("Budget (€) for 2027?", None, "budget_for_2027"),
        ("2027 budget", None, "q_2027_budget"),
        ("你的预算是多少", None, "question_42"),
        ("Email", None, "email_42"),  # a predefined field's name
        ("Submitted at", None, "submitted_at_42"),  # a lead column
        ("Hidden UTM", None, "hidden_utm_42"),  # the hidden fields' prefix
        ("x" * 80, None, "x" * 60),
    ],
)
def test_column_naming_rule(text: str, predefined: Any, expected: str) -> None:
    columns = QuestionColumns({})
    assert columns.name(question(42, text, predefined), "en_US", {}) == expected


def test_column_naming_collisions_and_memory() -> None:
    names: Dict[str, str] = {}
    columns = QuestionColumns(names)
    taken: Dict[str, int] = {}
    first = columns.name(question(1, "Budget?"), "en_US", taken)
    taken[first] = 1
    second = columns.name(question(2, "Budget!"), "en_US", taken)
    assert (first, second) == ("budget", "budget_2")
    # the same text in another form shares the column
    assert columns.name(question(3, "Budget?"), "en_US", {}) == "budget"
    # a relabelled question keeps its name; the mapping is what the source state keeps
    assert columns.name(question(1, "Annual budget?"), "en_US", {}) == "budget"
    assert names == {"1": "budget", "2": "budget_2", "3": "budget"}
    assert QuestionColumns(dict(names)).name(question(2, "Other"), "en_US", {}) == "budget_2"


def test_generated_demo_data_uses_every_answer_kind() -> None:
    data = generate(NOW_MS, leads=100)
    kinds = {
        next(iter(a["answerDetails"])) for lead in data.leads for a in lead.entity["formResponse"]["answers"]
    }
    assert kinds == {"textQuestionAnswer", "multipleChoiceAnswer"}
    assert from_epoch_ms(0).year == 1970


def test_form_versions_are_looked_up_by_the_slice_readers_not_the_table_builders(
    make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form-version lookup is a request to LinkedIn: made in the two table builders, every
    reader's lookups queued behind them (10 owners at 200 ms took twice the slowest owner)."""
    threads: List[str] = []
    original = LinkedInClient.form_version

    def recorded(self: LinkedInClient, *args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(self, *args)

    monkeypatch.setattr(LinkedInClient, "form_version", recorded)
    data = three_version_dataset()
    with LinkedInEmulator(data) as emulator:
        pipeline = run(emulator, make_pipeline)
        every_lead_once(pipeline, emulator)
    assert len(threads) == 2  # versions 1 and 2 (3 is listed), once each
    assert not [name for name in threads if name.startswith("linkedin_leads_tables")], threads


def test_form_version_lookups_do_not_hold_a_page_slot(
    make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six owners meet older form versions on their first pages at about the same time: their
    lookups run at once, not two at a time behind the readers' page slots (holding a slot
    through a lookup, 10 owners at 200 ms took 2.0x the slowest owner instead of 1.15x)."""
    lock = threading.Lock()
    in_flight, most = [0], [0]
    original = LinkedInClient.form_version

    def slow(self: LinkedInClient, *args: Any) -> Any:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            time.sleep(0.3)  # LinkedIn's time to answer
            return original(self, *args)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(LinkedInClient, "form_version", slow)
    data = generate(NOW_MS, accounts=6, organizations=0, forms_per_owner=1, leads=300)
    with LinkedInEmulator(data) as emulator:
        pipeline = run(emulator, make_pipeline, concurrency=10)
        every_lead_once(pipeline, emulator)
    assert most[0] > DECODED_PAGES, most


def test_a_failed_form_version_lookup_fails_as_itself(make_pipeline: MakePipeline) -> None:
    """A lookup made from a page's body before decoding it is the reader's own request: its
    error is raised as LinkedIn gave it, naming the lookup, and the lookup is not asked again as
    a page whose body could not be read would be."""
    data = three_version_dataset()
    refused = Fault(
        query="&versionedLeadGenFormUrn=urn",
        status=400,
        body={"status": 400, "code": "ILLEGAL_ARGUMENT", "message": "Invalid versionedLeadGenFormUrn"},
        times=100,
    )
    with LinkedInEmulator(data) as emulator:
        emulator.faults.append(refused)
        with pytest.raises(PipelineStepFailed) as failed:
            run(emulator, make_pipeline)
        lookups = [r for r in emulator.calls() if "&versionedLeadGenFormUrn=urn" in r.query]
    error = failed.value.__cause__
    while error is not None and not isinstance(error, LinkedInAPIError):
        error = error.__cause__
    assert isinstance(error, LinkedInAPIError) and not isinstance(error, LinkedInPagingLimitError), error
    assert (error.status, error.code) == (400, "ILLEGAL_ARGUMENT")
    assert "versionedLeadGenFormUrn=urn" in error.url
    assert len(lookups) == 1
