"""Fixtures: a strict LinkedIn emulator on 127.0.0.1 and pipelines into DuckDB files."""

import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import dlt
import pytest

from linkedin_leads import LinkedInAccessTokenCredentials, LinkedInOAuthCredentials, linkedin_leads
from linkedin_leads.emulator import Dataset, Lead, LinkedInEmulator, generate

from .postgres_server import postgres_url  # noqa: F401  # a fixture, for every test module

NOW_MS = int(time.time() * 1000)

DAILY_QUOTA_BODY = {
    "status": 429,
    "serviceErrorCode": 101,
    "code": "TOO_MANY_REQUESTS",
    "message": (
        "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is reached."
    ),
}
"""LinkedIn's 429 for a used-up daily quota (as observed in a public client's fixtures)."""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own dlt data dir and working dir, and no stray configuration."""
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "CREDENTIALS__")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_data"))
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "0.2")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def dlt_log(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """Every message sent through dlt's logger (the source's and dlt's own), at any level.

    ``caplog`` cannot be relied on: dlt's logger stops propagating to the root logger once a
    pipeline initializes it, so what caplog sees depends on which test ran first.
    """
    from dlt.common import logger as dlt_logger

    lines: List[str] = []
    for level in ("debug", "info", "warning", "error"):
        original = getattr(dlt_logger, level)

        def record(
            msg: Any, *args: Any, _original: Any = original, _level: str = level, **kwargs: Any
        ) -> Any:
            lines.append(f"{_level.upper()} {msg}")
            return _original(msg, *args, **kwargs)

        monkeypatch.setattr(dlt_logger, level, record)
    return lines


@pytest.fixture
def dataset() -> Dataset:
    return generate(NOW_MS, accounts=2, organizations=1, forms_per_owner=2, leads=600)


@pytest.fixture
def emulator(dataset: Dataset) -> Iterator[LinkedInEmulator]:
    with LinkedInEmulator(dataset) as emu:
        yield emu


def access_token(token: str = "test-access-token") -> LinkedInAccessTokenCredentials:
    credentials = LinkedInAccessTokenCredentials()
    credentials.access_token = token
    return credentials


def oauth(emulator: LinkedInEmulator, refresh_token: str = "test-refresh-token") -> LinkedInOAuthCredentials:
    credentials = LinkedInOAuthCredentials()
    credentials.client_id = "test-client"
    credentials.client_secret = "test-client-secret"
    credentials.refresh_token = refresh_token
    credentials.token_url = emulator.token_url
    return credentials


def make_source(emulator: LinkedInEmulator, **kwargs: Any) -> Any:
    """The source over every owner of the emulator's data set; kwargs override."""
    args: Dict[str, Any] = dict(
        account_ids=emulator.data.accounts,
        organization_ids=emulator.data.organizations,
        credentials=access_token(),
        base_url=emulator.base_url,
    )
    args.update(kwargs)
    return linkedin_leads(**args)


@pytest.fixture
def make_pipeline(tmp_path: Path) -> Callable[..., dlt.Pipeline]:
    def factory(name: str = "linkedin_leads_test") -> dlt.Pipeline:
        return dlt.pipeline(
            pipeline_name=name,
            pipelines_dir=str(tmp_path / "pipelines"),
            destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
            dataset_name="linkedin",
        )

    return factory


def run_once(
    make_pipeline: Callable[..., dlt.Pipeline], emulator: LinkedInEmulator, **kwargs: Any
) -> dlt.Pipeline:
    """A new pipeline that has run the source (``make_source(emulator, **kwargs)``) once."""
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, **kwargs))
    return pipeline


def sql(pipeline: dlt.Pipeline, query: str, *args: Any) -> List[Tuple[Any, ...]]:
    """The rows of ``query`` in the pipeline's destination, as tuples (any destination)."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(query, *args) or []]


def lead_ids(pipeline: dlt.Pipeline) -> List[str]:
    return [row[0] for row in sql(pipeline, "SELECT id FROM lead_form_responses ORDER BY id")]


def loaded_rows(load_info: Any, table: str) -> int:
    """Rows of ``table`` in the packages of one run (0 if the table was not touched)."""
    counts = load_info.pipeline.last_trace.last_normalize_info.row_counts
    return int(counts.get(table, 0))


def newest_by_pair(leads: List[Lead]) -> Dict[Tuple[int, str], int]:
    """The newest ``submittedAt`` of each (owner id, lead type)."""
    newest: Dict[Tuple[int, str], int] = {}
    for lead in leads:
        key = (lead.owner_id, lead.lead_type)
        newest[key] = max(newest.get(key, lead.submitted_at), lead.submitted_at)
    return newest


def within_lookback(leads: List[Lead], newest: Dict[Tuple[int, str], int], lookback_ms: int) -> List[Lead]:
    """The leads a run re-reads: from their pair's newest lead minus the lookback, and one
    millisecond before that (the query starts 1 ms early: LinkedIn's range start may be exclusive)."""
    return [x for x in leads if x.submitted_at >= newest[(x.owner_id, x.lead_type)] - lookback_ms - 1]


def every_lead_once(pipeline: dlt.Pipeline, emulator: LinkedInEmulator) -> None:
    """The destination holds every lead the emulator has, and each answer, exactly once."""
    ids = lead_ids(pipeline)
    assert ids == sorted(lead.id for lead in emulator.visible_leads())
    answers = sql(
        pipeline, "SELECT count(*), count(DISTINCT (lead_id, question_id)) FROM lead_form_responses__answers"
    )
    assert (
        answers[0][0]
        == answers[0][1]
        == sum(len(lead.entity["formResponse"]["answers"]) for lead in emulator.visible_leads())
    )
