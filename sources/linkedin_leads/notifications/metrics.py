"""The receiver's health and metrics: ``GET /healthz`` and ``GET /metrics`` (Prometheus text).

Counted by the receiver as requests come: notifications received (``accepted`` or
``duplicate``) and refused, by reason. Read from the journal and the loader at each scrape:
pending notifications, the oldest one's age, leads and deletions loaded, failed batches, and
seconds since the last load (since the start, before the first). Prometheus's own client
library writes the text format; the registry is the service's own, not the process-wide one.
"""

import os
import sqlite3
import time
from typing import TYPE_CHECKING, Any, Dict, Iterator, Tuple

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .journal import Journal

if TYPE_CHECKING:
    from .loader import Loader

PREFIX = "linkedin_leads_notifications"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ReceiverMetrics(Collector):
    """The receiver's counters and the journal's and loader's figures, for one service.

    Args:
        journal: The receiver's journal.
        loader: The loader draining it.
    """

    def __init__(self, journal: Journal, loader: "Loader") -> None:
        self.journal = journal
        self.loader = loader
        self.started = time.time()
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            f"{PREFIX}_received",
            "Signed lead notifications accepted, by result (accepted: new; duplicate: a repeat delivery)",
            ["result"],
            registry=self.registry,
        )
        self.refused = Counter(
            f"{PREFIX}_refused",
            "Requests to the webhook refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.registry.register(self)

    def collect(self) -> Iterator[Any]:
        """The figures read at each scrape (called by the registry)."""
        oldest = self.journal.oldest_pending()
        now = time.time()
        yield GaugeMetricFamily(
            f"{PREFIX}_pending",
            "Notifications journaled and not loaded yet",
            value=self.journal.count_pending(),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_oldest_pending_age_seconds",
            "Age of the oldest notification not loaded yet (0 when none is pending)",
            value=0.0 if oldest is None else max(0.0, now - oldest),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_loaded", "Notifications loaded into the destination", value=self.loader.loaded
        )
        yield CounterMetricFamily(
            f"{PREFIX}_deletions_loaded", "DELETED notifications loaded", value=self.loader.deletions
        )
        yield CounterMetricFamily(
            f"{PREFIX}_failed_batches",
            "Batches whose load failed (their notifications stay pending)",
            value=self.loader.failures,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_seconds_since_last_load",
            "Seconds since the last batch was loaded (since the start, before the first)",
            value=now - (self.loader.last_loaded_at or self.started),
        )

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)

    def health(self, loader_alive: bool) -> Tuple[bool, Dict[str, Any]]:
        """Whether the journal takes writes and the loader runs, with what was found."""
        journal_ok, detail = journal_writable(self.journal)
        body: Dict[str, Any] = {
            "journal": "writable" if journal_ok else f"not writable: {detail}",
            "loader": "running" if loader_alive else "stopped",
            "pending": self.journal.count_pending() if journal_ok else None,
        }
        ok = journal_ok and loader_alive
        body["status"] = "ok" if ok else "failing"
        return ok, body


def journal_writable(journal: Journal) -> Tuple[bool, str]:
    """Whether the journal's file takes a write now (a write lock taken and given back)."""
    if not os.access(journal.path, os.W_OK):
        return False, "the file is read-only or gone"
    try:
        journal.probe_write()
    except sqlite3.Error as exc:
        return False, str(exc)
    return True, ""
