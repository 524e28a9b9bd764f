"""Loads LinkedIn Lead Gen Forms and the leads submitted through them (Lead Sync API).

What it loads is ``linkedin_leads`` below: ``lead_forms``, and ``lead_form_responses`` with its
child tables ``__answers`` and ``__consents``. Where the rest lives (``docs/layout.md`` has the map);
each part imports only from those listed after it:

- ``commands/``: ``run`` (summary, exit codes), the demo, ``check``, ``auth``, the command line;
- ``notifications/``: the lead-notification receiver;
- this module: the source;
- ``reading/``: the resource bodies, time slices and progress, concurrency, discovery, the
  deletion check, leads read by id, and what the writers of one dataset share;
- ``tables/``: pages into tables: lead records, forms and question columns, answers, the lead,
  answer and consent rows, deletions; ``config/``: every setting checked before any request;
- ``api/``: the LinkedIn API client: HTTP, OAuth credentials, Rest.li, URNs, paging, errors;
- ``settings.py``: constants, and the version.

``emulator/`` stands apart: a strict LinkedIn emulator for the tests and ``--demo``.
"""

from typing import Any, Iterator, Optional, Sequence, Union

import dlt
from dlt.common import pendulum
from dlt.common.typing import TDataItem
from dlt.extract.items import DataItemWithMeta
from dlt.sources import DltResource

from .api.credentials import LinkedInAccessTokenCredentials, LinkedInCredentials, LinkedInOAuthCredentials
from .api.exceptions import (
    LinkedInAccessError,
    LinkedInAPIError,
    LinkedInAuthError,
    LinkedInConfigError,
    LinkedInLeadsError,
    LinkedInQuotaError,
    find_cause,
)
from .config.checks import (
    check_concurrency,
    check_deletion_check_days,
    check_deletion_check_every,
    check_lookback,
    check_test_leads,
    checked_client,
    parse_start_date,
)
from .config.keys import check_keys
from .config.owners import IdsSetting, LeadTypesSetting, configured_owners
from .reading.left import left_line, work_left
from .reading.speedups import cache_jsonpath_parsing
from .settings import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_DELETION_CHECK_DAYS,
    DEFAULT_DELETION_CHECK_EVERY_HOURS,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_PAGE_SIZE,
    HARD_DELETE_HINT,
    VERSION,
)

__version__ = VERSION

cache_jsonpath_parsing()  # dlt parses the cursor path for every Arrow table otherwise (speedups.py)

__all__ = [
    "VERSION",
    "LinkedInAPIError",
    "LinkedInAccessError",
    "LinkedInAccessTokenCredentials",
    "LinkedInAuthError",
    "LinkedInConfigError",
    "LinkedInLeadsError",
    "LinkedInOAuthCredentials",
    "LinkedInQuotaError",
    "__version__",
    "find_cause",
    "left_line",
    "linkedin_leads",
    "work_left",
]


@dlt.source(name="linkedin_leads")
def linkedin_leads(
    account_ids: IdsSetting = None,
    organization_ids: IdsSetting = None,
    lead_types: LeadTypesSetting = None,
    start_date: Optional[Union[str, pendulum.Date, pendulum.DateTime]] = None,
    test_leads: str = "include",
    lookback_hours: float = DEFAULT_LOOKBACK_HOURS,
    credentials: LinkedInCredentials = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
    page_size: int = DEFAULT_PAGE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    skip_inaccessible_owners: bool = False,
    deletion_check_days: int = DEFAULT_DELETION_CHECK_DAYS,
    deletion_check_every_hours: float = DEFAULT_DELETION_CHECK_EVERY_HOURS,
) -> Sequence[DltResource]:
    """LinkedIn lead forms and lead form responses of ad accounts and company pages.

    Every argument can also come from ``[sources.linkedin_leads]`` in ``.dlt/*.toml``
    or from ``SOURCES__LINKEDIN_LEADS__<NAME>`` environment variables.

    Args:
        account_ids: Sponsored ad account ids (ints, numeric strings or
            ``urn:li:sponsoredAccount:N``; a list or a comma separated string). With neither
            ``account_ids`` nor ``organization_ids``, every ad account the token can read and
            every organization where the member holds a lead-gen role is discovered and read.
        organization_ids: Organization (company page) ids for organic leads, same forms.
        lead_types: Lead types to read. Default: SPONSORED for ad accounts; COMPANY,
            EVENT and ORGANIZATION_PRODUCT for organizations.
        start_date: The start of the window every run covers (a date or ISO datetime, UTC
            if naive); each (owner, lead type) is read from it once, and then only what it
            has not read. Default: 365 days ago, LinkedIn's retention.
        test_leads: ``include`` (default), ``exclude`` or ``only``.
        lookback_hours: Each run re-reads, per (owner, lead type), the leads submitted up to
            this many hours before the newest lead it read, to catch leads LinkedIn makes
            visible late; merging on ``id`` keeps each lead once. Default 24.
        credentials: OAuth refresh-token credentials or a plain access token.
        base_url: The API base URL.
        api_version: The ``LinkedIn-Version`` header, ``YYYYMM``.
        page_size: Records asked for per request (1 to 1000).
        concurrency: How many queries (time slices of owners and lead types) are read at
            once (1 to 32). Default 10.
        skip_inaccessible_owners: Skip, with a warning, an owner LinkedIn refuses (403)
            instead of failing the run; once accessible it continues where it stopped.
        deletion_check_days: Leads submitted this many days back (0 to 60; 0: no check) are
            checked for deletion on LinkedIn: missing from LinkedIn's listing and confirmed
            by id, they leave the lead tables (``docs/guarantees.md``). Default 30.
        deletion_check_every_hours: Hours between two checks of an owner and lead type
            (0: every run). Default 24.

    Returns:
        Sequence[DltResource]: ``lead_forms`` and ``lead_form_responses``; the latter
        also fills ``lead_form_responses__answers`` and ``lead_form_responses__consents``.
    """
    # What reads and builds the tables needs pyarrow and msgspec: imported when the source is
    # made, not with the package, so that `dlt init` inspects this module with only dlt installed
    from .reading.deletion_check import CheckSettings
    from .reading.resources import check_meta, list_lead_forms, read_leads
    from .tables.columns import FORM_COLUMNS
    from .tables.forms import FormCatalog
    from .tables.questions import QuestionColumns

    check_keys()  # a key nothing reads (a typo) is an error, not a silent default
    owners = configured_owners(account_ids, organization_ids, lead_types)  # none: discovered
    initial_value = parse_start_date(start_date, pendulum.now("UTC"))
    test_mode = check_test_leads(test_leads)
    lookback = check_lookback(lookback_hours)
    concurrency = check_concurrency(concurrency)
    deletion_check = CheckSettings(
        check_deletion_check_days(deletion_check_days), check_deletion_check_every(deletion_check_every_hours)
    )
    client = checked_client(credentials, base_url, api_version, page_size)
    # question -> column names and looked-up form versions: kept in the source state, bound
    # by lead_forms (state exists only during extract), used by both resources
    catalog = FormCatalog(QuestionColumns({}))

    @dlt.resource(name="lead_forms", primary_key="id", write_disposition="merge", columns=FORM_COLUMNS)
    def lead_forms() -> Iterator[DataItemWithMeta]:
        """Every lead form of every owner; the owners go to ``lead_form_responses`` as meta."""
        yield from list_lead_forms(client, owners, lead_types, catalog, concurrency, skip_inaccessible_owners)

    @dlt.transformer(
        name="lead_form_responses", primary_key="id", write_disposition="merge", columns=HARD_DELETE_HINT
    )
    def lead_form_responses(forms: Any, meta: Any = None) -> Iterator[TDataItem]:
        """The leads of every (owner, lead type), read in time slices (see ``resources``)."""
        yield from read_leads(
            check_meta(meta),
            client,
            catalog,
            initial_value,
            test_mode,
            concurrency,
            skip_inaccessible_owners,
            deletion_check,
        )

    responses = lead_forms | lead_form_responses
    responses.apply_hints(
        # How a user or a scheduler asks for a window: initial_value (start_date), end_value (a
        # fixed window) and lag (the lookback). Attached once, never as a transformer argument
        # (dlt re-binds those per call, issues 2838 and 2429). What each (owner, lead type)
        # has read is kept apart, in the resource state (see `progress`).
        incremental=dlt.sources.incremental(
            "submitted_at",
            initial_value=initial_value,
            lag=pendulum.duration(hours=lookback).total_seconds(),
            # rows re-read are merged on id, not de-duplicated by dlt (its de-duplication
            # needs an `id` column in the answers table too)
            primary_key=(),
        )
    )
    return lead_forms, responses
