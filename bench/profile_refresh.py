"""Profile one refresh of the default perimeter with cProfile (not a test, not a benchmark of record).

Runs ``electio.refresh.main(["--mirror", M, "--offline", *flags])`` in this process with
every output in a temporary folder (ELECTIO_DATA / _CACHE / _OUTPUTS / _DB_URL), then prints
the stage times and the top entries by cumulative and by own time. ``--keep DIR`` keeps the
outputs there (a second call with the same DIR is a warm refresh).

    nice python bench/profile_refresh.py --out bench/results/profile_before.txt
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import DEFAULT_MIRROR  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    parser.add_argument("--departement", default="69")
    parser.add_argument("--keep", help="work folder to use and keep (default: a temporary one, deleted)")
    parser.add_argument("--out", help="write the report here too")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("flags", nargs="*", help="extra refresh flags (after --)")
    args = parser.parse_args(argv)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="electio-profile-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ.update({"ELECTIO_DATA": str(root / "data"), "ELECTIO_CACHE": str(root / "cache"),
                       "ELECTIO_OUTPUTS": str(root / "outputs"),
                       "ELECTIO_DB_URL": f"sqlite:///{root / 'data' / 'electio.sqlite'}",
                       "ELECTIO_DEPARTEMENT": args.departement})
    for key in ("ELECTIO_EXPORTS", "ELECTIO_REPORTS"):
        os.environ.pop(key, None)
    import electio.refresh as refresh

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    code = refresh.main(["--mirror", args.mirror, "--offline", *args.flags])
    prof.disable()
    wall = time.perf_counter() - t0
    out = io.StringIO()
    out.write(f"refresh exit {code}, wall {wall:.1f} s under cProfile, CPU {time.process_time():.1f} s, "
              f"load average {os.getloadavg()}\n")
    for key in ("cumulative", "tottime"):
        out.write(f"\n== top {args.top} by {key} ==\n")
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(args.top)
    text = out.getvalue()
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        prof.dump_stats(str(Path(args.out).with_suffix(".prof")))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
