"""Turns LinkedIn's records into rows. Pure functions, no HTTP."""

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional, Tuple

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
_VERSIONED_FORM = re.compile(r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:(\d+),(\d+)\)$")


def from_epoch_ms(value: int) -> datetime:
    """Converts LinkedIn's epoch milliseconds to an exact UTC datetime."""
    return EPOCH + timedelta(milliseconds=value)


def to_epoch_ms(value: datetime) -> int:
    """Converts a datetime (naive means UTC) to exact epoch milliseconds, rounding down."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - EPOCH) // _ONE_MS


def parse_versioned_form_urn(value: Optional[str]) -> Tuple[Optional[int], Optional[int]]:
    """Returns ``(form_id, version)`` of ``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:F,V)``."""
    match = _VERSIONED_FORM.match(value or "")
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def owner_of(record: Dict[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """Returns ``(owner_type, owner_urn)`` from a record's ``owner`` union."""
    owner = record.get("owner") or {}
    for owner_type, owner_urn in owner.items():
        return owner_type, owner_urn
    return None, None


def lead_form_row(form: Dict[str, Any]) -> Dict[str, Any]:
    """A ``lead_forms`` row: LinkedIn's form with its timestamps as UTC datetimes."""
    row = dict(form)
    for field in ("created", "lastModified"):
        if isinstance(row.get(field), int):
            row[field] = from_epoch_ms(row[field])
    return row


def lead_row(lead: Dict[str, Any]) -> Dict[str, Any]:
    """A ``lead_form_responses`` row.

    LinkedIn's fields are kept (dlt turns their names into snake case); ``submittedAt``
    becomes the UTC datetime ``submitted_at`` (the incremental cursor), ``testLead`` the
    boolean ``test_lead``, and the form id and version are parsed from
    ``versionedLeadGenFormUrn``.
    """
    row = dict(lead)
    row["submitted_at"] = from_epoch_ms(row.pop("submittedAt"))
    row["test_lead"] = bool(row.pop("testLead", False))
    row["form_id"], row["form_version"] = parse_versioned_form_urn(lead.get("versionedLeadGenFormUrn"))
    return row
