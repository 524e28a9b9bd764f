"""Leads deleted on LinkedIn: tombstones that remove their rows, and the ids the pull skips.

A ``DELETED`` lead notification (``notifications``) becomes tombstone rows with ``_deleted``
true, which dlt's ``hard_delete`` hint turns into deletes of their keys: one for the lead's row,
and one per answer and consent the destination holds for it (their keys are read from the
destination first: the pull's merge stays on the plain keys, since a ``lead_id`` merge key made
the pull's loads twice as slow). The ids are also kept, in the table ``lead_form_responses_deleted``
of the destination (not in the pipeline state, which the pull and the receiver each write), and
the pull reads them at its start and skips those leads, so a pull never brings a deleted lead
back, whichever process or machine recorded the deletion.
"""

from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import dlt
import pyarrow as pa
from dlt.common import logger
from dlt.common.typing import TDataItem
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from ..settings import ANSWERS_TABLE, CONSENTS_TABLE, DELETED_TABLE, HARD_DELETE_COLUMN, HARD_DELETE_HINT
from .columns import arrow_table, timestamps
from .values import to_epoch_ms

ChildKeys = Dict[str, List[Tuple[str, int, int]]]
"""Per child table: ``(lead_id, own key, submitted_at in epoch ms)`` of the rows to delete."""


def tombstones(
    lead_ids: Sequence[str], occurred_at: Sequence[int], now_ms: int, children: ChildKeys
) -> List[TDataItem]:
    """Arrow tables that delete these leads and their answers and consents, and record them.

    ``occurred_at`` is each notification's ``occurredAt`` (epoch ms); it also fills the lead
    table's required ``submitted_at`` (tombstones are never inserted, but staging tables check it).
    ``children`` are the answer and consent keys the destination holds (``child_keys``).
    """
    # keys and the cursor declared not null, as in the pull's tables (dlt warns of hints that differ)
    ids = pa.array(lead_ids, pa.string())
    when = timestamps(occurred_at)
    tables: List[TDataItem] = [
        arrow_table(
            {"id": ids, "submitted_at": when, HARD_DELETE_COLUMN: _true(len(lead_ids))},
            {"id": pa.string(), "submitted_at": when.type, HARD_DELETE_COLUMN: pa.bool_()},
            ("id", "submitted_at"),
        )
    ]
    for table, own_key in ((ANSWERS_TABLE, "question_id"), (CONSENTS_TABLE, "consent_id")):
        keys = children.get(table) or []
        if keys:
            rows = arrow_table(
                {
                    "lead_id": pa.array([k[0] for k in keys], pa.string()),
                    own_key: pa.array([k[1] for k in keys], pa.int64()),
                    "submitted_at": timestamps([k[2] for k in keys]),
                    HARD_DELETE_COLUMN: _true(len(keys)),
                },
                {
                    "lead_id": pa.string(),
                    own_key: pa.int64(),
                    "submitted_at": when.type,
                    HARD_DELETE_COLUMN: pa.bool_(),
                },
                ("lead_id", own_key, "submitted_at"),
            )
            tables.append(
                dlt.mark.with_hints(rows, child_table_hints(table, own_key), create_table_variant=True)
            )
    recorded = arrow_table(
        {"id": ids, "occurred_at": when, "deleted_at": timestamps([now_ms] * len(lead_ids))},
        {"id": pa.string(), "occurred_at": when.type, "deleted_at": when.type},
        ("id",),
    )
    hints = dlt.mark.make_hints(table_name=DELETED_TABLE, primary_key="id", write_disposition="merge")
    tables.append(dlt.mark.with_hints(recorded, hints, create_table_variant=True))
    return tables


def child_keys(pipeline: Optional[Any], lead_ids: Sequence[str]) -> ChildKeys:
    """The keys of the answers and consents the destination holds for these leads."""
    found: ChildKeys = {}
    if pipeline is None or pipeline.destination is None or not lead_ids:
        return found
    listed = ", ".join("'" + lead_id.replace("'", "''") + "'" for lead_id in lead_ids)
    for table, own_key in ((ANSWERS_TABLE, "question_id"), (CONSENTS_TABLE, "consent_id")):
        try:
            with pipeline.sql_client() as client:
                name = client.make_qualified_table_name(table)
                rows = client.execute_sql(
                    f"SELECT lead_id, {own_key}, submitted_at FROM {name} WHERE lead_id IN ({listed})"  # noqa: S608
                )
        except DatabaseUndefinedRelation:
            continue
        found[table] = [(str(r[0]), int(r[1]), to_epoch_ms(r[2])) for r in rows or []]
    return found


def child_table_hints(table: str, own_key: str) -> Any:
    """The hints of the answers and consents tables, the same from the pull and the notifications:
    keyed on ``lead_id`` and ``own_key``, deletable by tombstone."""
    return dlt.mark.make_hints(table_name=table, primary_key=["lead_id", own_key], columns=HARD_DELETE_HINT)


def deleted_lead_ids(pipeline: Optional[Any]) -> Set[str]:
    """The ids in the destination's ``lead_form_responses_deleted`` (none before it exists)."""
    if pipeline is None or pipeline.destination is None:
        return set()
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(DELETED_TABLE)
            rows = client.execute_sql(f"SELECT id FROM {table}") or []  # noqa: S608  # a qualified name
    except DatabaseUndefinedRelation:
        return set()
    ids = {str(row[0]) for row in rows}
    if ids:
        logger.info(f"{len(ids)} leads deleted on LinkedIn are skipped ({DELETED_TABLE})")
    return ids


def _true(count: int) -> pa.Array:
    return pa.array([True] * count, pa.bool_())
