"""Leads deleted on LinkedIn: tombstones that remove their rows, and the ids the pull skips.

A ``DELETED`` lead notification (``notifications``) becomes one tombstone row per table, with
``_deleted`` true: dlt's ``hard_delete`` hint removes the rows of its key. The lead table merges
on ``id``; the answers and consents tables have ``lead_id`` as their merge key, so one tombstone
removes every answer and consent of the lead. The ids are also kept, in the table
``lead_form_responses_deleted`` of the destination (not in the pipeline state, which the pull and
the receiver each write), and the pull reads them at its start and skips those leads, so a pull
never brings a deleted lead back, whichever process or machine recorded the deletion.
"""

from typing import Any, List, Optional, Sequence, Set

import dlt
import pyarrow as pa
from dlt.common import logger
from dlt.common.typing import TDataItem
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from .columns import TIMESTAMP
from .settings import ANSWERS_TABLE, CONSENTS_TABLE, DELETED_TABLE, HARD_DELETE_COLUMN, HARD_DELETE_HINT


def tombstones(lead_ids: Sequence[str], occurred_at: Sequence[int], now_ms: int) -> List[TDataItem]:
    """Arrow tables that delete these leads from the three lead tables and record the deletion.

    ``occurred_at`` is each notification's ``occurredAt`` (epoch ms); it also fills the tables'
    required ``submitted_at`` (tombstones are never inserted, but staging tables check it).
    """
    ids = pa.array(lead_ids, pa.string())
    when = pa.array(occurred_at, pa.int64()).cast(pa.timestamp("ms", tz="UTC")).cast(TIMESTAMP)
    deleted = pa.array([True] * len(lead_ids), pa.bool_())
    zero = pa.array([0] * len(lead_ids), pa.int64())
    leads = pa.table({"id": ids, "submitted_at": when, HARD_DELETE_COLUMN: deleted})
    answers = pa.table(
        {"lead_id": ids, "question_id": zero, "submitted_at": when, HARD_DELETE_COLUMN: deleted}
    )
    consents = pa.table(
        {"lead_id": ids, "consent_id": zero, "submitted_at": when, HARD_DELETE_COLUMN: deleted}
    )
    recorded = pa.table(
        {
            "id": ids,
            "occurred_at": when,
            "deleted_at": pa.array([now_ms] * len(lead_ids), pa.int64())
            .cast(pa.timestamp("ms", tz="UTC"))
            .cast(TIMESTAMP),
        }
    )
    return [
        leads,
        dlt.mark.with_hints(
            answers, child_table_hints(ANSWERS_TABLE, "question_id"), create_table_variant=True
        ),
        dlt.mark.with_hints(
            consents, child_table_hints(CONSENTS_TABLE, "consent_id"), create_table_variant=True
        ),
        dlt.mark.with_hints(
            recorded,
            dlt.mark.make_hints(table_name=DELETED_TABLE, primary_key="id", write_disposition="merge"),
            create_table_variant=True,
        ),
    ]


def child_table_hints(table: str, own_key: str) -> Any:
    """The hints of the answers and consents tables, the same from the pull and the notifications:
    keyed on ``lead_id`` and ``own_key``, merged per lead, deletable by tombstone."""
    return dlt.mark.make_hints(
        table_name=table,
        primary_key=["lead_id", own_key],
        merge_key="lead_id",
        columns=HARD_DELETE_HINT,
    )


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
