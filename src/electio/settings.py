"""Run settings: where things are read from and written to.

Everything that could differ between an analyst's laptop, CI and production is a
setting with an environment variable, never a constant in the code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

#: Repository root when running from a checkout (src layout: src/electio/settings.py).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_DEPARTEMENT = "69"


def project_file(relative: str) -> Path:
    """Path of a file shipped with the project (sql/schema.sql, data/reference/...)."""
    path = PROJECT_ROOT / relative
    if not path.exists():
        raise FileNotFoundError(
            f"{relative} not found under {PROJECT_ROOT}; electio must run from a checkout "
            "(pip install -e .) so that sql/ and data/reference/ are available"
        )
    return path


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Settings:
    """One refresh's configuration; build it with :meth:`from_env` and override fields."""

    departement: str = DEFAULT_DEPARTEMENT
    db_url: str = ""
    mirror: Path | None = None
    cache_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "data" / "raw")
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "data")
    #: This run's deliverables (exports/, reports/, powerbi/): see :func:`default_outputs_dir`.
    outputs_dir: Path | None = None
    exports_dir: Path | None = None
    reports_dir: Path | None = None
    powerbi_dir: Path | None = None
    allow_download: bool = True

    def __post_init__(self) -> None:
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{self.data_dir / 'electio.sqlite'}")
        if self.outputs_dir is None:
            object.__setattr__(self, "outputs_dir", default_outputs_dir(self))
        for name in ("exports", "reports", "powerbi"):
            if getattr(self, f"{name}_dir") is None:
                object.__setattr__(self, f"{name}_dir", Path(self.outputs_dir) / name)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from ELECTIO_* environment variables, then explicit overrides."""
        values: dict = {}
        if os.environ.get("ELECTIO_DEPARTEMENT"):
            values["departement"] = os.environ["ELECTIO_DEPARTEMENT"]
        if os.environ.get("ELECTIO_DB_URL"):
            values["db_url"] = os.environ["ELECTIO_DB_URL"]
        for key, env in (("mirror", "ELECTIO_MIRROR"), ("cache_dir", "ELECTIO_CACHE"),
                         ("data_dir", "ELECTIO_DATA"), ("outputs_dir", "ELECTIO_OUTPUTS"),
                         ("exports_dir", "ELECTIO_EXPORTS"), ("reports_dir", "ELECTIO_REPORTS")):
            if (p := _env_path(env)) is not None:
                values[key] = p
        if os.environ.get("ELECTIO_OFFLINE", "").lower() in {"1", "true", "yes"}:
            values["allow_download"] = False
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "-", text).strip("-.") or "x"


def beside_warehouse(settings: Settings, suffix: str) -> Path | None:
    """``<file stem>-<suffix>`` beside a SQLite warehouse other than the default ``<data>/electio.sqlite``;
    None for the default file or a server warehouse (what belongs to a warehouse never mixes with another's)."""
    if not settings.db_url.startswith("sqlite:///"):
        return None
    db = Path(settings.db_url.removeprefix("sqlite:///")).expanduser()
    if db.resolve() == (Path(settings.data_dir) / "electio.sqlite").resolve():
        return None
    return db.parent / f"{db.stem}-{suffix}"


def default_outputs_dir(settings: Settings) -> Path:
    """Where a run's deliverables go, so that runs on other perimeters or warehouses never mix.

    - the default SQLite warehouse (``<data>/electio.sqlite``): ``<data>/../outputs/<perimeter>``;
    - another SQLite file: beside it, ``<file stem>-outputs``;
    - a server warehouse: ``<data>/../outputs/<perimeter>-<host>-<database>`` (no credentials).
    """
    perimeter = _slug(str(settings.departement).replace(",", "+"))
    root = Path(settings.data_dir).parent / "outputs"
    url = settings.db_url
    if url.startswith("sqlite:///"):
        beside = beside_warehouse(settings, "outputs")
        return root / perimeter if beside is None else beside
    # Server URL: keep host and database only (never user or password).
    match = re.match(r"^[^:]+://(?:[^@/]*@)?([^/?]*)/?([^?]*)", url)
    where = "-".join(p for p in (match.group(1), match.group(2)) if p) if match else "server"
    return root / f"{perimeter}-{_slug(where)}"
