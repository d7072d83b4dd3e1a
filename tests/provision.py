"""Install what the tests need beyond pip, only when it is missing: `python tests/provision.py`.

Part of the README's test command. The tests need:
  - libgomp1: the OpenMP runtime LightGBM's Linux wheel loads (present on usual Debian/Ubuntu
    installs, absent from minimal images; the main job needs it too for its LightGBM model);
  - unixodbc + libsqliteodbc: the Power BI template's SQLite queries run through ODBC (pyodbc);
  - graphviz: the report's diagrams, while the `graphviz` Python package is a dependency;
  - chromium: the report's PDF export (optional in the product, exercised by a test);
  - poppler-utils: `pdftotext`, with which a test measures the printed dossier's text size;
  - nodejs + npm, then `npm ci`: Microsoft's Power Query parser and topojson-client
    (pinned by package-lock.json) validate the Power BI templates.
Debian/Ubuntu packages are installed with apt-get (as root, or through sudo). Elsewhere, or
without the rights, it names what to install and exits 1. `--check` only reports.
Standard library only: it runs before or after `pip install`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SQLITE_ODBC_INI = "[SQLite3]\nDescription=SQLite3 ODBC Driver\nDriver=libsqlite3odbc.so\nSetup=libsqlite3odbc.so\n"


def loadable(library: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def has_libodbc() -> bool:
    """unixodbc's driver manager, which pyodbc loads when imported."""
    return loadable("libodbc.so.2")


def has_libgomp() -> bool:
    """GCC's OpenMP runtime, which LightGBM's Linux wheel loads (usual on Debian, absent from slim images)."""
    return loadable("libgomp.so.1")


def sqlite_odbc_registered() -> bool:
    if shutil.which("odbcinst") is None:
        return False
    out = subprocess.run(["odbcinst", "-q", "-d"], capture_output=True, text=True).stdout
    return re.search(r"^\[SQLite3\]", out, re.M | re.I) is not None


def sqlite_odbc_library() -> bool:
    return any(Path(d, "odbc", "libsqlite3odbc.so").exists() or Path(d, "libsqlite3odbc.so").exists()
               for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"))


def needs_graphviz() -> bool:
    """Graphviz's `dot` is needed only while pyproject.toml depends on the graphviz package."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^\s*"graphviz[<>=~ "]', text, re.M) is not None


def missing_packages() -> dict[str, str]:
    """Debian package -> why the tests need it, for what is missing on this machine."""
    missing = {}
    if not has_libgomp():
        missing["libgomp1"] = "libgomp.so.1 (OpenMP runtime of LightGBM's wheel: backtests and forecasts)"
    if not has_libodbc():
        missing["unixodbc"] = "libodbc.so.2 (pyodbc's ODBC driver manager)"
    if not sqlite_odbc_library():
        missing["libsqliteodbc"] = "the SQLite3 ODBC driver (Power BI template queries)"
    if needs_graphviz() and shutil.which("dot") is None:
        missing["graphviz"] = "the `dot` program (report diagrams)"
    if not any(shutil.which(n) for n in CHROMIUM_NAMES):
        missing["chromium"] = "headless Chromium (report PDF export)"
    if shutil.which("pdftotext") is None:
        missing["poppler-utils"] = "pdftotext (the printed dossier's text size, measured by a test)"
    if shutil.which("node") is None:
        missing["nodejs"] = "node (Power Query and TopoJSON validators)"
    if shutil.which("npm") is None:
        missing["npm"] = "npm (installs the pinned validators of package-lock.json)"
    return missing


def node_modules_current() -> bool:
    """node_modules holds exactly what package-lock.json pins (npm records it in .package-lock.json)."""
    installed = ROOT / "node_modules" / ".package-lock.json"
    if not installed.exists():
        return False
    wanted = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    have = json.loads(installed.read_text(encoding="utf-8")).get("packages", {})
    versions = lambda pkgs: {k: v.get("version") for k, v in pkgs.items() if k}  # noqa: E731
    return versions(wanted) == versions(have)


def apt_prefix() -> list[str] | None:
    """How to run apt-get here: directly as root, through sudo, or not at all (None)."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def run(cmd: list[str], quiet: bool = True) -> None:
    print("  $", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"provision: `{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.strip()[-1500:]}")


def install(packages: list[str], prefix: list[str]) -> None:
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    run(prefix + env + ["apt-get", "update", "-qq"])
    run(prefix + env + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what is missing (exit 1 if anything is)")
    args = parser.parse_args(argv)

    missing = missing_packages()
    npm_needed = not node_modules_current()
    if args.check or not missing and not npm_needed:
        for package, why in missing.items():
            print(f"provision: missing Debian package {package}: {why}")
        if npm_needed:
            print("provision: node_modules does not match package-lock.json: `npm ci` needed")
        print("provision: nothing missing" if not missing and not npm_needed else "provision: incomplete")
        return 1 if missing or npm_needed else 0
    if missing:
        prefix = apt_prefix()
        if prefix is None:
            names = " ".join(missing)
            print(f"provision: the tests need {', '.join(f'{p} ({w})' for p, w in missing.items())}.\n"
                  f"provision: install them (Debian/Ubuntu: `sudo apt-get install {names}`; elsewhere the "
                  "equivalent packages), then run the test command again.", file=sys.stderr)
            return 1
        print(f"provision: installing Debian packages {' '.join(missing)}", flush=True)
        install(list(missing), prefix)
    if not sqlite_odbc_registered():  # Debian's libsqliteodbc registers it; other setups may not
        ini = Path("/tmp/electio-sqlite3-odbc.ini")
        ini.write_text(SQLITE_ODBC_INI, encoding="ascii")
        run((apt_prefix() or []) + ["odbcinst", "-i", "-d", "-f", str(ini)])
    if npm_needed:
        print("provision: npm ci (validators pinned by package-lock.json)", flush=True)
        if (ROOT / "node_modules").is_symlink():
            raise SystemExit(f"provision: {ROOT / 'node_modules'} is a symlink to another checkout's modules that "
                             "do not match package-lock.json; run `npm ci` in that checkout")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    still = missing_packages()
    if still or not node_modules_current():
        print(f"provision: still missing after installation: {', '.join(still) or 'node_modules'}", file=sys.stderr)
        return 1
    print("provision: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
