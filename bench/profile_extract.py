"""Where the pipeline's CPU goes, per lead: `python bench/profile_extract.py [--leads 100000]`.

Starts the emulator (rich leads) in its own process, runs ``pipeline_job.py`` under py-spy
(sampling every thread at 200 Hz, idle threads left out), and sorts each sample into the part of
the work its stack is in: HTTP (requests, urllib3, sockets), decoding (msgspec, pyarrow's JSON
reader), form resolution (form versions, names), Arrow table building, dlt's extract of Arrow
items, Parquet writing, normalize, load, the rest. Prints µs of CPU per lead for each, and the
job's own figures (``extract_cpu_us_per_lead`` is measured with ``time.process_time``, without
py-spy's sampling). Needs py-spy (``pip install py-spy``); it reads another process's stacks, so
it runs as a user allowed to (root, or ptrace permitted).
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RATE = 200

PARTS: List[Tuple[str, Tuple[str, ...]]] = [
    # checked in this order, each against every frame of the stack
    ("Parquet writing", ("dlt/common/data_writers", "pyarrow/parquet")),
    ("normalize", ("dlt/normalize",)),
    ("load", ("dlt/load", "dlt/destinations", "duckdb")),
    ("decoding", ("decode_lead_page", "decode_lead_rows", "read_answers", "form_version_urns", "msgspec")),
    (
        "form resolution",
        (
            "linkedin_leads/tables/forms.py",
            "linkedin_leads/tables/questions.py",
            "linkedin_leads/tables/pages.py",
            "linkedin_leads/tables/names.py",
        ),
    ),
    (
        "Arrow table building",
        (
            "linkedin_leads/tables/lead_tables.py",
            "linkedin_leads/tables/answers.py",
            "linkedin_leads/tables/columns.py",
        ),
    ),
    ("HTTP", ("requests/", "urllib3/", "http/client.py", "socket.py", "ssl.py", "linkedin_leads/api/")),
    ("dlt extract", ("dlt/extract",)),
]


def part_of(stack: str) -> str:
    """The part of the innermost frame that has one (py-spy writes frames outermost first)."""
    for frame in reversed(stack.split(";")):
        for name, markers in PARTS:
            if any(marker in frame for marker in markers):
                return name
    return "other (dlt's pipeline, threads, imports)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--lean", action="store_true", help="the leaner leads of earlier runs")
    parser.add_argument(
        "--tree",
        type=Path,
        default=ROOT,
        help="the checkout whose linkedin_leads is profiled (another commit's worktree: before/after)",
    )
    parser.add_argument("--top", type=int, default=0, help="also print the N costliest dlt extract frames")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{BENCH}", "RUNTIME__LOG_LEVEL": "ERROR"}
    emulator = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "emulator_process.py"),
            "--leads",
            str(args.leads),
            *([] if args.lean else ["--rich"]),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    workdir = tempfile.mkdtemp(prefix="bench-profile-")
    try:
        assert emulator.stdout is not None
        info = json.loads(emulator.stdout.readline())
        stacks = Path(workdir) / "stacks.txt"
        job_env = {**env, "PYTHONPATH": f"{args.tree}:{BENCH}"}
        job = subprocess.run(
            [
                py_spy,
                "record",
                "--rate",
                str(RATE),
                "--format",
                "raw",
                "--gil",  # samples of the thread holding the GIL: the extract is bound by it
                "--output",
                str(stacks),
                "--",
                sys.executable,
                str(BENCH / "pipeline_job.py"),
                "--base-url",
                info["base_url"],
                "--token-url",
                info["token_url"],
                "--accounts",
                ",".join(map(str, info["accounts"])),
                "--organizations",
                ",".join(map(str, info["organizations"])),
                "--workdir",
                workdir,
            ],
            capture_output=True,
            text=True,
            env=job_env,
            check=True,
        )
        figures = json.loads([x for x in job.stdout.splitlines() if x.startswith("{")][-1])
        samples: Dict[str, int] = collections.Counter()
        inside: Dict[str, int] = collections.Counter()
        for line in stacks.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            part = part_of(stack)
            samples[part] += int(count)
            if part == "dlt extract":  # the outermost frame of dlt's below its extract loop
                frames = [f for f in stack.split(";") if "dlt/" in f]
                inside[frames[-1] if frames else "?"] += int(count)
        leads = figures["leads_loaded"]
        print(f"{args.tree}: {leads} leads; CPU samples at {RATE} Hz, every thread; µs of CPU per lead:")
        for name, count in sorted(samples.items(), key=lambda item: -item[1]):
            print(f"  {name:<42} {count / RATE / leads * 1e6:7.1f}")
        print(f"  {'all':<42} {sum(samples.values()) / RATE / leads * 1e6:7.1f}")
        for frame, count in inside.most_common(args.top):
            print(f"    {count / RATE / leads * 1e6:7.1f}  {frame}")
        print(json.dumps({k: figures[k] for k in ("steps_s", "cpu_s", "extract_cpu_us_per_lead")}))
        if os.environ.get("PROFILE_KEEP"):
            shutil.copy(stacks, os.environ["PROFILE_KEEP"])
    finally:
        emulator.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
