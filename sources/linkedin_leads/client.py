"""The HTTP client: headers, versions, token renewal, retries and errors.

Requests go through dlt's retrying session (``dlt.sources.helpers.requests``), which
retries 5xx, throttling, connection errors, truncated bodies and timeouts with
exponential backoff and honours ``Retry-After`` (``[runtime] request_max_attempts``,
``request_timeout``, ``request_backoff_factor``, ``request_max_retry_delay``). This module
adds what is LinkedIn-specific: the Rest.li query string, the three required headers, one
token refresh on ``EXPIRED_ACCESS_TOKEN``, a fallback when the pinned ``LinkedIn-Version``
is sunset, no retries against a daily quota, and errors that say what went wrong without
ever quoting a secret.
"""

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, TypeVar

import msgspec
from dlt.common import logger
from dlt.common.json import json
from dlt.sources.helpers.requests import (
    ChunkedEncodingError,
    Client,
    ConnectionError,
    RequestException,
    Response,
    Timeout,
)

from .auth import LinkedInCredentials, make_token_provider
from .exceptions import LinkedInAPIError, LinkedInQuotaError
from .paging import paginate
from .records import Lead, decode_lead_page
from .restli import QueryParams, encode_query
from .settings import (
    EXPIRED_ACCESS_TOKEN,
    NONEXISTENT_VERSION,
    RESTLI_PROTOCOL_VERSION,
    VERSION_FALLBACK_MONTHS,
)

D = TypeVar("D")

BAD_BODY_ATTEMPTS = 3
"""A 200 whose body is not JSON (cut by a proxy) is asked for again this many times."""


def is_daily_quota(response: Optional[Response]) -> bool:
    """A 429 that will not clear before midnight UTC (LinkedIn's daily limits)."""
    if response is None or response.status_code != 429:
        return False
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return False
    return "DAY limit" in message or " DAY " in message


def _retry_throttling(response: Optional[Response], exception: Optional[BaseException]) -> bool:
    """dlt's retry condition: a 429, unless it is the daily quota (retrying cannot help)."""
    return response is not None and response.status_code == 429 and not is_daily_quota(response)


def fallback_versions(today: datetime, months: int = VERSION_FALLBACK_MONTHS) -> List[str]:
    """``YYYYMM`` of the current month and the ``months`` before it, newest first."""
    versions = []
    year, month = today.year, today.month
    for _ in range(months + 1):
        versions.append(f"{year:04d}{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return versions


class LinkedInClient:
    """Talks to LinkedIn's versioned REST API (``/rest``) for one source run; thread-safe.

    Args:
        credentials: The resolved credentials.
        base_url: The API base, e.g. ``https://api.linkedin.com/rest``.
        api_version: The ``LinkedIn-Version`` header, ``YYYYMM``.
        page_size: The ``count`` of every paged request.
    """

    def __init__(
        self,
        credentials: LinkedInCredentials,
        base_url: str,
        api_version: str,
        page_size: int,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.page_size = page_size
        # raise_for_status is off: error bodies carry LinkedIn's code, which we read. 429 is
        # retried through the condition (not the status list) to leave the daily quota alone.
        self._http = Client(
            raise_for_status=False,
            status_codes=range(500, 600),
            exceptions=(ConnectionError, Timeout, ChunkedEncodingError),
            retry_condition=_retry_throttling,
        )
        self._tokens = make_token_provider(credentials, lambda: self._http.session)
        self._version_lock = threading.Lock()

    def _headers(self, token: str, version: str) -> Dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
        }

    def _send(self, url: str, token: str, version: str) -> Response:
        try:
            return self._http.session.get(url, headers=self._headers(token, version))
        except RequestException as exc:
            # only the exception's type: its text may quote the request, never needed here
            raise LinkedInAPIError(
                0,
                type(exc).__name__,
                "LinkedIn could not be reached, or did not answer in time, after every retry",
                url,
                hint="Check the network and `base_url`; `[runtime] request_timeout` and "
                "`request_max_attempts` set the patience",
            ) from None

    def get(self, path: str, params: QueryParams) -> Dict[str, Any]:
        """GETs ``{base_url}/{path}?{rest.li query}`` and returns the body decoded as JSON.

        Raises:
            LinkedInAPIError: If LinkedIn answers with an error status, or cannot be reached.
            LinkedInQuotaError: If the daily quota is used up.
            LinkedInAuthError: If the token expired and cannot be renewed.
        """
        # dlt's JSON (orjson): 1.5 to 2 times faster than requests' own decoder here
        body: Dict[str, Any] = self.get_decoded(path, params, json.loadb)
        return body

    def get_decoded(self, path: str, params: QueryParams, decode: Callable[[bytes], D]) -> D:
        """GETs ``{base_url}/{path}?{rest.li query}`` and returns ``decode(body)``.

        A body that is not JSON (cut short) is asked for again; a JSON body whose shape
        ``decode`` cannot read (a msgspec ``ValidationError``) fails at once, naming the field.

        Raises:
            LinkedInAPIError: If LinkedIn answers with an error status, or cannot be reached.
            LinkedInQuotaError: If the daily quota is used up.
            LinkedInAuthError: If the token expired and cannot be renewed.
        """
        url = f"{self.base_url}/{path}?{encode_query(params)}"
        refreshed = False
        bad_bodies = 0
        while True:
            token, version = self._tokens.token(), self.api_version
            response = self._send(url, token, version)
            status = response.status_code
            if status == 401 and not refreshed and _error_field(response, "code") == EXPIRED_ACCESS_TOKEN:
                logger.info("LinkedIn access token expired; obtaining a new one")
                self._tokens.refresh(token)
                refreshed = True
                continue
            if status == 426 and _error_field(response, "code") == NONEXISTENT_VERSION:
                self._fall_back(url, version)
                continue
            if is_daily_quota(response):
                raise quota_error(response, url)
            if status >= 400:
                raise _api_error(response, url)
            try:
                return decode(response.content)
            except msgspec.ValidationError as exc:
                raise LinkedInAPIError(
                    status,
                    "UNEXPECTED_SHAPE",
                    f"LinkedIn's answer does not have the shape this source reads: {exc}",
                    url,
                    hint="Report it at the project's issue tracker with the field named here",
                ) from None
            except ValueError:
                bad_bodies += 1
                if bad_bodies >= BAD_BODY_ATTEMPTS:
                    raise LinkedInAPIError(
                        status,
                        "INVALID_BODY",
                        f"LinkedIn answered {BAD_BODY_ATTEMPTS} times with a body that is not JSON"
                        " (cut short or not from the API)",
                        url,
                    ) from None
                logger.warning(f"LinkedIn's answer to GET {url} was not valid JSON; asking again")

    def _fall_back(self, url: str, sunset: str) -> None:
        """Finds the newest ``LinkedIn-Version`` LinkedIn accepts, once for all threads."""
        with self._version_lock:
            if self.api_version != sunset:
                return  # another request already found one
            candidates = [v for v in fallback_versions(datetime.now(timezone.utc)) if v != sunset]
            token = self._tokens.token()
            for candidate in candidates:
                if self._send(url, token, candidate).status_code != 426:
                    logger.warning(
                        f"LinkedIn-Version {sunset} is no longer active; using {candidate}, the "
                        f'newest version LinkedIn accepts. Pin it with api_version = "{candidate}" '
                        "under [sources.linkedin_leads] (LinkedIn supports each version for about "
                        "a year)."
                    )
                    self.api_version = candidate
                    return
            raise LinkedInAPIError(
                426,
                NONEXISTENT_VERSION,
                f"LinkedIn-Version {sunset} is not active, and neither is any version from "
                f"{candidates[0]} back to {candidates[-1]}",
                url,
                hint="Set `api_version` under [sources.linkedin_leads] to an active version listed at "
                "https://learn.microsoft.com/en-us/linkedin/marketing/versioning",
            )

    def get_pages(
        self, path: str, params: QueryParams, key: Callable[[Dict[str, Any]], Any] = lambda e: e.get("id")
    ) -> Iterator[List[Dict[str, Any]]]:
        """Pages through a finder; yields the elements of each page (see ``paging``).

        ``key`` identifies an element, to drop the repeats a page may bring.
        """

        def fetch(start: int, count: int) -> List[Dict[str, Any]]:
            body = self.get(path, [*_pairs(params), ("start", start), ("count", count)])
            elements: List[Dict[str, Any]] = body.get("elements") or []
            return elements

        return paginate(fetch, self.page_size, key)

    def get_lead_pages(self, path: str, params: QueryParams) -> Iterator[List[Lead]]:
        """Pages through the responses finder; yields each page's leads as ``records.Lead``."""

        def fetch(start: int, count: int) -> List[Lead]:
            query = [*_pairs(params), ("start", start), ("count", count)]
            return self.get_decoded(path, query, decode_lead_page).elements or []

        return paginate(fetch, self.page_size, _lead_id)


def quota_error(response: Response, url: str) -> LinkedInQuotaError:
    """The daily quota error, saying when it resets."""
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    wait = midnight - now
    return LinkedInQuotaError(
        response.status_code,
        _error_field(response, "code"),
        _error_field(response, "message"),
        url,
        hint=(
            f"This is LinkedIn's daily quota: it resets at 00:00 UTC ({midnight:%Y-%m-%d %H:%M} UTC, in "
            f"{wait.seconds // 3600} h {wait.seconds % 3600 // 60} min), so the source stopped instead of "
            "retrying. Nothing of this run was loaded and the stored cursor did not move: the next "
            "run after the reset reads the same window. A backfill larger than the quota can be split "
            "by owners or by start_date"
        ),
    )


def _lead_id(lead: Lead) -> str:
    return lead.id


def _pairs(params: QueryParams) -> List[Tuple[str, Any]]:
    return list(params.items() if isinstance(params, Mapping) else params)


def _error_field(response: Response, field: str) -> Optional[str]:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(field) if isinstance(body, dict) else None
    return str(value) if value is not None else None


def _api_error(response: Response, url: str) -> LinkedInAPIError:
    return LinkedInAPIError(
        response.status_code,
        _error_field(response, "code"),
        _error_field(response, "message") or (response.text[:200] or None),
        url,
    )
