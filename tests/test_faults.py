"""Faults survived: concurrent refreshes, unwritable folders, a killed refresh."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from electio import refresh, stages
from electio.errors import ElectioError
from electio.refresh import run_refresh
from electio.settings import PROJECT_ROOT, Settings
from electio.warehouse.lock import check_writable, refresh_lock
from tests.conftest import copy_warehouse


def test_second_refresh_fails_clearly_while_one_runs(tmp_path):
    with refresh_lock(tmp_path):
        with pytest.raises(ElectioError, match="another refresh is running"):
            with refresh_lock(tmp_path):
                pass
    with refresh_lock(tmp_path):  # released afterwards
        pass


def test_unwritable_output_is_named_before_any_work(tmp_path, mirror):
    # A regular file where a folder is expected cannot be written into, even as root.
    # Output folders are swapped in whole, so it is their parent that must be writable.
    blocker = tmp_path / "outputs"
    blocker.write_text("not a folder")
    settings = Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data",
                        exports_dir=blocker / "exports", allow_download=False)
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
                     exports_dir=root / "exports", allow_download=False), export=False, cache=True)
"""


def test_killed_refresh_leaves_previous_warehouse(tmp_path, mirror, shared_warehouse, monkeypatch):
    # the child reuses the session's table build (stage cache): it reaches the load in seconds
    settings = copy_warehouse(shared_warehouse.settings, tmp_path, cache=True)
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

    def stop(*a, **k):  # the cleanup happens before any work: no need to rebuild
        raise ElectioError("stopped after the cleanup")

    monkeypatch.setattr(refresh, "build_tables", stop)
    with pytest.raises(ElectioError, match="stopped after the cleanup"):
        run_refresh(settings, export=False)             # ...is cleaned by the next refresh
    assert not list(db.parent.glob("electio.sqlite.tmp-*"))
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


# --------------------------------------------------------------------------- bad input: one sentence, an exit code

def _no_build(monkeypatch):
    """Fail the test if the long work starts: bad input must be refused before it."""
    def build(*a, **k):
        raise AssertionError("the refresh started building although its input was bad")

    monkeypatch.setattr(refresh, "build_tables", build)


def _stderr_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("url,message", [
    ("not-a-url", "--db 'not-a-url' is not a database URL (expected e.g. sqlite:///"),
    ("foo://host/db", "--db 'foo://host/db': unknown database type 'foo'"),
    ("postgresql://u:secret@localhost:1/db", "the Python driver for postgresql is not usable"),
    ("mssql+pyodbc://u:secret@nohost/db?driver=ODBC+Driver+18+for+SQL+Server", "cannot connect to the warehouse "
                                                                             "mssql+pyodbc://u:***@nohost/db"),
])
def test_bad_db_is_refused_in_one_sentence_before_any_work(tmp_path, mirror, monkeypatch, capsys, url, message):
    _no_build(monkeypatch)
    monkeypatch.setenv("ELECTIO_DATA", str(tmp_path))
    started = time.perf_counter()
    code = refresh.main(["--db", url, "--mirror", str(mirror), "--offline"])
    err = _stderr_line(capsys)
    assert code == 1 and message in err, err
    assert "secret" not in err
    assert time.perf_counter() - started < 30


def test_missing_mirror_files_are_all_listed_at_once(tmp_path, mirror, monkeypatch, capsys):
    fake = tmp_path / "mirror"
    fake.mkdir()
    gone = [("aktiur_resultats_electoraux", "2017-legislatives-1_par_commune_large.csv.gz"),
            ("elections_agregees_69", "rhone_2024_legi_t1.csv")]
    for child in mirror.iterdir():
        if child.name in {s for s, _ in gone}:
            (fake / child.name).mkdir()
            for f in child.iterdir():
                if (child.name, f.name) not in gone:
                    (fake / child.name / f.name).symlink_to(f)
        else:
            (fake / child.name).symlink_to(child)
    _no_build(monkeypatch)
    monkeypatch.setenv("ELECTIO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ELECTIO_CACHE", str(tmp_path / "raw"))
    monkeypatch.delenv("ELECTIO_DB_URL", raising=False)
    assert refresh.main(["--mirror", str(fake), "--offline"]) == 1
    err = _stderr_line(capsys)
    assert "2 source file(s) missing" in err and all(f"{s}/{f}" in err for s, f in gone), err


def test_missing_mirror_folder(tmp_path, monkeypatch, capsys):
    _no_build(monkeypatch)
    monkeypatch.setenv("ELECTIO_DATA", str(tmp_path))
    assert refresh.main(["--mirror", str(tmp_path / "nowhere"), "--offline"]) == 1
    assert f"mirror folder {tmp_path / 'nowhere'} does not exist" in _stderr_line(capsys)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ctrl_c_during_exports_changes_nothing(tmp_path, shared_warehouse, monkeypatch, capsys):
    settings = copy_warehouse(shared_warehouse.settings, tmp_path, exports=True, cache=True)
    db = settings.data_dir / "electio.sqlite"
    before, exports_before = hashlib.sha256(db.read_bytes()).hexdigest(), _digests(settings.exports_dir)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(stages, "export_tables", interrupted)
    args = ["--db", settings.db_url, "--mirror", str(settings.mirror), "--offline", "--no-models", "--no-figures",
            "--no-report", "--no-powerbi"]
    monkeypatch.setenv("ELECTIO_DATA", str(settings.data_dir))
    monkeypatch.setenv("ELECTIO_CACHE", str(settings.cache_dir))
    monkeypatch.setenv("ELECTIO_EXPORTS", str(settings.exports_dir))
    monkeypatch.setenv("ELECTIO_REPORTS", str(settings.reports_dir))
    assert refresh.main(args) == 130
    err = _stderr_line(capsys)
    assert err.strip().splitlines()[-1] == "electio refresh: interrupted, nothing changed"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert _digests(settings.exports_dir) == exports_before
    assert [p.name for p in tmp_path.rglob("*") if ".staging-" in p.name or ".tmp-" in p.name] == []


# --------------------------------------------------------------------------- outputs belong to their run

def test_outputs_are_replaced_whole_with_normal_permissions(tmp_path, shared_warehouse):
    # with the session's stage cache: extracts restored from it must have normal permissions too
    settings = copy_warehouse(shared_warehouse.settings, tmp_path, exports=True, cache=True)
    stale = settings.reports_dir / "figures" / "forecast_curves_69123_lyon.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier run")
    committed = {p: p.stat().st_mtime_ns for p in (PROJECT_ROOT / "powerbi").glob("*.pbit")}
    summary = run_refresh(settings, export=True, powerbi=True, cache=True)
    assert summary["sources_reused"] and not stale.exists()  # figures of a previous run are never mixed with this run's
    assert (settings.reports_dir / "eda_answer.json").exists() and (settings.reports_dir / "RUN.json").exists()
    mask = os.umask(0)
    os.umask(mask)
    for folder in (settings.exports_dir, settings.reports_dir, settings.powerbi_dir):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~mask, folder
    for extract in (settings.exports_dir / "dim_commune.csv", settings.exports_dir / "electio.xlsx"):
        assert extract.stat().st_mode & 0o777 == 0o666 & ~mask, extract
    assert sorted(p.name for p in settings.powerbi_dir.glob("*.pbit")) == ["Electio-csv.pbit", "Electio.pbit"]
    assert {p: p.stat().st_mtime_ns for p in (PROJECT_ROOT / "powerbi").glob("*.pbit")} == committed
    exports = next(r for r in summary["stages"] if r.stage == "exports")
    assert len(exports.files) == len([p for p in settings.exports_dir.rglob("*") if p.is_file()])


def test_default_outputs_are_per_perimeter_and_warehouse(tmp_path):
    a = Settings(data_dir=tmp_path / "data", departement="69")
    b = Settings(data_dir=tmp_path / "data", departement="01")
    c = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'other' / 'w.sqlite'}")
    d = Settings(data_dir=tmp_path / "data", db_url="mssql+pyodbc://user:pw@srv/electio?driver=x")
    assert a.exports_dir == tmp_path / "outputs" / "69" / "exports"
    assert b.reports_dir == tmp_path / "outputs" / "01" / "reports"
    assert c.powerbi_dir == tmp_path / "other" / "w-outputs" / "powerbi"
    assert d.outputs_dir == tmp_path / "outputs" / "69-srv-electio" and "pw" not in str(d.outputs_dir)


# --------------------------------------------------------------------------- a stage that cannot run is skipped

@pytest.mark.long
def test_stage_that_cannot_run_is_skipped_not_fatal(tmp_path, mirror):
    # Paris is one commune (arrondissements rolled up): no commune-level model can learn.
    settings = Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data", departement="75",
                        allow_download=False)
    summary = run_refresh(settings, export=False, models=True, report=False)
    status = {r.stage: (r.status, r.reason) for r in summary["stages"]}
    assert status["backtest"] == ("skipped", "commune-level models need at least 10 communes; this perimeter has 1")
    assert status["train"] == ("skipped", "needs backtest, which was skipped")
    assert status["forecast"] == ("skipped", "needs train, which was skipped")
    assert status["correlations"][0] == "done"
    with sqlite3.connect(settings.data_dir / "electio.sqlite") as conn:
        rows = dict(conn.execute("select stage, status from meta_stage_run").fetchall())
    assert rows["backtest"] == "skipped" and rows["correlations"] == "done" and len(rows) == len(stages.STAGES)


def test_runner_turns_an_analysis_error_into_a_skip_and_a_bug_into_a_failure(tmp_path):
    def cannot(ctx):
        raise ElectioError("the trend hypothesis needs at least 2 more first rounds than parameters")

    def bug(ctx):
        raise ZeroDivisionError("bug")

    ctx = stages.Context(Settings(data_dir=tmp_path), {})
    run = stages.run_stage(dataclasses.replace(stages.BY_NAME["forecast"], run=cannot), ctx, {})
    assert (run.status, run.reason) == ("skipped", "the trend hypothesis needs at least 2 more first rounds than "
                                                   "parameters")
    with pytest.raises(ZeroDivisionError):
        stages.run_stage(dataclasses.replace(stages.BY_NAME["forecast"], run=bug), ctx, {})
    with pytest.raises(ElectioError):  # an output stage failing is not a perimeter limit: the run stops
        stages.run_stage(dataclasses.replace(stages.BY_NAME["exports"], run=cannot), ctx, {})


@pytest.mark.parametrize("code,message", [
    ("99", "unknown département '99'"),
    ("20", "Corsica is 2A or 2B"),
    (",", "empty département"),
])
def test_unknown_or_empty_perimeter_is_refused_before_any_work(tmp_path, monkeypatch, capsys, code, message):
    _no_build(monkeypatch)
    monkeypatch.setenv("ELECTIO_DATA", str(tmp_path))
    assert refresh.main(["--departement", code, "--offline"]) == 1
    assert message in _stderr_line(capsys)


def test_departement_codes_are_case_insensitive(tmp_path, monkeypatch):
    from electio.command import settings_from_args

    monkeypatch.delenv("ELECTIO_DEPARTEMENT", raising=False)
    args = dataclasses.make_dataclass("A", [("departement", str)])
    assert settings_from_args(args("2a")).departement == "2A"
    assert settings_from_args(args("1,69")).departement == "01,69"
    assert settings_from_args(args("fr")).departement == "FR"


def test_each_warehouse_has_its_own_trained_model(tmp_path):
    """A forecast run alone loads the model of its own warehouse, never another perimeter's."""
    from electio.model.run import models_dir

    default = Settings(data_dir=tmp_path / "data")
    other = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'w33' / 'electio.sqlite'}")
    server = Settings(data_dir=tmp_path / "data", db_url="mssql+pyodbc://user:pw@srv/electio?driver=x")
    assert models_dir(default) == tmp_path / "data" / "models"
    assert models_dir(other) == tmp_path / "w33" / "electio-models"
    assert models_dir(server).parent == tmp_path / "data" / "models" and "pw" not in str(models_dir(server))
    assert len({models_dir(default), models_dir(other), models_dir(server)}) == 3
