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

dlt 1.31 offers no supported way to the same end: ``Incremental.cursor_path`` must stay a string
(it keys the resource state, so a pre-parsed path cannot be passed instead), and nothing in dlt
caches ``compile_path``. The module is replaced through an ``Any`` alias, so that this type-checks
whether ``jsonpath_ng`` ships type hints (1.9 and later, Python 3.11+) or not (1.8, Python 3.10).
"""

import functools
from typing import Any

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
    module: Any = jsonpath  # typed by jsonpath_ng 1.9+, untyped before: see the module's docstring
    module._parse = functools.lru_cache(maxsize=CACHE_SIZE)(parse)
    return True
