"""The runnable example, as a new user runs it: a real subprocess in an empty folder."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import duckdb
import pytest

from linkedin_leads.emulator import Dataset, LinkedInEmulator

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "linkedin_leads_pipeline.py"


def run_script(cwd: Path, *args: str, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def clean_env(tmp_path: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CREDENTIALS__"))}
    env["DLT_DATA_DIR"] = str(tmp_path / "dlt_data")
    return env


def test_demo_loads_generated_leads_without_credentials(tmp_path: Path) -> None:
    result = run_script(tmp_path, "--demo", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (
        "Loaded 3000 leads (new, or re-read in the lookback window; 3000 in all) and 9 lead forms."
        in result.stdout
    )
    # the version, then per owner and lead type, what was read
    from linkedin_leads import __version__

    assert f"linkedin_leads {__version__}. Leads read, per owner and lead type" in result.stdout
    for owner_type in ("urn:li:sponsoredAccount:510000000", "urn:li:organization:2400000"):
        assert owner_type in result.stdout
    for lead_type in ("SPONSORED", "COMPANY", "EVENT", "ORGANIZATION_PRODUCT"):
        assert lead_type in result.stdout
    database = tmp_path / "linkedin_leads_demo.duckdb"
    assert str(database) in result.stdout
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(
            "SELECT count(*), count(DISTINCT id) FROM linkedin.lead_form_responses"
        ).fetchone()
    assert rows == (3000, 3000)
    # the README's and docs' SQL, as written, on the demo's file
    for query in documented_sql():
        with duckdb.connect(str(database), read_only=True) as connection:
            assert connection.execute(query).fetchall(), query


def documented_sql() -> List[str]:
    """Every statement of the ```sql blocks of the README, docs/running.md and docs/tables.md."""
    statements: List[str] = []
    for page in (ROOT / "README.md", ROOT / "docs" / "running.md", ROOT / "docs" / "tables.md"):
        for block in re.findall(r"```sql\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            lines = [line for line in block.splitlines() if not line.strip().startswith("--")]
            statements += [q.strip() for q in "\n".join(lines).split(";") if q.strip()]
    assert len(statements) >= 2
    return statements


def test_without_credentials_names_the_keys_to_set(tmp_path: Path) -> None:
    result = run_script(tmp_path, env=clean_env(tmp_path))
    assert result.returncode == 2
    for key in (
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__REFRESH_TOKEN",
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN",
        "[sources.linkedin_leads.credentials]",
        "account_ids",
        "--demo",
    ):
        assert key in result.stderr
    assert not list(tmp_path.glob("*.duckdb"))


def test_without_owners_names_the_setting(tmp_path: Path) -> None:
    """No owner configured and none discovered: the setting, the searches and the scopes."""
    env = clean_env(tmp_path)
    with LinkedInEmulator(Dataset()) as emulator:
        env["SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN"] = "test-access-token"
        env["SOURCES__LINKEDIN_LEADS__BASE_URL"] = emulator.base_url
        result = run_script(tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "Setting `account_ids`" in result.stderr and "no owner to read" in result.stderr
    assert "r_ads" in result.stderr and "Traceback" not in result.stderr
    assert "test-access-token" not in result.stderr + result.stdout


def test_a_run_stopped_part_way_says_what_is_left_and_exits_3(tmp_path: Path) -> None:
    """A daily quota: what was read is loaded, the rest is printed, status 3; the next run ends it."""
    from linkedin_leads.emulator import generate

    from .conftest import NOW_MS

    env = clean_env(tmp_path)
    data = generate(NOW_MS, accounts=2, organizations=0, leads=600)
    # so few calls that the first run may load no lead at all: it still prints what is left
    with LinkedInEmulator(data, daily_quota={"leadFormResponses": 3}) as emulator:
        env["SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN"] = "test-access-token"
        env["SOURCES__LINKEDIN_LEADS__BASE_URL"] = emulator.base_url
        env["SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS"] = ",".join(map(str, data.accounts))
        env["SOURCES__LINKEDIN_LEADS__PAGE_SIZE"] = "50"
        env["RUNTIME__REQUEST_BACKOFF_FACTOR"] = "0"
        result = run_script(tmp_path, env=env)
        assert result.returncode == 3, result.stderr
        assert "NOT READ YET (the next run continues here):" in result.stdout
        assert f"urn:li:sponsoredAccount:{data.accounts[0]}" in result.stdout.split("NOT READ YET")[1]
        assert "daily quota resets at" in result.stdout
        emulator.new_day()
        emulator.daily_quota.clear()
        again = run_script(tmp_path, env=env)
        assert again.returncode == 0, again.stderr
        assert "NOT READ YET" not in again.stdout
    with duckdb.connect(str(tmp_path / "linkedin_leads.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT count(*), count(DISTINCT id) FROM linkedin.lead_form_responses"
        ).fetchone()
    assert rows == (600, 600)


ALLOCATOR_PROBE = """
import ctypes, sys
if sys.argv[1] == "script":
    sys.path.insert(0, sys.argv[2])
    import linkedin_leads_pipeline  # noqa: F401  # sets the allocators when imported
import pyarrow as pa

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
large = libc.malloc(4 << 20)
libc.free(large)  # glibc's default then raises its mapping threshold to 4 MiB
# 200 blocks of 200 KiB: once the free space of the heap is used up, they come from their own
# mappings if the threshold stayed at 128 KiB, or all from a heap grown for them if it rose
blocks = [libc.malloc(200 << 10) for _ in range(200)]
word = ctypes.sizeof(ctypes.c_size_t)
mapped = sum(ctypes.c_size_t.from_address(b - word).value & 2 for b in blocks) // 2  # IS_MMAPPED
print(pa.default_memory_pool().backend_name, "mapped" if mapped > 100 else "heap")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator settings are Linux only")
def test_the_script_sets_lean_allocators_before_pyarrow() -> None:
    """Arrow on the system allocator, and blocks of 128 KiB and more in their own mappings even
    after a larger block was freed (glibc's default would serve them from its heap)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARROW_DEFAULT", "MALLOC_"))}

    def probe(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", ALLOCATOR_PROBE, mode, str(SCRIPT.parent)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.split()[-1] + " " + done.stdout.split()[-2]

    assert probe("script") == "mapped system"
    assert probe("plain") == "heap mimalloc"  # the same process without the script's settings


@pytest.mark.parametrize(
    "command",
    [
        ["linkedin_leads_pipeline.py", "--version"],
        ["-m", "linkedin_leads", "--version"],
        ["-c", "import sys, linkedin_leads_console as c; sys.exit(c.main(['--version']))"],
        [
            "-c",
            "import sys, linkedin_leads_console as c; sys.exit(c.main(['notifications', 'serve', '--version']))",  # noqa: E501
        ],
        ["-m", "linkedin_leads", "run", "--version"],
        ["-m", "linkedin_leads", "check", "--version"],
        ["-m", "linkedin_leads", "auth", "--version"],
        ["-m", "linkedin_leads.notifications", "--version"],
        ["-m", "linkedin_leads.notifications", "serve", "--version"],
        ["-m", "linkedin_leads.notifications", "list", "--version"],
    ],
)
def test_every_entry_point_reports_the_version(command: List[str], tmp_path: Path) -> None:
    from linkedin_leads import __version__

    result = subprocess.run(
        [sys.executable, *[str(ROOT / c) if c.endswith(".py") else c for c in command]],
        cwd=tmp_path,
        env={**clean_env(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"linkedin_leads {__version__}"


EXAMPLES = """
import sys
import linkedin_leads_pipeline as examples

accounts = [int(x) for x in sys.argv[1].split(",")]
examples.load_chosen_owners(accounts[:1], [])
examples.load_from_date(sys.argv[2])
examples.load_test_leads_only()
"""


def test_each_example_loads_what_it_says(emulator: LinkedInEmulator, tmp_path: Path) -> None:
    """The example script's functions, run as a user would import them, each checked by SQL."""
    from linkedin_leads.tables.values import from_epoch_ms

    data = emulator.data
    leads = emulator.visible_leads()
    since_ms = sorted(lead.submitted_at for lead in leads)[len(leads) // 2]
    env = {
        **clean_env(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SOURCES__LINKEDIN_LEADS__BASE_URL": emulator.base_url,
        "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN": "test-access-token",
        "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS": ",".join(map(str, data.accounts)),
        "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": ",".join(map(str, data.organizations)),
    }
    since = from_epoch_ms(since_ms).isoformat()
    accounts = ",".join(map(str, data.accounts))
    for code, *args in (
        (EXAMPLES, accounts, since),
        # with the user's access token configured: the demo brings its own credentials
        ("import sys, linkedin_leads_pipeline as e; sys.exit(e.load_demo())",),
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def ids(database: str, dataset: str) -> List[str]:
        with duckdb.connect(str(tmp_path / database), read_only=True) as connection:
            rows = connection.execute(f"SELECT id FROM {dataset}.lead_form_responses").fetchall()
        return sorted(row[0] for row in rows)

    def expected(keep: Any) -> List[str]:
        return sorted(lead.id for lead in leads if keep(lead))

    first = data.accounts[0]
    assert ids("linkedin_leads.duckdb", "linkedin") == expected(
        lambda lead: lead.owner_kind == "sponsoredAccount" and lead.owner_id == first
    )
    assert ids("linkedin_leads_since.duckdb", "linkedin_since") == expected(
        lambda x: x.submitted_at >= since_ms
    )
    test_leads = expected(lambda lead: lead.test_lead)
    assert test_leads and ids("linkedin_leads_test.duckdb", "linkedin_test_leads") == test_leads
    assert len(ids("linkedin_leads_demo.duckdb", "linkedin")) == 3000
