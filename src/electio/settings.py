"""Run settings: where things are read from and written to.

Everything that could differ between an analyst's laptop, CI and production is a
setting with an environment variable, never a constant in the code.
"""

from __future__ import annotations

import os
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
    exports_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "exports")
    reports_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "reports")
    allow_download: bool = True

    def __post_init__(self) -> None:
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{self.data_dir / 'electio.sqlite'}")

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from ELECTIO_* environment variables, then explicit overrides."""
        values: dict = {}
        if os.environ.get("ELECTIO_DEPARTEMENT"):
            values["departement"] = os.environ["ELECTIO_DEPARTEMENT"]
        if os.environ.get("ELECTIO_DB_URL"):
            values["db_url"] = os.environ["ELECTIO_DB_URL"]
        for key, env in (("mirror", "ELECTIO_MIRROR"), ("cache_dir", "ELECTIO_CACHE"),
                         ("data_dir", "ELECTIO_DATA"), ("exports_dir", "ELECTIO_EXPORTS"),
                         ("reports_dir", "ELECTIO_REPORTS")):
            if (p := _env_path(env)) is not None:
                values[key] = p
        if os.environ.get("ELECTIO_OFFLINE", "").lower() in {"1", "true", "yes"}:
            values["allow_download"] = False
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
