"""The HTTP client: headers, versions, token renewal, retries and errors.

Requests go through dlt's retrying session (``dlt.sources.helpers.requests``),
which retries 429, 5xx, connection errors and timeouts with backoff; this module
adds what is LinkedIn-specific: the Rest.li query string, the three required
headers, one token refresh and retry on ``EXPIRED_ACCESS_TOKEN``, and errors
that say what went wrong without ever quoting a secret.
"""

from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from dlt.common import logger
from dlt.common.json import json
from dlt.sources.helpers.requests import Client, Response

from .auth import LinkedInCredentials, make_token_provider
from .exceptions import LinkedInAPIError
from .paging import Page, paginate
from .restli import QueryParams, encode_query
from .settings import EXPIRED_ACCESS_TOKEN, RESTLI_PROTOCOL_VERSION


class LinkedInClient:
    """Talks to LinkedIn's versioned REST API (``/rest``) for one source run.

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
        # raise_for_status is off: error bodies carry LinkedIn's code, which we read
        self._http = Client(raise_for_status=False)
        self._tokens = make_token_provider(credentials, lambda: self._http.session)

    def _headers(self, token: str) -> Dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self.api_version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
        }

    def get(self, path: str, params: QueryParams) -> Dict[str, Any]:
        """GETs ``{base_url}/{path}?{rest.li query}`` and returns the decoded body.

        Raises:
            LinkedInAPIError: If LinkedIn answers with an error status.
            LinkedInAuthError: If the token expired and cannot be renewed.
        """
        url = f"{self.base_url}/{path}?{encode_query(params)}"
        refreshed = False
        while True:
            token = self._tokens.token()
            response = self._http.session.get(url, headers=self._headers(token))
            if response.status_code == 401 and not refreshed:
                code = _error_field(response, "code")
                if code == EXPIRED_ACCESS_TOKEN:
                    logger.info("LinkedIn access token expired; obtaining a new one")
                    self._tokens.refresh(token)
                    refreshed = True
                    continue
            if response.status_code >= 400:
                raise _api_error(response, url)
            # dlt's JSON (orjson): 1.5 to 2 times faster than requests' own decoder here
            body: Dict[str, Any] = json.loadb(response.content)
            return body

    def get_pages(self, path: str, params: QueryParams) -> Iterator[Page]:
        """Pages through a finder; yields the elements of each page (see ``paging``)."""

        def fetch(start: int, count: int) -> Dict[str, Any]:
            return self.get(path, [*_pairs(params), ("start", start), ("count", count)])

        return paginate(fetch, self.page_size)


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
