"""The command line of ``auth`` and ``check``: a token in one command, and a check before the first sync.

``python -m linkedin_leads auth | check`` runs ``main``; the ``linkedin-leads`` command adds the same
commands to its own (``add_commands``, ``dispatch``).

``auth [--port 8765] [--no-browser] [--secrets .dlt/secrets.toml]``: LinkedIn's 3-legged OAuth for
your app (``oauth``); writes the refresh token into ``.dlt/secrets.toml``. Exit 0; 1 when LinkedIn
or the member refused; 2 for a configuration error.

``check [--json]``: verifies the configuration against LinkedIn and loads nothing (``check``).
Exit status: 0 when every check passed; 4 when one failed (each failing row says the fix); 2 for
a configuration error.

Both read the same settings as the source (``.dlt/config.toml``, ``.dlt/secrets.toml``, environment).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from ..api.exceptions import LinkedInConfigError, LinkedInLeadsError
from ..settings import VERSION
from .auth import DEFAULT_PORT, authorize
from .check import as_json, linkedin_access, run_checks, status, table

DESCRIPTION = "linkedin_leads: a token in one command (auth), and a check before the first sync (check)."


def config_error(exc: Exception) -> int:
    """Prints a configuration error (the missing fields, or the source's own message); returns 2."""
    if isinstance(exc, ConfigFieldMissingException):
        print(f"linkedin_leads is not configured: {', '.join(exc.fields)} (see the README)", file=sys.stderr)
    else:
        print(str(exc), file=sys.stderr)
    return 2


def check(as_json_output: bool = False) -> int:
    """Runs every check and prints the table (or JSON); returns the exit status."""
    try:
        client, owners, discovered = linkedin_access()
    except (ConfigFieldMissingException, LinkedInConfigError) as exc:
        return config_error(exc)
    except LinkedInLeadsError as exc:  # discovery refused or unreachable
        print(str(exc), file=sys.stderr)
        return 4
    rows = run_checks(client, owners, discovered)
    print(json.dumps(as_json(rows), indent=2) if as_json_output else table(rows))
    return status(rows)


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``check`` and ``auth``, for ``python -m linkedin_leads`` and the ``linkedin-leads`` command."""
    checking = commands.add_parser(
        "check", help="verify credentials, scopes, version and owners; load nothing"
    )
    checking.add_argument("--json", action="store_true", help="print the rows as JSON, for machines")
    authorizing = commands.add_parser("auth", help="authorize your LinkedIn app and store its refresh token")
    authorizing.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"loopback port of the redirect URL (default {DEFAULT_PORT})",
    )
    authorizing.add_argument(
        "--no-browser",
        action="store_true",
        help="print the link; also take the redirected URL pasted on stdin",
    )
    authorizing.add_argument(
        "--secrets", default=".dlt/secrets.toml", help="the file to write (default .dlt/secrets.toml)"
    )


def dispatch(args: argparse.Namespace) -> int:
    """Runs the ``check`` or ``auth`` that ``args`` name; returns the exit status."""
    if args.command == "auth":
        return auth(args.port, not args.no_browser, Path(args.secrets))
    return check(args.json)


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m linkedin_leads``: parses ``argv`` and runs the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m linkedin_leads", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"linkedin_leads {VERSION}")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return dispatch(parser.parse_args(argv))


def auth(port: int, open_browser: bool, secrets_path: Path) -> int:
    """Runs LinkedIn's authorization flow; returns the exit status."""
    try:
        text, _ = authorize(port, open_browser, secrets_path)
    except LinkedInConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except LinkedInLeadsError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(text)
    return 0
