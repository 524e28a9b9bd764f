"""A page's answers and consents read by pyarrow's JSON reader, and their rows built in Arrow.

The answers are most of a page of leads (about 8 a lead, four objects each once decoded), so
reading them into Python objects and building their rows one by one was most of the extract's
CPU. Here they never become Python objects: ``read_answers`` parses the body with pyarrow's JSON
reader (in C++, without holding the GIL, so readers parse beside each other) into the few
columns the rows need, and ``AnswerColumns`` turns them into the answers table, the wide row's
question columns and the consents table with Arrow's compute functions, looking up each
distinct question of the page once rather than each answer. The lead's own fields (names,
unions LinkedIn may extend) stay with msgspec and ``lead_tables``.

It reads only the regular shape: an answer's text a string, choices and ids numbers. Anything
else (a number sent as a string, an answer of a kind not known here, a missing id) makes
``read_answers`` return None, and the page goes the way of ``records.decode_lead_page``, which
reads every shape LinkedIn may send. Both ways give the same rows (``tests/test_answers.py``).
"""

import io
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from dlt.common.json import json

from .forms import FormVersion, Question

MULTI_VALUE_SEPARATOR = "; "
"""Joins the labels of a multi-select answer in the wide row (the long table keeps a list)."""

_ANSWERS_SCHEMA = pa.schema(
    [
        pa.field(
            "elements",
            pa.list_(
                pa.struct(
                    [
                        pa.field(
                            "formResponse",
                            pa.struct(
                                [
                                    pa.field(
                                        "answers",
                                        pa.list_(
                                            pa.struct(
                                                [
                                                    pa.field("questionId", pa.int64()),
                                                    pa.field(
                                                        "answerDetails",
                                                        pa.struct(
                                                            [
                                                                pa.field(
                                                                    "textQuestionAnswer",
                                                                    pa.struct(
                                                                        [pa.field("answer", pa.string())]
                                                                    ),
                                                                ),
                                                                pa.field(
                                                                    "multipleChoiceAnswer",
                                                                    pa.struct(
                                                                        [
                                                                            pa.field(
                                                                                "options",
                                                                                pa.list_(pa.int64()),
                                                                            )
                                                                        ]
                                                                    ),
                                                                ),
                                                            ]
                                                        ),
                                                    ),
                                                ]
                                            )
                                        ),
                                    ),
                                    pa.field(
                                        "consentResponses",
                                        pa.list_(
                                            pa.struct(
                                                [
                                                    pa.field("consentId", pa.int64()),
                                                    pa.field("accepted", pa.bool_()),
                                                ]
                                            )
                                        ),
                                    ),
                                ]
                            ),
                        )
                    ]
                )
            ),
        )
    ]
)
"""What ``read_answers`` reads of a body: the answers and consents of each element, nothing else."""

_PARSE_OPTIONS = pj.ParseOptions(explicit_schema=_ANSWERS_SCHEMA, unexpected_field_behavior="ignore")


@dataclass
class PageAnswers:
    """The answers and consents of a page's leads, each with the row of its lead in the page."""

    leads: int
    """Elements in the page."""
    answer_lead: pa.Array
    question_id: pa.Array
    text: pa.Array
    """The text of a text answer (null for a multiple-choice answer)."""
    choice: pa.Array
    """Whether the answer is a multiple-choice answer (never null)."""
    options: pa.Array
    consent_lead: pa.Array
    consent_id: pa.Array
    accepted: pa.Array


def read_answers(body: bytes) -> Optional[PageAnswers]:
    """The answers and consents of a body of the responses finder, or None if any is not of the
    regular shape (then the page is read by ``records.decode_lead_page``)."""
    if b"\n" in body or b"\r" in body:  # one document a line: JSON has no raw newline in a string
        body = body.replace(b"\n", b" ").replace(b"\r", b" ")
    options = pj.ReadOptions(block_size=len(body) + 64, use_threads=False)
    try:
        table = pj.read_json(io.BytesIO(body), read_options=options, parse_options=_PARSE_OPTIONS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != 1:
        return None
    elements = pc.list_flatten(table.column("elements").combine_chunks())
    responses = pc.struct_field(elements, "formResponse")
    answers_list = pc.struct_field(responses, "answers")
    answers = pc.list_flatten(answers_list)
    details = pc.struct_field(answers, "answerDetails")
    text_answer = pc.struct_field(details, "textQuestionAnswer")
    choice_details = pc.struct_field(details, "multipleChoiceAnswer")
    choice = pc.is_valid(choice_details)
    question_id = pc.struct_field(answers, "questionId")
    # details of no known kind: read by records.decode_lead_page, which keeps them as JSON
    other = pc.and_(pc.is_valid(details), pc.and_(pc.is_null(text_answer), pc.invert(choice)))
    consents_list = pc.struct_field(responses, "consentResponses")
    consents = pc.list_flatten(consents_list)
    consent_id = pc.struct_field(consents, "consentId")
    options = pc.struct_field(choice_details, "options")
    if (
        question_id.null_count
        or consent_id.null_count
        or pc.list_flatten(options).null_count
        or pc.any(other).as_py()
    ):
        return None  # a required id missing (decode_lead_page names it), or an unknown kind
    return PageAnswers(
        leads=len(elements),
        answer_lead=pc.list_parent_indices(answers_list),
        question_id=question_id,
        text=pc.struct_field(text_answer, "answer"),
        choice=choice,
        options=options,
        consent_lead=pc.list_parent_indices(consents_list),
        consent_id=consent_id,
        accepted=pc.struct_field(consents, "accepted"),
    )


_ranges: List[pa.Array] = [pa.array([], pa.int64())]
_ranges_lock = threading.Lock()


def _arange(size: int) -> pa.Array:
    """0, 1, ... size - 1 (int64), from one array kept and grown as larger ones are asked for."""
    numbers = _ranges[0]
    if len(numbers) < size:
        with _ranges_lock:
            if len(_ranges[0]) < size:
                _ranges[0] = pa.array(range(max(size, 2 * len(_ranges[0]))), pa.int64())
            numbers = _ranges[0]
    return numbers.slice(0, size)


def scatter(positions: pa.Array, values: pa.Array, size: int) -> pa.Array:
    """An array of ``size`` with each of ``values`` at its position (null elsewhere); where two
    values share a position, the last one (as a dict keeps the last value set for a key)."""
    last = len(positions) - 1
    backwards = pc.subtract(pa.scalar(last, pa.int64()), _arange(len(positions)))
    found = pc.index_in(_arange(size), value_set=pc.take(positions, backwards))
    return pc.take(pc.take(values, backwards), found)


def _keys(*columns: pa.Array) -> pa.Array:
    """A text key per row from integer, boolean or text columns (``1:42:false``), to look up in Arrow."""
    return pc.binary_join_element_wise(*(pc.cast(column, pa.string()) for column in columns), ":")


def _lookup(keys: pa.Array, resolve: Callable[[str], Any]) -> Tuple[pa.Array, List[Any]]:
    """Each row's number among the distinct keys, and ``resolve(key)`` of each distinct key."""
    distinct = pc.unique(keys)
    return pc.index_in(keys, value_set=distinct).cast(pa.int32()), [resolve(k) for k in distinct.to_pylist()]


@dataclass
class AnswerRows:
    """The answers of a builder's leads as Arrow columns, each question looked up once."""

    lead_row: pa.Array
    """The row of its lead in the builder's lead table."""
    questions: List[Question]
    by_question: pa.Array
    """The number of each answer's question among ``questions``."""
    answer: pa.Array
    option_ids: pa.Array
    option_labels: pa.Array


@dataclass
class ConsentRows:
    lead_row: pa.Array
    consent_id: pa.Array
    consent_text: pa.Array
    accepted: pa.Array
    check_required: pa.Array


class AnswerColumns:
    """Builds a page's answer and consent rows, and its wide row's question columns, in Arrow.

    Args:
        page: What ``read_answers`` read of the page.
        rows: The builder's row of each element of the page (None: an element not added, a
            test lead filtered out or a deleted one).
        forms: The form version of each of the builder's leads (None: not known).
        placeholder: The builder's ``Question.unknown`` for an id no known version lists.
    """

    def __init__(
        self,
        page: PageAnswers,
        rows: Sequence[Optional[int]],
        forms: Sequence[Optional[FormVersion]],
        placeholder: Callable[[int, bool], Question],
    ) -> None:
        self.leads = len(forms)
        self.placeholder = placeholder
        distinct: Dict[Any, int] = {}
        numbers = [distinct.setdefault(id(form), len(distinct)) for form in forms]
        self.forms: List[Optional[FormVersion]] = [None] * len(distinct)
        for form, number in zip(forms, numbers, strict=True):
            self.forms[number] = form
        self.lead_form = pa.array(numbers, pa.int32())
        of_row = pa.array(rows, pa.int32())
        self._answers = _kept(
            of_row, page.answer_lead, page.question_id, page.text, page.choice, page.options
        )
        self._consents = _kept(of_row, page.consent_lead, page.consent_id, page.accepted)

    def answers(self) -> AnswerRows:
        """The answer rows; a multiple-choice answer's text is its options' labels."""
        lead_row, question_id, text, choice, options = self._answers
        form = pc.take(self.lead_form, lead_row)
        by_question, questions = _lookup(_keys(form, question_id, choice), self._question)
        answer = text
        none = pa.nulls(len(text), pa.string())
        option_ids, option_labels = none, none
        if pc.any(choice).as_py():
            # each distinct (question, options) of the page made once, as choose() makes it
            picked = pc.fill_null(pc.binary_join(pc.cast(pc.filter(options, choice), _TEXT_LIST), ","), "")
            keys = _keys(pc.filter(by_question, choice), picked)
            by_choice, made = _lookup(keys, lambda key: _choose(questions, key))
            texts, ids, labels = (
                pa.array(list(column), pa.string()).take(by_choice) for column in zip(*made, strict=True)
            )
            answer = pc.replace_with_mask(text, choice, texts)
            option_ids = pc.replace_with_mask(none, choice, ids)
            option_labels = pc.replace_with_mask(none, choice, labels)
        return AnswerRows(lead_row, questions, by_question, answer, option_ids, option_labels)

    def _question(self, key: str) -> Question:
        form_number, question_id, choice = key.split(":")
        form = self.forms[int(form_number)]
        question = form.questions.get(int(question_id)) if form else None
        return question or self.placeholder(int(question_id), choice == "true")

    def wide(self, rows: AnswerRows, names: Sequence[str]) -> Dict[str, pa.Array]:
        """The question columns of the wide row among ``names`` (each question's answer, the
        last one if a lead answered twice), by column."""
        column_of = {name: number for number, name in enumerate(names)}
        wanted = sorted({column_of[q.column] for q in rows.questions})
        place = {column: number for number, column in enumerate(wanted)}
        of_question = pa.array([place[column_of[q.column]] for q in rows.questions], pa.int64())
        columns = pc.take(of_question, rows.by_question)
        positions = pc.add(
            pc.multiply(columns, pa.scalar(self.leads, pa.int64())), rows.lead_row.cast(pa.int64())
        )
        dense = scatter(positions, rows.answer, len(wanted) * self.leads)
        return {names[column]: dense.slice(n * self.leads, self.leads) for n, column in enumerate(wanted)}

    def hidden_names(self) -> Set[str]:
        """The hidden-field columns of the leads' form versions."""
        return {name for form in self.forms if form for name in form.hidden_columns}

    def hidden(self, name: str) -> pa.Array:
        """A hidden-field column: each lead's value from its form version."""
        values = [form.hidden_columns.get(name) if form else None for form in self.forms]
        return pc.take(pa.array(values, pa.string()), self.lead_form)

    def consents(self) -> ConsentRows:
        """The consent rows, with each consent's text in the lead's form version."""
        lead_row, consent_id, accepted = self._consents
        form = pc.take(self.lead_form, lead_row)
        by_consent, found = _lookup(_keys(form, consent_id), self._consent)
        texts = pa.array([text for text, _ in found], pa.string()).take(by_consent)
        checks = pa.array([check for _, check in found], pa.bool_()).take(by_consent)
        return ConsentRows(lead_row, consent_id, texts, accepted, checks)

    def _consent(self, key: str) -> Tuple[Optional[str], Optional[bool]]:
        form_number, consent_id = key.split(":")
        form = self.forms[int(form_number)]
        found: Tuple[Optional[str], Optional[bool]] = (
            form.consents.get(int(consent_id), (None, None)) if form else (None, None)
        )
        return found


_TEXT_LIST = pa.list_(pa.string())


def _choose(questions: Sequence[Question], key: str) -> Tuple[str, str, str]:
    """``choice_answer`` of a key ``<question number>:<option id>,<option id>``."""
    number, listed = key.split(":", 1)
    return choice_answer(questions[int(number)], tuple(int(o) for o in listed.split(",")) if listed else ())


def _kept(of_row: pa.Array, page_rows: pa.Array, *columns: pa.Array) -> List[pa.Array]:
    """The builder's row of each page row's lead, then ``columns``, for the leads it added."""
    lead_row = pc.take(of_row, page_rows)
    if lead_row.null_count:
        kept = pc.is_valid(lead_row)
        return [pc.filter(lead_row, kept), *(pc.filter(column, kept) for column in columns)]
    return [lead_row, *columns]


def choice_answer(question: Question, option_ids: Tuple[int, ...]) -> Tuple[str, str, str]:
    """A multiple-choice answer's text (its labels), and its option ids and labels as JSON."""
    labels = [question.options.get(o) for o in option_ids]
    text = MULTI_VALUE_SEPARATOR.join(
        label if label is not None else str(o) for o, label in zip(option_ids, labels, strict=True)
    )
    return text, json.dumps(list(option_ids)), json.dumps(labels)
