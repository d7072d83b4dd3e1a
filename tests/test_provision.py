"""tests/provision.py: what it detects as missing and what it says when it cannot install."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("provision", Path(__file__).with_name("provision.py"))
provision = importlib.util.module_from_spec(spec)
spec.loader.exec_module(provision)


@pytest.fixture
def bare_machine(monkeypatch):
    """A machine without any of the tools: no ODBC, no programs on PATH."""
    monkeypatch.setattr(provision, "has_libodbc", lambda: False)
    monkeypatch.setattr(provision, "has_libgomp", lambda: False)
    monkeypatch.setattr(provision, "sqlite_odbc_library", lambda: False)
    monkeypatch.setattr(provision, "sqlite_odbc_registered", lambda: False)
    monkeypatch.setattr(provision.shutil, "which", lambda name: None)


def test_detects_every_missing_package(bare_machine):
    missing = provision.missing_packages()
    expected = {"libgomp1", "unixodbc", "libsqliteodbc", "chromium", "poppler-utils", "nodejs", "npm"}
    assert set(missing) == expected | ({"graphviz"} if provision.needs_graphviz() else set())


def test_without_apt_rights_it_names_the_packages_and_stops(bare_machine, monkeypatch, capsys):
    monkeypatch.setattr(provision, "node_modules_current", lambda: True)
    monkeypatch.setattr(provision, "install", lambda *a: pytest.fail("must not install without rights"))
    assert provision.main([]) == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install libgomp1 unixodbc libsqliteodbc" in err and "nodejs" in err and "npm" in err


def test_check_only_reports(bare_machine, monkeypatch, capsys):
    monkeypatch.setattr(provision, "node_modules_current", lambda: False)
    monkeypatch.setattr(provision, "install", lambda *a: pytest.fail("--check must not install"))
    assert provision.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "missing Debian package unixodbc" in out and "`npm ci` needed" in out


def test_node_modules_must_match_the_lock_file(tmp_path, monkeypatch):
    monkeypatch.setattr(provision, "ROOT", tmp_path)
    lock = {"packages": {"": {"name": "x"}, "node_modules/a": {"version": "1.0.0"}}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    assert not provision.node_modules_current()  # never installed
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / ".package-lock.json").write_text(json.dumps({"packages": {"node_modules/a": {"version": "0.9.0"}}}))
    assert not provision.node_modules_current()  # stale
    (tmp_path / "node_modules" / ".package-lock.json").write_text(json.dumps(lock))
    assert provision.node_modules_current()


def test_this_machine_is_provisioned():
    # After the README's test command, nothing is missing (fails on a machine it could not provision).
    assert provision.missing_packages() == {} and provision.node_modules_current()
