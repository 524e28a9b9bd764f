"""Leads loaded before their form version could be read, loaded again once it can be.

A lead whose form version LinkedIn would not give (no ``form`` in the projected answer, and not
the form's current version) loads with its answers' question ids and raw values
(``lead_tables``), and its version, owner, lead type and time are kept in the source state
(``forms.UnresolvedVersions``). Each later run first tries those versions again (the forms
listing may now show one as current, or LinkedIn may now honour the projection); for each one
it can read, it reads the leads of that version over the time kept, with LinkedIn's documented
``versionedLeadGenFormUrn`` filter, and loads them again: merged on their keys, the wide rows
and answer rows are replaced by rows with labels, and the raw ``question_<id>`` values of those
leads become NULL.
"""

from functools import partial
from typing import AbstractSet, Iterator, List, Mapping, Optional

from dlt.common import logger
from dlt.common.typing import TDataItem

from ..api.client import LinkedInClient
from ..api.exceptions import LinkedInAPIError
from ..api.restli import Raw
from ..api.urns import versioned_form_urn
from ..config.owners import Owner
from ..settings import LEAD_FIELDS
from ..tables.forms import FormCatalog
from ..tables.lead_tables import LeadTableBuilder, UrnIds
from ..tables.names import EntityNames
from ..tables.pages import page_tables
from ..tables.records import decode_lead_rows


def pending_since(catalog: FormCatalog, owners: Mapping[str, Owner]) -> Optional[int]:
    """The oldest ``submittedAt`` this run may load again (None: nothing pending for its owners).

    dlt's incremental must let those rows through (``resources.read_leads``).
    """
    firsts: List[int] = [span[2] for _, _, span in catalog.unresolved.pending() if span[0] in owners]
    return min(firsts) if firsts else None


def read_again(
    client: LinkedInClient,
    catalog: FormCatalog,
    owners: Mapping[str, Owner],
    limited: Optional[bool],
    deleted: AbstractSet[str],
    names: EntityNames,
    urn_ids: UrnIds,
) -> Iterator[TDataItem]:
    """The tables of the leads of every pending version this run can read, read again.

    A version still unreadable stays pending, and so does one whose leads fail to read (the
    error is logged; the run's own slices go on). ``owners``: the run's owners by URN.
    """
    for form_id, version, span in catalog.unresolved.pending():
        owner_urn, lead_type, first, last = span
        owner = owners.get(owner_urn)
        if owner is None or lead_type not in owner.lead_types:
            continue
        finder = [("q", "owner"), ("owner", owner.restli), ("leadType", {"leadType": lead_type})]
        fetch = partial(client.form_version, finder)
        urn = versioned_form_urn(form_id, version)
        try:
            if catalog.get(form_id, version, fetch) is None:
                continue
            params = [
                *finder,
                ("limitedToTestLeads", limited),
                ("versionedLeadGenFormUrn", urn),
                # a millisecond either side: whether LinkedIn's bounds are inclusive is not documented
                ("submittedAtTimeRange", {"start": first - 1, "end": last + 1}),
                ("fields", Raw(LEAD_FIELDS)),
            ]
            count = 0
            for page in client.get_leads(params, decode_lead_rows):
                names.look_up(client.get_entity, owner.urn, page)
                builder = LeadTableBuilder(catalog, owner.kind, owner.id, fetch, urn_ids, names)
                built = page_tables(builder, page, limited, deleted)
                if built is not None:
                    count += built[1]
                    yield from built[0]
        except LinkedInAPIError as exc:
            logger.warning(
                f"Could not load again the leads of {owner_urn} ({lead_type}) submitted on {urn} "
                f"({exc.status} {exc.code}: {exc.message}); the next run tries again"
            )
            continue
        catalog.unresolved.done(form_id, version, span)
        logger.info(f"Loaded again, with labels, {count} leads of {owner_urn} ({lead_type}) on {urn}")
