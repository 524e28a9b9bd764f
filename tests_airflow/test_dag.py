"""The Airflow DAG, in a virtual environment with Apache Airflow (see .ci/run): it parses without
import errors and a DAG run loads every lead of every owner group into DuckDB."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package and emulator, as the DAG finds them

from linkedin_leads.emulator import LinkedInEmulator, generate  # noqa: E402


def dag_bag() -> Any:
    """The DAGs folder parsed as a scheduler does (Airflow 3's DagBag takes no include_examples)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models import DagBag
    try:
        return DagBag(dag_folder=str(ROOT / "dags"), include_examples=False)
    except TypeError:
        return DagBag(dag_folder=str(ROOT / "dags"))


def task_states(run: Any) -> Dict[str, str]:
    """Task id -> state of a DAG run, as plain strings (Airflow 3's states are enums)."""
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def set_owner_groups(monkeypatch: pytest.MonkeyPatch, groups: List[Dict[str, Any]]) -> None:
    """The owner groups as the Airflow variable: in the metadata database, and as
    ``AIRFLOW_VAR_...`` in the environment, which is where Airflow 3 reads variables when it
    parses a DAG file outside a task (its Task SDK has no database access)."""
    from airflow.models import Variable

    Variable.set("linkedin_leads_owner_groups", json.dumps(groups))
    monkeypatch.setenv("AIRFLOW_VAR_LINKEDIN_LEADS_OWNER_GROUPS", json.dumps(groups))


def point_at(monkeypatch: pytest.MonkeyPatch, emulator: Any, database: Path, **settings: str) -> None:
    """The source's settings and the DuckDB file as dlt reads them from the environment (in
    production: the ``dlt_secrets_toml`` variable); a bare access token unless ``settings`` set
    other credentials."""
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__BASE_URL", emulator.base_url)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(database))
    if not any(key.startswith("CREDENTIALS__") for key in settings):
        settings["CREDENTIALS__ACCESS_TOKEN"] = "test-access-token"
    for key, value in settings.items():
        monkeypatch.setenv(f"SOURCES__LINKEDIN_LEADS__{key}", value)


@pytest.fixture
def airflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "airflow"
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=600
    )
    return home


def test_dag_parses_and_loads_every_owner_group(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = generate(int(time.time() * 1000), accounts=3, organizations=1, leads=400)
    database = tmp_path / "airflow_leads.duckdb"
    with LinkedInEmulator(data) as emulator:
        point_at(monkeypatch, emulator, database)
        groups = [
            {"account_ids": data.accounts[:2]},
            {"account_ids": data.accounts[2:], "organization_ids": data.organizations},
        ]
        set_owner_groups(monkeypatch, groups)
        bag = dag_bag()
        assert bag.import_errors == {}
        dag = bag.get_dag("linkedin_leads_dag")
        assert dag is not None
        assert {t.task_id.split(".")[0] for t in dag.tasks} == {
            "linkedin_leads_group_0",
            "linkedin_leads_group_1",
            "linkedin_leads_group_0_check",
            "linkedin_leads_group_1_check",
            "linkedin_leads_group_0_preflight",
            "linkedin_leads_group_1_preflight",
        }
        assert task_states(dag.test()).get("linkedin_leads_group_0_check") == "success"
    with duckdb.connect(str(database), read_only=True) as db:
        ids = sorted(r[0] for r in db.execute("SELECT id FROM linkedin.lead_form_responses").fetchall())
    assert ids == sorted(lead.id for lead in emulator.visible_leads())


def test_a_run_stopped_by_the_daily_quota_loads_what_it_read_and_fails_its_check(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = generate(int(time.time() * 1000), accounts=2, organizations=0, leads=600)
    database = tmp_path / "airflow_quota.duckdb"
    # 600 leads of 2 accounts in pages of 50 need about 18 calls (per account: its 6 pages, the
    # closing empty page, a size probe), and the preflight check 2: a quota of 12 stops the run
    with LinkedInEmulator(data, daily_quota={"leadFormResponses": 12}) as emulator:
        point_at(monkeypatch, emulator, database, PAGE_SIZE="50")
        monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")
        set_owner_groups(monkeypatch, [{"account_ids": data.accounts}])
        dag = dag_bag().get_dag("linkedin_leads_dag")
        assert dag is not None
        states = task_states(dag.test())
        # the run task loaded what it read; the check after it fails, naming what is left
        assert states["linkedin_leads_check"] == "failed", states
        assert states["linkedin_leads_preflight"] == "success", states
        assert {s for t, s in states.items() if t.startswith("linkedin_leads.")} == {"success"}, states
        with duckdb.connect(str(database), read_only=True) as db:
            loaded = db.execute("SELECT count(*) FROM linkedin.lead_form_responses").fetchone()
        assert loaded is not None and 0 < loaded[0] < len(emulator.visible_leads())
        # the next day the next DAG run (parsed anew, as a scheduler does) continues and finishes
        emulator.new_day()
        emulator.daily_quota.clear()
        dag = dag_bag().get_dag("linkedin_leads_dag")
        assert dag is not None
        states = task_states(dag.test())
        assert set(states.values()) == {"success"}, states
    with duckdb.connect(str(database), read_only=True) as db:
        ids = sorted(r[0] for r in db.execute("SELECT id FROM linkedin.lead_form_responses").fetchall())
    assert ids == sorted(lead.id for lead in emulator.visible_leads())


def test_the_preflight_check_stops_a_group_whose_leads_are_refused_and_warns_of_expiry(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = generate(int(time.time() * 1000), accounts=2, organizations=0, leads=100)
    database = tmp_path / "airflow_preflight.duckdb"
    with LinkedInEmulator(data) as emulator:
        emulator.leads_refused = {f"urn:li:sponsoredAccount:{data.accounts[1]}"}
        emulator.refresh_token_expires_in = 10 * 86400
        point_at(
            monkeypatch,
            emulator,
            database,
            CREDENTIALS__CLIENT_ID="test-client",
            CREDENTIALS__CLIENT_SECRET="test-client-secret",
            CREDENTIALS__REFRESH_TOKEN="test-refresh-token",
            CREDENTIALS__TOKEN_URL=emulator.token_url,
            CREDENTIALS__INTROSPECTION_URL=emulator.token_url.replace("accessToken", "introspectToken"),
        )
        set_owner_groups(
            monkeypatch, [{"account_ids": data.accounts[:1]}, {"account_ids": data.accounts[1:]}]
        )
        dag = dag_bag().get_dag("linkedin_leads_dag")
        assert dag is not None
        with caplog.at_level("WARNING"):
            states = task_states(dag.test())
        # the refused group stops at its preflight, before any leads request of its run
        assert states["linkedin_leads_group_1_preflight"] == "failed", states
        run = [s for t, s in states.items() if t.startswith("linkedin_leads_group_1.")]
        assert run == ["upstream_failed"], states
        # the other group runs, and its preflight warned of the refresh token's expiry
        assert states["linkedin_leads_group_0_preflight"] == "success", states
        assert states["linkedin_leads_group_0_check"] == "success", states
        assert "expires in 10 days" in caplog.text
        leads_calls = [c for c in emulator.calls("leadFormResponses") if str(data.accounts[1]) in c.query]
        assert len(leads_calls) == 1  # the preflight's one small query, nothing more
    with duckdb.connect(str(database), read_only=True) as db:
        owners = db.execute("SELECT DISTINCT owner_id FROM linkedin.lead_form_responses").fetchall()
    assert [r[0] for r in owners] == [data.accounts[0]]
