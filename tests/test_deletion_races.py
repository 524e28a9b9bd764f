"""Deletions and the two writers: the pull's check, the receiver's notifications, and their timing.

The pull runs as ``linkedin-leads run`` runs it (``commands.run.load``: the DuckDB file held only
while the pull touches it); the receiver runs in this process, as ``serve`` runs it, with its own
pipeline, on the same DuckDB file.
"""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import dlt
import pytest

from linkedin_leads.commands.run import lead_metrics, load
from linkedin_leads.emulator import Lead, LinkedInEmulator
from linkedin_leads.notifications.journal import Entry, Journal
from linkedin_leads.notifications.source import lead_notifications
from linkedin_leads.reading import deletion_check, resources
from linkedin_leads.settings import RECEIVER_SUFFIX

from .conftest import NOW_MS, access_token, make_source, sql
from .test_deletions import (
    DAY_MS,
    aged,
    assert_exactly,
    deleted_unnotified,
    deletion_data,
    spread,
    tombstoned,
)
from .test_notifications import free_port, pipeline_at, start_service, subscribe_all, wait_loaded
from .test_writers import pushing, reader, script_env, start_receiver

ROOT = Path(__file__).resolve().parent.parent

TABLES = (
    ("lead_form_responses", "id"),
    ("lead_form_responses__answers", "lead_id"),
    ("lead_form_responses__consents", "lead_id"),
)


@pytest.fixture
def emulator() -> Any:
    with LinkedInEmulator(deletion_data(leads=900), allow_http_webhooks=True) as emulator:
        yield emulator


def rows_of(pipeline: dlt.Pipeline, lead_id: str) -> Dict[str, int]:
    return {t: sql(pipeline, f"SELECT count(*) FROM {t} WHERE {c} = %s", lead_id)[0][0] for t, c in TABLES}


def replayed(emulator: LinkedInEmulator, leads: List[Lead], action: str) -> List[Entry]:
    """Journal entries of notifications about ``leads``, as LinkedIn sent them (or sends again)."""
    entries = []
    for lead in leads:
        body = {
            "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead.id}",
            "owner": {lead.owner_kind: f"urn:li:{lead.owner_kind}:{lead.owner_id}"},
            "leadType": lead.lead_type,
            "leadAction": action,
            "occurredAt": emulator.now_ms(),
        }
        entries.append(
            Entry(
                f"{lead.id}-{action}",
                lead.id,
                action,
                emulator.now_ms(),
                json.dumps(body).encode(),
                time.time(),
            )
        )
    return entries


def receive(tmp_path: Path, emulator: LinkedInEmulator, entries: List[Entry]) -> None:
    """The receiver's pipeline loads these notifications (its own name, its own folder)."""
    receiver = pipeline_at(tmp_path, "receiver", "linkedin_leads" + RECEIVER_SUFFIX)
    receiver.run(lead_notifications(entries=entries, credentials=access_token(), base_url=emulator.base_url))


def pulled_then_deleted(
    emulator: LinkedInEmulator, tmp_path: Path, count: int
) -> Tuple[dlt.Pipeline, List[Lead]]:
    """A pull's first run, then ``count`` leads of 2 to 20 days ago deleted on LinkedIn, unnotified."""
    pipeline = pipeline_at(tmp_path, "pull")
    load(pipeline, make_source(emulator))
    return pipeline, deleted_unnotified(emulator, count)


def test_a_deleted_notification_between_the_pulls_extract_and_load_is_not_undone(
    emulator: LinkedInEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dlt_log: List[str]
) -> None:
    pipeline = pipeline_at(tmp_path, "pull")
    load(pipeline, make_source(emulator))
    service = start_service(emulator, tmp_path)
    try:
        subscribe_all(emulator, service.url)
        # the newest lead: the next run reads it again (its lookback)
        gone = max(emulator.visible_leads(), key=lambda x: x.submitted_at)
        normalize = pipeline.normalize

        def deleted_meanwhile(*args: Any, **kwargs: Any) -> Any:
            assert emulator.notifications.delete_lead(gone) == [200]
            wait_loaded(tmp_path / "journal.sqlite")  # the receiver loaded its tombstone
            return normalize(*args, **kwargs)

        monkeypatch.setattr(pipeline, "normalize", deleted_meanwhile)
        load(pipeline, make_source(emulator))
    finally:
        service.stop()
    assert lead_metrics(pipeline)["leads_read"]  # the run read leads, the deleted one among them
    assert rows_of(pipeline, gone.id) == {t: 0 for t, _ in TABLES}
    assert "Removed 1 leads a load brought back" in "\n".join(dlt_log)
    assert_exactly(pipeline, emulator, {gone.id})


def test_a_lead_the_receiver_loads_during_the_check_is_kept(
    emulator: LinkedInEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = pipeline_at(tmp_path, "pull")
    load(pipeline, make_source(emulator))
    service = start_service(emulator, tmp_path)
    rng = random.Random(3)
    forms = sorted(emulator.data.forms)
    late: List[Lead] = []

    def arrives(days_ago: float) -> None:
        """A lead submitted ``days_ago`` that LinkedIn makes visible now; the receiver loads it."""
        lead = emulator.data.make_lead(forms[len(late) % len(forms)], NOW_MS - int(days_ago * DAY_MS), rng)
        emulator.add_leads([lead])
        late.append(lead)
        assert emulator.notifications.notify(lead) == [200]
        wait_loaded(tmp_path / "journal.sqlite")

    check, listing = deletion_check.check_deletions, deletion_check.list_window

    def check_with_arrival(*args: Any, **kwargs: Any) -> Any:
        arrives(10)  # loaded as the check starts: in its view of the destination
        return check(*args, **kwargs)

    def lagging_listing(*args: Any, **kwargs: Any) -> Dict[str, int]:
        if len(late) == 1:
            arrives(12)  # loaded while the check lists LinkedIn
        listed = listing(*args, **kwargs)
        return {i: t for i, t in listed.items() if i not in {x.id for x in late}}  # LinkedIn's listing lags

    try:
        subscribe_all(emulator, service.url)
        monkeypatch.setattr(resources, "check_deletions", check_with_arrival)
        monkeypatch.setattr(deletion_check, "list_window", lagging_listing)
        load(pipeline, make_source(emulator, deletion_check_every_hours=0))
    finally:
        service.stop()
    assert len(late) == 2
    assert lead_metrics(pipeline)["deletions"]["found"] == 0  # GET by id answered 200: kept
    assert_exactly(pipeline, emulator, set())


def test_a_revoked_tombstone_brings_its_lead_back_and_linkedins_word_is_never_revoked(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    pipeline, by_pull = pulled_then_deleted(emulator, tmp_path, 2)
    notified = spread(aged(emulator, 3, 15), 4, per_pair=1)[-1:]
    emulator.notifications.delete_lead(notified[0], notify=False)
    receive(tmp_path, emulator, replayed(emulator, notified, "DELETED"))  # LinkedIn's own word
    load(pipeline, make_source(emulator, deletion_check_every_hours=0))
    assert tombstoned(pipeline) == {
        by_pull[0].id: "pull",
        by_pull[1].id: "pull",
        notified[0].id: "notification",
    }
    assert_exactly(pipeline, emulator, {x.id for x in by_pull + notified})

    # LinkedIn lists them again: the deletion was not one (restored), or LinkedIn keeps listing it
    emulator.notifications.deleted.discard(by_pull[0].id)
    emulator.notifications.deleted_still_listed = True
    emulator.forget_selections()
    load(pipeline, make_source(emulator, deletion_check_every_hours=0))

    assert lead_metrics(pipeline)["deletions"]["revoked"] == 1
    assert tombstoned(pipeline) == {by_pull[1].id: "pull", notified[0].id: "notification"}
    assert_exactly(pipeline, emulator, {by_pull[1].id, notified[0].id})  # back, with its answers


def test_deleted_leads_stay_deleted_after_a_full_pull_and_replayed_notifications(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    pipeline, gone = pulled_then_deleted(emulator, tmp_path, 3)
    load(pipeline, make_source(emulator, deletion_check_every_hours=0))
    absent: Set[str] = {x.id for x in gone}
    assert set(tombstoned(pipeline)) == absent

    fresh = pipeline_at(tmp_path, "fresh", "linkedin_leads_full_pull")  # no progress: the whole window
    load(fresh, make_source(emulator, lookback_hours=0, deletion_check_days=0))
    receive(tmp_path, emulator, replayed(emulator, gone, "CREATED"))  # old notifications again
    load(pipeline, make_source(emulator, lookback_hours=720, deletion_check_every_hours=0))
    assert_exactly(pipeline, emulator, absent)
    assert set(tombstoned(pipeline)) == absent


def test_pushed_leads_land_while_the_pull_reads_linkedin(tmp_path: Path) -> None:
    """The pipeline script and the receiver, two processes on one DuckDB file: the receiver's
    batches are marked loaded (its journal's ``done_at``) while the pull's extract runs."""
    data = deletion_data(leads=3000)
    with LinkedInEmulator(data, allow_http_webhooks=True, latency=0.15) as emulator:
        port = free_port()
        receiver = start_receiver(emulator, tmp_path, port)
        env = {**script_env(emulator), "SOURCES__LINKEDIN_LEADS__PAGE_SIZE": "100"}
        env["SOURCES__LINKEDIN_LEADS__CONCURRENCY"] = "2"
        try:
            subscribe_all(emulator, f"http://127.0.0.1:{port}/linkedin/lead-notifications")
            with pushing(emulator, every=0.3, seed=8) as pushed:
                pull = subprocess.run(
                    [sys.executable, str(ROOT / "linkedin_leads_pipeline.py")],
                    env=env,
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
            wait_loaded(tmp_path / "journal.sqlite")
        finally:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(timeout=60)
    assert pull.returncode == 0, pull.stderr[-3000:]
    assert receiver.returncode == 0, (tmp_path / "receiver.log").read_text()[-3000:]
    trace = dlt.attach("linkedin_leads").last_trace
    assert trace is not None
    steps = {step.step: step for step in trace.steps}
    began, ended = steps["extract"].started_at.timestamp(), steps["extract"].finished_at.timestamp()
    journal = Journal(str(tmp_path / "journal.sqlite"))
    try:
        done = [row[0] for row in journal._db.execute("SELECT done_at FROM notifications").fetchall()]
    finally:
        journal.close()
    assert ended - began > 3, "the pull's extract is long enough to land batches within it"
    landed = [t for t in done if began < t < ended]
    assert len(landed) >= 3, f"batches landed at {sorted(done)}, the extract ran {began}..{ended}"
    pipeline = reader(tmp_path)
    ids = [r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses")]
    assert len(ids) == len(set(ids))  # every lead once: those the pull read, those pushed
    assert set(ids) == {x.id for x in emulator.visible_leads()} and {x.id for x in pushed.leads} <= set(ids)
