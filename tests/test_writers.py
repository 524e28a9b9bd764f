"""One state per writer: the pull and the receiver beside each other on one dataset.

Each writes its own dlt state (``linkedin_leads`` and ``linkedin_leads_receiver``); what they
agree on (question -> column names, deleted leads) is read from the destination (``shared``);
on DuckDB they wait for each other's hold on the file. Every assertion is on rows read by SQL.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import dlt
import pytest

from linkedin_leads.emulator import Dataset, Lead, LeadForm, LinkedInEmulator
from linkedin_leads.emulator.data import DAY_MS, form_versions
from linkedin_leads.settings import QUESTION_COLUMNS_TABLE

from .conftest import NOW_MS, every_lead_once, make_source, sql
from .test_notifications import (
    ROOT,
    SECRET,
    free_port,
    pipeline_at,
    start_service,
    subscribe_all,
    wait_loaded,
)

ACCOUNT = 510000001
OLD_FORM = 8100001
FORM = 8100002
TEAM = 700_000_000 + FORM
"""The custom question of ``FORM``: "Team size?" in version 1, "How big is your team?" after."""
LOOKBACK_MS = 24 * 3600 * 1000


def dataset() -> Dataset:
    """An ad account with one form and leads up to three days ago."""
    data = Dataset()
    data.add_form(
        LeadForm(
            OLD_FORM, "sponsoredAccount", ACCOUNT, "Old", NOW_MS - 400 * DAY_MS, form_versions(OLD_FORM, 1)
        )
    )
    rng = random.Random(4)
    data.leads = [data.make_lead(OLD_FORM, NOW_MS - 3 * DAY_MS - i * 60_000, rng) for i in range(20)]
    return data


def new_lead(emulator: LinkedInEmulator, version: int, seed: int) -> Lead:
    """A lead on ``FORM`` submitted now, made visible on LinkedIn."""
    lead = emulator.data.make_lead(FORM, int(time.time() * 1000) - 1000, random.Random(seed), version=version)
    emulator.add_leads([lead])
    return lead


def pull(emulator: LinkedInEmulator, tmp_path: Path, folder: str) -> dlt.Pipeline:
    """The pull, run as the DAG runs it when ``folder`` is new: state restored from the destination."""
    pipeline = pipeline_at(tmp_path, folder)
    pipeline.run(make_source(emulator, account_ids=[ACCOUNT], organization_ids=None))
    return pipeline


def team_columns(pipeline: dlt.Pipeline) -> List[Any]:
    return sql(
        pipeline, "SELECT DISTINCT column_name FROM lead_form_responses__answers WHERE question_id = %s", TEAM
    )


def columns_of(pipeline: dlt.Pipeline) -> List[str]:
    return [
        r[0]
        for r in sql(
            pipeline,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'lead_form_responses'",
        )
    ]


def test_a_question_the_receiver_names_first_keeps_its_column_in_the_pull(tmp_path: Path) -> None:
    data = dataset()
    with LinkedInEmulator(data, allow_http_webhooks=True) as emulator:
        first = pull(emulator, tmp_path, "pull")
        newest = max(lead.submitted_at for lead in data.leads)
        # a new form, first met by the receiver: its version 1, then version 3 (relabelled, and a
        # new question), each before any pull lists it
        versions = form_versions(FORM, 3)
        data.add_form(LeadForm(FORM, "sponsoredAccount", ACCOUNT, "New", NOW_MS - DAY_MS, versions[:1]))
        service = start_service(emulator, tmp_path)
        try:
            subscribe_all(emulator, service.url)
            assert emulator.notifications.notify(new_lead(emulator, 1, 1)) == [200]
            wait_loaded(tmp_path / "journal.sqlite")
            data.forms[FORM].versions = versions
            assert emulator.notifications.notify(new_lead(emulator, 3, 2)) == [200]
            wait_loaded(tmp_path / "journal.sqlite")
        finally:
            service.stop()
        assert team_columns(first) == [("team_size",)]
        named = dict(sql(first, f"SELECT column_name, named_by FROM {QUESTION_COLUMNS_TABLE}"))
        assert named["team_size"] == named["interests"] == "linkedin_leads_receiver"
        # a pull on a fresh worker: its own progress, not the receiver's state
        emulator.reset_log()
        fresh = pull(emulator, tmp_path, "fresh")
        every_lead_once(fresh, emulator)
        queries = [r for r in emulator.calls("leadFormResponses") if "submittedAtTimeRange" in r.params]
        assert queries
        for record in queries:  # from the pull's own newest lead minus the lookback, never earlier
            assert int(record.params["submittedAtTimeRange"]["start"]) >= newest - LOOKBACK_MS - 1, (
                record.query
            )
        # the pull listed version 3 ("How big is your team?") and still used the receiver's name
        assert team_columns(fresh) == [("team_size",)]
        assert "how_big_is_your_team" not in columns_of(fresh)
        assert sql(
            fresh,
            "SELECT count(team_size), count(interests) FROM lead_form_responses WHERE form_id = %s",
            FORM,
        ) == [(2, 1)]
        state = fresh.state["sources"]["linkedin_leads"]
        assert "lead_form_responses" in fresh.state["sources"]["linkedin_leads"]["resources"]
        assert state["question_columns"][str(TEAM)] == "team_size"


def test_a_question_the_pull_names_first_keeps_its_column_in_the_receiver(tmp_path: Path) -> None:
    data = dataset()
    versions = form_versions(FORM, 2)
    data.add_form(LeadForm(FORM, "sponsoredAccount", ACCOUNT, "New", NOW_MS - DAY_MS, versions[:1]))
    with LinkedInEmulator(data, allow_http_webhooks=True) as emulator:
        pipeline = pull(emulator, tmp_path, "pull")  # lists version 1: "Team size?"
        data.forms[FORM].versions = versions  # relabelled: "How big is your team?"
        service = start_service(emulator, tmp_path)
        try:
            subscribe_all(emulator, service.url)
            lead = new_lead(emulator, 2, 3)
            assert emulator.notifications.notify(lead) == [200]
            wait_loaded(tmp_path / "journal.sqlite")
        finally:
            service.stop()
        rows = sql(
            pipeline,
            "SELECT column_name, answer FROM lead_form_responses__answers"
            " WHERE lead_id = %s AND question_id = %s",
            lead.id,
            TEAM,
        )
        assert len(rows) == 1 and rows[0][0] == "team_size" and rows[0][1] in ("Small", "Medium", "Large")
        assert "how_big_is_your_team" not in columns_of(pipeline)
        # the receiver kept a state of its own (no progress in it), and the pull's has its progress
        receiver = pipeline_at(tmp_path, "receiver", "linkedin_leads_receiver").state["sources"][
            "linkedin_leads"
        ]
        assert receiver["question_columns"][str(TEAM)] == "team_size"
        assert "progress" not in (receiver.get("resources") or {}).get("lead_form_responses", {})
        assert pipeline.state["sources"]["linkedin_leads"]["resources"]["lead_form_responses"]["progress"]


def script_env(emulator: LinkedInEmulator) -> Dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN": "test-access-token",
        "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
        "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS": ",".join(map(str, emulator.data.accounts)),
        "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": ",".join(map(str, emulator.data.organizations)),
        "SOURCES__LINKEDIN_LEADS__NOTIFICATIONS__CLIENT_SECRET": SECRET,
        "RUNTIME__LOG_LEVEL": "WARNING",
    }


def start_receiver(
    emulator: LinkedInEmulator, tmp_path: Path, port: int, hold: Optional[bool] = None, pull_name: str = ""
) -> "subprocess.Popen[str]":
    """``python -m linkedin_leads.notifications serve`` in ``tmp_path`` (on DuckDB: the pull's
    file there). With ``hold`` set, through ``receiver_child`` (which, if ``hold``, stops its
    first load after one table and prints ``COPIED``, to be killed there)."""
    command = (
        ["linkedin_leads.notifications"]
        if hold is None
        else ["tests.receiver_child", "hold" if hold else "run"]
    )
    options = ["--pipeline-name", pull_name] if pull_name else []
    journal = ["--journal", str(tmp_path / "journal.sqlite"), "--batch-seconds", "0.3"]
    process = subprocess.Popen(
        [sys.executable, "-m", *command, "serve", "--port", str(port), *options, *journal],
        env=script_env(emulator),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL if hold is None else subprocess.PIPE,
        stderr=open(tmp_path / "receiver.log", "a"),
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _listening(port):
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "receiver.log").read_text()
        time.sleep(0.1)
    return process


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_script(emulator: LinkedInEmulator, tmp_path: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(ROOT / "linkedin_leads_pipeline.py")],
        env=script_env(emulator),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def busy_emulator() -> Any:
    from linkedin_leads.emulator import generate

    data = generate(NOW_MS, accounts=2, organizations=1, forms_per_owner=2, leads=400)
    with LinkedInEmulator(data, allow_http_webhooks=True) as emulator:
        yield emulator


def test_eight_pulls_beside_a_loading_receiver_on_one_duckdb_file(
    busy_emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    emulator = busy_emulator
    port = free_port()
    receiver = start_receiver(emulator, tmp_path, port)
    try:
        subscribe_all(emulator, f"http://127.0.0.1:{port}/linkedin/lead-notifications")
        with pushing(emulator, every=0.05, seed=90210) as pushed:
            results = [run_script(emulator, tmp_path) for _ in range(8)]
        wait_loaded(tmp_path / "journal.sqlite")
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=60)
    assert receiver.returncode == 0  # stopped by SIGTERM: its batch finished, then exit 0
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Could not set lock" not in result.stderr
    log = (tmp_path / "receiver.log").read_text()
    assert "Loading lead notifications failed" not in log and "Could not set lock" not in log, log[-3000:]
    assert len(pushed.leads) > 20
    assert max(pushed.answers) < 3.0  # journaling never waits for the destination the pulls hold
    pipeline = reader(tmp_path)
    # every lead once: the notified ones, and those only the pulls read
    ids = [r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses")]
    assert len(ids) == len(set(ids)) and set(ids) == {lead.id for lead in emulator.visible_leads()}
    answer_rows = sql(
        pipeline, "SELECT count(*), count(DISTINCT (lead_id, question_id)) FROM lead_form_responses__answers"
    )
    assert answer_rows[0][0] == answer_rows[0][1]


@dataclass
class Pushed:
    """The leads ``pushing`` made and notified, and how long LinkedIn waited for each answer."""

    leads: List[Lead] = field(default_factory=list)
    answers: List[float] = field(default_factory=list)
    """Seconds LinkedIn waited for each answer of the receiver."""


@contextmanager
def pushing(emulator: LinkedInEmulator, every: float, seed: int) -> Iterator[Pushed]:
    """New leads arriving all the while the block runs, each notified to the subscribed receiver
    (one every ``every`` seconds); stopped and joined when the block ends."""
    pushed = Pushed()
    stop = threading.Event()

    def push() -> None:
        rng = random.Random(seed)
        forms = sorted(emulator.data.forms)
        while not stop.is_set():
            lead = emulator.data.make_lead(
                forms[len(pushed.leads) % len(forms)], int(time.time() * 1000) - 500, rng
            )
            emulator.add_leads([lead])
            asked = time.monotonic()
            assert emulator.notifications.notify(lead) == [200]
            pushed.answers.append(time.monotonic() - asked)
            pushed.leads.append(lead)
            stop.wait(every)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    try:
        yield pushed
    finally:
        stop.set()
        thread.join()


def reader(tmp_path: Path) -> dlt.Pipeline:
    """A pipeline that only reads the pull's DuckDB file in ``tmp_path`` (dataset ``linkedin``)."""
    return dlt.pipeline(
        pipeline_name="check",
        pipelines_dir=str(tmp_path / "check"),
        destination=dlt.destinations.duckdb(str(tmp_path / "linkedin_leads.duckdb")),
        dataset_name="linkedin",
    )


def notify_new(emulator: LinkedInEmulator, count: int, seed: int) -> List[Lead]:
    rng = random.Random(seed)
    forms = sorted(emulator.data.forms)
    leads = [
        emulator.data.make_lead(forms[i % len(forms)], int(time.time() * 1000) - 2000 + i, rng)
        for i in range(count)
    ]
    emulator.add_leads(leads)
    for lead in leads:
        assert emulator.notifications.notify(lead) == [200]
    return leads


def test_either_writer_killed_mid_load_then_both_go_on(
    busy_emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    from .test_crash import loaded, start, wait_for_line

    emulator = busy_emulator
    port = free_port()
    url = f"http://127.0.0.1:{port}/linkedin/lead-notifications"
    # 1. the pull killed in the middle of its load, while the receiver waits for the file
    first = start(emulator, tmp_path, "run")
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    receiver = start_receiver(emulator, tmp_path, port, False, "crash")
    try:
        subscribe_all(emulator, url)
        emulator.add_generated(60, seed=1005, age_ms=60_000)
        pull = start(emulator, tmp_path, "steps-hold-load")
        wait_for_line(pull, "COPIED")
        notify_new(emulator, 15, 1006)  # journaled at once; their batch waits for the file
        time.sleep(1.0)
        pull.send_signal(signal.SIGKILL)
        assert pull.wait(timeout=60) == -signal.SIGKILL
        wait_loaded(tmp_path / "journal.sqlite")  # the receiver goes on once the file is free
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=60)
    # 2. the receiver killed in the middle of its load; then the pull, then the receiver again
    receiver = start_receiver(emulator, tmp_path, port, True, "crash")
    try:
        notified = notify_new(emulator, 15, 1007)
        wait_for_line(receiver, "COPIED")
        receiver.send_signal(signal.SIGKILL)
        assert receiver.wait(timeout=60) == -signal.SIGKILL
    finally:
        if receiver.poll() is None:
            receiver.kill()
    recovery = start(emulator, tmp_path, "run")
    assert recovery.wait(timeout=120) == 0, recovery.stderr.read() if recovery.stderr else ""
    receiver = start_receiver(emulator, tmp_path, port, False, "crash")
    try:
        wait_loaded(tmp_path / "journal.sqlite")
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=60)
    counts = loaded(tmp_path)
    assert sorted(counts) == sorted(lead.id for lead in emulator.visible_leads())
    assert set(counts.values()) == {1}
    assert {lead.id for lead in notified} <= set(counts)


def test_a_receiver_from_the_shared_state_layout_moves_to_its_own(tmp_path: Path) -> None:
    """Before one state per writer, the receiver wrote the pull's state. Upgraded, it keeps its
    pending notifications, the question names and the form versions it knew there."""
    from linkedin_leads.notifications.service import Service
    from linkedin_leads.notifications.source import lead_notifications
    from linkedin_leads.reading.shared import inherited_state

    from .conftest import access_token

    data = dataset()
    versions = form_versions(FORM, 2)
    data.add_form(LeadForm(FORM, "sponsoredAccount", ACCOUNT, "New", NOW_MS - DAY_MS, versions[:1]))
    with LinkedInEmulator(data, allow_http_webhooks=True) as emulator:
        pipeline = pull(emulator, tmp_path, "pull")  # names `team_size`, keeps version 1
        with pipeline.sql_client() as client:  # what a deployment of then had: names in the state only
            client.execute_sql(f"DELETE FROM {client.make_qualified_table_name(QUESTION_COLUMNS_TABLE)}")

        def service(name: str, batch_seconds: float, inherited: Any = None) -> Service:
            return Service(
                SECRET,
                str(tmp_path / "journal.sqlite"),
                lambda: pipeline_at(tmp_path, "receiver", name),
                lambda entries: lead_notifications(
                    entries=entries,
                    credentials=access_token(),
                    base_url=emulator.base_url,
                    inherited=inherited,
                ),
                port=0,
                batch_seconds=batch_seconds,
            ).start()

        old = service("linkedin_leads", 3600)  # the old layout: the pull's name; acknowledges only
        try:
            subscribe_all(emulator, old.url)
            data.forms[FORM].versions = versions  # relabelled in version 2
            leads = [new_lead(emulator, 1, 11), new_lead(emulator, 1, 12), new_lead(emulator, 2, 13)]
            for lead in leads:
                assert emulator.notifications.notify(lead) == [200]
        finally:
            old.stop()
        emulator.reset_log()
        receiver = pipeline_at(tmp_path, "receiver", "linkedin_leads_receiver")
        inherited = inherited_state(receiver, "linkedin_leads")
        assert inherited["question_columns"][str(TEAM)] == "team_size"
        new = service("linkedin_leads_receiver", 0.3, inherited)
        try:
            wait_loaded(tmp_path / "journal.sqlite")  # the notifications pending at the upgrade
        finally:
            new.stop()
        ids = {r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses WHERE form_id = %s", FORM)}
        assert {lead.id for lead in leads} <= ids
        assert team_columns(pipeline) == [("team_size",)]  # version 2's leads too
        assert "how_big_is_your_team" not in columns_of(pipeline)
        lookups = [r.params.get("versionedLeadGenFormUrn") for r in emulator.calls("leadFormResponses")]
        assert f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{FORM},1)" not in lookups  # inherited
        named = sql(
            pipeline,
            f"SELECT column_name, named_by FROM {QUESTION_COLUMNS_TABLE} WHERE question_id = %s",
            TEAM,
        )
        assert named == [("team_size", "linkedin_leads_receiver")]


def test_after_the_bound_the_error_names_the_holder_and_the_setting(
    busy_emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    from linkedin_leads.reading.shared import destination_lock

    holder = dlt.pipeline(
        pipeline_name="holder",
        pipelines_dir=str(tmp_path / "holder"),
        destination=dlt.destinations.duckdb(str(tmp_path / "linkedin_leads.duckdb")),
        dataset_name="linkedin",
    )
    with destination_lock(holder, "the lead-notification receiver"):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(ROOT / "linkedin_leads_pipeline.py")],
            env={**script_env(busy_emulator), "SOURCES__LINKEDIN_LEADS__DESTINATION_LOCK_TIMEOUT": "2"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        waited = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert f"is held by the lead-notification receiver (PID {os.getpid()})" in result.stderr
    assert "`destination_lock_timeout`" in result.stderr and "Traceback" not in result.stderr
    assert waited >= 2
    assert busy_emulator.requests == []  # it waited before reading anything
