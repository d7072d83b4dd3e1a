"""The generator: reproducible builds, committed templates up to date, the command."""

from __future__ import annotations

import zipfile
from pathlib import Path

from electio.powerbi import build_templates, main
from electio.powerbi.definition import load_definition
from electio.settings import PROJECT_ROOT
from electio.warehouse.load import sqlite_path


def entries(path: Path) -> list[tuple[str, int, int]]:
    """(name, CRC, size) of every entry, in order: what 'identical rebuild' means."""
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.CRC, i.file_size) for i in zf.infolist()]


def test_rebuild_gives_identical_entries(warehouse, built, tmp_path):
    again = {p.name: p for p in build_templates(tmp_path, warehouse, strict=False)}
    for variant, spec in load_definition().variants.items():
        assert entries(again[spec["file"]]) == entries(built[variant])
    assert again["communes.topo.json"].read_bytes() == built["map"].read_bytes()


def test_entry_comparison_detects_a_changed_template(built, tmp_path):
    changed = tmp_path / "changed.pbit"
    with zipfile.ZipFile(built["entrepot"]) as src, zipfile.ZipFile(changed, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "Report/Layout":
                data = data.replace("Vue d'ensemble".encode("utf-16-le"), "Vue générale".encode("utf-16-le"))
            dst.writestr(info, data)
    assert entries(changed) != entries(built["entrepot"])
    assert [e[0] for e in entries(changed)] == [e[0] for e in entries(built["entrepot"])]


def test_committed_templates_are_up_to_date(built):
    # The refresh rebuilds them; a change to sql/schema.sql or powerbi/definition/ without
    # `electio powerbi build` (and committing powerbi/) fails here.
    for variant, spec in load_definition().variants.items():
        committed = PROJECT_ROOT / "powerbi" / spec["file"]
        assert committed.exists(), f"{committed} is not committed: run `electio powerbi build`"
        assert entries(committed) == entries(built[variant]), (
            f"{committed} differs from a fresh build: run `electio powerbi build` and commit powerbi/")
    assert (PROJECT_ROOT / "powerbi" / "communes.topo.json").read_bytes() == built["map"].read_bytes()


def test_command_builds_and_checks(warehouse, tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path), "--db", f"sqlite:///{sqlite_path(warehouse.db_url)}",
                 "--mirror", str(warehouse.mirror), "--offline"]) == 0
    assert main(["check", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Electio.pbit: ok" in out and "Electio-csv.pbit: ok" in out and "Electio.pbip: ok" in out


def test_command_fails_without_a_warehouse(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'absent.sqlite'}"]) == 1
    assert not list(tmp_path.glob("*.pbit"))
