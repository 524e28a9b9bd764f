"""`dlt init linkedin_leads <destination> --location <this repository>` gives a working project."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import duckdb

from linkedin_leads.emulator import LinkedInEmulator

ROOT = Path(__file__).resolve().parent.parent


def dlt_init(folder: Path, destination: str) -> None:
    folder.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlt",
            "init",
            "linkedin_leads",
            destination,
            "--location",
            str(ROOT),
            "--non-interactive",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dlt_init_project_runs_against_linkedin(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    project = tmp_path / "project"
    dlt_init(project, "duckdb")
    assert (project / "linkedin_leads" / "__init__.py").is_file()
    assert (project / "linkedin_leads" / "emulator" / "server.py").is_file()  # --demo works there too
    requirements = (project / "requirements.txt").read_text()
    assert "dlt" in requirements and "pyarrow" in requirements
    # the receiver's packages come along, and its command runs there
    assert "uvicorn" in requirements and "starlette" in requirements
    receiver = subprocess.run(
        [sys.executable, "-m", "linkedin_leads.notifications", "--help"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert receiver.returncode == 0 and "serve" in receiver.stdout, receiver.stderr
    secrets = (project / ".dlt" / "secrets.toml").read_text()
    for key in ("[sources.linkedin_leads.credentials]", "client_id", "client_secret", "refresh_token"):
        assert key in secrets
    # the user fills the settings in (here: environment variables, which win over the files)
    env: Dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update(
        {
            "DLT_DATA_DIR": str(tmp_path / "dlt_data"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS": ",".join(map(str, emulator.data.accounts)),
            "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": ",".join(map(str, emulator.data.organizations)),
            "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
            "SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_ID": "test-client",
            "SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_SECRET": "test-client-secret",
            "SOURCES__LINKEDIN_LEADS__CREDENTIALS__REFRESH_TOKEN": "test-refresh-token",
            "SOURCES__LINKEDIN_LEADS__CREDENTIALS__TOKEN_URL": emulator.token_url,
        }
    )
    run = subprocess.run(
        [sys.executable, "linkedin_leads_pipeline.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Loaded 600 leads" in run.stdout
    with duckdb.connect(str(project / "linkedin_leads.duckdb"), read_only=True) as db:
        ids = sorted(r[0] for r in db.execute("SELECT id FROM linkedin.lead_form_responses").fetchall())
    assert ids == sorted(lead.id for lead in emulator.visible_leads())


def test_dlt_init_sets_the_chosen_destination(tmp_path: Path) -> None:
    project = tmp_path / "project"
    dlt_init(project, "postgres")
    script = (project / "linkedin_leads_pipeline.py").read_text()
    assert "destination='postgres'" in script and "destination='duckdb'" not in script
    assert "[destination.postgres.credentials]" in (project / ".dlt" / "secrets.toml").read_text()
