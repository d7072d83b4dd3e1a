"""Shared fixtures. The real mirror is required: a missing mirror fails, never skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from electio.settings import PROJECT_ROOT, Settings

FIXTURES = Path(__file__).parent / "fixtures"


def mirror_path() -> Path:
    env = os.environ.get("ELECTIO_MIRROR")
    return Path(env) if env else (PROJECT_ROOT.parent / "shared" / "electio-mirror").resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_path()
    if not (path / "MANIFEST.csv").exists():
        pytest.fail(f"the electio mirror is required for this test and was not found at {path} "
                    "(set ELECTIO_MIRROR or put shared/electio-mirror beside the repository)")
    return path


@pytest.fixture
def tmp_settings(tmp_path: Path, mirror: Path) -> Settings:
    """Settings that read the real mirror and write only under tmp_path."""
    return Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data",
                    exports_dir=tmp_path / "exports", reports_dir=tmp_path / "reports", allow_download=False)
