"""The receiver's production path, for real: the shipped nginx file (``deploy/nginx/``) serving
https on 127.0.0.1 with a certificate from a test CA, and the emulator, trusting only that CA,
delivering LinkedIn's validation challenge and signed notifications through it to the receiver,
which loads them into DuckDB. nginx comes from Debian's packages (``.ci/run`` installs it)."""

import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from linkedin_leads.emulator import Dataset, LinkedInEmulator
from linkedin_leads.notifications.service import Service
from linkedin_leads.settings import RECEIVER_SUFFIX

from .conftest import sql
from .test_notifications import free_port, pipeline_at, start_service, subscribe_all, wait_loaded

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "linkedin-leads.conf"
WEBHOOK = "/linkedin/lead-notifications"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        reason = "nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)"
        if os.environ.get("LINKEDIN_LEADS_TLS_REQUIRED"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def site_config(port: int, upstream: int, cert: Path, key: Path) -> str:
    """The shipped file, with this test's port, certificate and receiver put in."""
    text = SITE.read_text()
    replacements = {
        "    listen [::]:443 ssl;\n": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
        "/etc/letsencrypt/live/leads.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/leads.example.com/privkey.pem": str(key),
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream}",
    }
    for old, new in replacements.items():
        assert old in text, f"{SITE} no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def tls_emulator(dataset: Dataset) -> Iterator[LinkedInEmulator]:
    with LinkedInEmulator(dataset) as emulator:  # https webhooks only, as LinkedIn
        yield emulator


def test_notifications_arrive_over_https_through_the_shipped_nginx_file(
    tls_emulator: LinkedInEmulator, tmp_path: Path
) -> None:
    import trustme

    binary = nginx_binary()
    emulator = tls_emulator
    service: Service = start_service(emulator, tmp_path)
    upstream = int(service.url.split(":")[2].split("/")[0])
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    trusting = ssl.create_default_context(cafile=str(ca_file))
    port = free_port()
    (tmp_path / "site.conf").write_text(site_config(port, upstream, cert, key))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n"
        f"  access_log {tmp_path}/access.log;\n"
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy"))
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("fastcgi", "uwsgi", "scgi"))
        + f"  include {tmp_path}/site.conf;\n}}\n"
    )
    test = subprocess.run([binary, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    nginx = subprocess.Popen(
        [binary, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"], stderr=subprocess.PIPE, text=True
    )
    try:
        public = f"https://127.0.0.1:{port}{WEBHOOK}"
        deadline = time.monotonic() + 10
        while True:  # until nginx listens
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=trusting, timeout=2)
            except urllib.error.HTTPError:
                break  # its 404: up
            except OSError:
                assert time.monotonic() < deadline and nginx.poll() is None, (
                    tmp_path / "error.log"
                ).read_text()
                time.sleep(0.1)
        # only the webhook's path goes through: the operators' routes stay on loopback
        for route in ("/metrics", "/healthz"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"https://127.0.0.1:{port}{route}", context=trusting, timeout=5)
            assert refused.value.code == 404
        # an emulator that trusts the public CAs only refuses the test certificate, as LinkedIn would
        assert not emulator.notifications.validate(public)
        emulator.notifications.ca_file = str(ca_file)
        subscribe_all(emulator, public)  # LinkedIn validates the webhook (a challenge) through nginx
        leads = [lead for lead in emulator.data.leads if not lead.test_lead][:20]
        for lead in leads:
            assert emulator.notifications.notify(lead) == [200]
        assert emulator.notifications.notify(leads[0], bad_signature=True) == [401]
        wait_loaded(tmp_path / "journal.sqlite")
        receiver = pipeline_at(tmp_path, "receiver", "linkedin_leads" + RECEIVER_SUFFIX)
        loaded = sql(receiver, "SELECT id FROM lead_form_responses ORDER BY id")
        assert [r[0] for r in loaded] == sorted(lead.id for lead in leads)
        assert "POST /linkedin/lead-notifications" in (tmp_path / "access.log").read_text()
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=30)
        service.stop()
