"""A throwaway PostgreSQL server on 127.0.0.1 for the destination tests (initdb + pg_ctl)."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from typing import Iterator, Optional

import pytest


def server_binaries() -> Optional[str]:
    """The folder holding initdb and pg_ctl, newest version first, if PostgreSQL is installed."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(folder, "initdb")) and os.path.exists(os.path.join(folder, "pg_ctl")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_postgres(binaries: str) -> Iterator[str]:
    """Starts a cluster in a temporary folder; yields its URL; stops and removes it after."""
    folder = tempfile.mkdtemp(prefix="linkedin-leads-pg-")
    os.chmod(folder, 0o777)
    data = os.path.join(folder, "data")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    port = _free_port()

    def call(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    try:
        call(os.path.join(binaries, "initdb"), "-D", data, "-A", "trust", "-U", "postgres")
        call(
            os.path.join(binaries, "pg_ctl"),
            "-D",
            data,
            "-l",
            os.path.join(folder, "log"),
            "-w",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        call(
            os.path.join(binaries, "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "linkedin",
        )
        yield f"postgresql://postgres:trust@127.0.0.1:{port}/linkedin"  # trust auth: any password
    finally:
        if os.path.exists(data):
            subprocess.run(
                [*as_user, os.path.join(binaries, "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway server for the module's tests; skipped, with the reason, where PostgreSQL is not
    installed (.ci/run installs it, and sets LINKEDIN_LEADS_POSTGRES_REQUIRED so it cannot skip)."""
    binaries = server_binaries()
    if binaries is None:
        if os.environ.get("LINKEDIN_LEADS_POSTGRES_REQUIRED"):
            pytest.fail("PostgreSQL server binaries not found, and .ci/run requires them")
        pytest.skip("PostgreSQL server binaries not found: install the postgresql package (.ci/run does)")
    yield from run_postgres(binaries)
