"""The shipped script of this checkout against the same script at another commit, A/B.

    python bench/script_ab.py --commit 6b391bd [--leads 200000] [--rounds 3]

Both run as a user runs them (``python linkedin_leads_pipeline.py``, configured through the
environment) in the venv of ``bench/run.py``, against one emulator process, alternating, each in a
fresh folder. Printed per side: wall seconds and the script's peak RSS (GNU time's maximum
resident set), each round and the median. For a change that should not move speed or memory, such
as where the allocator settings live.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench

ROOT = Path(__file__).resolve().parent.parent


def once(tree: Path, emu: bench.Emulator) -> Tuple[float, int]:
    """One backfill by the script in ``tree``: wall seconds and peak RSS in MB."""
    folder = tempfile.mkdtemp(prefix="bench-ab-")
    variables = bench.env()
    variables["PYTHONPATH"] = str(tree)
    variables.update(
        {
            "DLT_DATA_DIR": os.path.join(folder, "dlt"),
            "SOURCES__LINKEDIN_LEADS__BASE_URL": emu.info["base_url"],
            "SOURCES__LINKEDIN_LEADS__ACCOUNT_IDS": ",".join(map(str, emu.info["accounts"])),
            "SOURCES__LINKEDIN_LEADS__ORGANIZATION_IDS": ",".join(map(str, emu.info["organizations"])),
            "SOURCES__LINKEDIN_LEADS__CREDENTIALS__ACCESS_TOKEN": "test-access-token",
        }
    )
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS %M", bench.PYTHON, str(tree / "linkedin_leads_pipeline.py")],
        cwd=folder,
        env=variables,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: status {done.returncode}\n{done.stderr[-3000:]}")
    peak_kb = int(re.findall(r"MAXRSS (\d+)", done.stderr)[-1])
    return elapsed, peak_kb // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", required=True, help="the other side: a commit of this repository")
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bench.PYTHON = bench.shipped_python()
    other = Path(tempfile.mkdtemp(prefix="bench-ab-tree-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(other), args.commit], check=True
    )
    sides: Dict[str, Path] = {args.commit: other, "this checkout": ROOT}
    figures: Dict[str, List[Tuple[float, int]]] = {name: [] for name in sides}
    try:
        with bench.emulator(args.leads, accounts=4, organizations=1) as emu:
            for _ in range(args.rounds):
                for name, tree in sides.items():
                    figures[name].append(once(tree, emu))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
    print(f"shipped script, backfill {args.leads // 1000}k, {args.rounds} rounds, alternating:")
    for name, runs in figures.items():
        seconds = statistics.median(s for s, _ in runs)
        peak = statistics.median(m for _, m in runs)
        each = ", ".join(f"{s:.1f} s / {m} MB" for s, m in runs)
        print(f"  {name:<14} median {seconds:.1f} s, peak RSS {peak:.0f} MB  ({each})")


if __name__ == "__main__":
    main()
