"""Names of owners, campaigns and creatives, looked up when a lead comes without them.

The responses finder is asked for the ``ownerInfo``, ``leadMetadataInfo`` and
``associatedEntityInfo`` decorations, which carry these names (``settings.LEAD_FIELDS``). Whether
LinkedIn honours that projection for every app, version and lead type is not documented: the one
real lead LinkedIn published (its Lead Sync Postman collection, "Fetch Full Lead Data") came back
without any of them. A lead without a decoration gets the name from the entity itself:

- an ad account: ``GET /rest/adAccounts/{id}``, its ``name`` (scope ``r_ads``;
  https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads/account-structure/create-and-manage-accounts);
- an organization: ``GET /rest/organizations/{id}``, its ``localizedName`` (scope
  ``r_organization_admin`` for an organization the member administers;
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api);
- a campaign: ``GET /rest/adAccounts/{account}/adCampaigns/{id}``, its ``name`` (``r_ads``;
  https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads/account-structure/create-and-manage-campaigns);
- a creative: ``GET /rest/adAccounts/{account}/creatives/{encoded creative URN}``, its ``name``
  (``r_ads``; https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads/account-structure/create-and-manage-creatives).

Each entity is asked for at most once per run, whatever the number of its leads and of the
readers meeting it at once, and never when the leads carry the decoration. A lookup LinkedIn
refuses (403: the token lacks the scope, or the member the role) leaves the name NULL, with one
warning per run naming the scope; any other failure leaves it NULL too, with one warning per
kind and status: a name is never worth a lead.

The lookups are made by the slice readers (``look_up``), like form versions, never by the table
builders, which only read what was found (``EntityNames.name``).
"""

import threading
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Dict, Iterable, Optional, Set, Tuple
from urllib.parse import quote

from dlt.common import logger

from ..api.exceptions import LinkedInAPIError
from ..api.urns import parse_urn
from ..settings import ORGANIZATION, SPONSORED_ACCOUNT
from .records import LeadHead
from .values import entity_name

Get = Callable[[str], Dict[str, Any]]
"""GETs a path under the API base (no query) and returns its JSON: ``LinkedInClient.get_entity``."""

SCOPES = {
    SPONSORED_ACCOUNT: "r_ads",
    ORGANIZATION: "r_organization_admin",
    "sponsoredCampaign": "r_ads",
    "sponsoredCreative": "r_ads",
}
"""The scope each lookup needs, named in the warning when LinkedIn refuses it."""

NAME_FIELDS = {ORGANIZATION: ("localizedName", "name")}
"""Where an entity keeps its name; ``name`` for the others."""


def entity_path(urn: str, account_id: Optional[int]) -> Optional[str]:
    """The path that reads the entity of ``urn`` (None: not an entity this module looks up).

    Campaigns and creatives are read under their ad account (``account_id``), as LinkedIn's
    versioned API addresses them; a creative's key is its URN, percent-encoded (Rest.li 2.0).
    """
    parsed = parse_urn(urn)
    if parsed is None:
        return None
    kind, number = parsed
    if kind == SPONSORED_ACCOUNT:
        return f"adAccounts/{number}"
    if kind == ORGANIZATION:
        return f"organizations/{number}"
    if account_id is None:
        return None
    if kind == "sponsoredCampaign":
        return f"adAccounts/{account_id}/adCampaigns/{number}"
    if kind == "sponsoredCreative":
        return f"adAccounts/{account_id}/creatives/{quote(urn, safe='')}"
    return None


def missing_names(owner_urn: str, leads: Iterable[LeadHead]) -> Set[str]:
    """The URNs whose names these leads need and do not carry: the owner's if a lead has no
    ``ownerInfo``, a campaign's if no ``leadMetadataInfo``, a creative's if no
    ``associatedEntityInfo``."""
    needed: Set[str] = set()
    for lead in leads:
        if lead.owner_info is None:
            needed.add(owner_urn)
        if lead.lead_metadata_info is None:
            metadata = lead.lead_metadata.sponsored_lead_metadata if lead.lead_metadata else None
            if metadata is not None and type(metadata.campaign) is str:
                needed.add(metadata.campaign)
        if lead.associated_entity_info is None and lead.associated_entity:
            creative = lead.associated_entity.get("associatedCreative") or lead.associated_entity.get(
                "sponsoredCreative"
            )
            if type(creative) is str:
                needed.add(creative)
    return needed


class EntityNames:
    """The names looked up in one run, by URN (None: no name could be had); thread-safe."""

    def __init__(self) -> None:
        self.names: Dict[str, Optional[str]] = {}
        self._asking: Dict[str, threading.Lock] = {}
        self._warned: Set[Tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.lookups = 0
        """Requests made (for the extract metrics and the call-budget tests)."""

    def name(self, urn: Any) -> Optional[str]:
        """The name found for ``urn`` (None if not looked up or not found); never a request."""
        return self.names.get(urn) if type(urn) is str else None

    def look_up(
        self,
        get: Get,
        owner_urn: str,
        leads: Iterable[LeadHead],
        waiting: Optional[Callable[[], ContextManager[None]]] = None,
    ) -> None:
        """Looks up, in the calling thread, the names these leads lack that no one asked for yet.

        ``waiting`` is entered around the requests, if any (a reader gives back its page slot).
        """
        unknown = [urn for urn in missing_names(owner_urn, leads) if urn not in self.names]
        if not unknown:
            return
        parsed = parse_urn(owner_urn)
        account = parsed[1] if parsed and parsed[0] == SPONSORED_ACCOUNT else None
        with waiting() if waiting else nullcontext():
            for urn in sorted(unknown):
                self._ask(get, urn, account)

    def _ask(self, get: Get, urn: str, account: Optional[int]) -> None:
        with self._lock:
            lock = self._asking.setdefault(urn, threading.Lock())
        with lock:  # one request per entity, however many readers meet it at once
            if urn in self.names:
                return
            path = entity_path(urn, account)
            found: Optional[str] = None
            if path is not None:
                with self._lock:
                    self.lookups += 1
                try:
                    found = _name_of(get(path), urn)
                except LinkedInAPIError as exc:
                    self._warn(urn, exc)
            self.names[urn] = found

    def _warn(self, urn: str, exc: LinkedInAPIError) -> None:
        """One warning per run for each scope LinkedIn refuses, and for each other failure."""
        kind = (parse_urn(urn) or ("entity", 0))[0]
        refused = exc.status in (401, 403)
        key = (SCOPES.get(kind, "r_ads"), 403) if refused else (kind, exc.status)
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        if refused:
            logger.warning(
                f"LinkedIn refused to read {urn} ({exc.status} {exc.message}), whose name its leads "
                f"came without (no name decorations): the names that need the `{key[0]}` scope stay "
                "NULL in this run, their ids are loaded. Authorize the app with that scope (and give "
                "the member a role on the owner) to fill them."
            )
        elif exc.status == 404:
            logger.info(f"LinkedIn has no {kind} {urn} any more: its name stays NULL")
        else:
            logger.warning(
                f"Could not read the name of {urn} ({exc.status} {exc.code}: {exc.message}); "
                f"{kind} names that fail this way stay NULL in this run"
            )


def _name_of(entity: Dict[str, Any], urn: str) -> Optional[str]:
    """An entity's name: ``localizedName`` (organizations), else ``name`` (text or localized)."""
    kind = (parse_urn(urn) or ("", 0))[0]
    for key in NAME_FIELDS.get(kind, ("name",)):
        if entity.get(key) is not None:
            return entity_name({"name": entity[key]}, "en_US")
    return None
