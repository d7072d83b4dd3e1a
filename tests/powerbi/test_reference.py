"""The validators on a real template saved by Power BI Desktop (shared/reference/powerbi).

They must accept what Desktop writes, or they would only prove the generator agrees with
itself: the package, every M and DAX expression and every field reference of its visuals
pass (its custom visuals and overlapping groups are outside what our report uses).
"""

from __future__ import annotations

import pytest

from electio.powerbi.validate import Template, check_dax, check_m, check_package, check_visuals, dax_expressions
from electio.settings import PROJECT_ROOT

REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "powerbi" / "COVID-19 US Tracking Sample.pbit"


@pytest.fixture(scope="module")
def reference() -> Template:
    if not REFERENCE.exists():
        pytest.fail(f"the reference template saved by Power BI Desktop is required at {REFERENCE}")
    return Template.read(REFERENCE)


@pytest.mark.usefixtures("node_validators")
def test_package_m_and_dax_of_a_desktop_template_pass(reference):
    assert check_package(reference) == []
    assert check_m(reference) == []
    assert len(dax_expressions(reference.model)) > 20
    assert check_dax(reference) == []


def test_field_references_of_a_desktop_template_resolve(reference):
    problems = check_visuals(reference)
    unresolved = [p for p in problems if any(k in p for k in ("unknown column", "unknown measure", "unknown table",
                                                             "is not selected", "resource"))]
    assert unresolved == []
    assert any("unknown column" in p for p in check_visuals(_renamed(reference)))


def _renamed(t: Template) -> Template:
    from .helpers import with_layout

    def change(layout):
        section = layout["sections"][0]
        for container in section["visualContainers"]:
            container["config"] = container["config"].replace('"Property":"State"', '"Property":"Etat"')
    return with_layout(t, change)
