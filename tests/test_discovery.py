"""With no owner configured, every ad account and lead-gen organization the token reaches is read."""

from typing import Callable, List

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from linkedin_leads import LinkedInConfigError, find_cause
from linkedin_leads.emulator import Dataset, Fault, LinkedInEmulator

from .conftest import lead_ids, make_source

MakePipeline = Callable[..., dlt.Pipeline]


def test_discovers_accounts_over_pages_and_lead_gen_organizations(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    emulator.extra_accounts = [520000000 + i for i in range(5)]  # readable, without forms or leads
    emulator.extra_acls = [(2999999, "RECRUITING_POSTER")]  # a role that does not reach leads
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=None, organization_ids=None, page_size=3))
    assert lead_ids(pipeline) == sorted(lead.id for lead in emulator.visible_leads())
    account_calls = emulator.calls("adAccounts")
    assert len(account_calls) == 3 and account_calls[1].params["pageToken"] == "3"  # 7 accounts, 3 a page
    listed = {next(iter(r.params["owner"].values())) for r in emulator.calls("leadForms")}
    assert len(listed) == 2 + 5 + 1  # every account, the lead-gen organization, not the other one
    assert not any("2999999" in owner for owner in listed)
    assert any(line.startswith("INFO Discovered LinkedIn owners") and "520000004" in line for line in dlt_log)


def test_organizations_over_short_pages_are_all_read(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    # ACLs have no id: paging must not take the ACLs of the page after a short one for repeats
    extra = [2900000 + i for i in range(10)]
    emulator.extra_acls = [(organization, "ADMINISTRATOR") for organization in extra]
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=None, organization_ids=None, page_size=3))
    acl_pages = emulator.calls("organizationAcls")
    assert len(acl_pages) > 4  # 11 ACLs, 3 a page, some pages short
    listed = " ".join(r.query for r in emulator.calls("leadForms"))
    missing = [organization for organization in extra if f"organization%3A{organization}" not in listed]
    assert not missing


def test_nothing_discovered_says_what_was_searched(make_pipeline: MakePipeline) -> None:
    with LinkedInEmulator(Dataset()) as emulator:
        with pytest.raises(PipelineStepFailed) as failure:
            make_pipeline().run(make_source(emulator, account_ids=None, organization_ids=None))
        error = find_cause(failure.value, LinkedInConfigError)
        assert error is not None
        for fragment in (
            "adAccounts?q=search",
            "r_ads",
            "organizationAcls?q=roleAssignee",
            "r_organization_admin",
        ):
            assert fragment in str(error)
        assert not emulator.calls("leadForms") and not emulator.calls("leadFormResponses")


def test_organizations_refused_still_reads_accounts(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    emulator.inject(Fault(path="organizationAcls", status=403, body={"status": 403, "code": "ACCESS_DENIED"}))
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=None, organization_ids=None))
    accounts = [lead for lead in emulator.visible_leads() if lead.owner_kind == "sponsoredAccount"]
    assert lead_ids(pipeline) == sorted(lead.id for lead in accounts)
    assert any(line.startswith("WARNING") and "r_organization_admin" in line for line in dlt_log)
