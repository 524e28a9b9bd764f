"""The end-to-end load against a second real destination: PostgreSQL on 127.0.0.1."""

import random
import time
from typing import Callable, Dict, Iterator

import dlt
import pytest

from linkedin_leads.emulator import LinkedInEmulator

from .conftest import make_source, sql
from .postgres_server import run_postgres, server_binaries


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not found: install the postgresql package (.ci/run does)")
    yield from run_postgres(binaries)


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
