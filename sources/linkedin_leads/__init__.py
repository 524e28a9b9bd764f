"""Loads LinkedIn Lead Gen Forms and the leads submitted through them (Lead Sync API)."""

from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import dlt
import pyarrow as pa
from dlt.common import logger
from dlt.common.typing import TDataItem
from dlt.extract.incremental import Incremental, IncrementalResourceWrapper
from dlt.extract.items import DataItemWithMeta
from dlt.sources import DltResource

from .auth import LinkedInAccessTokenCredentials, LinkedInCredentials, LinkedInOAuthCredentials
from .client import LinkedInClient
from .concurrency import fan_in
from .config import (
    IdsSetting,
    LeadTypesSetting,
    Owner,
    check_api_version,
    check_base_url,
    check_concurrency,
    check_credentials,
    check_lookback,
    check_page_size,
    check_test_leads,
    parse_start_date,
    plan_owners,
)
from .discovery import discover_accounts, discover_organizations
from .exceptions import (
    LinkedInAccessError,
    LinkedInAPIError,
    LinkedInAuthError,
    LinkedInConfigError,
    LinkedInLeadsError,
    LinkedInQuotaError,
)
from .restli import Raw
from .rows import (
    FORM_COLUMNS,
    FormCatalog,
    LeadTableBuilder,
    QuestionColumns,
    lead_form_row,
    to_epoch_ms,
)
from .settings import (
    ANSWERS_TABLE,
    CONSENTS_TABLE,
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_PAGE_SIZE,
    FORM_VERSION_FIELDS,
    LEAD_FIELDS,
    LEAD_FORM_RESPONSES_PATH,
    LEAD_FORMS_PATH,
)

__all__ = [
    "LinkedInAPIError",
    "LinkedInAccessError",
    "LinkedInAccessTokenCredentials",
    "LinkedInAuthError",
    "LinkedInConfigError",
    "LinkedInLeadsError",
    "LinkedInOAuthCredentials",
    "LinkedInQuotaError",
    "linkedin_leads",
]


@dlt.source(name="linkedin_leads")
def linkedin_leads(
    account_ids: IdsSetting = None,
    organization_ids: IdsSetting = None,
    lead_types: LeadTypesSetting = None,
    start_date: Optional[Union[str, date, datetime]] = None,
    test_leads: str = "include",
    lookback_hours: float = DEFAULT_LOOKBACK_HOURS,
    credentials: LinkedInCredentials = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
    page_size: int = DEFAULT_PAGE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    skip_inaccessible_owners: bool = False,
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
        start_date: Where the first run starts (a date or ISO datetime, UTC if naive).
            Default: 365 days ago, LinkedIn's retention.
        test_leads: ``include`` (default), ``exclude`` or ``only``.
        lookback_hours: Each run re-reads the leads submitted up to this many hours
            before the newest lead already loaded, to catch leads LinkedIn makes
            visible late; merging on ``id`` keeps each lead once. Default 24.
        credentials: OAuth refresh-token credentials or a plain access token.
        base_url: The API base URL.
        api_version: The ``LinkedIn-Version`` header, ``YYYYMM``.
        page_size: Records asked for per request (1 to 1000).
        concurrency: How many owners are read at once (1 to 32). Default 10.
        skip_inaccessible_owners: Skip, with a warning, an owner LinkedIn refuses (403)
            instead of failing the run; it is read from ``start_date`` once it is accessible.

    Returns:
        Sequence[DltResource]: ``lead_forms`` and ``lead_form_responses``; the latter
        also fills ``lead_form_responses__answers`` and ``lead_form_responses__consents``.
    """
    now = datetime.now(timezone.utc)
    owners = plan_owners(account_ids, organization_ids, lead_types)
    initial_value = parse_start_date(start_date, now)
    test_mode = check_test_leads(test_leads)
    lookback = check_lookback(lookback_hours)
    concurrency = check_concurrency(concurrency)
    client = LinkedInClient(
        check_credentials(credentials),
        check_base_url(base_url),
        check_api_version(api_version),
        check_page_size(page_size),
    )
    # question -> column names and looked-up form versions live in the source state, so they
    # survive across runs; lead_forms binds them before the transformer runs (state exists
    # only during extract)
    catalog = FormCatalog(QuestionColumns({}))

    @dlt.resource(name="lead_forms", primary_key="id", write_disposition="merge", columns=FORM_COLUMNS)
    def lead_forms() -> Iterator[DataItemWithMeta]:
        """Every lead form of every owner, listed concurrently, as one batch (owners as meta)."""
        state = dlt.current.source_state()
        catalog.columns.names = state.setdefault("question_columns", {})
        catalog.stored = state.setdefault("form_versions", {})
        if not owners:  # none configured: every owner the token can read
            accounts: List[Union[int, str]] = list(discover_accounts(client))
            organizations: List[Union[int, str]] = list(discover_organizations(client))
            logger.info(
                f"Discovered LinkedIn owners: account_ids={accounts}, organization_ids={organizations}"
            )
            owners.extend(plan_owners(accounts, organizations, lead_types, discovered=True))

        skipped: List[Owner] = []

        def listing(owner: Owner) -> Iterator[List[Dict[str, Any]]]:
            params = {"q": "owner", "owner": owner.restli}
            with access_checked(owner, "lead forms", skip_inaccessible_owners, skipped):
                for page in client.get_pages(LEAD_FORMS_PATH, params):
                    yield [lead_form_row(form, catalog.add_listed(form)) for form in page]

        forms = [
            form
            for batch in fan_in([partial(listing, owner) for owner in owners], concurrency)
            for form in batch
        ]
        # one batch with every readable owner, even one without forms, so that the transformer
        # reads the leads of each (forms may be deleted while their leads remain)
        yield DataItemWithMeta([owner for owner in owners if owner not in skipped], forms)

    @dlt.transformer(name="lead_form_responses", primary_key="id", write_disposition="merge")
    def lead_form_responses(
        forms: List[Dict[str, Any]], meta: Optional[List[Owner]] = None
    ) -> Iterator[TDataItem]:
        """The leads of every owner, one finder query per (owner, lead type), owners concurrently."""
        if not isinstance(meta, list):
            raise LinkedInLeadsError(
                "lead_form_responses must be fed by the lead_forms resource of this source"
            )
        # The incremental is attached once with apply_hints and read here, never declared
        # as an argument: dlt re-binds a transformer's incremental argument on each call
        # (dlt issues 2838 and 2429), which would drop older leads of later owners.
        step: Any = dlt.current.resource().incremental
        incremental: Optional[Incremental[Any]] = (
            step.incremental if isinstance(step, IncrementalResourceWrapper) else step
        )
        start = (incremental.start_value if incremental else None) or initial_value
        end = (incremental.end_value if incremental else None) or now
        # An owner never loaded before (added to the settings later, or skipped when it was
        # inaccessible) is read from start_date, not from the shared cursor, and the cursor's
        # filter is widened for this run so that its older leads pass. A fixed window
        # (an incremental with an end_value) is read as given.
        loaded: Dict[str, str] = dlt.current.source_state().setdefault("loaded_owners", {})
        fixed_window = incremental is not None and incremental.end_value is not None
        new = {owner for owner in meta if owner.urn not in loaded and not fixed_window}
        if incremental is not None and new and start > initial_value:
            logger.info(
                f"Reading {', '.join(o.urn for o in new)} from {initial_value.isoformat()}: "
                "not loaded by an earlier run"
            )
            incremental.start_value = initial_value
        limited = {"include": None, "exclude": False, "only": True}[test_mode]
        skipped: List[Owner] = []

        def leads(owner: Owner) -> Iterator[TDataItem]:
            # one millisecond earlier: whether LinkedIn's range start is inclusive is not
            # documented; dlt drops what lies before the window's start
            owner_start = initial_value if owner in new else start
            time_range = {"start": to_epoch_ms(owner_start) - 1, "end": to_epoch_ms(end)}
            for lead_type in owner.lead_types:
                read[f"{owner.urn} {lead_type}"] = 0
            with access_checked(owner, "leads", skip_inaccessible_owners, skipped):
                yield from owner_lead_tables(client, catalog, owner, time_range, limited, read)
            if owner not in skipped:
                loaded[owner.urn] = now.isoformat()

        # per (owner, lead type): leads read and the window, in the run's extract metrics
        read: Dict[str, int] = {}
        yield from fan_in([partial(leads, owner) for owner in meta], concurrency)
        # Arrow's allocator (mimalloc) keeps, per thread, the tables other threads freed: some
        # 100 MB after a backfill, which the load step (DuckDB has its own allocator) adds to
        pa.default_memory_pool().release_unused()
        dlt.current.resource_metrics().update(
            {
                "leads_read": read,
                "window": {"start": start.isoformat(), "end": end.isoformat()},
                "owners_read_from_start_date": sorted(o.urn for o in new),
                # refused at the forms listing (not in meta) or at the leads query
                "owners_skipped": sorted({o.urn for o in skipped} | {o.urn for o in owners if o not in meta}),
            }
        )

    responses = lead_forms | lead_form_responses
    responses.apply_hints(
        incremental=dlt.sources.incremental(
            "submitted_at",
            initial_value=initial_value,
            # the lookback: the window starts this long before the newest lead loaded
            lag=timedelta(hours=lookback).total_seconds(),
            # rows re-read at the window's start are merged on id, not de-duplicated by
            # dlt (its de-duplication needs an `id` column in the answers table too)
            primary_key=(),
        )
    )
    return lead_forms, responses


@contextmanager
def access_checked(owner: Owner, resource: str, skip: bool, skipped: List[Owner]) -> Iterator[None]:
    """Turns a 403 into an error naming the owner and the scope, or a warning and a skip."""
    try:
        yield
    except LinkedInAPIError as exc:
        if exc.status != 403:
            raise
        error = LinkedInAccessError(owner.urn, resource, exc)
        if not skip:
            raise error from None
        logger.warning(f"Skipped {owner.urn}: {error}")
        skipped.append(owner)


def owner_lead_tables(
    client: LinkedInClient,
    catalog: FormCatalog,
    owner: Owner,
    time_range: Dict[str, int],
    limited: Optional[bool],
    read: Optional[Dict[str, int]] = None,
) -> Iterator[TDataItem]:
    """The leads of one owner in the window, page by page, as Arrow tables for three tables.

    ``read`` counts the leads read by lead type (``"<owner urn> <lead type>"``).

    One finder query per lead type of the owner; ``limited`` is the test-lead filter
    (None: all, False: real leads only, True: test leads only).
    """
    for lead_type in owner.lead_types:
        finder = [("q", "owner"), ("owner", owner.restli), ("leadType", {"leadType": lead_type})]

        def fetch_form(form_id: int, version: int, finder: List[Any] = finder) -> Optional[Dict[str, Any]]:
            """The form version as submitted, projected into one lead of that version."""
            urn = f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version})"
            body = client.get(
                LEAD_FORM_RESPONSES_PATH,
                [
                    *finder,
                    ("versionedLeadGenFormUrn", urn),
                    ("fields", Raw(FORM_VERSION_FIELDS)),
                    ("start", 0),
                    ("count", 1),
                ],
            )
            for element in body.get("elements") or []:
                form = element.get("form")
                return form if isinstance(form, dict) else None
            return None

        params = [
            *finder,
            ("limitedToTestLeads", limited),
            ("submittedAtTimeRange", time_range),
            ("fields", Raw(LEAD_FIELDS)),
        ]
        for page in client.get_lead_pages(LEAD_FORM_RESPONSES_PATH, params):
            builder = LeadTableBuilder(catalog, owner.kind, owner.id, fetch_form)
            add = builder.add
            if limited is None:
                for lead in page:
                    add(lead)
            else:  # LinkedIn's filter is applied again: `false` may not exclude test leads
                for lead in page:
                    if bool(lead.test_lead) is limited:
                        add(lead)
            if read is not None:
                key = f"{owner.urn} {lead_type}"
                read[key] = read.get(key, 0) + builder.count
            if not builder.count:
                continue
            leads, answers, consents = builder.tables()
            yield leads
            yield dlt.mark.with_hints(
                answers,
                dlt.mark.make_hints(table_name=ANSWERS_TABLE, primary_key=["lead_id", "question_id"]),
                create_table_variant=True,
            )
            if consents.num_rows:
                yield dlt.mark.with_hints(
                    consents,
                    dlt.mark.make_hints(table_name=CONSENTS_TABLE, primary_key=["lead_id", "consent_id"]),
                    create_table_variant=True,
                )
