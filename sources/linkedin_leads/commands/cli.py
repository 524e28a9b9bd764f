"""The command line: ``run``, ``check``, ``auth`` and ``notifications``, with their exit statuses.

The same commands answer as ``linkedin-leads <command>`` (the installed package), ``python -m
linkedin_leads <command>`` and, for ``run``, ``--demo`` and ``--check``, the example script
``python linkedin_leads_pipeline.py``; ``--version`` everywhere.

- ``run [--demo]``: loads the configured owners (``run.run``); the demo against a local emulator.
  Exit 0; 3 when LinkedIn stopped the run part-way; 2 for a configuration error; 1 otherwise.
- ``check [--json]``: verifies the configuration against LinkedIn and loads nothing (``check``).
  Exit 0 when every check passed; 4 when one failed (each failing row says the fix); 2 for a
  configuration error.
- ``auth [--port 8765] [--no-browser] [--secrets .dlt/secrets.toml]``: LinkedIn's 3-legged OAuth
  for your app (``auth``); writes the refresh token. Exit 0; 1 when LinkedIn or the member
  refused; 2 for a configuration error.
- ``notifications ...``: the lead-notification receiver's own command line.

All read the same settings as the source (``.dlt/config.toml``, ``.dlt/secrets.toml``, environment).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from ..api.exceptions import LinkedInConfigError, LinkedInLeadsError
from ..config.keys import config_error
from ..config.validate import validate_settings
from ..reading.discovery import linkedin_access
from ..settings import SCRIPT, add_version, command, invoked_as
from .auth import DEFAULT_PORT, authorize
from .check import as_json, run_checks, status, table

DESCRIPTION = "linkedin_leads: LinkedIn Lead Gen Forms and their leads, loaded with dlt."
DEMO_HELP = "load from a local LinkedIn emulator (no credentials)"


def main(argv: Optional[List[str]] = None, prog: str = "python -m linkedin_leads") -> int:
    """``<prog> run | check | auth | notifications``: parses ``argv`` and runs the command.

    Args:
        argv: The arguments after the program's name (default: ``sys.argv[1:]``).
        prog: The program's name as the user typed it, for the help text.

    Returns:
        int: The command's exit status.
    """
    argv = sys.argv[1:] if argv is None else argv
    invoked_as(prog)
    if argv[:1] == ["notifications"]:  # the receiver's options, parsed by its own parser
        return notifications(argv[1:], f"{prog} notifications")
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="load your LinkedIn leads into <pipeline>.duckdb here")
    running.add_argument("--demo", action="store_true", help=DEMO_HELP)
    initializing = commands.add_parser(
        "init", help="write commented .dlt/config.toml and .dlt/secrets.toml templates here"
    )
    add_version(parser, running, initializing, *add_check_and_auth(commands))
    commands.add_parser(
        "notifications", help="the lead-notification receiver: serve [--demo], subscribe, unsubscribe, list"
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        from .run import default_pipeline, run

        return demo() if args.demo else run(default_pipeline())
    if args.command == "auth":
        return auth(args.port, not args.no_browser, Path(args.secrets))
    if args.command == "init":
        return init(Path.cwd())
    return check(args.json)


def console(argv: Optional[List[str]] = None) -> int:
    """The ``linkedin-leads`` command of the installed package (``main`` under that name).

    Args:
        argv: The arguments after the command's name (default: ``sys.argv[1:]``).

    Returns:
        int: The command's exit status.
    """
    return main(argv, prog="linkedin-leads")


def script(configured: Callable[[], int], argv: Optional[List[str]] = None) -> int:
    """The example script's command line: ``[--demo | --check | --version]``.

    Args:
        configured: What the script runs without an option: its configured run.
        argv: The arguments after the script's name (default: ``sys.argv[1:]``).

    Returns:
        int: The exit status of what ran.
    """
    invoked_as(f"python {SCRIPT}")
    parser = argparse.ArgumentParser(prog=SCRIPT, description=DESCRIPTION)
    add_version(parser)
    parser.add_argument("--demo", action="store_true", help=DEMO_HELP)
    parser.add_argument(
        "--check", action="store_true", help="verify the configuration against LinkedIn and load nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    return demo() if args.demo else configured()


def add_check_and_auth(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> Tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Adds ``check`` and ``auth`` to a command line's commands.

    Args:
        commands: The command line's subparsers.

    Returns:
        Tuple[argparse.ArgumentParser, argparse.ArgumentParser]: Their parsers.
    """
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
    return checking, authorizing


def init(folder: Path) -> int:
    """Writes the ``.dlt/`` templates into ``folder``, never over a file that exists.

    Args:
        folder: Where to write them (the current folder).

    Returns:
        int: 0 when a template was written; 2 when both files existed (nothing written).
    """
    from .init import write_templates

    written, kept = write_templates(folder)
    for path in written:
        print(f"Wrote {path}{' (mode 600)' if path.name == 'secrets.toml' else ''}")
    for path in kept:
        print(f"Kept {path}: it exists, and init never overwrites", file=sys.stderr)
    if not written:
        return 2
    print(
        "Next: your owners in .dlt/config.toml, your app's client_id and client_secret in "
        f".dlt/secrets.toml, then {command('auth')}, {command('check')}, {command('run')}."
    )
    return 0


def demo() -> int:
    """Runs the demo (``demo.run_demo``).

    Returns:
        int: Its exit status.
    """
    from .demo import run_demo

    return run_demo()


def check(as_json_output: bool = False) -> int:
    """Runs every check and prints the table (or JSON).

    Args:
        as_json_output: Print the rows as JSON, for machines.

    Returns:
        int: 0 when every check passed, 4 when one failed, 2 for a configuration error.
    """
    try:
        validate_settings()  # every mistake at once, before any request
        client, owners, discovered = linkedin_access()
    except (ConfigFieldMissingException, LinkedInConfigError) as exc:
        return config_error(exc)
    except LinkedInLeadsError as exc:  # discovery refused or unreachable
        print(str(exc), file=sys.stderr)
        return 4
    rows = run_checks(client, owners, discovered)
    print(json.dumps(as_json(rows), indent=2) if as_json_output else table(rows))
    return status(rows)


def auth(port: int, open_browser: bool, secrets_path: Path) -> int:
    """Runs LinkedIn's authorization flow and writes the refresh token.

    Args:
        port: The loopback port of the redirect URL.
        open_browser: Open LinkedIn's consent page in a browser (else print the link).
        secrets_path: The secrets file to write the token into.

    Returns:
        int: 0 when the token was written, 1 when LinkedIn or the member refused, 2 for a
        configuration error.
    """
    try:
        validate_settings(credentials=("client_id", "client_secret"))  # the tokens are what it writes
        text, _ = authorize(port, open_browser, secrets_path)
    except LinkedInConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except LinkedInLeadsError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(text)
    return 0


def notifications(argv: List[str], prog: str) -> int:
    """The receiver's command line (``notifications/__main__.py``).

    Args:
        argv: The receiver's arguments.
        prog: Its name as the user typed it.

    Returns:
        int: Its exit status; 2, naming the extra to install, when its packages are missing.
    """
    try:
        from ..notifications.__main__ import main as receiver
    except ImportError as exc:
        print(
            f"The receiver needs the package's extra `notifications` ({exc.name} is missing): "
            "pip install '.[notifications]' in the checkout, or '<wheel file>[notifications]'",
            file=sys.stderr,
        )
        return 2
    return receiver(argv, prog=prog)
