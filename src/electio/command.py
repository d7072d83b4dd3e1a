"""Command-line plumbing shared by every ``electio`` command: options, logging, errors.

One place for what each entry point used to repeat: the common options
(``--departement --db --mirror --offline -v``), the settings they give, the logging
set-up (console + a log file beside the outputs), and the exit codes:

- 0 done; 1 a failure the user can act on (:class:`ElectioError`: one sentence, no
  traceback); 130 interrupted by Ctrl-C ("interrupted, nothing changed").

Imports only the bottom of the package (settings, errors, secrets), so any command
module may use it without an import cycle.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from electio.errors import ElectioError
from electio.perimeter import FRANCE, parse_departements
from electio.settings import Settings
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FILE = "electio.log"
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--departement", help="perimeter: département code (default 69, env ELECTIO_DEPARTEMENT)")
    parser.add_argument("--db", dest="db_url", help="SQLAlchemy URL of the warehouse "
                        "(default sqlite:///data/electio.sqlite, env ELECTIO_DB_URL)")
    parser.add_argument("--mirror", help="folder laid out as <source_id>/<file> to read sources from "
                        "(env ELECTIO_MIRROR); without it, missing sources are downloaded")
    parser.add_argument("--offline", action="store_true", help="never download; fail if a source is missing")
    parser.add_argument("--outputs", help="folder of this run's deliverables (default outputs/<perimeter>, "
                        "or beside a --db SQLite file; env ELECTIO_OUTPUTS)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def normalise_departement(text: str | None) -> str | None:
    """'2a' -> '2A', '1,69' -> '01,69', 'fr' -> 'FR'; an invalid code is left as typed (the command's
    checks refuse it in one sentence, inside its error handling)."""
    if text is None:
        return None
    try:
        codes = parse_departements(text)
    except ElectioError:
        return text
    return FRANCE if text.strip().upper() == FRANCE else ",".join(codes)


def settings_from_args(args: argparse.Namespace) -> Settings:
    departement = getattr(args, "departement", None) or os.environ.get("ELECTIO_DEPARTEMENT") or None
    return Settings.from_env(departement=normalise_departement(departement), db_url=getattr(args, "db_url", None),
                             mirror=Path(args.mirror).expanduser() if getattr(args, "mirror", None) else None,
                             outputs_dir=Path(args.outputs).expanduser() if getattr(args, "outputs", None) else None,
                             allow_download=False if getattr(args, "offline", False) else None)


def setup_logging(verbose: bool = False, log_file: Path | None = None) -> None:
    """Console logging, plus ``log_file`` (appended) when given; secrets are masked by callers."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_electio", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        try:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError:  # an unwritable data folder is reported by the command's own checks
            pass
    handlers[0].addFilter(lambda record: getattr(record, "console", True))
    for handler in handlers:
        handler._electio = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def log_path(settings: Settings) -> Path:
    """The run log: in the data folder (it survives the swap of the outputs folder)."""
    return Path(settings.data_dir) / "logs" / LOG_FILE


def run_command(name: str, body: Callable[[], int | None], *, verbose: bool = False,
                log_file: Path | None = None) -> int:
    """Run ``body`` with logging set up; turn user errors and Ctrl-C into one line and an exit code."""
    setup_logging(verbose, log_file)
    try:
        code = body()
    except ElectioError as exc:
        # One sentence on the console, the same with its time in the log file.
        log.error("%s failed: %s", name, mask_secrets(exc), extra={"console": False})
        print(f"electio {name}: {mask_secrets(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        log.error("%s interrupted, nothing changed", name, extra={"console": False})
        print(f"electio {name}: interrupted, nothing changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if code is None else code
