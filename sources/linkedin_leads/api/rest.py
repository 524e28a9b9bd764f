"""HTTP to LinkedIn's versioned REST API: headers, versions, token renewal, retries and errors.

Requests go through dlt's retrying session (``dlt.sources.helpers.requests``), which
retries 5xx, throttling (every 429, daily-quota messages included: LinkedIn's text is no
promise), connection errors, truncated bodies and timeouts with exponential backoff and
honours ``Retry-After`` (``[runtime] request_max_attempts``, ``request_timeout``,
``request_backoff_factor``, ``request_max_retry_delay``). This module adds what is
LinkedIn-specific: the Rest.li query string, the three required headers, a new access token
on a 401 (read by status and ``serviceErrorCode``, not only by ``code``), a fallback when the
pinned ``LinkedIn-Version`` is sunset, a smaller ``count`` when LinkedIn refuses one as too
large, a named error when it refuses an offset, and errors that say what went wrong without
ever quoting a secret.
"""

import threading
from typing import Any, Callable, Dict, List, Optional, TypeVar, overload

import msgspec
from dlt.common import logger, pendulum
from dlt.common.json import json
from dlt.sources.helpers.requests import (
    ChunkedEncodingError,
    Client,
    RequestException,
    Response,
    Timeout,
)
from dlt.sources.helpers.requests import (
    ConnectionError as RequestsConnectionError,
)

from ..settings import (
    EXPIRED_ACCESS_TOKEN,
    NONEXISTENT_VERSION,
    RESTLI_PROTOCOL_VERSION,
    VERSION_FALLBACK_MONTHS,
)
from .credentials import LinkedInCredentials, LinkedInOAuthCredentials, make_token_provider, post_form
from .exceptions import (
    LinkedInAPIError,
    LinkedInAuthError,
    api_error,
    error_field,
    is_daily_quota,
    quota_error,
)
from .restli import QueryParams, encode_query

D = TypeVar("D")

TOKEN_ERRORS = {"65600": "invalid", "65601": "revoked", "65602": "expired", "65604": "empty"}
"""LinkedIn's ``serviceErrorCode`` of a 401, by its error-handling page."""

MAX_REFRESHES = 3
"""A request refused with an expired token fetches a new one at most this many times (threads
reading at once may use up a short-lived token before this one's turn); a request whose token
another thread already replaced asks again without counting."""

BAD_BODY_ATTEMPTS = 3
"""A 200 whose body is not JSON (cut by a proxy) is asked for again this many times."""


def _retry_throttling(response: Optional[Response], exception: Optional[BaseException]) -> bool:
    """dlt's retry condition: every 429, a bounded number of times (``request_max_attempts``).

    A daily-quota message is retried too: LinkedIn also answers 429 for "infrastructure
    protection", and the message text is no promise that the limit will not clear.
    """
    return response is not None and response.status_code == 429


def fallback_versions(today: pendulum.Date, months: int = VERSION_FALLBACK_MONTHS) -> List[str]:
    """The ``LinkedIn-Version`` months to try when the pinned one is sunset.

    Args:
        today: The date whose month comes first.
        months: How many months before it to try.

    Returns:
        List[str]: ``YYYYMM`` of the current month and the ``months`` before it, newest first.
    """
    versions = []
    year, month = today.year, today.month
    for _ in range(months + 1):
        versions.append(f"{year:04d}{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return versions


class RestClient:
    """Talks to LinkedIn's versioned REST API (``/rest``) for one source run; thread-safe.

    ``client.LinkedInClient`` adds the finders this source reads (paging, page sizes, leads, form
    versions).

    Args:
        credentials: The resolved credentials.
        base_url: The API base, e.g. ``https://api.linkedin.com/rest``.
        api_version: The ``LinkedIn-Version`` header, ``YYYYMM``.
    """

    def __init__(
        self,
        credentials: LinkedInCredentials,
        base_url: str,
        api_version: str,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        # raise_for_status is off: error bodies carry LinkedIn's code, which we read. 429 is
        # retried through the condition (not the status list) to leave the daily quota alone.
        self._http = Client(
            raise_for_status=False,
            status_codes=range(500, 600),
            exceptions=(RequestsConnectionError, Timeout, ChunkedEncodingError),
            retry_condition=_retry_throttling,
        )
        self.credentials = credentials
        self._tokens = make_token_provider(credentials, lambda: self._http.session)
        self._version_lock = threading.Lock()

    def introspect(self) -> Dict[str, Any]:
        """LinkedIn's token introspection of the current access token (OAuth credentials only).

        Returns:
            Dict[str, Any]: LinkedIn's answer: ``active``, ``status``, ``scope``, ``expires_at``...

        Raises:
            LinkedInAuthError: If the endpoint cannot be reached or refuses (the token never quoted).
        """
        credentials = self.credentials
        if not isinstance(credentials, LinkedInOAuthCredentials):
            raise LinkedInAuthError("token introspection needs client_id and client_secret")
        url = credentials.introspection_url
        form = {
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "token": self._tokens.token(),
        }
        status, body = post_form(self._http.session, url, form, "introspection endpoint")
        if status != 200 or not isinstance(body, dict):
            raise LinkedInAuthError(f"LinkedIn's introspection endpoint {url} answered {status}")
        return body

    def token_expiry(self) -> Dict[str, float]:
        """When the tokens expire, as the token endpoint said; a token is fetched first if none was.

        Returns:
            Dict[str, float]: Epoch seconds by ``access_token`` and ``refresh_token`` (empty for a
            plain access token).
        """
        self._tokens.token()
        return dict(self._tokens.expires_at)

    def _headers(self, token: str, version: str) -> Dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
        }

    def _send(self, method: str, url: str, token: str, version: str, body: Any = None) -> Response:
        try:
            return self._http.session.request(method, url, headers=self._headers(token, version), json=body)
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

    @overload
    def get(self, path: str, params: QueryParams) -> Dict[str, Any]:
        """The body as JSON."""

    @overload
    def get(self, path: str, params: QueryParams, decode: Callable[[bytes], D]) -> D:
        """The body as ``decode`` reads it."""

    def get(self, path: str, params: QueryParams, decode: Optional[Callable[[bytes], Any]] = None) -> Any:
        """GETs ``{base_url}/{path}?{rest.li query}`` and returns ``decode(body)``.

        A body that is not JSON (cut short) is asked for again; a JSON body whose shape ``decode``
        cannot read (a msgspec ``ValidationError``) fails at once, naming the field.

        Args:
            path: The path under the API base, e.g. ``leadFormResponses``.
            params: The query parameters, encoded in Rest.li 2.0 (``restli.encode_query``).
            decode: Reads the body; default dlt's JSON (orjson, faster than requests' own decoder,
                see ``bench/README.md``).

        Returns:
            Any: ``decode(body)``.

        Raises:
            LinkedInAPIError: If LinkedIn answers with an error status, or cannot be reached.
            LinkedInQuotaError: If the daily quota is used up.
            LinkedInAuthError: If the token expired and cannot be renewed.
        """
        decode = decode or json.loadb
        query = encode_query(params)
        url = f"{self.base_url}/{path}?{query}" if query else f"{self.base_url}/{path}"
        bad_bodies = 0
        while True:
            response = self._exchange("GET", url)
            try:
                return decode(response.content)
            except msgspec.ValidationError as exc:
                raise LinkedInAPIError(
                    response.status_code,
                    "UNEXPECTED_SHAPE",
                    f"LinkedIn's answer does not have the shape this source reads: {exc}",
                    url,
                    hint="Report it at the project's issue tracker with the field named here",
                ) from None
            except ValueError:
                bad_bodies += 1
                if bad_bodies >= BAD_BODY_ATTEMPTS:
                    raise LinkedInAPIError(
                        response.status_code,
                        "INVALID_BODY",
                        f"LinkedIn answered {BAD_BODY_ATTEMPTS} times with a body that is not JSON"
                        " (cut short or not from the API)",
                        url,
                    ) from None
                logger.warning(f"LinkedIn's answer to GET {url} was not valid JSON; asking again")

    def get_entity(self, path: str) -> Dict[str, Any]:
        """GETs one entity, ``{base_url}/{path}``.

        Args:
            path: The entity's path, its key already encoded, e.g. ``adAccounts/512345678``.

        Returns:
            Dict[str, Any]: The entity as JSON.

        Raises:
            LinkedInAPIError: As ``get``.
        """
        return self.get(path, [])

    def send(self, method: str, path: str, body: Any = None) -> Response:
        """Sends ``method`` (``POST``, ``DELETE``) to ``{base_url}/{path}`` with ``body`` as JSON.

        Args:
            method: The HTTP method.
            path: The path under the API base.
            body: The JSON body, if any.

        Returns:
            Response: LinkedIn's answer (a success status).

        Raises:
            LinkedInAPIError: If LinkedIn answers with an error status, or cannot be reached.
        """
        return self._exchange(method, f"{self.base_url}/{path}", body)

    def _exchange(self, method: str, url: str, body: Any = None) -> Response:
        """One request, answered: a new token on a 401, another version on a 426, errors raised."""
        refreshes = 0
        while True:
            token, version = self._tokens.token(), self.api_version
            response: Optional[Response] = self._send(method, url, token, version, body)
            if response is not None and response.status_code == 426:
                # a sunset LinkedIn-Version, whether or not the body says NONEXISTENT_VERSION
                response = self._fall_back(method, url, version, body)
            if response is None:  # another thread found the version: ask again with it
                continue
            status = response.status_code
            if status == 401:
                # any 401: with a refresh token, a new access token and the request again (one
                # refresh serves every thread that met the same token; a request whose token
                # another thread already replaced only asks again); LinkedIn's documented bodies
                # may carry only serviceErrorCode (65600 invalid, 65601 revoked, 65602 expired)
                if not self._tokens.can_refresh or refreshes >= MAX_REFRESHES:
                    raise self._auth_error(response, token, refreshes)
                if self._tokens.refresh(token):
                    logger.info("LinkedIn access token refused or expired; obtained a new one")
                    refreshes += 1
                continue
            if status == 429:  # still throttled after dlt's retries
                raise quota_error(response, url) if is_daily_quota(response) else api_error(response, url)
            if status >= 400:
                raise api_error(response, url)
            return response

    def _auth_error(self, response: Response, token: str, refreshes: int) -> LinkedInAuthError:
        """The error for a 401 the source cannot get past; a plain expired token says how to renew."""
        code, service = error_field(response, "code"), error_field(response, "serviceErrorCode")
        meaning = TOKEN_ERRORS.get(service or "", code or "refused")
        if not self._tokens.can_refresh and (code == EXPIRED_ACCESS_TOKEN or service == "65602"):
            self._tokens.refresh(token)  # raises the access token's own message
        detail = (
            f"HTTP 401 {code or ''} serviceErrorCode {service or '-'}: {error_field(response, 'message')}"
        )
        if self._tokens.can_refresh:
            return LinkedInAuthError(
                f"LinkedIn refused the access token ({meaning}) even after {refreshes} new one(s) from the "
                f"refresh token ({detail}). The member may have revoked the app's access: have them "
                "authorize it again and put the new `refresh_token` in "
                "`sources.linkedin_leads.credentials.refresh_token`."
            )
        return LinkedInAuthError(
            f"LinkedIn refused the access token in `sources.linkedin_leads.credentials.access_token` "
            f"({meaning}; {detail}). Generate a new one in the LinkedIn developer portal, or configure "
            "`client_id`, `client_secret` and `refresh_token` so the source renews it by itself."
        )

    def _fall_back(self, method: str, url: str, sunset: str, body: Any) -> Optional[Response]:
        """Finds the newest ``LinkedIn-Version`` LinkedIn accepts, once for all threads; returns
        the answer to the request with it (None: another thread already found one)."""
        with self._version_lock:
            if self.api_version != sunset:
                return None
            candidates = [v for v in fallback_versions(pendulum.now("UTC")) if v != sunset]
            token = self._tokens.token()
            for candidate in candidates:
                response = self._send(method, url, token, candidate, body)
                if response.status_code != 426:
                    logger.warning(
                        f"LinkedIn-Version {sunset} is no longer active; using {candidate}, the "
                        f'newest version LinkedIn accepts. Pin it with api_version = "{candidate}" '
                        "under [sources.linkedin_leads] (LinkedIn supports each version for about "
                        "a year)."
                    )
                    self.api_version = candidate
                    return response
            raise LinkedInAPIError(
                426,
                NONEXISTENT_VERSION,
                f"LinkedIn-Version {sunset} is not active, and neither is any version from "
                f"{candidates[0]} back to {candidates[-1]}",
                url,
                hint="Set `api_version` under [sources.linkedin_leads] to an active version listed at "
                "https://learn.microsoft.com/en-us/linkedin/marketing/versioning",
            )
