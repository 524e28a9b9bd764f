"""``python -m linkedin_leads auth`` as a user runs it: a subprocess in a folder with its own
``.dlt/secrets.toml``; the test plays the browser, following the printed link through the
emulator's authorization page (which approves at once) to the command's loopback redirect."""

import os
import stat
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator, Optional, Tuple

import pytest
import tomlkit

from linkedin_leads.emulator import Dataset, LinkedInEmulator

from .test_notifications import free_port
from .test_pipeline_script import clean_env

ROOT = Path(__file__).resolve().parent.parent

SECRETS = """# my secrets: keep this comment
[destination.postgres.credentials]
password = "keep-me"  # and this one

[sources.linkedin_leads.credentials]
client_id = "test-client"
client_secret = "test-client-secret"
"""


def run_auth(folder: Path, *args: str, **env: str) -> "subprocess.CompletedProcess[str]":
    """``python -m linkedin_leads auth ARGS`` in ``folder``, to its end, nothing on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "linkedin_leads", "auth", *args],
        cwd=folder,
        env={**clean_env(folder), "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def emulator() -> Iterator[LinkedInEmulator]:
    with LinkedInEmulator(Dataset()) as emu:
        yield emu


def start(emulator: LinkedInEmulator, tmp_path: Path) -> Tuple["subprocess.Popen[str]", str, int]:
    """The command, waiting; returns it, the link it printed, and its port."""
    (tmp_path / ".dlt").mkdir(exist_ok=True)
    (tmp_path / ".dlt" / "secrets.toml").write_text(SECRETS)
    port = free_port()
    base = emulator.token_url.rsplit("/", 1)[0]
    env = {
        **clean_env(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__AUTHORIZATION_URL": f"{base}/authorization",
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__TOKEN_URL": emulator.token_url,
        "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": "2414183",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "linkedin_leads", "auth", "--no-browser", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # what to do
    link = process.stdout.readline().strip()
    assert link.startswith(f"{base}/authorization?"), link
    return process, link, port


def redirect_of(link: str) -> str:
    """LinkedIn's answer to the link: the redirect, not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(link)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302
        return str(exc.headers["Location"])
    raise AssertionError("no redirect")


def finish(process: "subprocess.Popen[str]") -> Tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_auth_writes_the_refresh_token_and_keeps_the_rest(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    process, link, port = start(emulator, tmp_path)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
    assert query["redirect_uri"] == [f"http://127.0.0.1:{port}/callback"] and query["state"][0]
    assert query["scope"][0].split() == ["r_marketing_leadgen_automation", "r_organization_admin"]
    with urllib.request.urlopen(link) as answer:  # the browser: LinkedIn, then the loopback redirect
        assert answer.status == 200
    status, out, err = finish(process)
    assert status == 0, out + err
    path = tmp_path / ".dlt" / "secrets.toml"
    text = path.read_text()
    written = tomlkit.parse(text)
    refresh = str(written["sources"]["linkedin_leads"]["credentials"]["refresh_token"])
    assert refresh in emulator.refresh_tokens
    assert "# my secrets: keep this comment" in text and "# and this one" in text and "keep-me" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert refresh not in out + err and not any(token in out + err for token in emulator.tokens)
    assert "The refresh token expires" in out and "The access token expires" in out


def test_a_wrong_state_is_refused(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    process, link, _port = start(emulator, tmp_path)
    location = redirect_of(link)
    forged = location.replace("state=", "state=x")
    with urllib.request.urlopen(forged):
        pass
    status, _out, err = finish(process)
    assert status == 1 and "`state` is not the one this command sent" in err
    assert "refresh_token" not in (tmp_path / ".dlt" / "secrets.toml").read_text()


def test_a_refused_consent_is_refused(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    emulator.consent = "refuse"
    process, link, _port = start(emulator, tmp_path)
    with urllib.request.urlopen(link):
        pass
    status, _out, err = finish(process)
    assert status == 1 and "did not authorize the app: user_cancelled_authorize" in err


def test_a_reused_code_is_refused_and_a_pasted_url_is_taken(
    emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    process, link, port = start(emulator, tmp_path)
    first = redirect_of(link)
    with urllib.request.urlopen(first):
        pass
    assert finish(process)[0] == 0
    # the same code again, pasted (as from a browser on another machine), with the new run's state
    process, link, port = start(emulator, tmp_path)
    state = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["state"][0]
    code = urllib.parse.parse_qs(urllib.parse.urlparse(first).query)["code"][0]
    pasted = f"http://127.0.0.1:{port}/callback?" + urllib.parse.urlencode({"code": code, "state": state})
    assert process.stdin is not None
    process.stdin.write(pasted + "\n")
    process.stdin.flush()
    status, _out, err = finish(process)
    assert status == 1 and "refused the code" in err and "authorization code not found" in err


def test_auth_with_the_example_secrets_names_the_key(tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text((ROOT / ".dlt" / "example.secrets.toml").read_text())
    result = run_auth(tmp_path, "--no-browser")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Setting `credentials.client_id`" in result.stderr and "<a placeholder>" in result.stderr
    assert "Open this link" not in result.stdout


FAKE_BROWSER = """import sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as answer:  # LinkedIn's page, then the loopback redirect
    sys.exit(0 if answer.status == 200 else 1)
"""


def test_auth_opens_the_browser_and_takes_its_redirect(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    # Python's webbrowser runs $BROWSER (with %s for the link): here a script that plays the browser
    browser = tmp_path / "browser.py"
    browser.write_text(FAKE_BROWSER)
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(SECRETS)
    base = emulator.token_url.rsplit("/", 1)[0]
    result = run_auth(
        tmp_path,
        "--port",
        str(free_port()),
        BROWSER=f"{sys.executable} {browser} %s",
        SOURCES__LINKEDIN_LEADS__CREDENTIALS__AUTHORIZATION_URL=f"{base}/authorization",
        SOURCES__LINKEDIN_LEADS__CREDENTIALS__TOKEN_URL=emulator.token_url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "paste" not in result.stdout  # the browser opened: nothing asked on stdin
    written = tomlkit.parse((tmp_path / ".dlt" / "secrets.toml").read_text())
    assert (
        str(written["sources"]["linkedin_leads"]["credentials"]["refresh_token"]) in emulator.refresh_tokens
    )


def test_a_taken_port_is_a_named_error(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "secrets.toml").write_text(SECRETS)
        result = run_auth(tmp_path, "--no-browser", "--port", str(port))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--port" in result.stderr and str(port) in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "pasted, named",
    [("not a url\n", "<not a URL>"), ("\n", "<an empty line>"), (None, "<the end of the input>")],
)
def test_a_paste_that_is_not_a_url_or_nothing_stops_at_once(
    emulator: LinkedInEmulator, tmp_path: Path, pasted: Optional[str], named: str
) -> None:
    process, _link, _port = start(emulator, tmp_path)
    assert process.stdin is not None
    if pasted is not None:
        process.stdin.write(pasted)
        process.stdin.flush()
    status, out, err = finish(process)  # closes stdin: the end of the input
    assert status == 2, out + err
    assert named in err and "paste the whole URL" in err and "Traceback" not in err
    assert "forged" not in err
    assert "waiting up to 10 minutes" in out
