"""The emulator is as strict as LinkedIn: the source's tests only mean something if it is."""

import random
import time
from typing import Dict, List, Optional

import pytest
import requests

from linkedin_leads.emulator import LinkedInEmulator

OWNER = "owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A510000000)"
GOOD: Dict[str, str] = {
    "Authorization": "Bearer test-access-token",
    "LinkedIn-Version": "202609",
    "X-Restli-Protocol-Version": "2.0.0",
}


def get(
    emulator: LinkedInEmulator,
    query: str,
    headers: Optional[Dict[str, str]] = None,
    path: str = "leadFormResponses",
) -> requests.Response:
    return requests.get(f"{emulator.base_url}/{path}?{query}", headers=GOOD if headers is None else headers)


LEADS = f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)&start=0&count=10"


def test_well_formed_request_is_served(emulator: LinkedInEmulator) -> None:
    response = get(emulator, LEADS)
    assert response.status_code == 200
    assert response.json()["elements"]


@pytest.mark.parametrize(
    "query",
    [
        # raw colons inside the URN: ambiguous under the grammar
        "q=owner&owner=(sponsoredAccount:urn:li:sponsoredAccount:510000000)&leadType=(leadType:SPONSORED)",
        # the whole value percent-encoded, as requests' params= would do
        "q=owner&owner=%28sponsoredAccount%3Aurn%253Ali%253AsponsoredAccount%253A510000000%29"
        "&leadType=(leadType:SPONSORED)",
        # leadType as a bare enum instead of an object
        f"q=owner&{OWNER}&leadType=SPONSORED",
        # missing leadType
        f"q=owner&{OWNER}",
        # SPONSORED leads of an organization
        "q=owner&owner=(organization:urn%3Ali%3Aorganization%3A2400000)&leadType=(leadType:SPONSORED)",
        # an organic lead type for an ad account
        f"q=owner&{OWNER}&leadType=(leadType:COMPANY)",
        # a time range with raw structure encoded
        f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)&submittedAtTimeRange=%28start%3A1%2Cend%3A2%29",
        # a List() projection
        f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)&fields=List(id)",
        # an unknown parameter
        f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)&sortBy=submittedAt",
        # a URN of the wrong type in the owner union
        "q=owner&owner=(sponsoredAccount:urn%3Ali%3Aorganization%3A2400000)&leadType=(leadType:SPONSORED)",
    ],
)
def test_badly_encoded_queries_are_refused(emulator: LinkedInEmulator, query: str) -> None:
    response = get(emulator, query)
    assert response.status_code == 400
    assert response.json()["code"] == "ILLEGAL_ARGUMENT"


def test_count_above_maximum_is_refused(emulator: LinkedInEmulator) -> None:
    response = get(emulator, f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)&start=0&count=1001")
    assert response.status_code == 400
    assert response.json()["message"] == "Request would return too many entities"


@pytest.mark.parametrize(
    "drop,status,code",
    [
        ("LinkedIn-Version", 400, "VERSION_MISSING"),
        ("Authorization", 401, "EMPTY_ACCESS_TOKEN"),
        ("X-Restli-Protocol-Version", 400, "ILLEGAL_ARGUMENT"),
    ],
)
def test_required_headers(emulator: LinkedInEmulator, drop: str, status: int, code: str) -> None:
    headers = {k: v for k, v in GOOD.items() if k != drop}
    response = get(emulator, LEADS, headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.parametrize("version", ["202401", "209901", "202512", "2026-09", "202609.01"])
def test_inactive_or_malformed_versions_get_426(emulator: LinkedInEmulator, version: str) -> None:
    response = get(emulator, LEADS, {**GOOD, "LinkedIn-Version": version})
    assert response.status_code == 426
    assert response.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": f"Requested version {version}01 is not active",
    }


def test_tokens(emulator: LinkedInEmulator) -> None:
    bad = get(emulator, LEADS, {**GOOD, "Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()["code"]) == (401, "INVALID_ACCESS_TOKEN")
    emulator.expire_access_tokens()
    expired = get(emulator, LEADS)
    assert (expired.status_code, expired.json()["code"]) == (401, "EXPIRED_ACCESS_TOKEN")


def test_oauth_refresh(emulator: LinkedInEmulator) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "test-refresh-token",
        "client_id": "test-client",
        "client_secret": "test-client-secret",
    }
    ok = requests.post(emulator.token_url, data=form)
    assert ok.status_code == 200 and ok.json()["expires_in"] == 5184000
    served = get(emulator, LEADS, {**GOOD, "Authorization": f"Bearer {ok.json()['access_token']}"})
    assert served.status_code == 200
    wrong_secret = requests.post(emulator.token_url, data={**form, "client_secret": "x"})
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    revoked = requests.post(emulator.token_url, data={**form, "refresh_token": "x"})
    assert (revoked.status_code, revoked.json()["error"]) == (400, "invalid_grant")


def test_pages_are_short_unsorted_and_total_is_wrong(emulator: LinkedInEmulator) -> None:
    """What a naive client gets wrong: it stops early or skips records."""
    query = f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)"
    first = get(emulator, f"{query}&start=0&count=10").json()
    second = get(emulator, f"{query}&start=10&count=10").json()
    assert len(first["elements"]) == 10
    assert len(second["elements"]) < 10  # short although more remain
    assert get(emulator, f"{query}&start=20&count=10").json()["elements"]
    assert second["paging"]["total"] == len(second["elements"])
    times = [e["submittedAt"] for e in first["elements"]]
    assert times != sorted(times) and times != sorted(times, reverse=True)


def test_small_answers_come_back_without_a_delayed_ack_stall(emulator: LinkedInEmulator) -> None:
    """A small answer (an empty page, a size probe) on a kept-alive connection is not held back.

    The handler writes headers and body apart; with Nagle's algorithm on, the body waited for the
    client's delayed ACK of the headers: 40 ms an answer on Linux, which made every small request
    of the source cost more in the benchmark than a page of 1,000 leads. Twenty such answers took
    0.8 s or more; without the stall they take a few ms each.
    """
    session = requests.Session()
    empty = f"q=owner&{OWNER}&leadType=(leadType:SPONSORED)&start=100000&count=10"
    assert (
        session.get(f"{emulator.base_url}/leadFormResponses?{empty}", headers=GOOD).json()["elements"] == []
    )
    started = time.perf_counter()
    for _ in range(20):
        assert session.get(f"{emulator.base_url}/leadFormResponses?{empty}", headers=GOOD).status_code == 200
    assert time.perf_counter() - started < 0.5


def test_time_ranges_select_as_a_scan_of_every_lead_would(emulator: LinkedInEmulator) -> None:
    """The emulator finds a time range by bisection over an index of each (owner, lead type); it
    selects what a scan of every lead selects, bounds as configured, leads added later included."""
    lead = emulator.data.leads[0]
    pair = (lead.owner_kind, lead.owner_id, lead.lead_type)
    times = sorted(
        {x.submitted_at for x in emulator.data.leads if (x.owner_kind, x.owner_id, x.lead_type) == pair}
    )
    assert len(times) > 10

    def select(lo: Optional[int], hi: Optional[int]) -> List[str]:
        with emulator._lock:
            return [x.id for x in emulator._select((*pair, None, (lo, hi), None))]

    def scan(lo: Optional[int], hi: Optional[int]) -> List[str]:
        now = emulator.now_ms()
        found = [
            x
            for x in emulator.data.leads
            if (x.owner_kind, x.owner_id, x.lead_type) == pair
            and emulator._retained(x, now)
            and (
                lo is None or x.submitted_at > lo or (x.submitted_at == lo and emulator.range_start_inclusive)
            )
            and (hi is None or x.submitted_at < hi or (x.submitted_at == hi and emulator.range_end_inclusive))
        ]
        return [x.id for x in sorted(found, key=lambda x: x.order_key)]

    ranges = [
        (None, None),
        (times[2], times[8]),
        (times[0] - 1, times[-1]),
        (times[5], times[5]),
        (None, times[3]),
    ]
    for lo, hi in ranges:
        assert select(lo, hi) == scan(lo, hi)
    late = emulator.data.make_lead(lead.form_id, times[4], random.Random(3), lead_type=lead.lead_type)
    emulator.data.leads.append(late)  # as some tests do, without add_leads: the index notices
    assert late.id in select(times[2], times[8]) and select(times[2], times[8]) == scan(times[2], times[8])
