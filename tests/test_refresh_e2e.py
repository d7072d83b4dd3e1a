"""End-to-end: the real mirror -> warehouse -> exports, on the default perimeter and another one."""

from __future__ import annotations

import hashlib
import sqlite3

import pandas as pd
import pytest

from electio.errors import ChecksumMismatch, InputFormatError
from electio.refresh import main, run_refresh
from electio.settings import Settings
from electio.warehouse.read import count_rows, read_tables
from electio.warehouse.schema import CONTEXT, table_columns
from tests.conftest import copy_warehouse

ELECTIONS_69 = {"pres_2012_t1", "pres_2012_t2", "euro_2014_t1", "pres_2017_t1", "pres_2017_t2", "leg_2017_t1",
                "leg_2017_t2", "euro_2019_t1", "pres_2022_t1", "pres_2022_t2", "leg_2022_t1", "euro_2024_t1",
                "leg_2024_t1"}


def make_settings(root, mirror, **kw) -> Settings:
    return Settings(mirror=mirror, cache_dir=root / "raw", data_dir=root / "data", exports_dir=root / "exports",
                    reports_dir=root / "reports", allow_download=False, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_warehouse):
    # The session's refresh of the default perimeter, copied: these tests refresh it again. Its tables
    # but the context rows (85 % of a full read's ~5 s; the read-only shared warehouse keeps them).
    settings = copy_warehouse(shared_warehouse.settings, tmp_path_factory.mktemp("refresh"), exports=True, cache=True)
    return settings, shared_warehouse.summary, read_tables(settings.db_url, without=CONTEXT)


def q(settings: Settings, sql: str) -> pd.DataFrame:
    path = settings.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return pd.read_sql(sql, conn)


def test_every_election_on_the_same_266_communes(built):
    settings, summary, t = built
    assert set(t["dim_election"]["election_id"]) == ELECTIONS_69
    assert len(t["dim_commune"]) == 266
    per_election = t["fact_turnout"].groupby("election_id")["commune_code"].nunique()
    assert (per_election == 266).all()
    assert not t["fact_turnout"]["commune_code"].str.startswith("6938").any()  # Lyon rolled up
    assert t["dim_commune"]["territory"].value_counts().to_dict() == {"rhone": 208, "metropole_lyon": 58}


def test_published_rhone_figures_pres_2017(built):
    settings, _, _ = built
    reg = q(settings, "select sum(registered) r from fact_turnout where election_id='pres_2017_t1'")["r"][0]
    macron = q(settings, "select sum(votes) v from fact_label_result where election_id='pres_2017_t1' "
                         "and label='MACRON'")["v"][0]
    assert (reg, macron) == (1_155_604, 236_137)


def test_bloc_shares_and_votes_are_consistent(built):
    _, _, t = built
    res, turnout = t["fact_election_result"], t["fact_turnout"]
    votes = res.groupby(["election_id", "commune_code"])["votes"].sum()
    expressed = turnout.set_index(["election_id", "commune_code"])["expressed"]
    assert (votes == expressed.reindex(votes.index)).all()
    shares = res.groupby(["election_id", "commune_code"])["share_expressed"].sum()
    assert ((shares - 100).abs() < 0.01).all()
    assert (turnout["voters"] == turnout["blank_and_null"] + turnout["expressed"]).all()


def test_no_failed_check_and_lineage_counts_rejections(built):
    settings, summary, t = built
    checks = t["meta_quality_check"]
    assert not (checks["status"] == "fail").any(), checks[checks["status"] == "fail"]["detail"].tolist()
    assert {"pass", "warn", "n/a"} <= set(checks["status"])
    src = t["meta_source"]
    assert src["rows_rejected"].sum() == len(t["meta_rejected_row"]) > 0
    assert set(src["resolved_from"]) == {"mirror"}
    assert src["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_exports_match_the_warehouse(built, shared_warehouse):
    settings, summary, t = built
    for name in table_columns():
        csv = pd.read_csv(settings.exports_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        # The exports are the last stage: their snapshot of meta_stage_run lacks their own row.
        rows = len(t[name]) if name in t else count_rows(shared_warehouse.settings.db_url, name)  # read-only
        assert len(csv) == rows - (name == "meta_stage_run"), name
    assert (settings.exports_dir / "electio.xlsx").stat().st_size > 0
    assert "## fact_turnout" in (settings.exports_dir / "data_dictionary.md").read_text(encoding="utf-8")
    flat = pd.read_csv(settings.exports_dir / "v_resultats_communes.csv", dtype={"commune_code": str})
    assert len(flat) == len(t["fact_election_result"])
    lyon = flat[(flat["commune_code"] == "69123") & (flat["election_id"] == "pres_2022_t1")]
    assert lyon["share_expressed"].sum() == pytest.approx(100, abs=0.01)
    assert set(lyon["bloc_label"]) == {"Extrême gauche", "Gauche", "Centre", "Droite", "Extrême droite", "Divers"}


@pytest.mark.long
def test_refresh_twice_gives_identical_tables(built, mirror, shared_warehouse):
    settings, _, first = built
    first = {**first, **read_tables(shared_warehouse.settings.db_url, CONTEXT)}
    run_refresh(settings, export=False)
    second = read_tables(settings.db_url)
    for name in table_columns():
        if name == "meta_refresh":
            continue
        if name == "meta_stage_run":  # the latest run's stages (this one without exports): same analysis
            pd.testing.assert_frame_equal(first[name].iloc[:1, 1:5], second[name].iloc[:1, 1:5], obj=name)
            assert list(first[name]["stage"]) == list(second[name]["stage"])
            continue
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)
    assert len(second["meta_refresh"]) == 2  # history carried over


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_failure_during_load_leaves_previous_warehouse(built, monkeypatch):
    settings, _, _ = built
    db = settings.data_dir / "electio.sqlite"
    before = _digest(db)
    import electio.warehouse.load as load

    real = load._records

    def explode(frame):
        if "bloc_code" in frame.columns and "votes" in frame.columns:
            raise RuntimeError("injected crash in the middle of the load")
        return real(frame)

    monkeypatch.setattr(load, "_records", explode)
    with pytest.raises(RuntimeError, match="injected"):
        run_refresh(settings, export=False, cache=True)  # tables and correlations from the stage cache
    assert _digest(db) == before
    assert [p.name for p in db.parent.iterdir() if ".tmp-" in p.name] == []


def test_corrupt_or_bad_source_leaves_previous_warehouse(built, tmp_path, mirror):
    settings, _, _ = built
    db = settings.data_dir / "electio.sqlite"
    before = _digest(db)
    # A local cache copy with the wrong bytes is refused by its checksum...
    bad = settings.cache_dir / "elections_agregees_69" / "rhone_2024_legi_t1.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("id_election;code_commune\n", encoding="utf-8")
    try:
        with pytest.raises(ChecksumMismatch, match="rhone_2024_legi_t1.csv"):
            run_refresh(settings, export=False)
    finally:
        bad.unlink()
    assert _digest(db) == before


def test_parse_error_stops_the_refresh_cleanly(built, monkeypatch):
    monkeypatch.setenv("ELECTIO_DATA", str(built[0].data_dir))  # its log file goes there
    settings, _, _ = built
    db = settings.data_dir / "electio.sqlite"
    before = _digest(db)
    import electio.sources.elections.ministere as ministere

    def broken(path, **kw):
        raise InputFormatError(path, "expected a non-negative whole number, got 'x'", line=7, column="Voix_3")

    monkeypatch.setattr(ministere, "parse_wide", broken)
    import electio.sources.elections.euro2024 as euro2024

    archive_parsed = []
    monkeypatch.setattr(euro2024, "parse_france_archive", lambda *a, **kw: archive_parsed.append(a))
    # --force: the sources and their code are unchanged on disk, so the stage cache would reuse the build
    assert main(["--mirror", str(settings.mirror), "--db", settings.db_url, "--offline", "--no-export", "--no-figures",
                 "--force"]) == 1
    assert _digest(db) == before
    # the Rhône's elections come before the France-wide archive is needed: the bad file fails first
    assert archive_parsed == []


@pytest.mark.long
def test_second_departement_loads_national_sources_and_reports_gaps(tmp_path, mirror):
    settings = make_settings(tmp_path, mirror, departement="01")
    summary = run_refresh(settings, export=False, options={"n_boot": 50})  # correlations are not checked here
    t = read_tables(settings.db_url, ["dim_election", "dim_commune", "meta_quality_check"])
    assert set(t["dim_election"]["election_id"]) == {"euro_2014_t1", "pres_2017_t1", "pres_2017_t2",
                                                      "leg_2017_t1", "leg_2017_t2", "euro_2019_t1",
                                                      "euro_2024_t1"}  # France-wide 2024 commune file
    assert set(summary["elections_missing"]) == ELECTIONS_69 - set(t["dim_election"]["election_id"])
    assert (t["dim_commune"]["departement_code"] == "01").all() and len(t["dim_commune"]) > 350
    checks = t["meta_quality_check"]
    assert set(checks.loc[checks["status"] == "missing", "election_id"]) == set(summary["elections_missing"])
    coverage = checks[checks["check_name"] == "commune_coverage"]
    assert (coverage["status"] == "pass").all(), coverage["detail"].tolist()
    assert not (checks["status"] == "fail").any(), checks[checks["status"] == "fail"]["detail"].tolist()


def _mirror_with(tmp_path, mirror, source_id: str, file_name: str, content: bytes):
    """A mirror identical to the real one except one file, plus a catalog that trusts it."""
    import dataclasses

    from electio.sources.catalog import load_catalog

    fake = tmp_path / "mirror"
    fake.mkdir()
    for child in mirror.iterdir():
        if child.name != source_id:
            (fake / child.name).symlink_to(child)
    (fake / source_id).mkdir()
    for f in (mirror / source_id).iterdir():
        (fake / source_id / f.name).symlink_to(f)
    target = fake / source_id / file_name
    target.unlink()
    target.write_bytes(content)
    catalog = load_catalog()
    source = catalog[source_id]
    files = tuple(dataclasses.replace(f, sha256=hashlib.sha256(content).hexdigest(), bytes=len(content))
                  if f.name == file_name else f for f in source.files)
    catalog[source_id] = dataclasses.replace(source, files=files)
    return fake, catalog


def _corrupt(text: str, case: str) -> bytes:
    if case == "non_numeric_count":
        lines = text.split("\n")
        cells = lines[3].split(";")
        cells[5] = "12x"  # Inscrits
        lines[3] = ";".join(cells)
        return "\n".join(lines).encode()
    if case == "wrong_delimiter":
        return text.replace(";", "\t").encode()
    if case == "missing_column":
        return text.replace("Exprimés;", "Exprimes;", 1).encode()
    raise ValueError(case)


@pytest.mark.parametrize("case,message", [
    ("non_numeric_count", r"2022-pres-t2-commune-rhone-69-bronze.csv, line 4, column 'Inscrits': expected a "
                          r"non-negative whole number, got '12x'"),
    ("wrong_delimiter", r"2022-pres-t2-commune-rhone-69-bronze.csv, line 1: expected ';'-separated"),
    ("missing_column", r"2022-pres-t2-commune-rhone-69-bronze.csv, line 1, column 'Exprimés': missing"),
    ("truncated_gzip", r"2017-legislatives-2_par_commune_large.csv.gz: truncated or corrupt gzip"),
])
def test_bad_input_file_fails_clearly_and_keeps_the_warehouse(built, tmp_path, mirror, monkeypatch, case,
                                                              message):
    settings, _, _ = built
    db = settings.data_dir / "electio.sqlite"
    before = _digest(db)
    if case == "truncated_gzip":
        sid, name = "aktiur_resultats_electoraux", "2017-legislatives-2_par_commune_large.csv.gz"
        data = (mirror / sid / name).read_bytes()
        content = data[: len(data) // 3]
    else:
        sid, name = "pres2022_rhone_ministere", "2022-pres-t2-commune-rhone-69-bronze.csv"
        content = _corrupt((mirror / sid / name).read_text(encoding="utf-8"), case)
    fake, catalog = _mirror_with(tmp_path, mirror, sid, name, content)
    import electio.sources.resolve as resolve

    monkeypatch.setattr(resolve, "load_catalog", lambda: catalog)
    bad_settings = Settings(mirror=fake, cache_dir=settings.cache_dir, data_dir=settings.data_dir,
                            exports_dir=settings.exports_dir, allow_download=False)
    with pytest.raises(InputFormatError, match=message):
        run_refresh(bad_settings, export=False)
    assert _digest(db) == before
