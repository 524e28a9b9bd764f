"""fan_in: owners read at once, each owner's pages in order, errors and early stops; page slots."""

import threading
import time
from typing import Callable, Iterator, List

import pytest

from linkedin_leads.reading.concurrency import PageSlots, fan_in


def stream(name: str, count: int, delay: float = 0.0) -> Callable[[], Iterator[str]]:
    def run() -> Iterator[str]:
        for i in range(count):
            time.sleep(delay)
            yield f"{name}{i}"

    return run


def test_every_item_once_and_in_order_per_stream() -> None:
    items = list(fan_in([stream("a", 50), stream("b", 30), stream("c", 0)], workers=3))
    assert sorted(items) == sorted([f"a{i}" for i in range(50)] + [f"b{i}" for i in range(30)])
    for name, count in (("a", 50), ("b", 30)):
        assert [i for i in items if i[0] == name] == [f"{name}{i}" for i in range(count)]


def test_streams_run_at_once() -> None:
    """Ten streams meet at a barrier that only opens when all ten are running."""
    barrier = threading.Barrier(10, timeout=10)

    def meet(name: str) -> Callable[[], Iterator[str]]:
        def run() -> Iterator[str]:
            barrier.wait()
            yield name

        return run

    assert sorted(fan_in([meet(str(n)) for n in range(10)], workers=10)) == sorted(map(str, range(10)))


def test_first_error_is_raised_and_stops_the_others() -> None:
    produced: List[str] = []

    def failing() -> Iterator[str]:
        yield "x"
        raise RuntimeError("boom")

    def endless() -> Iterator[str]:
        i = 0
        while True:
            time.sleep(0.01)
            produced.append(str(i))
            i += 1
            yield str(i)

    with pytest.raises(RuntimeError, match="boom"):
        list(fan_in([failing, endless], workers=2))
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) <= count + 1  # the endless stream stopped
    assert not [t for t in threading.enumerate() if t.name.startswith("linkedin_leads")]


def test_closing_early_stops_every_stream() -> None:
    iterator = fan_in([stream(str(n), 1000, delay=0.001) for n in range(4)], workers=4)
    assert len([next(iterator) for _ in range(10)]) == 10
    iterator.close()  # type: ignore[attr-defined]
    time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name.startswith("linkedin_leads")]


def test_one_worker_is_sequential() -> None:
    assert list(fan_in([stream("a", 2), stream("b", 2)], workers=1)) == ["a0", "a1", "b0", "b1"]


def test_page_slots_bound_how_many_hold_a_page_at_once() -> None:
    """Eight readers decode at once; never more than the two slots hold a page."""
    slots = PageSlots(2)
    holding, most = [0], [0]
    lock = threading.Lock()

    def decode(body: bytes) -> bytes:
        with lock:
            holding[0] += 1
            most[0] = max(most[0], holding[0])
        time.sleep(0.02)
        return body

    def reader(name: str) -> Callable[[], Iterator[str]]:
        def run() -> Iterator[str]:
            with slots.slot() as slot:
                for _ in range(3):
                    page = slot.decoding(decode)(name.encode())
                    with lock:
                        holding[0] -= 1
                    slot.release()
                    yield page.decode()

        return run

    assert sorted(fan_in([reader(str(n)) for n in range(8)], workers=8)) == sorted(
        str(n) for n in range(8) for _ in range(3)
    )
    assert most[0] == 2


def test_a_page_slot_is_given_back_when_decoding_fails_or_the_reader_ends() -> None:
    slots = PageSlots(1)

    def bad(body: bytes) -> bytes:
        raise ValueError("cut short")

    with slots.slot() as slot:
        with pytest.raises(ValueError):
            slot.decoding(bad)(b"{")
        assert slot.decoding(bytes)(b"x") == b"x"  # the one slot was given back: no wait
    with slots.slot() as other:  # ... and given back when the first reader ended
        assert other.decoding(bytes)(b"y") == b"y"
        assert other.decoding(bytes)(b"z") == b"z"  # a page left out: the slot held is kept


def test_a_page_slot_is_given_back_while_its_reader_waits_on_linkedin() -> None:
    slots = PageSlots(1)
    with slots.slot() as first, slots.slot() as second:
        assert first.decoding(bytes)(b"a") == b"a"  # the one slot, held
        with first.released():
            assert second.decoding(bytes)(b"b") == b"b"  # taken meanwhile by another reader
            second.release()
        assert first.decoding(bytes)(b"c") == b"c"  # held again, no second acquire
