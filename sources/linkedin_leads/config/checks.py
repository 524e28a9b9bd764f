"""The values of the source's settings checked, and the client built from them, before any request.

Every error names the setting, the value and the fix (``LinkedInConfigError``).
"""

import re
from typing import Any, Iterable, Literal, Optional, Union, cast

from dlt.common import logger, pendulum
from dlt.common.time import ensure_pendulum_datetime

from ..api.client import LinkedInClient
from ..api.credentials import LinkedInAccessTokenCredentials, LinkedInOAuthCredentials
from ..api.exceptions import LinkedInConfigError
from ..settings import (
    DEFAULT_DELETION_CHECK_DAYS,
    DEFAULT_DELETION_CHECK_EVERY_HOURS,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_PAGE_SIZE,
    MAX_CONCURRENCY,
    MAX_DELETION_CHECK_DAYS,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    RETENTION_DAYS,
    TEST_LEADS_MODES,
)
from .keys import check_placeholders, is_configured

TestLeads = Literal["include", "exclude", "only"]
"""``test_leads`` once checked. The source's argument stays ``str``: dlt would refuse any
other value of a ``Literal`` setting (``Exclude`` too) with an error that does not quote it."""

_VERSION = re.compile(r"^(\d{4})(\d{2})(\.\d{2})?$")


def parse_start_date(
    value: Optional[Union[str, pendulum.Date, pendulum.DateTime]], now: pendulum.DateTime
) -> pendulum.DateTime:
    """Parses ``start_date`` (a date or ISO datetime; naive means UTC).

    ``None`` means LinkedIn's retention: ``now`` minus 365 days.

    Raises:
        LinkedInConfigError: If unparseable or in the future.
    """
    if value is None or value == "":
        return now.subtract(days=RETENTION_DAYS)
    try:
        # dlt's parser: dates, datetimes and ISO 8601 text, naive taken as UTC
        parsed = ensure_pendulum_datetime(value.strip() if isinstance(value, str) else value)
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
    if parsed < now.subtract(days=RETENTION_DAYS):
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


def check_deletion_check_days(value: int) -> int:
    """Validates ``deletion_check_days``: 0 (off) to 60 whole days."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DELETION_CHECK_DAYS:
        raise LinkedInConfigError(
            "deletion_check_days",
            value,
            f"use whole days from 0 (no check) to {MAX_DELETION_CHECK_DAYS}; default "
            f"{DEFAULT_DELETION_CHECK_DAYS}. Further back, a lead ageing out of LinkedIn's retention "
            "(90 days for some lead types) would look deleted.",
        )
    return value


def check_deletion_check_every(value: float) -> float:
    """Validates ``deletion_check_every_hours``: 0 (every run) or more hours."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 8760:
        raise LinkedInConfigError(
            "deletion_check_every_hours",
            value,
            f"use hours from 0 (every run) to 8760; default {DEFAULT_DELETION_CHECK_EVERY_HOURS:g}.",
        )
    return float(value)


def check_concurrency(value: int) -> int:
    """Validates ``concurrency``: 1 to 32 queries (time slices) at once."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise LinkedInConfigError(
            "concurrency", value, f"use a whole number of queries read at once, from 1 to {MAX_CONCURRENCY}."
        )
    return value


def check_lock_timeout(value: Any) -> float:
    """Validates ``destination_lock_timeout``: seconds, 0 or more (text from TOML or the
    environment taken as a number); unset (None or empty) is the default."""
    if value is None or value == "":
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or seconds < 0:
        raise LinkedInConfigError(
            "destination_lock_timeout",
            value,
            f"give the seconds a writer waits for the DuckDB file, e.g. {DEFAULT_LOCK_TIMEOUT:g}.",
        )
    return seconds


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
        # both kinds configured (credentials given in code, as the demo's, conflict with nothing)
        if is_configured(f"{section}.access_token") and is_configured(f"{section}.client_id"):
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
            if is_configured(f"{section}.{name}")
        ]
        if partial and is_configured(f"{section}.access_token"):
            raise LinkedInConfigError(
                "credentials",
                f"<access_token and {', '.join(partial)}>",
                f"keep one kind under [{section}]: access_token alone, or client_id, client_secret and "
                "refresh_token together.",
            )
    return credentials


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
