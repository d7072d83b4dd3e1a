"""Work in forked child processes (electio.forked): results, failures, figures byte-identical."""

from __future__ import annotations

import os
import time

import pytest

from electio import forked
from electio.eda import figures as eda_figures
from electio import cache
from electio.cache import StageCache, memo_value, memo_value_known
from electio.errors import ElectioError

pytestmark = pytest.mark.skipif(not forked.FORK, reason="fork is used on Linux only; elsewhere everything runs inline")


def _pid_and(x):
    return os.getpid(), x * 2


def _fail(x):
    raise ValueError(f"bad value {x}")


def _sleep(seconds):
    time.sleep(seconds)


def test_outside_a_block_the_work_runs_inline():
    handle = forked.run(_pid_and, 21, label="inline")
    assert handle.result() == (os.getpid(), 42)


def test_inside_a_block_the_work_runs_in_children_and_results_come_back_in_order():
    with forked.forked(workers=2):
        handles = [forked.run(_pid_and, i, label=f"task {i}") for i in range(5)]
        with pytest.raises(RuntimeError, match="still running"):
            handles[-1].result()  # the last one cannot have been collected yet: 2 workers, 5 tasks
    results = [h.result() for h in handles]
    assert [r[1] for r in results] == [0, 2, 4, 6, 8]
    assert all(pid != os.getpid() for pid, _ in results)
    assert len({pid for pid, _ in results}) == 5  # one child per task


def test_one_worker_runs_inline():
    with forked.forked(workers=1):
        handle = forked.run(_pid_and, 1, label="inline")
        assert handle.result() == (os.getpid(), 2)


def test_a_failing_child_fails_the_block_naming_its_task_after_the_others_finished():
    # not an ElectioError: a defect stops the refresh as it would inline, it is not a stage to skip
    with pytest.raises(forked.ChildFailed, match=r"(?s)task 3: failed in a child process.*ValueError: bad value 3") as err:
        with forked.forked(workers=2):
            handles = [forked.run(_pid_and if i != 3 else _fail, i, label=f"task {i}") for i in range(6)]
    assert "1 of the parallel tasks failed" in str(err.value)
    assert handles[5].result()[1] == 10  # the others were waited for


def test_a_failure_in_the_parent_stops_the_children_at_once():
    start = time.perf_counter()
    with pytest.raises(KeyError):
        with forked.forked(workers=2):
            handles = [forked.run(_sleep, 60, label=f"sleeper {i}") for i in range(2)]
            pids = [h.pid for h in handles]
            raise KeyError("the parent failed")
    assert time.perf_counter() - start < 10
    for pid in pids:  # killed and reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _figure(path):
    fig = eda_figures._new(4, 3, "Source : essai")
    ax = fig.subplots()
    ax.plot([1, 2, 3], [3, 1, 2], label="courbe")
    ax.set_title("Titre accentué : été")
    ax.legend()
    eda_figures._footer(fig, "Source : essai")
    return eda_figures._save(fig, path)


def test_a_figure_drawn_in_a_child_is_byte_identical(tmp_path):
    inline = _figure(tmp_path / "inline.png")
    with forked.forked(workers=2):
        child = _figure(tmp_path / "child.png")
        other = _figure(tmp_path / "other.png")
    assert inline.read_bytes() == child.read_bytes() == other.read_bytes()
    assert inline.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _exit_without_result():
    os._exit(3)


def _unpicklable():
    return lambda: None


def test_a_child_that_dies_or_returns_what_cannot_be_sent_fails_the_block():
    with pytest.raises(forked.ChildFailed, match="status 768 and no result"):
        with forked.forked(workers=2):
            forked.run(_exit_without_result, label="dies")
    with pytest.raises(forked.ChildFailed, match="(?s)returns a lambda.*(pickle|Pickl)"):
        with forked.forked(workers=2):
            forked.run(_unpicklable, label="returns a lambda")
    assert not issubclass(forked.ChildFailed, ElectioError)


def test_no_child_is_left_behind_and_a_hung_child_is_killed(monkeypatch):
    with forked.forked(workers=2):
        handles = [forked.run(_pid_and, i, label=f"task {i}") for i in range(3)]
    for h in handles:  # every child reaped
        with pytest.raises(ProcessLookupError):
            os.kill(h.result()[0], 0)
    monkeypatch.setattr(forked, "CHILD_TIMEOUT", 1.0)
    start = time.perf_counter()
    with pytest.raises(forked.ChildFailed, match="no result after 1 s: the child was killed"):
        with forked.forked(workers=2):
            forked.run(_sleep, 60, label="hangs")
    assert time.perf_counter() - start < 10


def test_nested_blocks_run_in_the_outer_one():
    with forked.forked(workers=2):
        with forked.forked(workers=2):
            inner = forked.run(_pid_and, 1, label="inner")
        outer = forked.run(_pid_and, 2, label="outer")
    assert inner.result()[0] != os.getpid() and outer.result()[0] != os.getpid()


def _save_in_child(fig, path):
    (path.parent / f"{path.name}.pid").write_text(str(os.getpid()))
    return _real_print_png(fig, path)


_real_print_png = eda_figures._print_png


def test_inside_the_writers_block_a_figure_is_drawn_by_a_child(tmp_path, monkeypatch):
    monkeypatch.setattr(eda_figures, "_print_png", _save_in_child)
    _figure(tmp_path / "inline.png")
    with forked.forked(workers=2):
        _figure(tmp_path / "child.png")
    assert int((tmp_path / "inline.png.pid").read_text()) == os.getpid()
    assert int((tmp_path / "child.png.pid").read_text()) != os.getpid()


def test_report_versions_of_figures_are_the_same_forked_inline_and_cached(tmp_path):
    from electio.report import figures as report_figures

    paths = [_figure(tmp_path / f"f{i}.png") for i in range(3)]
    items = [(p, 300) for p in paths]
    inline = [report_figures._embedded_png(p, px) for p, px in items]
    assert report_figures.embedded_pngs(items) == inline  # outside a cached refresh: every one in a child
    token = cache._ACTIVE.set(StageCache(tmp_path / "data"))  # as inside a cached refresh
    try:
        assert not memo_value_known("embedded_png", ("x", 1))
        assert memo_value("embedded_png", ("x", 1), lambda: b"stored") == b"stored"
        assert memo_value_known("embedded_png", ("x", 1))
        report_figures.embedded_pngs(items[:1])  # one cached, then the three: two computed, one reused
        assert memo_value_known("embedded_png", (cache.file_digest(paths[0]), 300))
        assert report_figures.embedded_pngs(items) == inline
    finally:
        cache._ACTIVE.reset(token)
