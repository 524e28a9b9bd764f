"""Leads read by id (the receiver's notified leads, a lead whose deletion the pull revokes):
BATCH_GET where LinkedIn serves it, else GET by id; and their rows, as the pull builds them.

``GET /rest/leadFormResponses/{id}`` is documented (LinkedIn's Postman collection).
``GET /rest/leadFormResponses?ids=List(...)`` (BATCH_GET) is listed in LinkedIn's docs with its
sample cut short, so it is tried first and, if LinkedIn refuses it (400, 404, 405 or 501), the
process reads each lead by id from then on, with one warning. The receiver makes a fetcher for
every batch, so the refusal is remembered per API base URL for the process, not per fetcher.
"""

import threading
from functools import partial
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set
from urllib.parse import quote

from dlt.common import logger
from dlt.common.typing import TDataItem

from ..api.client import LinkedInClient
from ..api.exceptions import LinkedInAPIError
from ..api.restli import Raw
from ..api.urns import parse_urn
from ..settings import BATCH_GET_SIZE, LEAD_FIELDS, LEAD_FORM_RESPONSES_PATH
from ..tables.forms import FormCatalog
from ..tables.lead_tables import LeadTableBuilder, UrnIds
from ..tables.names import EntityNames
from ..tables.pages import page_tables
from ..tables.records import Lead, decode_leads

BATCH_REFUSED = (400, 404, 405, 501)
_refused_at: Set[str] = set()
"""API base URLs whose BATCH_GET was refused in this process."""
_refused_lock = threading.Lock()


class LeadFetcher:
    """Reads leads by id, with BATCH_GET unless LinkedIn refused it before in this process."""

    def __init__(self, client: LinkedInClient) -> None:
        self.client = client

    def fetch(self, ids: Sequence[str]) -> Dict[str, Lead]:
        """The leads of ``ids`` LinkedIn has (a deleted or unknown one is absent)."""
        found: Dict[str, Lead] = {}
        for start in range(0, len(ids), BATCH_GET_SIZE):
            chunk = list(ids[start : start + BATCH_GET_SIZE])
            if len(chunk) > 1 and self.client.base_url not in _refused_at:
                try:
                    found.update(self._batch(chunk))
                    continue
                except LinkedInAPIError as exc:
                    if exc.status not in BATCH_REFUSED:
                        raise
                    with _refused_lock:
                        first = self.client.base_url not in _refused_at
                        _refused_at.add(self.client.base_url)
                    if first:
                        logger.warning(
                            f"LinkedIn refused BATCH_GET of leads ({exc.status} {exc.message}); reading"
                            " each lead by id instead"
                        )
            for lead_id in chunk:
                lead = self._one(lead_id)
                if lead is not None:
                    found[lead_id] = lead
        return found

    def _batch(self, ids: List[str]) -> Dict[str, Lead]:
        body = self.client.get(LEAD_FORM_RESPONSES_PATH, [("ids", ids), ("fields", Raw(LEAD_FIELDS))])
        results = body.get("results") or {}
        leads = decode_leads(list(results.values()))
        return {lead.id: lead for lead in leads}

    def _one(self, lead_id: str) -> "Lead | None":
        try:
            body = lead_by_id(self.client, lead_id)
        except LinkedInAPIError as exc:
            if exc.status == 404:
                return None
            raise
        leads = decode_leads([body])
        return leads[0] if leads else None


def lead_by_id(client: LinkedInClient, lead_id: str, fields: str = LEAD_FIELDS) -> Dict[str, Any]:
    """``GET leadFormResponses/{id}`` with the ``fields`` projection, as JSON.

    Raises:
        LinkedInAPIError: For an error status; 404 for a lead LinkedIn does not have (or, per
            LinkedIn, a restricted API).
    """
    return client.get(f"{LEAD_FORM_RESPONSES_PATH}/{quote(lead_id, safe='')}", [("fields", Raw(fields))])


def lead_rows(
    client: LinkedInClient,
    catalog: FormCatalog,
    owner: Dict[str, str],
    lead_type: str,
    leads: List[Lead],
    limited: Optional[bool],
    urn_ids: UrnIds,
    names: EntityNames,
) -> Iterator[TDataItem]:
    """The tables of leads read by id, all of one owner (LinkedIn's union, e.g.
    ``{"sponsoredAccount": "urn:li:sponsoredAccount:1"}``) and lead type, as the pull builds them."""
    kind, urn = next(iter(owner.items()))
    parsed = parse_urn(urn)
    if parsed is None or not leads:
        return
    finder = [("q", "owner"), ("owner", {kind: urn}), ("leadType", {"leadType": lead_type})]
    names.look_up(client.get_entity, urn, leads)
    fetch = partial(client.form_version, finder)
    builder = LeadTableBuilder(catalog, parsed[0], parsed[1], fetch, urn_ids, names)
    built = page_tables(builder, leads, limited)
    if built is not None:
        yield from built[0]
