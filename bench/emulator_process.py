"""Runs the LinkedIn emulator with generated data in its own process, for the benchmarks.

Prints one JSON line with ``base_url`` and ``token_url`` once it serves, then serves until
killed. Control endpoints: ``GET /_emulator/stats``, ``POST /_emulator/reset``,
``POST /_emulator/add_leads`` (JSON ``{"count": N}``), ``POST /_emulator/new_day`` (the daily
quotas start again).
"""

import argparse
import json
import math
import sys
import threading
import time
from collections import Counter

from linkedin_leads.emulator import LinkedInEmulator, generate
from linkedin_leads.settings import DEFAULT_PAGE_SIZE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--organizations", type=int, default=1)
    parser.add_argument("--forms-per-owner", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rich", action="store_true", help="leads as rich as real ones (emulator.generate)")
    parser.add_argument("--daily-quota", type=int, default=0, help="leadFormResponses calls a day (0: none)")
    args = parser.parse_args()
    started = time.time()
    data = generate(
        int(time.time() * 1000),
        accounts=args.accounts,
        organizations=args.organizations,
        forms_per_owner=args.forms_per_owner,
        leads=args.leads,
        days=360,
        rich=args.rich,
    )
    for lead in data.leads:  # serialize up front so serving is what gets measured
        lead.json_bytes  # noqa: B018
    quota = {"leadFormResponses": args.daily_quota} if args.daily_quota else None
    emulator = LinkedInEmulator(data, short_pages=False, latency=args.latency, daily_quota=quota).start()
    print(
        json.dumps(
            {
                "base_url": emulator.base_url,
                "token_url": emulator.token_url,
                "accounts": data.accounts,
                "organizations": data.organizations,
                "leads": len(data.leads),
                # pages the leads fill: the finder takes one owner and one lead type, so
                # each (owner, lead type) has its own last, partly filled page
                "full_pages": sum(
                    math.ceil(count / DEFAULT_PAGE_SIZE)
                    for count in Counter((lead.owner_id, lead.lead_type) for lead in data.leads).values()
                ),
                # form versions other than the current one that leads were submitted on: the
                # source looks each up once (one call) to read its questions
                "older_versions": len(
                    {
                        (lead.form_id, lead.form_version)
                        for lead in data.leads
                        if lead.form_version != data.forms[lead.form_id].version_id
                    }
                ),
                "generated_in_s": round(time.time() - started, 1),
            }
        ),
        flush=True,
    )
    sys.stdout.close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
