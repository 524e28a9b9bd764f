"""Offset paging as LinkedIn's lead endpoints do it.

dlt's ``OffsetPaginator`` does not fit, and this small loop replaces it: the paginator
advances by ``limit`` and stops on a short page or on ``paging.total``, and never drops a
repeated record. LinkedIn's lead finders return short pages while more records remain,
and their ``total`` may be absent or wrong. This loop pages until an empty page, advances
by the number of elements actually returned (advancing by ``count`` would skip records
after a short page), and drops the few records a page may repeat from the window of the
pages before it. The ``count`` may change between pages (LinkedIn refused a larger one).
"""

from collections import deque
from typing import Any, Callable, Deque, Iterator, List, Set, Tuple, TypeVar

T = TypeVar("T")


def paginate(fetch: Callable[[int], Tuple[List[T], int]], key: Callable[[T], Any]) -> Iterator[List[T]]:
    """Yields the elements of every page of an offset-paged finder.

    Args:
        fetch: Called with ``start``; returns the elements of that page and the ``count``
            it asked for.
        key: Gives the id of an element, to drop repeats.

    Yields:
        List[T]: The new elements of each non-empty page.
    """
    start = 0
    # ids seen in requests whose window [start, start + count) reaches past the next start
    windows: Deque[Tuple[int, Set[Any]]] = deque()
    while True:
        received, count = fetch(start)
        if not received:
            return
        while windows and windows[0][0] <= start:
            windows.popleft()
        page_ids = {key(e) for e in received}
        elements = received
        if windows:
            elements = [e for e in received if not any(key(e) in ids for _, ids in windows)]
        windows.append((start + count, page_ids))
        start += len(received)
        if elements:
            # handed over, not kept: while the caller holds the page, or has dropped it and asks
            # for the next one, this frame holds no reference to it
            box = [elements]
            del received, elements
            yield box.pop()
        else:
            del received, elements
