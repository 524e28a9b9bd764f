"""Lead notifications end to end: LinkedIn's emulator signs and POSTs them over real HTTP to the
receiver on 127.0.0.1, which journals them and loads them through the pull's pipeline into
DuckDB; every assertion is on rows read back by SQL."""

import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import dlt
import pytest
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from linkedin_leads.emulator import Dataset, Lead, LinkedInEmulator, generate
from linkedin_leads.notifications.__main__ import main as notifications_cli
from linkedin_leads.notifications.journal import Journal
from linkedin_leads.notifications.service import Service
from linkedin_leads.notifications.source import lead_notifications
from linkedin_leads.settings import RECEIVER_SUFFIX

from .conftest import NOW_MS, access_token, every_lead_once, lead_ids, make_source, sql

SECRET = "test-client-secret"
ROOT = Path(__file__).resolve().parent.parent


def pipeline_at(tmp_path: Path, pipelines: str, name: str = "linkedin_leads") -> dlt.Pipeline:
    """The pull's pipeline; the receiver keeps its own folder, as on another machine."""
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp_path / pipelines),
        destination=dlt.destinations.duckdb(str(tmp_path / "leads.duckdb")),
        dataset_name="linkedin",
    )


@pytest.fixture
def notify_emulator(dataset: Dataset) -> Iterator[LinkedInEmulator]:
    with LinkedInEmulator(dataset, allow_http_webhooks=True) as emulator:
        yield emulator


def start_service(emulator: LinkedInEmulator, tmp_path: Path, **kwargs: Any) -> Service:
    """The receiver in this process, as ``serve`` runs it: its own pipeline, beside the pull's."""
    service = Service(
        SECRET,
        str(tmp_path / "journal.sqlite"),
        lambda: pipeline_at(tmp_path, "receiver", "linkedin_leads" + RECEIVER_SUFFIX),
        lambda entries: lead_notifications(
            entries=entries, credentials=access_token(), base_url=emulator.base_url
        ),
        port=0,
        **{"batch_seconds": 0.5, **kwargs},
    )
    return service.start()


@pytest.fixture
def service(notify_emulator: LinkedInEmulator, tmp_path: Path) -> Iterator[Service]:
    running = start_service(notify_emulator, tmp_path)
    yield running
    running.stop()


def subscribe_all(emulator: LinkedInEmulator, url: str) -> None:
    """Every owner and lead type of the data set subscribed to ``url`` (LinkedIn validates it)."""
    for kind, ids, types in (
        ("sponsoredAccount", emulator.data.accounts, ["SPONSORED"]),
        ("organization", emulator.data.organizations, ["COMPANY", "EVENT", "ORGANIZATION_PRODUCT"]),
    ):
        for owner_id in ids:
            for lead_type in types:
                body = {"webhook": url, "owner": {kind: f"urn:li:{kind}:{owner_id}"}, "leadType": lead_type}
                status, _, _ = emulator.notifications._create(json.dumps(body).encode())
                assert status == 201


def wait_loaded(journal_path: Path, timeout: float = 60) -> None:
    """Until every journaled notification is marked loaded."""
    journal = Journal(str(journal_path))
    deadline = time.monotonic() + timeout
    try:
        while journal.count_pending():
            assert time.monotonic() < deadline, f"{journal.count_pending()} notifications still pending"
            time.sleep(0.1)
    finally:
        journal.close()


def request(
    url: str, method: str = "GET", body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, Any]]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def signed(body: bytes, secret: str = SECRET) -> Dict[str, str]:
    digest = hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    return {"X-LI-Signature": digest, "Content-Type": "application/json"}


def payload(lead_id: str, action: str = "CREATED") -> bytes:
    return json.dumps(
        {
            "type": "LEAD_ACTION",
            "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead_id}",
            "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1"},
            "leadType": "SPONSORED",
            "leadAction": action,
            "occurredAt": 1_767_225_600_000,
        }
    ).encode()


def test_validation_signatures_and_refusals(service: Service, tmp_path: Path, dlt_log: List[str]) -> None:
    url = service.url
    status, body = request(f"{url}?challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0")
    expected = hmac.new(SECRET.encode(), b"890e4665-4dfe-4ab1-b689-ed553bceeed0", hashlib.sha256).hexdigest()
    assert (status, body["challengeResponse"]) == (200, expected)
    assert body["challengeCode"] == "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    assert request(url)[0] == 400  # a GET without a challenge

    good = payload("aaaa-1")
    assert request(url, "POST", good, signed(good)) == (200, {"status": "accepted"})
    assert request(url, "POST", good, signed(good)) == (200, {"status": "duplicate"})
    refused = {
        "bad signature": request(url, "POST", payload("b-1"), signed(payload("b-1"), "another-secret"))[0],
        "no signature": request(url, "POST", payload("b-2"), {"Content-Type": "application/json"})[0],
        "signature of another body": request(url, "POST", payload("b-3"), signed(payload("b-4")))[0],
        "oversized": request(url, "POST", b"x" * 70_000, signed(b"x" * 70_000))[0],
        "not JSON": request(url, "POST", b"{not json", signed(b"{not json"))[0],
        "not a notification": request(url, "POST", b'{"a": 1}', signed(b'{"a": 1}'))[0],
        "PUT": request(url, "PUT", good, signed(good))[0],
        "DELETE": request(url, "DELETE")[0],
        "other path": request(url.rsplit("/", 1)[0] + "/elsewhere", "POST", good, signed(good))[0],
    }
    assert refused == {
        "bad signature": 401,
        "no signature": 401,
        "signature of another body": 401,
        "oversized": 413,
        "not JSON": 400,
        "not a notification": 400,
        "PUT": 405,
        "DELETE": 405,
        "other path": 404,
    }
    journal = Journal(str(tmp_path / "journal.sqlite"))
    rows = journal._db.execute("SELECT lead_id, deliveries FROM notifications").fetchall()
    assert rows == [("aaaa-1", 2)]  # the one accepted, delivered twice; nothing refused was kept
    journal.close()
    assert not any(SECRET in line for line in dlt_log)


@pytest.mark.parametrize("batch_get", [True, False], ids=["batch_get", "get_by_id"])
def test_created_leads_land_once_with_the_pulls_columns(tmp_path: Path, batch_get: bool) -> None:
    data = generate(NOW_MS, accounts=2, organizations=1, forms_per_owner=2, leads=520)
    with LinkedInEmulator(data, allow_http_webhooks=True, batch_get=batch_get) as emulator:
        # the deployment: a backfill by the pull, then its rows of 500 leads taken away again
        pipeline = pipeline_at(tmp_path, "pull")
        pipeline.run(make_source(emulator, lookback_hours=0))
        notified = emulator.visible_leads()[:500]
        ids = ", ".join(f"'{lead.id}'" for lead in notified)
        queries = {
            table: f"SELECT * FROM {table} WHERE {column} IN ({ids}) ORDER BY {key}"
            for table, column, key in (
                ("lead_form_responses", "id", "id"),
                ("lead_form_responses__answers", "lead_id", "lead_id, question_id"),
                ("lead_form_responses__consents", "lead_id", "lead_id, consent_id"),
            )
        }
        pulled = {table: rows_as_dicts(pipeline, query) for table, query in queries.items()}
        assert all(pulled.values())
        with pipeline.sql_client() as client:
            for table in queries:
                column = "id" if table == "lead_form_responses" else "lead_id"
                client.execute_sql(f"DELETE FROM {table} WHERE {column} IN ({ids})")
        assert lead_ids(pipeline) == sorted(lead.id for lead in emulator.visible_leads()[500:])

        service = start_service(emulator, tmp_path)
        try:
            subscribe_all(emulator, service.url)
            rng = random.Random(5)
            for lead in notified:
                copies = 2 if rng.random() < 0.05 else 1  # LinkedIn may deliver more than once
                assert emulator.notifications.notify(lead, copies=copies) == [200] * copies
            assert len(emulator.notifications.deliveries) > 510
            wait_loaded(tmp_path / "journal.sqlite")
            # the same rows as the pull made, column by column, each lead once
            for table, query in queries.items():
                assert rows_as_dicts(pipeline, query) == pulled[table], table
            every_lead_once(pipeline, emulator)
            by_id = emulator.calls("leadFormResponses/")
            batches = [r for r in emulator.calls("leadFormResponses") if "ids" in r.params]
            assert (len(batches) >= 10, len(by_id) >= 500) == ((True, False) if batch_get else (False, True))
            if not batch_get:  # refused once, then remembered for every later batch of the receiver
                assert len(batches) == 1, len(batches)

            # the pull stays the backup: of 30 new leads, 10 are notified; the next pull loads all
            emulator.add_generated(30, age_ms=60_000)
            for lead in emulator.data.leads[-10:]:
                assert emulator.notifications.notify(lead) == [200]
            wait_loaded(tmp_path / "journal.sqlite")
        finally:
            service.stop()
        assert len(lead_ids(pipeline)) == 520 + 10
        pipeline.run(make_source(emulator, lookback_hours=0))
        every_lead_once(pipeline, emulator)


def rows_as_dicts(pipeline: dlt.Pipeline, query: str) -> List[Dict[str, Any]]:
    with pipeline.sql_client() as client:
        with client.execute_query(query) as cursor:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("still_listed", [False, True], ids=["dropped_by_linkedin", "still_listed"])
def test_deleted_lead_is_gone_and_a_full_pull_does_not_bring_it_back(
    notify_emulator: LinkedInEmulator, tmp_path: Path, still_listed: bool, dlt_log: List[str]
) -> None:
    emulator = notify_emulator
    pipeline = pipeline_at(tmp_path, "pull")
    pipeline.run(make_source(emulator))
    every_lead_once(pipeline, emulator)
    service = start_service(emulator, tmp_path)
    try:
        subscribe_all(emulator, service.url)
        gone = next(
            lead for lead in emulator.visible_leads() if lead.entity["formResponse"].get("consentResponses")
        )
        emulator.notifications.deleted_still_listed = still_listed
        assert emulator.notifications.delete_lead(gone) == [200]
        wait_loaded(tmp_path / "journal.sqlite")
    finally:
        service.stop()
    for table, column in (
        ("lead_form_responses", "id"),
        ("lead_form_responses__answers", "lead_id"),
        ("lead_form_responses__consents", "lead_id"),
    ):
        assert sql(pipeline, f"SELECT count(*) FROM {table} WHERE {column} = '{gone.id}'") == [(0,)], table
    assert sql(pipeline, "SELECT id FROM lead_form_responses_deleted") == [(gone.id,)]
    # the tombstones' keys are declared as the pull's: no dlt warning of differing hints
    assert not [line for line in dlt_log if line.startswith("WARNING") and "hints were different" in line]
    others = sorted(lead.id for lead in emulator.visible_leads() if lead.id != gone.id)
    assert lead_ids(pipeline) == others

    # a full pull of the whole window (a new pipeline, no progress) into the same dataset
    fresh = pipeline_at(tmp_path, "fresh", name="linkedin_leads_full_pull")
    fresh.run(make_source(emulator, lookback_hours=0))
    assert lead_ids(fresh) == others
    pipeline.run(make_source(emulator, lookback_hours=720))  # and the scheduled pull, looking far back
    assert lead_ids(pipeline) == others


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def receiver_process(
    emulator: LinkedInEmulator, tmp_path: Path, port: int, batch_seconds: float
) -> "subprocess.Popen[str]":
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN": "test-access-token",
        "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
        "SOURCES__LINKEDIN_LEADS__NOTIFICATIONS__CLIENT_SECRET": SECRET,
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "leads.duckdb"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkedin_leads.notifications",
            "serve",
            "--port",
            str(port),
            "--journal",
            str(tmp_path / "journal.sqlite"),
            "--batch-seconds",
            str(batch_seconds),
            "--batch-size",
            "100000",
        ],
        env=env,
        cwd=tmp_path,
        text=True,
    )
    deadline = time.monotonic() + 60
    while request_status(f"http://127.0.0.1:{port}/linkedin/lead-notifications?challengeCode=x") != 200:
        assert process.poll() is None and time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.1)
    return process


def request_status(url: str) -> int:
    try:
        return request(url)[0]
    except OSError:
        return 0


def test_killed_after_acknowledging_loses_nothing(notify_emulator: LinkedInEmulator, tmp_path: Path) -> None:
    emulator = notify_emulator
    port = free_port()
    url = f"http://127.0.0.1:{port}/linkedin/lead-notifications"
    process = receiver_process(emulator, tmp_path, port, batch_seconds=3600)  # acknowledges, never loads
    try:
        subscribe_all(emulator, url)
        notified = emulator.visible_leads()[:60]
        for lead in notified:
            assert emulator.notifications.notify(lead) == [200]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    journal = Journal(str(tmp_path / "journal.sqlite"))
    assert journal.count_pending() == 60
    journal.close()
    # nothing was loaded before the kill (the receiver only read its state at start)
    if (tmp_path / "leads.duckdb").exists():
        with pytest.raises(DatabaseUndefinedRelation):
            lead_ids(pipeline_at(tmp_path, "pull"))

    process = receiver_process(emulator, tmp_path, port, batch_seconds=0.2)
    try:
        wait_loaded(tmp_path / "journal.sqlite")
        for lead in notified[:5]:  # delivered again after the restart: still once
            assert emulator.notifications.notify(lead) == [200]
        wait_loaded(tmp_path / "journal.sqlite")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    pipeline = pipeline_at(tmp_path, "pull")
    assert lead_ids(pipeline) == sorted(lead.id for lead in notified)
    assert sql(pipeline, "SELECT count(*), count(DISTINCT id) FROM lead_form_responses") == [(60, 60)]


def test_subscribe_twice_creates_nothing_new_and_unsubscribe(
    service: Service, notify_emulator: LinkedInEmulator, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    emulator = notify_emulator
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN", "test-access-token")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__BASE_URL", emulator.base_url)
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS", ",".join(map(str, emulator.data.accounts)))
    monkeypatch.setenv(
        "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS", ",".join(map(str, emulator.data.organizations))
    )
    pairs = len(emulator.data.accounts) + 3 * len(emulator.data.organizations)

    def cli(*args: str) -> Any:
        assert notifications_cli(list(args)) == 0
        return json.loads(capsys.readouterr().out)

    assert len(cli("subscribe", "--webhook-url", service.url)["subscribe"]) == pairs
    assert cli("subscribe", "--webhook-url", service.url) == {"subscribe": []}  # nothing new
    listed = cli("list")["list"]
    assert len(listed) == len(emulator.notifications.subscriptions) == pairs
    assert {s["webhook"] for s in listed} == {service.url}
    validations = [r for r in emulator.calls() if r.method == "POST" and "leadNotifications" in r.path]
    assert len(validations) == pairs  # each created once, after LinkedIn validated the webhook
    assert len(cli("unsubscribe", "--webhook-url", service.url)["unsubscribe"]) == pairs
    assert emulator.notifications.subscriptions == {}
    assert cli("list") == {"list": []}


def test_subscribing_an_unreachable_or_wrong_webhook_is_refused(notify_emulator: LinkedInEmulator) -> None:
    emulator = notify_emulator
    body = {
        "webhook": f"http://127.0.0.1:{free_port()}/x",
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1"},
    }
    status, answer, _ = emulator.notifications._create(json.dumps({**body, "leadType": "SPONSORED"}).encode())
    assert status == 400 and b"validation failed" in answer
    strict = LinkedInEmulator(Dataset())
    status, answer, _ = strict.notifications._create(
        json.dumps({**body, "webhook": "http://example.com/x", "leadType": "SPONSORED"}).encode()
    )
    assert status == 400 and b"HTTPS" in answer


def test_the_source_reads_leads_that_linkedin_no_longer_has_as_missing(
    notify_emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    """A CREATED whose lead is gone by the time it is read loads nothing and fails nothing."""
    emulator = notify_emulator
    service = start_service(emulator, tmp_path)
    try:
        subscribe_all(emulator, service.url)
        lead: Lead = emulator.visible_leads()[0]
        emulator.notifications.deleted.add(lead.id)  # gone on LinkedIn, no DELETED sent
        assert emulator.notifications.notify(lead) == [200]
        wait_loaded(tmp_path / "journal.sqlite")
        assert service.loader.failures == 0
    finally:
        service.stop()


def metric(text: str, name: str) -> float:
    """The value of one sample (name with labels) in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in:\n{text}")


def test_health_and_metrics(service: Service, notify_emulator: LinkedInEmulator, tmp_path: Path) -> None:
    base = service.url.rsplit("/linkedin", 1)[0]
    assert request(f"{base}/healthz") == (
        200,
        {"journal": "writable", "loader": "running", "pending": 0, "status": "ok"},
    )
    subscribe_all(notify_emulator, service.url)
    leads = notify_emulator.data.leads[:3]
    assert notify_emulator.notifications.notify(leads[0], copies=2) == [200, 200]
    for lead in leads[1:]:
        assert notify_emulator.notifications.notify(lead) == [200]
    assert notify_emulator.notifications.notify(leads[0], bad_signature=True) == [401]
    assert request(service.url, "POST", b"{}", {"X-LI-Signature": "0" * 64})[0] == 401
    assert request(f"{base}/elsewhere")[0] == 404
    wait_loaded(tmp_path / "journal.sqlite")
    with urllib.request.urlopen(f"{base}/metrics") as answer:
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.read().decode()
    prefix = "linkedin_leads_notifications"
    assert metric(text, f'{prefix}_received_total{{result="accepted"}}') == 3
    assert metric(text, f'{prefix}_received_total{{result="duplicate"}}') == 1
    assert metric(text, f'{prefix}_refused_total{{reason="signature"}}') == 2
    assert metric(text, f'{prefix}_refused_total{{reason="path"}}') == 1
    assert metric(text, f"{prefix}_loaded_total") == 3
    assert metric(text, f"{prefix}_pending") == 0
    assert metric(text, f"{prefix}_oldest_pending_age_seconds") == 0
    assert metric(text, f"{prefix}_failed_batches_total") == 0
    assert 0 <= metric(text, f"{prefix}_seconds_since_last_load") < 30
    # the loader stopped: the receiver still journals, but is not healthy
    service._stop.set()
    service.loader.wake()
    for thread in service._threads:
        if thread.name == "linkedin_leads_loader":
            thread.join(timeout=30)
    status, body = request(f"{base}/healthz")
    assert status == 503 and body["loader"] == "stopped" and body["status"] == "failing"


def test_the_receiver_demo_in_one_command(tmp_path: Path) -> None:
    """Run after the pull's demo in the same folder: its own file, the pull demo's untouched, the
    query it prints returns what it says landed, and no lock file is left behind."""
    import duckdb

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLT_DATA_DIR": str(tmp_path / "dlt_data")}

    def command(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(
            [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    assert command(str(ROOT / "linkedin_leads_pipeline.py"), "--demo").returncode == 0
    pull_file = tmp_path / "linkedin_leads_demo.duckdb"
    before = pull_file.read_bytes()
    result = command("-m", "linkedin_leads.notifications", "serve", "--demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Landed: 5 leads in linkedin.lead_form_responses, each once (7 deliveries)." in result.stdout
    assert "After the deletion: 4 leads left" in result.stdout and "(1 row)" in result.stdout
    database = tmp_path / "linkedin_leads_receiver_demo.duckdb"
    assert f"DuckDB file {database}" in result.stdout
    # the receiver's log: where it listens, and a line per batch
    assert "listening on http://127.0.0.1:" in result.stderr
    assert "loaded 5 leads and 0 deletions in" in result.stderr
    assert "loaded 0 leads and 1 deletions in" in result.stderr
    assert pull_file.read_bytes() == before
    assert not list(tmp_path.glob("*.lock"))
    printed = next(line for line in result.stdout.splitlines() if "import duckdb" in line)
    shown = command("-c", printed.strip().split('"', 1)[1].rsplit('"', 1)[0])
    assert shown.returncode == 0, shown.stderr
    with duckdb.connect(str(database), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM linkedin.lead_form_responses").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM linkedin.lead_form_responses_deleted").fetchone() == (1,)
    # a second demo starts anew
    again = command("-m", "linkedin_leads.notifications", "serve", "--demo")
    assert again.returncode == 0 and "After the deletion: 4 leads left" in again.stdout


def test_every_serve_option_says_what_it_does_and_its_default() -> None:
    import argparse

    from linkedin_leads.notifications.__main__ import parser

    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    serve = commands.choices["serve"]
    options = [a for a in serve._actions if a.option_strings and a.dest not in ("help", "version")]
    assert len(options) == 11
    for option in options:
        assert option.help, option.option_strings
        assert option.dest == "demo" or "default" in option.help, option.option_strings
