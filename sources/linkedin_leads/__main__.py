"""``python -m linkedin_leads check [--json]``: verify the configuration against LinkedIn, load nothing.

Reads the same settings as the source (``.dlt/config.toml``, ``.dlt/secrets.toml``, environment).
Exit status: 0 when every check passed; 4 when one failed (each failing row says the fix); 2 for
a configuration error.
"""

import argparse
import json
import sys
from typing import List, Optional

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from .check import as_json, linkedin_access, run_checks, status, table
from .exceptions import LinkedInConfigError, LinkedInLeadsError


def check(as_json_output: bool = False) -> int:
    """Runs every check and prints the table (or JSON); returns the exit status."""
    try:
        client, owners, discovered = linkedin_access()
    except ConfigFieldMissingException as exc:
        print(f"linkedin_leads is not configured: {', '.join(exc.fields)} (see the README)", file=sys.stderr)
        return 2
    except LinkedInConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except LinkedInLeadsError as exc:  # discovery refused or unreachable
        print(str(exc), file=sys.stderr)
        return 4
    rows = run_checks(client, owners, discovered)
    print(json.dumps(as_json(rows), indent=2) if as_json_output else table(rows))
    return status(rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linkedin_leads", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser(
        "check", help="verify credentials, scopes, version and owners; load nothing"
    )
    checking.add_argument("--json", action="store_true", help="print the rows as JSON, for machines")
    args = parser.parse_args(argv)
    return check(args.json)


if __name__ == "__main__":
    sys.exit(main())
