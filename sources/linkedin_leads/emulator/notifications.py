"""The emulator's lead notifications: subscriptions, webhook validation and signed deliveries,
and leads read by id (GET and BATCH_GET), as the reference's sections 4.1 and 9.1 describe.

- ``POST /rest/leadNotifications`` creates a subscription (201, its id in ``x-restli-id``) once
  the webhook answers LinkedIn's validation challenge; only ``https`` webhooks, unless the
  emulator allows ``http`` (tests on 127.0.0.1).
- ``GET /rest/leadNotifications?q=criteria&owner=(value:(<owner union>))&leadType=(leadType:X)``
  lists them (the extra ``value`` wrapper is LinkedIn's); ``GET`` and ``DELETE`` by id.
- ``GET /rest/leadFormResponses/<id>`` and ``GET /rest/leadFormResponses?ids=List(<id>,...)``
  (BATCH_GET: ``results``, ``errors`` and ``statuses`` keyed by id; refused with 400 when
  ``batch_get`` is off, since LinkedIn's batch form is not documented for certain).
- ``notify`` POSTs a signed ``LEAD_ACTION`` to every matching subscription, as LinkedIn does;
  ``delete_lead`` removes a lead (and can keep listing it: ``deleted_still_listed``).
"""

import hashlib
import hmac
import itertools
import json
import ssl
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple
from urllib.parse import quote, unquote

from .data import ORGANIC_TYPES, SPONSORED, Lead
from .restli_parser import parse_value

if TYPE_CHECKING:
    from .server import LinkedInEmulator

CLIENT_ID = "test-client"


@dataclass
class Subscription:
    id: int  # noqa: A003 (LinkedIn's own name)
    webhook: str
    owner: Dict[str, str]
    lead_type: str
    versioned_form: Optional[str] = None

    def entity(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {
            "id": self.id,
            "webhook": self.webhook,
            "owner": self.owner,
            "leadType": self.lead_type,
        }
        if self.versioned_form:
            body["versionedForm"] = self.versioned_form
        return body


class Notifications:
    """Subscriptions and deliveries of one emulator; see the module's docstring."""

    def __init__(
        self, emulator: "LinkedInEmulator", batch_get: bool = True, allow_http: bool = False
    ) -> None:
        self.emulator = emulator
        self.batch_get = batch_get
        self.allow_http = allow_http
        self.subscriptions: Dict[int, Subscription] = {}
        self.deleted: Set[str] = set()
        """Ids of leads deleted on LinkedIn (``delete_lead``)."""
        self.deleted_still_listed = False
        """Whether the finder still returns a deleted lead (LinkedIn's behaviour is not documented)."""
        self.deliveries: List[Tuple[str, int]] = []
        """(lead id, status the webhook answered) of every delivery."""
        self.ca_file: Optional[str] = None
        """A CA bundle the webhook's certificate is checked against (a test CA), as LinkedIn
        checks it against the public ones (the default)."""
        self._ids = itertools.count(7_000_001)
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- API side
    def handle(
        self, method: str, path: str, raw: Dict[str, str], body: bytes
    ) -> Tuple[int, bytes, Dict[str, str]]:
        """Answers ``/rest/leadNotifications[...]``."""
        rest = path[len("/rest/leadNotifications") :].strip("/")
        if method == "POST" and not rest:
            return self._create(body)
        if method == "GET" and not rest:
            return 200, self._list(raw), {}
        subscription = self.subscriptions.get(int(rest)) if rest.isdigit() else None
        if subscription is None:
            return 404, json.dumps({"status": 404, "code": "NOT_FOUND", "message": "Not found"}).encode(), {}
        if method == "DELETE":
            with self._lock:
                del self.subscriptions[subscription.id]
            return 204, b"", {}
        return 200, json.dumps(subscription.entity()).encode(), {}

    def _create(self, body: bytes) -> Tuple[int, bytes, Dict[str, str]]:
        try:
            request = json.loads(body)
        except ValueError:
            return _bad("The request body is not JSON")
        webhook, owner, lead_type = request.get("webhook"), request.get("owner"), request.get("leadType")
        schemes = ("https://", "http://") if self.allow_http else ("https://",)
        if not isinstance(webhook, str) or not webhook.startswith(schemes):
            return _bad("webhook must be an HTTPS URL")
        if not isinstance(owner, dict) or len(owner) != 1:
            return _bad("owner must be a union of sponsoredAccount or organization")
        kind = next(iter(owner))
        if lead_type not in (SPONSORED, *ORGANIC_TYPES) or (lead_type == SPONSORED) != (
            kind == "sponsoredAccount"
        ):
            return _bad(f"Lead type {lead_type} is not valid for owner type {kind}")
        if not self.validate(webhook):
            return _bad("Webhook validation failed: the challenge was not answered correctly")
        with self._lock:
            subscription = Subscription(
                next(self._ids), webhook, owner, lead_type, request.get("versionedForm")
            )
            self.subscriptions[subscription.id] = subscription
        return 201, b"", {"x-restli-id": str(subscription.id)}

    def _list(self, raw: Dict[str, str]) -> bytes:
        if raw.pop("q", None) != "criteria":
            raise ValueError("Resource method could not be resolved from request parameters.")
        owner = parse_value(raw.pop("owner", ""))
        lead_type = parse_value(raw.pop("leadType", ""))
        if not isinstance(owner, dict) or set(owner) != {"value"} or not isinstance(owner["value"], dict):
            raise ValueError("owner must be (value:(sponsoredAccount:<urn>)) or (value:(organization:<urn>))")
        if not isinstance(lead_type, dict) or set(lead_type) != {"leadType"}:
            raise ValueError("leadType must be (leadType:<LeadType>)")
        matching = [
            s.entity()
            for s in self.subscriptions.values()
            if s.owner == owner["value"] and s.lead_type == lead_type["leadType"]
        ]
        return json.dumps({"elements": matching, "paging": {"start": 0, "count": len(matching)}}).encode()

    def lead(self, lead_id: str) -> Optional[Lead]:
        """A lead by id, None once deleted, unknown, or aged out of retention (a 404: the harsher
        reading, since LinkedIn does not say what it answers for a lead it no longer keeps)."""
        if lead_id in self.deleted:
            return None
        lead = next((lead for lead in self.emulator.data.leads if lead.id == lead_id), None)
        if lead is None or not self.emulator.retained(lead):
            return None
        return lead

    def batch(self, ids_value: str, project: Callable[[Lead], bytes]) -> bytes:
        """BATCH_GET ``ids=List(...)``: results and a 404 per id not found."""
        if not self.batch_get:
            raise ValueError("Invalid query parameters passed to request: ids")
        ids = parse_value(ids_value)
        if not isinstance(ids, list):
            raise ValueError("ids must be List(<id>,...)")
        results: Dict[str, Any] = {}
        errors: Dict[str, Any] = {}
        for lead_id in ids:
            lead = self.lead(str(lead_id))
            if lead is None:
                errors[str(lead_id)] = {"status": 404, "message": "Not found"}
            else:
                results[str(lead_id)] = json.loads(project(lead))
        statuses = {k: 200 for k in results} | {k: 404 for k in errors}
        return json.dumps({"results": results, "errors": errors, "statuses": statuses}).encode()

    # ------------------------------------------------------------- LinkedIn's side
    def validate(self, webhook: str) -> bool:
        """LinkedIn's validation: ``GET <webhook>?challengeCode=<uuid4>``, answered within 3 s."""
        code = str(uuid.uuid4())
        expected = hmac.new(self._secret(), code.encode(), hashlib.sha256).hexdigest()
        separator = "&" if "?" in webhook else "?"
        try:
            with urllib.request.urlopen(  # noqa: S310  # http(s) only: checked when subscribed
                f"{webhook}{separator}challengeCode={quote(code)}", timeout=3, context=self._tls()
            ) as answer:
                body = json.loads(answer.read())
        except (OSError, ValueError):
            return False
        return bool(body.get("challengeCode") == code and body.get("challengeResponse") == expected)

    def notify(
        self, lead: Lead, action: str = "CREATED", *, copies: int = 1, bad_signature: bool = False
    ) -> List[int]:
        """Delivers a ``LEAD_ACTION`` for ``lead`` to every subscription of its owner and lead
        type, ``copies`` times (LinkedIn may deliver more than once); returns the statuses."""
        payload = {
            "type": "LEAD_ACTION",
            "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead.id}",
            "leadGenForm": (
                f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{lead.form_id},{lead.form_version})"
            ),
            "owner": {lead.owner_kind: f"urn:li:{lead.owner_kind}:{lead.owner_id}"},
            "associatedEntity": lead.entity.get("associatedEntity") or {},
            "leadType": lead.lead_type,
            "leadAction": action,
            "occurredAt": self.emulator.now_ms(),
        }
        body = json.dumps(payload).encode()
        key = b"not-the-client-secret" if bad_signature else self._secret()
        signature = hmac.new(key, b"hmacsha256=" + body, hashlib.sha256).hexdigest()
        statuses = []
        for subscription in list(self.subscriptions.values()):
            if subscription.owner != payload["owner"] or subscription.lead_type != lead.lead_type:
                continue
            for _ in range(copies):
                statuses.append(self.post(subscription.webhook, body, {"X-LI-Signature": signature}))
                self.deliveries.append((lead.id, statuses[-1]))
        return statuses

    def delete_lead(self, lead: Lead, notify: bool = True) -> List[int]:
        """Deletes a lead on LinkedIn (an event de-registration), then notifies ``DELETED``."""
        with self._lock:
            self.deleted.add(lead.id)
        self.emulator.forget_selections()
        return self.notify(lead, "DELETED") if notify else []

    def _tls(self) -> ssl.SSLContext:
        """Certificates checked, against ``ca_file`` when set."""
        return ssl.create_default_context(cafile=self.ca_file)

    def post(self, url: str, body: bytes, headers: Dict[str, str]) -> int:
        """POSTs to a webhook; returns its status (0 when it cannot be reached)."""
        request = urllib.request.Request(  # noqa: S310  # a subscribed http(s) webhook
            url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._tls()) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    def _secret(self) -> bytes:
        return self.emulator.clients[CLIENT_ID].encode()


def _bad(message: str) -> Tuple[int, bytes, Dict[str, str]]:
    return 400, json.dumps({"status": 400, "code": "ILLEGAL_ARGUMENT", "message": message}).encode(), {}


def lead_id_of(path: str) -> Optional[str]:
    """The id in ``/rest/leadFormResponses/<id>``, else None."""
    prefix = "/rest/leadFormResponses/"
    return unquote(path[len(prefix) :]) if path.startswith(prefix) and len(path) > len(prefix) else None
