"""What the load costs, and what loading beside the extract would save: `python bench/load_costs.py`.

A 200k rich backfill (``--leads``) is extracted and normalized once; then, in rounds, on copies
of that normalized package (the same files every time, so only the setting differs):
- the load at DuckDB's defaults, as shipped (the baseline of this script);
- the load with each DuckDB setting tried (``preserve_insertion_order`` off; one thread);
- the extract alone, and the extract with the load of the copy beside it, in two processes at
  once: the time until both end, against the extract and the load one after the other. This is
  the most a pull made of a chain of packages, each loaded while the next is extracted, could
  save on this machine.
Prints each round and the medians as ratios within the run. Uses the interpreter that runs it
(``PYTHONPATH`` is set to the checkout).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from run import BENCH, Emulator, emulator, env

LOAD_OPTIONS: Dict[str, List[str]] = {
    "defaults (as shipped)": [],
    "preserve_insertion_order off": ["--duckdb-local", json.dumps({"preserve_insertion_order": False})],
    "threads 1": ["--duckdb-global", json.dumps({"threads": 1})],
}


def step(emu: Emulator, name: str, workdir: Path, *extra: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "steps_job.py"),
            name,
            "--base-url",
            emu.info["base_url"],
            "--token-url",
            emu.info["token_url"],
            *emu.owners(),
            "--workdir",
            str(workdir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )


def finish(process: "subprocess.Popen[str]") -> Dict[str, Any]:
    """The job's figures, with ``wall_s``: from now to its end, process start included."""
    started = time.perf_counter()
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"steps_job.py failed:\n{err[-4000:]}")
    figures: Dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    figures["wall_s"] = round(time.perf_counter() - started, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
    prepared = scratch / "prepared"

    def copy() -> Path:
        target = scratch / "copy"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(prepared, target)
        return target

    def fresh() -> Path:
        target = scratch / "fresh"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        return target

    try:
        with emulator(args.leads, accounts=4, organizations=1, rich=True) as emu:
            prepared.mkdir()
            print(f"prepared: {finish(step(emu, 'prepare', prepared))}", flush=True)
            loads: Dict[str, List[Dict[str, Any]]] = {name: [] for name in LOAD_OPTIONS}
            overlap: List[Dict[str, float]] = []
            for number in range(args.rounds):
                for name, extra in LOAD_OPTIONS.items():
                    figures = finish(step(emu, "load", copy(), *extra))
                    loads[name].append(figures)
                    print(f"round {number + 1}, load, {name}: {figures}", flush=True)
                # wall times from outside, process start included, on both sides of the ratio
                extract = finish(step(emu, "prepare", fresh()))
                load_alone = loads["defaults (as shipped)"][-1]["wall_s"]
                started = time.perf_counter()
                both = [step(emu, "prepare", fresh()), step(emu, "load", copy())]
                beside = [finish(process) for process in both]
                together = time.perf_counter() - started
                one_after_other = extract["wall_s"] + load_alone
                overlap.append({"together": together, "one_after_other": one_after_other})
                print(
                    f"round {number + 1}, extract {extract['wall_s']} s and load {load_alone} s one after "
                    f"the other: {one_after_other:.1f} s; at once: {together:.1f} s (extract "
                    f"{beside[0]['elapsed_s']} s, load {beside[1]['elapsed_s']} s, each from its own start)",
                    flush=True,
                )
        shipped = loads["defaults (as shipped)"]
        print(f"\nmedians of {args.rounds} rounds, {args.leads} rich leads, ratios to the load as shipped:")
        for name, runs in loads.items():
            wall = statistics.median(
                r["elapsed_s"] / s["elapsed_s"] for r, s in zip(runs, shipped, strict=True)
            )
            cpu = statistics.median(r["cpu_s"] / s["cpu_s"] for r, s in zip(runs, shipped, strict=True))
            rss = statistics.median(
                r["peak_rss_mb"] / s["peak_rss_mb"] for r, s in zip(runs, shipped, strict=True)
            )
            seconds = statistics.median(r["elapsed_s"] for r in runs)
            print(f"  load, {name}: {seconds:.2f} s; wall {wall:.2f}x, CPU {cpu:.2f}x, peak RSS {rss:.2f}x")
        ratio = statistics.median(o["together"] / o["one_after_other"] for o in overlap)
        print(f"  extract and load at once, against one after the other: {ratio:.2f}x the wall time")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
