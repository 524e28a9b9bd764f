"""The receiver's journal: every accepted notification, durable before LinkedIn gets its 2xx.

SQLite in WAL mode with ``synchronous=FULL``: each accepted notification is one committed
transaction, flushed to disk (the WAL file fsynced) before the receiver answers, so neither a
killed process nor a power cut loses an acknowledged notification; the loader reads while the
receiver writes. SQLite is in the standard library and keeps one file next to the pipeline; a
queue server would be one more service to run for a few notifications a minute.

A notification's key is its lead, its action and ``occurredAt``: LinkedIn may deliver the same
notification more than once, and the second one is recognised (``add`` returns False).
Entries are marked done only once their load package is loaded.
"""

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    action TEXT NOT NULL,
    occurred_at INTEGER,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS pending ON notifications (done_at, received_at);
"""


@dataclass(frozen=True)
class Entry:
    """One journaled notification."""

    key: str
    lead_id: str
    action: str
    occurred_at: Optional[int]
    body: bytes
    received_at: float


class Journal:
    """The journal file; thread-safe (one connection, one lock).

    Args:
        path: The SQLite file, created if missing.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def add(self, key: str, lead_id: str, action: str, occurred_at: Optional[int], body: bytes) -> bool:
        """Journals a notification (committed and on disk when this returns); False if a repeat."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO notifications (key, lead_id, action, occurred_at, body, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET deliveries = deliveries + 1 "
                "RETURNING deliveries",
                (key, lead_id, action, occurred_at, body, time.time()),
            )
            (deliveries,) = cursor.fetchone()
            return bool(deliveries == 1)

    def pending(self, limit: int) -> List[Entry]:
        """The oldest entries not loaded yet, at most ``limit``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, lead_id, action, occurred_at, body, received_at FROM notifications "
                "WHERE done_at IS NULL ORDER BY received_at LIMIT ?",
                (limit,),
            ).fetchall()
        return [Entry(*row) for row in rows]

    def oldest_pending(self) -> Optional[float]:
        """When the oldest entry not loaded yet arrived (epoch seconds), None if there is none."""
        with self._lock:
            (oldest,) = self._db.execute(
                "SELECT min(received_at) FROM notifications WHERE done_at IS NULL"
            ).fetchone()
        return None if oldest is None else float(oldest)

    def count_pending(self) -> int:
        """How many entries are not loaded yet."""
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM notifications WHERE done_at IS NULL").fetchone()
        return int(count)

    def mark_done(self, keys: Sequence[str]) -> None:
        """Marks entries loaded (their load package is in the destination)."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE notifications SET done_at = ? WHERE key = ?", [(now, k) for k in keys]
            )
            self._db.execute("COMMIT")

    def probe_write(self) -> None:
        """Takes the file's write lock and gives it back (``/healthz``); raises when it cannot."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._db.close()
