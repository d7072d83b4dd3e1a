"""Fixtures: a warehouse refreshed from the mirror in tmp, and both templates built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from electio.powerbi import build_templates
from electio.powerbi.definition import load_definition
from electio.powerbi.validate import Template
from electio.settings import Settings


@pytest.fixture(scope="session")
def warehouse(shared_warehouse) -> Settings:
    """The session's warehouse and its CSV exports, built once from the real mirror (tests/conftest.py)."""
    return shared_warehouse.settings


@pytest.fixture(scope="session")
def built(tmp_path_factory, warehouse: Settings) -> dict[str, Path]:
    """Both templates built from that warehouse: variant -> .pbit path (and 'map' -> TopoJSON).

    Built leniently, so that a table or column added to sql/schema.sql without a French
    name fails the one test about names (test_model), not every test of the templates.
    """
    out = tmp_path_factory.mktemp("powerbi-build")
    paths = build_templates(out, warehouse, strict=False)
    files = {p.name: p for p in paths}
    result = {variant: files[spec["file"]] for variant, spec in load_definition().variants.items()}
    result["map"] = files["communes.topo.json"]
    return result


@pytest.fixture(params=["entrepot", "csv"])
def template(request, built) -> Template:
    """Each variant, read fresh (tests may alter the parts they get)."""
    return Template.read(built[request.param])


@pytest.fixture
def warehouse_template(built) -> Template:
    return Template.read(built["entrepot"])


@pytest.fixture
def csv_template(built) -> Template:
    return Template.read(built["csv"])
