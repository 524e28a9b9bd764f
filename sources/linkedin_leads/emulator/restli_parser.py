"""A strict Rest.li 2.0 query parser, written independently of the source's encoder.

It parses the structure on the raw query string and percent-decodes only the
leaves, like LinkedIn: a URN whose colons are raw, or a value whose parentheses
were percent-encoded, is a syntax error here.
"""

import re
from typing import Any, Callable, Dict, List, Tuple, Union
from urllib.parse import unquote

RestliValue = Union[str, Dict[str, Any], List[Any]]

_PRIMITIVE = re.compile(r"(?:[A-Za-z0-9\-._~*!]|%[0-9A-Fa-f]{2})+")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RestliSyntaxError(ValueError):
    """The raw query string is not valid Rest.li 2.0."""


def split_query(raw_query: str) -> Dict[str, str]:
    """Splits a raw query string into ``{decoded name: raw value}``; rejects repeats."""
    params: Dict[str, str] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise RestliSyntaxError(f"query parameter without a value: {part!r}")
        key = unquote(name)
        if key in params:
            raise RestliSyntaxError(f"query parameter {key!r} given twice")
        params[key] = value
    return params


def parse_value(raw: str) -> RestliValue:
    """Parses one raw Rest.li 2.0 value (object, ``List(...)`` or primitive)."""
    value, end = _parse(raw, 0)
    if end != len(raw):
        raise RestliSyntaxError(f"unexpected {raw[end:]!r} at {end} in {raw!r}")
    return value


def _parse(raw: str, i: int) -> Tuple[RestliValue, int]:
    if raw.startswith("List(", i):
        return _until_closed(raw, i + 5, _parse)
    if raw.startswith("(", i):
        pairs, i = _until_closed(raw, i + 1, _parse_pair)
        return dict(pairs), i
    if raw.startswith("''", i):
        return "", i + 2
    match = _PRIMITIVE.match(raw, i)
    if not match:
        raise RestliSyntaxError(f"expected a value at {i} in {raw!r}")
    return unquote(match.group(0)), match.end()


def _until_closed(raw: str, i: int, parse: Callable[[str, int], Tuple[Any, int]]) -> Tuple[List[Any], int]:
    """The items ``parse`` reads from ``i``, separated by commas, up to the closing parenthesis;
    returns them and the index after it."""
    items: List[Any] = []
    if raw.startswith(")", i):
        return items, i + 1
    while True:
        item, i = parse(raw, i)
        items.append(item)
        if raw.startswith(",", i):
            i += 1
        elif raw.startswith(")", i):
            return items, i + 1
        else:
            raise RestliSyntaxError(f"expected ',' or ')' at {i} in {raw!r}")


def _parse_pair(raw: str, i: int) -> Tuple[Tuple[str, RestliValue], int]:
    """``key:value`` of an object."""
    match = _PRIMITIVE.match(raw, i)
    if not match:
        raise RestliSyntaxError(f"expected a key at {i} in {raw!r}")
    key, i = unquote(match.group(0)), match.end()
    if not raw.startswith(":", i):
        raise RestliSyntaxError(f"expected ':' at {i} in {raw!r}")
    value, i = _parse(raw, i + 1)
    return (key, value), i


def parse_projection(raw: str) -> Dict[str, Any]:
    """Parses a raw ``fields`` projection ``a,b,form:(c,d)`` into ``{field: sub-projection}``.

    A leaf field maps to ``{}``. ``List(...)`` is rejected, as LinkedIn rejects it.
    """
    fields, end = _parse_fields(raw, 0)
    if end != len(raw):
        raise RestliSyntaxError(f"invalid projection {raw!r}")
    return fields


def _parse_fields(raw: str, i: int) -> Tuple[Dict[str, Any], int]:
    fields: Dict[str, Any] = {}
    while True:
        match = _FIELD.match(raw, i)
        if not match or (match.group(0) == "List" and raw.startswith("(", match.end())):
            raise RestliSyntaxError(f"invalid projection at {i} in {raw!r}")
        name, i = match.group(0), match.end()
        sub: Dict[str, Any] = {}
        if raw.startswith(":(", i):
            sub, i = _parse_fields(raw, i + 2)
            if not raw.startswith(")", i):
                raise RestliSyntaxError(f"expected ')' at {i} in {raw!r}")
            i += 1
        fields[name] = sub
        if raw.startswith(",", i):
            i += 1
            continue
        return fields, i
