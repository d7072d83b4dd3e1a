"""The .pbit container: parts, encodings, JSON, content types, reproducible entries."""

from __future__ import annotations

import zipfile

import pytest

from electio.powerbi.package import REQUIRED_PARTS, ZIP_TIMESTAMP
from electio.powerbi.validate import Template, check_package, write_template

from .helpers import altered


def test_required_parts_encodings_json_and_content_types(template):
    assert check_package(template) == []
    names = list(template.parts)
    assert names[: len(REQUIRED_PARTS)] == list(REQUIRED_PARTS)
    assert template.parts["Version"].decode("utf-16-le") == "1.25"
    model = template.json("DataModelSchema")
    assert model["compatibilityLevel"] == 1550
    assert model["model"]["defaultPowerBIDataSourceVersion"] == "powerBI_V3"
    assert any(n.startswith("Report/StaticResources/RegisteredResources/") for n in names)


def test_entries_have_fixed_timestamps_and_order(built):
    for variant in ("entrepot", "csv"):
        with zipfile.ZipFile(built[variant]) as zf:
            infos = zf.infolist()
        assert {i.date_time for i in infos} == {ZIP_TIMESTAMP}
        assert infos[0].filename == "Version"


def _drop(part):
    def change(t):
        del t.parts[part]
    return change


def _prepend(part, prefix):
    def change(t):
        t.parts[part] = prefix + t.parts[part]
    return change


def _replace(part, data):
    def change(t):
        t.parts[part] = data(t.parts[part])
    return change


CORRUPTIONS = {
    "missing DiagramLayout": (_drop("DiagramLayout"), "required part DiagramLayout is missing"),
    "missing Report/Layout": (_drop("Report/Layout"), "required part Report/Layout is missing"),
    "BOM added to DataModelSchema": (_prepend("DataModelSchema", b"\xff\xfe"), "byte-order mark"),
    "Layout written in UTF-8": (_replace("Report/Layout", lambda b: b.decode("utf-16-le").encode("utf-8")),
                                "not UTF-16LE"),
    "broken JSON in Settings": (_replace("Settings", lambda b: b[:-4]), "Settings is not valid JSON"),
    "Version not a number": (_replace("Version", lambda b: "v1".encode("utf-16-le")), "Version is 'v1'"),
    "content types not XML": (_replace("[Content_Types].xml", lambda b: b[:-10]), "not valid XML"),
    "no content type for the map": (_replace("[Content_Types].xml", lambda b: b.replace(
        b'<Default Extension="json" ContentType="" />', b"")), "has no content type"),
    "embedded map removed": (_drop("Report/StaticResources/RegisteredResources/communes.topo.json"),
                             "has no entry"),
    "embedded map with BOM": (_prepend("Report/StaticResources/RegisteredResources/communes.topo.json",
                                       b"\xef\xbb\xbf"), "byte-order mark"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_package_check_fails_on_corrupted_template(warehouse_template, corruption, tmp_path):
    change, expected = CORRUPTIONS[corruption]
    t = altered(warehouse_template)
    change(t)
    reread = Template.read(write_template(t, tmp_path / "corrupted.pbit"))
    problems = check_package(reread)
    assert problems, corruption
    assert any(expected in p for p in problems), problems
