"""Faults survived: concurrent refreshes, unwritable folders, a killed refresh."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from electio.errors import ElectioError
from electio.refresh import run_refresh
from electio.settings import Settings
from electio.warehouse.lock import check_writable, refresh_lock


def test_second_refresh_fails_clearly_while_one_runs(tmp_path):
    with refresh_lock(tmp_path):
        with pytest.raises(ElectioError, match="another refresh is running"):
            with refresh_lock(tmp_path):
                pass
    with refresh_lock(tmp_path):  # released afterwards
        pass


def test_unwritable_output_is_named_before_any_work(tmp_path, mirror):
    # A regular file where a folder is expected cannot be written into, even as root.
    blocker = tmp_path / "exports"
    blocker.write_text("not a folder")
    settings = Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data",
                        exports_dir=blocker, allow_download=False)
    with pytest.raises(ElectioError, match=f"cannot write to {blocker}"):
        run_refresh(settings)
    assert not (tmp_path / "data" / "electio.sqlite").exists()


@pytest.mark.parametrize("code,message", [(28, "no space left on device"), (30, "read-only file system"),
                                          (13, "permission denied")])
def test_full_or_read_only_disk_is_named(tmp_path, monkeypatch, code, message):
    import tempfile

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(ElectioError, match=f"cannot write to {tmp_path}: {message}"):
        check_writable(tmp_path)


KILL_SCRIPT = r"""
import sys, time
from pathlib import Path
import electio.warehouse.load as load
from electio.refresh import run_refresh
from electio.settings import Settings

real = load._insert_all
def slow(conn, tables):
    real(conn, tables)
    Path(sys.argv[2]).write_text("inserted")   # tell the test we are mid-build
    time.sleep(60)                             # and wait to be killed
load._insert_all = slow
root = Path(sys.argv[1])
run_refresh(Settings(mirror=Path(sys.argv[3]), cache_dir=root / "raw", data_dir=root / "data",
                     exports_dir=root / "exports", allow_download=False), export=False)
"""


def test_killed_refresh_leaves_previous_warehouse(tmp_path, mirror):
    settings = Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data",
                        exports_dir=tmp_path / "exports", allow_download=False)
    run_refresh(settings, export=False)
    db = tmp_path / "data" / "electio.sqlite"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    flag = tmp_path / "flag"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path), str(flag), str(mirror)])
    deadline = time.time() + 120
    while not flag.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert flag.exists(), "the child refresh never reached the load"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert list(db.parent.glob("electio.sqlite.tmp-*"))  # the half-built file it left...
    run_refresh(settings, export=False)                 # ...is cleaned by the next refresh
    assert not list(db.parent.glob("electio.sqlite.tmp-*"))
