"""Summed memory of a command's whole process tree (it forks children: electio.forked).

    python bench/pss_tree.py [--series FILE] -- python -m electio.refresh --offline

Samples every 0.2 s the PSS (proportional set size: a page shared by n processes counts 1/n in each,
so the sum is the physical memory used) of the command and its descendants, from
``/proc/<pid>/smaps_rollup``, and prints the peak of the sum, with how many processes ran then and
the largest single RSS. ``--series``: every sample (time, MB, processes) as JSON. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:  # ended meanwhile
            pass
    return out


def pss_rss_kb(pid: int) -> tuple[int, int]:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            fields = dict(line.split()[:2] for line in f if line.split() and line.split()[0].endswith(":"))
        return int(fields.get("Pss:", 0)), int(fields.get("Rss:", 0))
    except (OSError, ValueError):
        return 0, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", help="write every sample to this JSON file")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    proc = subprocess.Popen(command)
    series, peak = [], (0, 0, 0, 0.0)
    start = time.monotonic()
    while proc.poll() is None:
        pids = tree(proc.pid)
        mem = [pss_rss_kb(p) for p in pids]
        pss, rss = sum(m[0] for m in mem), max((m[1] for m in mem), default=0)
        at = round(time.monotonic() - start, 1)
        series.append((at, round(pss / 1024), len(pids)))
        if pss > peak[0]:
            peak = (pss, rss, len(pids), at)
        time.sleep(0.2)
    print(f"peak summed PSS {peak[0] / 1024:.0f} MB at {peak[3]} s ({peak[2]} processes; largest single RSS "
          f"{peak[1] / 1024:.0f} MB)", file=sys.stderr)
    if args.series:
        with open(args.series, "w", encoding="utf-8") as f:
            json.dump(series, f)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
