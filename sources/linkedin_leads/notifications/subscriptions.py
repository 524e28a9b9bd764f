"""LinkedIn's lead notification subscriptions (``/rest/leadNotifications``) of every owner.

One subscription per (owner, lead type) and webhook, at the owner level (LinkedIn's
recommendation). ``subscribe`` first lists what exists, so running it twice creates nothing new;
``unsubscribe`` deletes the subscriptions of one webhook (or all); ``list_subscriptions`` lists.
LinkedIn validates the webhook when a subscription is created (it must answer the challenge),
so the receiver must be running and reachable at that URL.
"""

from typing import Any, Dict, List, Optional

from ..api.client import LinkedInClient
from ..config.owners import Owner
from ..settings import LEAD_NOTIFICATIONS_PATH


def list_subscriptions(client: LinkedInClient, owners: List[Owner]) -> List[Dict[str, Any]]:
    """Every subscription of these owners and their lead types."""
    found: List[Dict[str, Any]] = []
    for owner in owners:
        for lead_type in owner.lead_types:
            body = client.get(
                LEAD_NOTIFICATIONS_PATH,
                [
                    ("q", "criteria"),
                    # LinkedIn's finder wraps the owner union in `value`, unlike leadFormResponses
                    ("owner", {"value": owner.restli}),
                    ("leadType", {"leadType": lead_type}),
                ],
            )
            found.extend(body.get("elements") or [])
    return found


def subscribe(client: LinkedInClient, owners: List[Owner], webhook_url: str) -> List[Dict[str, Any]]:
    """Creates the subscriptions of ``webhook_url`` that do not exist yet; returns those created."""
    existing = {
        (_owner_key(s.get("owner")), s.get("leadType"), s.get("webhook"))
        for s in list_subscriptions(client, owners)
    }
    created: List[Dict[str, Any]] = []
    for owner in owners:
        for lead_type in owner.lead_types:
            if (_owner_key(owner.restli), lead_type, webhook_url) in existing:
                continue
            body = {"webhook": webhook_url, "owner": owner.restli, "leadType": lead_type}
            response = client.send("POST", LEAD_NOTIFICATIONS_PATH, body)
            created.append({**body, "id": response.headers.get("x-restli-id")})
    return created


def unsubscribe(client: LinkedInClient, owners: List[Owner], webhook_url: Optional[str] = None) -> List[Any]:
    """Deletes the subscriptions of ``webhook_url`` (all of them if None); returns their ids."""
    deleted = []
    for subscription in list_subscriptions(client, owners):
        if webhook_url is None or subscription.get("webhook") == webhook_url:
            client.send("DELETE", f"{LEAD_NOTIFICATIONS_PATH}/{subscription['id']}")
            deleted.append(subscription["id"])
    return deleted


def _owner_key(owner: Any) -> str:
    return str(sorted(owner.items())) if isinstance(owner, dict) else ""
