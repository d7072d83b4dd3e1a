"""Scenario figures on the synthetic warehouse (maps need boundaries: covered by the mirror test)."""

from __future__ import annotations

import pytest

from electio.forecast.figures import slug, write_forecast_figures
from electio.forecast.run import run_scenarios
from electio.model.train import train_final
from electio.settings import Settings

from .test_simulate import scenarios, synthetic_tables


@pytest.fixture(scope="module")
def tables():
    t = synthetic_tables()
    result = run_scenarios(t, train_final(t, "ridge"), scenarios(), seed=3, n_swing=60, n_rep=2)
    return {**t, **result.tables()}


def test_figures_are_written_and_stale_ones_removed(tables, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", cache_dir=tmp_path / "raw")
    out = tmp_path / "figures"
    out.mkdir()
    (out / "map_pres_2022_t1_turnout.png").write_bytes(b"another step's figure")
    files = write_forecast_figures(tables, settings, communes=["69001", "69002"], shapes={}, out_dir=out)
    names = {f.name for f in files}
    assert {"forecast_curves_departement.png", "forecast_curves_69001_69001.png", "forecast_curves_69002_69002.png",
            "forecast_heatmap_communes_pres_2027_trend.png", "forecast_probability_first.png"} <= names
    assert any(n.startswith("forecast_heatmap_horizons_") for n in names)
    assert all((out / n).stat().st_size > 10_000 for n in names)
    again = write_forecast_figures(tables, settings, communes=["69001"], shapes={}, out_dir=out)
    assert not (out / "forecast_curves_69002_69002.png").exists()  # no longer selected: removed
    assert (out / "map_pres_2022_t1_turnout.png").exists()          # not ours: kept
    assert len(again) == len(files) - 1


def test_slug_folds_accents():
    assert slug("Villefranche-sur-Saône") == "villefranche_sur_saone"
    assert slug("Grézieu-le-Marché") == "grezieu_le_marche"


def test_every_scenario_figure_is_legible_at_the_size_the_report_prints_it(tables, tmp_path, monkeypatch):
    """Text of each figure, once fitted to its place in the printed A4 report, stays >= MIN_PRINTED_PT."""
    import electio.forecast.figures as ff
    from electio.report.figures import MIN_PRINTED_PT, describe, print_place, printed_font_pt

    targets = set(tables["dim_bloc"]["bloc_code"]) | {"turnout"}
    scen = set(tables["dim_scenario"]["scenario_id"])
    printed, save = {}, ff._save

    def measured_save(fig, path):
        fig.canvas.draw()  # fills the tick labels
        place = describe(path, {}, set(), targets, scen).size
        printed[path.name] = (print_place(place, fig.get_figwidth()), round(printed_font_pt(fig, place), 1))
        return save(fig, path)

    monkeypatch.setattr(ff, "_save", measured_save)
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", cache_dir=tmp_path / "raw")
    write_forecast_figures(tables, settings, communes=["69001"], shapes={}, out_dir=tmp_path / "figures")
    assert {"forecast_curves_departement.png", "forecast_probability_first.png"} <= set(printed)
    assert printed["forecast_curves_departement.png"][0] == "wide"  # a landscape page of its own
    assert {name: v for name, v in printed.items() if v[1] < MIN_PRINTED_PT} == {}


def test_small_segments_spelled_out_beside_the_bars_do_not_overlap(tables, tmp_path, monkeypatch):
    """Two blocs under 4.5 % in every bar: their "dont ..." lines, written right of the bars, must not
    run into those of the next bar (they did with one line for "dont" and one per bloc)."""
    import electio.forecast.figures as ff
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    t = dict(tables)
    dep = t["fact_forecast_departement"].copy()
    blocs = list(t["dim_bloc"]["bloc_code"])  # three: the first leads, the two others are small
    probs = dict(zip(blocs, [0.94, 0.03, 0.03]))
    dep["probability_first"] = dep["target"].map(probs).where(dep["target"].isin(probs), dep["probability_first"])
    t["fact_forecast_departement"] = dep
    boxes, save = {}, ff._save

    def measured_save(fig, path):
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        boxes[path.name] = [(x.get_text(), x.get_window_extent(renderer)) for ax in fig.axes for x in ax.texts
                            if x.get_text().startswith("dont")]
        return save(fig, path)

    monkeypatch.setattr(ff, "_save", measured_save)
    ff.probability_bars(t, ff._type_of(t, None), tmp_path)
    spelled = boxes["forecast_probability_first.png"]
    assert len(spelled) >= 2 and all(text.count("%") == 2 for text, _ in spelled)
    assert [(a, b) for i, (a, box_a) in enumerate(spelled) for b, box_b in spelled[i + 1:]
            if box_a.overlaps(box_b)] == []
