"""Whether a page's decoding runs beside other threads: `python bench/decode_threads.py`.

Fetches one page of 1,000 rich leads from the emulator with the source's projection, then
decodes it over and over in one thread and in two: with the source's msgspec decoder
(``records.decode_lead_page``, which holds the GIL) and with pyarrow's JSON reader (the page
read as one document and its answers flattened, in C++ without the GIL). Prints µs of wall time
a lead, the best of three tries; a decoder that runs beside other threads takes less with two.
"""

import io
import sys
import threading
import time
from typing import Any, Callable

import pyarrow.compute as pc
import pyarrow.json as pj
from run import ROOT, emulator

sys.path.insert(0, str(ROOT))  # the checkout's linkedin_leads, as the jobs get it (run.env)

from job_common import plain_session

from linkedin_leads.api.restli import Raw, encode_query
from linkedin_leads.settings import LEAD_FIELDS
from linkedin_leads.tables.records import decode_lead_page

PAGES = 40


def fetch_page(info: Any) -> bytes:
    owner = {"sponsoredAccount": f"urn:li:sponsoredAccount:{info['accounts'][0]}"}
    query = encode_query(
        [
            ("q", "owner"),
            ("owner", owner),
            ("leadType", {"leadType": "SPONSORED"}),
            ("fields", Raw(LEAD_FIELDS)),
            ("start", 0),
            ("count", 1000),
        ]
    )
    session = plain_session(info["token_url"])
    return session.get(f"{info['base_url']}/leadFormResponses?{query}", timeout=60).content


def per_lead(decode: Callable[[], Any], threads: int, leads: int) -> float:
    """µs of wall time a lead, ``PAGES`` pages decoded by ``threads`` threads, best of three."""

    def work() -> None:
        for _ in range(PAGES // threads):
            decode()

    best = float("inf")
    for _ in range(3):
        workers = [threading.Thread(target=work) for _ in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        best = min(best, (time.perf_counter() - started) / PAGES / leads * 1e6)
    return best


def main() -> None:
    with emulator(20_000, accounts=4, organizations=1, rich=True) as emu:
        body = fetch_page(emu.info)
    page = decode_lead_page(body)
    leads = len(page.elements or [])
    read_options = pj.ReadOptions(block_size=len(body) + 1, use_threads=False)

    def with_pyarrow() -> Any:
        table = pj.read_json(io.BytesIO(body), read_options=read_options)
        elements = pc.list_flatten(table.column("elements").combine_chunks())
        return pc.list_flatten(pc.struct_field(pc.struct_field(elements, "formResponse"), "answers"))

    print(f"one page: {leads} leads, {len(body) / leads:.0f} bytes a lead; µs of wall time a lead:")
    for name, decode in (
        ("msgspec (the source)", lambda: decode_lead_page(body)),
        ("pyarrow.json", with_pyarrow),
    ):
        one, two = per_lead(decode, 1, leads), per_lead(decode, 2, leads)
        print(f"  {name:<22} one thread {one:6.2f}, two threads {two:6.2f} ({two / one:.2f}x)")


if __name__ == "__main__":
    main()
