"""Form versions and question naming: what a lead's ids mean, and the columns they fill.

A lead's answers reference only question and option ids. They are resolved against the
questions of the form version the lead was submitted on: the forms listing gives each form's
current version (``FormCatalog.add_listed``); an older version is looked up once through a
``fetch`` callback (the client's ``form_version``, LinkedIn's ``form:(...)`` projection) and
kept in the pipeline state, since a form version never changes. ``QuestionColumns``
(``questions``) names the wide-row column of each question once, for good; ``lead_form_row``
makes the ``lead_forms`` row.

A version that cannot be read (LinkedIn may leave ``form`` out of its answer) does not stop its
leads: they load with their answers' question ids and raw values, and ``UnresolvedVersions``
keeps, in the state, which leads those were, so that a later run that can read the version
loads them again with their labels (``relabel``).
"""

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, MutableMapping, Optional, Tuple

from dlt.common import logger

from ..api.urns import urn_id, versioned_form_urn
from .columns import HIDDEN_FIELD_PREFIX
from .questions import QuestionColumns, slug
from .values import form_locale, from_epoch_ms, localized


@dataclass(eq=False)  # hashed by identity: a page numbers the questions its answers meet
class Question:
    """One question of one form version, with its column and its options' labels."""

    id: int  # noqa: A003 (LinkedIn's own name)
    column: str
    name: Optional[str]
    text: Optional[str]
    predefined_field: Optional[str]
    kind: str
    """``text`` or ``multiple_choice``."""
    options: Dict[int, Optional[str]] = field(default_factory=dict)

    @classmethod
    def unknown(cls, question_id: int, choice: bool) -> "Question":
        """A question the lead's form version does not list (or a version not found):
        column ``question_<id>``, no text, no option labels."""
        return cls(
            question_id, f"question_{question_id}", None, None, None, "multiple_choice" if choice else "text"
        )


@dataclass
class FormVersion:
    """The questions, consents and hidden fields of one version of one form."""

    form_id: int
    version: Optional[int]
    name: Optional[str]
    locale: str
    questions: Dict[int, Question]
    consents: Dict[int, Tuple[Optional[str], Optional[bool]]]
    hidden_fields: Dict[str, Optional[str]]
    hidden_columns: Dict[str, Optional[str]] = field(default_factory=dict)
    """``hidden_<name>`` column -> value, for the wide row."""

    def __post_init__(self) -> None:
        self.hidden_columns = {
            f"{HIDDEN_FIELD_PREFIX}{slug(name) or 'field'}": value
            for name, value in self.hidden_fields.items()
        }

    def to_state(self) -> Dict[str, Any]:
        """A compact, JSON-friendly form of this version, for the pipeline state."""
        return {
            "name": self.name,
            "locale": self.locale,
            "questions": [
                [
                    q.id,
                    q.column,
                    q.name,
                    q.text,
                    q.predefined_field,
                    q.kind,
                    [[k, v] for k, v in q.options.items()],
                ]
                for q in self.questions.values()
            ],
            "consents": [[k, text, required] for k, (text, required) in self.consents.items()],
            "hidden_fields": [[k, v] for k, v in self.hidden_fields.items()],
        }

    @classmethod
    def from_state(cls, form_id: int, version: Optional[int], value: Mapping[str, Any]) -> "FormVersion":
        """The inverse of ``to_state``."""
        questions = {
            int(q[0]): Question(int(q[0]), q[1], q[2], q[3], q[4], q[5], {int(k): v for k, v in q[6]})
            for q in value["questions"]
        }
        return cls(
            form_id,
            version,
            value.get("name"),
            value.get("locale") or "en_US",
            questions,
            {int(k): (text, required) for k, text, required in value["consents"]},
            {str(k): v for k, v in value["hidden_fields"]},
        )


def resolve_form_version(
    form: Mapping[str, Any], version: Optional[int], columns: QuestionColumns
) -> FormVersion:
    """Resolves a form entity (as listed, or as projected into a lead) into a ``FormVersion``."""
    locale = form_locale(form)
    content = form.get("content") or {}
    questions: Dict[int, Question] = {}
    taken: Dict[str, int] = {}
    for raw in content.get("questions") or []:
        column = columns.name(raw, locale, taken)
        taken[column] = int(raw["questionId"])
        details = raw.get("questionDetails") or {}
        choice = details.get("multipleChoiceQuestionDetails")
        questions[int(raw["questionId"])] = Question(
            id=int(raw["questionId"]),
            column=column,
            name=raw.get("name"),
            text=localized(raw.get("question"), locale),
            predefined_field=raw.get("predefinedField"),
            kind="multiple_choice" if choice is not None else "text",
            options={
                int(o["id"]): localized(o.get("text"), locale) for o in (choice or {}).get("options") or []
            },
        )
    legal = content.get("legalInfo") or {}
    consents = {
        int(c["id"]): (localized(c.get("consent"), locale), c.get("checkRequired"))
        for c in legal.get("consents") or []
    }
    hidden = {
        str(h.get("name")): (None if h.get("value") is None else str(h.get("value")))
        for h in form.get("hiddenFields") or []
    }
    return FormVersion(int(form["id"]), version, form.get("name"), locale, questions, consents, hidden)


FetchForm = Callable[[int, int], Optional[Mapping[str, Any]]]

Span = List[Any]
"""``[owner URN, lead type, first submittedAt, last submittedAt]`` (epoch ms)."""


class UnresolvedVersions:
    """Leads loaded while their form version could not be read, by version; thread-safe.

    Args:
        stored: ``{"form_id:version": [span, ...]}``, one span per (owner, lead type): the
            source state, so that the leads are loaded again by the first run that reads the
            version, however many runs later.
    """

    def __init__(self, stored: Optional[MutableMapping[str, List[Span]]] = None) -> None:
        self.stored: MutableMapping[str, List[Span]] = {} if stored is None else stored
        self._lock = threading.Lock()

    def add(self, form_id: int, version: int, owner_urn: str, lead_type: Any, at: int) -> None:
        """Records a lead of an unread version, submitted at ``at`` (epoch ms)."""
        key = f"{form_id}:{version}"
        with self._lock:
            spans = self.stored.setdefault(key, [])
            for span in spans:
                if span[0] == owner_urn and span[1] == lead_type:
                    span[2], span[3] = min(span[2], at), max(span[3], at)
                    return
            spans.append([owner_urn, lead_type, at, at])

    def pending(self) -> List[Tuple[int, int, Span]]:
        """``(form_id, version, span)`` of every span kept."""
        with self._lock:
            found = []
            for key, spans in self.stored.items():
                form_id, _, version = key.partition(":")
                for span in spans:
                    found.append((int(form_id), int(version), list(span)))
            return found

    def done(self, form_id: int, version: int, span: Span) -> None:
        """Forgets a span whose leads were loaded again with their version."""
        key = f"{form_id}:{version}"
        with self._lock:
            spans = self.stored.get(key, [])
            kept = [s for s in spans if s[:2] != span[:2] or s[2] < span[2] or s[3] > span[3]]
            if kept:
                self.stored[key] = kept
            else:
                self.stored.pop(key, None)


class FormCatalog:
    """Form versions by ``(form_id, version)``, filled from listings and lead projections."""

    def __init__(self, columns: QuestionColumns) -> None:
        self.columns = columns
        self.unresolved = UnresolvedVersions()
        """Leads loaded without their version's labels (``lead_tables`` records them)."""
        self.stored: MutableMapping[str, Any] = {}
        """``"form_id:version"`` -> ``FormVersion.to_state()`` of versions looked up; kept in the
        pipeline state, since a form version never changes."""
        self._versions: Dict[Tuple[int, Optional[int]], Optional[FormVersion]] = {}
        self._fetching: Dict[Tuple[int, Optional[int]], threading.Lock] = {}
        self._lock = threading.Lock()

    def add_listed(self, form: Mapping[str, Any]) -> FormVersion:
        """Registers the current version of a listed form."""
        version = form.get("versionId")
        resolved = resolve_form_version(form, version, self.columns)
        with self._lock:
            self._versions[(resolved.form_id, version)] = resolved
            key = f"{resolved.form_id}:{version}"
            if version is not None and key not in self.stored:
                # kept: once the form moves on, its leads of this version (late ones, or those
                # of the lookback) resolve without the `form` projection LinkedIn may not honour
                self.stored[key] = resolved.to_state()
        return resolved

    def knows(self, form_id: Optional[int], version: Optional[int]) -> bool:
        """Whether ``get`` has this version in hand: met earlier in this run, or no form at all."""
        return form_id is None or (form_id, version) in self._versions

    def get(
        self, form_id: Optional[int], version: Optional[int], fetch: Optional["FetchForm"] = None
    ) -> Optional[FormVersion]:
        """The version a lead was submitted on: known, else fetched once with ``fetch``.

        ``fetch(form_id, version)`` returns the form as LinkedIn projects it into a lead, or
        None; a version that cannot be had is asked for once per run.
        """
        if form_id is None:
            return None
        key = (form_id, version)
        if key in self._versions:
            return self._versions[key]
        with self._lock:
            lock = self._fetching.setdefault(key, threading.Lock())
        with lock:  # one fetch per version, however many threads meet it
            if key not in self._versions:
                stored = self.stored.get(f"{form_id}:{version}")
                found = None
                if stored is not None:
                    found = FormVersion.from_state(form_id, version, stored)
                elif fetch is not None and version is not None:
                    projected = fetch(form_id, version)
                    if projected and projected.get("content") is not None:
                        found = resolve_form_version({**projected, "id": form_id}, version, self.columns)
                        self.stored[f"{form_id}:{version}"] = found.to_state()
                    else:
                        logger.warning(
                            f"LinkedIn did not give the questions of form version "
                            f"{versioned_form_urn(form_id, version)} (no `form` in its answer, and "
                            "it is not the form's current version): its leads load with each "
                            "answer's question id and raw value (option ids for multiple choice), "
                            "in `question_<questionId>` columns and in "
                            "lead_form_responses__answers. A later run that can read the version "
                            "loads them again with their labels."
                        )
                self._versions[key] = found
        return self._versions[key]


def lead_form_row(form: Mapping[str, Any], resolved: FormVersion) -> Dict[str, Any]:
    """A ``lead_forms`` row with readable columns; questions, consents and hidden fields nest."""
    content = form.get("content") or {}
    legal = content.get("legalInfo") or {}
    owner_type, owner_urn = next(iter((form.get("owner") or {}).items()), (None, None))
    review = form.get("reviewInfo") or {}
    locale = resolved.locale
    return {
        "id": form["id"],
        "name": form.get("name"),
        "state": form.get("state"),
        "version_id": form.get("versionId"),
        "locale": locale,
        "created": from_epoch_ms(form["created"]) if isinstance(form.get("created"), int) else None,
        "last_modified": (
            from_epoch_ms(form["lastModified"]) if isinstance(form.get("lastModified"), int) else None
        ),
        "owner_type": owner_type,
        "owner_id": urn_id(owner_urn),
        "headline": localized(content.get("headline"), locale),
        "description": localized(content.get("description"), locale),
        "privacy_policy_url": legal.get("privacyPolicyUrl"),
        "legal_disclaimer": localized(legal.get("legalDisclaimer"), locale),
        "review_status": review.get("reviewStatus"),
        "questions": [
            {
                "question_id": q.id,
                "column_name": q.column,
                "name": q.name,
                "text": q.text,
                "predefined_field": q.predefined_field,
                "question_type": q.kind,
                "options": [{"option_id": k, "label": v} for k, v in q.options.items()],
            }
            for q in resolved.questions.values()
        ],
        "consents": [
            {"consent_id": k, "text": text, "check_required": required}
            for k, (text, required) in resolved.consents.items()
        ],
        "hidden_fields": [{"name": k, "value": v} for k, v in resolved.hidden_fields.items()],
    }
