"""The dlt source the notification loader runs: the pull's tables and hints, from journaled
notifications, under a state of its own.

Named ``linkedin_leads`` like the pull, so both write one schema, but run by a pipeline of its
own (``<pull's name>_receiver``): the receiver's state (question names it gave, form versions it
looked up) is never the pull's, and the pull's progress is never touched. What the two must
agree on is read from the destination (``shared``): the question names, and the deleted leads.
Its one resource is the pull's ``lead_form_responses`` without the incremental.

Per lead, the newest notification decides (by ``occurredAt``): ``DELETED`` becomes tombstones
(``deletions``); any other action (``CREATED``) reads the lead by id and builds exactly the
rows the pull builds (``lead_tables``), merged on the same keys.
"""

import copy
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import dlt
from dlt.common.typing import TDataItem
from dlt.sources import DltResource

from ..api.client import LinkedInClient
from ..api.credentials import LinkedInCredentials
from ..config.checks import check_test_leads, checked_client
from ..config.keys import check_keys
from ..reading.by_id import LeadFetcher, lead_rows
from ..reading.resources import TEST_LEAD_FILTER
from ..reading.shared import (
    active_pipeline,
    question_column_rows,
    shared_question_columns,
    writer_name,
)
from ..settings import DEFAULT_API_VERSION, DEFAULT_BASE_URL, HARD_DELETE_HINT
from ..tables.deletions import child_keys, deleted_lead_ids, tombstones
from ..tables.forms import FormCatalog
from ..tables.lead_tables import UrnIds
from ..tables.names import EntityNames
from ..tables.questions import QuestionColumns
from .journal import Entry

DELETED = "DELETED"


@dataclass(frozen=True)
class Notified:
    """The newest notification of one lead."""

    lead_id: str
    action: str
    owner: Dict[str, str]
    lead_type: str
    occurred_at: int


def newest_per_lead(entries: Sequence[Entry]) -> List[Notified]:
    """The newest notification of each lead, by ``occurredAt`` then arrival."""
    newest: Dict[str, Tuple[Tuple[int, float], Notified]] = {}
    for entry in entries:
        payload = json.loads(entry.body)
        owner = payload.get("owner") if isinstance(payload.get("owner"), dict) else {}
        notified = Notified(
            entry.lead_id,
            entry.action,
            owner,
            str(payload.get("leadType") or ""),
            entry.occurred_at or int(entry.received_at * 1000),
        )
        order = (notified.occurred_at, entry.received_at)
        if entry.lead_id not in newest or newest[entry.lead_id][0] <= order:
            newest[entry.lead_id] = (order, notified)
    return [notified for _, notified in newest.values()]


@dlt.source(name="linkedin_leads", section="linkedin_leads")
def lead_notifications(
    entries: Sequence[Entry] = (),
    credentials: LinkedInCredentials = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
    test_leads: str = "include",
    inherited: Optional[Mapping[str, Any]] = None,
) -> DltResource:
    """The leads of journaled notifications, as rows of the pull's tables (or their deletion).

    Settings come from ``[sources.linkedin_leads]``, as for ``linkedin_leads``.

    Args:
        entries: Journaled notifications (``journal.Journal.pending``).
        credentials: As for the pull.
        base_url: As for the pull.
        api_version: As for the pull.
        test_leads: As for the pull: a test lead is loaded only if the pull would load it.
        inherited: What a receiver that used to share the pull's state knew there
            (``shared.inherited_state``), taken on the first run of its own state.

    Returns:
        DltResource: ``lead_form_responses`` (also filling its answers, consents and
        ``lead_form_responses_deleted``).
    """
    check_keys()
    client = checked_client(credentials, base_url, api_version)
    limited = TEST_LEAD_FILTER[check_test_leads(test_leads)]

    @dlt.resource(
        name="lead_form_responses", primary_key="id", write_disposition="merge", columns=HARD_DELETE_HINT
    )
    def lead_form_responses() -> Iterator[TDataItem]:
        """The rows of the notified leads, or their tombstones."""
        yield from notified_rows(newest_per_lead(entries), client, limited, inherited)

    return lead_form_responses


def notified_rows(
    notified: List[Notified],
    client: LinkedInClient,
    limited: Optional[bool],
    inherited: Optional[Mapping[str, Any]] = None,
) -> Iterator[TDataItem]:
    """Tombstones for deleted leads, then the rows of the others, read by id, per owner.

    ``inherited``: the question names and form versions of the state a receiver deployed before
    it had one of its own shared with the pull (``shared.inherited_state``), taken on its first run.
    """
    state = dlt.current.source_state()
    pipeline = active_pipeline()
    if inherited and "question_columns" not in state:
        # the first run under the receiver's own name: what it knew under the pull's
        state.update(copy.deepcopy(dict(inherited)))
    catalog = FormCatalog(QuestionColumns({}))
    catalog.columns.bind(state.setdefault("question_columns", {}), shared_question_columns(pipeline))
    catalog.stored = state.setdefault("form_versions", {})
    gone = [n for n in notified if n.action == DELETED]
    if gone:
        gone_ids = [n.lead_id for n in gone]
        children = child_keys(pipeline, gone_ids)
        yield from tombstones(gone_ids, [n.occurred_at for n in gone], int(time.time() * 1000), children)
    known_deleted = deleted_lead_ids(pipeline)
    wanted = [n for n in notified if n.action != DELETED and n.lead_id not in known_deleted]
    leads = LeadFetcher(client).fetch([n.lead_id for n in wanted])
    groups: Dict[Tuple[str, str, str], List[Any]] = {}  # (owner type, owner URN, lead type)
    for n in wanted:
        if n.lead_id in leads and n.owner:
            kind, urn = next(iter(n.owner.items()))
            groups.setdefault((kind, urn, n.lead_type), []).append(leads[n.lead_id])
    ids: UrnIds = {None: None}
    names = EntityNames()
    for (kind, urn, lead_type), group in groups.items():
        yield from lead_rows(client, catalog, {kind: urn}, lead_type, group, limited, ids, names)
    # the names given here, where the pull and the other writers read them
    yield from question_column_rows(catalog.columns.take_new(), writer_name())
    dlt.current.resource_metrics().update(
        {
            "notified": len(notified),
            "deleted": len(gone),
            "loaded": sum(len(g) for g in groups.values()),
            "not_found": len(wanted) - len(leads),
        }
    )
