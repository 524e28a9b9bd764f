"""Secrets never appear in logs (DEBUG included), exceptions, the trace, load info, the pipeline's
files or the destination, during runs that refresh tokens and hit errors."""

import logging
import traceback
from pathlib import Path
from typing import Any, Callable, List

import dlt
import pytest

from linkedin_leads import LinkedInAccessTokenCredentials, LinkedInOAuthCredentials
from linkedin_leads.emulator import Fault, LinkedInEmulator

from .conftest import make_source

MakePipeline = Callable[..., dlt.Pipeline]
CLIENT_SECRET = "cs-SECRET-7f3a91"
REFRESH_TOKEN = "rt-SECRET-c02be4"
ACCESS_TOKEN = "at-SECRET-55d1e0"


def everything_written(tmp_path: Path, pipeline: dlt.Pipeline) -> str:
    """Every file under the test folder (pipeline state, trace, load packages, DuckDB) as text."""
    chunks: List[str] = []
    for path in tmp_path.rglob("*"):
        if path.is_file():
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    with pipeline.sql_client() as client:
        for (table,) in client.execute_sql(  # type: ignore[union-attr]  # a SELECT always has rows
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", pipeline.dataset_name
        ):
            chunks.append(str(client.execute_sql(f'SELECT * FROM "{table}"')))
    return "\n".join(chunks)


def test_no_secret_leaks_with_debug_logging(
    emulator: LinkedInEmulator,
    make_pipeline: MakePipeline,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    dlt_log: List[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    emulator.clients = {"test-client": CLIENT_SECRET}
    emulator.refresh_tokens = {REFRESH_TOKEN: "member-1"}
    emulator.tokens[ACCESS_TOKEN] = emulator.tokens.pop("test-access-token")
    emulator.token_uses = 5  # tokens expire mid-run: refreshes happen
    emulator.inject(Fault(path="leadFormResponses", status=503, body={"status": 503}, times=2))
    emulator.inject(Fault(path="oauth", status=500, body=b"", times=1))
    denied = f"urn:li:sponsoredAccount:{emulator.data.accounts[1]}"
    emulator.denied["member-1"] = {denied}
    oauth = LinkedInOAuthCredentials()
    oauth.client_id, oauth.client_secret, oauth.refresh_token = "test-client", CLIENT_SECRET, REFRESH_TOKEN
    oauth.token_url = emulator.token_url
    texts: List[str] = []
    pipeline = make_pipeline()
    with caplog.at_level(logging.DEBUG):
        info = pipeline.run(
            make_source(emulator, credentials=oauth, skip_inaccessible_owners=True, page_size=60)
        )
        assert pipeline.last_trace is not None
        texts += [str(info), repr(info), str(pipeline.last_trace), repr(pipeline.last_trace.asdict())]
        # a failing run: the denied owner without skipping, then an expired access token
        credentials: Any
        for credentials in (oauth, None):
            if credentials is None:
                emulator.expire_access_tokens()
                credentials = LinkedInAccessTokenCredentials()
                credentials.access_token = ACCESS_TOKEN
            with pytest.raises(Exception) as failure:
                pipeline.run(make_source(emulator, credentials=credentials))
            texts += [str(failure.value), "".join(traceback.format_exception(failure.value))]
            assert pipeline.last_trace is not None
            texts += [str(pipeline.last_trace), repr(pipeline.last_trace.asdict())]
    # every message sent through dlt's logger at any level, what reached the root logger
    # (urllib3 ...), and stderr (searched too, but asserted on nothing: dlt's handler keeps the
    # stderr of the test that created it)
    logs = [capfd.readouterr().err, caplog.text, "\n".join(dlt_log)]
    texts += [*logs, everything_written(tmp_path, pipeline)]
    issued = [token for token in emulator.tokens if token != ACCESS_TOKEN]
    assert len(issued) > 2
    assert any(line.startswith("DEBUG") for line in dlt_log)
    assert "INFO LinkedIn access token refused or expired; obtained a new one" in logs[2]
    assert "has expired" in texts[-3] or any("has expired" in t for t in texts)
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN, *issued):
        for text in texts:
            assert secret not in text
