"""Every quality check the real pipeline records has a French name in the report (the client
saw 'national votes sum to expressed' when one was missing)."""

from __future__ import annotations

from electio.report.build import GRAIN_FR
from electio.report.diagram import schema_tables
from electio.report.labels import CHECK_FR
from electio.warehouse.read import read_tables


def test_every_recorded_check_has_a_french_name(shared_warehouse):
    checks = read_tables(shared_warehouse.settings.db_url, ["meta_quality_check"])["meta_quality_check"]
    assert set(checks["check_name"]) - set(CHECK_FR) == set()


def test_every_warehouse_table_has_its_grain_in_french():
    """The data-model section says what one row of each table is (five tables showed a bare dash)."""
    assert [t.name for t in schema_tables() if t.name not in GRAIN_FR] == []
