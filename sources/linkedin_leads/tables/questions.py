"""Question columns: the wide-row column of every question, named once for good and shared by
every writer of the dataset."""

import re
import threading
import unicodedata
from typing import Any, Dict, Mapping, MutableMapping

from dlt.common import logger

from .columns import HIDDEN_FIELD_PREFIX, LEAD_COLUMNS, PREDEFINED_COLUMNS
from .values import localized

MAX_COLUMN_LENGTH = 60


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

    Names are shared by every writer of the dataset (``shared``): ``bind`` takes those already
    in the destination, which win over the writer's own; the names given since are ``new``,
    for the writer to record where the others read them.

    Args:
        names: ``{str(questionId): column}``; a mutable mapping kept in the pipeline
            state so names survive across runs.
    """

    def __init__(self, names: MutableMapping[str, str]) -> None:
        self.names = names
        self.new: Dict[str, str] = {}
        """Names given (or kept in the state) that the destination's table does not have yet."""
        self._lock = threading.Lock()

    def bind(self, own: MutableMapping[str, str], shared: Mapping[str, str]) -> None:
        """Uses ``own`` (the writer's state) updated with ``shared`` (the destination's names).

        A name of ``own`` the destination lacks is recorded as ``new``; one another writer
        gave differently first gives way to it, with a warning (rows loaded under it keep it).
        """
        with self._lock:
            for key, column in own.items():
                if key not in shared:
                    self.new[key] = column
                elif shared[key] != column:
                    logger.warning(
                        f"Question {key} was named `{shared[key]}` by another writer of this dataset "
                        f"before this one named it `{column}`: its answers go to `{shared[key]}` from "
                        f"now on (rows loaded earlier keep `{column}`)."
                    )
            own.update(shared)
            self.names = own

    def take_new(self) -> Dict[str, str]:
        """The ``new`` names, handed over once."""
        with self._lock:
            new, self.new = self.new, {}
        return new

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
                self.names[key] = self.new[key] = known
            return known
