"""Pages of leads into Arrow tables: the wide lead rows, the answers and the consents.

Each lead is resolved against the form version it was submitted on (``forms.FormCatalog``,
which may call LinkedIn once per unknown version through its ``fetch`` callback), giving three
Arrow tables per page:

- the wide lead row: the columns of ``columns.LEAD_COLUMNS``, then one column per question
  (named by ``forms.QuestionColumns``) and per hidden field;
- the long answers table: one row per answer, with question text and option labels;
- the consents table: one row per consent, with its text and whether it was accepted.

Built for speed: it runs for every lead and every answer (``bench/README.md`` has the figures).
The answers and consents of a page read by pyarrow are built in Arrow (``answers``); those
of leads decoded with theirs (``records.Lead``), here, one by one.
"""

from dataclasses import dataclass, field
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.json import json

from ..api.urns import parse_versioned_form_urn, urn, urn_id
from .answers import AnswerColumns, PageAnswers, choice_answer
from .answers import AnswerRows as ArrowAnswers
from .answers import ConsentRows as ArrowConsents
from .columns import ANSWER_COLUMNS, CONSENT_COLUMNS, LEAD_COLUMNS, arrow_table, timestamps
from .forms import FetchForm, FormCatalog, FormVersion, Question
from .names import EntityNames
from .records import Answer, ConsentResponse, Lead, LeadHead
from .values import entity_name, text_value

UrnIds = Dict[Any, Optional[int]]
"""Campaign, creative and event URNs -> ids, parsed once per run (they repeat across leads)."""


@dataclass
class ChildRows:
    """The rows of a page's answers or consents, column by column: what is each row's own.

    The columns a row repeats from its lead or its question are taken from those in Arrow,
    once a page.
    """

    lead_row: List[int] = field(default_factory=list)
    """The row of its lead in the page's lead table."""


@dataclass
class AnswerRows(ChildRows):
    question: List[int] = field(default_factory=list)
    """The number of the answer's question among the page's ``questions``."""
    answer: List[Optional[str]] = field(default_factory=list)
    option_ids: List[Optional[str]] = field(default_factory=list)
    """JSON text of the chosen option ids (list columns cannot travel through CSV loads)."""
    option_labels: List[Optional[str]] = field(default_factory=list)


@dataclass
class ConsentRows(ChildRows):
    """Also the consent's text in the form version (None if the version is not known), whether
    the person ticked it, and whether the form required it."""

    consent_id: List[int] = field(default_factory=list)
    consent_text: List[Optional[str]] = field(default_factory=list)
    accepted: List[Optional[bool]] = field(default_factory=list)
    check_required: List[Optional[bool]] = field(default_factory=list)


@dataclass
class _LeadForm:
    """A lead's form version, as met by this builder (by its URN)."""

    form_id: Optional[int]
    version: Optional[int]
    form: Optional[FormVersion]


class LeadTableBuilder:
    """Collects the rows of one page of leads and returns them as Arrow tables.

    Each lead appends to the lead table's column lists. An answer or consent keeps only what
    is its own (``AnswerRows``, ``ConsentRows``); the columns it repeats from its lead or its
    question are taken from those in Arrow, once per page.

    Args:
        catalog: The form versions, shared by the run's builders.
        owner_type: ``sponsoredAccount`` or ``organization``, the same for the page's leads.
        owner_id: The owner's id.
        fetch: Looks up a form version the catalog does not know (the client's ``form_version``).
        urn_ids: URN -> id cache, shared by the run's builders.
        names: Names looked up for leads without their ``*Info`` decorations (``names``).
    """

    def __init__(
        self,
        catalog: FormCatalog,
        owner_type: str,
        owner_id: int,
        fetch: Optional[FetchForm] = None,
        urn_ids: Optional[UrnIds] = None,
        names: Optional[EntityNames] = None,
    ) -> None:
        self.catalog, self.fetch = catalog, fetch
        self.names = names or EntityNames()
        # owner_type and owner_id are the same for every lead of the builder: set per table
        self.owner_type, self.owner_id = owner_type, owner_id
        self.owner_urn = urn(owner_type, owner_id)
        self.fixed: Dict[str, List[Any]] = {
            name: [] for name in LEAD_COLUMNS if name not in ("owner_type", "owner_id")
        }
        self.dynamic: List[Dict[str, Optional[str]]] = []
        """Per lead: question and hidden-field columns."""
        self.answers = AnswerRows()
        self.consents = ConsentRows()
        self.questions: Dict[Question, int] = {}
        """The questions the page's answers meet -> their number in this page."""
        self._unknown: Dict[Tuple[int, bool], Question] = {}
        """Placeholders for questions no known form version lists, by (id, is multiple choice)."""
        self._columns: Dict[str, None] = {}
        """The question and hidden-field columns of the forms met, each form's in form order."""
        self._unknown_columns: Dict[str, None] = {}
        """The columns of ``_unknown``, after those of the forms."""
        self._forms_seen: Set[Tuple[int, Optional[int]]] = set()
        self._forms: Dict[Any, _LeadForm] = {}
        self._ids: UrnIds = {None: None} if urn_ids is None else urn_ids
        self._ids.setdefault(None, None)
        self._page: Optional[PageAnswers] = None
        """The page whose answers pyarrow read (``answers``), if the leads come so."""
        self._rows: List[Optional[int]] = []
        """The lead row of each element of ``_page`` (None: not added)."""
        self._lead_forms: List[Optional[FormVersion]] = []

    @property
    def count(self) -> int:
        """Leads added so far."""
        return len(self.dynamic)

    def add(self, lead: LeadHead) -> None:
        """Resolves one lead into its wide row, answer rows and consent rows.

        The leads of a builder come one way: each with its answers (``records.Lead``), or all
        from one page whose answers pyarrow read (``records.LeadHead`` with ``answers``).
        """
        known = self._form_of(lead)
        form = known.form
        row = self._add_lead(lead, known)
        if lead.answers is not None:
            if self._page is None and not self.count:
                self._page, self._rows = lead.answers, [None] * lead.answers.leads
            elif lead.answers is not self._page:
                raise ValueError("a LeadTableBuilder takes the leads of one page read by pyarrow")
            self._rows[lead.row] = len(self.dynamic)
            self._lead_forms.append(form)
            self.dynamic.append(row)
            return
        if self._page is not None:
            raise ValueError("a LeadTableBuilder takes the leads of one page read by pyarrow")
        response = lead.form_response if isinstance(lead, Lead) else None
        if response is not None:
            number = len(self.dynamic)
            if response.answers:
                self._add_answers(number, response.answers, form, row)
            if response.consent_responses:
                self._add_consents(number, response.consent_responses, form)
        self.dynamic.append(row)

    def _form_of(self, lead: LeadHead) -> _LeadForm:
        urn = lead.versioned_lead_gen_form_urn
        known = self._forms.get(urn)
        if known is None:
            form_id, version = parse_versioned_form_urn(urn)
            known = _LeadForm(form_id, version, self.catalog.get(form_id, version, self.fetch))
            self._forms[urn] = known
        return known

    def _add_lead(self, lead: LeadHead, known: _LeadForm) -> Dict[str, Optional[str]]:
        """Appends the lead's own columns; returns its hidden-field columns, to which answers add."""
        form = known.form
        ids = self._ids
        metadata = lead.lead_metadata and lead.lead_metadata.sponsored_lead_metadata
        metadata_info = lead.lead_metadata_info and lead.lead_metadata_info.sponsored_lead_metadata_info
        campaign_info = metadata_info.campaign if metadata_info else None
        entity = lead.associated_entity or {}
        owner_info = lead.owner_info or {}
        fixed = self.fixed
        fixed["id"].append(lead.id)
        fixed["submitted_at"].append(lead.submitted_at)  # epoch ms; converted per column
        fixed["test_lead"].append(bool(lead.test_lead))
        fixed["lead_type"].append(lead.lead_type)
        locale = form.locale if form else "en_US"
        info = owner_info.get("sponsoredAccountInfo") or owner_info.get("organizationInfo")
        if info is None and owner_info:  # another union member: take the first with a name
            info = next((v for v in owner_info.values() if type(v) is dict), None)
        fixed["owner_name"].append(
            entity_name(info, locale) if owner_info else self.names.name(self.owner_urn)
        )
        fixed["form_id"].append(known.form_id)
        fixed["form_version"].append(known.version)
        fixed["form_name"].append(form.name if form else None)
        fixed["form_locale"].append(form.locale if form else None)
        submitter = lead.submitter
        fixed["submitter"].append(submitter if type(submitter) is str else text_value(submitter))
        campaign = (metadata.campaign if metadata else None) or (campaign_info.id if campaign_info else None)
        fixed["campaign_id"].append(ids[campaign] if campaign in ids else urn_id(campaign, ids))
        campaign_name = (
            campaign_info.name if campaign_info else None if metadata_info else self.names.name(campaign)
        )
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
            fixed["creative_name"].append(self.names.name(creative))
            fixed["associated_entity_info"].append(None)
        if form is None:
            if known.form_id is not None and known.version is not None:  # raw answers: read again later
                self.catalog.unresolved.add(
                    known.form_id, known.version, self.owner_urn, lead.lead_type, lead.submitted_at
                )
            return {}
        if (form.form_id, form.version) not in self._forms_seen:
            # the form's columns in the form's order, whatever order the answers come in
            self._forms_seen.add((form.form_id, form.version))
            self._columns.update(dict.fromkeys(form.hidden_columns))
            self._columns.update(dict.fromkeys(q.column for q in form.questions.values()))
        return dict(form.hidden_columns)

    def _add_answers(
        self,
        number: int,
        answers: Sequence[Answer],
        form: Optional[FormVersion],
        row: Dict[str, Optional[str]],
    ) -> None:
        """Appends the answer rows of lead ``number`` and fills its question columns in ``row``."""
        rows = self.answers
        numbers = self.questions
        questions = form.questions if form else {}
        for answer in answers:
            question_id = answer.question_id
            details = answer.answer_details
            choice = details.multiple_choice_answer if details else None
            question = questions.get(question_id)
            if question is None:
                question = self._placeholder(question_id, choice is not None)
            if choice is None:
                text_answer = details.text_question_answer if details else None
                text = text_answer.answer if text_answer else answer.other  # other: an unknown kind, as JSON
                if text is not None and type(text) is not str:
                    text = text_value(text)
                rows.option_ids.append(None)
                rows.option_labels.append(None)
            else:
                text, option_ids, option_labels = choice_answer(
                    question, tuple(int(o) for o in choice.options)
                )
                rows.option_ids.append(option_ids)
                rows.option_labels.append(option_labels)
            question_number = numbers.get(question)
            if question_number is None:
                question_number = numbers[question] = len(numbers)
            row[question.column] = text
            rows.lead_row.append(number)
            rows.question.append(question_number)
            rows.answer.append(text)

    def _placeholder(self, question_id: int, choice: bool) -> Question:
        """The page's one ``Question.unknown`` for this id and kind; its column joins the table."""
        key = (question_id, choice)
        question = self._unknown.get(key)
        if question is None:
            question = self._unknown[key] = Question.unknown(question_id, choice)
            self._unknown_columns[question.column] = None
        return question

    def _add_consents(
        self, number: int, consents: Sequence[ConsentResponse], form: Optional[FormVersion]
    ) -> None:
        """Appends the consent rows of lead ``number``, with each consent's text from the form."""
        rows = self.consents
        texts = form.consents if form else {}
        for consent in consents:
            consent_id = consent.consent_id
            text, check = texts.get(consent_id, (None, None))
            rows.lead_row.append(number)
            rows.consent_id.append(consent_id)
            rows.consent_text.append(text)
            rows.accepted.append(consent.accepted)
            rows.check_required.append(check)

    def tables(self) -> Tuple[pa.Table, pa.Table, pa.Table]:
        """The page's lead rows, answer rows and consent rows."""
        if self._page is None:
            leads = self._lead_table()
            return leads, self._answer_table(leads), self._consent_table(leads)
        built = AnswerColumns(self._page, self._rows, self._lead_forms, self._placeholder)
        answers, consents = built.answers(), built.consents()  # placeholders join the columns
        leads = self._lead_table(built, answers)
        return leads, self._answer_table(leads, answers), self._consent_table(leads, consents)

    def _lead_table(
        self, built: Optional[AnswerColumns] = None, answers: Optional[ArrowAnswers] = None
    ) -> pa.Table:
        """The wide lead rows: the fixed columns, then every question and hidden field seen."""
        names = {**self._columns, **self._unknown_columns}
        for row in self.dynamic:
            if not row.keys() <= names.keys():
                names.update(dict.fromkeys(row))
        columns: Dict[str, Any] = dict(self.fixed)
        columns["submitted_at"] = timestamps(self.fixed["submitted_at"])
        columns["owner_type"] = [self.owner_type] * self.count  # the same for every lead of a page
        columns["owner_id"] = [self.owner_id] * self.count
        types = dict(LEAD_COLUMNS)
        answered = built.wide(answers, list(names)) if built and answers else {}
        hidden = built.hidden_names() if built else set()
        for name in names:
            types[name] = pa.string()
            if built is None:
                columns[name] = [row.get(name) for row in self.dynamic]
            elif name in hidden:
                column = built.hidden(name)
                columns[name] = pc.coalesce(answered[name], column) if name in answered else column
            else:
                columns[name] = answered.get(name, pa.nulls(self.count, pa.string()))
        return arrow_table(columns, types, ("id", "submitted_at"))

    def _answer_table(self, leads: pa.Table, arrow: Optional[ArrowAnswers] = None) -> pa.Table:
        rows: Any = self.answers if arrow is None else arrow
        if arrow is None:
            by_question = pa.array(rows.question, pa.int32())
            questions = list(self.questions)
        else:
            by_question, questions = arrow.by_question, arrow.questions

        def of_question(name: str, values: List[Any]) -> Any:
            return pa.array(values, ANSWER_COLUMNS[name]).take(by_question)

        columns: Dict[str, Any] = {
            "question_id": of_question("question_id", [q.id for q in questions]),
            "column_name": of_question("column_name", [q.column for q in questions]),
            "question_name": of_question("question_name", [q.name for q in questions]),
            "question_text": of_question("question_text", [q.text for q in questions]),
            "predefined_field": of_question("predefined_field", [q.predefined_field for q in questions]),
            "question_type": of_question("question_type", [q.kind for q in questions]),
            "answer": rows.answer,
            "option_ids": rows.option_ids,
            "option_labels": rows.option_labels,
        }
        columns.update(_of_their_leads(leads, rows.lead_row))
        return arrow_table(columns, ANSWER_COLUMNS, ("lead_id", "question_id", "submitted_at"))

    def _consent_table(self, leads: pa.Table, arrow: Optional[ArrowConsents] = None) -> pa.Table:
        rows: Any = self.consents if arrow is None else arrow
        columns: Dict[str, Any] = {
            "consent_id": rows.consent_id,
            "consent_text": rows.consent_text,
            "accepted": rows.accepted,
            "check_required": rows.check_required,
        }
        columns.update(_of_their_leads(leads, rows.lead_row))
        return arrow_table(columns, CONSENT_COLUMNS, ("lead_id", "consent_id", "submitted_at"))


def _of_their_leads(leads: pa.Table, lead_rows: Any) -> Dict[str, Any]:
    """``lead_id``, ``form_id``, ``form_version`` and ``submitted_at`` of the rows' leads."""
    by_lead = lead_rows if isinstance(lead_rows, pa.Array) else pa.array(lead_rows, pa.int32())
    columns = {"lead_id": leads["id"].take(by_lead)}
    columns.update({name: leads[name].take(by_lead) for name in ("form_id", "form_version", "submitted_at")})
    return columns
