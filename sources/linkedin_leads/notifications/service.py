"""The receiver and its loader in one process: uvicorn serving the webhook, a loader thread.

``Service.serve_forever`` is what ``python -m linkedin_leads.notifications serve`` runs;
``start``/``stop`` run it in threads (tests, an embedding application).
"""

import threading
import time
from typing import Any, Callable, List

import uvicorn

from ..settings import DEFAULT_LOCK_TIMEOUT
from .journal import Entry, Journal
from .loader import DEFAULT_BATCH_SECONDS, DEFAULT_BATCH_SIZE, Loader, log
from .metrics import ReceiverMetrics
from .receiver import MAX_BODY_BYTES, create_app

DEFAULT_PATH = "/linkedin/lead-notifications"


class _Server(uvicorn.Server):
    """uvicorn's server, saying where it listens once its sockets are bound."""

    path = DEFAULT_PATH

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.address()
            log.info(
                f"listening on http://{host}:{port}: webhook {self.path}, health /healthz, metrics /metrics"
            )

    async def shutdown(self, sockets: Any = None) -> None:
        await super().shutdown(sockets)
        # uvicorn (0.29 and later) raises SIGINT or SIGTERM again once it has shut down, which
        # ends the process before the receiver lets its loader finish the batch and closes the
        # journal (`Service.serve_forever`); the receiver exits by itself, with status 0
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()

    def address(self) -> Any:
        return next(s for server in self.servers for s in server.sockets).getsockname()[:2]


class Service:
    """The webhook receiver (``receiver``) and the loader (``loader``) over one journal.

    Args:
        client_secret: The LinkedIn app's client secret.
        journal_path: The journal's SQLite file.
        make_pipeline: The pipeline the loader loads through (the receiver's own).
        make_source: The dlt source of a batch of entries.
        host: The interface to listen on.
        port: The port (0: any free one, see ``url``).
        path: The webhook's path.
        batch_seconds: The longest a notification waits for its batch.
        batch_size: A batch is loaded at once when this many are pending.
        max_body_bytes: Larger notification bodies are refused (413).
        lock_timeout: How long a batch waits for a DuckDB destination another writer holds.
    """

    def __init__(
        self,
        client_secret: str,
        journal_path: str,
        make_pipeline: Callable[[], Any],
        make_source: Callable[[List[Entry]], Any],
        host: str = "127.0.0.1",
        port: int = 8000,
        path: str = DEFAULT_PATH,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_body_bytes: int = MAX_BODY_BYTES,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.journal = Journal(journal_path)
        self.loader = Loader(
            self.journal, make_pipeline, make_source, batch_seconds, batch_size, lock_timeout
        )
        self.metrics = ReceiverMetrics(self.journal, self.loader)
        app = create_app(
            client_secret,
            self.journal,
            path,
            max_body_bytes,
            on_accepted=self.loader.wake,
            metrics=self.metrics,
            loader_alive=self.loader_alive,
        )
        self.server = _Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        self.server.path = path
        self.path = path
        self.url = ""
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []

    def loader_alive(self) -> bool:
        """Whether the loader's thread runs (``/healthz``).

        Returns:
            bool: True while the thread that loads the journal is alive.
        """
        return any(t.name == "linkedin_leads_loader" and t.is_alive() for t in self._threads)

    def _start_loader(self) -> None:
        thread = threading.Thread(
            target=self.loader.run, args=(self._stop,), name="linkedin_leads_loader", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def start(self, timeout: float = 10.0) -> "Service":
        """Serves in a thread; returns once the webhook answers (``url`` is set).

        Args:
            timeout: Seconds to wait for the server to listen.

        Returns:
            Service: This service, started.

        Raises:
            RuntimeError: If the server did not start in time.
        """
        self._start_loader()
        thread = threading.Thread(target=self.server.run, name="linkedin_leads_receiver", daemon=True)
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the notification receiver did not start")
            time.sleep(0.02)
        self.url = self._url()
        return self

    def serve_forever(self) -> None:
        """Serves in this thread until SIGINT or SIGTERM, then lets the loader finish its batch."""
        self._start_loader()
        try:
            self.server.run()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stops serving, lets the loader finish its batch, and closes the journal."""
        self.server.should_exit = True
        self._stop.set()
        self.loader.wake()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=60)
        self.journal.close()

    def _url(self) -> str:
        host, port = self.server.address()
        return f"http://{host}:{port}{self.path}"
