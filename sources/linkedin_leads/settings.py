"""Constants of the LinkedIn Lead Sync API and of this source's defaults."""

import argparse
from typing import Dict, Tuple

from dlt.common.schema.typing import TTableSchemaColumns

VERSION = "1.0.0"
"""This package's version: the one place it is kept (``pyproject.toml`` reads it from here; see
``CHANGELOG.md``). ``linkedin-leads --version`` prints it, and every run's summary."""

DEFAULT_BASE_URL = "https://api.linkedin.com/rest"
"""LinkedIn's versioned REST base URL."""

DEFAULT_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
"""LinkedIn's OAuth 2.0 token endpoint (refresh-token grant)."""

DEFAULT_AUTHORIZATION_URL = "https://www.linkedin.com/oauth/v2/authorization"
"""LinkedIn's authorization page of the 3-legged flow (``python -m linkedin_leads auth``)."""

DEFAULT_INTROSPECTION_URL = "https://www.linkedin.com/oauth/v2/introspectToken"
"""LinkedIn's token introspection endpoint (form: ``client_id``, ``client_secret``, ``token``)."""

DEFAULT_API_VERSION = "202609"
"""The ``LinkedIn-Version`` header sent by default (``YYYYMM``).

LinkedIn supports each monthly version for at least one year; 202609 was the
newest version known at release.
"""

RESTLI_PROTOCOL_VERSION = "2.0.0"

DEFAULT_PAGE_SIZE = 1000
"""Leads or forms asked for per request (``count``).

LinkedIn documents no maximum for the lead endpoints; 1000 is the largest value
production connectors use against them (500 and 1000 are both in use).
"""

MAX_PAGE_SIZE = 1000
MIN_PAGE_SIZE = 1
MIN_COUNT = 10
"""When LinkedIn refuses a ``count`` as too large, it is halved down to this, no further."""

RETENTION_DAYS = 365
"""LinkedIn keeps leads for up to 365 days; the default first window."""

SPONSORED_ACCOUNT = "sponsoredAccount"
ORGANIZATION = "organization"

SPONSORED_LEAD_TYPES: Tuple[str, ...] = ("SPONSORED",)
ORGANIZATION_LEAD_TYPES: Tuple[str, ...] = ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")
LEAD_TYPES_BY_OWNER: Dict[str, Tuple[str, ...]] = {
    SPONSORED_ACCOUNT: SPONSORED_LEAD_TYPES,
    ORGANIZATION: ORGANIZATION_LEAD_TYPES,
}

TEST_LEADS_MODES: Tuple[str, ...] = ("include", "exclude", "only")

LEAD_FORMS_PATH = "leadForms"
LEAD_FORM_RESPONSES_PATH = "leadFormResponses"

EXPIRED_ACCESS_TOKEN = "EXPIRED_ACCESS_TOKEN"

LEAD_FIELDS = (
    "id,owner,leadType,versionedLeadGenFormUrn,submittedAt,testLead,formResponse,submitter,"
    "leadMetadata,associatedEntity,ownerInfo,leadMetadataInfo,associatedEntityInfo"
)
"""The ``fields`` projection of the responses finder: the lead and the ``*Info`` decorations
that carry names (owner, campaign, creative), in the same call. LinkedIn's Lead Sync guide
says the creative's id and name come back with ``associatedEntityInfo``."""

FORM_VERSION_FIELDS = "versionedLeadGenFormUrn,form:(hiddenFields,creationLocale,name,id,content)"
"""The projection that returns, with a lead, the form version it was submitted on.

Asked for once per form version that is not the current one (one lead of that version),
not with every lead: the form is larger than the lead it comes with, and parsing it with
each lead would cost several times the throughput (``bench/README.md``).
"""

DEFAULT_LOOKBACK_HOURS = 24.0
"""Each run re-reads the leads submitted this long before the newest lead already loaded."""

LEADS_TABLE = "lead_form_responses"
ANSWERS_TABLE = "lead_form_responses__answers"
CONSENTS_TABLE = "lead_form_responses__consents"

DEFAULT_CONCURRENCY = 10
"""Queries (time slices of owners and lead types) read at once. LinkedIn limits calls per day,
not connections; ten at once make a run about as long as its slowest slice."""
MAX_CONCURRENCY = 32

NONEXISTENT_VERSION = "NONEXISTENT_VERSION"
VERSION_FALLBACK_MONTHS = 13
"""When the pinned ``LinkedIn-Version`` is sunset, the current month and this many before it
are tried, newest first (LinkedIn supports a version for at least a year)."""

LEAD_NOTIFICATIONS_PATH = "leadNotifications"
DELETED_TABLE = "lead_form_responses_deleted"
"""Ids of leads deleted on LinkedIn (notified, or found by the pull's check): the pull skips them."""
HARD_DELETE_COLUMN = "_deleted"
"""A row with this column true deletes its key's rows (dlt's ``hard_delete`` hint); always null
in the destination, since such rows are never inserted."""
HARD_DELETE_HINT: TTableSchemaColumns = {HARD_DELETE_COLUMN: {"data_type": "bool", "hard_delete": True}}
BATCH_GET_SIZE = 50
"""Leads asked for in one BATCH_GET (``ids=List(...)``) by the notification loader."""
QUESTION_COLUMNS_TABLE = "lead_form_question_columns"
"""Question -> column names, written and read by every writer of the dataset (``shared``)."""
DEFAULT_DELETION_CHECK_DAYS = 30
"""The pull looks for leads deleted on LinkedIn among those submitted this many days back."""
MAX_DELETION_CHECK_DAYS = 60
"""Never further back: a lead ageing out of LinkedIn's retention (90 days for some lead types)
must never look deleted."""
DEFAULT_DELETION_CHECK_EVERY_HOURS = 24.0
"""How often (at most) each writer checks its owners for deleted leads."""
DELETION_CHECK_FIELDS = "id,submittedAt,testLead"
"""The projection of the deletion check's listing (the paging needs ``submittedAt``)."""

DEFAULT_LOCK_TIMEOUT = 600.0
"""Seconds a writer waits for another to free the DuckDB file (``destination_lock_timeout``)."""
RECEIVER_SUFFIX = "_receiver"
"""The receiver's pipeline is the pull's name with this suffix: a state of its own."""
RUNNER_SETTINGS = ("destination_lock_timeout",)
"""Keys under ``[sources.linkedin_leads]`` read by the runners (script, receiver), not the source."""
SOURCE_SETTINGS = (
    "account_ids",
    "organization_ids",
    "lead_types",
    "start_date",
    "test_leads",
    "lookback_hours",
    "credentials",
    "base_url",
    "api_version",
    "page_size",
    "concurrency",
    "skip_inaccessible_owners",
    "deletion_check_days",
    "deletion_check_every_hours",
)
"""The source's arguments: the keys of ``[sources.linkedin_leads]`` (``config.check_keys``)."""
NOTIFICATION_SETTINGS = ("client_secret", "journal", "host", "port", "path", "batch_seconds", "batch_size")
"""The receiver's keys, under ``[sources.linkedin_leads.notifications]``."""
PLACEHOLDERS = ("<configure me>", "your linkedin app ", "a member refresh token", "a member access token")
"""How the placeholders of ``.dlt/example.secrets.toml`` and ``dlt init`` begin (lower case)."""


def add_version(*parsers: "argparse.ArgumentParser") -> None:
    """``--version`` on each command line and each of its commands: ``linkedin_leads <VERSION>``."""
    for parser in parsers:
        parser.add_argument("--version", action="version", version=f"linkedin_leads {VERSION}")


SCRIPT = "linkedin_leads_pipeline.py"
_INVOKED_AS = ["python -m linkedin_leads"]
"""How the user started this process (set by the entry point: ``invoked_as``)."""


def invoked_as(prog: str) -> None:
    """Records how the user ran this program, so that messages name commands the same way.

    Args:
        prog: ``linkedin-leads``, ``python -m linkedin_leads`` or ``python linkedin_leads_pipeline.py``.
    """
    _INVOKED_AS[0] = prog


def command(words: str) -> str:
    """The command line that runs ``words`` (``auth``, ``run --demo``) the way the user ran this one.

    Args:
        words: The command and its options, as ``linkedin-leads`` takes them.

    Returns:
        str: E.g. ``linkedin-leads auth``, ``python -m linkedin_leads auth``, or for the example
        script ``python linkedin_leads_pipeline.py --demo`` (the script runs; the rest is the package's).
    """
    prog = _INVOKED_AS[0]
    if prog.endswith(SCRIPT):
        if words == "run" or words.startswith("run "):
            return f"{prog}{words[3:]}"
        if words == "check":
            return f"{prog} --check"
        return f"python -m linkedin_leads {words}"
    return f"{prog} {words}"
