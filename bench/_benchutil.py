"""Shared helpers of the benchmarks in bench/ (not a benchmark itself, not a test).

Each measured run happens in a fresh child process so that its peak resident
memory (ru_maxrss, reported by os.wait4 for that child alone) is attributable.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = REPO.parent / "shared" / "electio-mirror"


@dataclass
class ChildRun:
    returncode: int
    wall_seconds: float   # process wall time, Python start-up and imports included
    peak_rss_mb: float    # ru_maxrss of this child (os.wait4), MB
    result: dict          # JSON object the child printed on its last stdout line
    log: Path


def run_child(args: list[str], *, log: Path, env: dict | None = None, timeout: float = 900) -> ChildRun:
    """Run ``python <args>`` in a fresh process; collect wall time, peak RSS and its JSON result."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path = log.with_suffix(".out")
    with open(out_path, "w") as out, open(log, "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=err, cwd=REPO,
                                env={**os.environ, **(env or {})})
        deadline = start + timeout
        while True:  # os.wait4 gives the rusage of this very child (not all children)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in out_path.read_text().splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    peak_mb = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return ChildRun(proc.returncode, wall, peak_mb, result, log)


def self_peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def current_rss_mb() -> float | None:
    """Current resident memory of this process (Linux /proc), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def schedstat() -> tuple[float, float] | None:
    """(seconds on CPU, seconds waiting in the run queue) of this thread so far (Linux).

    The run-queue wait is time the process was ready to run but another job had
    the CPU: on a shared machine, wall time = CPU time + run-queue wait (+ I/O).
    """
    try:
        on_cpu, waiting = Path("/proc/self/schedstat").read_text().split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return None


def stats(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def machine_info() -> dict:
    import numpy
    import pandas
    import sqlalchemy
    import sqlite3

    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    try:  # read-only git queries: which code was measured
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        head, dirty = None, None
    return {"git_head": head, "tracked_files_modified": dirty, "nproc": os.cpu_count(), "cpu": cpu, "memory_gb": mem_gb, "python": platform.python_version(),
            "pandas": pandas.__version__, "numpy": numpy.__version__, "sqlalchemy": sqlalchemy.__version__,
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in load] if load else None}


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
