"""One change to dlt's behaviour, for speed: its JSONPath expressions are parsed once.

dlt (1.31) computes the table schema of every Arrow item it extracts (its contract cache is
reset for Arrow tables), and each computation parses the incremental's cursor path,
``submitted_at``, with ``jsonpath_ng``, whose parser builds its lexer anew every time: about
20 ms a parse. With three Arrow tables a page (leads, answers, consents), that was 55 µs of CPU
per lead, 40% of the extract (``bench/profile_extract.py``). dlt parses through one function,
``dlt.common.jsonpath.compile_path``, which calls the module's ``_parse``; wrapping that in a
cache makes every later parse of the same text free. Parsed paths are not changed by dlt or
``jsonpath_ng`` once made (they are only matched against data), so sharing them is safe. Where
dlt no longer has that function (another version), nothing is changed.
"""

import functools
from typing import Any, Callable

CACHE_SIZE = 1024
"""Distinct JSONPath texts kept parsed (a run uses a handful)."""


def cache_jsonpath_parsing() -> bool:
    """Wraps dlt's JSONPath parser in a cache, once; returns whether it is (now) cached."""
    try:
        from dlt.common import jsonpath
    except ImportError:  # pragma: no cover - dlt without the module
        return False
    parse: Any = getattr(jsonpath, "_parse", None)
    if parse is None or not callable(parse):
        return False
    if hasattr(parse, "cache_info"):
        return True
    cached: Callable[[str], Any] = functools.lru_cache(maxsize=CACHE_SIZE)(parse)
    jsonpath._parse = cached  # type: ignore[attr-defined]
    return True
