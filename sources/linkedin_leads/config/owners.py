"""The owners a run reads (ad accounts and organizations) and their lead types, parsed from the
settings or found by discovery."""

import json
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

from ..api.exceptions import LinkedInConfigError
from ..api.urns import parse_urn, urn
from ..settings import (
    LEAD_TYPES_BY_OWNER,
    ORGANIZATION,
    SPONSORED_ACCOUNT,
)

# str first: dlt hands values from TOML and environment variables over as strings
# (a TOML list arrives as its JSON text), which _split parses
IdsSetting = Optional[Union[str, int, List[Union[int, str]]]]


LeadTypesSetting = Optional[Union[str, List[str]]]


@dataclass(frozen=True)
class Owner:
    """An ad account or organization whose leads are read, with its lead types."""

    kind: str
    """``sponsoredAccount`` or ``organization``: the key of LinkedIn's owner union."""
    id: int  # noqa: A003 (LinkedIn's own name)
    lead_types: Tuple[str, ...]

    @property
    def urn(self) -> str:
        return urn(self.kind, self.id)

    @property
    def restli(self) -> dict[str, str]:
        """The owner union as the ``owner`` finder parameter."""
        return {self.kind: self.urn}


def _split(value: Any) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            pass  # split below; a bad item gets a clear error from the caller
    if isinstance(value, (int, str)):
        value = [value]
    items: List[Any] = []
    for item in value:
        if isinstance(item, str):
            items.extend(part for part in re.split(r"[\s,;\[\]\"']+", item) if part)
        else:
            items.append(item)
    return items


def parse_ids(setting: str, value: IdsSetting, kind: str) -> List[int]:
    """Parses ids given as ints, numeric strings or URNs of ``kind``, listed or separated.

    Raises:
        LinkedInConfigError: For anything that is not an id or a URN of the right type.
    """
    ids: List[int] = []
    for item in _split(value):
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise LinkedInConfigError(setting, value, f"{item!r} is not an id.")
        if isinstance(item, int):
            number = item
        elif item.isdigit():
            number = int(item)
        else:
            parsed = parse_urn(item)
            if parsed is None:
                raise LinkedInConfigError(
                    setting,
                    value,
                    f"{item!r} is neither a numeric id nor a URN; write e.g. 512345678 or "
                    f"urn:li:{kind}:512345678.",
                )
            if parsed[0] != kind:
                raise LinkedInConfigError(
                    setting,
                    value,
                    f"{item!r} is a URN of type {parsed[0]}, but `{setting}` takes urn:li:{kind}:N ids.",
                )
            number = parsed[1]
        if number <= 0:
            raise LinkedInConfigError(setting, value, f"{item!r} is not a positive id.")
        if number not in ids:
            ids.append(number)
    return ids


def parse_lead_types(value: LeadTypesSetting) -> Optional[Tuple[str, ...]]:
    """Parses ``lead_types``; ``None`` means each owner kind's default types."""
    items = _split(value)
    if not items:
        return None
    known = {t for types in LEAD_TYPES_BY_OWNER.values() for t in types}
    result: List[str] = []
    for item in items:
        name = str(item).strip().upper()
        if name not in known:
            raise LinkedInConfigError(
                "lead_types",
                value,
                f"{item!r} is not a LinkedIn lead type; use any of {', '.join(sorted(known))}.",
            )
        if name not in result:
            result.append(name)
    return tuple(result)


def configured_owners(
    account_ids: IdsSetting, organization_ids: IdsSetting, lead_types: LeadTypesSetting
) -> List[Owner]:
    """The owners configured, each with the lead types that fit its kind; none: discover them.

    Raises:
        LinkedInConfigError: For a bad id, or a lead type that fits no configured owner.
    """
    return _owners(account_ids, organization_ids, lead_types, discovered=False)


def discovered_owners(
    account_ids: Sequence[int], organization_ids: Sequence[int], lead_types: LeadTypesSetting
) -> List[Owner]:
    """The owners discovery found, each with the lead types that fit its kind.

    Raises:
        LinkedInConfigError: If discovery found no owner, or a lead type fits none found.
    """
    owners = _owners(list(account_ids), list(organization_ids), lead_types, discovered=True)
    if not owners and not account_ids and not organization_ids:
        raise LinkedInConfigError(
            "account_ids",
            None,
            "no owner to read: none is configured, and discovery found no ad account the token can "
            "read (adAccounts?q=search, scope r_ads) and no organization where the member holds an "
            "approved lead-gen role (organizationAcls?q=roleAssignee, scope r_organization_admin). "
            "Set `account_ids` (ad account ids) and/or `organization_ids` (company page ids) under "
            "[sources.linkedin_leads] in .dlt/config.toml, or SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS "
            "in the environment, or grant the scopes.",
        )
    return owners


def _owners(
    account_ids: IdsSetting, organization_ids: IdsSetting, lead_types: LeadTypesSetting, discovered: bool
) -> List[Owner]:
    accounts = parse_ids("account_ids", account_ids, SPONSORED_ACCOUNT)
    organizations = parse_ids("organization_ids", organization_ids, ORGANIZATION)
    wanted = parse_lead_types(lead_types)
    owners: List[Owner] = []
    for kind, ids in ((SPONSORED_ACCOUNT, accounts), (ORGANIZATION, organizations)):
        types = LEAD_TYPES_BY_OWNER[kind]
        if wanted is not None:
            types = tuple(t for t in wanted if t in types)
        owners.extend(Owner(kind, owner_id, types) for owner_id in ids if types)
    if wanted is not None and (accounts or organizations):
        kinds = {SPONSORED_ACCOUNT: accounts, ORGANIZATION: organizations}
        for lead_type in wanted:
            if not any(lead_type in LEAD_TYPES_BY_OWNER[k] and ids for k, ids in kinds.items()):
                needs = (
                    "account_ids"
                    if lead_type in LEAD_TYPES_BY_OWNER[SPONSORED_ACCOUNT]
                    else "organization_ids"
                )
                found = "was discovered" if discovered else "is configured"
                raise LinkedInConfigError(
                    "lead_types",
                    lead_types,
                    f"lead type {lead_type} is read from `{needs}`, and none {found}; "
                    f"add {needs} or remove {lead_type}.",
                )
    return owners
