"""Credentials (dlt configspecs) and the access-token providers built from them.

Two kinds of credentials are accepted under ``[sources.linkedin_leads.credentials]``:
an OAuth refresh token with its client (the access token is fetched and
refreshed as needed), or a plain access token (valid 60 days, not refreshable).
"""

import threading
import time
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple, Union

import dlt
from dlt.common.configuration.specs import CredentialsConfiguration, configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.requests import RequestException, Session

from ..settings import DEFAULT_AUTHORIZATION_URL, DEFAULT_INTROSPECTION_URL, DEFAULT_TOKEN_URL, command
from .exceptions import LinkedInAuthError


@configspec
class LinkedInOAuthCredentials(CredentialsConfiguration):
    """OAuth 2.0 refresh-token credentials of an approved LinkedIn app.

    The member who authorized the app needs the scopes
    ``r_marketing_leadgen_automation`` and ``r_ads`` (and ``r_organization_admin``
    for organic leads).
    """

    client_id: str = dlt.config.value
    client_secret: TSecretStrValue = dlt.secrets.value
    refresh_token: TSecretStrValue = dlt.secrets.value
    token_url: str = DEFAULT_TOKEN_URL
    authorization_url: str = DEFAULT_AUTHORIZATION_URL
    """LinkedIn's authorization page (``python -m linkedin_leads auth``)."""
    introspection_url: str = DEFAULT_INTROSPECTION_URL
    """LinkedIn's token introspection endpoint (``check`` asks it for scopes, status, expiry)."""

    __config_gen_annotations__: ClassVar[List[str]] = ["client_id", "client_secret", "refresh_token"]


@configspec
class LinkedInAccessTokenCredentials(CredentialsConfiguration):
    """A 3-legged member access token (LinkedIn issues them for 60 days)."""

    access_token: TSecretStrValue = dlt.secrets.value

    __config_gen_annotations__: ClassVar[List[str]] = ["access_token"]


LinkedInCredentials = Union[LinkedInOAuthCredentials, LinkedInAccessTokenCredentials]


class AccessTokenProvider:
    """Hands out the current access token and renews it when LinkedIn says it expired."""

    can_refresh: bool = False
    expires_at: Dict[str, float]
    """Epoch seconds at which the ``access_token`` and ``refresh_token`` expire, as LinkedIn's
    token endpoint said (``expires_in``, ``refresh_token_expires_in``); empty when unknown."""

    def token(self) -> str:
        """The access token to send.

        Returns:
            str: The current access token (fetched first, if none was yet).

        Raises:
            LinkedInAuthError: If a token cannot be fetched.
        """
        raise NotImplementedError

    def refresh(self, expired: str) -> bool:
        """Replaces the ``expired`` token, or raises ``LinkedInAuthError`` if it cannot.

        Thread-safe: when several requests find the same token expired, one refresh serves all.

        Args:
            expired: The token LinkedIn refused.

        Returns:
            bool: Whether a new token was fetched (False: another thread had replaced it).
        """
        raise NotImplementedError


class StaticTokenProvider(AccessTokenProvider):
    """A fixed access token: when it expires the member must authorize again."""

    def __init__(self, credentials: LinkedInAccessTokenCredentials) -> None:
        self._token = credentials.access_token
        self.expires_at = {}  # LinkedIn's token introspection would tell; not asked here

    def token(self) -> str:
        """The configured access token.

        Returns:
            str: ``credentials.access_token``.
        """
        return self._token

    def refresh(self, expired: str) -> bool:
        """A fixed token cannot be renewed.

        Args:
            expired: The token LinkedIn refused.

        Returns:
            bool: Never returns.

        Raises:
            LinkedInAuthError: Always, saying how to get a refresh token.
        """
        raise LinkedInAuthError(
            "The LinkedIn access token in `sources.linkedin_leads.credentials.access_token` "
            "has expired or was revoked (LinkedIn access tokens live 60 days). Put your app's "
            f"`client_id` and `client_secret` there and run `{command('auth')}`: it "
            "writes a `refresh_token`, with which the source renews access tokens by itself."
        )


class RefreshTokenProvider(AccessTokenProvider):
    """Fetches access tokens from LinkedIn's token endpoint with a refresh token."""

    can_refresh = True

    def __init__(self, credentials: LinkedInOAuthCredentials, session: Callable[[], Session]) -> None:
        self._credentials = credentials
        self._session = session
        self._token: Optional[str] = None
        self._lock = threading.Lock()
        self.expires_at = {}

    def token(self) -> str:
        """The current access token, fetched with the refresh token on first use.

        Returns:
            str: The access token.

        Raises:
            LinkedInAuthError: If the token endpoint refuses the refresh token or does not answer.
        """
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
            return self._token

    def refresh(self, expired: str) -> bool:
        """Fetches a new access token, unless another thread already replaced ``expired``.

        Args:
            expired: The token LinkedIn refused.

        Returns:
            bool: Whether a new token was fetched.

        Raises:
            LinkedInAuthError: If the token endpoint refuses the refresh token or does not answer.
        """
        with self._lock:
            if self._token in (None, expired):
                self._token = self._fetch()
                return True
            return False

    def _fetch(self) -> str:
        creds = self._credentials
        body = token_answer(
            self._session(),
            creds.token_url,
            {
                "grant_type": "refresh_token",
                "refresh_token": creds.refresh_token,
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
            "the refresh token",
            "Refresh tokens live 365 days from the first authorization and do not slide: have the "
            "member authorize the app again and put the new `refresh_token` in "
            "`sources.linkedin_leads.credentials.refresh_token`; check `client_id` and "
            "`client_secret` too.",
        )
        now = time.time()
        for name, key in (("access_token", "expires_in"), ("refresh_token", "refresh_token_expires_in")):
            if isinstance(body.get(key), (int, float)):
                self.expires_at[name] = now + float(body[key])
        return str(body["access_token"])


def post_form(session: Session, url: str, form: Dict[str, Any], endpoint: str) -> Tuple[int, Any]:
    """POSTs ``form`` to one of LinkedIn's OAuth endpoints.

    Args:
        session: The HTTP session (dlt's retrying one).
        url: The endpoint.
        form: The form fields (secrets among them: never logged).
        endpoint: The endpoint's name for an error message, e.g. ``token endpoint``.

    Returns:
        Tuple[int, Any]: The status and the JSON body ({} if none).

    Raises:
        LinkedInAuthError: If it does not answer, naming only the error's type (its text may quote
            the request, and so a secret).
    """
    try:
        response = session.post(url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    except RequestException as exc:
        raise LinkedInAuthError(
            f"No answer from LinkedIn's {endpoint} {url} ({type(exc).__name__}): it could not be reached, "
            "or did not answer in time, after every retry. Check the network and the URL under "
            "`sources.linkedin_leads.credentials`; `[runtime] request_timeout` and `request_max_attempts` "
            "set the patience."
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response.status_code, body


def token_answer(session: Session, url: str, form: Dict[str, Any], grant: str, advice: str) -> Dict[str, Any]:
    """LinkedIn's token answer (with an ``access_token``) to ``form``.

    Args:
        session: The HTTP session.
        url: The token endpoint.
        form: The grant's form fields.
        grant: What is asked with, for an error message (``the refresh token``).
        advice: What to do when it is refused, appended to the error.

    Returns:
        Dict[str, Any]: The answer: ``access_token``, ``expires_in``, maybe ``refresh_token``.

    Raises:
        LinkedInAuthError: If the endpoint does not answer, or refuses ``grant`` (LinkedIn's
            status, ``error`` and description, then ``advice``).
    """
    status, body = post_form(session, url, form, "token endpoint")
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        raise LinkedInAuthError(
            f"LinkedIn's token endpoint {url} refused {grant} (HTTP {status}, {error or 'no error code'}: "
            f"{description or 'no description'}). {advice}"
        )
    return body


def make_token_provider(
    credentials: LinkedInCredentials, session: Callable[[], Session]
) -> AccessTokenProvider:
    """Builds the token provider that fits the resolved credentials.

    Args:
        credentials: OAuth refresh-token credentials, or a plain access token.
        session: Returns the HTTP session of the calling thread (dlt's client keeps one per thread).

    Returns:
        AccessTokenProvider: ``RefreshTokenProvider`` or ``StaticTokenProvider``.
    """
    if isinstance(credentials, LinkedInOAuthCredentials):
        return RefreshTokenProvider(credentials, session)
    return StaticTokenProvider(credentials)


EXPIRY_WARNING_DAYS = 30
"""From this many days before a token expires, every run warns."""


def expiry_warning(expires_at: Dict[str, float], now: float) -> Optional[str]:
    """A warning when a token expires within ``EXPIRY_WARNING_DAYS`` (None otherwise).

    The refresh token matters most: when it expires, the member must authorize the app again.

    Args:
        expires_at: Epoch seconds at which the tokens expire (``AccessTokenProvider.expires_at``).
        now: The time now, in epoch seconds.

    Returns:
        Optional[str]: The warning, saying when and what to do; None when nothing expires soon.
    """
    refresh = expires_at.get("refresh_token")
    if refresh is None:
        return None
    days = (refresh - now) / 86400
    if days > EXPIRY_WARNING_DAYS:
        return None
    return (
        f"The LinkedIn refresh token in `sources.linkedin_leads.credentials.refresh_token` expires in "
        f"{max(days, 0):.0f} days ({time.strftime('%Y-%m-%d', time.gmtime(refresh))}); refresh tokens "
        "do not slide. Have the member authorize the app again before then and put the new "
        "`refresh_token` in .dlt/secrets.toml, or runs will fail."
    )
