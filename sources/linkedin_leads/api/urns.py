"""LinkedIn's URNs, built and parsed in one place.

A URN names an entity: ``urn:li:<type>:<id>`` (``urn:li:sponsoredAccount:512345678``), or, for
a form version, ``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<form id>,<version>)``.
How a URN travels in a query string is Rest.li's business (``restli``); this module only
builds and reads the text.
"""

import re
from typing import Any, Dict, Optional, Tuple, Union

from ..settings import SPONSORED_ACCOUNT

_URN = re.compile(r"^urn:li:([A-Za-z]+):(\d+)$")
_LEAD_RESPONSE = re.compile(r"^urn:li:leadGenFormResponse:([A-Za-z0-9_.~-]+)$")
_VERSIONED_FORM = re.compile(r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:(\d+),(\d+)\)$")


def urn(entity_type: str, entity_id: Union[int, str]) -> str:
    """``urn:li:<entity_type>:<entity_id>``."""
    return f"urn:li:{entity_type}:{entity_id}"


def parse_urn(value: Any) -> Optional[Tuple[str, int]]:
    """``(type, id)`` of ``urn:li:<type>:<numeric id>``; None for anything else."""
    match = _URN.match(value) if isinstance(value, str) else None
    return (match.group(1), int(match.group(2))) if match else None


def urn_id(value: Any, cache: Optional[Dict[Any, Optional[int]]] = None) -> Optional[int]:
    """The numeric id at the end of ``urn:li:<type>:<id>``, else None (remembered in ``cache``)."""
    parsed = parse_urn(value)
    number = parsed[1] if parsed else None
    if cache is not None and isinstance(value, str):
        cache[value] = number
    return number


def versioned_form_urn(form_id: int, version: int) -> str:
    """``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<form_id>,<version>)``."""
    return f"urn:li:versionedLeadGenForm:({urn('leadGenForm', form_id)},{version})"


def parse_versioned_form_urn(value: Optional[str]) -> Tuple[Optional[int], Optional[int]]:
    """``(form_id, version)`` of a versioned form URN; ``(None, None)`` for anything else."""
    match = _VERSIONED_FORM.match(value or "")
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def is_ad_account(value: str) -> bool:
    """Whether ``value`` is the URN of an ad account (``urn:li:sponsoredAccount:N``)."""
    parsed = parse_urn(value)
    return parsed is not None and parsed[0] == SPONSORED_ACCOUNT


def lead_response_id(value: Any) -> Optional[str]:
    """The lead id in ``urn:li:leadGenFormResponse:<id>`` (a lead notification's lead), else None."""
    match = _LEAD_RESPONSE.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None
