"""``python -m linkedin_leads run | check | auth | notifications``: the command line of
``commands.cli``, the same as the installed ``linkedin-leads`` command.

``run [--demo]`` loads the configured owners (exit 0; 3 when LinkedIn stopped the run part-way; 2
for a configuration error); ``check [--json]`` verifies the configuration against LinkedIn and
loads nothing (exit 0, or 4 when a check failed); ``auth`` writes a refresh token into
``.dlt/secrets.toml``. All read the same settings as the source (``.dlt/*.toml``, environment).
"""

import sys

from .commands.cli import main

if __name__ == "__main__":
    sys.exit(main())
