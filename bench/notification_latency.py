"""Time from a lead notification to a queryable row, through the real receiver.

The emulator (in this process) subscribes the receiver (``python -m linkedin_leads.notifications
serve`` in its own process, default batching) and POSTs signed ``CREATED`` notifications at a
steady rate; a row is queryable once its journal entry is marked done, which the loader does
only after ``pipeline.run`` has loaded its package into DuckDB. Latency is that moment minus the
moment the notification was sent; p50 and p95 over all of them. The baseline, measured in the
same run, is one ``pipeline.run`` of the same source for a single lead: what one batch costs
beyond its wait. Standalone: ``python bench/notification_latency.py``.

``during_backfill``: the same, for leads pushed while the pull backfills 100k leads from a LinkedIn
answering in 0.7 s (``--during-backfill``), against the same run with the pull holding the DuckDB
file throughout (as it did before it held it only while it touches it).
"""

import json
import os
import random
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
        journal = folder / "journal.sqlite"
        process = start_receiver(python, receiver_env(emulator, folder / "leads.duckdb"), folder, port)
        try:
            subscribe(emulator, data, url)
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


def during_backfill(
    leads: int = 100_000,
    latency: float = 0.7,
    concurrency: int = 2,
    rate_per_s: float = 1.0,
    hold_whole_run: bool = False,
    python: str = sys.executable,
) -> Dict[str, Any]:
    """Leads pushed while the pull backfills ``leads`` from a LinkedIn answering in ``latency`` s:
    their notification-to-queryable p50 and p95. The receiver and the pull are two processes on
    one DuckDB file; ``hold_whole_run``: the pull holds the file for its whole run (the baseline,
    as it did before)."""
    data = generate(int(time.time() * 1000), accounts=2, organizations=1, forms_per_owner=2, leads=leads)
    folder = Path(tempfile.mkdtemp(prefix="bench-pushes-"))
    database = folder / "linkedin_leads.duckdb"
    with LinkedInEmulator(data, allow_http_webhooks=True, latency=latency) as emulator:
        port = free_port()
        url = f"http://127.0.0.1:{port}/linkedin/lead-notifications"
        env = {
            **receiver_env(emulator, database),
            "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS": ",".join(map(str, data.accounts)),
            "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": ",".join(map(str, data.organizations)),
            "SOURCES__LINKEDIN_LEADS__CONCURRENCY": str(concurrency),
            "DLT_DATA_DIR": str(folder / "dlt"),
        }
        journal = folder / "journal.sqlite"
        receiver = start_receiver(python, env, folder, port)
        try:
            subscribe(emulator, data, url)
            pull_command = [python, str(ROOT / "bench" / "pull_beside_receiver.py"), str(database)]
            pull = subprocess.Popen(
                pull_command + (["--hold-whole-run"] if hold_whole_run else []),
                env=env,
                cwd=folder,
                stdout=subprocess.PIPE,
                text=True,
            )
            sent: Dict[str, float] = {}
            rng = random.Random(5)
            forms = sorted(data.forms)
            started = time.time()
            while pull.poll() is None:
                time.sleep(max(0.0, started + len(sent) / rate_per_s - time.time()))
                lead = data.make_lead(forms[len(sent) % len(forms)], int(time.time() * 1000) - 500, rng)
                emulator.add_leads([lead])
                sent[lead.id] = time.time()
                assert emulator.notifications.notify(lead) == [200]
            printed = (pull.stdout.read() if pull.stdout else "").strip().splitlines()
            pull_out = json.loads(printed[-1]) if printed and printed[-1].startswith("{") else {}
            done = wait_done(journal, len(sent))
        finally:
            receiver.terminate()
            receiver.wait(timeout=60)
    latencies = [done[lead_id] - at for lead_id, at in sent.items()]
    return {
        "leads": leads,
        "latency_s": latency,
        "concurrency": concurrency,
        "hold_whole_run": hold_whole_run,
        "pull_s": pull_out.get("seconds"),
        "pull_exit": pull.returncode,
        "receiver_exit": receiver.returncode,
        "pushed": len(latencies),
        "p50_s": statistics.median(latencies),
        "p95_s": percentile(latencies, 0.95),
        "max_s": max(latencies),
    }


def receiver_env(emulator: LinkedInEmulator, database: Path) -> Dict[str, str]:
    """The settings of the receiver (and of the pull beside it) against ``emulator``."""
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
        "RUNTIME__LOG_LEVEL": "ERROR",
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN": "test-access-token",
        "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
        "SOURCES__LINKEDIN_LEADS__NOTIFICATIONS__CLIENT_SECRET": SECRET,
        "DESTINATION__DUCKDB__CREDENTIALS": str(database),
    }


def start_receiver(python: str, env: Dict[str, str], folder: Path, port: int) -> "subprocess.Popen[bytes]":
    """``serve`` in its own process, journal ``folder/journal.sqlite``; returns once it answers."""
    command = [python, "-m", "linkedin_leads.notifications", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--journal", str(folder / "journal.sqlite")], env=env, cwd=folder)
    wait_for(f"http://127.0.0.1:{port}/linkedin/lead-notifications?challengeCode=x")
    return process


def subscribe(emulator: LinkedInEmulator, data: Any, url: str) -> None:
    """Every owner and lead type of the data set subscribed to the receiver at ``url``."""
    for kind, ids, types in (
        ("sponsoredAccount", data.accounts, ["SPONSORED"]),
        ("organization", data.organizations, ["COMPANY", "EVENT", "ORGANIZATION_PRODUCT"]),
    ):
        for owner_id in ids:
            for lead_type in types:
                body = {"webhook": url, "owner": {kind: f"urn:li:{kind}:{owner_id}"}, "leadType": lead_type}
                assert emulator.notifications._create(json.dumps(body).encode())[0] == 201


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
    if "--during-backfill" in sys.argv:  # the pull holding DuckDB only while it touches it, then throughout
        for whole in (False, True):
            print(json.dumps(during_backfill(hold_whole_run=whole), indent=1), flush=True)
    else:
        print(json.dumps(measure(), indent=1))
