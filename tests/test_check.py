"""``python -m linkedin_leads check`` and ``linkedin_leads_pipeline.py --check``, run as a user runs
them (subprocesses in a folder with its own ``.dlt/``), against the emulator: each case asserts its
row and the exit status, and that nothing was loaded."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from linkedin_leads.emulator import LinkedInEmulator, generate

from .conftest import NOW_MS
from .test_first_hour import folder
from .test_pipeline_script import clean_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def emulator() -> Iterator[LinkedInEmulator]:
    with LinkedInEmulator(generate(NOW_MS, accounts=1, organizations=1, leads=30)) as emu:
        yield emu


def oauth_secrets(emulator: LinkedInEmulator) -> str:
    introspection = emulator.token_url.replace("accessToken", "introspectToken")
    return (
        '[sources.linkedin_leads.credentials]\nclient_id = "test-client"\n'
        'client_secret = "test-client-secret"\n'
        f'refresh_token = "test-refresh-token"\ntoken_url = "{emulator.token_url}"\n'
        f'introspection_url = "{introspection}"\n'
    )


def config(emulator: LinkedInEmulator) -> str:
    return (
        f'[sources.linkedin_leads]\nbase_url = "{emulator.base_url}"\n'
        f"account_ids = {emulator.data.accounts}\norganization_ids = {emulator.data.organizations}\n"
    )


def run_check(work: Path, tmp_path: Path, *command: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, *command],
        cwd=work,
        env={**clean_env(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(result: "subprocess.CompletedProcess[str]") -> Dict[str, Dict[str, Any]]:
    parsed: List[Dict[str, Any]] = json.loads(result.stdout)
    return {row["check"]: row for row in parsed}


def check_json(
    emulator: LinkedInEmulator, tmp_path: Path, secrets: str
) -> "subprocess.CompletedProcess[str]":
    work = folder(tmp_path, config(emulator), secrets)
    return run_check(work, tmp_path, "-m", "linkedin_leads", "check", "--json")


def failed(result: "subprocess.CompletedProcess[str]", check: str) -> Dict[str, Any]:
    """The row of ``check``, which failed, with the command's exit status 4."""
    assert result.returncode == 4, result.stdout + result.stderr
    row = rows(result)[check]
    assert not row["ok"], row
    return row


def test_all_good(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    result = check_json(emulator, tmp_path, oauth_secrets(emulator))
    assert result.returncode == 0, result.stdout + result.stderr
    found = rows(result)
    assert all(row["ok"] for row in found.values()), found
    assert {"credentials", "token introspection", "scopes", "API version"} <= set(found)
    assert f"urn:li:sponsoredAccount:{emulator.data.accounts[0]} SPONSORED leads" in found
    assert f"urn:li:organization:{emulator.data.organizations[0]} EVENT leads" in found
    assert "test-client-secret" not in result.stdout + result.stderr
    assert not list((tmp_path / "work").glob("*.duckdb"))  # nothing loaded
    # the table a person reads, from the pipeline script
    work = tmp_path / "work"
    table = run_check(work, tmp_path, str(ROOT / "linkedin_leads_pipeline.py"), "--check")
    assert table.returncode == 0, table.stderr
    assert "PASS  credentials" in table.stdout and "checks passed" in table.stdout


def test_a_token_without_r_organization_admin(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    emulator.scopes = {"r_marketing_leadgen_automation", "r_ads"}
    scopes = failed(check_json(emulator, tmp_path, oauth_secrets(emulator)), "scopes")
    assert "lacks r_organization_admin" in scopes["detail"]
    assert "authorize it again" in scopes["fix"]


def test_an_expired_access_token(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    emulator.expire_access_tokens()
    secrets = '[sources.linkedin_leads.credentials]\naccess_token = "test-access-token"\n'
    result = check_json(emulator, tmp_path, secrets)
    credentials = failed(result, "credentials")
    assert "has expired" in credentials["detail"]
    assert "Traceback" not in result.stderr and "test-access-token" not in result.stdout


def test_an_owner_whose_leads_are_refused(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    account = f"urn:li:sponsoredAccount:{emulator.data.accounts[0]}"
    emulator.leads_refused = {account}
    result = check_json(emulator, tmp_path, oauth_secrets(emulator))
    refused = failed(result, f"{account} leads")
    assert "company page" in refused["fix"] and "CAMPAIGN_MANAGER" in refused["fix"]
    assert rows(result)[f"{account} forms"]["ok"]


def test_a_sunset_version(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    emulator.versions = {"202605", "202610"}
    version = failed(check_json(emulator, tmp_path, oauth_secrets(emulator)), "API version")
    assert 'api_version = "202610"' in version["fix"]
