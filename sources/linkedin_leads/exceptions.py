"""Errors raised by the linkedin_leads source. None of them carries a secret."""

from typing import Optional

from dlt.common.exceptions import DltException


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
