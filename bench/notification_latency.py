"""Time from a lead notification to a queryable row, through the real receiver.

The emulator (in this process) subscribes the receiver (``python -m linkedin_leads.notifications
serve`` in its own process, default batching) and POSTs signed ``CREATED`` notifications at a
steady rate; a row is queryable once its journal entry is marked done, which the loader does
only after ``pipeline.run`` has loaded its package into DuckDB. Latency is that moment minus the
moment the notification was sent; p50 and p95 over all of them. The baseline, measured in the
same run, is one ``pipeline.run`` of the same source for a single lead: what one batch costs
beyond its wait. Standalone: ``python bench/notification_latency.py``.
"""

import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linkedin_leads.emulator import LinkedInEmulator, generate  # noqa: E402
from linkedin_leads.notifications.loader import DEFAULT_BATCH_SECONDS  # noqa: E402

SECRET = "test-client-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(
    notifications: int = 300, rate_per_s: float = 10.0, python: str = sys.executable
) -> Dict[str, Any]:
    """``python``: the interpreter the receiver runs with (``run.py`` gives its shipped environment)."""
    data = generate(
        int(time.time() * 1000), accounts=2, organizations=1, forms_per_owner=2, leads=notifications
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    with LinkedInEmulator(data, allow_http_webhooks=True) as emulator:
        port = free_port()
        url = f"http://127.0.0.1:{port}/linkedin/lead-notifications"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RUNTIME__LOG_LEVEL": "ERROR",
            "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN": "test-access-token",
            "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
            "SOURCES__LINKEDIN_LEADS__NOTIFICATIONS__CLIENT_SECRET": SECRET,
            "DESTINATION__DUCKDB__CREDENTIALS": str(folder / "leads.duckdb"),
        }
        journal = folder / "journal.sqlite"
        command = [python, "-m", "linkedin_leads.notifications", "serve", "--port", str(port)]
        process = subprocess.Popen([*command, "--journal", str(journal)], env=env, cwd=folder)
        try:
            wait_for(f"{url}?challengeCode=x")
            for kind, ids, types in (
                ("sponsoredAccount", data.accounts, ["SPONSORED"]),
                ("organization", data.organizations, ["COMPANY", "EVENT", "ORGANIZATION_PRODUCT"]),
            ):
                for owner_id in ids:
                    for lead_type in types:
                        body = {
                            "webhook": url,
                            "owner": {kind: f"urn:li:{kind}:{owner_id}"},
                            "leadType": lead_type,
                        }
                        assert emulator.notifications._create(json.dumps(body).encode())[0] == 201
            sent: Dict[str, float] = {}
            started = time.time()
            for number, lead in enumerate(emulator.visible_leads()[:notifications]):
                time.sleep(max(0.0, started + number / rate_per_s - time.time()))
                sent[lead.id] = time.time()
                assert emulator.notifications.notify(lead) == [200]
            done = wait_done(journal, len(sent))
        finally:
            process.terminate()
            process.wait(timeout=60)
        baseline_s = one_lead_run(emulator, folder)
    latencies = [done[lead_id] - at for lead_id, at in sent.items()]
    return {
        "notifications": len(latencies),
        "rate_per_s": rate_per_s,
        "batch_seconds": DEFAULT_BATCH_SECONDS,
        "p50_s": statistics.median(latencies),
        "p95_s": percentile(latencies, 0.95),
        "max_s": max(latencies),
        "one_lead_run_s": baseline_s,
    }


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


def wait_done(journal: Path, expected: int, timeout: float = 300) -> Dict[str, float]:
    """lead id -> when its entry was marked done, once all ``expected`` are."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(journal) as db:
            rows = db.execute(
                "SELECT lead_id, done_at FROM notifications WHERE done_at IS NOT NULL"
            ).fetchall()
        if len(rows) >= expected:
            return {lead_id: float(at) for lead_id, at in rows}
        if time.monotonic() > deadline:
            raise RuntimeError(f"{expected - len(rows)} notifications never loaded")
        time.sleep(0.2)


def one_lead_run(emulator: LinkedInEmulator, folder: Path) -> float:
    """The baseline: one pipeline run of the notification source for a single lead."""
    import dlt

    from linkedin_leads import LinkedInAccessTokenCredentials
    from linkedin_leads.notifications.journal import Entry
    from linkedin_leads.notifications.source import lead_notifications

    lead = emulator.visible_leads()[0]
    body = json.dumps(
        {
            "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead.id}",
            "owner": {lead.owner_kind: f"urn:li:{lead.owner_kind}:{lead.owner_id}"},
            "leadType": lead.lead_type,
            "leadAction": "CREATED",
        }
    ).encode()
    credentials = LinkedInAccessTokenCredentials()
    credentials.access_token = "test-access-token"
    pipeline = dlt.pipeline(
        pipeline_name="linkedin_leads",
        pipelines_dir=str(folder / "baseline"),
        destination=dlt.destinations.duckdb(str(folder / "baseline.duckdb")),
        dataset_name="linkedin",
    )
    source = lead_notifications(
        entries=[Entry("k", lead.id, "CREATED", None, body, time.time())],
        credentials=credentials,
        base_url=emulator.base_url,
    )
    started = time.perf_counter()
    pipeline.run(source)
    return time.perf_counter() - started


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
