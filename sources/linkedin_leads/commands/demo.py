"""The demo: the source against a local LinkedIn emulator with generated data, into DuckDB.

Its pipeline lives here, not in the example script, so that ``dlt init <source> <destination>``
(which rewrites the script's ``destination=``) leaves the demo on DuckDB whatever the destination.
"""

import os
import sys
import time

import dlt

from .. import linkedin_leads
from ..api.credentials import LinkedInOAuthCredentials
from ..api.exceptions import LinkedInConfigError
from ..config.validate import validate_settings
from ..reading.shared import remove_lock_file
from .run import PARTIAL, load


def run_demo(leads: int = 3000, pipeline_name: str = "linkedin_leads_demo") -> int:
    """Loads generated leads from a local LinkedIn emulator into ``<pipeline_name>.duckdb`` here.

    No credentials and no network: the emulator runs on 127.0.0.1 in this process.

    Args:
        leads: How many leads the emulator holds (2 ad accounts, 1 organization, 3 forms each).
        pipeline_name: The pipeline's name, which also names its DuckDB file.

    Returns:
        int: The exit status, as ``run.run`` returns it; 2 when a setting is wrong.
    """
    from ..emulator import LinkedInEmulator, generate  # only the demo runs it

    try:
        validate_settings(credentials=())  # the user's settings still count; its credentials are its own
    except LinkedInConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2

    data = generate(int(time.time() * 1000), accounts=2, organizations=1, forms_per_owner=3, leads=leads)
    with LinkedInEmulator(data) as emulator:
        oauth = LinkedInOAuthCredentials()
        oauth.client_id = "test-client"
        oauth.client_secret = "test-client-secret"
        oauth.refresh_token = "test-refresh-token"
        oauth.token_url = emulator.token_url
        source = linkedin_leads(
            account_ids=[*data.accounts],
            organization_ids=[*data.organizations],
            credentials=oauth,
            base_url=emulator.base_url,
        )
        # its own file here, whatever `destination.duckdb.credentials` says of the user's runs
        database = os.path.abspath(f"{pipeline_name}.duckdb")
        pipeline = dlt.pipeline(
            pipeline_name=pipeline_name,
            destination=dlt.destinations.duckdb(database),
            dataset_name="linkedin",
        )
        print(f"Demo: LinkedIn emulator at {emulator.base_url} with {len(data.leads)} leads.")
        try:
            metrics = load(pipeline, source)
        finally:
            remove_lock_file(database)
        print(f"API requests sent: {len(emulator.calls())}")
    return PARTIAL if metrics.get("left") else 0
