"""Offset paging as LinkedIn's lead endpoints do it.

dlt's ``OffsetPaginator`` stops on a short page or on ``paging.total``; LinkedIn's
lead finders return short pages while more records remain and their ``total``
may be absent or wrong, so this small loop replaces it: it pages until an empty
page, advances by the number of elements actually returned (advancing by
``count`` would skip records after a short page), and drops the few records a
page may repeat from the window of the pages before it.
"""

from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Set, Tuple

Page = List[Dict[str, Any]]
FetchPage = Callable[[int, int], Dict[str, Any]]


def paginate(fetch: FetchPage, page_size: int, key: str = "id") -> Iterator[Page]:
    """Yields the elements of every page of an offset-paged finder.

    Args:
        fetch: Called with ``(start, count)``; returns the decoded response body.
        page_size: The ``count`` asked for.
        key: The element field that identifies a record, to drop repeats.

    Yields:
        Page: The new elements of each non-empty page.
    """
    start = 0
    # ids seen in requests whose window [start, start + count) reaches past the next start
    windows: Deque[Tuple[int, Set[Any]]] = deque()
    while True:
        body = fetch(start, page_size)
        elements: Page = body.get("elements") or []
        if not elements:
            return
        while windows and windows[0][0] <= start:
            windows.popleft()
        if windows:
            elements = [e for e in elements if not any(e.get(key) in ids for _, ids in windows)]
            page_ids = {e.get(key) for e in body["elements"]}
        else:
            page_ids = {e.get(key) for e in elements}
        windows.append((start + page_size, page_ids))
        start += len(body["elements"])
        if elements:
            yield elements
