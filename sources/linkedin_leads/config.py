"""Validation of the source's settings, done before any request is sent.

Every error names the setting, the value and the fix (``LinkedInConfigError``).
"""

import difflib
import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, List, Literal, Optional, Sequence, Tuple, Union, cast

import dlt
from dlt.common import logger
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.time import ensure_pendulum_datetime

from .auth import LinkedInAccessTokenCredentials, LinkedInOAuthCredentials
from .client import LinkedInClient
from .exceptions import LinkedInConfigError
from .settings import (
    DEFAULT_PAGE_SIZE,
    LEAD_TYPES_BY_OWNER,
    MAX_CONCURRENCY,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    NOTIFICATION_SETTINGS,
    ORGANIZATION,
    PLACEHOLDERS,
    RETENTION_DAYS,
    RUNNER_SETTINGS,
    SOURCE_SETTINGS,
    SPONSORED_ACCOUNT,
    TEST_LEADS_MODES,
)
from .urns import parse_urn, urn

# str first: dlt hands values from TOML and environment variables over as strings
# (a TOML list arrives as its JSON text), which _split parses
IdsSetting = Optional[Union[str, int, List[Union[int, str]]]]
LeadTypesSetting = Optional[Union[str, List[str]]]
TestLeads = Literal["include", "exclude", "only"]
"""``test_leads`` once checked. The source's argument stays ``str``: dlt would refuse any
other value of a ``Literal`` setting (``Exclude`` too) with an error that does not quote it."""

_VERSION = re.compile(r"^(\d{4})(\d{2})(\.\d{2})?$")


@dataclass(frozen=True)
class Owner:
    """An ad account or organization whose leads are read, with its lead types."""

    kind: str
    """``sponsoredAccount`` or ``organization``: the key of LinkedIn's owner union."""
    id: int
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


def parse_start_date(value: Optional[Union[str, date, datetime]], now: datetime) -> datetime:
    """Parses ``start_date`` (a date or ISO datetime; naive means UTC).

    ``None`` means LinkedIn's retention: ``now`` minus 365 days.

    Raises:
        LinkedInConfigError: If unparseable or in the future.
    """
    if value is None or value == "":
        return now - timedelta(days=RETENTION_DAYS)
    try:
        # dlt's parser: dates, datetimes and ISO 8601 text, naive taken as UTC
        parsed: datetime = ensure_pendulum_datetime(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError):
        raise LinkedInConfigError(
            "start_date",
            value,
            "write a date or an ISO 8601 datetime, e.g. 2026-01-31 or 2026-01-31T08:00:00Z.",
        ) from None
    if parsed > now:
        raise LinkedInConfigError(
            "start_date", value, f"it is in the future (now is {now.isoformat()}); use a past date."
        )
    if parsed < now - timedelta(days=RETENTION_DAYS):
        logger.warning(
            f"start_date {parsed.isoformat()} is older than LinkedIn's {RETENTION_DAYS}-day lead "
            "retention: LinkedIn returns no leads older than that."
        )
    return parsed


def check_choice(setting: str, value: str, choices: Iterable[str]) -> str:
    """Returns ``value`` lowercased if it is one of ``choices``."""
    options = tuple(choices)
    normalized = str(value).strip().lower()
    if normalized not in options:
        raise LinkedInConfigError(setting, value, f"use one of {', '.join(options)}.")
    return normalized


def check_test_leads(value: str) -> TestLeads:
    """Validates ``test_leads``: include, exclude or only (any case)."""
    return cast(TestLeads, check_choice("test_leads", value, TEST_LEADS_MODES))


def check_page_size(value: int) -> int:
    """Validates ``page_size`` against the range LinkedIn accepts."""
    if isinstance(value, bool) or not isinstance(value, int) or not (MIN_PAGE_SIZE <= value <= MAX_PAGE_SIZE):
        raise LinkedInConfigError(
            "page_size", value, f"use a whole number from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}."
        )
    return value


def check_api_version(value: str) -> str:
    """Validates ``api_version``: ``YYYYMM`` or ``YYYYMM.RR``."""
    match = _VERSION.match(str(value).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise LinkedInConfigError("api_version", value, "write LinkedIn's version as YYYYMM, e.g. 202609.")
    return str(value).strip()


def check_base_url(value: str) -> str:
    """Validates ``base_url``: an http(s) URL."""
    text = str(value).strip()
    if not re.match(r"^https?://[^\s/]+", text):
        raise LinkedInConfigError(
            "base_url", value, "use an http(s) URL such as https://api.linkedin.com/rest."
        )
    return text.rstrip("/")


def check_lookback(value: float) -> float:
    """Validates ``lookback_hours``: 0 to 30 days."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 720:
        raise LinkedInConfigError(
            "lookback_hours", value, "use a number of hours from 0 to 720 (30 days); default 24."
        )
    return float(value)


def check_concurrency(value: int) -> int:
    """Validates ``concurrency``: 1 to 32 queries (time slices) at once."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise LinkedInConfigError(
            "concurrency", value, f"use a whole number of queries read at once, from 1 to {MAX_CONCURRENCY}."
        )
    return value


def check_credentials(credentials: Any) -> Any:
    """Validates resolved credentials: one kind only, no empty field, an http(s) token URL.

    Values are never quoted: an error says only whether a field is set.
    """
    section = "sources.linkedin_leads.credentials"
    check_placeholders(credentials)
    if isinstance(credentials, LinkedInOAuthCredentials):
        for name in ("client_id", "client_secret", "refresh_token"):
            if not str(getattr(credentials, name, "") or "").strip():
                raise LinkedInConfigError(
                    f"credentials.{name}", "<empty>", f"set {section}.{name} to the value from LinkedIn."
                )
        if not re.match(r"^https?://", str(credentials.token_url or "")):
            raise LinkedInConfigError(
                "credentials.token_url",
                credentials.token_url,
                "use LinkedIn's token endpoint, https://www.linkedin.com/oauth/v2/accessToken.",
            )
        if _configured(f"{section}.access_token"):
            raise LinkedInConfigError(
                "credentials",
                "<both an OAuth refresh token and an access_token>",
                f"keep one kind under [{section}]: client_id, client_secret and refresh_token (renewed "
                "automatically), or access_token (60 days); remove the other.",
            )
    elif isinstance(credentials, LinkedInAccessTokenCredentials):
        if not str(credentials.access_token or "").strip():
            raise LinkedInConfigError(
                "credentials.access_token", "<empty>", f"set {section}.access_token to a member access token."
            )
        partial = [
            name
            for name in ("client_id", "client_secret", "refresh_token")
            if _configured(f"{section}.{name}")
        ]
        if partial:
            raise LinkedInConfigError(
                "credentials",
                f"<access_token and {', '.join(partial)}>",
                f"keep one kind under [{section}]: access_token alone, or client_id, client_secret and "
                "refresh_token together.",
            )
    return credentials


def _configured(key: str) -> bool:
    """Whether a config or secret value is set for ``key`` in dlt's providers (env, toml, ...)."""
    try:
        return bool(dlt.secrets.get(key))
    except (ConfigurationException, ValueError, OSError):  # a provider that cannot answer: not set
        return False


SECTION = ("sources", "linkedin_leads")
ENV_PREFIX = "SOURCES__LINKEDIN_LEADS__"


def known_keys() -> List[str]:
    """Every key ``[sources.linkedin_leads]`` may hold, nested ones as ``credentials.<field>``."""
    keys = [name for name in SOURCE_SETTINGS if name != "credentials"] + list(RUNNER_SETTINGS)
    for spec in (LinkedInOAuthCredentials, LinkedInAccessTokenCredentials):
        keys += [
            f"credentials.{name}"
            for name in spec.get_resolvable_fields()
            if f"credentials.{name}" not in keys
        ]
    keys += [f"notifications.{name}" for name in NOTIFICATION_SETTINGS]
    return keys


def configured_keys() -> List[Tuple[str, str]]:
    """``(key, where)`` of every key set under ``[sources.linkedin_leads]``, in every provider."""
    found: List[Tuple[str, str]] = []
    for provider in dlt.config.config_providers:
        if provider.name == "Environment Variables":
            for name in sorted(os.environ):
                if name.startswith(ENV_PREFIX):
                    key = ".".join(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
                    found.append((key, f"the environment variable {name}"))
            continue
        table = _lookup(provider, SECTION[1], SECTION[0])
        if not isinstance(table, dict):
            continue
        where = ", ".join(getattr(provider, "present_locations", None) or []) or provider.name
        for key, value in table.items():
            if isinstance(value, dict) and key in ("credentials", "notifications"):
                found += [(f"{key}.{inner}", where) for inner in value]
            else:
                found.append((str(key), where))
    return found


def check_keys() -> None:
    """Refuses a key under ``[sources.linkedin_leads]`` that nothing reads (a typo, a key of
    another source), before any request: it would otherwise be ignored in silence.

    Raises:
        LinkedInConfigError: Naming the key, where it is set and the closest known key.
    """
    known = known_keys()
    for key, where in configured_keys():
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else f"the keys are: {', '.join(known)}."
        raise LinkedInConfigError(
            key,
            f"<set in {where}>",
            f"no such setting under [sources.linkedin_leads]; {hint} Rename or remove it.",
        )


def check_placeholders(credentials: Any) -> None:
    """Refuses credentials still holding the placeholder text of ``.dlt/example.secrets.toml`` (or
    ``dlt init``'s ``<configure me>``), before any request."""
    for name in ("client_id", "client_secret", "refresh_token", "access_token"):
        value = str(getattr(credentials, name, "") or "").strip().lower()
        if value and value.startswith(PLACEHOLDERS):
            where = _where(f"credentials.{name}") or "your configuration"
            raise LinkedInConfigError(
                f"credentials.{name}",
                "<a placeholder>",
                f"replace the example text in {where} with the value from your LinkedIn app "
                "(python -m linkedin_leads auth, or the developer portal's token generator).",
            )


def _where(key: str) -> Optional[str]:
    """Where the value of ``key`` (under the source's section) comes from, for an error message."""
    path = key.split(".")
    for provider in dlt.config.config_providers:
        value = _lookup(provider, path[-1], *SECTION, *path[:-1])
        if value is not None:
            if provider.name == "Environment Variables":
                return f"the environment variable {'__'.join((*SECTION, *path)).upper()}"
            return ", ".join(getattr(provider, "present_locations", None) or []) or provider.name
    return None


NEAR_MISS_SECTIONS = ("linkedin", "linkedin_lead", "linkedinleads", "linked_in_leads", "linkedin-leads")


def near_miss_credentials() -> List[str]:
    """Sections that look like ``[sources.linkedin_leads.credentials]`` and hold credentials:
    ``[sources.linkedin]``, ``[source.linkedin_leads]``, ``[linkedin_leads]``... with where they are."""
    found: List[str] = []
    credential_keys = {"client_id", "client_secret", "refresh_token", "access_token"}

    def has_credentials(table: Any) -> bool:
        if not isinstance(table, dict):
            return False
        inner = table.get("credentials")
        return bool(
            credential_keys & set(table) or (isinstance(inner, dict) and credential_keys & set(inner))
        )

    for provider in dlt.config.config_providers:
        if provider.name == "Environment Variables":
            for name in sorted(os.environ):
                upper = name.upper()
                if upper.startswith(ENV_PREFIX) or "LINKEDIN" not in upper:
                    continue
                if any(upper.endswith(f"__{k.upper()}") for k in credential_keys):
                    found.append(f"the environment variable {name}")
            continue
        where = ", ".join(getattr(provider, "present_locations", None) or []) or provider.name
        candidates: List[Tuple[str, Tuple[str, ...]]] = [
            (f"[sources.{name}]", ("sources", name)) for name in NEAR_MISS_SECTIONS
        ]
        candidates += [("[source.linkedin_leads]", ("source", "linkedin_leads"))]
        candidates += [("[linkedin_leads]", ("linkedin_leads",)), ("[linkedin]", ("linkedin",))]
        for label, path in candidates:
            table = _lookup(provider, path[-1], *path[:-1])
            if has_credentials(table):
                found.append(f"{label} in {where}")
    return found


def _lookup(provider: Any, key: str, *sections: str) -> Any:
    """A provider's value for ``key`` in ``sections``; None if unset or the provider cannot answer
    (a secrets vault offline, say: these checks then have nothing to check there)."""
    try:
        value, _ = provider.get_value(key, Any, None, *sections)
    except Exception as exc:
        logger.debug(
            f"{provider.name} could not be read for {'.'.join((*sections, key))}: {type(exc).__name__}"
        )
        return None
    return value


def checked_client(
    credentials: Any, base_url: str, api_version: str, page_size: int = DEFAULT_PAGE_SIZE
) -> LinkedInClient:
    """The client of the pull, the receiver and ``check``, every setting validated first."""
    return LinkedInClient(
        check_credentials(credentials),
        check_base_url(base_url),
        check_api_version(api_version),
        check_page_size(page_size),
    )
