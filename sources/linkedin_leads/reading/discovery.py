"""Finds the owners to read when none is configured: ad accounts and organizations; and
``linkedin_access``, the client and owners of ``check`` and the receiver's commands.

- Ad accounts the token can read: ``adAccounts?q=search`` (scope ``r_ads``), cursor-paged with
  ``pageSize``/``pageToken`` as LinkedIn pages ad accounts since version 202401.
- Organizations where the member holds an approved role that reaches lead forms:
  ``organizationAcls?q=roleAssignee&state=APPROVED`` (scope ``r_organization_admin``).
"""

from functools import partial
from typing import Any, Dict, List, Tuple

import dlt
from dlt.common import logger
from dlt.common.configuration import with_config

from ..api.client import LinkedInClient
from ..api.credentials import LinkedInCredentials
from ..api.exceptions import LinkedInAPIError
from ..api.urns import urn_id
from ..config.checks import checked_client
from ..config.keys import check_keys
from ..config.owners import IdsSetting, LeadTypesSetting, Owner, configured_owners, discovered_owners
from ..settings import DEFAULT_API_VERSION, DEFAULT_BASE_URL

ACCOUNT_STATUSES = ("ACTIVE", "CANCELED")
"""Accounts that can have leads within the retention window (drafts never ran)."""

LEAD_ROLES = frozenset(
    {
        "ADMINISTRATOR",
        "LEAD_GEN_FORMS_MANAGER",
        "LEAD_CAPTURE_ADMINISTRATOR",
        "CURATOR",
        "CONTENT_ADMINISTRATOR",
        "ANALYST",
    }
)
"""Company page roles that give access to the page's lead forms.

LinkedIn's organization role list (``organizationAcls``, "Organization Access Control by Role",
https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role)
has ADMINISTRATOR, DIRECT_SPONSORED_CONTENT_POSTER, RECRUITING_POSTER, LEAD_CAPTURE_ADMINISTRATOR,
LEAD_GEN_FORMS_MANAGER, ANALYST, CURATOR and CONTENT_ADMINISTRATOR; the posters' roles do not
reach lead forms. A role that cannot read leads only costs a refused query, which is skipped.
"""


def _acl_key(acl: Dict[str, Any]) -> Any:
    """An ACL has no id: it is one (organization, role) pair."""
    return acl.get("organization"), acl.get("role")


def discover_accounts(client: LinkedInClient) -> List[int]:
    """Ids of every ad account the token can read (all pages)."""
    ids: List[int] = []
    token = ""
    while True:
        params: List[Any] = [("q", "search"), ("search", {"status": {"values": list(ACCOUNT_STATUSES)}})]
        if token:
            params.append(("pageToken", token))
        body = client.with_count("adAccounts", partial(_accounts_page, client, params))
        ids.extend(int(a["id"]) for a in body.get("elements") or [] if "id" in a)
        token = str((body.get("metadata") or {}).get("nextPageToken") or "")
        if not token:
            return list(dict.fromkeys(ids))


def _accounts_page(client: LinkedInClient, params: List[Any], size: int) -> Dict[str, Any]:
    return client.get("adAccounts", [*params, ("pageSize", size)])


def discover_organizations(client: LinkedInClient) -> List[int]:
    """Ids of organizations where the member has an approved lead-gen role.

    A 403 (the token lacks ``r_organization_admin``) is logged and yields none.
    """
    ids: List[int] = []
    params = {"q": "roleAssignee", "state": "APPROVED"}
    try:
        for page in client.get_pages("organizationAcls", params, key=_acl_key):
            for acl in page:
                organization = urn_id(acl.get("organization"))
                if (
                    organization
                    and acl.get("role") in LEAD_ROLES
                    and acl.get("state", "APPROVED") == "APPROVED"
                ):
                    ids.append(organization)
    except LinkedInAPIError as exc:
        if exc.status != 403:
            raise
        logger.warning(
            "Organizations were not discovered: LinkedIn refused organizationAcls (the token needs "
            "r_organization_admin). Set organization_ids to read organic leads."
        )
    return list(dict.fromkeys(ids))


@with_config(sections=("sources", "linkedin_leads"))
def linkedin_access(
    account_ids: IdsSetting = None,
    organization_ids: IdsSetting = None,
    lead_types: LeadTypesSetting = None,
    credentials: LinkedInCredentials = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
) -> Tuple[LinkedInClient, List[Owner], bool]:
    """The client and the configured owners (none: to be discovered), from the source's settings.

    Returns:
        The client, the owners, and whether they are to be discovered.
    """
    check_keys()
    client = checked_client(credentials, base_url, api_version)
    owners = configured_owners(account_ids, organization_ids, lead_types)
    if not owners:
        owners = discovered_owners(discover_accounts(client), discover_organizations(client), lead_types)
        return client, owners, True
    return client, owners, False
