"""A page of leads on its way to dlt: the form versions it names looked up first, in the slice
reader's thread (a lookup is a request to LinkedIn), then its three Arrow tables built
(``lead_tables.LeadTableBuilder``) with the hints of the answer and consent tables."""

from contextlib import nullcontext
from typing import AbstractSet, Any, Callable, ContextManager, Dict, Iterable, List, Optional, Sequence, Tuple

import dlt
import pyarrow as pa
from dlt.common.typing import TDataItem
from dlt.extract.items import DataItemWithMeta

from ..api.urns import parse_versioned_form_urn
from ..settings import ANSWERS_TABLE, CONSENTS_TABLE
from .deletions import child_table_hints
from .forms import FetchForm, FormCatalog
from .lead_tables import LeadTableBuilder
from .records import LeadHead


def resolve_forms(
    catalog: FormCatalog,
    page: Sequence[LeadHead],
    fetch: Optional[FetchForm],
    waiting: Optional[Callable[[], ContextManager[None]]] = None,
) -> None:
    """Looks up, in the calling thread, the form versions of a page the catalog does not know yet.

    A slice reader calls it before handing the page to a table builder: a lookup is a request to
    LinkedIn, and made in the builders it would queue every reader's lookups behind two threads.
    ``waiting`` is entered around the lookups, if any (the reader gives back its page slot).
    The reader has looked up the versions its body names before decoding it
    (``look_up_forms``), so this finds one only where that search missed it.
    """
    look_up_forms(catalog, {lead.versioned_lead_gen_form_urn for lead in page}, fetch, waiting)


def look_up_forms(
    catalog: FormCatalog,
    urns: Iterable[Optional[str]],
    fetch: Optional[FetchForm],
    waiting: Optional[Callable[[], ContextManager[None]]] = None,
) -> None:
    """Looks up, in the calling thread, the form versions of these URNs the catalog lacks.

    A slice reader calls it with the URNs found in a page's body (``records.form_version_urns``)
    before decoding the body: while it waits on LinkedIn, or on another reader looking up the
    same version, it holds the body's bytes and no decoded page (``bench/README.md``).
    """
    versions = {parse_versioned_form_urn(urn) for urn in urns}
    unknown = [key for key in versions if not catalog.knows(*key)]
    if not unknown:
        return
    with waiting() if waiting else nullcontext():
        for form_id, version in unknown:
            catalog.get(form_id, version, fetch)


def page_tables(
    builder: LeadTableBuilder,
    page: Sequence[LeadHead],
    limited: Optional[bool],
    skip: AbstractSet[str] = frozenset(),
) -> Optional[Tuple[List[TDataItem], int, int]]:
    """One page of leads as Arrow tables (leads, answers, consents), its leads and its newest.

    ``limited`` is the test-lead filter (None: all, False: real leads only, True: test leads
    only); leads whose id is in ``skip`` (deleted on LinkedIn) are left out; None is returned
    when no lead of the page passes. The answers and consents go to their own tables with their
    own keys (dlt's table variants, ``deletions.child_table_hints``).
    """
    add = builder.add
    if limited is None and not skip:
        for lead in page:
            add(lead)
    else:  # LinkedIn's filter is applied again: `false` may not exclude test leads
        for lead in page:
            if (limited is None or bool(lead.test_lead) is limited) and lead.id not in skip:
                add(lead)
    if not builder.count:
        return None
    newest = max(builder.fixed["submitted_at"])
    leads, answers, consents = builder.tables()
    tables: List[TDataItem] = [
        leads,
        dlt.mark.with_hints(
            answers, child_table_hints(ANSWERS_TABLE, "question_id"), create_table_variant=True
        ),
    ]
    if consents.num_rows:
        tables.append(
            dlt.mark.with_hints(
                consents, child_table_hints(CONSENTS_TABLE, "consent_id"), create_table_variant=True
            )
        )
    return tables, builder.count, newest


BATCH_LEADS = 5_000
"""Leads gathered from the readers' pages before their tables go to dlt (five pages of 1,000):
dlt computes a table's schema for every Arrow item it gets, a fixed cost an item, so fewer and
larger items cost less CPU (``bench/README.md``); the consumer holds at most this many leads'
tables, whatever the number of readers."""


class PageBatches:
    """Gathers the tables of several pages, table by table, into larger Arrow tables.

    Lead tables of different forms have different question columns: concatenated, each gets the
    others' columns as nulls (``pa.concat_tables`` with ``promote_options="default"``). The
    answers and consents keep their table hints (the same for every page).
    """

    def __init__(self, limit: int = BATCH_LEADS) -> None:
        self.limit = limit
        self.leads: List[pa.Table] = []
        self.children: Dict[str, Tuple[Any, List[pa.Table]]] = {}
        self.rows = 0

    def add(self, item: TDataItem) -> List[TDataItem]:
        """Takes one table of a page; returns the batches to hand to dlt now (maybe none)."""
        if isinstance(item, DataItemWithMeta):
            name = str(item.meta.hints.get("table_name"))
            self.children.setdefault(name, (item.meta, []))[1].append(item.data)
            return []
        if not isinstance(item, pa.Table):
            return [*self.flush(), item]
        self.leads.append(item)
        self.rows += item.num_rows
        return self.flush() if self.rows >= self.limit else []

    def flush(self) -> List[TDataItem]:
        """Every table gathered, as one item per table (leads first)."""
        batches: List[TDataItem] = []
        if self.leads:
            batches.append(pa.concat_tables(self.leads, promote_options="default"))
        for meta, tables in self.children.values():
            batches.append(DataItemWithMeta(meta, pa.concat_tables(tables)))
        self.leads, self.children, self.rows = [], {}, 0
        return batches
