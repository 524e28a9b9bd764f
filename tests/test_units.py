"""Fast unit tests of the pure parts: URNs, paging over a scripted fetch, form versions in the
state and in a body's bytes, and the Arrow tables built from a decoded page of leads (no HTTP,
no destination)."""

from dataclasses import astuple
from typing import Any, Dict, List, Optional, Set, Tuple

import dlt
import pytest
from dlt.common.json import json

from linkedin_leads.api.paging import paginate
from linkedin_leads.api.urns import (
    is_ad_account,
    parse_urn,
    parse_versioned_form_urn,
    urn,
    urn_id,
    versioned_form_urn,
)
from linkedin_leads.tables.forms import FormCatalog, FormVersion, resolve_form_version
from linkedin_leads.tables.lead_tables import LeadTableBuilder
from linkedin_leads.tables.pages import page_tables
from linkedin_leads.tables.questions import QuestionColumns
from linkedin_leads.tables.records import decode_lead_page, form_version_urns


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("urn:li:sponsoredAccount:512345678", ("sponsoredAccount", 512345678)),
        ("urn:li:organization:2414183", ("organization", 2414183)),
        ("urn:li:sponsoredCreative:9007199254740993", ("sponsoredCreative", 9007199254740993)),
        ("urn:li:person:AbC-123", None),  # member URNs are not numeric
        ("urn:li:sponsoredAccount:", None),
        ("urn:li:sponsoredAccount:12 ", None),
        ("512345678", None),
        (None, None),
        (512345678, None),
    ],
)
def test_parse_urn(value: Any, parsed: Optional[Tuple[str, int]]) -> None:
    assert parse_urn(value) == parsed
    assert urn_id(value) == (parsed[1] if parsed else None)
    if parsed:
        assert urn(*parsed) == value  # the inverse


def test_urn_id_remembers_what_it_parsed() -> None:
    cache: Dict[Any, Optional[int]] = {}
    assert urn_id("urn:li:sponsoredCampaign:7", cache) == 7
    assert urn_id("nonsense", cache) is None
    assert cache == {"urn:li:sponsoredCampaign:7": 7, "nonsense": None}


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("urn:li:versionedLeadGenForm:(urn:li:leadGenForm:42,3)", (42, 3)),
        ("urn:li:versionedLeadGenForm:(urn:li:leadGenForm:9007199254740993,1)", (9007199254740993, 1)),
        ("urn:li:leadGenForm:42", (None, None)),
        ("urn:li:versionedLeadGenForm:(urn:li:leadGenForm:42)", (None, None)),
        (None, (None, None)),
    ],
)
def test_versioned_form_urns(value: Optional[str], parsed: Tuple[Optional[int], Optional[int]]) -> None:
    assert parse_versioned_form_urn(value) == parsed
    form_id, version = parsed
    if form_id is not None and version is not None:
        assert versioned_form_urn(form_id, version) == value  # the inverse


def test_is_ad_account() -> None:
    assert is_ad_account("urn:li:sponsoredAccount:1")
    assert not is_ad_account("urn:li:organization:1")
    assert not is_ad_account("urn:li:sponsoredAccountGroup:1")


def scripted(pages: Dict[int, List[int]], count: int = 3) -> Tuple[Any, List[int]]:
    """A fetch answering each ``start`` with the ids scripted for it (else an empty page)."""
    asked: List[int] = []

    def fetch(start: int) -> Tuple[List[Dict[str, int]], int]:
        asked.append(start)
        return [{"id": i} for i in pages.get(start, [])], count

    return fetch, asked


def test_paging_advances_by_what_came_back_until_an_empty_page() -> None:
    fetch, asked = scripted({0: [1, 2, 3], 3: [4], 4: [5, 6, 7]})  # a short page mid-way
    pages = list(paginate(fetch, lambda e: e["id"]))
    assert [[e["id"] for e in page] for page in pages] == [[1, 2, 3], [4], [5, 6, 7]]
    assert asked == [0, 3, 4, 7]


def test_paging_drops_repeats_within_a_short_pages_window() -> None:
    # a short first page (2 of 3): the next page starts at 2, inside the window [0, 3) the first
    # request covered, and repeats its 2; a repeat from a window already passed is kept (merged)
    fetch, asked = scripted({0: [1, 2], 2: [2, 3, 4], 5: [4, 5]})
    ids = [e["id"] for page in paginate(fetch, lambda e: e["id"]) for e in page]
    assert ids == [1, 2, 3, 4, 4, 5]
    assert asked == [0, 2, 5, 7]


def test_paging_yields_nothing_for_an_empty_first_page() -> None:
    fetch, asked = scripted({})
    assert list(paginate(fetch, lambda e: e["id"])) == []
    assert asked == [0]


FORM: Dict[str, Any] = {
    "id": 42,
    "name": "Demo request",
    "versionId": 2,
    "creationLocale": {"language": "de", "country": "DE"},
    "hiddenFields": [{"name": "utm source", "value": "ads"}],
    "content": {
        "questions": [
            {"questionId": 1, "name": "email", "predefinedField": "EMAIL", "question": {}},
            {
                "questionId": 2,
                "name": "size",
                "question": {"localized": {"de_DE": "Größe des Teams"}},
                "questionDetails": {
                    "multipleChoiceQuestionDetails": {
                        "options": [
                            {"id": 10, "text": {"localized": {"de_DE": "1–10"}}},
                            {"id": 11, "text": {"localized": {"de_DE": "11+"}}},
                        ]
                    }
                },
            },
        ],
        "legalInfo": {
            "consents": [{"id": 7, "consent": {"localized": {"de_DE": "Ja"}}, "checkRequired": True}]
        },
    },
}


def test_form_version_state_round_trip() -> None:
    version = resolve_form_version(FORM, 2, QuestionColumns({}))
    state = json.loads(json.dumps(version.to_state()))  # as the pipeline state keeps it
    again = FormVersion.from_state(42, 2, state)
    assert [astuple(q) for q in again.questions.values()] == [astuple(q) for q in version.questions.values()]
    assert (again.name, again.locale, again.consents, again.hidden_fields) == (
        version.name,
        version.locale,
        version.consents,
        version.hidden_fields,
    )
    assert again.questions[2].options == {10: "1–10", 11: "11+"}
    assert again.hidden_columns == {"hidden_utm_source": "ads"}


def lead(lead_id: str, version: int, answers: List[Dict[str, Any]], **fields: Any) -> Dict[str, Any]:
    return {
        "id": lead_id,
        "submittedAt": 1_767_225_600_000,
        "leadType": "SPONSORED",
        "versionedLeadGenFormUrn": versioned_form_urn(42, version),
        "formResponse": {"answers": answers, "consentResponses": [{"consentId": 7, "accepted": True}]},
        **fields,
    }


def text(question_id: int, value: str) -> Dict[str, Any]:
    return {"questionId": question_id, "answerDetails": {"textQuestionAnswer": {"answer": value}}}


def choice(question_id: int, options: List[int]) -> Dict[str, Any]:
    return {"questionId": question_id, "answerDetails": {"multipleChoiceAnswer": {"options": options}}}


def built(elements: List[Dict[str, Any]], fetch: Any = None) -> Tuple[List[Dict[str, Any]], ...]:
    """The three tables of one page, decoded as the client decodes it, as lists of rows."""
    catalog = FormCatalog(QuestionColumns({}))
    catalog.add_listed(FORM)
    page = decode_lead_page(json.dumps({"elements": elements}).encode()).elements or []
    builder = LeadTableBuilder(catalog, "sponsoredAccount", 5, fetch)
    for one in page:
        builder.add(one)
    return tuple(table.to_pylist() for table in builder.tables())


def test_builder_resolves_answers_against_the_form_version() -> None:
    leads, answers, consents = built(
        [
            lead(
                "a",
                2,
                [text(1, "a@example.com"), choice(2, [10, 11])],
                leadMetadata={"sponsoredLeadMetadata": {"campaign": "urn:li:sponsoredCampaign:99"}},
            )
        ]
    )
    (row,) = leads
    assert row["email"] == "a@example.com" and row["grosse_des_teams"] == "1–10; 11+"
    assert row["hidden_utm_source"] == "ads" and row["campaign_id"] == 99
    assert (row["owner_type"], row["owner_id"], row["form_id"], row["form_version"]) == (
        "sponsoredAccount",
        5,
        42,
        2,
    )
    assert [(a["question_id"], a["question_type"], a["option_labels"]) for a in answers] == [
        (1, "text", None),
        (2, "multiple_choice", '["1–10","11+"]'),
    ]
    assert {a["lead_id"] for a in answers} == {"a"} and answers[0]["submitted_at"] == row["submitted_at"]
    assert consents == [
        {
            "lead_id": "a",
            "consent_id": 7,
            "consent_text": "Ja",
            "accepted": True,
            "check_required": True,
            "form_id": 42,
            "form_version": 2,
            "submitted_at": row["submitted_at"],
        }
    ]


def test_builder_keeps_answers_of_unknown_questions_and_versions() -> None:
    asked: List[Tuple[int, int]] = []

    def fetch(form_id: int, version: int) -> None:
        asked.append((form_id, version))  # LinkedIn has no lead of that version any more

    leads, answers, _ = built(
        [lead("a", 2, [text(3, "not on the form")]), lead("b", 1, [choice(2, [11]), choice(2, [10])])],
        fetch,
    )
    assert asked == [(42, 1)]  # once, though two answers meet it
    by_id = {row["id"]: row for row in leads}
    assert by_id["a"]["question_3"] == "not on the form"
    assert by_id["b"]["question_2"] == "10" and by_id["b"]["form_name"] is None  # option ids, no labels
    placeholders = {(a["lead_id"], a["column_name"], a["question_type"], a["question_text"]) for a in answers}
    assert placeholders == {
        ("a", "question_3", "text", None),
        ("b", "question_2", "multiple_choice", None),
    }


def test_page_tables_filters_test_leads_and_names_the_child_tables() -> None:
    catalog = FormCatalog(QuestionColumns({}))
    catalog.add_listed(FORM)
    page = decode_lead_page(
        json.dumps({"elements": [lead("real", 2, []), lead("test", 2, [], testLead=True)]}).encode()
    ).elements
    assert page is not None
    result = page_tables(LeadTableBuilder(catalog, "sponsoredAccount", 5), page, False)
    assert result is not None
    tables, count, newest = result
    assert count == 1 and newest == 1_767_225_600_000
    assert tables[0]["id"].to_pylist() == ["real"]
    assert [t.meta.hints["table_name"] for t in tables[1:]] == [
        "lead_form_responses__answers",
        "lead_form_responses__consents",
    ]
    assert page_tables(LeadTableBuilder(catalog, "sponsoredAccount", 5), page[1:], False) is None


V1 = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:81,1)"
V2 = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:81,2)"


@pytest.mark.parametrize(
    "body, found",
    [
        (json.dumpb({"elements": [{"versionedLeadGenFormUrn": v} for v in (V1, V2, V1)]}), {V1, V2}),
        # pretty-printed JSON, and a value spelt with escapes
        (b'{"elements": [{"versionedLeadGenFormUrn" :\n "' + V1.encode() + b'"}]}', {V1}),
        (
            b'{"elements":[{"versionedLeadGenFormUrn":"urn:li:versionedLeadGenForm:\\u0028x"}]}',
            {"urn:li:versionedLeadGenForm:(x"},
        ),
        (b'{"elements":[{"versionedLeadGenFormUrn":"a\\"b"}]}', {'a"b'}),
        (b'{"elements":[{"versionedLeadGenFormUrn":null}]}', set()),
        (b'{"elements":[]}', set()),
    ],
)
def test_form_version_urns_are_found_in_the_bytes(body: bytes, found: Set[str]) -> None:
    assert form_version_urns(body) == found


def test_entity_paths_of_name_lookups() -> None:
    from linkedin_leads.tables.names import entity_path

    assert entity_path("urn:li:sponsoredAccount:5", None) == "adAccounts/5"
    assert entity_path("urn:li:organization:7", None) == "organizations/7"
    assert entity_path("urn:li:sponsoredCampaign:3", 5) == "adAccounts/5/adCampaigns/3"
    assert (
        entity_path("urn:li:sponsoredCreative:4", 5)
        == "adAccounts/5/creatives/urn%3Ali%3AsponsoredCreative%3A4"
    )
    # a campaign or creative without its ad account, or another entity: not looked up
    assert entity_path("urn:li:sponsoredCampaign:3", None) is None
    assert entity_path("urn:li:event:1", 5) is None and entity_path("nonsense", 5) is None


def test_missing_names_are_those_without_decorations() -> None:
    from linkedin_leads.tables.names import missing_names

    bare = {
        "id": "a",
        "submittedAt": 1,
        "leadMetadata": {"sponsoredLeadMetadata": {"campaign": "urn:li:sponsoredCampaign:3"}},
        "associatedEntity": {"associatedCreative": "urn:li:sponsoredCreative:4"},
    }
    decorated = {
        **bare,
        "id": "b",
        "ownerInfo": {"sponsoredAccountInfo": {"name": "A"}},
        "leadMetadataInfo": {"sponsoredLeadMetadataInfo": {"campaign": {"name": "C"}}},
        "associatedEntityInfo": {"associatedCreative": {"id": "urn:li:sponsoredCreative:4"}},
    }
    page = decode_lead_page(json.dumps({"elements": [bare, decorated]}).encode()).elements or []
    owner = "urn:li:sponsoredAccount:5"
    assert missing_names(owner, page[:1]) == {
        owner,
        "urn:li:sponsoredCampaign:3",
        "urn:li:sponsoredCreative:4",
    }
    assert missing_names(owner, page[1:]) == set()


def test_unresolved_versions_keep_one_span_per_owner_and_lead_type() -> None:
    from linkedin_leads.tables.forms import UnresolvedVersions

    stored: Dict[str, Any] = {}
    unresolved = UnresolvedVersions(stored)
    for at in (50, 10, 30):
        unresolved.add(8, 1, "urn:li:sponsoredAccount:5", "SPONSORED", at)
    unresolved.add(8, 1, "urn:li:organization:7", "EVENT", 20)
    unresolved.add(8, 2, "urn:li:sponsoredAccount:5", "SPONSORED", 60)
    assert stored == {
        "8:1": [
            ["urn:li:sponsoredAccount:5", "SPONSORED", 10, 50],
            ["urn:li:organization:7", "EVENT", 20, 20],
        ],
        "8:2": [["urn:li:sponsoredAccount:5", "SPONSORED", 60, 60]],
    }
    # a span read again is forgotten; one that grew meanwhile (a lead added since) is kept
    unresolved.done(8, 2, ["urn:li:sponsoredAccount:5", "SPONSORED", 60, 60])
    unresolved.add(8, 1, "urn:li:sponsoredAccount:5", "SPONSORED", 70)
    unresolved.done(8, 1, ["urn:li:sponsoredAccount:5", "SPONSORED", 10, 50])
    assert stored == {
        "8:1": [
            ["urn:li:sponsoredAccount:5", "SPONSORED", 10, 70],
            ["urn:li:organization:7", "EVENT", 20, 20],
        ]
    }
    assert sorted(x[:2] for x in unresolved.pending()) == [(8, 1), (8, 1)]


def test_jsonpath_parsing_is_cached_once_linkedin_leads_is_imported() -> None:
    from dlt.common.jsonpath import compile_path, extract_simple_field_name

    import linkedin_leads  # noqa: F401

    first, again = compile_path("submitted_at"), compile_path("submitted_at")
    assert first is again  # parsed once (about 20 ms a parse in jsonpath_ng), then shared
    assert extract_simple_field_name("submitted_at") == "submitted_at"
    assert [m.value for m in compile_path("a.b").find({"a": {"b": 1}})] == [1]


def test_page_batches_join_pages_of_different_forms() -> None:
    import pyarrow as pa
    from dlt.extract.items import DataItemWithMeta

    from linkedin_leads.tables.pages import PageBatches

    batches = PageBatches(limit=3)
    hints = dlt.mark.with_hints(pa.table({"x": [1]}), dlt.mark.make_hints(table_name="answers"))
    assert isinstance(hints, DataItemWithMeta)
    one = pa.table({"id": ["a", "b"], "question_1": ["x", "y"]})
    two = pa.table({"id": ["c"], "question_2": ["z"]})
    assert batches.add(one) == [] and batches.add(hints) == []
    out = batches.add(two)  # three leads: the limit, handed over
    leads, answers = out
    assert leads.num_rows == 3 and set(leads.column_names) == {"id", "question_1", "question_2"}
    assert leads.column("question_2").to_pylist() == [None, None, "z"]
    assert isinstance(answers, DataItemWithMeta) and answers.meta.hints["table_name"] == "answers"
    assert batches.flush() == []
