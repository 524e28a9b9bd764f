"""One validation of every setting, before any request, at every entry point (issue 34): each
test runs a real command in a fresh folder with its own ``.dlt/``, against the emulator, and
checks what it printed, its exit status, and that LinkedIn (the emulator) saw no request."""

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from linkedin_leads.emulator import LinkedInEmulator

from .test_first_hour import ACCESS, config_toml, env, folder

ROOT = Path(__file__).resolve().parent.parent


def run(work: Path, tmp_path: Path, *command: str, **extra: str) -> "subprocess.CompletedProcess[str]":
    """``python <command>`` in ``work``, the checkout on the path, a clean environment."""
    return subprocess.run(
        [sys.executable, *command],
        cwd=work,
        env={**env(tmp_path, **extra), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def refused(result: "subprocess.CompletedProcess[str]", *named: str) -> None:
    """Exit 2, each of ``named`` in the message, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    for text in named:
        assert text in result.stderr, (text, result.stderr)
    assert "Traceback" not in result.stderr


SCRIPT = str(ROOT / "linkedin_leads_pipeline.py")
DLT_INIT_SECRETS = "[sources.linkedin_leads.credentials]\n" + "".join(
    f'{key} = "<configure me>"\n' for key in ("client_id", "client_secret", "refresh_token")
)
"""The secrets ``dlt init`` writes, as it writes them."""
COMMANDS: List[List[str]] = [
    [SCRIPT],
    ["-m", "linkedin_leads", "run"],
    ["-m", "linkedin_leads", "check"],
    ["-m", "linkedin_leads.notifications", "list"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=["script", "run", "check", "receiver list"])
def test_a_page_size_of_0_is_refused_before_any_request(
    emulator: LinkedInEmulator, tmp_path: Path, command: List[str]
) -> None:
    work = folder(tmp_path, config_toml(emulator, "page_size = 0\n"), ACCESS)
    refused(run(work, tmp_path, *command), "Setting `page_size`", "0", "from 1 to 1000")
    assert emulator.requests == []  # not the token endpoint, not the API


def test_a_deletion_check_beyond_60_days_is_refused_before_any_request(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    """Further back, a lead ageing out of LinkedIn's retention (90 days for some types) would look deleted."""
    work = folder(tmp_path, config_toml(emulator, "deletion_check_days = 90\n"), ACCESS)
    refused(run(work, tmp_path, SCRIPT), "Setting `deletion_check_days`", "90", "to 60", "retention")
    assert emulator.requests == []


def test_the_demo_refuses_a_typo_key_without_a_traceback(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    work = folder(tmp_path, config_toml(emulator, "page_sise = 10\n"))
    refused(run(work, tmp_path, SCRIPT, "--demo"), "Setting `page_sise`", "did you mean `page_size`?")
    assert not list(work.glob("*.duckdb"))


@pytest.mark.parametrize(
    "written, config, variables",
    [
        ("[source.linkedin_leads]", "[source.linkedin_leads]\npage_size = 0\n", {}),
        ("[sources.linkedin_lead]", "[sources.linkedin_lead]\npage_size = 0\n", {}),
        ("[sources.linkedin-leads]", '[sources."linkedin-leads"]\npage_size = 0\n', {}),
        ("[sources.linkedin_leadss]", "[sources.linkedin_leadss]\npage_size = 0\n", {}),
        ("SOURCE__LINKEDIN_LEADS__", "", {"SOURCE__LINKEDIN_LEADS__PAGE_SIZE": "0"}),
        ("SOURCES__LINKEDIN_LEAD__", "", {"SOURCES__LINKEDIN_LEAD__PAGE_SIZE": "0"}),
    ],
)
def test_a_near_miss_of_the_section_is_named_with_the_right_one(
    emulator: LinkedInEmulator, tmp_path: Path, written: str, config: str, variables: Dict[str, str]
) -> None:
    work = folder(tmp_path, config_toml(emulator) + config, ACCESS)
    result = run(work, tmp_path, SCRIPT, **variables)
    right = "[sources.linkedin_leads]" if written.startswith("[") else "SOURCES__LINKEDIN_LEADS__"
    refused(result, written, right)
    assert emulator.requests == []


def test_other_sources_sections_are_left_alone(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    others = "[sources.linkedin_ads]\npage_size = 0\n[sources.hubspot]\napi_key = 'x'\n"
    work = folder(tmp_path, config_toml(emulator) + others, ACCESS)
    result = run(work, tmp_path, SCRIPT, SOURCES__PIPEDRIVE__PAGE_SIZE="0")
    assert result.returncode == 0, result.stdout + result.stderr


def test_several_mistakes_are_reported_together(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    """No secrets, a typo key, and a value out of range: all three in one run."""
    work = folder(tmp_path, config_toml(emulator, "page_sise = 10\nconcurrency = 99\n"))
    result = run(work, tmp_path, "-m", "linkedin_leads", "check")
    refused(result, "3 settings", "`page_sise`", "`concurrency`", "`credentials`", "client_id")
    assert emulator.requests == []


def test_the_example_secrets_warn_nothing_before_the_source_s_own_message(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    """dlt init's placeholders: the source's message, and none of dlt's placeholder warnings."""
    work = folder(tmp_path, config_toml(emulator), DLT_INIT_SECRETS)
    result = run(work, tmp_path, SCRIPT)
    refused(result, "`credentials.client_id`", "<a placeholder>")
    assert "Placeholder value encountered" not in result.stderr + result.stdout
    assert emulator.requests == []


@pytest.mark.parametrize(
    "command, named",
    [
        (["-c", "import sys, linkedin_leads_console as c; sys.exit(c.main(['run']))"], "linkedin-leads"),
        (["-m", "linkedin_leads", "run"], "python -m linkedin_leads"),
        ([SCRIPT], "python linkedin_leads_pipeline.py"),
    ],
    ids=["linkedin-leads", "python -m", "script"],
)
def test_each_command_form_names_itself(
    emulator: LinkedInEmulator, tmp_path: Path, command: List[str], named: str
) -> None:
    """Without credentials: the commands to run next, written the way the user ran this one, and
    no file a package user does not have."""
    work = folder(tmp_path, config_toml(emulator))
    result = run(work, tmp_path, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    demo = f"{named} --demo" if named.endswith(".py") else f"{named} run --demo"
    init = "python -m linkedin_leads init" if named.endswith(".py") else f"{named} init"
    assert demo in result.stderr and init in result.stderr, result.stderr
    assert "example.secrets.toml" not in result.stderr
    assert emulator.requests == []


def test_init_writes_templates_and_never_overwrites(tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    first = run(work, tmp_path, "-m", "linkedin_leads", "init")
    assert first.returncode == 0, first.stderr
    config, secrets = work / ".dlt" / "config.toml", work / ".dlt" / "secrets.toml"
    assert "[sources.linkedin_leads]" in config.read_text() and "# account_ids" in config.read_text()
    assert "[sources.linkedin_leads.credentials]" in secrets.read_text()
    assert oct(secrets.stat().st_mode & 0o777) == "0o600"
    assert "python -m linkedin_leads auth" in first.stdout
    secrets.write_text("# mine\n")
    again = run(work, tmp_path, "-m", "linkedin_leads", "init")
    assert again.returncode == 2 and "never overwrites" in again.stderr
    assert secrets.read_text() == "# mine\n"
    # the templates are the repository's own .dlt/ files, word for word
    templates = ROOT / "sources" / "linkedin_leads" / "commands" / "templates"
    assert (templates / "config.toml").read_text() == (ROOT / ".dlt" / "config.toml").read_text()
    assert (templates / "secrets.toml").read_text() == (ROOT / ".dlt" / "example.secrets.toml").read_text()
