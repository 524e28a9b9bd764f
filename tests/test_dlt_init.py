"""`dlt init linkedin_leads <destination> --location <this repository>` gives a working project."""

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Dict, Optional

import dlt
import duckdb

from linkedin_leads.emulator import LinkedInEmulator

ROOT = Path(__file__).resolve().parent.parent


def run_in(
    folder: Path, *command: str, env: Optional[Dict[str, str]] = None
) -> "subprocess.CompletedProcess[str]":
    """``command`` run in ``folder`` to its end, its output kept."""
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, env=env)


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
    receiver = run_in(project, sys.executable, "-m", "linkedin_leads.notifications", "--help")
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
    run = run_in(project, sys.executable, "linkedin_leads_pipeline.py", env=env)
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


LOCK = ROOT / "locks" / f"tests-py{sys.version_info[0]}.{sys.version_info[1]}.txt"


def venv(folder: Path, *requirements: str) -> Path:
    """A fresh virtual environment with ``requirements`` (pip's arguments), constrained by the lock
    of this Python; returns its ``bin`` folder."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "-c", str(LOCK), *requirements], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "bin"


def source_tree(folder: Path) -> Path:
    """A git repository holding ``sources/linkedin_leads`` and its script, as dlt-hub keeps them."""
    shutil.copytree(
        ROOT / "sources", folder / "sources", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for command in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "s"],
    ):
        subprocess.run(["git", *command], cwd=folder, check=True, capture_output=True, timeout=60)
    return folder


def test_dlt_init_with_only_dlt_installed_then_demo_and_postgres(
    emulator: LinkedInEmulator, postgres_url: str, tmp_path: Path
) -> None:
    """The documented path: a venv with only dlt runs ``dlt init`` (nothing of the source's
    packages installed: dlt imports the script with stand-ins for them); each project then installs
    its requirements, its demo loads into DuckDB, and the postgres project's run into PostgreSQL."""
    tree = source_tree(tmp_path / "verified-sources")
    dlt_only = venv(tmp_path / "dlt-only", f"dlt=={version('dlt')}")
    for module in ("pyarrow", "msgspec", "duckdb"):
        missing = subprocess.run([str(dlt_only / "python"), "-c", f"import {module}"], capture_output=True)
        assert missing.returncode != 0, f"{module} is installed: the test would not show dlt init without it"
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(tmp_path / "dlt_data")}
    env = {k: v for k, v in env.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    for destination in ("duckdb", "postgres"):
        project = tmp_path / destination
        project.mkdir()
        init = run_in(
            project,
            str(dlt_only / "dlt"),
            "init",
            "linkedin_leads",
            destination,
            "--location",
            str(tree),
            "--non-interactive",
            env=env,
        )
        assert init.returncode == 0, init.stdout + init.stderr
        bin_folder = venv(project / ".venv", "-r", str(project / "requirements.txt"))
        demo = run_in(project, str(bin_folder / "python"), "linkedin_leads_pipeline.py", "--demo", env=env)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "Loaded 3000 leads" in demo.stdout and (project / "linkedin_leads_demo.duckdb").exists()
    # the postgres project's own run: the configured owners, into PostgreSQL
    configured = {
        **env,
        "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
        # the user fills the secrets dlt init wrote (environment variables win over the files)
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_ID": "test-client",
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_SECRET": "test-client-secret",
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__REFRESH_TOKEN": "test-refresh-token",
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__TOKEN_URL": emulator.token_url,
        "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS": ",".join(map(str, emulator.data.accounts)),
        "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": ",".join(map(str, emulator.data.organizations)),
        "DESTINATION__POSTGRES__CREDENTIALS": postgres_url,
    }
    run = run_in(
        tmp_path / "postgres",
        str(tmp_path / "postgres" / ".venv" / "bin" / "python"),
        "linkedin_leads_pipeline.py",
        env=configured,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    reader = dlt.pipeline(
        "readback", destination=dlt.destinations.postgres(postgres_url), dataset_name="linkedin"
    )
    with reader.sql_client() as client:
        ids = sorted(row[0] for row in client.execute_sql("SELECT id FROM lead_form_responses") or [])
    assert ids == sorted(lead.id for lead in emulator.visible_leads())
