"""The arguments every benchmark job takes: where the emulator is and which owners to read."""

import argparse


def job_parser() -> argparse.ArgumentParser:
    """A parser with ``--base-url``, ``--token-url``, ``--accounts`` and ``--organizations``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token-url", required=True)
    parser.add_argument("--accounts", default="", help="comma separated ad account ids")
    parser.add_argument("--organizations", default="", help="comma separated organization ids")
    return parser
