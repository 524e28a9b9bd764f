"""``python -m linkedin_leads auth | check``: the command line of ``commands.cli``.

``auth [--port 8765] [--no-browser] [--secrets .dlt/secrets.toml]``: LinkedIn's 3-legged OAuth for
your app; writes the refresh token into ``.dlt/secrets.toml``. Exit 0; 1 when LinkedIn or the member
refused; 2 for a configuration error.

``check [--json]``: verifies the configuration against LinkedIn and loads nothing. Exit status: 0
when every check passed; 4 when one failed (each failing row says the fix); 2 for a configuration
error.

Both read the same settings as the source (``.dlt/config.toml``, ``.dlt/secrets.toml``, environment).
"""

import sys

from .commands.cli import main

if __name__ == "__main__":
    sys.exit(main())
