"""The ``init`` command: commented ``.dlt/config.toml`` and ``.dlt/secrets.toml`` templates here,
for a user who installed the package and has no clone to copy them from. It never overwrites."""

import os
from pathlib import Path
from typing import List, Tuple

TEMPLATES = Path(__file__).parent / "templates"
FILES = (("config.toml", "config.toml", 0o644), ("secrets.toml", "secrets.toml", 0o600))
"""(template, file written under ``.dlt/``, its mode): secrets readable by their owner only."""


def write_templates(folder: Path) -> Tuple[List[Path], List[Path]]:
    """Writes the templates into ``folder/.dlt/``, leaving any file already there as it is.

    Args:
        folder: The project folder (the current one for the command).

    Returns:
        Tuple[List[Path], List[Path]]: The files written, and those kept because they existed.
    """
    written: List[Path] = []
    kept: List[Path] = []
    (folder / ".dlt").mkdir(exist_ok=True)
    for template, name, mode in FILES:
        path = folder / ".dlt" / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # never over a file
        except FileExistsError:
            kept.append(path)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write((TEMPLATES / template).read_text(encoding="utf-8"))
        os.chmod(path, mode)
        written.append(path)
    return written, kept
