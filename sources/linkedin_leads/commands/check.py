"""``python -m linkedin_leads check``: everything a sync needs verified, nothing loaded.

Each row is one thing a first sync depends on, with what LinkedIn said and, when it fails, the
fix: the credentials give a token; what LinkedIn's token introspection says of it (scopes,
status, expiry; needs the client id and secret, so skipped for a bare access token); the API
version is accepted; then, for each configured owner (or each discovered one), the forms listing
and one small leads query per lead type over the window. Requests are few and small: one page of
one record each.
"""

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from dlt.common import pendulum

from ..api.client import LinkedInClient
from ..api.credentials import LinkedInOAuthCredentials, expiry_warning
from ..api.exceptions import (
    LinkedInAccessError,
    LinkedInAPIError,
    LinkedInAuthError,
    LinkedInCheckError,
    LinkedInLeadsError,
)
from ..config.owners import Owner
from ..config.validate import validate_settings
from ..reading.discovery import linkedin_access
from ..settings import LEAD_FORM_RESPONSES_PATH

logger = logging.getLogger(__name__)

FAILED = 4
"""Exit status of ``check`` when a row failed (0: all passed; 2: a configuration error)."""

EXPIRY = "token expiry"
"""The row that warns of a token about to expire: a failure for ``check``, a warning before a run."""

SCOPES = {
    "sponsoredAccount": ("r_marketing_leadgen_automation", "r_ads"),
    "organization": ("r_marketing_leadgen_automation", "r_organization_admin"),
}


@dataclass
class Row:
    """One check: what was checked, whether it passed, what LinkedIn said, and the fix."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def preflight(**owners: Any) -> List[str]:
    """``check`` as the gate before a run (the Airflow DAG's first task): raises when a row fails,
    and returns the warnings (a token about to expire), each also logged.

    Args:
        **owners: ``account_ids``, ``organization_ids`` or ``lead_types`` to check instead of the
            configured ones (an Airflow owner group).

    Returns:
        List[str]: The warnings, such as a refresh token about to expire.

    Raises:
        LinkedInCheckError: A row failed; its message is the table, with each fix.
        LinkedInConfigError: The configuration is wrong (named key, value and fix).
    """
    validate_settings()
    client, owners_to_check, discovered = linkedin_access(**owners)
    rows = run_checks(client, owners_to_check, discovered)
    failed = [row for row in rows if not row.ok and row.check != EXPIRY]
    if failed:
        raise LinkedInCheckError(table(rows))
    warnings = [row.detail for row in rows if row.check == EXPIRY]
    for warning in warnings:
        logger.warning(warning)
    return warnings


def run_checks(client: LinkedInClient, owners: List[Owner], discovered: bool, days: int = 365) -> List[Row]:
    """Every check, in order; stops after the token when there is none to check with.

    Args:
        client: The client built from the settings.
        owners: The owners to check (configured or discovered).
        discovered: Whether they were discovered, for the rows' wording.
        days: How far back the leads queries look.

    Returns:
        List[Row]: One row per check: credentials, introspection, scopes, expiry, version, and per
        owner its forms and its leads of each lead type.
    """
    rows: List[Row] = []
    try:
        expiry = client.token_expiry()
        rows.append(Row("credentials", True, "an access token was " + ("renewed" if expiry else "given")))
    except LinkedInAuthError as exc:
        rows.append(Row("credentials", False, str(exc), "see the message: authorize the app again"))
        return rows
    warning = expiry_warning(expiry, time.time())
    row, scopes = introspection(client)
    rows.append(row)
    if scopes is not None:
        needed = sorted({scope for owner in owners for scope in SCOPES.get(owner.kind, ())})
        missing = [scope for scope in needed if scope not in scopes]
        rows.append(
            Row("scopes", not missing, f"granted: {', '.join(sorted(scopes)) or 'none'}")
            if not missing
            else Row(
                "scopes",
                False,
                f"the owners need {', '.join(needed)}; the token lacks {', '.join(missing)}",
                "add the scopes to the app's products and have the member authorize it again",
            )
        )
    if warning:
        rows.append(Row(EXPIRY, False, warning, "authorize the app again before it expires"))
    pinned = client.api_version
    end = pendulum.now("UTC")
    start = end.subtract(days=days)
    owner_rows: List[Row] = []
    try:
        for owner in owners:
            owner_rows += owner_checks(client, owner, start, end, discovered)
    except LinkedInAuthError as exc:  # a bare access token LinkedIn refuses (expired, revoked)
        return [Row("credentials", False, str(exc), "see the message"), *rows[1:]]
    if client.api_version != pinned:
        rows.append(
            Row(
                "API version",
                False,
                f"LinkedIn-Version {pinned} is no longer active; {client.api_version} answered",
                f'set api_version = "{client.api_version}" under [sources.linkedin_leads]',
            )
        )
    else:
        rows.append(Row("API version", True, f"LinkedIn-Version {pinned} accepted"))
    if not owners:
        rows.append(Row("owners", False, "no owner configured and none discovered", "set account_ids"))
    return rows + owner_rows


def introspection(client: LinkedInClient) -> Tuple[Row, Optional[Set[str]]]:
    """LinkedIn's token introspection (status, scopes, expiry); it needs the client id and secret,
    so it is skipped for a bare access token.

    Args:
        client: The client built from the settings.

    Returns:
        Tuple[Row, Optional[Set[str]]]: Its row, and the scopes granted (None: not known).
    """
    if not isinstance(client.credentials, LinkedInOAuthCredentials):
        return Row(
            "token introspection", True, "skipped: a bare access token (it needs client_id and secret)"
        ), None
    try:
        body = client.introspect()
    except LinkedInLeadsError as exc:
        return Row("token introspection", False, str(exc), "check credentials.introspection_url"), None
    if not body.get("active"):
        return (
            Row(
                "token introspection",
                False,
                f"LinkedIn says the token is not active (status {body.get('status')})",
                "have the member authorize the app again",
            ),
            None,
        )
    expires = body.get("expires_at")
    when = (
        time.strftime("%Y-%m-%d", time.gmtime(float(expires))) if isinstance(expires, (int, float)) else "?"
    )
    scopes = {
        scope.strip() for scope in str(body.get("scope") or "").replace(" ", ",").split(",") if scope.strip()
    }
    return Row("token introspection", True, f"active; the access token expires {when}"), scopes


def owner_checks(
    client: LinkedInClient, owner: Owner, start: pendulum.DateTime, end: pendulum.DateTime, discovered: bool
) -> List[Row]:
    """The forms listing, then one leads query of one record per lead type.

    Args:
        client: The client built from the settings.
        owner: The owner to check.
        start: The start of the leads queries' window.
        end: Its end.
        discovered: Whether the owner was discovered, for the rows' wording.

    Returns:
        List[Row]: The owner's rows, each failing one with its fix.
    """
    rows: List[Row] = []
    how = " (discovered)" if discovered else ""
    try:
        forms = client.get("leadForms", [("q", "owner"), ("owner", owner.restli), ("start", 0), ("count", 1)])
        listed = len(forms.get("elements") or [])
        rows.append(Row(f"{owner.urn}{how} forms", True, f"readable ({listed} on the first page of 1)"))
    except LinkedInAPIError as exc:
        rows.append(_refused(owner, "lead forms", exc))
        return rows
    for lead_type in owner.lead_types:
        params = [
            ("q", "owner"),
            ("owner", owner.restli),
            ("leadType", {"leadType": lead_type}),
            (
                "submittedAtTimeRange",
                {"start": int(start.timestamp() * 1000), "end": int(end.timestamp() * 1000)},
            ),
            ("start", 0),
            ("count", 1),
        ]
        try:
            body = client.get(LEAD_FORM_RESPONSES_PATH, params)
            found = "leads found" if body.get("elements") else "no leads in the window"
            rows.append(Row(f"{owner.urn} {lead_type} leads", True, f"readable; {found}"))
        except LinkedInAPIError as exc:
            rows.append(_refused(owner, "leads", exc))
    return rows


def _refused(owner: Owner, resource: str, exc: LinkedInAPIError) -> Row:
    name = f"{owner.urn} {resource}"
    if exc.status == 403:
        error = LinkedInAccessError(owner.urn, resource, exc)
        return Row(name, False, f"LinkedIn refused: {exc.message}", str(error).split(". ", 1)[-1])
    return Row(name, False, str(exc), "see LinkedIn's message")


def table(rows: List[Row]) -> str:
    """The rows as a person reads them.

    Args:
        rows: The checks' rows.

    Returns:
        str: PASS or FAIL per row, each failure's fix under it, and a last line counting them.
    """
    width = max(len(r.check) for r in rows) if rows else 10
    lines = []
    for row in rows:
        lines.append(f"{'PASS' if row.ok else 'FAIL'}  {row.check:<{width}}  {row.detail}")
        if not row.ok and row.fix:
            lines.append(f"      {'':<{width}}  fix: {row.fix}")
    failed = sum(not r.ok for r in rows)
    lines.append(f"All {len(rows)} checks passed" if not failed else f"{failed} of {len(rows)} checks failed")
    return "\n".join(lines)


def as_json(rows: List[Row]) -> List[Dict[str, Any]]:
    """The rows for machines (``check --json``).

    Args:
        rows: The checks' rows.

    Returns:
        List[Dict[str, Any]]: Each row's ``check``, ``ok``, ``detail`` and ``fix``.
    """
    return [asdict(r) for r in rows]


def status(rows: List[Row]) -> int:
    """The exit status of ``check``.

    Args:
        rows: The checks' rows.

    Returns:
        int: 0 when every check passed, 4 (``FAILED``) otherwise.
    """
    return 0 if all(r.ok for r in rows) else FAILED
