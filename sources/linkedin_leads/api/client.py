"""The finders this source reads, on top of ``rest.RestClient``: offset paging with a page size
LinkedIn accepts, the leads finder, a lead at an offset (slice sizing) and form versions."""

import threading
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar

from dlt.common import logger
from dlt.common.json import json

from ..settings import FORM_VERSION_FIELDS, LEAD_FORM_RESPONSES_PATH, LEAD_FORMS_PATH, MIN_COUNT
from .credentials import LinkedInCredentials
from .exceptions import LinkedInAPIError, LinkedInPagingLimitError, is_count_refused
from .paging import paginate
from .rest import D, RestClient
from .restli import QueryParams, Raw
from .urns import versioned_form_urn

E = TypeVar("E", covariant=True)


class Page(Protocol[E]):
    """A decoded page of a finder: its ``elements`` (``tables.records.LeadPage``, say)."""

    @property
    def elements(self) -> Optional[Sequence[E]]:
        """The page's records."""


def _dict_id(element: Any) -> Any:
    return element.get("id")


def _element_id(element: Any) -> Any:
    return element.id


class LinkedInClient(RestClient):
    """LinkedIn's REST API with the finders of the Lead Sync API; thread-safe.

    Args:
        credentials: The resolved credentials.
        base_url: The API base, e.g. ``https://api.linkedin.com/rest``.
        api_version: The ``LinkedIn-Version`` header, ``YYYYMM``.
        page_size: The ``count`` of every paged request.
    """

    def __init__(
        self, credentials: LinkedInCredentials, base_url: str, api_version: str, page_size: int
    ) -> None:
        super().__init__(credentials, base_url, api_version)
        self.page_size = page_size
        self.counts: Dict[str, int] = {}
        """Per path, a ``count`` smaller than ``page_size`` that LinkedIn made the run keep."""
        self._counts_lock = threading.Lock()

    def count(self, path: str) -> int:
        """The ``count`` to ask of ``path``.

        Args:
            path: The endpoint's path under the API base, e.g. ``leadFormResponses``.

        Returns:
            int: ``page_size``, or the smaller count LinkedIn accepted instead in this run.
        """
        return self.counts.get(path, self.page_size)

    def with_count(self, path: str, call: Callable[[int], D]) -> D:
        """``call(count)``, asked again with half the count while LinkedIn refuses it as too large.

        The smaller count is kept for the rest of the run, for every request to ``path``.

        Args:
            path: The endpoint's path, whose count is halved when refused.
            call: The request, given the count to ask.

        Returns:
            D: What ``call`` returned.

        Raises:
            LinkedInAPIError: If even ``MIN_COUNT`` is refused, or for any other error.
        """
        count = self.count(path)
        while True:
            try:
                return call(count)
            except LinkedInAPIError as exc:
                if not is_count_refused(exc) or count <= MIN_COUNT:
                    raise
                smaller = max(MIN_COUNT, count // 2)
                with self._counts_lock:
                    if self.counts.get(path, self.page_size) > smaller:
                        self.counts[path] = smaller
                        logger.warning(
                            f"LinkedIn refused count={count} for {path} ('{exc.message}'); asking for "
                            f"{smaller} per page for the rest of the run. Set `page_size` to {smaller} "
                            "or less under [sources.linkedin_leads] to start there."
                        )
                count = self.count(path)

    def get_pages(
        self,
        path: str,
        params: QueryParams,
        decode: Callable[[bytes], Any] = json.loadb,
        key: Callable[[Any], Any] = _dict_id,
    ) -> Iterator[List[Any]]:
        """Pages through a finder; yields the elements of each page (see ``paging``).

        Args:
            path: The finder's path, e.g. ``leadForms``.
            params: The finder's query parameters, without ``start`` and ``count``.
            decode: Turns a body into an object whose ``elements`` (a key of a dict, or an
                attribute) are the page's records: JSON dicts by default.
            key: Identifies a record (default: its ``id``), to drop the repeats a page may bring.

        Returns:
            Iterator[List[Any]]: The records of each page, until LinkedIn's last page.

        Raises:
            LinkedInPagingLimitError: If LinkedIn refuses a page beyond the first (400): an
                offset cap. The caller can read the same records in smaller time slices.
        """
        pairs = _pairs(params)

        def page(start: int, count: int) -> List[Any]:
            body = self.get(path, [*pairs, ("start", start), ("count", count)], decode)
            elements = body.get("elements") if isinstance(body, dict) else body.elements
            return list(elements or [])

        def fetch(start: int) -> Tuple[List[Any], int]:
            try:
                return self.with_count(path, lambda count: (page(start, count), count))
            except LinkedInAPIError as exc:
                if exc.status == 400 and start > 0 and not is_count_refused(exc):
                    # the same query answered at start=0: what LinkedIn refuses is the offset
                    raise LinkedInPagingLimitError(exc.status, exc.code, exc.message, exc.url) from None
                raise

        return paginate(fetch, key)

    def get_leads(self, params: QueryParams, decode: Callable[[bytes], Page[E]]) -> Iterator[List[E]]:
        """Pages through the lead form responses finder; yields the leads of each page.

        Args:
            params: The finder's parameters (``q=owner``, owner, lead type, time range, fields).
            decode: ``tables.records.decode_lead_rows`` (leads as ``LeadHead``, their answers
                read by pyarrow, or ``Lead``), or a wrapper of it (``PageSlot.decoding``).

        Returns:
            Iterator[List[E]]: The leads of each page, repeats within the paging window dropped.

        Raises:
            LinkedInPagingLimitError: If LinkedIn refuses an offset beyond the first page.
        """
        return self.get_pages(LEAD_FORM_RESPONSES_PATH, params, decode, _element_id)

    def has_lead_at(self, params: QueryParams, offset: int) -> bool:
        """Whether the leads finder with ``params`` has a lead at ``offset``, for sizing a slice
        (``progress.estimate``): one lead asked for (``count=1``, its id only).

        Args:
            params: The leads finder's parameters.
            offset: The ``start`` to probe.

        Returns:
            bool: Whether a lead is there. A refused offset (LinkedIn pages no deeper) counts as a
            lead: the slice is at least that big.
        """
        pairs = [(k, v) for k, v in _pairs(params) if k != "fields"]
        try:
            body = self.get(
                LEAD_FORM_RESPONSES_PATH, [*pairs, ("fields", Raw("id")), ("start", offset), ("count", 1)]
            )
        except LinkedInAPIError as exc:
            if exc.status == 400 and not is_count_refused(exc):
                return True
            raise
        return bool(body.get("elements"))

    def form_version(self, finder: QueryParams, form_id: int, version: int) -> Optional[Dict[str, Any]]:
        """The form version as submitted, or None if LinkedIn gives no way to read it.

        First projected into one lead of that version (``form:(...)``, the only way LinkedIn
        documents to read a version that is no longer current); if the answer has no ``form``
        (LinkedIn may leave a projection out), the form itself (``GET /rest/leadForms/{id}``,
        documented), which serves when the version asked for is its current one: a lead
        submitted on a version published after the forms were listed.

        Args:
            finder: The ``q=owner`` parameters (owner and lead type) of the leads being read.
            form_id: The form's id.
            version: The form version's number.

        Returns:
            Optional[Dict[str, Any]]: The form version (LinkedIn's ``leadForm`` shape), or None.

        Raises:
            LinkedInAPIError: For an error other than a refused or missing form.
        """
        body = self.get(
            LEAD_FORM_RESPONSES_PATH,
            [
                *_pairs(finder),
                ("versionedLeadGenFormUrn", versioned_form_urn(form_id, version)),
                ("fields", Raw(FORM_VERSION_FIELDS)),
                ("start", 0),
                ("count", 1),
            ],
        )
        for element in body.get("elements") or []:
            form = element.get("form")
            if isinstance(form, dict) and form.get("content") is not None:
                return form
            break
        try:
            current = self.get_entity(f"{LEAD_FORMS_PATH}/{form_id}")
        except LinkedInAPIError as exc:
            if exc.status in (403, 404):  # a fallback: the form gone, or not readable this way
                return None
            raise
        return current if current.get("versionId") == version else None


def _pairs(params: QueryParams) -> List[Tuple[str, Any]]:
    return list(params.items() if isinstance(params, Mapping) else params)
