"""The emulator's HTTP server: a strict stand-in for LinkedIn's Lead Sync API and OAuth.

It runs on 127.0.0.1 in a thread of the calling process. Strict where LinkedIn is:
Rest.li 2.0 parsing of the raw query string, the three required headers, active
``LinkedIn-Version`` months (426 otherwise), bearer tokens (401 with LinkedIn's
codes), owner roles (403), and LinkedIn's error bodies. Unkind where LinkedIn may
be: short pages, a wrong or absent ``paging.total``, results in no time order.
Faults (statuses, delays, resets, truncated bodies) are injected on demand.
"""

import bisect
import json
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs, unquote, urlencode

from dlt.common import pendulum

from .data import DAY_MS, ORGANIC_TYPES, SPONSORED, Dataset, Lead, owner_urn
from .notifications import Notifications, lead_id_of
from .restli_parser import RestliSyntaxError, parse_projection, parse_value, split_query


def active_versions(today: pendulum.Date, months: int = 12) -> Set[str]:
    """Every ``YYYYMM`` from ``months`` before ``today`` to ``today``, Decembers excepted."""
    versions: Set[str] = set()
    year, month = today.year, today.month
    for _ in range(months + 1):
        if month != 12:
            versions.add(f"{year:04d}{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return versions


@dataclass
class Fault:
    """A fault served instead of (or before) the real answer to matching requests.

    Attributes:
        path: A substring of the request path the fault applies to ("" for all).
        status: The status to answer with (None: answer normally, after ``delay``).
        body: The body; a dict is sent as JSON, bytes as is.
        headers: Extra response headers (e.g. ``Retry-After``).
        times: How many matching requests get it.
        delay: Seconds to wait before answering.
        action: ``reset`` closes the connection without an answer; ``truncate``
            sends the real answer cut in half.
        after: Matching requests to let through first.
        query: A substring of the raw query string the fault applies to ("" for all).
    """

    path: str = ""
    status: Optional[int] = None
    body: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    action: Optional[str] = None
    after: int = 0
    query: str = ""


@dataclass
class RequestRecord:
    """One request the emulator answered, with its raw query string."""

    method: str
    path: str
    query: str
    status: int

    @property
    def params(self) -> Dict[str, Any]:
        """The query's parameters with Rest.li values parsed (text, dicts, lists; all leaves are
        text, as Rest.li sends them); a ``fields`` projection, or a value that does not parse,
        stays raw."""
        parsed: Dict[str, Any] = {}
        for name, raw in split_query(self.query).items():
            try:
                parsed[name] = raw if name == "fields" else parse_value(raw)
            except RestliSyntaxError:
                parsed[name] = raw
        return parsed


@dataclass
class Token:
    member: str
    expired: bool = False
    uses_left: Optional[int] = None


def _error(status: int, code: str, message: str, service_code: Optional[int] = None) -> Dict[str, Any]:
    """LinkedIn's error body; ``LinkedInEmulator.error_codes`` may drop its ``code`` when sent."""
    body: Dict[str, Any] = {"status": status, "code": code, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return body


class ApiError(Exception):
    def __init__(self, status: int, body: Dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _illegal(message: str) -> ApiError:
    return ApiError(400, _error(400, "ILLEGAL_ARGUMENT", message))


class LinkedInEmulator:
    """LinkedIn's Lead Sync API on 127.0.0.1.

    Use as a context manager, or call ``start()`` and ``stop()``. ``base_url`` and
    ``token_url`` are set once started.

    Args:
        data: What to serve.
        now: The emulator's clock for retention and versions (default: real time).
        max_count: The largest ``count`` accepted (400 above it).
        short_pages: Cut some pages short while more records remain.
        total: ``wrong`` (the page length), ``exact`` or ``absent``.
        range_start_inclusive / range_end_inclusive: ``submittedAtTimeRange`` bounds.
        limited_false_excludes_tests: Whether ``limitedToTestLeads=false`` drops test leads.
        retention_days: Leads older than this are not returned, by lead type.
        versions: The active ``LinkedIn-Version`` months (default: the last 12, no December).
        project_form: Whether a ``form:(...)`` projection is honoured (LinkedIn's is [U]).
        latency: Seconds every API request waits before it is answered.
        max_offset: If set, a finder refuses ``start + count`` above it (400), as other
            Rest.li finders do (LinkedIn documents none for the lead finders).
        daily_quota: Calls allowed per day and endpoint (e.g. ``{"leadFormResponses": 25}``);
            beyond it, LinkedIn's 429 ``DAY limit`` until ``new_day()``.
        name_shape: How the ``*Info`` decorations carry names: ``string`` (``name`` is text),
            ``multilocale`` (``name`` a MultiLocaleString, ``localizedName`` the text, as in
            LinkedIn's organization decorations) or ``multilocale_only`` (no ``localizedName``).
        error_codes: Whether error bodies carry LinkedIn's ``code``; LinkedIn's error-handling
            page shows bodies of ``status``, ``serviceErrorCode`` and ``message`` only.
        entity_names: Whether ``associatedEntityInfo`` carries the creative's ``name`` (as the
            Lead Sync guide's examples show) or its ``id`` only.
        unknown_answer_kind: Every fifth lead answers its first text question with an answer
            kind no client knows yet (``dateQuestionAnswer``).
        batch_get: Whether ``leadFormResponses?ids=List(...)`` (BATCH_GET) is served; its form
            is not documented for certain, so it can be refused (400).
        allow_http_webhooks: Whether subscriptions may name an ``http`` webhook (LinkedIn takes
            ``https`` only; tests on 127.0.0.1 have no certificate).
        decorations: Whether the ``*Info`` decorations (owner, campaign and creative names) are
            sent when projected. LinkedIn's one published real lead had none, though asked for.
        extra_fields: Whether a lead's own fields come back whatever the ``fields`` projection
            names (``submitter``, ``leadMetadata``, ``associatedEntity`` unasked), as in that lead.

    ``scopes`` are the token's scopes: without ``r_ads``, ad accounts, campaigns and creatives
    are refused (403); without ``r_organization_admin``, organizations.
    """

    def __init__(
        self,
        data: Optional[Dataset] = None,
        *,
        now: Optional[Callable[[], int]] = None,
        max_count: int = 1000,
        short_pages: bool = True,
        total: str = "wrong",
        range_start_inclusive: bool = True,
        range_end_inclusive: bool = False,
        limited_false_excludes_tests: bool = False,
        retention_days: Optional[Dict[str, int]] = None,
        versions: Optional[Set[str]] = None,
        project_form: bool = True,
        latency: float = 0.0,
        max_offset: Optional[int] = None,
        daily_quota: Optional[Dict[str, int]] = None,
        name_shape: str = "string",
        error_codes: bool = True,
        entity_names: bool = True,
        unknown_answer_kind: bool = False,
        batch_get: bool = True,
        allow_http_webhooks: bool = False,
        decorations: bool = True,
        extra_fields: bool = False,
    ) -> None:
        self.data = data or Dataset()
        self.now_ms: Callable[[], int] = now or (lambda: int(time.time() * 1000))
        self.max_count = max_count
        self.short_pages = short_pages
        self.total = total
        self.leads_served = 0
        """Leads the responses finder has sent (each time it sent one), for the benchmarks."""
        self.range_start_inclusive = range_start_inclusive
        self.range_end_inclusive = range_end_inclusive
        self.limited_false_excludes_tests = limited_false_excludes_tests
        self.project_form = project_form
        self.latency = latency
        self.max_offset = max_offset
        self.daily_quota: Dict[str, int] = dict(daily_quota or {})
        self.calls_today: Dict[str, int] = {}
        """Calls per endpoint since the last ``new_day()``, for ``daily_quota``."""
        self.name_shape = name_shape
        self.error_codes = error_codes
        self.entity_names = entity_names
        self.decorations = decorations
        self.extra_fields = extra_fields
        self.scopes: Set[str] = {"r_ads", "r_marketing_leadgen_automation", "r_organization_admin"}
        self.leads_refused: Set[str] = set()
        """Owner URNs whose forms list but whose leads are refused (403): an ad account the
        member sees without a role on its company page."""
        for number, lead in enumerate(self.data.leads):
            lead.decorations = None  # made anew in this emulator's name shapes
            if unknown_answer_kind and number % 5 == 0:
                with_unknown_answer_kind(lead)
        self.extra_accounts: List[int] = []
        """Ad accounts the token can read beyond those with forms (discovery)."""
        self.test_accounts: Set[int] = set()
        self.account_pages: Dict[int, int] = {}
        self.extra_acls: List[Tuple[int, str]] = []
        """(organization id, role) the member holds beyond lead-gen roles on the data's organizations."""
        self.retention_days = retention_days or {}
        self.versions = versions or active_versions(pendulum.from_timestamp(self.now_ms() / 1000, tz="UTC"))
        self.clients: Dict[str, str] = {"test-client": "test-client-secret"}
        self.refresh_tokens: Dict[str, str] = {"test-refresh-token": "member-1"}
        self.tokens: Dict[str, Token] = {"test-access-token": Token("member-1")}
        self.denied: Dict[str, Set[str]] = {}
        """member -> owner URNs the member has no role on (403)."""
        self.consent = "approve"
        """What the member answers on LinkedIn's authorization page: ``approve`` or ``refuse``."""
        self.codes: Dict[str, Tuple[str, str]] = {}
        """Authorization codes not used yet: code -> (client id, redirect URI)."""
        self.authorized_scopes: Set[str] = set()
        self.refresh_token_expires_in = 31536000
        """Seconds the refresh token has left, as the token endpoint says (0 or less: expired,
        refused with ``invalid_grant``). LinkedIn's refresh tokens live 365 days, not sliding."""
        self.token_uses: Optional[int] = None
        """If set, each newly issued access token expires after this many API calls."""
        self.notifications = Notifications(self, batch_get, allow_http_webhooks)
        """Lead notification subscriptions and deliveries (``emulator/notifications.py``)."""
        self.faults: List[Fault] = []
        self.requests: List[RequestRecord] = []
        self._lock = threading.Lock()
        self._cache: Dict[Tuple[Any, ...], List[Lead]] = {}
        self._by_pair: Dict[Tuple[Any, ...], Tuple[List[int], List[Lead]]] = {}
        """(owner kind, owner id, lead type) -> submission times and leads, in time order: a
        time range is found by bisection, as an indexed store would, instead of a scan of every
        lead (``_select``)."""
        self._indexed: Tuple[int, int] = (0, -1)
        """``id`` and length of the ``data.leads`` list the index was made from."""
        self._form_cache: Dict[Tuple[Any, ...], bytes] = {}
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.base_url = ""
        self.token_url = ""

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> "LinkedInEmulator":
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/rest"
        self.token_url = f"http://127.0.0.1:{port}/oauth/v2/accessToken"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "LinkedInEmulator":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ controls
    def add_leads(self, leads: List[Lead]) -> None:
        """Makes leads visible from now on (late arrivals included)."""
        with self._lock:
            self.data.leads.extend(leads)
            self._cache.clear()
            self._by_pair.clear()

    def forget_selections(self) -> None:
        """Drops the cached finder results (after a lead is deleted)."""
        with self._lock:
            self._cache.clear()
            self._by_pair.clear()

    def inject(self, fault: Fault) -> Fault:
        """Queues a fault for matching requests."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 EXPIRED_ACCESS_TOKEN from now on."""
        with self._lock:
            for token in self.tokens.values():
                token.expired = True

    def new_day(self) -> None:
        """Midnight UTC: the daily quotas start again."""
        with self._lock:
            self.calls_today.clear()

    def _count_call(self, path: str) -> None:
        """Counts a call against its endpoint's daily quota; 429 once it is used up."""
        endpoint = path.rsplit("/", 1)[-1]
        with self._lock:
            used = self.calls_today[endpoint] = self.calls_today.get(endpoint, 0) + 1
        quota = self.daily_quota.get(endpoint)
        if quota is not None and used > quota:
            raise ApiError(
                429,
                _error(
                    429,
                    "TOO_MANY_REQUESTS",
                    "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this "
                    "resource is reached.",
                    101,
                ),
            )

    def calls(self, path: str = "") -> List[RequestRecord]:
        """The API requests received whose path contains ``path`` (OAuth excluded)."""
        return [r for r in self.requests if path in r.path and r.path.startswith("/rest/")]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def stats(self) -> Dict[str, Any]:
        """API calls by endpoint and status, for benchmarks in another process."""
        with self._lock:
            calls: Dict[str, int] = {}
            for record in self.requests:
                key = f"{record.method} {record.path} {record.status}"
                calls[key] = calls.get(key, 0) + 1
            return {"calls": calls, "leads": len(self.data.leads), "served": self.leads_served}

    def add_generated(self, count: int, seed: int = 99, age_ms: int = 1000) -> Dict[str, Any]:
        """Adds ``count`` new leads submitted in the last ``age_ms`` over every form."""
        rng = random.Random(seed)
        forms = sorted(self.data.forms)
        now = self.now_ms()
        leads = [
            self.data.make_lead(forms[i % len(forms)], now - rng.randint(1, max(1, age_ms)), rng)
            for i in range(count)
        ]
        self.add_leads(leads)
        return {"added": count}

    def visible_leads(self) -> List[Lead]:
        """Leads within retention: what a complete load of every owner must hold."""
        now = self.now_ms()
        return [lead for lead in self.data.leads if self._retained(lead, now)]

    # ------------------------------------------------------------------ internals
    def _take_fault(self, path: str, query: str = "") -> Optional[Fault]:
        with self._lock:
            for fault in self.faults:
                if fault.path in path and fault.query in query and fault.times > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    def retained(self, lead: Lead) -> bool:
        """Whether LinkedIn still keeps ``lead`` (``retention_days``)."""
        return self._retained(lead, self.now_ms())

    def _retained(self, lead: Lead, now: int) -> bool:
        days = self.retention_days.get(lead.lead_type, 365)
        return lead.submitted_at >= now - days * DAY_MS

    def _authenticate(self, authorization: Optional[str]) -> str:
        if not authorization or not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise ApiError(401, _error(401, "EMPTY_ACCESS_TOKEN", "Empty oauth2 access token", 65604))
        with self._lock:
            token = self.tokens.get(authorization[7:].strip())
            if token is None:
                raise ApiError(401, _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600))
            if token.uses_left is not None:
                if token.uses_left <= 0:
                    token.expired = True
                token.uses_left -= 1
            if token.expired:
                raise ApiError(
                    401,
                    _error(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602),
                )
            return token.member

    def _check_version(self, version: Optional[str], protocol: Optional[str]) -> None:
        if not version:
            raise ApiError(
                400,
                _error(
                    400,
                    "VERSION_MISSING",
                    "A version must be present. Please specify a version by adding the "
                    "Linkedin-Version header.",
                ),
            )
        if not (len(version) == 6 and version.isdigit()) or version not in self.versions:
            raise ApiError(
                426, _error(426, "NONEXISTENT_VERSION", f"Requested version {version}01 is not active")
            )
        if protocol != "2.0.0":
            raise _illegal("Invalid query parameters passed to request")

    def handle_api(
        self, path: str, raw_query: str, headers: Dict[str, str], method: str = "GET", body: bytes = b""
    ) -> Tuple[int, bytes, Dict[str, str]]:
        member = self._authenticate(headers.get("authorization"))
        version = headers.get("linkedin-version")
        self._check_version(version, headers.get("x-restli-protocol-version"))
        self._count_call(path)
        try:
            raw = split_query(raw_query)
            if path.startswith("/rest/leadNotifications"):
                return self.notifications.handle(method, path, raw, body)
            if method != "GET":
                raise ApiError(405, _error(405, "METHOD_NOT_ALLOWED", f"{method} is not supported here"))
            lead_id = lead_id_of(path)
            if lead_id is not None or (path == "/rest/leadFormResponses" and "ids" in raw):
                return 200, self._leads_by_id(lead_id, raw), {}
            return 200, self._get(path, raw, member, str(version)), {}
        except RestliSyntaxError as exc:
            raise _illegal(f"Invalid query parameters passed to request: {exc}") from None
        except ValueError as exc:
            raise _illegal(str(exc)) from None

    def _leads_by_id(self, lead_id: Optional[str], raw: Dict[str, str]) -> bytes:
        """GET ``leadFormResponses/<id>`` or BATCH_GET ``leadFormResponses?ids=List(...)``."""
        projection = parse_projection(raw.pop("fields")) if "fields" in raw else None
        ids = raw.pop("ids", None)
        if raw:
            raise _illegal(f"Unknown query parameters {sorted(raw)}")
        if lead_id is None:
            return self.notifications.batch(str(ids), lambda lead: self._project(lead, projection))
        lead = self.notifications.lead(lead_id)
        if lead is None:
            raise ApiError(404, _error(404, "NOT_FOUND", f"Lead form response {lead_id} not found"))
        return self._project(lead, projection)

    def _get(self, path: str, raw: Dict[str, str], member: str, version: str) -> bytes:
        entity = ENTITY_PATH.match(path)
        if entity is not None:
            if raw:
                raise _illegal(f"Unknown query parameters {sorted(raw)}")
            return json.dumps(self._entity(entity, member, version), ensure_ascii=False).encode()
        try:
            if path == "/rest/leadForms":
                return self._lead_forms(raw, member, version)
            if path == "/rest/leadFormResponses":
                return self._lead_form_responses(raw, member, version)
            if path == "/rest/adAccounts":
                return self._ad_accounts(raw)
            if path == "/rest/organizationAcls":
                return self._organization_acls(raw)
        except RestliSyntaxError as exc:
            raise _illegal(f"Invalid query parameters passed to request: {exc}") from None
        raise ApiError(404, _error(404, "NOT_FOUND", "Could not find entity"))

    def _entity(self, match: "re.Match[str]", member: str, version: str) -> Dict[str, Any]:
        """GET of one form, ad account, campaign, creative or organization by its key."""
        kind, key, sub, sub_key = match.group(1), int(match.group(2)), match.group(3), match.group(4)
        if kind == "leadForms":
            form = self.data.forms.get(key)
            if form is None:
                raise ApiError(404, _error(404, "NOT_FOUND", f"Lead form {key} not found"))
            self._check_role(member, owner_urn(form.owner_kind, form.owner_id), "leadForms.GET", version)
            return form.entity()
        scope, resource = "r_ads", sub or kind
        if kind == "organizations":
            scope = "r_organization_admin"
        if scope not in self.scopes:
            raise ApiError(
                403,
                _error(
                    403, "ACCESS_DENIED", f"Not enough permissions to access: {resource}.GET.{version}01", 100
                ),
            )
        if kind == "organizations":
            if key not in self.data.organizations:
                raise ApiError(404, _error(404, "NOT_FOUND", f"Organization {key} not found"))
            self._check_role(member, owner_urn("organization", key), "organizations.GET", version)
            text = f"Organization {key}"
            return {"id": key, "localizedName": text, "name": named(text, "multilocale_only")["name"]}
        if key not in self.data.accounts + self.extra_accounts:
            raise ApiError(404, _error(404, "NOT_FOUND", f"Ad account {key} not found"))
        self._check_role(member, owner_urn("sponsoredAccount", key), f"{resource}.GET", version)
        if sub is None:
            return {"id": key, "name": account_name(key), "status": "ACTIVE", "test": False}
        if sub == "adCampaigns":
            campaign = int(sub_key)
            if not campaign_of_account(campaign, key):
                raise ApiError(404, _error(404, "NOT_FOUND", f"Campaign {campaign} not found"))
            return {
                "id": campaign,
                "name": campaign_name(campaign),
                "account": owner_urn("sponsoredAccount", key),
            }
        # creatives are keyed by their URN, percent-encoded in the path (Rest.li 2.0)
        creative = unquote(sub_key)
        prefix = "urn:li:sponsoredCreative:"
        if sub_key == creative or not creative.startswith(prefix) or not creative[len(prefix) :].isdigit():
            raise _illegal(f"Invalid creative key {sub_key!r}: an encoded urn:li:sponsoredCreative URN")
        campaign = int(creative[len(prefix) :]) // 10
        if not campaign_of_account(campaign, key):
            raise ApiError(404, _error(404, "NOT_FOUND", f"Creative {creative} not found"))
        return {
            "id": creative,
            "name": creative_name(creative),
            "campaign": f"urn:li:sponsoredCampaign:{campaign}",
        }

    def _check_role(self, member: str, urn: str, method: str, version: str) -> None:
        if urn in self.denied.get(member, set()):
            raise ApiError(
                403,
                _error(403, "ACCESS_DENIED", f"Not enough permissions to access: {method}.{version}01", 100),
            )

    def _paging(self, raw: Dict[str, str]) -> Tuple[int, int]:
        try:
            start = int(raw.pop("start", "0"))
            count = int(raw.pop("count", "10"))
        except ValueError:
            raise _illegal("start and count must be integers") from None
        if start < 0 or count < 0:
            raise _illegal("start and count must not be negative")
        if count > self.max_count:
            raise ApiError(400, {"status": 400, "message": "Request would return too many entities"})
        if self.max_offset is not None and start + count > self.max_offset:
            raise _illegal(f"Invalid start and count: start + count must not exceed {self.max_offset}")
        return start, count

    def _owner(self, raw: Dict[str, str], member: str, resource: str, version: str) -> Tuple[str, int]:
        if raw.pop("q", None) != "owner":
            raise _illegal("Resource method could not be resolved from request parameters.")
        if "owner" not in raw:
            raise _illegal("Parameter 'owner' is required")
        owner = parse_value(raw.pop("owner"))
        if not isinstance(owner, dict) or len(owner) != 1:
            raise _illegal("owner must be a union of sponsoredAccount or organization")
        kind, urn = next(iter(owner.items()))
        prefix = {"sponsoredAccount": "urn:li:sponsoredAccount:", "organization": "urn:li:organization:"}
        if kind not in prefix or not isinstance(urn, str) or not urn.startswith(prefix[kind]):
            raise _illegal(f"Invalid owner {owner!r}")
        number = urn[len(prefix[kind]) :]
        if not number.isdigit():
            raise _illegal(f"Invalid owner URN {urn!r}")
        refused = resource == "leadFormResponses" and urn in self.leads_refused
        if urn in self.denied.get(member, set()) or refused:
            raise ApiError(
                403,
                _error(
                    403,
                    "ACCESS_DENIED",
                    f"Not enough permissions to access: {resource}.FINDER-owner.{version}01",
                    100,
                ),
            )
        return kind, int(number)

    def _page_body(self, elements: List[bytes], start: int, count: int, total: int) -> bytes:
        paging: Dict[str, Any] = {"start": start, "count": count, "links": []}
        if self.total == "exact":
            paging["total"] = total
        elif self.total == "wrong":
            paging["total"] = len(elements)
        return b'{"paging":' + json.dumps(paging).encode() + b',"elements":[' + b",".join(elements) + b"]}"

    def _slice(self, items: List[Any], start: int, count: int) -> List[Any]:
        page = items[start : start + count]
        # a short page while more remains: a client that advances by `count` loses records
        if self.short_pages and len(page) == count and count > 1 and (start // count) % 3 == 1:
            page = page[: count - 1 - start % min(5, count - 1)]
        return page

    def _ad_accounts(self, raw: Dict[str, str]) -> bytes:
        """``adAccounts?q=search``: cursor paging (``pageSize``, ``pageToken``), as since 202401."""
        if raw.pop("q", None) != "search":
            raise _illegal("Resource method could not be resolved from request parameters.")
        search = parse_value(raw.pop("search")) if "search" in raw else {}
        if not isinstance(search, dict):
            raise _illegal("search must be an object")
        try:
            size = int(raw.pop("pageSize", "100"))
            offset = int(raw.pop("pageToken", "0") or 0)
        except ValueError:
            raise _illegal("pageSize and pageToken must be integers") from None
        raw.pop("fields", None)
        if raw:
            raise _illegal(f"Unknown query parameters {sorted(raw)}")
        if size > self.max_count:
            raise ApiError(400, {"status": 400, "message": "Request would return too many entities"})
        statuses = (search.get("status") or {}).get("values")
        accounts = [
            {
                "id": a,
                "name": f"Account {a}",
                "test": a in self.test_accounts,
                "status": "ACTIVE",
                "reference": f"urn:li:organization:{self.account_pages.get(a, 0)}",
            }
            for a in self.data.accounts + self.extra_accounts
        ]
        if statuses:
            accounts = [a for a in accounts if a["status"] in statuses]
        if "test" in search:
            accounts = [a for a in accounts if str(a["test"]).lower() == str(search["test"]).lower()]
        page = accounts[offset : offset + size]
        metadata = {"nextPageToken": str(offset + size)} if offset + size < len(accounts) else {}
        return json.dumps(
            {"elements": page, "metadata": metadata, "paging": {"start": 0, "count": size}}
        ).encode()

    def _organization_acls(self, raw: Dict[str, str]) -> bytes:
        """``organizationAcls?q=roleAssignee``: the member's roles on organizations."""
        start, count = self._paging(raw)
        if raw.pop("q", None) != "roleAssignee":
            raise _illegal("Resource method could not be resolved from request parameters.")
        state = raw.pop("state", None)
        raw.pop("role", None)
        if raw:
            raise _illegal(f"Unknown query parameters {sorted(raw)}")
        acls = [
            {
                "organization": f"urn:li:organization:{o}",
                "role": role,
                "state": "APPROVED",
                "roleAssignee": "urn:li:person:member-1",
            }
            for o, role in [(o, "LEAD_GEN_FORMS_MANAGER") for o in self.data.organizations] + self.extra_acls
        ]
        if state:
            acls = [a for a in acls if a["state"] == state]
        page = self._slice(acls, start, count)
        return self._page_body([json.dumps(a).encode() for a in page], start, count, len(acls))

    def _lead_forms(self, raw: Dict[str, str], member: str, version: str) -> bytes:
        start, count = self._paging(raw)
        kind, owner_id = self._owner(raw, member, "leadForms", version)
        if raw:
            raise _illegal(f"Unknown query parameters {sorted(raw)}")
        forms = sorted(
            (f for f in self.data.forms.values() if f.owner_kind == kind and f.owner_id == owner_id),
            key=lambda f: str(f.id)[::-1],
        )
        page = self._slice(forms, start, count)
        elements = [json.dumps(f.entity(), ensure_ascii=False).encode() for f in page]
        return self._page_body(elements, start, count, len(forms))

    def _lead_form_responses(self, raw: Dict[str, str], member: str, version: str) -> bytes:
        start, count = self._paging(raw)
        kind, owner_id = self._owner(raw, member, "leadFormResponses", version)
        if "leadType" not in raw:
            raise _illegal("Parameter 'leadType' is required")
        lead_type_obj = parse_value(raw.pop("leadType"))
        if not isinstance(lead_type_obj, dict) or set(lead_type_obj) != {"leadType"}:
            raise _illegal("leadType must be (leadType:<LeadType>)")
        lead_type = lead_type_obj["leadType"]
        if lead_type not in (SPONSORED, *ORGANIC_TYPES):
            raise _illegal(f"Unknown lead type {lead_type!r}")
        if (lead_type == SPONSORED) != (kind == "sponsoredAccount"):
            raise _illegal(f"Lead type {lead_type} is not valid for owner type {kind}")
        limited: Optional[bool] = None
        if "limitedToTestLeads" in raw:
            flag = raw.pop("limitedToTestLeads")
            if flag not in ("true", "false"):
                raise _illegal("limitedToTestLeads must be true or false")
            limited = flag == "true"
        time_range: Tuple[Optional[int], Optional[int]] = (None, None)
        if "submittedAtTimeRange" in raw:
            value = parse_value(raw.pop("submittedAtTimeRange"))
            if not isinstance(value, dict) or not set(value) <= {"start", "end"} or not value:
                raise _illegal("submittedAtTimeRange must be (start:<ms>,end:<ms>)")
            try:
                time_range = (
                    int(value["start"]) if "start" in value else None,
                    int(value["end"]) if "end" in value else None,
                )
            except (TypeError, ValueError):
                raise _illegal("submittedAtTimeRange bounds must be epoch milliseconds") from None
        form_filter: Optional[Tuple[int, int]] = None
        if "versionedLeadGenFormUrn" in raw:
            urn = parse_value(raw.pop("versionedLeadGenFormUrn"))
            prefix = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:"
            if not isinstance(urn, str) or not urn.startswith(prefix) or not urn.endswith(")"):
                raise _illegal(f"Invalid versionedLeadGenFormUrn {urn!r}")
            form_id, _, form_version = urn[len(prefix) : -1].partition(",")
            form_filter = (int(form_id), int(form_version))
        projection = parse_projection(raw.pop("fields")) if "fields" in raw else None
        if raw:
            raise _illegal(f"Unknown query parameters {sorted(raw)}")
        key = (kind, owner_id, lead_type, limited, time_range, form_filter)
        with self._lock:
            leads = self._cache.get(key)
            if leads is None:
                leads = self._cache[key] = self._select(key)
        page = self._slice(leads, start, count)
        elements = [self._project(lead, projection) for lead in page]
        with self._lock:
            self.leads_served += len(elements)
        return self._page_body(elements, start, count, len(leads))

    def _candidates(
        self, kind: str, owner_id: int, lead_type: str, lo: Optional[int], hi: Optional[int]
    ) -> List[Lead]:
        """The leads of an (owner, lead type) submitted from ``lo`` to ``hi`` (both included; None:
        unbounded), from the index, made anew whenever ``data.leads`` changed. Called holding the lock."""
        leads = self.data.leads
        if self._indexed != (id(leads), len(leads)) or not self._by_pair:
            grouped: Dict[Tuple[Any, ...], List[Lead]] = {}
            for lead in leads:
                grouped.setdefault((lead.owner_kind, lead.owner_id, lead.lead_type), []).append(lead)
            self._by_pair = {}
            for pair, members in grouped.items():
                members.sort(key=lambda lead: lead.submitted_at)
                self._by_pair[pair] = ([lead.submitted_at for lead in members], members)
            self._indexed = (id(leads), len(leads))
        times, members = self._by_pair.get((kind, owner_id, lead_type), ([], []))
        first = 0 if lo is None else bisect.bisect_left(times, lo)
        last = len(times) if hi is None else bisect.bisect_right(times, hi)
        return members[first:last]

    def _select(self, key: Tuple[Any, ...]) -> List[Lead]:
        kind, owner_id, lead_type, limited, (lo, hi), form_filter = key
        now = self.now_ms()
        selected = []
        for lead in self._candidates(kind, owner_id, lead_type, lo, hi):
            if not self._retained(lead, now):
                continue
            if limited is True and not lead.test_lead:
                continue
            if limited is False and lead.test_lead and self.limited_false_excludes_tests:
                continue
            at = lead.submitted_at
            if lo is not None and (at < lo or (at == lo and not self.range_start_inclusive)):
                continue
            if hi is not None and (at > hi or (at == hi and not self.range_end_inclusive)):
                continue
            if form_filter and (lead.form_id, lead.form_version) != form_filter:
                continue
            if lead.id in self.notifications.deleted and not self.notifications.deleted_still_listed:
                continue
            selected.append(lead)
        selected.sort(key=lambda lead: lead.order_key)
        return selected

    def _project(self, lead: Lead, projection: Optional[Dict[str, Any]]) -> bytes:
        """A lead as projected by ``fields``: decorations and the form as submitted, on demand.

        Bytes are spliced from cached parts so that large pages stay cheap to serve.
        """
        if projection is None:
            return lead.json_bytes
        if lead.keys <= projection.keys() or self.extra_fields:
            body = lead.json_bytes[:-1]
        else:
            kept = {k: v for k, v in lead.entity.items() if k in projection}
            body = json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()[:-1]
        parts = [body]
        if "form" in projection and self.project_form:
            parts.append(b',"form":' + self._form_bytes(lead.form_id, lead.form_version, projection["form"]))
        if self.decorations:
            if lead.decorations is None:
                lead.decorations = {
                    name: b',"' + name.encode() + b'":' + json.dumps(value, ensure_ascii=False).encode()
                    for name, value in decorations(lead, self.name_shape, self.entity_names).items()
                    if value is not None
                }
            parts.extend(part for name, part in lead.decorations.items() if name in projection)
        parts.append(b"}")
        return b"".join(parts)

    def _form_bytes(self, form_id: int, version: int, sub: Dict[str, Any]) -> bytes:
        key = (form_id, version, tuple(sorted(sub)))
        cached = self._form_cache.get(key)
        if cached is None:
            form = self.data.forms[form_id].entity(version)
            kept = {k: v for k, v in form.items() if not sub or k in sub}
            cached = self._form_cache[key] = json.dumps(kept, ensure_ascii=False).encode()
        return cached

    def authorize(self, query: str) -> Tuple[int, str]:
        """LinkedIn's authorization page, approved (or refused, ``consent``) at once by the member:
        a 302 to the app's ``redirect_uri`` with a single-use ``code`` (or ``error``) and ``state``."""
        form = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        redirect, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("response_type") != "code" or form.get("client_id") not in self.clients or not redirect:
            return 400, ""
        self.authorized_scopes = set(form.get("scope", "").split())
        if self.consent != "approve":
            query = urlencode(
                {
                    "error": "user_cancelled_authorize",
                    "error_description": "The user cancelled",
                    "state": state,
                }
            )
            return 302, f"{redirect}?{query}"
        code = "AQ" + secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = (form["client_id"], redirect)
        return 302, f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def handle_introspection(self, body: str) -> Tuple[int, Dict[str, Any]]:
        """LinkedIn's ``introspectToken``: the token's status, scopes and expiry, for its app only."""
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        token = self.tokens.get(form.get("token", ""))
        if token is None or token.expired:
            return 200, {"active": False, "status": "expired" if token else "invalid"}
        now = int(time.time())
        return 200, {
            "active": True,
            "client_id": form["client_id"],
            "authorized_at": now - 86400,
            "created_at": now - 60,
            "status": "active",
            "expires_at": now + 5184000,
            "scope": ",".join(sorted(self.scopes)),
            "auth_type": "3L",
        }

    def _exchange_code(self, form: Dict[str, str]) -> Tuple[int, Dict[str, Any]]:
        """``grant_type=authorization_code``: a code once, for its client and redirect URI."""
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        with self._lock:
            issued = self.codes.pop(form.get("code", ""), None)
        if issued is None or issued != (form.get("client_id"), form.get("redirect_uri")):
            return 400, {
                "error": "invalid_request",
                "error_description": "Unable to retrieve access token: authorization code not found",
            }
        member = f"member-{len(self.refresh_tokens) + 1}"
        refresh = "AQ" + secrets.token_urlsafe(24)
        access = "AQ" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[refresh] = member
            self.tokens[access] = Token(member)
        return 200, {
            "access_token": access,
            "expires_in": 5184000,
            "refresh_token": refresh,
            "refresh_token_expires_in": self.refresh_token_expires_in,
            "scope": ",".join(sorted(self.authorized_scopes)),
        }

    def handle_token(self, body: str) -> Tuple[int, Dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(form)
        for name in ("grant_type", "client_id", "client_secret", "refresh_token"):
            if not form.get(name):
                return 400, {
                    "error": "invalid_request",
                    "error_description": f'A required parameter "{name}" is missing',
                }
        if form["grant_type"] != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
        if self.clients.get(form["client_id"]) != form["client_secret"]:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        member = self.refresh_tokens.get(form["refresh_token"])
        if member is None or self.refresh_token_expires_in <= 0:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        token = "AQ" + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = Token(member, uses_left=self.token_uses)
        return 200, {
            "access_token": token,
            "expires_in": 5184000,
            "refresh_token": form["refresh_token"],
            "refresh_token_expires_in": self.refresh_token_expires_in,
            "scope": "r_ads,r_marketing_leadgen_automation,r_organization_admin",
        }


def named(text: str, shape: str) -> Dict[str, Any]:
    """A decoration's name fields in the chosen shape (see ``LinkedInEmulator``'s ``name_shape``)."""
    if shape == "string":
        return {"name": text}
    multilocale = {"localized": {"en_US": text}, "preferredLocale": {"country": "US", "language": "en"}}
    return (
        {"name": multilocale} if shape == "multilocale_only" else {"name": multilocale, "localizedName": text}
    )


def decorations(lead: Lead, name_shape: str = "string", entity_names: bool = True) -> Dict[str, Any]:
    """The ``*Info`` decorations LinkedIn adds to a lead when they are projected."""
    entity = lead.entity
    campaign = (entity.get("leadMetadata") or {}).get("sponsoredLeadMetadata", {}).get("campaign")
    creative = (entity.get("associatedEntity") or {}).get("associatedCreative")
    info_key = "sponsoredAccountInfo" if lead.owner_kind == "sponsoredAccount" else "organizationInfo"
    creative_info: Dict[str, Any] = {"id": creative}
    if creative and entity_names:
        creative_info.update(named(creative_name(creative), name_shape))
    return {
        "ownerInfo": {info_key: named(f"Owner {lead.owner_id}", name_shape)},
        "leadMetadataInfo": (
            {
                "sponsoredLeadMetadataInfo": {
                    "campaign": {
                        "id": campaign,
                        **named(campaign_name(int(campaign.rsplit(":", 1)[1])), name_shape),
                        "type": "SPONSORED_UPDATES",
                    }
                }
            }
            if campaign
            else None
        ),
        "associatedEntityInfo": {"associatedCreative": creative_info} if creative else None,
    }


def creative_name(urn: str) -> str:
    """The name the emulator gives a creative."""
    return f"Creative {urn.rsplit(':', 1)[1]} (carousel, “EU”)"


def campaign_name(campaign: int) -> str:
    """The name the emulator gives a campaign (in its decoration and its own entity)."""
    return f"Campaign {campaign} – “Q3”, (EU)"


def account_name(account: int) -> str:
    """The name of an ad account, as ``adAccounts`` serves it (its decoration says ``Owner N``)."""
    return f"Account {account}"


def campaign_of_account(campaign: int, account: int) -> bool:
    """Whether the emulator's data made ``campaign`` under ``account`` (``data.lead_entity``)."""
    return (campaign - 300_000_000) // 10 == account % 1000


ENTITY_PATH = re.compile(
    r"^/rest/(leadForms|adAccounts|organizations)/(\d+)(?:/(adCampaigns|creatives)/([^/]+))?$"
)
"""Entities read by key: ``leadForms/{id}``, ``adAccounts/{id}``, ``organizations/{id}``,
``adAccounts/{id}/adCampaigns/{id}``, ``adAccounts/{id}/creatives/{encoded URN}``."""


UNKNOWN_ANSWER_KIND = "dateQuestionAnswer"
UNKNOWN_ANSWER = {"answer": {"year": 2026, "month": 11, "day": 30}}


def with_unknown_answer_kind(lead: Lead) -> None:
    """Turns the lead's first text answer into an answer kind no client knows yet."""
    for answer in lead.entity["formResponse"]["answers"]:
        if "textQuestionAnswer" in answer["answerDetails"]:
            answer["answerDetails"] = {
                UNKNOWN_ANSWER_KIND: {"answer": {"year": 2026, "month": 11, "day": 30}}
            }
            lead._json = None
            return


class _Handler(BaseHTTPRequestHandler):
    emulator: LinkedInEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Headers and body are two writes: with Nagle's algorithm the body of a small answer waits
    for the client's delayed ACK of the headers (40 ms on Linux), a stall no real API adds."""

    def log_message(self, message: str, *args: Any) -> None:  # quiet: no line per request
        pass

    def _send(self, status: int, body: bytes, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-RestLi-Protocol-Version", "2.0.0")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, method: str, answer: Callable[[], Tuple[int, bytes, Dict[str, str]]]) -> None:
        path, _, query = self.path.partition("?")
        emulator = self.emulator
        fault = emulator._take_fault(path, query)
        status = 0
        try:
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.action == "reset":
                status = -1
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                self.close_connection = True
                return
            if fault and fault.status is not None:
                status = fault.status
                body = fault.body if isinstance(fault.body, bytes) else json.dumps(fault.body or {}).encode()
                self._send(status, body, fault.headers)
                return
            headers: Dict[str, str] = {}
            try:
                status, body, headers = answer()
            except ApiError as exc:
                error = (
                    exc.body if emulator.error_codes else {k: v for k, v in exc.body.items() if k != "code"}
                )
                status, body = exc.status, json.dumps(error).encode()
            if fault and fault.action == "truncate" and status == 200:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self._send(status, body, headers)
        finally:
            with emulator._lock:
                emulator.requests.append(RequestRecord(method, path, query, status))

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/_emulator/stats":
            self._send(200, json.dumps(self.emulator.stats()).encode())
            return
        if path == "/oauth/v2/authorization":
            status, location = self.emulator.authorize(query)
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.emulator.latency:
            time.sleep(self.emulator.latency)
        self._serve("GET", lambda: self.emulator.handle_api(path, query, headers))

    def do_DELETE(self) -> None:
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._serve("DELETE", lambda: self.emulator.handle_api(path, query, headers, "DELETE"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length)
        body = raw_body.decode()
        path, _, query = self.path.partition("?")
        if path.startswith("/rest/"):
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._serve("POST", lambda: self.emulator.handle_api(path, query, headers, "POST", raw_body))
            return

        if self.path == "/_emulator/reset":
            self.emulator.reset_log()
            self._send(200, b"{}")
            return
        if self.path == "/_emulator/new_day":
            self.emulator.new_day()
            self._send(200, b"{}")
            return
        if self.path == "/_emulator/add_leads":
            self._send(200, json.dumps(self.emulator.add_generated(**json.loads(body))).encode())
            return

        def answer() -> Tuple[int, bytes, Dict[str, str]]:
            path = self.path.partition("?")[0]
            if path == "/oauth/v2/introspectToken":
                status, payload = self.emulator.handle_introspection(body)
                return status, json.dumps(payload).encode(), {}
            if path != "/oauth/v2/accessToken":
                raise ApiError(404, _error(404, "NOT_FOUND", "Could not find entity"))
            status, payload = self.emulator.handle_token(body)
            return status, json.dumps(payload).encode(), {}

        self._serve("POST", answer)
