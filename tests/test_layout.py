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
    "commands": 4,
    "notifications": 5,
    "__init__": 6,
    "__main__": 6,
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
            if not target:  # ``from .. import x`` at the top: x is the part
                found += [(node.lineno, alias.name) for alias in node.names]
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
                if not module.startswith("notifications/demo"):  # the receiver's demo runs it
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
