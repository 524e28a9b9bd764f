"""When LinkedIn leaves out what the projection asked for: names and older form versions.

LinkedIn's one published real lead (its Lead Sync Postman collection, "Fetch Full Lead Data")
was asked for ``ownerInfo``, ``leadMetadataInfo``, ``associatedEntityInfo`` and ``form:(...)``
and came back with none of them, but with ``submitter``, ``leadMetadata`` and
``associatedEntity``, which it did not ask for. Each of those shapes is an emulator switch
(``decorations``, ``project_form``, ``extra_fields``); each test checks by SQL what landed.
"""

import json
import random
from pathlib import Path
from typing import Callable, Dict, List, Set, Tuple

import dlt

from linkedin_leads.api.urns import versioned_form_urn
from linkedin_leads.emulator import Dataset, LeadForm, LinkedInEmulator
from linkedin_leads.emulator.data import DAY_MS, form_versions
from linkedin_leads.emulator.server import account_name, campaign_name, creative_name

from .conftest import NOW_MS, every_lead_once, make_source, sql
from .test_linkedin_shapes import by_id, loaded_by_id
from .test_notifications import pipeline_at, start_service, subscribe_all, wait_loaded
from .test_readable_leads import ACCOUNT, FORM, three_version_dataset

MakePipeline = Callable[..., dlt.Pipeline]
ENTITY_PATHS = ("/rest/adAccounts/", "/rest/organizations/")


def entity_calls(emulator: LinkedInEmulator) -> List[str]:
    """Paths of the name lookups the emulator answered (ad accounts, campaigns, creatives,
    organizations read by key)."""
    return [r.path for r in emulator.requests if r.path.startswith(ENTITY_PATHS)]


def attribution(emulator: LinkedInEmulator) -> Tuple[Set[int], Set[str], Set[int], Set[int]]:
    """The campaigns, creatives, ad accounts and organizations the visible leads name."""
    campaigns, creatives, accounts, organizations = set(), set(), set(), set()
    for lead in emulator.visible_leads():
        if lead.lead_type == "SPONSORED":
            accounts.add(lead.owner_id)
            campaign = lead.entity["leadMetadata"]["sponsoredLeadMetadata"]["campaign"]
            campaigns.add(int(campaign.rsplit(":", 1)[1]))
            creatives.add(lead.entity["associatedEntity"]["associatedCreative"])
        else:
            organizations.add(lead.owner_id)
    return campaigns, creatives, accounts, organizations


def test_names_come_from_the_entities_when_leads_carry_no_decorations(
    dataset: Dataset, make_pipeline: MakePipeline
) -> None:
    with LinkedInEmulator(dataset, decorations=False) as emulator:
        columns = "owner_name, campaign_name, creative_name, campaign_id, creative_id"
        pipeline, rows = loaded_by_id(emulator, make_pipeline, columns)
        for lead in emulator.visible_leads():
            owner, campaign, creative, campaign_id, creative_id = rows[lead.id]
            if lead.lead_type == "SPONSORED":
                urn = lead.entity["associatedEntity"]["associatedCreative"]
                assert owner == account_name(lead.owner_id)
                assert campaign == campaign_name(campaign_id)
                assert (creative, creative_id) == (creative_name(urn), int(urn.rsplit(":", 1)[1]))
            else:
                assert owner == f"Organization {lead.owner_id}"
                assert campaign is None and creative is None
        # the call budget: one lookup per owner, campaign and creative in the run, no more
        campaigns, creatives, accounts, organizations = attribution(emulator)
        calls = entity_calls(emulator)
        assert len(calls) == len(set(calls))
        assert {p for p in calls if p.count("/") == 3} == {f"/rest/adAccounts/{a}" for a in accounts} | {
            f"/rest/organizations/{o}" for o in organizations
        }
        assert len([p for p in calls if "/adCampaigns/" in p]) == len(campaigns)
        assert len([p for p in calls if "/creatives/" in p]) == len(creatives)
        # creatives are keyed by their URN, percent-encoded
        assert all("urn%3Ali%3AsponsoredCreative%3A" in p for p in calls if "/creatives/" in p)
        # a second run looks them up again once (names may change), and only for what it reads
        emulator.reset_log()
        pipeline.run(make_source(emulator))
        again = entity_calls(emulator)
        assert len(again) == len(set(again)) <= len(calls)


def test_no_lookup_when_the_decorations_are_there(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    with LinkedInEmulator(dataset) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator))
        every_lead_once(pipeline, emulator)
        assert entity_calls(emulator) == []
        assert sql(pipeline, "SELECT count(*) FROM lead_form_responses WHERE owner_name IS NULL") == [(0,)]


def test_without_r_ads_the_ids_stay_and_one_warning_names_the_scope(
    dataset: Dataset, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    with LinkedInEmulator(dataset, decorations=False) as emulator:
        emulator.scopes = {"r_marketing_leadgen_automation", "r_organization_admin"}
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator))
        every_lead_once(pipeline, emulator)
        sponsored = sql(
            pipeline,
            "SELECT count(*), count(owner_name), count(campaign_name), count(creative_name),"
            " count(campaign_id), count(creative_id) FROM lead_form_responses WHERE lead_type = 'SPONSORED'",
        )[0]
        assert (
            sponsored[0] > 0 and sponsored[1:4] == (0, 0, 0) and sponsored[4] == sponsored[5] == sponsored[0]
        )
        organic = sql(
            pipeline,
            "SELECT count(*), count(owner_name) FROM lead_form_responses WHERE lead_type <> 'SPONSORED'",
        )[0]
        assert organic[0] == organic[1] > 0  # organizations need r_organization_admin, which it has
        warnings = [line for line in dlt_log if line.startswith("WARNING") and "`r_ads`" in line]
        assert len(warnings) == 1, warnings
        assert "stay NULL" in warnings[0] and "ids are loaded" in warnings[0]
        # refused once per entity, not once per lead
        calls = entity_calls(emulator)
        assert len(calls) == len(set(calls))


def test_the_published_lead_shape_loads_whole(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    """No decorations, no ``form``, and fields that were not asked for: LinkedIn's own sample."""
    with LinkedInEmulator(dataset, decorations=False, project_form=False, extra_fields=True) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator))
        every_lead_once(pipeline, emulator)
        rows = by_id(pipeline, "submitter, owner_name, email, form_version")
        answers = set(sql(pipeline, "SELECT lead_id, answer FROM lead_form_responses__answers"))
        for lead in emulator.visible_leads():
            submitter, owner, email, version = rows[lead.id]
            assert submitter == lead.entity["submitter"] and owner is not None
            assert (lead.id, f"{lead.id[:8]}@example.com") in answers
            if version == emulator.data.forms[lead.form_id].version_id:  # listed: resolved
                assert email == f"{lead.id[:8]}@example.com"


def test_unrequested_fields_are_ignored(dataset: Dataset, make_pipeline: MakePipeline) -> None:
    with LinkedInEmulator(dataset, extra_fields=True) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator))
        every_lead_once(pipeline, emulator)
        lookups = [r for r in emulator.calls("leadFormResponses") if "versionedLeadGenFormUrn" in r.params]
        # the form-version lookup asks for two fields and gets the whole lead: still read right
        assert lookups
        unlabelled = sql(
            pipeline,
            "SELECT count(*) FROM lead_form_responses__answers WHERE question_text IS NULL",
        )
        assert unlabelled == [(0,)]


def labels(pipeline: dlt.Pipeline) -> Dict[int, Tuple[int, int]]:
    """Per form version: answers, and answers with their question's text."""
    return {
        version: (total, labelled)
        for version, total, labelled in sql(
            pipeline,
            "SELECT form_version, count(*), count(question_text) FROM lead_form_responses__answers"
            " GROUP BY 1 ORDER BY 1",
        )
    }


def raw_columns(pipeline: dlt.Pipeline) -> List[str]:
    return [
        r[0]
        for r in sql(
            pipeline,
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'lead_form_responses' AND column_name LIKE 'question_%'",
        )
    ]


def test_a_version_without_form_loads_raw_and_a_later_run_fills_the_labels(
    make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    data = three_version_dataset(per_version=4)
    with LinkedInEmulator(data, project_form=False) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        every_lead_once(pipeline, emulator)
        first = labels(pipeline)
        assert first[3][0] == first[3][1] > 0  # the listed version resolves
        assert first[1][1] == first[2][1] == 0 and first[1][0] > 0  # the older two keep ids only
        for version in (1, 2):
            urn = versioned_form_urn(FORM, version)
            assert any(line.startswith("WARNING") and urn in line for line in dlt_log), urn
        raw = raw_columns(pipeline)
        assert raw and all(column.startswith("question_") for column in raw)
        # the raw values: option ids of multiple-choice answers, in the answers table and the wide row
        old = sql(
            pipeline,
            "SELECT lead_id, column_name, answer, option_ids FROM lead_form_responses__answers"
            " WHERE form_version = 1 AND option_ids IS NOT NULL",
        )
        assert old
        for lead_id, column, answer, option_ids in old:
            assert answer == "; ".join(str(o) for o in json.loads(option_ids))
            assert sql(pipeline, f"SELECT {column} FROM lead_form_responses WHERE id = %s", lead_id) == [
                (answer,)
            ]
        # LinkedIn honours the projection again: the next run reads those versions and reloads
        emulator.project_form = True
        emulator.reset_log()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        every_lead_once(pipeline, emulator)
        second = labels(pipeline)
        assert all(total == labelled for total, labelled in second.values()), second
        for column in raw:  # the raw columns of those leads are empty now
            assert sql(pipeline, f"SELECT count({column}) FROM lead_form_responses") == [(0,)]
        again = [r for r in emulator.calls("leadFormResponses") if "versionedLeadGenFormUrn" in r.params]
        reread = [r for r in again if "submittedAtTimeRange" in r.params]
        assert {r.params["versionedLeadGenFormUrn"] for r in reread} == {
            versioned_form_urn(FORM, 1),
            versioned_form_urn(FORM, 2),
        }
        for r in reread:  # over the time of the leads kept, not the whole window
            version = int(r.params["versionedLeadGenFormUrn"].rsplit(",", 1)[1][:-1])
            times = [x.submitted_at for x in data.leads if x.form_version == version]
            span = r.params["submittedAtTimeRange"]
            assert (int(span["start"]), int(span["end"])) == (min(times) - 1, max(times) + 1)
        state = pipeline.state["sources"]["linkedin_leads"]
        assert state["unresolved_form_versions"] == {}
        # and the run after that reads nothing again
        emulator.reset_log()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        assert not [r for r in emulator.calls("leadFormResponses") if "versionedLeadGenFormUrn" in r.params]


def test_a_version_published_after_the_listing_is_read_from_the_form(make_pipeline: MakePipeline) -> None:
    """Leads on a version newer than the one listed: ``GET leadForms/{id}`` gives it, even
    without the ``form`` projection; until it does, the leads wait in the state."""
    data = three_version_dataset(per_version=4)
    versions = data.forms[FORM].versions
    data.forms[FORM].versions = versions[:2]  # the listing still shows version 2
    with LinkedInEmulator(data, project_form=False) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        every_lead_once(pipeline, emulator)
        assert [r.path for r in emulator.calls("/rest/leadForms/")] == [f"/rest/leadForms/{FORM}"] * 2
        first = labels(pipeline)
        assert first[2][0] == first[2][1] and first[1][1] == first[3][1] == 0
        pending = pipeline.state["sources"]["linkedin_leads"]["unresolved_form_versions"]
        assert sorted(pending) == [f"{FORM}:1", f"{FORM}:3"]
        data.forms[FORM].versions = versions  # now listed as current
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        every_lead_once(pipeline, emulator)
        second = labels(pipeline)
        assert second[3][0] == second[3][1] and second[2][0] == second[2][1]
        assert second[1][1] == 0  # version 1 still cannot be read: still pending
        pending = pipeline.state["sources"]["linkedin_leads"]["unresolved_form_versions"]
        assert sorted(pending) == [f"{FORM}:1"]


def test_a_listed_version_is_kept_for_its_late_leads(make_pipeline: MakePipeline) -> None:
    """A version listed once resolves its leads after the form moved on, with no `form` projection."""
    data = Dataset()
    data.add_form(
        LeadForm(FORM, "sponsoredAccount", ACCOUNT, "F", NOW_MS - 400 * DAY_MS, form_versions(FORM, 2))
    )
    versions = data.forms[FORM].versions
    data.forms[FORM].versions = versions[:1]
    rng = random.Random(3)
    data.leads.append(data.make_lead(FORM, NOW_MS - 2 * DAY_MS, rng))
    with LinkedInEmulator(data, project_form=False) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        data.forms[FORM].versions = versions  # version 2 published; a late lead on version 1 arrives
        emulator.add_leads([data.make_lead(FORM, NOW_MS - DAY_MS, rng, version=1)])
        emulator.reset_log()
        pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
        every_lead_once(pipeline, emulator)
        total, labelled = labels(pipeline)[1]
        assert total == labelled > 0
        assert not [r for r in emulator.calls("leadFormResponses") if "versionedLeadGenFormUrn" in r.params]
        assert not emulator.calls("/rest/leadForms/")


def test_notified_leads_without_decorations_get_their_names(dataset: Dataset, tmp_path: Path) -> None:
    """The receiver's loader reads leads by id: the same lookups, once per entity."""
    with LinkedInEmulator(dataset, allow_http_webhooks=True, decorations=False) as emulator:
        # one batch (a batch is a run: the names are looked up once per entity per batch)
        service = start_service(emulator, tmp_path, batch_size=40, batch_seconds=120)
        try:
            subscribe_all(emulator, service.url)
            notified = [x for x in emulator.visible_leads() if x.lead_type == "SPONSORED"][:40]
            for lead in notified:
                assert emulator.notifications.notify(lead) == [200]
            wait_loaded(tmp_path / "journal.sqlite")
        finally:
            service.stop()
        rows = by_id(pipeline_at(tmp_path, "pull"), "owner_name, campaign_name, creative_name")
        assert len(rows) == len(notified)
        for lead in notified:
            urn = lead.entity["associatedEntity"]["associatedCreative"]
            campaign = int(lead.entity["leadMetadata"]["sponsoredLeadMetadata"]["campaign"].rsplit(":", 1)[1])
            assert rows[lead.id] == (account_name(lead.owner_id), campaign_name(campaign), creative_name(urn))
        calls = entity_calls(emulator)
        assert calls and len(calls) == len(set(calls))
