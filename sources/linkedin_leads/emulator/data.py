"""The emulator's data: owners, lead forms with their versions, and leads.

Records are kept in LinkedIn's JSON shapes. ``generate`` makes a deterministic data
set (seeded) of any size, with text, multiple-choice and non-ASCII answers,
consents, hidden fields, test leads and leads spread over the retention window.
"""

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, KeysView, List, Optional, Tuple

SPONSORED = "SPONSORED"
ORGANIC_TYPES = ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")
DAY_MS = 86_400_000


def owner_urn(kind: str, owner_id: int) -> str:
    return f"urn:li:{kind}:{owner_id}"


def localized(text: str, locale: str = "en_US") -> Dict[str, Any]:
    return {"localized": {locale: text}}


@dataclass
class LeadForm:
    """A lead form and every version of its content (index 0 is version 1)."""

    id: int  # noqa: A003 (LinkedIn's own name)
    owner_kind: str
    owner_id: int
    name: str
    created: int
    versions: List[Dict[str, Any]]
    state: str = "PUBLISHED"
    locale: Tuple[str, str] = ("US", "en")
    hidden_fields: List[Dict[str, str]] = field(default_factory=list)

    @property
    def version_id(self) -> int:
        return len(self.versions)

    def entity(self, version: Optional[int] = None) -> Dict[str, Any]:
        """The form as LinkedIn returns it; ``version`` defaults to the current one."""
        version = version or self.version_id
        return {
            "id": self.id,
            "versionId": version,
            "name": self.name,
            "state": self.state,
            "owner": {self.owner_kind: owner_urn(self.owner_kind, self.owner_id)},
            "creationLocale": {"country": self.locale[0], "language": self.locale[1]},
            "created": self.created,
            "lastModified": self.created + DAY_MS * (len(self.versions) - 1),
            "hiddenFields": self.hidden_fields,
            "content": self.versions[version - 1],
        }


@dataclass
class Lead:
    """A lead form response; ``entity`` is its JSON as LinkedIn returns it."""

    id: str  # noqa: A003 (LinkedIn's own name)
    owner_kind: str
    owner_id: int
    lead_type: str
    form_id: int
    form_version: int
    submitted_at: int
    test_lead: bool
    entity: Dict[str, Any]
    _json: Optional[bytes] = None
    _order: Optional[bytes] = None
    decorations: Optional[Dict[str, bytes]] = None
    """Serialized ``*Info`` decorations, made on first use."""

    @property
    def keys(self) -> "KeysView[str]":
        return self.entity.keys()

    @property
    def json_bytes(self) -> bytes:
        if self._json is None:
            self._json = json.dumps(self.entity, ensure_ascii=False, separators=(",", ":")).encode()
        return self._json

    @property
    def order_key(self) -> bytes:
        """A stable key unrelated to time: results come back in this (unsorted) order."""
        if self._order is None:
            self._order = hashlib.blake2b(self.id.encode(), digest_size=8).digest()
        return self._order


_FIRST = ["Jane", "Søren", "José", "Zoë", "李", "Ōta", "Amélie", "Nnamdi", "O'Brien", "Ana-María"]
_LAST = ["Doe", "Müller", "García", "王", "Nakamura", "Smith, Jr.", "D'Angelo", "Kowalski"]
_COMPANY = ["Acme (EU)", "Globex, Inc.", "Initech", "株式会社テスト", 'Umbrella "Corp"', "Café 🚀"]
_COMMENTS = [
    "Please call me after 3pm CET, ideally on Tuesdays.",
    "We run campaigns in 12 markets and need the data in BigQuery by Monday.",
    "Looking for a demo for our team of five — budget approved for Q3.",
]
_TITLE = ["CMO", "Data Engineer", "VP, Marketing", "Head of Growth", "Ingénieure"]


def text_question(question_id: int, name: str, text: str, predefined: Optional[str]) -> Dict[str, Any]:
    question: Dict[str, Any] = {
        "questionId": question_id,
        "name": name,
        "question": localized(text),
        "questionDetails": {"textQuestionDetails": {"maxResponseLength": 300}},
        "responseRequired": True,
        "responseEditable": True,
    }
    if predefined:
        question["predefinedField"] = predefined
    return question


def choice_question(question_id: int, name: str, text: str, options: List[str]) -> Dict[str, Any]:
    return {
        "questionId": question_id,
        "name": name,
        "question": localized(text),
        "questionDetails": {
            "multipleChoiceQuestionDetails": {
                "options": [{"id": i, "text": localized(o)} for i, o in enumerate(options)]
            }
        },
        "responseRequired": False,
        "responseEditable": True,
    }


def form_versions(form_id: int, version_count: int, rich: bool = False) -> List[Dict[str, Any]]:
    """Form contents whose custom question is relabelled in v2 and joined by another in v3.

    ``rich``: as real forms are (the bench's rich scenario): a phone number and a multi-select
    question in every version, a free-text comment in v3 (7 to 8 answers a lead), two consents.
    """
    base = [
        text_question(100_000_000 + form_id, "First name", "First name", "FIRST_NAME"),
        text_question(200_000_000 + form_id, "Last name", "Last name", "LAST_NAME"),
        text_question(300_000_000 + form_id, "Email address", "Email address", "EMAIL"),
        text_question(400_000_000 + form_id, "Company name", "Company name", "COMPANY_NAME"),
        text_question(500_000_000 + form_id, "Job title", "Job title", "JOB_TITLE"),
    ]
    consents = [{"id": 0, "checkRequired": False, "consent": localized("Email me updates")}]
    if rich:
        base.append(text_question(600_000_000 + form_id, "Phone number", "Phone number", "PHONE_NUMBER"))
        base.append(
            choice_question(
                800_000_000 + form_id,
                "Interests",
                "What are you interested in?",
                ["Advertising", "Data platforms", "AI assistants", "Analytics", "Events"],
            )
        )
        consents.append(
            {"id": 1, "checkRequired": True, "consent": localized("I agree to the terms of the offer")}
        )
    versions = []
    for v in range(1, version_count + 1):
        questions = list(base)
        # version 2 relabels the custom question and its options; version 3 adds one
        if v == 1:
            team = choice_question(700_000_000 + form_id, "Team size", "Team size?", ["1-10", "11-50", "51+"])
        else:
            team = choice_question(
                700_000_000 + form_id, "Team size", "How big is your team?", ["Small", "Medium", "Large"]
            )
        questions.append(team)
        if v >= 3 and rich:
            questions.append(
                text_question(1_000_000_000 + form_id, "Comments", "Anything else we should know?", None)
            )
        elif v >= 3:
            questions.append(
                choice_question(800_000_000 + form_id, "Interests", "Interests", ["Ads", "Data", "AI"])
            )
        versions.append(
            {
                "headline": localized(f"Form {form_id} v{v}"),
                "description": localized("Tell us where to send it."),
                "questions": questions,
                "legalInfo": {
                    "legalInfoId": 900_000_000 + form_id,
                    "privacyPolicyUrl": "https://example.com/privacy",
                    "legalDisclaimer": localized("By submitting you agree."),
                    "consents": consents,
                },
            }
        )
    return versions


def lead_entity(lead: Lead, form: LeadForm, rng: random.Random) -> Dict[str, Any]:
    """A lead's JSON with answers to the questions of the version it was submitted on."""
    answers: List[Dict[str, Any]] = []
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    texts = {
        "FIRST_NAME": first,
        "LAST_NAME": last,
        "EMAIL": f"{lead.id[:8]}@example.com",
        "COMPANY_NAME": rng.choice(_COMPANY),
        "JOB_TITLE": rng.choice(_TITLE),
        "PHONE_NUMBER": f"+49 30 {int(lead.id[:6], 16) % 9_000_000 + 1_000_000}",  # no draw: same data
    }
    version = form.versions[lead.form_version - 1]
    for question in version["questions"]:
        details = question["questionDetails"]
        if "textQuestionDetails" in details:
            text = texts.get(question.get("predefinedField") or "") or rng.choice(_COMMENTS)
            answer: Dict[str, Any] = {"textQuestionAnswer": {"answer": text}}
        else:
            count = len(details["multipleChoiceQuestionDetails"]["options"])
            picked = sorted(rng.sample(range(count), rng.randint(1, min(count, 3) if count > 3 else 2)))
            answer = {"multipleChoiceAnswer": {"options": picked}}
        answers.append({"questionId": question["questionId"], "answerDetails": answer})
    rng.shuffle(answers)
    owner = {lead.owner_kind: owner_urn(lead.owner_kind, lead.owner_id)}
    entity: Dict[str, Any] = {
        "id": lead.id,
        "owner": owner,
        "leadType": lead.lead_type,
        "versionedLeadGenFormUrn": (
            f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form.id},{lead.form_version})"
        ),
        "submitter": f"urn:li:person:{lead.id[:10]}",
        "submittedAt": lead.submitted_at,
        "testLead": lead.test_lead,
        "formResponse": {
            "answers": answers,
            "consentResponses": [
                {"consentId": consent["id"], "accepted": consent["checkRequired"] or rng.random() < 0.5}
                for consent in version["legalInfo"]["consents"]
            ],
        },
    }
    if lead.lead_type == SPONSORED:
        campaign = 300_000_000 + lead.owner_id % 1000 * 10 + rng.randint(0, 2)
        entity["leadMetadata"] = {
            "sponsoredLeadMetadata": {"campaign": f"urn:li:sponsoredCampaign:{campaign}"}
        }
        entity["associatedEntity"] = {
            "associatedCreative": f"urn:li:sponsoredCreative:{campaign * 10 + rng.randint(0, 3)}"
        }
    elif lead.lead_type == "EVENT":
        # above 2**62 like LinkedIn's event ids, and below 2**63 whatever the form's id
        entity["associatedEntity"] = {"event": f"urn:li:event:{7_200_000_000_000_000_000 + form.id % 10**9}"}
    return entity


@dataclass
class Dataset:
    """Everything the emulator serves."""

    accounts: List[int] = field(default_factory=list)
    organizations: List[int] = field(default_factory=list)
    forms: Dict[int, LeadForm] = field(default_factory=dict)
    leads: List[Lead] = field(default_factory=list)

    def add_form(self, form: LeadForm) -> LeadForm:
        self.forms[form.id] = form
        if form.owner_kind == "sponsoredAccount" and form.owner_id not in self.accounts:
            self.accounts.append(form.owner_id)
        if form.owner_kind == "organization" and form.owner_id not in self.organizations:
            self.organizations.append(form.owner_id)
        return form

    def make_lead(
        self,
        form_id: int,
        submitted_at: int,
        rng: random.Random,
        *,
        version: Optional[int] = None,
        lead_type: Optional[str] = None,
        test_lead: bool = False,
    ) -> Lead:
        """Creates (without adding) a lead of ``form_id`` submitted at ``submitted_at`` (ms)."""
        form = self.forms[form_id]
        if lead_type is None:
            lead_type = SPONSORED if form.owner_kind == "sponsoredAccount" else rng.choice(ORGANIC_TYPES)
        lead_id = f"{uuid.UUID(int=rng.getrandbits(128), version=4)}-{rng.randint(1, 9)}"
        lead = Lead(
            lead_id,
            form.owner_kind,
            form.owner_id,
            lead_type,
            form.id,
            version or rng.randint(1, form.version_id),
            submitted_at,
            test_lead,
            {},
        )
        lead.entity = lead_entity(lead, form, rng)
        return lead


def generate(
    now_ms: int,
    *,
    accounts: int = 2,
    organizations: int = 1,
    forms_per_owner: int = 2,
    leads: int = 200,
    days: int = 300,
    test_lead_ratio: float = 0.05,
    seed: int = 7,
    big_ids: bool = True,
    rich: bool = False,
) -> Dataset:
    """Generates a deterministic data set.

    Args:
        now_ms: The emulator's "now"; leads are submitted in the ``days`` before it.
        accounts: Ad accounts. organizations: Organizations (organic lead types).
        forms_per_owner: Forms of each owner, with 1 to 3 versions each.
        leads: Leads in all, spread over every form.
        days: How far back leads go.
        test_lead_ratio: The share of test leads.
        seed: Random seed.
        big_ids: Give the first form an id above 2**53.
        rich: Forms as rich as real ones (``form_versions``), and three hidden fields each.
    """
    rng = random.Random(seed)
    data = Dataset()
    owners = [("sponsoredAccount", 510_000_000 + i) for i in range(accounts)]
    owners += [("organization", 2_400_000 + i) for i in range(organizations)]
    for kind, owner_id in owners:
        for n in range(forms_per_owner):
            form_id = 8_100_000 + len(data.forms)
            if big_ids and not data.forms:
                form_id = 6_955_637_458_260_688_897
            data.add_form(
                LeadForm(
                    form_id,
                    kind,
                    owner_id,
                    f"Form {n} of {owner_id} – “Q3”",
                    now_ms - (days + 30) * DAY_MS,
                    form_versions(form_id, 1 + len(data.forms) % 3, rich),
                    hidden_fields=[{"name": "utm_source", "value": "linkedin"}]
                    + (
                        [
                            {"name": "utm_campaign", "value": f"q3-{owner_id}"},
                            {"name": "utm_medium", "value": "paid"},
                        ]
                        if rich
                        else []
                    ),
                )
            )
    form_ids = list(data.forms)
    if form_ids:
        for _ in range(leads):
            submitted = now_ms - rng.randint(60_000, days * DAY_MS)
            data.leads.append(
                data.make_lead(rng.choice(form_ids), submitted, rng, test_lead=rng.random() < test_lead_ratio)
            )
    return data
