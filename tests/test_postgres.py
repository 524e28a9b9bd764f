"""The end-to-end load against a second real destination: PostgreSQL on 127.0.0.1."""

import random
import tempfile
import threading
import time
from typing import Callable, Dict, List

import dlt

from linkedin_leads.emulator import LinkedInEmulator
from linkedin_leads.reading.shared import run_writer, writer_destination

from .conftest import make_source, sql


def make_postgres_pipeline(url: str, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name, destination=dlt.destinations.postgres(url), dataset_name=f"{name}_data"
    )


def test_full_and_incremental_load_into_postgres(
    emulator: LinkedInEmulator, postgres_url: str, make_pipeline: Callable[..., dlt.Pipeline]
) -> None:
    pipeline = make_postgres_pipeline(postgres_url, f"pg{random.randint(0, 10**6)}")
    pipeline.run(make_source(emulator))
    expected = sorted(lead.id for lead in emulator.visible_leads())
    assert [r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses ORDER BY id")] == expected
    rng = random.Random(2)
    forms = list(emulator.data.forms)
    now = int(time.time() * 1000)
    new = [emulator.data.make_lead(forms[i % len(forms)], now - 9000 + i, rng) for i in range(25)]
    emulator.add_leads(new)
    pipeline.run(make_source(emulator))
    ids = [r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses")]
    assert sorted(ids) == sorted(lead.id for lead in emulator.visible_leads()) and len(ids) == len(set(ids))
    answers = sql(
        pipeline, "SELECT count(*), count(DISTINCT (lead_id, question_id)) FROM lead_form_responses__answers"
    )[0]
    assert (
        answers[0]
        == answers[1]
        == sum(len(x.entity["formResponse"]["answers"]) for x in emulator.visible_leads())
    )
    types: Dict[str, str] = dict(
        sql(
            pipeline,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s",
            pipeline.dataset_name,
        )
    )
    assert types["lead_form_responses.submitted_at"] == "timestamp with time zone"
    assert types["lead_form_responses.test_lead"] == "boolean"
    assert types["lead_form_responses.form_id"] == "bigint"
    assert types["lead_forms.id"] == "bigint"
    assert types["lead_forms.created"] == "timestamp with time zone"
    big = 6_955_637_458_260_688_897
    assert sql(pipeline, "SELECT count(*) FROM lead_forms WHERE id = %s", big)[0][0] == 1
    assert sql(pipeline, "SELECT count(*) FROM lead_form_responses WHERE form_id = %s", big)[0][0] == sum(
        1 for lead in emulator.visible_leads() if lead.form_id == big
    )


def test_owner_groups_in_parallel_into_one_dataset(emulator: LinkedInEmulator, postgres_url: str) -> None:
    """The DAG's owner groups: three pipelines at once into one dataset, each with its own state
    and staging dataset (``shared.writer_destination``); every lead once, each group incremental."""
    dataset = f"groups{random.randint(0, 10**6)}"
    groups = [
        {"account_ids": [emulator.data.accounts[0]], "organization_ids": None},
        {"account_ids": [emulator.data.accounts[1]], "organization_ids": None},
        {"account_ids": None, "organization_ids": emulator.data.organizations},
    ]

    def group_pipeline(number: int) -> dlt.Pipeline:
        name = f"linkedin_leads_group_{number}"
        return dlt.pipeline(
            pipeline_name=name,
            pipelines_dir=tempfile.mkdtemp(prefix="group_"),  # a fresh worker, as the DAG runs it
            destination=writer_destination(dlt.destinations.postgres(postgres_url), name),
            dataset_name=dataset,
        )

    def run_all() -> None:
        errors: List[BaseException] = []

        def run_group(number: int) -> None:
            try:
                run_writer(group_pipeline(number), make_source(emulator, **groups[number]))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run_group, args=(n,)) for n in range(len(groups))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, [str(e) for e in errors]

    run_all()
    pipeline = group_pipeline(0)
    expected = sorted(lead.id for lead in emulator.visible_leads())
    assert [r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses ORDER BY id")] == expected
    schemas = {r[0] for r in sql(pipeline, "SELECT schema_name FROM information_schema.schemata")}
    assert {f"{dataset}_staging_linkedin_leads_group_{n}" for n in range(3)} <= schemas
    # a second round: each group asks LinkedIn only from its own newest lead minus the lookback
    emulator.reset_log()
    run_all()
    assert [r[0] for r in sql(pipeline, "SELECT id FROM lead_form_responses ORDER BY id")] == expected
    newest: Dict[str, int] = {}
    for lead in emulator.visible_leads():
        key = f"{lead.owner_kind}:{lead.owner_id}:{lead.lead_type}"
        newest[key] = max(newest.get(key, 0), lead.submitted_at)
    queries = [r for r in emulator.calls("leadFormResponses") if "submittedAtTimeRange" in r.params]
    assert queries
    for record in queries:
        owner = next(iter(record.params["owner"].items()))
        kind, number = owner[0], owner[1].rsplit(":", 1)[1]
        lead_type = record.params["leadType"]["leadType"]
        start = int(record.params["submittedAtTimeRange"]["start"])
        assert start >= newest[f"{kind}:{number}:{lead_type}"] - 24 * 3600 * 1000 - 2, record.query
