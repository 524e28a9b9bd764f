"""What the writers of one dataset share, and how they wait for each other.

Several writers load the same tables: the scheduled pull (pipeline ``linkedin_leads``, or the
name its runner gives it), the notification receiver (``<pull's name>_receiver``) and each owner
group of the Airflow DAG (``linkedin_leads_group_<n>``). Each writer keeps its own dlt state
under its own pipeline name, as dlt requires of anything that runs beside another (one pipeline
state, one writer): its progress, the form versions it looked up, the names it gave questions.
Nothing any writer needs from another is in a state; it is in the destination, where each
writer reads it and none overwrites what another wrote:

- **question -> column names**: the table ``lead_form_question_columns``, one row per question,
  name and writer (a writer's row never replaces another's), written by each writer with the
  names it gave questions no writer had named yet. Each writer
  reads it when its extract starts (``shared_question_columns``) and takes, per question, the
  name written first (the earliest ``named_at``; on a tie, the smaller name). The name a question
  gets is a function of the question alone (``forms.QuestionColumns``), so two writers meeting the
  same new question name it alike, whichever comes first; the one case where they could differ, a
  question relabelled between form versions and met by two writers for the first time in the same
  moment on different versions, is settled by the earliest name from then on.
- **deleted leads**: the table ``lead_form_responses_deleted`` (``deletions``).
- **form versions**: immutable, so each writer looks them up itself and keeps them in its own
  state.

On DuckDB one process at a time may open the file: each writer holds ``destination_lock`` for
as long as it has the file open, and waits for the other, up to ``destination_lock_timeout``
seconds each time: the receiver for each batch; the pull for its state sync, each read of the
dataset during its extract (``reading_dataset``) and its load, never while it reads LinkedIn
(``commands/run.py``). Warehouses take concurrent
sessions: there the lock does nothing. The receiver's journal is a file of its own: it never
waits for the destination.
"""

import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import IO, Any, Dict, Iterator, List, Mapping, Optional, Tuple

import dlt
from dlt.common import logger, pendulum
from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.common.time import ensure_pendulum_datetime
from dlt.common.typing import TDataItem
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from ..api.exceptions import LinkedInLeadsError
from ..config.checks import check_lock_timeout
from ..settings import DEFAULT_LOCK_TIMEOUT, QUESTION_COLUMNS_TABLE

if sys.platform != "win32":  # not on Windows: there the lock does nothing
    import fcntl

_held: Dict[str, Tuple[int, int]] = {}
"""DuckDB files this process holds: path -> (holding thread, depth), so that a hold within a hold
(a read of the dataset during a load) goes through instead of waiting for itself."""
_held_lock = threading.Lock()

SOURCE_STATE_KEYS = ("question_columns", "form_versions")
"""What a receiver from before "one state per writer" inherits from the state it shared with the pull."""


def active_pipeline() -> Optional[Any]:
    """The pipeline running the extract (None when a resource is iterated by hand)."""
    context = Container()[PipelineContext]
    return context.pipeline() if context.is_active() else None


def writer_name() -> str:
    """The running pipeline's name: who wrote a shared row."""
    pipeline = active_pipeline()
    return str(pipeline.pipeline_name) if pipeline is not None else "linkedin_leads"


def shared_question_columns(pipeline: Optional[Any]) -> Dict[str, str]:
    """``{str(questionId): column}`` from the destination: the first name written for each."""
    if pipeline is None or pipeline.destination is None:
        return {}
    try:
        with reading_dataset(pipeline), pipeline.sql_client() as client:
            table = client.make_qualified_table_name(QUESTION_COLUMNS_TABLE)
            rows = client.execute_sql(f"SELECT question_id, column_name, named_at FROM {table}") or []  # noqa: S608
    except DatabaseUndefinedRelation:
        return {}
    return earliest_names((str(r[0]), str(r[1]), r[2]) for r in rows)


def earliest_names(rows: Any) -> Dict[str, str]:
    """Per question, the name with the earliest ``named_at`` (then the smallest name)."""
    best: Dict[str, Tuple[Any, str]] = {}
    for question_id, column, named_at in rows:
        key = (_as_utc(named_at), column)
        if question_id not in best or key < best[question_id]:
            best[question_id] = key
    return {question_id: column for question_id, (_, column) in best.items()}


def question_column_rows(named: Mapping[str, str], writer: str) -> List[TDataItem]:
    """The rows that record names given in this run (none if none), keyed by question, name and writer.

    Plain rows, not Arrow: they go through the pull's incremental on ``submitted_at``, which the
    pull tells to let rows without that field pass (``on_cursor_value_missing="include"``); it
    would refuse an Arrow table without the column.
    """
    if not named:
        return []
    now = pendulum.now("UTC")
    rows = [
        {"question_id": int(key), "column_name": column, "named_at": now, "named_by": writer}
        for key, column in named.items()
    ]
    hints = dlt.mark.make_hints(
        table_name=QUESTION_COLUMNS_TABLE,
        # one row per question, name and writer: a writer's row never replaces another's (merged
        # rather than appended so that the resource's `hard_delete` column keeps its meaning)
        write_disposition="merge",
        primary_key=["question_id", "column_name", "named_by"],
        columns=QUESTION_COLUMN_HINTS,
    )
    return [dlt.mark.with_hints(rows, hints, create_table_variant=True)]


QUESTION_COLUMN_HINTS: TTableSchemaColumns = {
    "question_id": {"data_type": "bigint", "nullable": False},
    "column_name": {"data_type": "text", "nullable": False},
    "named_at": {"data_type": "timestamp", "nullable": False},
    "named_by": {"data_type": "text", "nullable": False},
}


def inherited_state(
    receiver: Any, pull_pipeline_name: str, timeout: float = DEFAULT_LOCK_TIMEOUT
) -> Dict[str, Any]:
    """The question names and form versions a receiver knew when it shared the pull's state.

    A receiver deployed before it had a pipeline of its own wrote the pull's state. Until its own
    state holds question names, it takes them (and the form versions) from that state, read from
    the destination (read-only: nothing is written under the pull's name), so that nothing it knew
    is lost. Called when the receiver starts, never during an extract (it runs a pipeline of its
    own); empty once the receiver has a state of its own, or when there is nothing to inherit.
    """
    with destination_lock(receiver, "the lead-notification receiver (starting)", timeout):
        try:
            receiver.sync_destination()
        except Exception as exc:  # a destination not reachable yet: the loader will say so
            logger.info(f"Could not read the receiver's state from the destination: {exc}")
            return {}
        own = (receiver.state.get("sources") or {}).get("linkedin_leads") or {}
        if "question_columns" in own:
            return {}
        with tempfile.TemporaryDirectory(prefix="linkedin_leads_inherit_") as folder:
            old = dlt.pipeline(
                pipeline_name=pull_pipeline_name,
                pipelines_dir=folder,
                destination=receiver.destination,
                dataset_name=receiver.dataset_name,
            )
            try:
                old.sync_destination()
            except Exception as exc:  # nothing to inherit is not a failure of the receiver
                logger.info(f"No state of {pull_pipeline_name} to inherit from the destination: {exc}")
                return {}
            source_state = (old.state.get("sources") or {}).get("linkedin_leads") or {}
            found = {key: source_state[key] for key in SOURCE_STATE_KEYS if key in source_state}
    receiver.activate()
    if found:
        logger.info(
            f"The receiver writes under its own state from now on ({receiver.pipeline_name}); it took "
            f"{len(found.get('question_columns') or {})} question names and "
            f"{len(found.get('form_versions') or {})} form versions from {pull_pipeline_name}'s"
        )
    return found


def writer_destination(destination: Any, pipeline_name: str) -> Any:
    """``destination`` (a name or a dlt destination) with a staging dataset of this writer's own.

    dlt merges through a staging dataset (``<dataset>_staging``), truncated and filled by each
    load: writers loading at the same time into one dataset (the DAG's owner groups) would fill
    and empty each other's staging tables. Each gets ``<dataset>_staging_<pipeline name>``.
    """
    from dlt.common.destination import Destination

    reference = Destination.from_reference(destination)
    if reference is None:
        raise ValueError(f"no dlt destination {destination!r}")
    layout = f"%s_staging_{pipeline_name}"
    return Destination.from_reference(
        reference.destination_type,
        destination_name=reference.destination_name,
        **{**reference.config_params, "staging_dataset_name_layout": layout},
    )


SCHEMA_UPDATE_ATTEMPTS = 4
"""Loads tried when writers racing to create the same table or column make the update fail."""


def run_writer(pipeline: Any, data: Any = None, load_only: bool = False) -> Any:
    """``pipeline.run(data)`` (or ``pipeline.load()``: ``load_only``, for a package extracted and
    normalized step by step), its load tried again when another writer changed the tables first.

    Writers that load into one dataset at the same moment (the DAG's owner groups, the pull and
    the receiver on a warehouse) race to create the same tables and columns; the loser's schema
    update fails. dlt documents the retry as safe (``dlt.pipeline.helpers.retry_schema_update``):
    it reads the destination again and applies only what is missing. The package extracted is
    kept and loaded; nothing is read from LinkedIn again.
    """
    from dlt.pipeline.helpers import retry_schema_update
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random

    first = True
    for attempt in Retrying(
        stop=stop_after_attempt(SCHEMA_UPDATE_ATTEMPTS),
        wait=wait_random(0.2, 2.0),
        retry=retry_if_exception(retry_schema_update()),
        reraise=True,
    ):
        with attempt:
            if load_only:
                return pipeline.load()
            if first:
                first = False
                return pipeline.run(data)
            logger.info("Another writer changed the dataset's tables first; loading the package again")
            return pipeline.run()  # the pending package only
    return None  # not reached: the last attempt returns or raises


def duckdb_here(pull_pipeline_name: str) -> None:
    """DuckDB writes ``<pull's pipeline name>.duckdb`` in the current folder on every run, for the
    pipeline script and the receiver alike, unless ``destination.duckdb.credentials`` says where.

    dlt would otherwise keep the path of a pipeline's first run (remembered in its working folder)
    and write there from any folder. Set as configuration, not as a destination object, so that
    ``dlt init`` can still swap the script's destination string.
    """
    if not dlt.config.get("destination.duckdb.credentials"):
        os.environ["DESTINATION__DUCKDB__CREDENTIALS"] = os.path.abspath(f"{pull_pipeline_name}.duckdb")


def duckdb_path(pipeline: Any) -> Optional[str]:
    """The DuckDB file of the pipeline's destination; None for any other destination."""
    destination = getattr(pipeline, "destination", None)
    if destination is None or destination.destination_name != "duckdb":
        return None
    database = getattr(pipeline.destination_client().config.credentials, "database", None)
    if not isinstance(database, str) or database in ("", ":memory:"):
        return None
    return os.path.abspath(database)


def remove_lock_file(database: str) -> None:
    """Removes the writers' lock file of a DuckDB file, for a demo that has finished with it.

    ``destination_lock`` leaves its lock file in place on purpose: removing it while another
    writer waits on it would let a third lock a new file beside it. A demo, the file's only
    writer, can remove it.
    """
    if os.path.exists(f"{database}.lock"):
        os.remove(f"{database}.lock")


@contextmanager
def destination_lock(pipeline: Any, writer: str, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Holds the DuckDB file of ``pipeline`` for this process (a lock every writer honours).

    ``writer`` names this process in the lock file, for the error another writer gives when it
    waited ``timeout`` seconds in vain. Does nothing on other destinations and on Windows (no ``fcntl``).
    A thread that holds the file already goes through (a read of the dataset within a load).

    Raises:
        LinkedInLeadsError: If another writer held the file for ``timeout`` seconds.
    """
    path = duckdb_path(pipeline)
    if path is None or sys.platform == "win32":
        yield
        return
    me = threading.get_ident()
    with _held_lock:
        holder = _held.get(path)
        if holder is not None and holder[0] == me:  # held already by this thread: a read within a load
            _held[path] = (me, holder[1] + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_lock:
                _held[path] = (me, _held[path][1] - 1)
        return
    lock_path = f"{path}.lock"
    with open(lock_path, "a+", encoding="utf-8") as handle:
        _acquire(handle, lock_path, path, timeout)
        with _held_lock:
            _held[path] = (me, 1)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{writer} (PID {os.getpid()})\n")
            handle.flush()
            yield
        finally:
            with _held_lock:
                del _held[path]
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def reading_dataset(pipeline: Optional[Any]) -> Iterator[None]:
    """A short hold of a DuckDB destination for a read during the extract (question names,
    deleted leads, the deletion check): the pull does not hold the file while it extracts.

    Raises:
        LinkedInLeadsError: If another writer held the file for ``destination_lock_timeout`` seconds.
    """
    if pipeline is None or pipeline.destination is None:
        yield
        return
    with destination_lock(pipeline, f"{pipeline.pipeline_name} (reading the dataset)", lock_timeout()):
        yield


def _acquire(handle: IO[str], lock_path: str, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waited = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if waited:
                logger.info(f"{path} is free again; going on")
            return
        except BlockingIOError:
            holder = _holder(lock_path)
            if time.monotonic() >= deadline:
                raise LinkedInLeadsError(
                    f"{path} is held by {holder} and was not freed in {timeout:g} s. DuckDB lets one "
                    "process at a time open its file. Let that run finish, or set "
                    "`destination_lock_timeout` (seconds) under [sources.linkedin_leads] to wait "
                    "longer."
                ) from None
            if not waited:
                logger.info(f"{path} is held by {holder}; waiting up to {timeout:g} s")
                waited = True
            time.sleep(0.05)


def _holder(lock_path: str) -> str:
    try:
        with open(lock_path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except OSError:
        text = ""
    return text or "another process"


def _as_utc(value: Any) -> pendulum.DateTime:
    """A timestamp read back from a destination (naive means UTC), comparable with any other."""
    return ensure_pendulum_datetime(value)


def lock_timeout() -> float:
    """``destination_lock_timeout`` under ``[sources.linkedin_leads]`` (seconds), else the default."""
    return check_lock_timeout(dlt.config.get("sources.linkedin_leads.destination_lock_timeout"))
