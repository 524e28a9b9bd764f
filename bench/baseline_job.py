"""The baseline: a plain client that fetches every page the source would and only parses it.

Same requests (owner, lead type, projection, page size, paging until an empty page) with
``requests`` and ``json.loads``; nothing is resolved, converted or stored. Prints one JSON line.
"""

import json
import resource
import time
from typing import Any, Dict, List

from job_common import job_parser, plain_session

from linkedin_leads.api.restli import Raw, encode_query
from linkedin_leads.settings import DEFAULT_PAGE_SIZE, LEAD_FIELDS


def main() -> None:
    parser = job_parser()
    args = parser.parse_args()
    started = time.perf_counter()
    session = plain_session(args.token_url)
    owners: List[Dict[str, Any]] = [
        {"owner": {"sponsoredAccount": f"urn:li:sponsoredAccount:{a}"}, "types": ["SPONSORED"]}
        for a in filter(None, args.accounts.split(","))
    ] + [
        {
            "owner": {"organization": f"urn:li:organization:{o}"},
            "types": ["COMPANY", "EVENT", "ORGANIZATION_PRODUCT"],
        }
        for o in filter(None, args.organizations.split(","))
    ]
    leads = 0
    received = 0
    for owner in owners:
        for lead_type in owner["types"]:
            start = 0
            while True:
                query = encode_query(
                    [
                        ("q", "owner"),
                        ("owner", owner["owner"]),
                        ("leadType", {"leadType": lead_type}),
                        ("fields", Raw(LEAD_FIELDS)),
                        ("start", start),
                        ("count", DEFAULT_PAGE_SIZE),
                    ]
                )
                content = session.get(f"{args.base_url}/leadFormResponses?{query}", timeout=60).content
                received += len(content)
                body = json.loads(content)
                elements = body["elements"]
                if not elements:
                    break
                leads += len(elements)
                start += len(elements)
    print(
        json.dumps(
            {
                "elapsed_s": time.perf_counter() - started,
                "leads_loaded": leads,
                "bytes_per_lead": received / max(1, leads),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
