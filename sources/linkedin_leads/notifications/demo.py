"""``serve --demo``: the receiver working end to end in one command, without LinkedIn.

It starts the project's LinkedIn emulator and the receiver on 127.0.0.1, subscribes every owner
and lead type through the emulator's API (which validates the webhook as LinkedIn does), has the
emulator send signed ``CREATED`` notifications (some delivered twice) and then a ``DELETED``, and
prints what landed in ``linkedin_leads_receiver_demo.duckdb`` in the current folder: a file of its
own, made anew each time, never the pull demo's. The journal and the receiver's pipeline folder are
temporary, and no lock file is left behind. Plain HTTP on loopback: the emulator allows it, LinkedIn
does not (see ``deploy/`` for the TLS proxy).
"""

import os
import shutil
import tempfile
import time
from typing import Any, Callable, List

import dlt

from ..api.credentials import LinkedInOAuthCredentials
from ..config.checks import checked_client
from ..config.owners import configured_owners
from ..reading.shared import remove_lock_file
from ..settings import DEFAULT_API_VERSION
from .loader import log
from .service import Service
from .source import lead_notifications
from .subscriptions import subscribe

PIPELINE = "linkedin_leads_receiver_demo"
"""The demo's pipeline name, and its DuckDB file's."""
CREATED = 5
TWICE = 2
WAIT_SECONDS = 60.0


def run_demo(port: int = 0) -> int:
    """Runs the demo; returns 0 when every notification landed as it should, 1 otherwise."""
    from ..emulator import LinkedInEmulator, generate  # only the demo needs it

    data = generate(
        int(time.time() * 1000), accounts=1, organizations=1, forms_per_owner=1, leads=20, seed=11
    )
    database = os.path.abspath(f"{PIPELINE}.duckdb")
    for old in (database, f"{database}.wal", f"{database}.lock"):  # each demo starts anew
        if os.path.exists(old):
            os.remove(old)
    work = tempfile.mkdtemp(prefix="linkedin_leads_receiver_demo_")
    try:
        with LinkedInEmulator(data, allow_http_webhooks=True) as emulator:
            credentials = LinkedInOAuthCredentials()
            credentials.client_id = "test-client"
            credentials.client_secret = "test-client-secret"
            credentials.refresh_token = "test-refresh-token"
            credentials.token_url = emulator.token_url

            def make_pipeline() -> Any:
                return dlt.pipeline(
                    pipeline_name=PIPELINE,
                    pipelines_dir=os.path.join(work, "pipelines"),
                    destination=dlt.destinations.duckdb(database),
                    dataset_name="linkedin",
                )

            service = Service(
                "test-client-secret",
                os.path.join(work, "journal.sqlite"),
                make_pipeline,
                lambda entries: lead_notifications(
                    entries=entries, credentials=credentials, base_url=emulator.base_url
                ),
                port=port,
                batch_seconds=1.0,
            ).start()
            try:
                return _show(emulator, service, credentials, make_pipeline)
            finally:
                service.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        remove_lock_file(database)


def _show(emulator: Any, service: Service, credentials: Any, make_pipeline: Callable[[], Any]) -> int:
    pipeline = make_pipeline()
    database = pipeline.destination_client().config.credentials.database
    data = emulator.data
    print(f"LinkedIn emulator: {emulator.base_url}")
    print(f"Receiver: {service.url}  (health {service.url.split('/linkedin')[0]}/healthz, metrics /metrics)")
    client = checked_client(credentials, emulator.base_url, DEFAULT_API_VERSION)
    owners = configured_owners(data.accounts, data.organizations, None)
    created = subscribe(client, owners, service.url)
    print(f"Subscribed {len(created)} (owner, lead type) pairs; the emulator validated the webhook.")

    leads = [lead for lead in data.leads if not lead.test_lead][:CREATED]
    statuses: List[int] = []
    for number, lead in enumerate(leads):
        statuses += emulator.notifications.notify(lead, copies=2 if number < TWICE else 1)
    print(f"Sent {len(leads)} signed CREATED notifications, {TWICE} of them delivered twice: {statuses}")
    ids = [lead.id for lead in leads]
    if not _wait(lambda: service.loader.loaded >= len(leads)):
        print(f"FAILED: {service.loader.loaded} of {len(leads)} notifications loaded in {WAIT_SECONDS:g} s")
        return 1
    landed = _count(
        pipeline, "SELECT count(*) FROM linkedin.lead_form_responses WHERE list_contains(?, id)", ids
    )
    print(f"Landed: {landed} leads in linkedin.lead_form_responses, each once ({len(statuses)} deliveries).")

    gone = leads[0]
    statuses = emulator.notifications.delete_lead(gone)
    print(f"Sent DELETED for lead {gone.id}: {statuses}")
    if not _wait(lambda: service.loader.deletions >= 1):
        print(f"FAILED: the deletion was not loaded in {WAIT_SECONDS:g} s")
        return 1
    left = _count(
        pipeline, "SELECT count(*) FROM linkedin.lead_form_responses WHERE list_contains(?, id)", ids
    )
    recorded = _count(
        pipeline, "SELECT count(*) FROM linkedin.lead_form_responses_deleted WHERE id = ?", gone.id
    )
    print(
        f"After the deletion: {left} leads left; lead {gone.id} gone from lead_form_responses, its answers "
        f"and consents, and recorded in lead_form_responses_deleted ({recorded} row)."
    )
    print(f"Data: DuckDB file {database}, dataset `linkedin`. Try:")
    sample = "SELECT id, submitted_at FROM linkedin.lead_form_responses"  # printed, not run
    print(f"  python -c \"import duckdb; print(duckdb.connect('{database}').sql('{sample}'))\"")
    ok = landed == len(leads) and left == len(leads) - 1 and recorded == 1
    log.info("demo finished" if ok else "demo: the counts are not what was sent")
    return 0 if ok else 1


def _wait(done: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _count(pipeline: Any, query: str, *args: Any) -> int:
    with pipeline.sql_client() as client:
        return int(client.execute_sql(query, *args)[0][0])
