"""``python -m linkedin_leads.notifications serve | subscribe | unsubscribe | list``.

Settings come from dlt's configuration like the pull's (``.dlt/*.toml``, environment):
``[sources.linkedin_leads]`` (owners, credentials, ``base_url``) and
``[sources.linkedin_leads.notifications]``: ``client_secret`` (default: the credentials'
``client_secret``), ``journal`` (``linkedin_leads_notifications.sqlite``), ``host``
(``127.0.0.1``), ``port`` (8000), ``path`` (``/linkedin/lead-notifications``),
``batch_seconds`` (5), ``batch_size`` (200); ``[sources.linkedin_leads]
destination_lock_timeout`` (600). Command-line options override them. The loader loads into
destination ``duckdb`` (``--destination`` or ``LINKEDIN_LEADS_DESTINATION``), dataset
``linkedin``: the pipeline script's tables. It writes under a pipeline of its own,
``<pull>_receiver``, where ``<pull>`` is the pull's pipeline name (``--pipeline-name``, default
``linkedin_leads``): its state is never the pull's. Its first run takes the question names and
form versions it knew when it shared the pull's state (a receiver deployed before it had its own).
"""

import argparse
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException

from ..api.exceptions import LinkedInLeadsError
from ..config.keys import CREDENTIAL_KEYS, config_error
from ..config.validate import validate_settings
from ..reading.discovery import linkedin_access
from ..reading.shared import duckdb_here, inherited_state, lock_timeout
from ..settings import RECEIVER_SUFFIX, VERSION, add_version, invoked_as
from .loader import DEFAULT_BATCH_SECONDS, DEFAULT_BATCH_SIZE, log
from .service import DEFAULT_PATH, Service
from .source import lead_notifications
from .subscriptions import list_subscriptions, subscribe, unsubscribe

SECTION = "sources.linkedin_leads.notifications"


def setting(name: str, default: Any) -> Any:
    """``[sources.linkedin_leads.notifications] <name>``, else ``default``."""
    value: Any = dlt.config.get(f"{SECTION}.{name}")
    return default if value in (None, "") else value


def client_secret() -> Optional[str]:
    for key in (f"{SECTION}.client_secret", "sources.linkedin_leads.credentials.client_secret"):
        value: Any = dlt.secrets.get(key)
        if value:
            return str(value)
    return None


DESCRIPTION = (
    "The LinkedIn lead-notification receiver: a webhook that journals LinkedIn's signed "
    "notifications and loads them, new leads and deletions, into the pull's tables within seconds."
)
EPILOG = (
    "Options override [sources.linkedin_leads.notifications] in .dlt/config.toml; the "
    "credentials and owners are the pull's. Try it without LinkedIn: serve --demo."
)


def parser(prog: str = "python -m linkedin_leads.notifications") -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG)
    commands = main.add_subparsers(
        dest="command", required=True, metavar="{serve,subscribe,unsubscribe,list}"
    )
    serve = commands.add_parser(
        "serve",
        help="run the webhook receiver and its loader",
        description="Run the webhook and its loader until SIGINT or SIGTERM. LinkedIn calls only https "
        "webhooks: keep --host 127.0.0.1 behind a TLS proxy (deploy/ has nginx and Caddy files).",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="start a LinkedIn emulator beside the receiver, subscribe, send signed notifications "
        "(repeats and a deletion included), print what landed, and stop; no credentials needed",
    )
    serve.add_argument("--host", help="interface to listen on (default: config host, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: config port, else 8000; 0: any)")
    serve.add_argument("--path", help=f"the webhook's path (default: config path, else {DEFAULT_PATH})")
    serve.add_argument(
        "--journal",
        help="the journal file, SQLite, on a persistent disk (default: config journal, else "
        "linkedin_leads_notifications.sqlite in this folder)",
    )
    serve.add_argument(
        "--batch-seconds",
        type=float,
        help="longest a notification waits for its batch "
        f"(default: config batch_seconds, else {DEFAULT_BATCH_SECONDS:g})",
    )
    serve.add_argument(
        "--batch-size",
        type=int,
        help="load at once when this many are pending "
        f"(default: config batch_size, else {DEFAULT_BATCH_SIZE})",
    )
    serve.add_argument(
        "--pipeline-name",
        default="linkedin_leads",
        help="the pull's pipeline name; the receiver writes under <name>_receiver (default: linkedin_leads)",
    )
    serve.add_argument(
        "--destination",
        default=os.environ.get("LINKEDIN_LEADS_DESTINATION", "duckdb"),
        help="dlt destination "
        "(default: $LINKEDIN_LEADS_DESTINATION, else duckdb: <pipeline-name>.duckdb here)",
    )
    serve.add_argument("--dataset", default="linkedin", help="dataset to load into (default: linkedin)")
    serve.add_argument(
        "--pipelines-dir",
        help="the receiver's dlt pipelines folder (default: linkedin_leads_receiver/ beside the journal)",
    )
    sub = commands.add_parser("subscribe", help="subscribe every owner and lead type to a webhook")
    sub.add_argument("--webhook-url", required=True, help="the receiver's public https URL")
    unsub = commands.add_parser("unsubscribe", help="delete subscriptions")
    target = unsub.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook-url", help="delete the subscriptions to this URL")
    target.add_argument("--all", action="store_true", help="delete every subscription of the owners")
    listing = commands.add_parser("list", help="list the subscriptions of every owner and lead type")
    add_version(main, serve, sub, unsub, listing)
    return main


def show_progress() -> None:
    """The receiver's own log on stderr at INFO: where it listens, a line per batch."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def serve(args: argparse.Namespace) -> int:
    show_progress()
    if args.demo:
        from .demo import run_demo

        return run_demo(args.port or 0)
    secret = client_secret()
    if secret is None:
        print(
            "The receiver needs the LinkedIn app's client secret (the key of LinkedIn's signatures): set "
            f"{SECTION}.client_secret or sources.linkedin_leads.credentials.client_secret in "
            ".dlt/secrets.toml, or SOURCES__LINKEDIN_LEADS__NOTIFICATIONS__CLIENT_SECRET.",
            file=sys.stderr,
        )
        return 2
    journal = os.path.abspath(args.journal or setting("journal", "linkedin_leads_notifications.sqlite"))
    pipelines_dir = args.pipelines_dir or os.path.join(os.path.dirname(journal), "linkedin_leads_receiver")

    # on DuckDB the pull's file (`<pull>.duckdb` here, as the pipeline script makes it)
    if args.destination == "duckdb":
        duckdb_here(args.pipeline_name)

    def make_pipeline() -> Any:
        return dlt.pipeline(
            pipeline_name=args.pipeline_name + RECEIVER_SUFFIX,
            pipelines_dir=pipelines_dir,
            destination=args.destination,
            dataset_name=args.dataset,
        )

    # a receiver deployed before it had a state of its own: what it knew in the pull's
    inherited = inherited_state(make_pipeline(), args.pipeline_name, lock_timeout())
    service = Service(
        secret,
        journal,
        make_pipeline,
        lambda entries: lead_notifications(entries=entries, inherited=inherited),
        host=args.host or setting("host", "127.0.0.1"),
        port=args.port if args.port is not None else int(setting("port", 8000)),
        path=args.path or setting("path", DEFAULT_PATH),
        batch_seconds=args.batch_seconds or float(setting("batch_seconds", DEFAULT_BATCH_SECONDS)),
        batch_size=args.batch_size or int(setting("batch_size", DEFAULT_BATCH_SIZE)),
        lock_timeout=lock_timeout(),
    )
    log.info(f"linkedin_leads {VERSION}: receiving LinkedIn lead notifications; journal {journal}")
    service.serve_forever()
    return 0


def main(argv: Optional[List[str]] = None, prog: str = "python -m linkedin_leads.notifications") -> int:
    args = parser(prog).parse_args(argv)
    # the package's command, from `linkedin-leads notifications` or `python -m linkedin_leads.notifications`
    invoked_as(prog.removesuffix(" notifications").removesuffix(".notifications"))
    try:
        # every setting checked first; the receiver's demo brings its own credentials
        validate_settings(() if args.command == "serve" and args.demo else CREDENTIAL_KEYS)
        if args.command == "serve":
            return serve(args)
        client, owners, _ = linkedin_access()
        if args.command == "subscribe":
            result: Any = subscribe(client, owners, args.webhook_url)
        elif args.command == "unsubscribe":
            result = unsubscribe(client, owners, None if args.all else args.webhook_url)
        else:
            result = list_subscriptions(client, owners)
    except (ConfigFieldMissingException, LinkedInLeadsError) as exc:
        return config_error(exc)
    summary: Dict[str, Any] = {args.command: result}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
