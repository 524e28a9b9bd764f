"""The shape of LinkedIn's lead records, decoded straight into typed objects.

Pages of leads are decoded with msgspec into the structs below rather than into dicts:
only the fields the rows need are built, the rest of each record is skipped, and the
structs are not tracked by Python's cyclic garbage collector: a page decoded into dicts
makes tens of thousands of tracked containers, and the collections they trigger were the
largest cost of the extract (``bench/README.md`` has the figures).

The types are as lenient as the rows built from them: ``strict=False`` accepts numbers
sent as strings, unions whose members LinkedIn may extend stay plain mappings, values headed
for text columns are ``Any`` (``values.text_value`` turns what is not text into JSON text), and
a field that is absent or null takes its default. A record whose shape cannot be read at all
(an ``answers`` that is not a list, say) fails its page with an error naming the field.

An answer of a kind this source does not know (neither ``textQuestionAnswer`` nor
``multipleChoiceAnswer``) keeps its JSON text in ``Answer.other``: a page where the count of
known kinds falls short of the count of ``answerDetails`` is read a second time into dicts
for those answers only, so the common page pays two byte searches and nothing more.

The lead tables take a page the faster way ``decode_lead_rows`` finds: its answers and consents
read by pyarrow (``answers``, when they are of the regular shape) and its leads into
``LeadHead`` structs without them; any other page as ``decode_lead_page`` reads it.

The form versions a body names are found in its bytes before it is decoded
(``form_version_urns``), so that a reader looks the unknown ones up holding only the bytes.
"""

import re
from typing import Any, Callable, Dict, List, Optional, Set, Union

import msgspec
from dlt.common.json import json

from .answers import read_answers


class Record(msgspec.Struct, gc=False, rename="camel"):
    """LinkedIn's camelCase fields as snake_case attributes; not tracked by the GC."""


class TextAnswer(Record):
    answer: Any = None


class ChoiceAnswer(Record):
    options: List[Union[int, str]] = []


class AnswerDetails(Record):
    text_question_answer: Optional[TextAnswer] = None
    multiple_choice_answer: Optional[ChoiceAnswer] = None


class Answer(Record):
    question_id: int
    answer_details: Optional[AnswerDetails] = None
    other: Optional[str] = msgspec.field(default=None, name="__other__")
    """The JSON text of ``answerDetails`` when it is of a kind not known here (never in JSON)."""


class ConsentResponse(Record):
    consent_id: int
    accepted: Optional[bool] = None


class FormResponse(Record):
    answers: Optional[List[Answer]] = None
    consent_responses: Optional[List[ConsentResponse]] = None


class SponsoredLeadMetadata(Record):
    campaign: Any = None


class LeadMetadata(Record):
    sponsored_lead_metadata: Optional[SponsoredLeadMetadata] = None


class CampaignInfo(Record):
    id: Any = None  # noqa: A003 (LinkedIn's own name)
    name: Any = None


class SponsoredLeadMetadataInfo(Record):
    campaign: Optional[CampaignInfo] = None


class LeadMetadataInfo(Record):
    sponsored_lead_metadata_info: Optional[SponsoredLeadMetadataInfo] = None


class LeadHead(Record):
    """One lead form response without its answers and consents: the fields of
    ``settings.LEAD_FIELDS`` that the lead's own columns use.

    Decoded so when pyarrow read the page's answers and consents (``answers``): ``answers``
    is what it read of the page, ``row`` the lead's element in it.
    """

    id: str  # noqa: A003 (LinkedIn's own name)
    submitted_at: int
    lead_type: Optional[str] = None
    versioned_lead_gen_form_urn: Optional[str] = None
    test_lead: Optional[bool] = None
    submitter: Any = None
    lead_metadata: Optional[LeadMetadata] = None
    lead_metadata_info: Optional[LeadMetadataInfo] = None
    associated_entity: Optional[Dict[str, Any]] = None
    """A union (``associatedCreative``, ``event``, ...): kept as a mapping, members may be added."""
    owner_info: Optional[Dict[str, Any]] = None
    """A union (``sponsoredAccountInfo``, ``organizationInfo``, ...), like ``associatedEntity``."""
    associated_entity_info: Optional[Dict[str, Any]] = None
    """A union (``associatedCreative``, ...) of the entity's id and name, when LinkedIn has one."""
    answers: Any = msgspec.field(default=None, name="__answers__")
    """The page's ``answers.PageAnswers`` (never in JSON)."""
    row: int = msgspec.field(default=0, name="__row__")


class Lead(LeadHead):
    """One lead form response, with the fields of ``settings.LEAD_FIELDS`` that rows use."""

    form_response: Optional[FormResponse] = None


class LeadPage(Record):
    elements: Optional[List[Lead]] = None


class LeadHeadPage(Record):
    elements: Optional[List[LeadHead]] = None


_decode_page: Callable[[bytes], LeadPage] = msgspec.json.Decoder(LeadPage, strict=False).decode
_decode_heads: Callable[[bytes], LeadHeadPage] = msgspec.json.Decoder(LeadHeadPage, strict=False).decode
_KNOWN_KINDS = (b'"answerDetails":{"textQuestionAnswer"', b'"answerDetails":{"multipleChoiceAnswer"')


def decode_lead_page(body: bytes) -> LeadPage:
    """Decodes a body of the responses finder into a ``LeadPage``, unknown answer kinds kept."""
    page = _decode_page(body)
    if body.count(b'"answerDetails":') > sum(body.count(kind) for kind in _KNOWN_KINDS):
        _keep_unknown_answers(page, body)
    return page


def decode_lead_rows(body: bytes) -> Union[LeadPage, LeadHeadPage]:
    """Decodes a body of the responses finder for the lead tables, the faster way it allows.

    Answers and consents of the regular shape are read by pyarrow (``answers``), and the
    leads into ``LeadHead`` structs that point to them; a page of any other shape is decoded
    by ``decode_lead_page``.
    """
    answers = read_answers(body)
    if answers is None:
        return decode_lead_page(body)
    page = _decode_heads(body)
    elements = page.elements or []
    if len(elements) != answers.leads:
        return decode_lead_page(body)
    for row, lead in enumerate(elements):
        lead.answers, lead.row = answers, row
    return page


_FORM_VERSION_KEY = b'"versionedLeadGenFormUrn"'
_FORM_VERSION_COMPACT = re.compile(re.escape(_FORM_VERSION_KEY) + rb':"([^"]*)"')
_FORM_VERSION_SPACED = re.compile(re.escape(_FORM_VERSION_KEY) + rb'\s*:\s*"((?:[^"\\]|\\.)*)"')


def form_version_urns(body: bytes) -> Set[str]:
    """The distinct ``versionedLeadGenFormUrn`` values of a body, read from its bytes.

    A search, not a parse (about 1 ms for a page of 1,000 leads, a third of decoding it): it
    may find a value the decoded page lacks (a field of that name nested elsewhere), and misses
    only a key spelt with escapes, which the decoded page's own check
    (``pages.resolve_forms``) then finds.
    """
    matches = _FORM_VERSION_COMPACT.findall(body)  # LinkedIn's compact JSON
    found = set(matches)
    if body.count(_FORM_VERSION_KEY) > len(matches) or any(value.endswith(b"\\") for value in found):
        found = set(_FORM_VERSION_SPACED.findall(body))  # spaced JSON, or an escaped quote
    return {text for text in map(_json_string, found) if text is not None}


def _json_string(value: bytes) -> Optional[str]:
    """The text of a JSON string's bytes (between its quotes); None if they are no string."""
    if b"\\" not in value:
        return value.decode(errors="replace")
    try:
        text = json.loadb(b'"' + value + b'"')
    except ValueError:  # an escaped quote cut the value short: no URN has one
        return None
    return text if isinstance(text, str) else None


def _keep_unknown_answers(page: LeadPage, body: bytes) -> None:
    """Sets ``Answer.other`` for every answer whose details are of no known kind."""
    raw = json.loadb(body).get("elements") or []
    for lead, element in zip(page.elements or [], raw, strict=False):
        answers = (lead.form_response.answers if lead.form_response else None) or []
        for answer, raw_answer in zip(
            answers, (element.get("formResponse") or {}).get("answers") or [], strict=False
        ):
            details = answer.answer_details
            if details is None or details.text_question_answer or details.multiple_choice_answer:
                continue
            raw_details = raw_answer.get("answerDetails")
            if raw_details:
                answer.other = json.dumps(raw_details)


def decode_leads(elements: List[Any]) -> List[Lead]:
    """Leads given as JSON values (a BATCH_GET's ``results``, a GET by id) as ``Lead`` structs,
    read exactly as a finder page is (unknown answer kinds kept)."""
    return decode_lead_page(json.dumps({"elements": elements}).encode()).elements or []
