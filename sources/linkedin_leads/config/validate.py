"""Every setting checked at once, before dlt resolves any of them and before any request.

The entry points (``run``, ``--demo``, ``check``, ``auth``, the receiver's commands, the DAG's
preflight) call ``validate_settings`` first. It reads what the configuration providers hold for
``[sources.linkedin_leads]`` as written (TOML files, environment variables), and reports every
mistake together, each with its key, its value and the fix: keys nothing reads, sections that
nearly name this source, placeholders left from the example secrets, and values out of range.
Reading the raw values first also keeps dlt's own placeholder warnings from coming before this
source's message.
"""

import os
from typing import Any, Callable, Dict, Iterator, List, Tuple

import dlt
from dlt.common import pendulum

from ..api.exceptions import LinkedInConfigError, LinkedInSettingsError
from .checks import (
    check_api_version,
    check_base_url,
    check_concurrency,
    check_deletion_check_days,
    check_deletion_check_every,
    check_lock_timeout,
    check_lookback,
    check_page_size,
    check_test_leads,
    parse_start_date,
)
from .keys import (
    CREDENTIAL_KEYS,
    ENV_PREFIX,
    SECTION,
    _lookup,
    configured_value,
    placeholder_error,
    unknown_keys,
)
from .owners import parse_ids, parse_lead_types

SOURCE_NAME = SECTION[1]


def validate_settings(credentials: Tuple[str, ...] = CREDENTIAL_KEYS) -> None:
    """Checks every setting of ``[sources.linkedin_leads]`` as configured; sends nothing.

    Args:
        credentials: The credential keys whose placeholders are mistakes here (``auth`` writes
            the tokens, so it passes the app's keys only; the demo brings its own, and passes none).

    Raises:
        LinkedInSettingsError: Every mistake found, each naming the key, the value and the fix.
    """
    problems = [*unknown_keys(), *near_miss_sections(), *placeholders(credentials), *bad_values()]
    if problems and credentials:
        # told with the rest, so that one run shows them all (alone, dlt's own resolution says it)
        problems += missing_credentials(credentials)
    if problems:
        raise LinkedInSettingsError(problems)


def missing_credentials(keys: Tuple[str, ...]) -> Iterator[LinkedInConfigError]:
    """Credentials not set under ``[sources.linkedin_leads.credentials]``: the app's client id
    and secret for ``auth``; otherwise a refresh token with them, or an access token."""
    if keys != CREDENTIAL_KEYS:
        needed = [key for key in keys if raw(f"credentials.{key}") in (None, "")]
    elif raw("credentials.access_token") not in (None, ""):
        needed = []
    else:
        needed = [key for key in keys[:3] if raw(f"credentials.{key}") in (None, "")]
    if needed:
        yield LinkedInConfigError(
            "credentials",
            "<not set>",
            f"set {', '.join(needed)} under [sources.linkedin_leads.credentials] in .dlt/secrets.toml"
            " (or SOURCES__LINKEDIN_LEADS__CREDENTIALS__<KEY>)"
            + ("; or a 60-day access_token instead." if keys == CREDENTIAL_KEYS else "."),
        )


def raw(key: str) -> Any:
    """The value of ``key`` under ``[sources.linkedin_leads]`` as the first provider holds it."""
    return configured_value(key)[1]


def _number(value: Any, kind: Callable[[str], Any]) -> Any:
    """Text from an environment variable or TOML taken as a number, as dlt would; else as given."""
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return value
    return value


CHECKS: Dict[str, Callable[[Any], Any]] = {
    "page_size": lambda value: check_page_size(_number(value, int)),
    "concurrency": lambda value: check_concurrency(_number(value, int)),
    "lookback_hours": lambda value: check_lookback(_number(value, float)),
    "deletion_check_days": lambda value: check_deletion_check_days(_number(value, int)),
    "deletion_check_every_hours": lambda value: check_deletion_check_every(_number(value, float)),
    "test_leads": check_test_leads,
    "api_version": check_api_version,
    "base_url": check_base_url,
    "start_date": lambda value: parse_start_date(value, pendulum.now("UTC")),
    "account_ids": lambda value: parse_ids("account_ids", value, "sponsoredAccount"),
    "organization_ids": lambda value: parse_ids("organization_ids", value, "organization"),
    "lead_types": parse_lead_types,
    "destination_lock_timeout": check_lock_timeout,
}
"""How each setting's value is checked: the source's own checks, on the value as written."""


def bad_values() -> Iterator[LinkedInConfigError]:
    """The settings whose configured value the source would refuse."""
    for key, check in CHECKS.items():
        value = raw(key)
        if value is None:
            continue
        try:
            check(value)
        except LinkedInConfigError as exc:
            yield exc


def placeholders(keys: Tuple[str, ...]) -> Iterator[LinkedInConfigError]:
    """Credentials still holding the example secrets' text, or ``dlt init``'s ``<configure me>``."""
    for name in keys:
        error = placeholder_error(name, raw(f"credentials.{name}"))
        if error is not None:
            yield error


def is_near_miss(name: str) -> bool:
    """Whether a section name nearly spells ``linkedin_leads``: a dash for the underscore, or one
    letter missing, extra or different (``linkedin_lead``, ``linkedin-leads``, ``linkedinleads``)."""
    name = name.lower()
    if name == SOURCE_NAME:
        return False
    return name.replace("-", "_") == SOURCE_NAME or _one_edit_apart(name, SOURCE_NAME)


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def near_miss_sections() -> Iterator[LinkedInConfigError]:
    """Sections and environment variables that nearly name this source's, which dlt would ignore
    in silence: ``[source.linkedin_leads]``, ``[sources.linkedin_lead]``, ``SOURCES__LINKEDIN_LEAD__...``.
    Other sources' sections are not touched."""
    seen: List[str] = []
    for name in sorted(os.environ):
        parts = name.split("__")
        if len(parts) < 3:
            continue
        section, source = parts[0].upper(), parts[1].lower()
        if (section == "SOURCE" and source == SOURCE_NAME) or (section == "SOURCES" and is_near_miss(source)):
            written = f"{parts[0]}__{parts[1]}__"
            if written not in seen:
                seen.append(written)
                yield _near_miss(written + "...", f"the environment variable {name}", f"{ENV_PREFIX}...")
    for provider in dlt.config.config_providers:
        if provider.name == "Environment Variables":
            continue
        where = ", ".join(getattr(provider, "present_locations", None) or []) or provider.name
        for label in _near_miss_tables(provider):
            yield _near_miss(label, where, f"[sources.{SOURCE_NAME}]")


def _near_miss_tables(provider: Any) -> Iterator[str]:
    singular = _lookup(provider, "source")
    if isinstance(singular, dict) and SOURCE_NAME in singular:
        yield f"[source.{SOURCE_NAME}]"
    sources = _lookup(provider, "sources")
    for name in sources if isinstance(sources, dict) else {}:
        if isinstance(sources[name], dict) and is_near_miss(str(name)):
            yield f"[sources.{name}]"


def _near_miss(written: str, where: str, right: str) -> LinkedInConfigError:
    return LinkedInConfigError(
        written,
        f"<set in {where}>",
        f"this source reads {right}, not {written}: rename it, or its settings are never read.",
    )
