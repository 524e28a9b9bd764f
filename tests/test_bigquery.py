"""BigQuery end to end, on a BigQuery-compatible server: bqemulator (PyPI), in this process.

dlt's own ``bigquery`` destination and Google's official client load through bqemulator's REST
API exactly as they would through Google's; only the endpoint (``BIGQUERY_EMULATOR_HOST``) and
the credentials (a bearer token that needs no network) differ. The full load, an incremental
run, then the type assertions the PostgreSQL test makes.
"""

import asyncio
import random
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import dlt
import pytest

from linkedin_leads.emulator import LeadForm, LinkedInEmulator
from linkedin_leads.emulator.data import DAY_MS, choice_question, form_versions
from linkedin_leads.tables.values import from_epoch_ms

from .conftest import NOW_MS, make_source, sql

PROJECT = "linkedin-leads-test"

try:
    from bqemulator.config import PersistenceMode, Settings
    from bqemulator.server import EmulatorServer
    from bqemulator.storage.engine import DuckDBEngine
    from google.oauth2.credentials import Credentials
except ImportError as missing:  # pragma: no cover - tests/requirements.txt installs them
    pytest.skip(
        f"BigQuery test skipped: {missing.name} is not installed (pip install -r tests/requirements.txt; "
        "bqemulator needs Python 3.11 or newer, and .ci/run runs this test on it)",
        allow_module_level=True,
    )


class Server:
    """bqemulator's asyncio server on a thread of its own (its ``bqemulator.testing`` helpers
    import testcontainers, which this project does not need; see pyproject's ``-p no:bqemulator``)."""

    def __init__(self, settings: "Settings") -> None:
        self.server = EmulatorServer(settings)
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, name="bqemulator", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as error:  # handed to start()
            self.error = error
            self.started.set()
            return
        self.started.set()
        self.loop.run_forever()

    def start(self) -> int:
        self.thread.start()
        if not self.started.wait(timeout=90) or self.error is not None:
            raise RuntimeError(f"bqemulator did not start: {self.error!r}")
        return int(self.server.rest_port)

    def stop(self) -> None:
        if self.error is None and self.started.is_set():
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bqemulator server on 127.0.0.1 (random port); yields its endpoint."""
    # bqemulator loads DuckDB's spatial extension at start, and DuckDB downloads it: nothing here
    # can (no network), and nothing here uses GEOGRAPHY, so the load is skipped
    monkeypatch.setattr(DuckDBEngine, "_load_spatial", lambda self: None)
    settings = Settings(
        persistence_mode=PersistenceMode.EPHEMERAL,  # type: ignore[arg-type, unused-ignore]  # bqemulator's own annotation
        rest_host="127.0.0.1",
        rest_port=0,
        grpc_host="127.0.0.1",
        grpc_port=0,
    )
    server = Server(settings)
    try:
        endpoint = f"http://127.0.0.1:{server.start()}"  # BIGQUERY_EMULATOR_HOST needs the scheme
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", endpoint)
        # bqemulator does not gunzip uploads: dlt's compressed load files would not load
        monkeypatch.setenv("NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION", "true")
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def bigquery_pipeline(bigquery: str, tmp_path: Any) -> Callable[[], dlt.Pipeline]:
    def factory() -> dlt.Pipeline:
        destination = dlt.destinations.bigquery(
            credentials=Credentials(token="local-test-token"),  # type: ignore[no-untyped-call, arg-type, unused-ignore]
            project_id=PROJECT,
            location="US",
        )
        return dlt.pipeline(
            pipeline_name="linkedin_leads_bigquery",
            pipelines_dir=str(tmp_path / "pipelines"),
            destination=destination,
            dataset_name="linkedin",
        )

    return factory


def test_full_and_incremental_load_into_bigquery(
    emulator: LinkedInEmulator, bigquery_pipeline: Callable[[], dlt.Pipeline]
) -> None:
    data = emulator.data
    # a German form, whose custom question names a column
    content = form_versions(8_200_000, 1)[0]
    content["questions"].append(choice_question(990_000_001, "Größe", "Größe des Teams?", ["1–10", "11+"]))
    data.add_form(
        LeadForm(
            8_200_000, "sponsoredAccount", data.accounts[0], "Formular", NOW_MS - 400 * DAY_MS, [content]
        )
    )
    rng = random.Random(5)
    emulator.add_leads([data.make_lead(8_200_000, NOW_MS - 3_600_000 * (i + 1), rng) for i in range(5)])
    pipeline = bigquery_pipeline()
    pipeline.run(make_source(emulator, lookback_hours=0))
    table = f"`{PROJECT}.linkedin.lead_form_responses`"
    truth = {lead.id: lead for lead in emulator.visible_leads()}
    loaded = sql(pipeline, f"SELECT id, submitted_at, test_lead, form_id, campaign_name FROM {table}")
    assert sorted(r[0] for r in loaded) == sorted(truth)
    for lead_id, submitted_at, test_lead, form_id, campaign_name in loaded:
        lead = truth[lead_id]
        assert submitted_at == from_epoch_ms(lead.submitted_at)  # TIMESTAMP, exact to the millisecond
        assert test_lead is lead.test_lead  # BOOL
        assert form_id == lead.form_id  # INT64, exact above 2**53
        assert (campaign_name is None) == (lead.lead_type != "SPONSORED")  # quotes, commas: as sent
    assert 6_955_637_458_260_688_897 in {r[3] for r in loaded}
    # the incremental run: new leads only, and each lead still once
    rng = random.Random(6)
    new: List[Any] = [
        data.make_lead(form, int(time.time() * 1000) - 1000 - i, rng) for i, form in enumerate(data.forms)
    ]
    emulator.add_leads(new)
    pipeline.run(make_source(emulator, lookback_hours=0))
    counts = sql(pipeline, f"SELECT count(*), count(DISTINCT id) FROM {table}")
    assert counts == [(len(truth) + len(new),) * 2]
    answers = sql(
        pipeline,
        f"SELECT count(*), count(DISTINCT CONCAT(lead_id, '/', CAST(question_id AS STRING)))"
        f" FROM `{PROJECT}.linkedin.lead_form_responses__answers`",
    )
    assert answers[0][0] == answers[0][1] > 0
    # column types as BigQuery reports them
    types: Dict[str, str] = {
        f"{t}.{c}": d
        for t, c, d in sql(
            pipeline,
            f"SELECT table_name, column_name, data_type FROM `{PROJECT}.linkedin.INFORMATION_SCHEMA.COLUMNS`",
        )
    }
    assert types["lead_form_responses.submitted_at"] == "TIMESTAMP"
    assert types["lead_form_responses.test_lead"] == "BOOL"
    assert types["lead_form_responses.form_id"] == "INT64"
    assert types["lead_form_responses__answers.option_labels"] == "STRING"  # JSON text
    assert types["lead_form_responses.grosse_des_teams"] == "STRING"  # folded from German
    german = sql(pipeline, f"SELECT grosse_des_teams FROM {table} WHERE form_id = 8200000")
    assert len(german) == sum(1 for lead in emulator.visible_leads() if lead.form_id == 8_200_000) == 6
    assert {g[0] for g in german} <= {"1–10", "11+", "1–10; 11+"}
    labels = sql(
        pipeline,
        f"SELECT option_labels FROM `{PROJECT}.linkedin.lead_form_responses__answers`"
        " WHERE option_labels IS NOT NULL LIMIT 1",
    )
    assert labels and labels[0][0].startswith("[")
    # the deletion check on BigQuery: its query of the window, its tombstones, its purge
    gone = sorted(
        (x for x in emulator.visible_leads() if NOW_MS - 20 * DAY_MS < x.submitted_at < NOW_MS - 2 * DAY_MS),
        key=lambda x: x.id,
    )[:2]
    assert len(gone) == 2
    for lead in gone:
        emulator.notifications.delete_lead(lead, notify=False)
    pipeline.run(make_source(emulator, lookback_hours=0, deletion_check_every_hours=0))
    left = {r[0] for r in sql(pipeline, f"SELECT id FROM {table}")}
    assert left == {x.id for x in emulator.visible_leads()} - {x.id for x in gone}
    recorded = sql(pipeline, f"SELECT id, found_by FROM `{PROJECT}.linkedin.lead_form_responses_deleted`")
    assert sorted(recorded) == sorted((x.id, "pull") for x in gone)
    orphans = sql(
        pipeline,
        f"SELECT count(*) FROM `{PROJECT}.linkedin.lead_form_responses__answers`"
        f" WHERE lead_id IN ('{gone[0].id}', '{gone[1].id}')",
    )
    assert orphans == [(0,)]
