"""Drains the journal into the destination in micro-batches, through the receiver's pipeline.

A batch is loaded when ``batch_size`` notifications are pending, or when the oldest pending one
has waited ``batch_seconds``. Its entries are marked done only once ``pipeline.run`` returned,
that is once their load package is loaded; a crash (or a failed load) before that leaves them
pending, and the next batch reads those leads again and merges them: nothing is lost, nothing
loaded twice. A package a crash left half-way is finished (or dropped by dlt when the
destination's state is newer) before new data is extracted, since dlt would otherwise ignore
the new data.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from ..reading.shared import destination_lock, run_writer
from ..settings import DEFAULT_LOCK_TIMEOUT
from ..tables.deletions import purge_deleted
from .journal import Entry, Journal

DEFAULT_BATCH_SECONDS = 5.0
DEFAULT_BATCH_SIZE = 200
log = logging.getLogger("linkedin_leads.notifications")
"""The receiver's own log: where it listens, and a line per batch (``serve`` shows INFO)."""

RETRY_SECONDS = 10.0
"""After a failed batch, the loader waits this long before trying again (entries stay pending)."""


@dataclass(eq=False)
class Loader:
    """Loads journaled notifications, batch by batch, until stopped.

    Args:
        journal: The receiver's journal.
        make_pipeline: The receiver's pipeline (the pull's destination and dataset, a name of its
            own), made once.
        make_source: The dlt source of a batch of entries (``source.lead_notifications``).
        batch_seconds: The longest a notification waits for its batch.
        batch_size: A batch is loaded at once when this many are pending.
        lock_timeout: How long a batch waits for another writer to free a DuckDB destination
            (``shared.destination_lock``); then it fails and is tried again.
    """

    journal: Journal
    make_pipeline: Callable[[], Any]
    make_source: Callable[[List[Entry]], Any]
    batch_seconds: float = DEFAULT_BATCH_SECONDS
    batch_size: int = DEFAULT_BATCH_SIZE
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    loaded: int = field(default=0, init=False)
    """Notifications loaded (leads and deletions)."""
    deletions: int = field(default=0, init=False)
    """``DELETED`` notifications among them."""
    failures: int = field(default=0, init=False)
    last_loaded_at: Optional[float] = field(default=None, init=False)
    """When the last batch was loaded (epoch seconds)."""
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _pipeline: Optional[Any] = field(default=None, init=False)

    def wake(self) -> None:
        """Called by the receiver when a notification is journaled."""
        self._wake.set()

    def due_in(self) -> Optional[float]:
        """Seconds until the next batch is due (0: now), None if nothing is pending."""
        oldest = self.journal.oldest_pending()
        if oldest is None:
            return None
        if self.journal.count_pending() >= self.batch_size:
            return 0.0
        return max(0.0, oldest + self.batch_seconds - time.time())

    def load_batch(self) -> int:
        """Loads the pending entries (up to ``batch_size``) now; returns how many were loaded."""
        entries = self.journal.pending(self.batch_size)
        if not entries:
            return 0
        began = time.monotonic()
        if self._pipeline is None:
            self._pipeline = self.make_pipeline()
        pipeline = self._pipeline
        # on DuckDB the pull may hold the file: wait for it (the journal, not this, takes
        # LinkedIn's notifications meanwhile)
        with destination_lock(pipeline, "the lead-notification receiver", self.lock_timeout):
            if pipeline.has_pending_data:
                pipeline.run()  # a package an earlier crash or failure left: its entries are pending
            run_writer(pipeline, self.make_source(entries))
            purge_deleted(pipeline)  # a lead a pull loaded after this batch's deletions: gone again
        self.journal.mark_done([entry.key for entry in entries])
        deletions = sum(entry.action == "DELETED" for entry in entries)
        self.loaded += len(entries)
        self.deletions += deletions
        self.last_loaded_at = time.time()
        log.info(
            f"loaded {len(entries) - deletions} leads and {deletions} deletions "
            f"in {time.monotonic() - began:.1f} s ({self.journal.count_pending()} pending)"
        )
        return len(entries)

    def run(self, stop: threading.Event) -> None:
        """Loads batches as they fall due until ``stop`` is set; a failed batch is tried again."""
        while not stop.is_set():
            due = self.due_in()
            if due is None or due > 0:
                self._wake.wait(self.batch_seconds if due is None else due)
                self._wake.clear()
                continue
            try:
                self.load_batch()
            except Exception as exc:  # any failure: entries stay pending, tried again
                self.failures += 1
                log.error(f"Loading lead notifications failed; trying again in {RETRY_SECONDS} s: {exc}")
                stop.wait(RETRY_SECONDS)
