"""The webhook LinkedIn calls: validation challenges, and signed lead notifications.

An ASGI app (Starlette), served by uvicorn (``python -m linkedin_leads.notifications serve``):

- ``GET <path>?challengeCode=...``: LinkedIn's validation, answered at once with the challenge
  response (``signing``);
- ``POST <path>``: a lead notification. Accepted only with a valid ``X-LI-Signature``, a body
  within ``max_body_bytes`` and JSON naming a lead; journaled (``journal``, on disk) before the
  200. A repeat delivery is recognised and answered 200 too.

Every refusal is a 4xx with a JSON ``error`` saying why, and nothing is journaled: 400 for a
missing challenge or a body that is not a notification, 401 for a missing or wrong signature,
404 for another path, 405 for another method, 413 for a body over the limit. Nothing secret
is logged: not the client secret, not a signature.

With ``metrics`` (``metrics.ReceiverMetrics``), two more routes for operators, not for LinkedIn
(a TLS proxy in front forwards only the webhook's path):

- ``GET /healthz``: 200 when the journal takes writes and the loader runs, 503 otherwise, with
  a JSON body saying which;
- ``GET /metrics``: Prometheus text format.
"""

import hashlib
import json
from typing import Any, Callable, Dict, Optional

from dlt.common import logger
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..api.urns import lead_response_id
from .journal import Journal
from .metrics import CONTENT_TYPE, ReceiverMetrics
from .signing import challenge_response, is_signed

MAX_BODY_BYTES = 64 * 1024
"""A lead notification is a few hundred bytes; anything far larger is not one."""


class BodyTooLargeError(Exception):
    """The body passed the size limit."""


def notification_key(payload: Dict[str, Any], lead_id: str) -> str:
    """The identity of a notification: its lead, action and time (repeats share it).

    Args:
        payload: The notification as LinkedIn sent it.
        lead_id: The lead's id, read from its URN.

    Returns:
        str: A hex digest that LinkedIn's repeats of the notification share.
    """
    text = f"{lead_id}|{payload.get('leadAction')}|{payload.get('occurredAt')}"
    return hashlib.sha256(text.encode()).hexdigest()


def refuse(status: int, error: str) -> JSONResponse:
    """A refusal: ``{"error": error}`` with ``status``.

    Args:
        status: The HTTP status.
        error: What was wrong, for the sender.

    Returns:
        JSONResponse: The answer.
    """
    return JSONResponse({"error": error}, status_code=status)


def create_app(
    client_secret: str,
    journal: Journal,
    path: str = "/linkedin/lead-notifications",
    max_body_bytes: int = MAX_BODY_BYTES,
    on_accepted: Optional[Callable[[], None]] = None,
    metrics: Optional[ReceiverMetrics] = None,
    loader_alive: Callable[[], bool] = lambda: True,
) -> Starlette:
    """The receiver's ASGI app.

    Args:
        client_secret: The LinkedIn app's client secret (the HMAC key).
        journal: Where accepted notifications are written before the 200.
        path: The webhook's path (the URL subscribed, without scheme and host).
        max_body_bytes: Larger bodies are refused with 413.
        on_accepted: Called after a new notification is journaled (wakes the loader).
        metrics: Counts what the webhook receives and refuses; serves ``/metrics`` and ``/healthz``.
        loader_alive: Whether the loader runs (``/healthz``).

    Returns:
        Starlette: The app: the webhook's GET (LinkedIn's validation challenge) and POST (signed
        notifications, journaled before the 200), ``/healthz`` and ``/metrics``.
    """

    def refused(status: int, reason: str, error: str) -> JSONResponse:
        if metrics is not None:
            metrics.refused.labels(reason).inc()
        return refuse(status, error)

    async def validate(request: Request) -> JSONResponse:
        code = request.query_params.get("challengeCode")
        if not code:
            return refused(400, "no_challenge", "a GET must carry LinkedIn's challengeCode")
        return JSONResponse(
            {"challengeCode": code, "challengeResponse": challenge_response(client_secret, code)}
        )

    async def notify(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            return refused(400, "bad_length", "Content-Length is not a number")
        if declared is not None and int(declared) > max_body_bytes:
            return refused(413, "too_large", f"the body is over {max_body_bytes} bytes")
        try:
            body = await read_body(request, max_body_bytes)
        except BodyTooLargeError:
            return refused(413, "too_large", f"the body is over {max_body_bytes} bytes")
        if not is_signed(client_secret, body, request.headers.get("x-li-signature")):
            logger.warning("Lead notification refused: missing or wrong X-LI-Signature")
            return refused(401, "signature", "missing or wrong X-LI-Signature")
        try:
            payload = json.loads(body)
        except ValueError:
            return refused(400, "not_json", "the body is not JSON")
        lead_id = lead_response_id(payload.get("leadGenFormResponse")) if isinstance(payload, dict) else None
        if lead_id is None or not isinstance(payload.get("leadAction"), str):
            return refused(
                400,
                "not_a_notification",
                "not a lead notification: leadGenFormResponse and leadAction are required",
            )
        occurred = payload.get("occurredAt")
        new = await run_in_threadpool(
            journal.add,
            notification_key(payload, lead_id),
            lead_id,
            payload["leadAction"],
            occurred if isinstance(occurred, int) else None,
            body,
        )
        if new and on_accepted is not None:
            on_accepted()
        if metrics is not None:
            metrics.received.labels("accepted" if new else "duplicate").inc()
        return JSONResponse({"status": "accepted" if new else "duplicate"})

    async def webhook(request: Request) -> JSONResponse:
        return await (validate(request) if request.method == "GET" else notify(request))

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return refused(404, "path", "not the webhook's path")

    async def not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return refused(405, "method", "the webhook takes GET (validation) and POST (notifications)")

    routes = [Route(path, webhook, methods=["GET", "POST"])]
    if metrics is not None:
        watched = metrics

        async def healthz(request: Request) -> JSONResponse:
            ok, body = await run_in_threadpool(watched.health, loader_alive())
            return JSONResponse(body, status_code=200 if ok else 503)

        async def prometheus(request: Request) -> Response:
            return Response(await run_in_threadpool(watched.exposition), media_type=CONTENT_TYPE)

        routes += [
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ]
    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_allowed},
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read up to ``limit`` bytes (a chunked body has no Content-Length to check).

    Args:
        request: The request.
        limit: The most bytes taken.

    Returns:
        bytes: The body.

    Raises:
        BodyTooLargeError: If it is longer than ``limit``.
    """
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)
