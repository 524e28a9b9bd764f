"""A run killed with SIGKILL at any step: the next run ends with every lead exactly once."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import duckdb
import pytest

from linkedin_leads.emulator import Fault, LinkedInEmulator

CHILD = Path(__file__).resolve().parent / "crash_child.py"
ROOT = Path(__file__).resolve().parent.parent


def start(emulator: LinkedInEmulator, tmp_path: Path, mode: str) -> "subprocess.Popen[str]":
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env["PYTHONPATH"] = str(ROOT)
    env["RUNTIME__LOG_LEVEL"] = "ERROR"
    env["RUNTIME__REQUEST_BACKOFF_FACTOR"] = "0"
    return subprocess.Popen(
        [
            sys.executable,
            str(CHILD),
            emulator.base_url,
            str(tmp_path / "crash.duckdb"),
            str(tmp_path / "pipelines"),
            mode,
            ",".join(map(str, emulator.data.accounts)),
            ",".join(map(str, emulator.data.organizations)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )


def wait_for_line(process: "subprocess.Popen[str]", line: str) -> None:
    assert process.stdout is not None
    for got in process.stdout:
        if got.strip() == line:
            return
    raise AssertionError(f"the child ended before {line}: {process.stderr.read() if process.stderr else ''}")


def loaded(tmp_path: Path) -> Dict[str, int]:
    with duckdb.connect(str(tmp_path / "crash.duckdb"), read_only=True) as db:
        ids = db.execute("SELECT id, count(*) FROM linkedin.lead_form_responses GROUP BY 1").fetchall()
        answers = db.execute(
            "SELECT count(*), count(DISTINCT (lead_id, question_id))"
            " FROM linkedin.lead_form_responses__answers"
        ).fetchone()
    assert answers is not None and answers[0] == answers[1], "an answer is there twice"
    return dict(ids)


def kill_mid_extract(process: "subprocess.Popen[str]", emulator: LinkedInEmulator) -> None:
    # the 4th page of leads hangs; the child is killed while it waits, halfway through extract
    deadline = time.time() + 60
    while len(emulator.calls("leadFormResponses")) < 4:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)


POINTS = ["extract", "normalize", "load-start", "load-middle"]


@pytest.mark.parametrize("point", POINTS)
def test_killed_run_recovers_with_every_lead_once(
    emulator: LinkedInEmulator, tmp_path: Path, point: str
) -> None:
    # a first complete run, then new leads, then a run killed at `point`
    first = start(emulator, tmp_path, "run")
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    rng = random.Random(9)
    forms = list(emulator.data.forms)
    now = int(time.time() * 1000)
    emulator.add_leads(
        [emulator.data.make_lead(forms[i % len(forms)], now - 5000 + i, rng) for i in range(120)]
    )
    emulator.reset_log()
    if point == "extract":
        emulator.inject(Fault(path="leadFormResponses", delay=30, times=1, after=3))
    process = start(emulator, tmp_path, "steps-hold-load" if point == "load-middle" else "steps")
    if point == "extract":
        kill_mid_extract(process, emulator)
    elif point == "normalize":
        wait_for_line(process, "EXTRACTED")
        process.send_signal(signal.SIGKILL)
    elif point == "load-start":
        wait_for_line(process, "NORMALIZED")
        process.send_signal(signal.SIGKILL)
    else:  # one table copied into DuckDB, the others not yet
        wait_for_line(process, "COPIED")
        process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    emulator.faults.clear()
    # the next run: pending packages first, then the window again
    recovery = start(emulator, tmp_path, "run")
    assert recovery.wait(timeout=120) == 0, recovery.stderr.read() if recovery.stderr else ""
    counts = loaded(tmp_path)
    expected: List[str] = sorted(lead.id for lead in emulator.visible_leads())
    assert sorted(counts) == expected
    assert set(counts.values()) == {1}
