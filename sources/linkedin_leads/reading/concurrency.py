"""Runs several page streams at once (owners, time slices) and yields their items in one stream.

dlt's own parallelism (``parallelized=True``) is bounded by the pipeline-wide ``extract.workers``
(5 by default) and runs one transformer call per item; here the streams of one source share a
pool sized by the source's ``concurrency`` setting, and the consumer can add streams while it
runs (a slice split in two). The queue between the threads and the consumer is bounded, so
memory does not grow when the destination side is slower than LinkedIn. While the streams run,
Arrow allocates from the C library (``system_memory_pool``).
"""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Sequence, TypeVar, Union, cast

import pyarrow as pa

T = TypeVar("T")

Stream = Callable[[], Iterator[T]]

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class StreamPool(Iterator[T]):
    """Iterates over the items of every stream submitted, running up to ``workers`` at once.

    Items of one stream keep their order; streams interleave and start in the order submitted.
    The first error of any stream stops the others and is raised to the consumer; so does
    closing the pool. ``submit`` may be called while iterating (from the consumer's thread).
    """

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._items: queue.Queue[Union[T, _Failed, object]] = queue.Queue(maxsize=2 * self._workers)
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="linkedin_leads")
        self._remaining = 0

    def submit(self, stream: Stream[T]) -> None:
        """Queues a stream; it starts when a worker is free."""
        self._remaining += 1
        self._pool.submit(self._run, stream)

    def stop(self) -> None:
        """Ends every stream at its next item and the ones not started at once.

        The consumer goes on iterating: it gets the items already queued, then the iteration ends.
        """
        self._stop.set()

    def close(self) -> None:
        """Stops the streams and waits for the workers to end; queued items are dropped."""
        self._stop.set()
        self._closed.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "StreamPool[T]":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __next__(self) -> T:
        while self._remaining:
            item = self._items.get()
            if item is _DONE:
                self._remaining -= 1
            elif isinstance(item, _Failed):
                self.close()
                raise item.error
            else:
                return cast(T, item)
        raise StopIteration

    def _put(self, item: "Union[T, _Failed, object]", always: bool = False) -> bool:
        """Queues ``item``; a stream's items are dropped once stopped, its end and error are not."""
        while not self._closed.is_set():
            if self._stop.is_set() and not always:
                return False
            try:
                self._items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, stream: Stream[T]) -> None:
        try:
            if self._stop.is_set():
                return
            for item in stream():
                if not self._put(item):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            self._put(_Failed(error), always=True)
        finally:
            self._put(_DONE, always=True)


class PageSlots:
    """Bounds how many readers hold a page between decoding it and handing its tables on.

    A reader takes a slot once a page's body has arrived, to decode it, and gives it back when
    the page's tables are in the consumer's queue (or the page is left out). Requests stay as
    concurrent as the readers: a reader waiting on LinkedIn holds no slot (form-version lookups
    included: they are made from the body before decoding it), and one waiting for a slot holds
    only the body's bytes. Without the bound, every reader that waited for the
    table builders held its decoded page, and with the default ten readers those pages were
    the largest share of the source's peak memory (``bench/README.md``).
    """

    def __init__(self, slots: int) -> None:
        self._free = threading.BoundedSemaphore(max(1, slots))

    def slot(self) -> "PageSlot":
        """A holder of at most one slot, for one reader."""
        return PageSlot(self._free)


class PageSlot:
    """One reader's hold on a ``PageSlots`` slot: taken by ``decoding``, given back by ``release``."""

    def __init__(self, free: threading.BoundedSemaphore) -> None:
        self._free = free
        self._held = False

    def decoding(
        self, decode: Callable[[bytes], T], before: Optional[Callable[[bytes], None]] = None
    ) -> Callable[[bytes], T]:
        """``decode``, run once a slot is held (a slot still held for an earlier page is kept).

        ``before(body)`` runs first, with no slot taken for this page: what the reader waits on
        for a page (its form versions, looked up on LinkedIn) it waits on holding only the bytes.
        """

        def decode_in_slot(body: bytes) -> T:
            if before is not None:
                before(body)
            if not self._held:
                self._free.acquire()
                self._held = True
            try:
                return decode(body)
            except BaseException:
                self.release()
                raise

        return decode_in_slot

    @contextmanager
    def released(self) -> Iterator[None]:
        """The slot given back while the block waits on something else (LinkedIn), then taken again."""
        held = self._held
        self.release()
        try:
            yield
        finally:
            if held and not self._held:
                self._free.acquire()
                self._held = True

    def release(self) -> None:
        """Gives the slot back, if held."""
        if self._held:
            self._held = False
            self._free.release()

    def __enter__(self) -> "PageSlot":
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def fan_in(streams: Sequence[Stream[T]], workers: int) -> Iterator[T]:
    """Yields every item of every stream, running up to ``workers`` streams at once.

    Items of one stream keep their order; streams interleave. The first error of any stream
    stops the others and is raised here; closing the iterator early stops them too.
    """
    if workers <= 1 or len(streams) <= 1:
        for stream in streams:
            yield from stream()
        return
    with StreamPool[T](min(workers, len(streams))) as pool:
        for stream in streams:
            pool.submit(stream)
        yield from pool


@contextmanager
def system_memory_pool() -> Iterator[None]:
    """Arrow allocates from the C library's ``malloc`` while the leads are read, then as before.

    Arrow's default allocator (mimalloc) keeps a heap for every thread that allocates and
    gives little back until ``release_unused()``. The slice readers, the table builders and
    dlt's extract thread (which writes the tables to parquet) each kept one: the largest share
    of the source's peak RSS (``bench/README.md``), at no gain in speed. The previous pool is set
    back when the leads are read, so the choice is the source's only while it reads.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
        previous.release_unused()
