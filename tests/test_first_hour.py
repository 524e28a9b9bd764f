"""Configuration that cannot silently go wrong, as a new user meets it: the pipeline script run in
an empty folder with its own ``.dlt/``, against the emulator. Each mistake gives a named error,
before any request to LinkedIn, and no traceback."""

import shutil
from pathlib import Path
from typing import Dict, Iterator

import pytest

from linkedin_leads.emulator import LinkedInEmulator, generate

from .conftest import NOW_MS
from .test_pipeline_script import clean_env, run_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def emulator() -> Iterator[LinkedInEmulator]:
    with LinkedInEmulator(generate(NOW_MS, accounts=1, organizations=0, leads=20)) as emu:
        yield emu


def folder(tmp_path: Path, config: str, secrets: str = "") -> Path:
    work = tmp_path / "work"
    (work / ".dlt").mkdir(parents=True)
    (work / ".dlt" / "config.toml").write_text(config)
    if secrets:
        (work / ".dlt" / "secrets.toml").write_text(secrets)
    return work


def config_toml(emulator: LinkedInEmulator, extra: str = "") -> str:
    owners = f"account_ids = {emulator.data.accounts}\n"
    return f'[sources.linkedin_leads]\nbase_url = "{emulator.base_url}"\n{owners}{extra}'


def env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    return {**clean_env(tmp_path), **extra}


ACCESS = '[sources.linkedin_leads.credentials]\naccess_token = "test-access-token"\n'


@pytest.mark.parametrize(
    "extra, key, closest",
    [("page_sise = 10\n", "page_sise", "page_size"), ("acount_ids = [1]\n", "acount_ids", "account_ids")],
)
def test_a_typo_key_is_an_error_naming_the_closest_key(
    emulator: LinkedInEmulator, tmp_path: Path, extra: str, key: str, closest: str
) -> None:
    work = folder(tmp_path, config_toml(emulator, extra), ACCESS)
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert f"Setting `{key}`" in result.stderr and f"did you mean `{closest}`?" in result.stderr
    assert "config.toml" in result.stderr and "Traceback" not in result.stderr
    assert emulator.requests == []


def test_a_typo_in_an_environment_variable_is_an_error(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    work = folder(tmp_path, config_toml(emulator), ACCESS)
    result = run_script(work, env=env(tmp_path, SOURCES__LINKEDIN_LEADS__LOOKBACK_HOUR="2"))
    assert result.returncode == 2, result.stderr
    assert "SOURCES__LINKEDIN_LEADS__LOOKBACK_HOUR" in result.stderr
    assert "did you mean `lookback_hours`?" in result.stderr
    assert emulator.requests == []


@pytest.mark.parametrize("section", ["sources.linkedin", "source.linkedin_leads"])
def test_credentials_under_a_near_miss_section_are_named(
    emulator: LinkedInEmulator, tmp_path: Path, section: str
) -> None:
    secrets = f'[{section}.credentials]\naccess_token = "test-access-token"\n'
    work = folder(tmp_path, config_toml(emulator), secrets)
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 2, result.stderr
    # named as written (a near miss of [sources.linkedin_leads] is an error of its own)
    assert f"[{section}]" in result.stderr and "[sources.linkedin_leads" in result.stderr
    assert "secrets.toml" in result.stderr and "Traceback" not in result.stderr
    assert "test-access-token" not in result.stderr
    assert emulator.requests == []


def test_the_example_secrets_copied_unedited_are_refused(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    work = folder(tmp_path, config_toml(emulator))
    shutil.copy(ROOT / ".dlt" / "example.secrets.toml", work / ".dlt" / "secrets.toml")
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Setting `credentials.client_id`" in result.stderr and "placeholder" in result.stderr
    assert "secrets.toml" in result.stderr and "Traceback" not in result.stderr
    assert emulator.requests == []


def test_dlt_init_placeholders_are_refused(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    secrets = '[sources.linkedin_leads.credentials]\naccess_token = "<configure me>"\n'
    work = folder(tmp_path, config_toml(emulator), secrets)
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Setting `credentials.access_token`" in result.stderr and "Traceback" not in result.stderr
    assert emulator.requests == []


def test_an_unreachable_token_endpoint_is_a_readable_error(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    secrets = (
        '[sources.linkedin_leads.credentials]\nclient_id = "test-client"\n'
        'client_secret = "test-client-secret"\n'
        'refresh_token = "test-refresh-token"\ntoken_url = "http://127.0.0.1:9/oauth/v2/accessToken"\n'
    )
    work = folder(tmp_path, config_toml(emulator), secrets)
    result = run_script(
        work, env=env(tmp_path, RUNTIME__REQUEST_MAX_ATTEMPTS="2", RUNTIME__REQUEST_BACKOFF_FACTOR="0")
    )
    assert result.returncode == 1, result.stderr
    assert "No answer from LinkedIn's token endpoint http://127.0.0.1:9/oauth/v2/accessToken" in result.stderr
    assert "Traceback" not in result.stderr and "test-client-secret" not in result.stderr
    assert emulator.requests == []


def test_an_unreachable_api_says_no_answer(tmp_path: Path) -> None:
    config = '[sources.linkedin_leads]\nbase_url = "http://127.0.0.1:9/rest"\naccount_ids = [1]\n'
    work = folder(tmp_path, config, ACCESS)
    result = run_script(
        work, env=env(tmp_path, RUNTIME__REQUEST_MAX_ATTEMPTS="2", RUNTIME__REQUEST_BACKOFF_FACTOR="0")
    )
    assert result.returncode == 1, result.stderr
    assert "No answer from LinkedIn (ConnectionError)" in result.stderr and "answered 0" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_duckdb_file_lands_in_the_current_folder_on_every_run(tmp_path: Path) -> None:
    """dlt remembers the path of a pipeline's first run; the script writes where the README says."""
    shared = env(tmp_path)  # one dlt data directory for both folders
    for name in ("first", "second"):
        work = tmp_path / name
        work.mkdir()
        result = run_script(work, "--demo", env=shared)
        assert result.returncode == 0, result.stderr
        assert (work / "linkedin_leads_demo.duckdb").exists()
        assert f"in {work / 'linkedin_leads_demo.duckdb'}" in result.stdout


def test_the_summary_names_the_span_each_pair_read(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    """A second run reads the lookback, and says so, not the whole window."""
    work = folder(tmp_path, config_toml(emulator), ACCESS)
    assert run_script(work, env=env(tmp_path)).returncode == 0
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr  # no third-party warning (psutil's)
    line = next(x for x in result.stdout.splitlines() if x.startswith("  urn:li:sponsoredAccount:"))
    start, _, end = line.split()[-3:]
    newest = max(lead.submitted_at for lead in emulator.visible_leads())
    from datetime import datetime

    asked = datetime.fromisoformat(start).timestamp() * 1000
    assert newest - 24 * 3600 * 1000 - 10 <= asked <= newest, line
    assert datetime.fromisoformat(end) > datetime.fromisoformat(start)


OAUTH = (
    '[sources.linkedin_leads.credentials]\nclient_id = "test-client"\nclient_secret = "test-client-secret"\n'
    'refresh_token = "test-refresh-token"\n'
)


def test_a_refresh_token_about_to_expire_warns_in_the_summary_and_the_metrics(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    emulator.refresh_token_expires_in = 10 * 86400
    secrets = OAUTH + f'token_url = "{emulator.token_url}"\n'
    work = folder(tmp_path, config_toml(emulator), secrets)
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "WARNING: The LinkedIn refresh token" in result.stdout and "expires in 10 days" in result.stdout
    assert "authorize the app again" in result.stdout and "test-refresh-token" not in result.stdout
    import dlt

    pipeline = dlt.attach("linkedin_leads", pipelines_dir=str(tmp_path / "dlt_data" / "pipelines"))
    trace = pipeline.last_trace
    assert trace is not None and trace.last_extract_info is not None
    metrics = [
        step["resource_metrics"]["lead_form_responses"].custom_metrics
        for steps in trace.last_extract_info.metrics.values()
        for step in steps
        if "lead_form_responses" in step["resource_metrics"]
    ]
    assert "expires in 10 days" in metrics[0]["token_expiry_warning"]


def test_an_expired_refresh_token_fails_before_any_data_request(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    emulator.refresh_token_expires_in = 0
    secrets = OAUTH + f'token_url = "{emulator.token_url}"\n'
    work = folder(tmp_path, config_toml(emulator), secrets)
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "refused the refresh token" in result.stderr and "authorize the app again" in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.calls() == []  # only the token endpoint was asked


def test_an_expired_access_token_fails_before_any_leads_request(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    # a bare access token carries no expiry this side: LinkedIn's 401 on the first (forms) request
    # stops the run there, with the way to renew, and no leads request is made
    emulator.expire_access_tokens()
    work = folder(tmp_path, config_toml(emulator), ACCESS)
    result = run_script(work, env=env(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "has expired" in result.stderr and "python -m linkedin_leads auth" in result.stderr
    assert "Traceback" not in result.stderr and "test-access-token" not in result.stdout + result.stderr
    assert [c.path for c in emulator.calls()] == ["/rest/leadForms"]
    assert "Loaded" not in result.stdout
