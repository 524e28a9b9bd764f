"""What asking for ``associatedEntityInfo`` (creative names) costs: `python bench/projection_cost.py`.

Fetches the same pages of leads from the emulator (in its own process) with the source's
``fields`` projection and with that projection less ``associatedEntityInfo``, alternating, and
times fetch + decode + the Arrow tables for each: the ratio is measured in the same run. Prints
one JSON line; `bench/RESULTS.md` records the last one by hand (see bench/README.md).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import emulator  # noqa: E402

from linkedin_leads import LinkedInAccessTokenCredentials  # noqa: E402
from linkedin_leads.api.client import LinkedInClient  # noqa: E402
from linkedin_leads.api.restli import Raw  # noqa: E402
from linkedin_leads.settings import LEAD_FIELDS  # noqa: E402
from linkedin_leads.tables.forms import FormCatalog  # noqa: E402
from linkedin_leads.tables.lead_tables import LeadTableBuilder  # noqa: E402
from linkedin_leads.tables.questions import QuestionColumns  # noqa: E402
from linkedin_leads.tables.records import decode_lead_rows  # noqa: E402


def read(client: LinkedInClient, account: int, fields: str, catalog: FormCatalog) -> int:
    """Every page of one account's leads, decoded and built into tables; returns the leads."""
    owner = {"sponsoredAccount": f"urn:li:sponsoredAccount:{account}"}
    params: List[Any] = [
        ("q", "owner"),
        ("owner", owner),
        ("leadType", {"leadType": "SPONSORED"}),
        ("fields", Raw(fields)),
    ]
    leads = 0
    for page in client.get_leads(params, decode_lead_rows):
        builder = LeadTableBuilder(catalog, "sponsoredAccount", account)
        for lead in page:
            builder.add(lead)
        builder.tables()
        leads += builder.count
    return leads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    without = LEAD_FIELDS.replace(",associatedEntityInfo", "")
    assert without != LEAD_FIELDS
    with emulator(args.leads, accounts=1, organizations=0) as emu:
        credentials = LinkedInAccessTokenCredentials()
        credentials.access_token = "test-access-token"
        client = LinkedInClient(credentials, emu.info["base_url"], "202609", 1000)
        account = emu.info["accounts"][0]
        catalog = FormCatalog(QuestionColumns({}))
        times: Dict[str, List[float]] = {"with": [], "without": []}
        leads = 0
        for _ in range(args.rounds):
            for name, fields in (("without", without), ("with", LEAD_FIELDS)):
                started = time.perf_counter()
                leads = read(client, account, fields, catalog)
                times[name].append(time.perf_counter() - started)
    best = {name: min(values) for name, values in times.items()}
    print(
        json.dumps(
            {
                "leads": leads,
                "us_per_lead_without": best["without"] / leads * 1e6,
                "us_per_lead_with": best["with"] / leads * 1e6,
                "ratio": best["with"] / best["without"],
                "median_ratio": statistics.median(
                    w / o for w, o in zip(times["with"], times["without"], strict=True)
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
