"""Faults LinkedIn throws at an unattended pipeline: each ends with every lead exactly once,
or with a clear error that leaves the cursor where it was."""

import random
import time
from typing import Any, Callable, List, Optional

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from linkedin_leads import LinkedInAccessError, LinkedInAPIError, LinkedInAuthError, find_cause
from linkedin_leads.emulator import Fault, LinkedInEmulator
from linkedin_leads.emulator.data import DAY_MS
from linkedin_leads.reading.left import responses_state

from .conftest import DAILY_QUOTA_BODY, every_lead_once, lead_ids, make_source, oauth

MakePipeline = Callable[..., dlt.Pipeline]


def cursor(pipeline: dlt.Pipeline) -> Optional[Any]:
    """dlt's own cursor (the newest ``submitted_at`` loaded), None before any lead."""
    return responses_state(pipeline).get("incremental", {}).get("submitted_at", {}).get("last_value")


def failure(pipeline: dlt.Pipeline, source: Any) -> BaseException:
    with pytest.raises(PipelineStepFailed) as info:
        pipeline.run(source)
    return find_cause(info.value, (LinkedInAPIError, LinkedInAuthError)) or info.value


def next_run_is_complete(pipeline: dlt.Pipeline, emulator: LinkedInEmulator, fault: Fault) -> None:
    """Once the fault clears, the next run loads every lead exactly once."""
    fault.times = 0
    pipeline.run(make_source(emulator, lookback_hours=0))
    every_lead_once(pipeline, emulator)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(
            path="leadFormResponses",
            status=429,
            body={"status": 429, "message": "Too many requests"},
            times=3,
        ),
        Fault(
            path="leadFormResponses",
            status=429,
            body={
                "status": 429,
                "message": "Resource level throttle limit for calls to this resource is reached.",
            },
            headers={"Retry-After": "1"},
            times=2,
        ),
        Fault(
            path="leadFormResponses",
            status=500,
            body={"status": 500, "code": "INTERNAL_SERVER_ERROR"},
            times=2,
        ),
        Fault(path="leadForms", status=502, body=b"<html>bad gateway</html>", times=2),
        Fault(
            path="leadFormResponses", status=503, body={"status": 503, "code": "SERVICE_UNAVAILABLE"}, times=4
        ),
        Fault(path="leadFormResponses", status=504, body=b"", times=2, after=3),
        Fault(path="leadFormResponses", action="reset", times=2, after=1),
        Fault(path="leadFormResponses", action="truncate", times=2, after=2),
        Fault(path="leadForms", action="truncate", times=1),
        Fault(path="oauth", status=503, body=b"", times=2),
    ],
    ids=[
        "429",
        "429-retry-after",
        "500",
        "502-html",
        "503",
        "504-empty",
        "reset",
        "truncated",
        "truncated-forms",
        "token-503",
    ],
)
def test_transient_faults_are_retried(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, fault: Fault
) -> None:
    times = fault.times
    emulator.inject(fault)
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, credentials=oauth(emulator)))
    every_lead_once(pipeline, emulator)
    assert fault.times == 0, f"only {times - fault.times} of {times} faults were served"


def test_slow_answer_past_the_timeout_is_retried(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "1")
    fault = emulator.inject(Fault(path="leadFormResponses", delay=2.5, times=1))
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator))
    every_lead_once(pipeline, emulator)
    assert fault.times == 0


def test_persistent_outage_keeps_what_was_read_and_says_what_is_left(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, lookback_hours=0))
    rng = random.Random(3)
    forms = list(emulator.data.forms)
    emulator.add_leads(
        [emulator.data.make_lead(f, int(time.time() * 1000) - 5000 + i, rng) for i, f in enumerate(forms)]
    )
    fault = emulator.inject(
        Fault(path="leadFormResponses", status=503, body={"status": 503}, times=1000, after=2)
    )
    pipeline.run(make_source(emulator, lookback_hours=0, concurrency=1))  # ends, partly read
    warning = next(line for line in dlt_log if "were not all read" in line)
    assert "LinkedIn answered 503" in warning and "leadFormResponses" in warning
    assert "(errors)" in warning
    next_run_is_complete(pipeline, emulator, fault)


def test_unreadable_lead_shape_fails_at_once_naming_the_field(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    """Valid JSON of a shape no lead has is not retried like a cut body, and says where."""
    lead = emulator.visible_leads()[0]
    lead.entity["formResponse"]["answers"] = {"questionId": 1}  # an object where a list belongs
    lead._json = None
    pipeline = make_pipeline()
    error = failure(pipeline, make_source(emulator))
    assert isinstance(error, LinkedInAPIError) and error.code == "UNEXPECTED_SHAPE"
    assert "formResponse.answers" in str(error) and "Expected `array" in str(error)
    failed = [
        call for call in emulator.calls("leadFormResponses") if call.query == error.url.split("?", 1)[1]
    ]
    assert len(failed) == 1  # asked once
    assert cursor(pipeline) is None


def test_unreachable_linkedin_fails_clearly(emulator: LinkedInEmulator, make_pipeline: MakePipeline) -> None:
    emulator.inject(Fault(path="leadForms", action="reset", times=1000))
    error = failure(make_pipeline(), make_source(emulator))
    assert isinstance(error, LinkedInAPIError)
    assert "could not be reached" in str(error) and "request_max_attempts" in str(error)


def test_daily_quota_is_retried_a_bounded_number_of_times_then_the_run_stops(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, lookback_hours=0))
    loaded = lead_ids(pipeline)
    fault = emulator.inject(Fault(path="leadFormResponses", status=429, body=DAILY_QUOTA_BODY, times=1000))
    emulator.reset_log()
    started = time.perf_counter()
    pipeline.run(make_source(emulator, lookback_hours=0, concurrency=1))
    assert time.perf_counter() - started < 10
    warning = next(line for line in dlt_log if "were not all read" in line)
    assert "daily quota" in warning and "resets at" in warning
    # request_max_attempts (5) for the first query, then nothing more is asked
    assert len(emulator.calls("leadFormResponses")) == 5
    assert lead_ids(pipeline) == loaded
    next_run_is_complete(pipeline, emulator, fault)


def test_invalid_refresh_token_has_its_own_message(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    error = failure(make_pipeline(), make_source(emulator, credentials=oauth(emulator, "revoked-token")))
    assert isinstance(error, LinkedInAuthError)
    text = str(error)
    assert (
        "refused the refresh token" in text and "invalid_grant" in text and "authorize the app again" in text
    )
    assert "revoked-token" not in text and "test-client-secret" not in text


def test_sunset_version_falls_back_to_the_newest_active_one(
    dataset: Any, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    with LinkedInEmulator(dataset, versions={"202605", "202610"}) as emulator:
        pipeline = make_pipeline()
        pipeline.run(make_source(emulator, api_version="202609"))
        every_lead_once(pipeline, emulator)
    warnings = "\n".join(line for line in dlt_log if line.startswith("WARNING"))
    assert "LinkedIn-Version 202609 is no longer active; using 202610" in warnings
    assert 'api_version = "202610"' in warnings


def test_no_active_version_fails_clearly(dataset: Any, make_pipeline: MakePipeline) -> None:
    with LinkedInEmulator(dataset, versions={"201901"}) as emulator:
        error = failure(make_pipeline(), make_source(emulator))
    assert isinstance(error, LinkedInAPIError) and error.status == 426
    assert "Set `api_version`" in str(error) and "neither is any version from" in str(error)


def test_owner_without_access_is_named_with_the_scope(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    denied = f"urn:li:sponsoredAccount:{emulator.data.accounts[1]}"
    emulator.denied["member-1"] = {denied}
    error = failure(make_pipeline(), make_source(emulator))
    assert isinstance(error, LinkedInAccessError) and error.owner_urn == denied
    assert denied in str(error) and "r_marketing_leadgen_automation" in str(error)
    assert "skip_inaccessible_owners" in str(error)


def test_skipped_owner_is_loaded_in_full_once_accessible(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline, dlt_log: List[str]
) -> None:
    denied_id = emulator.data.accounts[1]
    emulator.denied["member-1"] = {f"urn:li:sponsoredAccount:{denied_id}"}
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, skip_inaccessible_owners=True))
    assert any(f"WARNING Skipped urn:li:sponsoredAccount:{denied_id}" in line for line in dlt_log)
    assert pipeline.last_trace is not None
    extract = pipeline.last_trace.last_extract_info
    assert extract is not None
    metrics = next(m for ms in extract.metrics.values() for m in ms)["resource_metrics"]
    assert metrics["lead_form_responses"].custom_metrics["owners_skipped"] == [
        f"urn:li:sponsoredAccount:{denied_id}"
    ]
    others = [lead for lead in emulator.visible_leads() if lead.owner_id != denied_id]
    assert lead_ids(pipeline) == sorted(lead.id for lead in others)
    # access is granted: the next run reads that owner from start_date, below the cursor
    emulator.denied.clear()
    pipeline.run(make_source(emulator, skip_inaccessible_owners=True))
    every_lead_once(pipeline, emulator)


def test_an_owner_added_later_gets_its_history(
    emulator: LinkedInEmulator, make_pipeline: MakePipeline
) -> None:
    first, second = emulator.data.accounts
    pipeline = make_pipeline()
    pipeline.run(make_source(emulator, account_ids=[first], organization_ids=None))
    pipeline.run(make_source(emulator, account_ids=[first, second], organization_ids=None))
    expected = [lead for lead in emulator.visible_leads() if lead.owner_kind == "sponsoredAccount"]
    assert lead_ids(pipeline) == sorted(lead.id for lead in expected)
    older = [
        lead
        for lead in expected
        if lead.owner_id == second and lead.submitted_at < int(time.time() * 1000) - 100 * DAY_MS
    ]
    assert older
