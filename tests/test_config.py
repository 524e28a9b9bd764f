"""Bad input: a clear error naming the setting, the value and the fix, before any request."""

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest

from linkedin_leads import LinkedInConfigError, linkedin_leads
from linkedin_leads.emulator import LinkedInEmulator

from .conftest import access_token, oauth

FUTURE = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()

BAD: Dict[str, Any] = {
    "not a number": ({"account_ids": "512345678, abc"}, "account_ids", "neither a numeric id nor a URN"),
    "malformed urn": ({"account_ids": "urn:li:sponsoredAccount:12x"}, "account_ids", "neither a numeric id"),
    "urn of wrong type": (
        {"account_ids": "urn:li:organization:5"},
        "account_ids",
        "is a URN of type organization",
    ),
    "org urn of wrong type": (
        {"organization_ids": ["urn:li:sponsoredAccount:5"]},
        "organization_ids",
        "takes urn:li:organization:N",
    ),
    "zero id": ({"account_ids": [0]}, "account_ids", "not a positive id"),
    "unknown lead type": ({"lead_types": "ORGANIC"}, "lead_types", "not a LinkedIn lead type"),
    "lead type without owner": (
        {"lead_types": "EVENT", "organization_ids": None},
        "lead_types",
        "lead type EVENT is read from `organization_ids`",
    ),
    "unparseable start": ({"start_date": "yesterday"}, "start_date", "ISO 8601"),
    "future start": ({"start_date": FUTURE}, "start_date", "in the future"),
    "test_leads": ({"test_leads": "some"}, "test_leads", "include, exclude, only"),
    "page size 0": ({"page_size": 0}, "page_size", "from 1 to 1000"),
    "page size too big": ({"page_size": 5000}, "page_size", "from 1 to 1000"),
    "api version": ({"api_version": "2026-09"}, "api_version", "YYYYMM"),
    "api month": ({"api_version": "202613"}, "api_version", "YYYYMM"),
    "base url": ({"base_url": "ftp://api.linkedin.com/rest"}, "base_url", "http(s) URL"),
    "bare host": ({"base_url": "api.linkedin.com"}, "base_url", "http(s) URL"),
    "lookback": ({"lookback_hours": -1}, "lookback_hours", "from 0 to 720"),
    "concurrency": ({"concurrency": 0}, "concurrency", "from 1 to 32"),
    "deletion check too far back": ({"deletion_check_days": 61}, "deletion_check_days", "to 60"),
    "deletion check days negative": ({"deletion_check_days": -1}, "deletion_check_days", "0 (no check)"),
    "deletion check hours": (
        {"deletion_check_every_hours": -2},
        "deletion_check_every_hours",
        "0 (every run)",
    ),
    "empty access token": ({"credentials": access_token("")}, "credentials.access_token", "<empty>"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_refused_before_any_request(emulator: LinkedInEmulator, name: str) -> None:
    overrides, setting, fragment = BAD[name]
    args: Dict[str, Any] = {
        "account_ids": emulator.data.accounts,
        "organization_ids": emulator.data.organizations,
        "credentials": access_token(),
        "base_url": emulator.base_url,
    }
    args.update(overrides)
    with pytest.raises(LinkedInConfigError) as info:
        linkedin_leads(**args)
    message = str(info.value)
    assert f"Setting `{setting}`" in message and fragment in message
    assert info.value.setting == setting
    assert not emulator.requests  # nothing was fetched


def test_empty_oauth_field_names_it_without_quoting_secrets(emulator: LinkedInEmulator) -> None:
    credentials = oauth(emulator)
    credentials.client_secret = " "
    with pytest.raises(LinkedInConfigError) as info:
        linkedin_leads(account_ids=[1], credentials=credentials, base_url=emulator.base_url)
    assert "credentials.client_secret" in str(info.value)
    assert "test-refresh-token" not in str(info.value)


def test_both_credential_kinds_are_refused(
    emulator: LinkedInEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_ID", "test-client")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_SECRET", "cs-value")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__REFRESH_TOKEN", "rt-value")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN", "at-value")
    with pytest.raises(LinkedInConfigError) as info:
        linkedin_leads(account_ids=[1], base_url=emulator.base_url)
    message = str(info.value)
    assert "keep one kind" in message
    assert not any(value in message for value in ("cs-value", "rt-value", "at-value"))


def test_access_token_with_part_of_an_oauth_client_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN", "at-value")
    monkeypatch.setenv("SOURCES__LINKEDIN_LEADS__CREDENTIALS__CLIENT_ID", "test-client")
    with pytest.raises(LinkedInConfigError, match="access_token alone"):
        linkedin_leads(account_ids=[1])


def test_no_credentials_names_both_kinds() -> None:
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    with pytest.raises(ConfigFieldMissingException) as info:
        linkedin_leads(account_ids=[1])
    assert "credentials" in str(info.value)


def test_start_date_beyond_retention_only_warns(emulator: LinkedInEmulator, dlt_log: List[str]) -> None:
    linkedin_leads(
        account_ids=[1], credentials=access_token(), base_url=emulator.base_url, start_date="2020-01-01"
    )
    assert any(
        line.startswith("WARNING") and "older than LinkedIn's 365-day lead retention" in line
        for line in dlt_log
    )


@pytest.mark.parametrize(
    "value,expected",
    [
        (512345678, [512345678]),
        ("512345678", [512345678]),
        ("512345678, 512345679 urn:li:sponsoredAccount:512345680", [512345678, 512345679, 512345680]),
        (["urn:li:sponsoredAccount:1", 2, "3"], [1, 2, 3]),
        ('["1", 2]', [1, 2]),
        ("1,1", [1]),
    ],
)
def test_id_forms(value: Any, expected: Any) -> None:
    from linkedin_leads.config.owners import parse_ids

    assert parse_ids("account_ids", value, "sponsoredAccount") == expected
