"""Errors raised by the linkedin_leads source. None of them carries a secret."""

from typing import List, Optional, Tuple, Type, TypeVar, Union

from dlt.common import pendulum
from dlt.common.exceptions import DltException
from dlt.sources.helpers.requests import Response

from .urns import is_ad_account


class LinkedInLeadsError(DltException):
    """Base class of this source's errors."""


class LinkedInConfigError(LinkedInLeadsError, ValueError):
    """A setting has a value the source cannot use; raised before any request."""

    def __init__(self, setting: str, value: object, fix: str) -> None:
        self.setting = setting
        self.value = value
        super().__init__(
            f"Setting `{setting}` of source `linkedin_leads` has the value {value!r}, "
            f"which cannot be used: {fix}"
        )


class LinkedInSettingsError(LinkedInConfigError):
    """Several settings the source cannot use, reported together (``config.validate``).

    Attributes:
        errors: Each mistake, with its setting, value and fix.
    """

    def __init__(self, errors: List[LinkedInConfigError]) -> None:
        self.errors = errors
        self.setting, self.value = errors[0].setting, errors[0].value
        if len(errors) == 1:
            LinkedInLeadsError.__init__(self, str(errors[0]))
            return
        lines = "\n".join(f"- {error}" for error in errors)
        LinkedInLeadsError.__init__(
            self, f"{len(errors)} settings of source `linkedin_leads` cannot be used:\n{lines}"
        )


class LinkedInAPIError(LinkedInLeadsError):
    """LinkedIn answered with an error status.

    Attributes:
        status: The HTTP status code.
        code: LinkedIn's error code (e.g. ``ACCESS_DENIED``), if the body had one.
        message: LinkedIn's error message, if the body had one.
        url: The requested URL (it never holds a secret: tokens travel in headers).
    """

    def __init__(
        self,
        status: int,
        code: Optional[str],
        message: Optional[str],
        url: str,
        hint: Optional[str] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.url = url
        # status 0: no answer at all (the connection failed or timed out), `code` the error's type
        text = f"LinkedIn answered {status}" if status else "No answer from LinkedIn"
        if code:
            text += f" {code}" if status else f" ({code})"
        if message:
            text += f": {message}"
        text += f" (GET {url})"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class LinkedInAuthError(LinkedInLeadsError):
    """An access token could not be obtained or was refused."""


class LinkedInQuotaError(LinkedInAPIError):
    """LinkedIn's daily quota is used up (a 429 that clears at midnight UTC)."""


class LinkedInPagingLimitError(LinkedInAPIError):
    """LinkedIn refused a page beyond the first (400): it pages no deeper into this query."""


class LinkedInAccessError(LinkedInAPIError):
    """LinkedIn refused access (403) to one owner's forms or leads."""

    def __init__(self, owner_urn: str, resource: str, cause: LinkedInAPIError) -> None:
        self.owner_urn = owner_urn
        scope = (
            "r_marketing_leadgen_automation (or r_ads)"
            if resource == "lead forms"
            else "r_marketing_leadgen_automation"
        )
        super().__init__(
            cause.status,
            cause.code,
            cause.message,
            cause.url,
            hint=(
                f"LinkedIn refused the {resource} of {owner_urn}. The member who authorized the token "
                f"needs the scope {scope} and a role on that "
                + (
                    "ad account (e.g. CAMPAIGN_MANAGER or VIEWER) and on its company page"
                    if is_ad_account(owner_urn)
                    else "company page (e.g. ADMINISTRATOR or LEAD_GEN_FORMS_MANAGER)"
                )
                + ". Or set skip_inaccessible_owners = true under [sources.linkedin_leads] to load the "
                "other owners and skip this one with a warning"
            ),
        )


def is_daily_quota(response: Optional[Response]) -> bool:
    """A 429 that will not clear before midnight UTC (LinkedIn's daily limits)."""
    if response is None or response.status_code != 429:
        return False
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return False
    return "DAY limit" in message or " DAY " in message


def is_count_refused(error: LinkedInAPIError) -> bool:
    """LinkedIn's 400 for a ``count`` (or ``pageSize``) larger than it serves."""
    return error.status == 400 and "too many entities" in (error.message or "").lower()


def quota_error(response: Response, url: str) -> LinkedInQuotaError:
    """The daily quota error, saying when it resets."""
    now = pendulum.now("UTC")
    midnight = now.add(days=1).start_of("day")
    wait = midnight - now
    return LinkedInQuotaError(
        response.status_code,
        error_field(response, "code"),
        error_field(response, "message"),
        url,
        hint=(
            f"This is LinkedIn's daily quota: it resets at 00:00 UTC ({midnight:%Y-%m-%d %H:%M} UTC, in "
            f"{wait.seconds // 3600} h {wait.seconds % 3600 // 60} min)"
        ),
    )


def error_field(response: Response, field: str) -> Optional[str]:
    """A field of LinkedIn's JSON error body, as text (None if absent or not JSON)."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(field) if isinstance(body, dict) else None
    return str(value) if value is not None else None


def api_error(response: Response, url: str) -> LinkedInAPIError:
    """The error for an error status, with LinkedIn's ``code`` and ``message``."""
    return LinkedInAPIError(
        response.status_code,
        error_field(response, "code"),
        error_field(response, "message") or (response.text[:200] or None),
        url,
    )


E = TypeVar("E", bound=BaseException)


def find_cause(error: BaseException, kind: Union[Type[E], Tuple[Type[E], ...]]) -> Optional[E]:
    """The first exception of ``kind`` in ``error``'s chain (``error``, then each ``__cause__``,
    else ``__context__``), such as the source's own error inside dlt's ``PipelineStepFailed``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    current: Optional[BaseException] = error
    seen = set()
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class LinkedInCheckError(LinkedInLeadsError):
    """A check before a run failed (``check.preflight``): the rows as a table, each with its fix."""

    def __init__(self, report: str) -> None:
        self.report = report
        super().__init__(f"The check before the run failed; nothing was loaded:\n{report}")
