"""Runs several page streams at once (one per owner) and yields their items in one stream.

dlt's own parallelism (``parallelized=True``) is bounded by the pipeline-wide ``extract.workers``
(5 by default) and runs one transformer call per item; here the owners of one source share a
pool sized by the source's ``concurrency`` setting, so ten owners take about as long as the
slowest one. The queue between the threads and the consumer is bounded, so memory does not
grow when the destination side is slower than LinkedIn.
"""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, List, Sequence, TypeVar, Union, cast

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def fan_in(streams: Sequence[Callable[[], Iterator[T]]], workers: int) -> Iterator[T]:
    """Yields every item of every stream, running up to ``workers`` streams at once.

    Items of one stream keep their order; streams interleave. The first error of any stream
    stops the others and is raised here; closing the iterator early stops them too.

    Args:
        streams: Callables that each return an iterator (e.g. the pages of one owner).
        workers: How many streams run at once.
    """
    if workers <= 1 or len(streams) <= 1:
        for stream in streams:
            yield from stream()
        return
    items: queue.Queue[Union[T, _Failed, object]] = queue.Queue(maxsize=2 * workers)
    stop = threading.Event()

    def put(item: "Union[T, _Failed, object]") -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(stream: Callable[[], Iterator[T]]) -> None:
        try:
            for item in stream():
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            put(_Failed(error))
        finally:
            put(_DONE)

    pool = ThreadPoolExecutor(max_workers=min(workers, len(streams)), thread_name_prefix="linkedin_leads")
    futures: List[object] = [pool.submit(run, stream) for stream in streams]
    remaining = len(futures)
    try:
        while remaining:
            item = items.get()
            if item is _DONE:
                remaining -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield cast(T, item)
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
