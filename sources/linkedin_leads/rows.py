"""Turns LinkedIn's records into rows people can read.

A lead's answers reference only question and option ids. They are resolved here
against the questions of the form version the lead was submitted on (the forms listing
for the current version; an older version is looked up once through ``fetch``, which the
source implements with the ``form:(...)`` projection, and kept in the pipeline state),
giving three Arrow tables per page of leads. The module holds no HTTP code and reads no
dlt state itself:

- the wide lead row: one column per question, named by ``QuestionColumns``;
- the long answers table: one row per answer, with question text and option labels;
- the consents table: one row per consent, with its text and whether it was accepted.
"""

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, MutableMapping, Optional, Sequence, Set, Tuple

import pyarrow as pa
from dlt.common.data_types.typing import TDataType
from dlt.common.json import json
from dlt.common.schema.typing import TTableSchemaColumns

from .records import Lead

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_VERSIONED_FORM = re.compile(r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:(\d+),(\d+)\)$")
_URN_ID = re.compile(r"^urn:li:[A-Za-z]+:(\d+)$")

TIMESTAMP = pa.timestamp("us", tz="UTC")
MULTI_VALUE_SEPARATOR = "; "
"""Joins the labels of a multi-select answer in the wide row (the long table keeps a list)."""

LEAD_COLUMNS: Dict[str, pa.DataType] = {
    "id": pa.string(),
    "submitted_at": TIMESTAMP,
    "test_lead": pa.bool_(),
    "lead_type": pa.string(),
    "owner_type": pa.string(),
    "owner_id": pa.int64(),
    "owner_name": pa.string(),
    "form_id": pa.int64(),
    "form_version": pa.int64(),
    "form_name": pa.string(),
    "form_locale": pa.string(),
    "submitter": pa.string(),
    "campaign_id": pa.int64(),
    "campaign_name": pa.string(),
    "creative_id": pa.int64(),
    "creative_name": pa.string(),
    "event_id": pa.int64(),
    "associated_entity": pa.string(),
    "associated_entity_info": pa.string(),
}
"""The lead row's own columns; question and hidden-field columns come after them."""

ANSWER_COLUMNS: Dict[str, pa.DataType] = {
    "lead_id": pa.string(),
    "question_id": pa.int64(),
    "column_name": pa.string(),
    "question_name": pa.string(),
    "question_text": pa.string(),
    "predefined_field": pa.string(),
    "question_type": pa.string(),
    "answer": pa.string(),
    "option_ids": pa.string(),
    "option_labels": pa.string(),
    "form_id": pa.int64(),
    "form_version": pa.int64(),
    "submitted_at": TIMESTAMP,
}

CONSENT_COLUMNS: Dict[str, pa.DataType] = {
    "lead_id": pa.string(),
    "consent_id": pa.int64(),
    "consent_text": pa.string(),
    "accepted": pa.bool_(),
    "check_required": pa.bool_(),
    "form_id": pa.int64(),
    "form_version": pa.int64(),
    "submitted_at": TIMESTAMP,
}

HIDDEN_FIELD_PREFIX = "hidden_"
MAX_COLUMN_LENGTH = 60


def from_epoch_ms(value: int) -> datetime:
    """Converts LinkedIn's epoch milliseconds to an exact UTC datetime."""
    return EPOCH + timedelta(milliseconds=value)


def to_epoch_ms(value: datetime) -> int:
    """Converts a datetime (naive means UTC) to exact epoch milliseconds, rounding down."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - EPOCH  # a pendulum Duration for a pendulum datetime: no `//` with timedelta
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def parse_versioned_form_urn(value: Optional[str]) -> Tuple[Optional[int], Optional[int]]:
    """Returns ``(form_id, version)`` of ``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:F,V)``."""
    match = _VERSIONED_FORM.match(value or "")
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def urn_id(value: Any, cache: Optional[Dict[Any, Optional[int]]] = None) -> Optional[int]:
    """The numeric id at the end of ``urn:li:<type>:<id>``, else None (remembered in ``cache``)."""
    match = _URN_ID.match(value) if isinstance(value, str) else None
    number = int(match.group(1)) if match else None
    if cache is not None and isinstance(value, str):
        cache[value] = number
    return number


def slug(text: str) -> str:
    """An identifier made of ``[a-z0-9_]`` from free text (accents folded; may be empty)."""
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    text = text.encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if len(text) > MAX_COLUMN_LENGTH:
        text = text[:MAX_COLUMN_LENGTH].rsplit("_", 1)[0] or text[:MAX_COLUMN_LENGTH]
    if text and text[0].isdigit():
        text = f"q_{text}"
    return text


def localized(value: Any, locale: str) -> Optional[str]:
    """The text of a MultiLocaleString in ``locale`` (``en_US``), else its first text."""
    if not isinstance(value, Mapping):
        return None
    texts = value.get("localized") or {}
    if locale in texts:
        return str(texts[locale])
    for text in texts.values():
        return str(text)
    return None


def text_value(value: Any, locale: str = "en_US") -> Optional[str]:
    """Text for a text column, whatever LinkedIn sent: never fails on an unexpected type.

    A string as is; a decoration's ``localizedName``, or a MultiLocaleString's text in
    ``locale`` (else its preferred locale, else its first); anything else as JSON text.
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, Mapping):
        if isinstance(value.get("localizedName"), str):
            return str(value["localizedName"])
        texts = value.get("localized")
        if isinstance(texts, Mapping) and texts:
            preferred = value.get("preferredLocale") or {}
            fallback = f"{preferred.get('language')}_{preferred.get('country')}"
            text = texts.get(locale, texts.get(fallback, next(iter(texts.values()))))
            return text if type(text) is str else json.dumps(text)
    return json.dumps(value)


def entity_name(info: Any, locale: str) -> Optional[str]:
    """The name of a ``*Info`` decoration's member: ``localizedName``, else ``name`` as text."""
    if type(info) is not dict:
        return None
    name = info.get("localizedName")
    return name if type(name) is str else text_value(info.get("name"), locale)


def form_locale(form: Mapping[str, Any]) -> str:
    """``language_COUNTRY`` of a form's ``creationLocale``, e.g. ``en_US``."""
    locale = form.get("creationLocale") or {}
    language, country = locale.get("language"), locale.get("country")
    if language and country:
        return f"{language}_{country}"
    return str(language or "en_US")


class QuestionColumns:
    """Names the wide-row column of every question, once, and remembers the name.

    Rule: a predefined field is named after the field (``FIRST_NAME`` -> ``first_name``);
    a custom question after its text in the form's locale, folded to ``[a-z0-9_]``
    and cut at 60 characters (a digit first gets ``q_``; text with no Latin letters
    gives ``question_<questionId>``). A name already taken by a lead column, a hidden
    field column, a predefined field or another question of the same form version
    gets ``_<questionId>`` appended. A question keeps the name it got when first seen,
    so relabelling it in a later form version does not move its answers; the same
    text in two forms shares one column.

    Args:
        names: ``{str(questionId): column}``; a mutable mapping kept in the pipeline
            state so names survive across runs.
    """

    def __init__(self, names: MutableMapping[str, str]) -> None:
        self.names = names
        self._lock = threading.Lock()

    def name(self, question: Mapping[str, Any], locale: str, taken: Dict[str, int]) -> str:
        """The column of ``question``; ``taken`` maps names used in the form version to ids."""
        question_id = int(question["questionId"])
        key = str(question_id)
        with self._lock:
            known = self.names.get(key)
            if known is None:
                predefined = question.get("predefinedField")
                if predefined:
                    known = str(predefined).lower()
                else:
                    known = slug(localized(question.get("question"), locale) or question.get("name") or "")
                    if not known:
                        known = f"question_{question_id}"
                    reserved = (
                        known in LEAD_COLUMNS
                        or known.startswith(HIDDEN_FIELD_PREFIX)
                        or known in PREDEFINED_COLUMNS
                    )
                    if reserved or taken.get(known, question_id) != question_id:
                        known = f"{known}_{question_id}"
                self.names[key] = known
            return known


PREDEFINED_COLUMNS = frozenset(
    name.lower()
    for name in (
        "FIRST_NAME LAST_NAME EMAIL WORK_EMAIL PHONE_NUMBER WORK_PHONE_NUMBER COMPANY_NAME "
        "JOB_TITLE JOB_FUNCTION SENIORITY INDUSTRY COMPANY_SIZE CITY STATE COUNTRY ZIP_CODE "
        "LINKEDIN_PROFILE_LINK DEGREE FIELD_OF_STUDY SCHOOL GENDER"
    ).split()
)
"""LinkedIn's predefined fields (those known): custom questions never take these names."""


@dataclass(eq=False)  # hashed by identity: a page numbers the questions its answers meet
class Question:
    id: int
    column: str
    name: Optional[str]
    text: Optional[str]
    predefined_field: Optional[str]
    kind: str
    options: Dict[int, Optional[str]] = field(default_factory=dict)


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


class FormCatalog:
    """Form versions by ``(form_id, version)``, filled from listings and lead projections."""

    def __init__(self, columns: QuestionColumns) -> None:
        self.columns = columns
        self.stored: MutableMapping[str, Any] = {}
        """``"form_id:version"`` -> ``FormVersion.to_state()`` of versions looked up; kept in the
        pipeline state, since a form version never changes."""
        self.urn_ids: Dict[Any, Optional[int]] = {None: None}
        """Campaign, creative and event URNs -> ids, parsed once (they repeat across leads)."""
        self._versions: Dict[Tuple[int, Optional[int]], Optional[FormVersion]] = {}
        self._fetching: Dict[Tuple[int, Optional[int]], threading.Lock] = {}
        self._lock = threading.Lock()

    def add_listed(self, form: Mapping[str, Any]) -> FormVersion:
        """Registers the current version of a listed form."""
        version = form.get("versionId")
        resolved = resolve_form_version(form, version, self.columns)
        with self._lock:
            self._versions[(resolved.form_id, version)] = resolved
        return resolved

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
                self._versions[key] = found
        return self._versions[key]


class LeadTableBuilder:
    """Collects the rows of one page of leads and returns them as Arrow tables.

    Built for speed (it runs for every lead and every answer). Each lead appends to the
    lead table's column lists. An answer or consent keeps only what is its own (its lead's
    row number, the question's number in the page, the answer); the columns it repeats
    from its lead or its question are taken from those in Arrow, once per page.
    """

    def __init__(
        self, catalog: FormCatalog, owner_type: str, owner_id: int, fetch: Optional[FetchForm] = None
    ) -> None:
        self.catalog = catalog
        self.fetch = fetch
        self.owner_type = owner_type
        self.owner_id = owner_id
        # owner_type and owner_id are the same for every lead of the builder: set per table
        self.fixed: Dict[str, List[Any]] = {
            name: [] for name in LEAD_COLUMNS if name not in ("owner_type", "owner_id")
        }
        self.dynamic: List[Dict[str, Optional[str]]] = []
        """Per lead: question and hidden-field columns."""
        self.answers: Tuple[List[int], List[int], List[Any], List[Optional[str]], List[Optional[str]]] = (
            [],
            [],
            [],
            [],
            [],
        )
        """Per answer: lead row, question number, answer, option ids and labels as JSON."""
        self.consents: Tuple[List[int], List[int], List[Optional[str]], List[Optional[bool]], List[Any]] = (
            [],
            [],
            [],
            [],
            [],
        )
        """Per consent: lead row, consent id, text, accepted, check required."""
        self.questions: Dict[Any, int] = {}
        """Question (or, unresolved, ``(question_id, is_choice)``) -> its number in this page."""
        self._columns: Dict[str, None] = {}
        self._forms_seen: Set[Tuple[int, Optional[int]]] = set()
        self._forms: Dict[Any, Tuple[Optional[int], Optional[int], Optional[FormVersion]]] = {}
        self._ids = catalog.urn_ids

    @property
    def count(self) -> int:
        return len(self.dynamic)

    def add(self, lead: Lead) -> None:
        """Resolves one lead into its wide row, answer rows and consent rows."""
        lead_id = lead.id
        urn = lead.versioned_lead_gen_form_urn
        known = self._forms.get(urn)
        if known is None:
            form_id, version = parse_versioned_form_urn(urn)
            known = self._forms[urn] = (form_id, version, self.catalog.get(form_id, version, self.fetch))
        form_id, version, form = known
        ids = self._ids
        metadata = lead.lead_metadata and lead.lead_metadata.sponsored_lead_metadata
        metadata_info = lead.lead_metadata_info and lead.lead_metadata_info.sponsored_lead_metadata_info
        campaign_info = metadata_info.campaign if metadata_info else None
        entity = lead.associated_entity or {}
        owner_info = lead.owner_info or {}
        fixed = self.fixed
        fixed["id"].append(lead_id)
        fixed["submitted_at"].append(lead.submitted_at)  # epoch ms; converted per column
        fixed["test_lead"].append(bool(lead.test_lead))
        fixed["lead_type"].append(lead.lead_type)
        locale = form.locale if form else "en_US"
        info = owner_info.get("sponsoredAccountInfo") or owner_info.get("organizationInfo")
        if info is None and owner_info:  # another union member: take the first with a name
            info = next((v for v in owner_info.values() if type(v) is dict), None)
        fixed["owner_name"].append(entity_name(info, locale))
        fixed["form_id"].append(form_id)
        fixed["form_version"].append(version)
        fixed["form_name"].append(form.name if form else None)
        fixed["form_locale"].append(form.locale if form else None)
        submitter = lead.submitter
        fixed["submitter"].append(submitter if type(submitter) is str else text_value(submitter))
        campaign = (metadata.campaign if metadata else None) or (campaign_info.id if campaign_info else None)
        fixed["campaign_id"].append(ids[campaign] if campaign in ids else urn_id(campaign, ids))
        campaign_name = campaign_info.name if campaign_info else None
        fixed["campaign_name"].append(
            campaign_name
            if campaign_name is None or type(campaign_name) is str
            else text_value(campaign_name, locale)
        )
        creative = entity.get("associatedCreative") or entity.get("sponsoredCreative")
        fixed["creative_id"].append(ids[creative] if creative in ids else urn_id(creative, ids))
        fixed["event_id"].append(urn_id(entity.get("event"), ids) if entity else None)
        fixed["associated_entity"].append(text_value(next(iter(entity.values()), None)) if entity else None)
        entity_info = lead.associated_entity_info
        if entity_info:
            # the creative's (or another entity's) decoration: its name, else the decoration as JSON
            member = next(iter(entity_info.values()), None)
            creative_name = entity_name(member, locale)
            fixed["creative_name"].append(creative_name)
            fixed["associated_entity_info"].append(
                None if creative_name is not None else json.dumps(entity_info)
            )
        else:
            fixed["creative_name"].append(None)
            fixed["associated_entity_info"].append(None)

        if form is None:
            row: Dict[str, Optional[str]] = {}
            questions: Dict[int, Question] = {}
        else:
            row = dict(form.hidden_columns)
            questions = form.questions
            if (form_id, version) not in self._forms_seen:
                # the form's columns in the form's order, whatever order the answers come in
                self._forms_seen.add((form.form_id, form.version))
                self._columns.update(dict.fromkeys(row))
                self._columns.update(dict.fromkeys(q.column for q in questions.values()))
        response = lead.form_response
        number = len(self.dynamic)
        lead_rows, question_numbers, texts, option_ids_json, labels_json = self.answers
        numbers = self.questions
        for answer in (response.answers if response else None) or ():
            question_id = answer.question_id
            question = questions.get(question_id)
            details = answer.answer_details
            choice = details.multiple_choice_answer if details else None
            if choice is None:
                text_answer = details.text_question_answer if details else None
                text = text_answer.answer if text_answer else answer.other  # other: an unknown kind, as JSON
                if text is not None and type(text) is not str:
                    text = text_value(text)
                option_ids_json.append(None)
                labels_json.append(None)
            else:
                option_ids = [int(o) for o in choice.options]
                options = question.options if question else {}
                labels = [options.get(o) for o in option_ids]
                text = MULTI_VALUE_SEPARATOR.join(
                    label if label is not None else str(o) for o, label in zip(option_ids, labels)
                )
                # JSON text: list columns cannot travel through the CSV files some
                # destinations (PostgreSQL) load from, and every destination stores text
                option_ids_json.append(json.dumps(option_ids))
                labels_json.append(json.dumps(labels))
            key: Any = question if question is not None else (question_id, choice is not None)
            question_number = numbers.get(key)
            if question_number is None:
                question_number = numbers[key] = len(numbers)
            if question is None:
                column = f"question_{question_id}"
                self._columns[column] = None
            else:
                column = question.column
            row[column] = text
            lead_rows.append(number)
            question_numbers.append(question_number)
            texts.append(text)
        consent_rows, consent_ids, consent_texts, accepted, required = self.consents
        for consent in (response.consent_responses if response else None) or ():
            consent_id = consent.consent_id
            text, check = form.consents.get(consent_id, (None, None)) if form else (None, None)
            consent_rows.append(number)
            consent_ids.append(consent_id)
            consent_texts.append(text)
            accepted.append(consent.accepted)
            required.append(check)
        self.dynamic.append(row)

    def tables(self) -> Tuple[pa.Table, pa.Table, pa.Table]:
        """The page's lead rows, answer rows and consent rows."""
        leads = self._lead_table()
        return leads, self._answer_table(leads), self._consent_table(leads)

    def _lead_table(self) -> pa.Table:
        """The wide lead rows: the fixed columns, then every question and hidden field seen."""
        names = self._columns  # each form's columns in form order
        for row in self.dynamic:
            if not row.keys() <= names.keys():
                names.update(dict.fromkeys(row))
        columns: Dict[str, Any] = dict(self.fixed)
        columns["submitted_at"] = _timestamps(self.fixed["submitted_at"])
        columns["owner_type"] = [self.owner_type] * self.count  # the same for every lead of a page
        columns["owner_id"] = [self.owner_id] * self.count
        types = dict(LEAD_COLUMNS)
        for name in names:
            columns[name] = [row.get(name) for row in self.dynamic]
            types[name] = pa.string()
        return _table(columns, types, ("id", "submitted_at"))

    def _answer_table(self, leads: pa.Table) -> pa.Table:
        lead_rows, question_numbers, texts, option_ids, labels = self.answers
        by_question = pa.array(question_numbers, pa.int32())
        described = [
            (q.id, q.column, q.name, q.text, q.predefined_field, q.kind)
            if isinstance(q, Question)
            else (q[0], f"question_{q[0]}", None, None, None, "multiple_choice" if q[1] else "text")
            for q in self.questions
        ]
        names = ("question_id", "column_name", "question_name", "question_text", "predefined_field")
        columns: Dict[str, Any] = {
            name: pa.array(values, ANSWER_COLUMNS[name]).take(by_question)
            for name, values in zip((*names, "question_type"), zip(*described) if described else [()] * 6)
        }
        columns.update({"answer": texts, "option_ids": option_ids, "option_labels": labels})
        columns.update(_of_their_leads(leads, lead_rows))
        return _table(columns, ANSWER_COLUMNS, ("lead_id", "question_id", "submitted_at"))

    def _consent_table(self, leads: pa.Table) -> pa.Table:
        lead_rows, consent_ids, texts, accepted, required = self.consents
        columns: Dict[str, Any] = {
            "consent_id": consent_ids,
            "consent_text": texts,
            "accepted": accepted,
            "check_required": required,
        }
        columns.update(_of_their_leads(leads, lead_rows))
        return _table(columns, CONSENT_COLUMNS, ("lead_id", "consent_id", "submitted_at"))


def _of_their_leads(leads: pa.Table, lead_rows: List[int]) -> Dict[str, Any]:
    """``lead_id``, ``form_id``, ``form_version`` and ``submitted_at`` of the rows' leads."""
    by_lead = pa.array(lead_rows, pa.int32())
    columns = {"lead_id": leads["id"].take(by_lead)}
    columns.update({name: leads[name].take(by_lead) for name in ("form_id", "form_version", "submitted_at")})
    return columns


def _timestamps(epoch_ms: Sequence[int]) -> pa.Array:
    """Epoch milliseconds as a UTC timestamp column, converted in Arrow rather than per row."""
    return pa.array(epoch_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC")).cast(TIMESTAMP)


def _table(columns: Mapping[str, Any], types: Dict[str, pa.DataType], required: Tuple[str, ...]) -> pa.Table:
    """An Arrow table whose ``required`` columns are not nullable.

    Key columns are declared as dlt declares primary keys; ``submitted_at`` (the incremental's
    cursor, always present) too, which spares dlt's incremental a pass over each table that
    sets rows without a cursor aside.
    """
    schema = pa.schema(
        [pa.field(name, data_type, nullable=name not in required) for name, data_type in types.items()]
    )
    arrays = [_array(column, types[name]) for name, column in ((name, columns[name]) for name in types)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(column: Any, data_type: pa.DataType) -> Any:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column if isinstance(column, pa.Array) else pa.array(column, data_type)


_FORM_COLUMN_TYPES: Dict[str, TDataType] = {
    "id": "bigint",
    "name": "text",
    "state": "text",
    "version_id": "bigint",
    "locale": "text",
    "created": "timestamp",
    "last_modified": "timestamp",
    "owner_type": "text",
    "owner_id": "bigint",
    "headline": "text",
    "description": "text",
    "privacy_policy_url": "text",
    "legal_disclaimer": "text",
    "review_status": "text",
}
FORM_COLUMNS: TTableSchemaColumns = {name: {"data_type": t} for name, t in _FORM_COLUMN_TYPES.items()}
"""Column types of ``lead_forms``, so columns LinkedIn leaves empty still get created."""


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
