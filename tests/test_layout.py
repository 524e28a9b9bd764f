"""The package's layout, as docs/layout.md draws it: floors that import only downwards, and
modules small enough to read (at most 400 lines, the emulator's server aside)."""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

PACKAGE = Path(__file__).resolve().parent.parent / "sources" / "linkedin_leads"
MAX_LINES = 400
EXEMPT = {"emulator/server.py": "the emulator's HTTP server: one handler per LinkedIn endpoint"}

FLOORS: Dict[str, int] = {
    "settings": 0,
    "api": 1,
    "config": 2,
    "tables": 2,
    "reading": 3,
    "__init__": 4,  # the source itself
    "notifications": 5,
    "commands": 6,
    "__main__": 7,
}
"""Each part of the package by its floor: a module imports only from lower floors, or from its
own part. The emulator stands apart: the source never imports it (the demos do)."""


def modules() -> Iterator[Tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path


def part(module: str) -> str:
    """``api/client.py`` -> ``api``; ``settings.py`` -> ``settings``."""
    return module.split("/")[0].removesuffix(".py")


def imported_parts(module: str, path: Path) -> List[Tuple[int, str]]:
    """(line, part) of each relative import of ``module``, resolved within the package."""
    package = module.split("/")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            if not target:  # ``from .. import x``: the package's own __init__ (the source)
                found.append((node.lineno, "__init__"))
            else:
                found.append((node.lineno, target[0]))
    return found


def test_modules_stay_small() -> None:
    sizes = {module: len(path.read_text().splitlines()) for module, path in modules()}
    assert all(module in sizes for module in EXEMPT), "an exempt module is gone: drop it from EXEMPT"
    too_long = {m: n for m, n in sizes.items() if n > MAX_LINES and m not in EXEMPT}
    assert too_long == {}, f"split these by job (see docs/layout.md): {too_long}"


def test_imports_run_from_the_commands_down_to_the_client() -> None:
    upward = []
    for module, path in modules():
        own = part(module)
        if own == "emulator":
            continue
        for line, target in imported_parts(module, path):
            if target == own:
                continue
            if target == "emulator":
                if module not in ("notifications/demo.py", "commands/demo.py"):  # the demos run it
                    upward.append(f"{module}:{line} imports the emulator")
                continue
            assert target in FLOORS, f"{module}:{line}: unknown part {target}; add it to FLOORS and docs"
            if FLOORS[target] >= FLOORS[own]:
                upward.append(
                    f"{module}:{line} ({own}, floor {FLOORS[own]}) imports {target} ({FLOORS[target]})"
                )
    assert upward == []


def test_every_part_is_a_package_with_a_docstring() -> None:
    for folder in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = folder / "__init__.py"
        assert init.exists(), f"{folder.name}/ has no __init__.py (dlt-hub's check-package.sh wants one)"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{folder.name}/__init__.py: say what it holds"


DOCUMENTED = [
    "__init__.py",
    "api/credentials.py",
    "api/client.py",
    "api/rest.py",
    "commands/auth.py",
    "commands/check.py",
    "commands/cli.py",
    "commands/demo.py",
    "commands/run.py",
    "notifications/receiver.py",
    "notifications/service.py",
]
"""What a user or maintainer calls: the source, the credentials, the client, the commands, the
receiver's app. Their public functions and methods carry Google-style docstrings."""


def undocumented(node: ast.AST, prefix: str = "") -> Iterator[str]:
    """Public definitions under ``node`` without a docstring, or without the ``Args:`` of their
    parameters, or without the ``Returns:`` of a value (``@overload`` stubs aside)."""
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if child.name.startswith("_"):
            continue
        doc = ast.get_docstring(child) or ""
        where = f"{prefix}{child.name} (line {child.lineno})"
        if isinstance(child, ast.ClassDef):
            if not doc:
                yield f"{where}: no docstring"
            yield from undocumented(child, f"{prefix}{child.name}.")
            continue
        decorators = {d.id for d in child.decorator_list if isinstance(d, ast.Name)}
        if "overload" in decorators:
            continue
        parameters = [a.arg for a in child.args.args + child.args.kwonlyargs if a.arg not in ("self", "cls")]
        returns = child.returns is not None and not (
            isinstance(child.returns, ast.Constant) and child.returns.value is None
        )
        if not doc:
            yield f"{where}: no docstring"
        elif (parameters or child.args.kwarg) and "Args:" not in doc:
            yield f"{where}: no Args"
        elif returns and "property" not in decorators and "Returns:" not in doc and "Yields:" not in doc:
            yield f"{where}: no Returns"


def test_what_users_call_has_google_style_docstrings() -> None:
    missing = [
        f"{module}: {problem}"
        for module in DOCUMENTED
        for problem in undocumented(ast.parse((PACKAGE / module).read_text()))
    ]
    assert missing == []
