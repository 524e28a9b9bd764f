"""LinkedIn's webhook signatures: the validation challenge and the ``X-LI-Signature`` header.

LinkedIn's webhook-validation page
(https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation):

- validation: ``GET <webhook>?challengeCode=<uuid4>`` is answered with
  ``{"challengeCode": ..., "challengeResponse": hex(HMAC-SHA256(key=clientSecret, msg=challengeCode))}``;
- delivery: each ``POST`` carries ``X-LI-Signature``, the hex HMAC-SHA256, keyed with the
  client secret, of ``"hmacsha256=" + <the raw request body>`` ("Verifying Webhook Events" on
  that page; an independent client computes the same message).

Where a reading of the page differs, both are accepted, since each needs the client secret:
the header with or without a ``hmacsha256=`` prefix, and the digest of the body without the
prefix. Comparisons are constant-time (``hmac.compare_digest``).
"""

import hashlib
import hmac
from typing import Optional

SIGNED_PREFIX = b"hmacsha256="


def challenge_response(client_secret: str, challenge_code: str) -> str:
    """``hex(HMAC-SHA256(key=client_secret, msg=challenge_code))``."""
    return hmac.new(client_secret.encode(), challenge_code.encode(), hashlib.sha256).hexdigest()


def sign(client_secret: str, body: bytes) -> str:
    """The ``X-LI-Signature`` LinkedIn sends with ``body``: ``hex(HMAC-SHA256("hmacsha256=" + body))``."""
    return hmac.new(client_secret.encode(), SIGNED_PREFIX + body, hashlib.sha256).hexdigest()


def is_signed(client_secret: str, body: bytes, header: Optional[str]) -> bool:
    """Whether ``header`` (``X-LI-Signature``) signs ``body`` with ``client_secret``."""
    if not header:
        return False
    given = header.strip().lower()
    if given.startswith(SIGNED_PREFIX.decode()):
        given = given[len(SIGNED_PREFIX) :]
    documented = sign(client_secret, body)
    plain = hmac.new(client_secret.encode(), body, hashlib.sha256).hexdigest()
    # both compared, always: the time taken does not tell which reading matched
    return bool(hmac.compare_digest(given, documented) | hmac.compare_digest(given, plain))
