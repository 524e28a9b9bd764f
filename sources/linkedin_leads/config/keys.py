"""Which keys are set under ``[sources.linkedin_leads]``, and where.

Keys nothing reads (typos), placeholders left from the example secrets, and credentials put in a
near-miss section are refused before any request.
"""

import difflib
import os
import sys
from typing import Any, Iterator, List, Optional, Tuple

import dlt
from dlt.common import logger
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigurationException

from ..api.credentials import LinkedInAccessTokenCredentials, LinkedInOAuthCredentials
from ..api.exceptions import LinkedInConfigError
from ..settings import (
    NOTIFICATION_SETTINGS,
    PLACEHOLDERS,
    RUNNER_SETTINGS,
    SOURCE_SETTINGS,
    command,
)


def is_configured(key: str) -> bool:
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
    for error in unknown_keys():
        raise error


def unknown_keys() -> Iterator[LinkedInConfigError]:
    """Each key under ``[sources.linkedin_leads]`` that nothing reads, with the closest known key."""
    known = known_keys()
    for key, where in configured_keys():
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else f"the keys are: {', '.join(known)}."
        yield LinkedInConfigError(
            key,
            f"<set in {where}>",
            f"no such setting under [sources.linkedin_leads]; {hint} Rename or remove it.",
        )


CREDENTIAL_KEYS = ("client_id", "client_secret", "refresh_token", "access_token")


def check_placeholders(credentials: Any) -> None:
    """Refuses credentials still holding the placeholder text of ``.dlt/example.secrets.toml`` (or
    ``dlt init``'s ``<configure me>``), before any request.

    Raises:
        LinkedInConfigError: For the first placeholder (``placeholder_error``).
    """
    for name in CREDENTIAL_KEYS:
        error = placeholder_error(name, getattr(credentials, name, None))
        if error is not None:
            raise error


def placeholder_error(name: str, value: Any) -> Optional[LinkedInConfigError]:
    """The error for credential ``name`` if ``value`` is placeholder text, naming where it is set
    and where the real value comes from; None for any other value."""
    if not isinstance(value, str) or not value.strip().lower().startswith(PLACEHOLDERS):
        return None
    real = (
        "your app's Auth tab in LinkedIn's developer portal"
        if name in ("client_id", "client_secret")
        else f"{command('auth')}, or the developer portal's token generator"
    )
    return LinkedInConfigError(
        f"credentials.{name}",
        "<a placeholder>",
        f"replace the example text in {where_set(f'credentials.{name}')} with the value from {real}.",
    )


def configured_value(key: str) -> Tuple[Any, Any]:
    """The first provider holding ``key`` under ``[sources.linkedin_leads]``, and its value as
    written (not resolved by dlt); ``(None, None)`` where none does."""
    *inner, name = key.split(".")
    for provider in dlt.config.config_providers:
        value = _lookup(provider, name, *SECTION, *inner)
        if value is not None:
            return provider, value
    return None, None


def where_set(key: str) -> str:
    """Where ``key`` (under the source's section) is set, for an error message."""
    provider, _ = configured_value(key)
    if provider is None:
        return "your configuration"
    if provider.name == "Environment Variables":
        return f"the environment variable {ENV_PREFIX}{'__'.join(key.split('.')).upper()}"
    return ", ".join(getattr(provider, "present_locations", None) or []) or provider.name


NEAR_MISS_SECTIONS = ("linkedin",)
"""Sections under ``sources`` that may hold this source's credentials by mistake. One letter off,
a dash or ``[source.linkedin_leads]`` are refused before this is asked (``validate``)."""


def near_miss_credentials() -> List[str]:
    """Sections that look like ``[sources.linkedin_leads.credentials]`` and hold credentials:
    ``[sources.linkedin]``, ``[source.linkedin_leads]``, ``[linkedin_leads]``... with where they are."""
    found: List[str] = []
    credential_keys = set(CREDENTIAL_KEYS)

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


def config_error(exc: Exception) -> int:
    """Prints a configuration error (the missing fields, or the source's own message); returns 2."""
    if isinstance(exc, ConfigFieldMissingException):
        missing = ", ".join(exc.fields)
        print(
            f"linkedin_leads is not configured: {missing} ({command('init')} writes templates)",
            file=sys.stderr,
        )
    else:
        print(str(exc), file=sys.stderr)
    return 2
