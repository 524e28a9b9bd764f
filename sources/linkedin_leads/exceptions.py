"""Errors raised by the linkedin_leads source. None of them carries a secret."""

from typing import Optional

from dlt.common.exceptions import DltException

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
        text = f"LinkedIn answered {status}"
        if code:
            text += f" {code}"
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
