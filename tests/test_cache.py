"""Incremental refresh (electio.cache): an unchanged stage is reused, its outputs identical."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from electio.cache import CACHE_DIR, Entry, StageCache, frame_digest, run_stage_cached
from electio.refresh import run_refresh
from electio.settings import Settings
from electio.stages import Context, Output, Stage, run_stage
from electio.warehouse.read import read_tables
from electio.warehouse.schema import JOURNAL as JOURNAL_TABLES

from tests.conftest import copy_warehouse

JOURNAL = set(JOURNAL_TABLES)  # this run's own record: differs by design


def test_frame_digest_sees_values_dtypes_and_columns():
    a = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", None]})
    assert frame_digest(a) == frame_digest(a.copy())
    assert frame_digest(a) != frame_digest(a.assign(x=[1, 2, 4]))
    assert frame_digest(a) != frame_digest(a.astype({"x": float}))
    assert frame_digest(a) != frame_digest(a.rename(columns={"y": "z"}))
    assert frame_digest(a) != frame_digest(a.iloc[::-1])
    assert frame_digest(pd.DataFrame({"x": [[1], [2]]})) != frame_digest(pd.DataFrame({"x": [[1], [3]]}))


def _toy_stage(calls: list) -> Stage:
    def run(ctx: Context) -> Output:
        calls.append(1)
        out = ctx.tables["src"].assign(double=lambda f: f["v"] * 2)
        path = Path(ctx.settings.reports_dir) / "figures" / "toy.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"sum {out['double'].sum()}\n")
        ctx.state["toy"] = {"n": len(out)}
        return Output({"toy_out": out}, [path], note="toy done")

    return Stage("toy", "test", ("src",), ("toy_out",), ("reports/figures/toy.txt",), run)


def _ctx(tmp_path: Path, run: int, values, options=None) -> Context:
    settings = Settings(data_dir=tmp_path / "data", exports_dir=tmp_path / f"run{run}" / "exports",
                        reports_dir=tmp_path / f"run{run}" / "reports", powerbi_dir=tmp_path / f"run{run}" / "powerbi")
    return Context(settings, {"src": pd.DataFrame({"v": values})}, options or {})


def test_unchanged_stage_is_reused_with_identical_outputs_and_rerun_when_an_input_changes(tmp_path):
    calls: list = []
    stage = _toy_stage(calls)

    def go(run, values, force=False, options=None):
        ctx = _ctx(tmp_path, run, values, options)
        store = StageCache(tmp_path / "data", force=force)
        result = run_stage_cached(stage, ctx, {}, store, run_stage)
        return ctx, result

    cold, r1 = go(1, [1, 2, 3])
    warm, r2 = go(2, [1, 2, 3])
    assert len(calls) == 1 and not r1.reused and r2.reused and r2.status == "done" and r2.reason == "toy done"
    pd.testing.assert_frame_equal(warm.tables["toy_out"], cold.tables["toy_out"])
    assert warm.state["toy"] == {"n": 3}
    assert r2.files == [tmp_path / "run2" / "reports" / "figures" / "toy.txt"]
    assert r2.files[0].read_bytes() == r1.files[0].read_bytes()

    changed, r3 = go(3, [1, 2, 4])                     # one value of the input table
    assert len(calls) == 2 and not r3.reused
    assert changed.tables["toy_out"]["double"].tolist() == [2, 4, 8]
    _, r4 = go(4, [1, 2, 3], options={"seed": 1})      # an option
    _, r5 = go(5, [1, 2, 3], force=True)               # --force
    assert len(calls) == 4 and not r4.reused and not r5.reused


def test_a_changed_undeclared_input_is_seen(tmp_path):
    """A stage that reads a table it does not declare (here 'geo') is recomputed when it changes."""
    calls: list = []

    def run(ctx: Context) -> Output:
        calls.append(1)
        return Output({"toy_out": ctx.tables["src"].assign(g=len(ctx.tables.get("geo", ())))})

    stage = Stage("toy", "test", ("src",), ("toy_out",), (), run)
    for i, geo in enumerate([[1], [1], [1, 2]]):
        ctx = _ctx(tmp_path, i, [1, 2])
        ctx.tables["geo"] = pd.DataFrame({"g": geo})
        result = run_stage_cached(stage, ctx, {}, StageCache(tmp_path / "data"), run_stage)
        assert result.reused == (i == 1)
        assert ctx.tables["toy_out"]["g"].tolist() == [len(geo)] * 2
    assert len(calls) == 2


def test_a_stage_reading_every_table_ignores_the_journal_but_not_a_lost_refresh(tmp_path):
    """reads=() (the report): keyed on every table but this run's journal, so a new refresh row
    alone reuses it; an entry naming a refresh this warehouse's journal lacks is recomputed."""
    calls: list = []

    def run(ctx: Context) -> Output:
        calls.append(1)
        last = ctx.tables["meta_refresh"].sort_values("finished_at")["refresh_id"].iloc[-1]
        return Output(note=f"{len(ctx.tables['src'])} rows, computed by {last}")

    stage = Stage("every", "test", (), (), (), run)

    def go(i, refreshes, values=(1, 2)):
        ctx = _ctx(tmp_path, i, list(values))
        ctx.tables["meta_refresh"] = pd.DataFrame({"refresh_id": refreshes,
                                                   "finished_at": pd.date_range("2026-01-01", periods=len(refreshes))})
        ctx.tables["meta_stage_run"] = pd.DataFrame({"refresh_id": refreshes[-1:], "stage_seq": [i]})
        return run_stage_cached(stage, ctx, {}, StageCache(tmp_path / "data"), run_stage)

    assert not go(0, ["r1"]).reused
    warm = go(1, ["r1", "r2"])                        # one more refresh, same data
    assert warm.reused and warm.reason == "2 rows, computed by r1"
    assert not go(2, ["r1", "r2"], values=(1, 3)).reused   # a data table changed
    assert not go(3, ["r9"], values=(1, 3)).reused          # r2 is not in this journal (another warehouse)
    assert len(calls) == 3


def test_damaged_entry_is_recomputed(tmp_path):
    calls: list = []
    stage = _toy_stage(calls)
    run_stage_cached(stage, _ctx(tmp_path, 1, [1]), {}, StageCache(tmp_path / "data"), run_stage)
    for entry in (tmp_path / "data" / ".stage-cache" / "toy").glob("*/entry.pkl"):
        entry.write_bytes(b"not a pickle")
    result = run_stage_cached(stage, _ctx(tmp_path, 2, [1]), {}, StageCache(tmp_path / "data"), run_stage)
    assert not result.reused and len(calls) == 2


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _outputs(settings: Settings) -> dict[str, bytes]:
    """Report files by name, extracts as exports/<name>."""
    return {**_files(settings.reports_dir), **{f"exports/{k}": v for k, v in _files(settings.exports_dir).items()}}


@pytest.mark.long
def test_warm_refresh_reuses_sources_and_stages_with_identical_tables_and_files(tmp_path, shared_warehouse):
    """The session's warehouse comes from a cold cached refresh; refreshed again with nothing
    changed (a copy with its stage cache), the table build and the correlations are reused and
    every table and extract is identical; a third run also reuses the report the second wrote,
    with identical files (--force: unit tests above; the full default command, models and figures
    included: bench/bench_incremental.py)."""
    cold = shared_warehouse
    assert not cold.summary["sources_reused"] and cold.summary["stages_reused"] == []
    assert "correlations" in cold.summary["stages_ran"]
    settings = copy_warehouse(cold.settings, tmp_path, cache=True)
    cold_tables, cold_files = read_tables(cold.settings.db_url), _outputs(cold.settings)
    warm = run_refresh(settings, report=True, cache=True)
    assert warm["sources_reused"] and warm["stages_reused"] == ["correlations"] and "report" in warm["stages_ran"]
    warm_tables = read_tables(settings.db_url)
    assert set(warm_tables) == set(cold_tables)
    for name in sorted(set(cold_tables) - JOURNAL):
        pd.testing.assert_frame_equal(warm_tables[name], cold_tables[name], obj=name)
    warm_files = _outputs(settings)
    assert "rapport.html" in set(warm_files) - set(cold_files)
    assert {"eda_answer.json", "exports/electio.xlsx", "exports/electio_previsions.xlsx",
            "exports/v_resultats_communes.csv"} <= set(cold_files)
    # the run's manifest names the run; the journal's extracts are rewritten on every run
    journal = {"RUN.json"} | {f"exports/{d}{t}.csv" for t in JOURNAL for d in ("", "excel-fr/")}
    for name in sorted(set(cold_files) - journal):
        assert warm_files[name] == cold_files[name], name
    assert len(pd.read_csv(settings.exports_dir / "meta_refresh.csv")) == 2  # this run's journal, not a copy
    stage_rows = warm_tables["meta_stage_run"].set_index("stage")
    assert stage_rows.loc["correlations", "status"] == "done"
    assert stage_rows.loc["correlations", "reason"].startswith("reused")
    again = run_refresh(settings, report=True, cache=True)
    assert again["sources_reused"] and again["stages_reused"] == ["correlations", "report"]
    again_files = _outputs(settings)
    assert set(again_files) == set(warm_files)
    for name in sorted(set(warm_files) - journal):
        assert again_files[name] == warm_files[name], name


@pytest.mark.parametrize("flag", ["--force"])
def test_refresh_command_offers_force(flag, capsys):
    from electio.refresh import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert flag in capsys.readouterr().out


def test_parts_of_a_stage_are_reused_separately(tmp_path):
    """The figures stage's parts: a change in one part's tables redraws that part only."""
    from electio.cache import cached_part

    calls = {"a": 0, "b": 0}

    def draw(part, ctx):
        def fn(t):
            calls[part] += 1
            path = Path(ctx.settings.reports_dir) / "figures" / f"{part}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(t[part]["v"].sum()))
            return [path]
        return fn

    def run(ctx: Context) -> Output:
        files = cached_part(ctx, "a", ("a",), draw("a", ctx)) + cached_part(ctx, "b", ("b",), draw("b", ctx))
        return Output(files=files)

    stage = Stage("toyfig", "test", ("a", "b"), (), ("reports/figures/*",), run)
    for i, b in enumerate([[1], [1], [2]]):
        ctx = _ctx(tmp_path, i, [0])
        ctx.tables.update(a=pd.DataFrame({"v": [5]}), b=pd.DataFrame({"v": b}))
        result = run_stage_cached(stage, ctx, {}, StageCache(tmp_path / "data"), run_stage)
        assert result.reused == (i == 1)
        assert sorted(f.name for f in result.files) == ["a.txt", "b.txt"]
        assert (ctx.settings.reports_dir / "figures" / "b.txt").read_text() == str(sum(b))
    assert calls == {"a": 1, "b": 2}


def test_memoised_items_are_reused_one_by_one(tmp_path, monkeypatch):
    """The forecast's scenarios: adding one computes that one only; the others are reused."""
    import electio.cache as cache

    calls: list = []
    items: list = []  # like the scenario files: an input outside the tables and options
    monkeypatch.setattr(cache, "MEMO_STAGES", ("toy",))

    def run(ctx: Context) -> Output:
        rows = [cache.memo("item", (i,), lambda i=i: calls.append(i) or {"i": i, "sq": i * i}) for i in items]
        return Output({"toy_out": pd.DataFrame(rows)})

    stage = Stage("toy", "test", ("src",), ("toy_out",), (), run, extra_inputs=lambda ctx: {"items": list(items)})
    outs = []
    for n, now in enumerate([[1, 2], [1, 2, 3]]):
        items[:] = now
        ctx = _ctx(tmp_path, n, [n])  # the stage itself reruns (its input changed)...
        run_stage_cached(stage, ctx, {}, StageCache(tmp_path / "data"), run_stage)
        outs.append(ctx.tables["toy_out"])
    assert calls == [1, 2, 1, 2, 3] and outs[1]["sq"].tolist() == [1, 4, 9]
    items[:] = [1, 2, 3, 4]
    ctx = _ctx(tmp_path, 8, [1])  # ...and with the inputs of run 1 again, only item 4 is computed
    run_stage_cached(stage, ctx, {}, StageCache(tmp_path / "data"), run_stage)
    assert calls == [1, 2, 1, 2, 3, 4]
    ctx = _ctx(tmp_path, 9, [2], options={"seed": 1})  # other options: recomputed
    run_stage_cached(stage, ctx, {}, StageCache(tmp_path / "data"), run_stage)
    assert calls == [1, 2, 1, 2, 3, 4, 1, 2, 3, 4]


def test_entries_saved_from_two_threads_at_once_are_kept_and_pruned(tmp_path):
    """The forecast memoises its scenarios from two threads: concurrent saves of one label must
    neither fail (an entry renamed or pruned while listed) nor keep more than asked."""
    from concurrent.futures import ThreadPoolExecutor

    store = StageCache(tmp_path / "data")

    def save(i: int) -> None:
        store.save("memo-toy", f"k{i:03d}", Entry(extra={"value": i}), {}, keep=5)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(save, range(120)))
    kept = [p.name for p in (tmp_path / "data" / CACHE_DIR / "memo-toy").iterdir()]
    assert 1 <= len(kept) <= 6 and not [k for k in kept if k.startswith(".")]
    assert store.load("memo-toy", "k119").extra["value"] == 119
