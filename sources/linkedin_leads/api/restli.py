"""Rest.li 2.0 query encoding, as LinkedIn's versioned API expects it.

Pure functions, no HTTP. The structure (``(``, ``)``, ``,``, ``:`` and ``List(``)
stays raw; every key and primitive leaf is percent-encoded with
``urllib.parse.quote(..., safe="")``, exactly like LinkedIn's official Python
client. ``requests``' ``params=`` cannot be used for this: it would encode the
structure and double-encode the URN leaves, which LinkedIn rejects.
"""

from typing import Any, Iterable, Mapping, Tuple, Union
from urllib.parse import quote


class Raw(str):
    """A value that is written to the query string as is.

    Used for the ``fields`` projection, which LinkedIn reads in its own raw
    syntax (``a,b,form:(c,d)``) rather than as a Rest.li ``List(...)``.
    """


def encode(value: Any) -> str:
    """Encodes a Python value as a Rest.li 2.0 value.

    Args:
        value: A dict (object), list or tuple (``List(...)``), bool, int, str or
            ``Raw``.

    Returns:
        str: The encoded value, ready to be placed after ``name=``.

    Raises:
        TypeError: If the value has a type Rest.li cannot express.
    """
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value, safe="") if value else "''"
    if isinstance(value, Mapping):
        pairs = ",".join(f"{quote(str(k), safe='')}:{encode(v)}" for k, v in value.items())
        return f"({pairs})"
    if isinstance(value, (list, tuple)):
        return "List(" + ",".join(encode(v) for v in value) + ")"
    raise TypeError(f"Rest.li cannot encode a value of type {type(value).__name__}")


QueryParams = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]


def encode_query(params: QueryParams) -> str:
    """Encodes query parameters as a Rest.li 2.0 query string.

    Parameters whose value is ``None`` are left out; the order is kept.

    Args:
        params: A mapping or a sequence of ``(name, value)`` pairs.

    Returns:
        str: The query string, without the leading ``?``.
    """
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{quote(name, safe='')}={encode(value)}" for name, value in items if value is not None)
