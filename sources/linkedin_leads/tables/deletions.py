"""Leads deleted on LinkedIn: tombstones that remove their rows, and the ids the pull skips.

A ``DELETED`` lead notification (``notifications``) becomes tombstone rows with ``_deleted``
true, which dlt's ``hard_delete`` hint turns into deletes of their keys: one for the lead's row,
and one per answer and consent the destination holds for it (their keys are read from the
destination first: the pull's merge stays on the plain keys, since a ``lead_id`` merge key made
the pull's loads twice as slow). The ids are also kept, in the table ``lead_form_responses_deleted``
of the destination (not in the pipeline state, which the pull and the receiver each write), and
the pull reads them at its start and skips those leads, so a pull never brings a deleted lead
back, whichever process or machine recorded the deletion.

A lead the pull's deletion check confirmed deleted (``reading/deletion_check.py``) gets the same
tombstones, recorded with ``found_by = 'pull'`` (``notification`` for LinkedIn's own word);
only those can be revoked (``revocations``), when LinkedIn returns the lead again.
``purge_deleted`` removes, after each load of every writer, the rows of any recorded lead that a
load brought back: a pull that read a lead before the receiver recorded its deletion.
"""

from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import dlt
import pyarrow as pa
from dlt.common import logger, pendulum
from dlt.common.typing import TDataItem
from dlt.destinations.exceptions import DatabaseTerminalException, DatabaseUndefinedRelation

from ..settings import (
    ANSWERS_TABLE,
    CONSENTS_TABLE,
    DELETED_TABLE,
    HARD_DELETE_COLUMN,
    HARD_DELETE_HINT,
    LEADS_TABLE,
)
from .columns import arrow_table, timestamps
from .values import to_epoch_ms

ChildKeys = Dict[str, List[Tuple[str, int, int]]]
"""Per child table: ``(lead_id, own key, submitted_at in epoch ms)`` of the rows to delete."""


FOUND_BY_NOTIFICATION = "notification"
FOUND_BY_PULL = "pull"


def tombstones(
    lead_ids: Sequence[str],
    occurred_at: Sequence[int],
    now_ms: int,
    children: ChildKeys,
    found_by: str = FOUND_BY_NOTIFICATION,
    submitted_at: Optional[Sequence[int]] = None,
) -> List[TDataItem]:
    """Arrow tables that delete these leads and their answers and consents, and record them.

    ``occurred_at`` is each notification's ``occurredAt`` (epoch ms), or when the pull confirmed the
    deletion. The lead table's required ``submitted_at`` (tombstones are never inserted, but
    staging tables check it) is ``submitted_at`` when known (the pull's: its incremental lets the
    rows through by it), else ``occurred_at``. ``children`` are the answer and consent keys the
    destination holds (``child_keys``).
    """
    # keys and the cursor declared not null, as in the pull's tables (dlt warns of hints that differ)
    ids = pa.array(lead_ids, pa.string())
    when = timestamps(occurred_at)
    submitted = timestamps(submitted_at) if submitted_at is not None else when
    tables: List[TDataItem] = [
        arrow_table(
            {"id": ids, "submitted_at": submitted, HARD_DELETE_COLUMN: _true(len(lead_ids))},
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
        {
            "id": ids,
            "occurred_at": when,
            "deleted_at": timestamps([now_ms] * len(lead_ids)),
            "found_by": pa.array([found_by] * len(lead_ids), pa.string()),
            "submitted_at": submitted,
        },
        {
            "id": pa.string(),
            "occurred_at": when.type,
            "deleted_at": when.type,
            "found_by": pa.string(),
            "submitted_at": when.type,
        },
        ("id",),
    )
    tables.append(dlt.mark.with_hints(recorded, deleted_table_hints(), create_table_variant=True))
    return tables


def revocations(lead_ids: Sequence[str], submitted_at: Sequence[int]) -> List[TDataItem]:
    """Rows that remove these leads' records from ``lead_form_responses_deleted`` (a tombstone the
    pull made, for a lead LinkedIn returns again); ``submitted_at`` lets them through the pull's
    incremental."""
    if not lead_ids:
        return []
    when = timestamps(submitted_at)
    rows = arrow_table(
        {
            "id": pa.array(lead_ids, pa.string()),
            "submitted_at": when,
            HARD_DELETE_COLUMN: _true(len(lead_ids)),
        },
        {"id": pa.string(), "submitted_at": when.type, HARD_DELETE_COLUMN: pa.bool_()},
        ("id",),
    )
    return [dlt.mark.with_hints(rows, deleted_table_hints(), create_table_variant=True)]


def deleted_table_hints() -> Any:
    """``lead_form_responses_deleted``: one row per lead, removable (a revoked tombstone)."""
    return dlt.mark.make_hints(
        table_name=DELETED_TABLE, primary_key="id", write_disposition="merge", columns=HARD_DELETE_HINT
    )


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
    ids = set(deleted_leads(pipeline))
    if ids:
        logger.info(f"{len(ids)} leads deleted on LinkedIn are skipped ({DELETED_TABLE})")
    return ids


def deleted_leads(pipeline: Optional[Any]) -> Dict[str, str]:
    """``{id: found_by}`` of ``lead_form_responses_deleted`` (``notification`` for rows recorded
    before the table had ``found_by``); empty before the table exists."""
    if pipeline is None or pipeline.destination is None:
        return {}
    try:
        rows = _deleted_rows(pipeline, "id, found_by")
    except DatabaseUndefinedRelation:
        return {}
    except DatabaseTerminalException:  # a table written before it had `found_by`
        rows = [(row[0], None) for row in _deleted_rows(pipeline, "id")]
    return {str(lead_id): str(found_by or FOUND_BY_NOTIFICATION) for lead_id, found_by in rows}


def _deleted_rows(pipeline: Any, columns: str) -> List[Tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(DELETED_TABLE)
        return [tuple(row) for row in client.execute_sql(f"SELECT {columns} FROM {table}") or []]  # noqa: S608


def purge_deleted(pipeline: Optional[Any]) -> int:
    """Deletes from the three lead tables the rows of every lead ``lead_form_responses_deleted``
    records; returns how many leads were there. Every writer calls it after its load, holding the
    destination: a load that read a lead before another writer recorded its deletion does not
    bring it back. Nothing is done (one query) while nothing was brought back."""
    if pipeline is None or pipeline.destination is None:
        return 0
    try:
        with pipeline.sql_client() as client:
            deleted = client.make_qualified_table_name(DELETED_TABLE)
            leads = client.make_qualified_table_name(LEADS_TABLE)
            found = client.execute_sql(
                f"SELECT count(*) FROM {leads} WHERE id IN (SELECT id FROM {deleted})"  # noqa: S608
            )
            back = int(found[0][0]) if found else 0
            for table, key in ((LEADS_TABLE, "id"), (ANSWERS_TABLE, "lead_id"), (CONSENTS_TABLE, "lead_id")):
                name = client.make_qualified_table_name(table)
                try:
                    client.execute_sql(f"DELETE FROM {name} WHERE {key} IN (SELECT id FROM {deleted})")  # noqa: S608
                except DatabaseUndefinedRelation:
                    continue
    except DatabaseUndefinedRelation:
        return 0
    if back:
        logger.warning(f"Removed {back} leads a load brought back after their deletion was recorded")
    return back


LeadsInWindow = Dict[Tuple[str, int, str], Dict[str, int]]
"""Per (owner type, owner id, lead type): ``{lead id: submitted_at in epoch ms}``."""


def leads_in_window(pipeline: Any, start_ms: int, end_ms: int, test_lead: Optional[bool]) -> LeadsInWindow:
    """The destination's leads submitted in ``[start_ms, end_ms)``, test leads or not (None: both)."""
    found: LeadsInWindow = {}
    query = (
        "SELECT id, owner_type, owner_id, lead_type, submitted_at FROM {table} "
        "WHERE submitted_at >= %s AND submitted_at < %s"
    )
    args: List[Any] = [
        pendulum.from_timestamp(start_ms / 1000, tz="UTC"),
        pendulum.from_timestamp(end_ms / 1000, tz="UTC"),
    ]
    if test_lead is not None:
        query += " AND test_lead = %s"
        args.append(test_lead)
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(LEADS_TABLE)
            rows = client.execute_sql(query.format(table=table), *args) or []
    except DatabaseUndefinedRelation:
        return found
    for lead_id, owner_type, owner_id, lead_type, submitted in rows:
        found.setdefault((str(owner_type), int(owner_id), str(lead_type)), {})[str(lead_id)] = to_epoch_ms(
            submitted
        )
    return found


def _true(count: int) -> pa.Array:
    return pa.array([True] * count, pa.bool_())
