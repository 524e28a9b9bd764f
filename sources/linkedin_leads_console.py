"""The ``linkedin-leads`` command of the installed package: ``run``, ``check``, ``auth``,
``notifications``, ``--version`` (``linkedin_leads.commands.cli``).

Its first import is the example script, which sets the process's allocators as it is imported,
before dlt and pyarrow are (``linkedin_leads_pipeline.use_lean_allocators``).
"""

from typing import List, Optional

import linkedin_leads_pipeline  # noqa: F401  # first: the allocators, before dlt and pyarrow
from linkedin_leads.commands.cli import console


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    return console(argv)
