"""What a run of this source left unread, read back from a pipeline's state.

Light on purpose: the example script and the Airflow DAG import it with the source, and nothing
here needs more than the state (``runs`` records it).
"""

from typing import Any, Dict, List, Mapping


def left_line(item: Mapping[str, Any]) -> str:
    """One item of ``work_left`` (or of the metrics' ``left``) as a line a person reads."""
    return f"{item['owner']} {item['lead_type']}: {item['start']} to {item['end']} ({item['reason']})"


def work_left(pipeline: Any) -> List[Dict[str, Any]]:
    """What the pipeline's last run of this source did not read (empty when it read everything).

    Read from the pipeline state (``last_run`` in the resource state of ``lead_form_responses``),
    so it also works in a later process after ``pipeline.sync_destination()``. Each item names
    the ``owner``, the ``lead_type``, the ``start`` and ``end`` of the span and the ``reason``.
    """
    left: List[Dict[str, Any]] = (responses_state(pipeline).get("last_run") or {}).get("left") or []
    return left


def responses_state(pipeline: Any) -> Dict[str, Any]:
    """The resource state of ``lead_form_responses`` in a pipeline's state (empty if none yet):
    ``progress``, ``last_run`` and dlt's own ``incremental`` cursor."""
    sources = pipeline.state.get("sources", {})
    resource: Dict[str, Any] = (
        sources.get("linkedin_leads", {}).get("resources", {}).get("lead_form_responses", {})
    )
    return resource
