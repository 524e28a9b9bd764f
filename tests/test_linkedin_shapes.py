"""Shapes real LinkedIn sends that this project's emulator did not: each behind an emulator
switch, each checked by SQL on what landed in DuckDB.

MultiLocaleString names in the ``*Info`` decorations, error bodies without ``code``, creative
names in ``associatedEntityInfo``, answer kinds the source does not know, and discovered ad
accounts whose leads are refused.
"""

import json
from typing import Any, Callable, Dict, List, Tuple

import dlt
import pytest

from linkedin_leads import LinkedInAccessError, LinkedInAuthError
from linkedin_leads.emulator import Dataset, LinkedInEmulator
from linkedin_leads.emulator.server import UNKNOWN_ANSWER, UNKNOWN_ANSWER_KIND, creative_name

from .conftest import every_lead_once, lead_ids, make_source, oauth, run_once, sql
from .test_faults import failure

MakePipeline = Callable[..., dlt.Pipeline]


def by_id(pipeline: dlt.Pipeline, columns: str) -> Dict[str, Any]:
    return {row[0]: row[1:] for row in sql(pipeline, f"SELECT id, {columns} FROM lead_form_responses")}


def loaded_by_id(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, columns: str
) -> Tuple[dlt.Pipeline, Dict[str, Any]]:
    """One run over ``emulator``, every lead checked to be there once; the pipeline, and the
    ``columns`` of each lead by id."""
    pipeline = run_once(make_pipeline, emulator)
    every_lead_once(pipeline, emulator)
    return pipeline, by_id(pipeline, columns)


@pytest.mark.parametrize("shape", ["string", "multilocale", "multilocale_only"])
def test_names_as_text_or_multilocale_strings(
    dataset: Dataset, make_pipeline: MakePipeline, shape: str
) -> None:
    """LinkedIn's organization decorations send ``name`` as a MultiLocaleString."""
    with LinkedInEmulator(dataset, name_shape=shape) as emulator:
        _, rows = loaded_by_id(emulator, make_pipeline, "owner_name, campaign_name, creative_name")
        for lead in emulator.visible_leads():
            owner, campaign, creative = rows[lead.id]
            assert owner == f"Owner {lead.owner_id}"
            if lead.lead_type == "SPONSORED":
                urn = lead.entity["leadMetadata"]["sponsoredLeadMetadata"]["campaign"]
                assert campaign == f"Campaign {urn.rsplit(':', 1)[1]} – “Q3”, (EU)"
                assert creative == creative_name(lead.entity["associatedEntity"]["associatedCreative"])
            else:
                assert campaign is None and creative is None


def test_a_value_of_an_unexpected_type_becomes_json_text(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    lead = next(x for x in emulator.visible_leads() if x.lead_type == "SPONSORED")
    lead.entity["submitter"] = {"person": "urn:li:person:abc"}
    lead._json = None
    lead.decorations = {
        "ownerInfo": b',"ownerInfo":{"sponsoredAccountInfo":{"name":["Acme","EU"]}}',
        "associatedEntityInfo": (
            b',"associatedEntityInfo":{"associatedCreative":{"id":"urn:li:sponsoredCreative:1"}}'
        ),
    }
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    every_lead_once(pipeline, emulator)
    submitter, owner, creative, info = by_id(
        pipeline, "submitter, owner_name, creative_name, associated_entity_info"
    )[lead.id]
    assert json.loads(submitter) == {"person": "urn:li:person:abc"}
    assert json.loads(owner) == ["Acme", "EU"]
    # a creative decoration without a name: kept whole, as JSON text
    assert creative is None
    assert json.loads(info) == {"associatedCreative": {"id": "urn:li:sponsoredCreative:1"}}


def test_creative_names_from_associated_entity_info(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    for names in (True, False):
        with LinkedInEmulator(dataset, entity_names=names) as emulator:
            pipeline = make_pipeline(f"creatives_{names}")
            pipeline.run(make_source(emulator))
            finder = [r for r in emulator.calls("leadFormResponses") if "submittedAtTimeRange" in r.params]
            assert finder and all("associatedEntityInfo" in r.params["fields"] for r in finder)
            rows = by_id(pipeline, "creative_id, creative_name, associated_entity_info")
            sponsored = [x for x in emulator.visible_leads() if x.lead_type == "SPONSORED"]
            assert sponsored
            for lead in sponsored:
                urn = lead.entity["associatedEntity"]["associatedCreative"]
                creative_id, name, info = rows[lead.id]
                assert creative_id == int(urn.rsplit(":", 1)[1])
                if names:
                    assert (name, info) == (creative_name(urn), None)
                else:
                    assert name is None and json.loads(info) == {"associatedCreative": {"id": urn}}


def test_an_unknown_answer_kind_keeps_its_json_text(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    with LinkedInEmulator(dataset, unknown_answer_kind=True) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator))
        every_lead_once(pipeline, emulator)  # every answer row is there
        unknown = [
            (lead.id, answer["questionId"])
            for lead in emulator.visible_leads()
            for answer in lead.entity["formResponse"]["answers"]
            if UNKNOWN_ANSWER_KIND in answer["answerDetails"]
        ]
        assert len(unknown) > 50
        answers = {
            (lead_id, question_id): (answer, column)
            for lead_id, question_id, answer, column in sql(
                pipeline, "SELECT lead_id, question_id, answer, column_name FROM lead_form_responses__answers"
            )
        }
        for key in unknown:
            answer, column = answers[key]
            assert json.loads(answer) == {UNKNOWN_ANSWER_KIND: UNKNOWN_ANSWER}
            wide = sql(pipeline, f"SELECT {column} FROM lead_form_responses WHERE id = %s", key[0])
            assert wide[0][0] == answer  # the wide row keeps it too


def test_token_renewed_from_bodies_without_code(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    """LinkedIn's error-handling page: status, serviceErrorCode and message, no code."""
    with LinkedInEmulator(dataset, error_codes=False) as emulator:
        emulator.token_uses = 6  # every access token expires after six calls
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, credentials=oauth(emulator), page_size=40))
        every_lead_once(pipeline, emulator)
        assert len([r for r in emulator.requests if r.path == "/oauth/v2/accessToken"]) > 2
        assert any(r.status == 401 for r in emulator.calls())


def test_a_token_refused_after_every_renewal_says_so(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    with LinkedInEmulator(dataset, error_codes=False) as emulator:
        emulator.token_uses = 0  # LinkedIn refuses every new token at once (access revoked)
        error = failure(make_pipeline(), make_source(emulator, credentials=oauth(emulator), concurrency=1))
        assert isinstance(error, LinkedInAuthError)
        assert "even after 3 new one(s)" in str(error) and "authorize it again" in str(error)
        assert "65602" in str(error) and "test-client-secret" not in str(error)


def test_an_expired_access_token_without_code_says_how_to_renew(
    dataset: Dataset, make_pipeline: MakePipeline
) -> None:
    with LinkedInEmulator(dataset, error_codes=False) as emulator:
        emulator.expire_access_tokens()
        error = failure(make_pipeline(), make_source(emulator))
        assert isinstance(error, LinkedInAuthError)
        assert "has expired or was revoked (LinkedIn access tokens live 60 days)" in str(error)


def test_a_sunset_version_without_code_still_falls_back(
    dataset: Dataset, make_pipeline: MakePipeline
) -> None:
    with LinkedInEmulator(dataset, error_codes=False, versions={"202605", "202610"}) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, api_version="202609"))
        every_lead_once(pipeline, emulator)


def test_discovered_accounts_whose_leads_are_refused_are_skipped(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    """adAccounts?q=search lists accounts whose leads need a role on their company page too."""
    refused = emulator.data.accounts[0]
    emulator.leads_refused = {f"urn:li:sponsoredAccount:{refused}"}
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=None, organization_ids=None))
    assert lead_ids(pipeline) == sorted(x.id for x in emulator.visible_leads() if x.owner_id != refused)
    warning = next(
        line for line in dlt_log if line.startswith(f"WARNING Skipped urn:li:sponsoredAccount:{refused}")
    )
    assert "company page" in warning and "CAMPAIGN_MANAGER" in warning
    # configured, the same account fails the run (unless skip_inaccessible_owners)
    error = failure(make_pipeline("configured"), make_source(emulator))
    assert isinstance(error, LinkedInAccessError) and error.owner_urn == f"urn:li:sponsoredAccount:{refused}"


def test_lead_capture_administrators_are_discovered(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    emulator.extra_acls = [(2999999, "LEAD_CAPTURE_ADMINISTRATOR"), (2999998, "RECRUITING_POSTER")]
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=None, organization_ids=None))
    listed = " ".join(r.query for r in emulator.calls("leadForms"))
    assert "organization%3A2999999" in listed and "organization%3A2999998" not in listed


def test_pages_of_irregular_answers_beside_regular_ones(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number where LinkedIn documents a text answer: that lead's page is read by msgspec (the
    number kept as JSON text), the other pages by pyarrow; every lead and answer lands once."""
    from linkedin_leads.tables import answers

    ways: List[bool] = []
    read_answers = answers.read_answers

    def counted(body: bytes) -> Any:
        found = read_answers(body)
        ways.append(found is not None)
        return found

    monkeypatch.setattr("linkedin_leads.tables.records.read_answers", counted)
    lead = next(x for x in emulator.visible_leads() if x.lead_type == "SPONSORED")
    answer = next(
        a for a in lead.entity["formResponse"]["answers"] if "textQuestionAnswer" in a["answerDetails"]
    )
    answer["answerDetails"]["textQuestionAnswer"]["answer"] = 12345
    lead._json = None
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    every_lead_once(pipeline, emulator)
    assert ways.count(False) == 1 and ways.count(True) >= 1
    (stored,) = sql(
        pipeline,
        "SELECT answer FROM lead_form_responses__answers WHERE lead_id = %s AND question_id = %s",
        lead.id,
        answer["questionId"],
    )
    assert stored == ("12345",)
