"""The columns of the tables this source loads, and the names no question may take.

``lead_form_responses`` and its two child tables are built as Arrow tables with these types
(``lead_tables``); question and hidden-field columns (text) follow the lead's own columns.
``lead_forms`` rows are dicts, typed by ``FORM_COLUMNS`` so empty columns still exist.
``arrow_table`` makes an Arrow table of columns and their types, keys not nullable.
"""

from typing import Any, Dict, Mapping, Sequence, Tuple

import pyarrow as pa
from dlt.common.data_types.typing import TDataType
from dlt.common.schema.typing import TTableSchemaColumns

TIMESTAMP = pa.timestamp("us", tz="UTC")

LEAD_COLUMNS: Dict[str, pa.DataType] = {
    "id": pa.string(),
    "submitted_at": TIMESTAMP,
    "test_lead": pa.bool_(),
    "lead_type": pa.string(),
    "owner_type": pa.string(),
    "owner_id": pa.int64(),
    "owner_name": pa.string(),
    "form_id": pa.int64(),
    "form_version": pa.int64(),
    "form_name": pa.string(),
    "form_locale": pa.string(),
    "submitter": pa.string(),
    "campaign_id": pa.int64(),
    "campaign_name": pa.string(),
    "creative_id": pa.int64(),
    "creative_name": pa.string(),
    "event_id": pa.int64(),
    "associated_entity": pa.string(),
    "associated_entity_info": pa.string(),
}
"""The lead row's own columns; question and hidden-field columns come after them."""

ANSWER_COLUMNS: Dict[str, pa.DataType] = {
    "lead_id": pa.string(),
    "question_id": pa.int64(),
    "column_name": pa.string(),
    "question_name": pa.string(),
    "question_text": pa.string(),
    "predefined_field": pa.string(),
    "question_type": pa.string(),
    "answer": pa.string(),
    "option_ids": pa.string(),
    "option_labels": pa.string(),
    "form_id": pa.int64(),
    "form_version": pa.int64(),
    "submitted_at": TIMESTAMP,
}

CONSENT_COLUMNS: Dict[str, pa.DataType] = {
    "lead_id": pa.string(),
    "consent_id": pa.int64(),
    "consent_text": pa.string(),
    "accepted": pa.bool_(),
    "check_required": pa.bool_(),
    "form_id": pa.int64(),
    "form_version": pa.int64(),
    "submitted_at": TIMESTAMP,
}

HIDDEN_FIELD_PREFIX = "hidden_"
"""Hidden fields of a form become ``hidden_<name>`` columns of the lead row."""

PREDEFINED_COLUMNS = frozenset(
    name.lower()
    for name in (
        "FIRST_NAME LAST_NAME EMAIL WORK_EMAIL PHONE_NUMBER WORK_PHONE_NUMBER COMPANY_NAME "
        "JOB_TITLE JOB_FUNCTION SENIORITY INDUSTRY COMPANY_SIZE CITY STATE COUNTRY ZIP_CODE "
        "LINKEDIN_PROFILE_LINK DEGREE FIELD_OF_STUDY SCHOOL GENDER"
    ).split()
)
"""LinkedIn's predefined fields (those known): custom questions never take these names."""


def timestamps(epoch_ms: Sequence[int]) -> pa.Array:
    """Epoch milliseconds as a UTC timestamp column, converted in Arrow rather than per row."""
    return pa.array(epoch_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC")).cast(TIMESTAMP)


def arrow_table(
    columns: Mapping[str, Any], types: Dict[str, pa.DataType], required: Tuple[str, ...]
) -> pa.Table:
    """An Arrow table whose ``required`` columns are not nullable.

    Key columns are declared as dlt declares primary keys; ``submitted_at`` (the incremental's
    cursor, always present) too, which spares dlt's incremental a pass over each table that
    sets rows without a cursor aside.
    """
    schema = pa.schema(
        [pa.field(name, data_type, nullable=name not in required) for name, data_type in types.items()]
    )
    arrays = [_array(columns[name], data_type) for name, data_type in types.items()]
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(column: Any, data_type: pa.DataType) -> Any:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column if isinstance(column, pa.Array) else pa.array(column, data_type)


_FORM_COLUMN_TYPES: Dict[str, TDataType] = {
    "id": "bigint",
    "name": "text",
    "state": "text",
    "version_id": "bigint",
    "locale": "text",
    "created": "timestamp",
    "last_modified": "timestamp",
    "owner_type": "text",
    "owner_id": "bigint",
    "headline": "text",
    "description": "text",
    "privacy_policy_url": "text",
    "legal_disclaimer": "text",
    "review_status": "text",
}
FORM_COLUMNS: TTableSchemaColumns = {name: {"data_type": t} for name, t in _FORM_COLUMN_TYPES.items()}
"""Column types of ``lead_forms``, so columns LinkedIn leaves empty still get created."""
