"""The notification receiver's command line in a process of its own, for the SIGKILL tests:
``receiver_child.py hold serve ...`` stops its first load after one table was copied into DuckDB
(and prints ``COPIED``), so that it can be killed in the middle of a load."""

import sys

from linkedin_leads.notifications.__main__ import main

from .crash_child import hold_after_first_copy_job

if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold_after_first_copy_job()
    sys.exit(main(sys.argv[2:]))
