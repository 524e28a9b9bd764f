"""LinkedIn's value types as plain Python values: epoch milliseconds, localized text, names.

Every function here is lenient on purpose: it reads what LinkedIn documents, and turns
anything else into text rather than failing a page of leads.
"""

from typing import Any, Mapping, Optional

from dlt.common import pendulum
from dlt.common.json import json

EPOCH = pendulum.datetime(1970, 1, 1, tz="UTC")


def from_epoch_ms(value: int) -> pendulum.DateTime:
    """Converts LinkedIn's epoch milliseconds to an exact UTC datetime."""
    return EPOCH + pendulum.duration(milliseconds=value)


def to_epoch_ms(value: pendulum.DateTime) -> int:
    """Converts a datetime (naive means UTC) to exact epoch milliseconds, rounding down."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=pendulum.UTC)
    delta = value - EPOCH  # a pendulum Duration for a pendulum datetime: no `//` with timedelta
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


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
