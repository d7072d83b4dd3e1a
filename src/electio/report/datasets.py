"""The figures of the report, computed from the warehouse tables.

Each function takes the tables as :func:`electio.export.read_tables` returns them and
gives a :class:`Traced` table: a DataFrame plus, for each value column, how a cell is
recomputed from the warehouse (a SQL query whose named parameters are the row's key
columns, or a recipe). The report prints the cells through the registry; notebooks
use ``.frame`` directly. Values are computed with pandas here; the SQL is the
independent definition the tests check them against, and what the report's
traceability annex shows.

A function returns an empty frame when the tables it needs are missing or empty:
callers then say so in plain French rather than printing placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from electio.eda.answer import answer_question
from electio.report.labels import is_percent_metric, metric_rank
from electio.report.national import pearson


@dataclass(frozen=True)
class Col:
    """How one column is printed and recomputed."""
    source: str
    sql: str | None = None
    recipe: dict | None = None
    kind: str = "number"  # number, text
    digits: int = 0
    scale: float = 1.0
    derive: str | None = None


@dataclass
class Traced:
    frame: pd.DataFrame
    keys: list[str]
    cols: dict[str, Col] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.frame.empty

    def params(self, row) -> dict:
        return {k: _py(row[k]) for k in self.keys}


@dataclass(frozen=True)
class Value:
    """One traced scalar."""
    value: object
    col: Col
    params: dict = field(default_factory=dict)


def _py(value):
    """Plain Python value for SQL parameters and JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _t(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    frame = tables.get(name)
    return frame if frame is not None else pd.DataFrame()


def has(tables: dict[str, pd.DataFrame], *names: str) -> bool:
    """True when every named table exists and has rows."""
    return all(not _t(tables, n).empty for n in names)


# --------------------------------------------------------------------------- perimeter

def perimeter(tables: dict[str, pd.DataFrame]) -> dict[str, Value]:
    """Headline figures of the perimeter: communes, population, area, elections, indicators."""
    out: dict[str, Value] = {}
    com = _t(tables, "dim_commune")
    if com.empty:
        return out
    src = "dim_commune"
    out["departement"] = Value(com["departement_code"].min(), Col(src, "SELECT MIN(departement_code) FROM dim_commune",
                                                                    kind="text"))
    out["n_communes"] = Value(len(com), Col(src, "SELECT COUNT(*) FROM dim_commune"))
    out["population"] = Value(com["population"].sum(min_count=1), Col(src, "SELECT SUM(population) FROM dim_commune"))
    area = com["area_km2"].sum(min_count=1)
    if pd.notna(area) and area > 0:  # boundaries are optional (maps): without them, no area nor density
        out["area_km2"] = Value(area, Col(src, "SELECT SUM(area_km2) FROM dim_commune"))
        out["density"] = Value(com["population"].sum() / area,
                               Col(src, "SELECT SUM(population) / SUM(area_km2) FROM dim_commune"))
    out["n_epci"] = Value(com["epci_code"].nunique(), Col(src, "SELECT COUNT(DISTINCT epci_code) FROM dim_commune"))
    out["n_cantons"] = Value(com["canton_code"].nunique(),
                             Col(src, "SELECT COUNT(DISTINCT canton_code) FROM dim_commune"))
    out["cog_vintage"] = Value(com["cog_vintage"].max(), Col(src, "SELECT MAX(cog_vintage) FROM dim_commune",
                                                              kind="text"))
    largest = com.sort_values(["population", "commune_code"], ascending=[False, True]).iloc[0]
    out["largest_name"] = Value(largest["commune_name"], Col(src, "SELECT commune_name FROM dim_commune "
                                                                  "WHERE commune_code = :code", kind="text"),
                                {"code": largest["commune_code"]})
    out["largest_share"] = Value(100 * largest["population"] / com["population"].sum(),
                                 Col(src, "SELECT 100.0 * MAX(population) / SUM(population) FROM dim_commune",
                                     digits=1))
    el = _t(tables, "dim_election")
    if not el.empty:
        out["n_elections"] = Value(len(el), Col("dim_election", "SELECT COUNT(*) FROM dim_election"))
        out["first_year"] = Value(el["election_year"].min(), Col("dim_election",
                                                                 "SELECT MIN(election_year) FROM dim_election",
                                                                 kind="text"))
        out["last_year"] = Value(el["election_year"].max(), Col("dim_election",
                                                                "SELECT MAX(election_year) FROM dim_election",
                                                                kind="text"))
    turnout = _t(tables, "fact_turnout")
    if not turnout.empty and not el.empty:
        latest = el.sort_values("election_date").iloc[-1]["election_id"]
        out["latest_label"] = Value(el.set_index("election_id").at[latest, "label_fr"],
                                    Col("dim_election", "SELECT label_fr FROM dim_election "
                                                        "WHERE election_id = :election_id", kind="text"),
                                    {"election_id": latest})
        out["latest_registered"] = Value(turnout.loc[turnout["election_id"] == latest, "registered"].sum(),
                                         Col("fact_turnout", "SELECT SUM(registered) FROM fact_turnout "
                                                             "WHERE election_id = :election_id"),
                                         {"election_id": latest})
    ind = _t(tables, "dim_indicator")
    if not ind.empty:
        out["n_indicators"] = Value(len(ind), Col("dim_indicator", "SELECT COUNT(*) FROM dim_indicator"))
        out["n_families"] = Value(ind["family"].nunique(),
                                  Col("dim_indicator", "SELECT COUNT(DISTINCT family) FROM dim_indicator"))
    fi = _t(tables, "fact_indicator")
    if not fi.empty:
        out["n_indicator_values"] = Value(int(fi["value"].notna().sum()),
                                          Col("fact_indicator", "SELECT COUNT(value) FROM fact_indicator"))
    ms = _t(tables, "meta_source")
    if not ms.empty:
        out["n_sources"] = Value(ms["source_id"].nunique(),
                                 Col("meta_source", "SELECT COUNT(DISTINCT source_id) FROM meta_source"))
        files = ms.drop_duplicates(["source_id", "file_name"])
        out["n_files"] = Value(len(files), Col("meta_source", "SELECT COUNT(*) FROM (SELECT DISTINCT source_id, "
                                                              "file_name FROM meta_source) f"))
        out["mbytes"] = Value(files["file_bytes"].sum() / 1e6,
                              Col("meta_source", "SELECT SUM(file_bytes) / 1000000.0 FROM (SELECT DISTINCT "
                                                 "source_id, file_name, file_bytes FROM meta_source) f", digits=1))
    return out


def territories(tables: dict[str, pd.DataFrame]) -> Traced:
    com = _t(tables, "dim_commune")
    cols = {"communes": Col("dim_commune", "SELECT COUNT(*) FROM dim_commune WHERE territory = :territory"),
            "population": Col("dim_commune", "SELECT SUM(population) FROM dim_commune WHERE territory = :territory"),
            "area_km2": Col("dim_commune", "SELECT SUM(area_km2) FROM dim_commune WHERE territory = :territory")}
    if com.empty:
        return Traced(pd.DataFrame(columns=["territory", *cols]), ["territory"], cols)
    frame = com.groupby("territory").agg(communes=("commune_code", "size"),
                                         population=("population", lambda v: v.sum(min_count=1)),
                                         area_km2=("area_km2", lambda v: v.sum(min_count=1))).reset_index()
    return Traced(frame.sort_values("population", ascending=False).reset_index(drop=True), ["territory"], cols)


# --------------------------------------------------------------------------- coverage

def election_coverage(tables: dict[str, pd.DataFrame]) -> Traced:
    """One row per election: label, date, source, communes covered, registered, expressed, turnout."""
    cols = {
        "label_fr": Col("dim_election", "SELECT label_fr FROM dim_election WHERE election_id = :election_id",
                        kind="text"),
        "election_date": Col("dim_election", "SELECT election_date FROM dim_election "
                                             "WHERE election_id = :election_id", kind="text", derive="date_fr"),
        "source_id": Col("dim_election", "SELECT source_id FROM dim_election WHERE election_id = :election_id",
                         kind="text"),
        "communes": Col("fact_turnout", "SELECT COUNT(DISTINCT commune_code) FROM fact_turnout "
                                        "WHERE election_id = :election_id"),
        "registered": Col("fact_turnout", "SELECT SUM(registered) FROM fact_turnout WHERE election_id = :election_id"),
        "expressed": Col("fact_turnout", "SELECT SUM(expressed) FROM fact_turnout WHERE election_id = :election_id"),
        "turnout_pct": Col("fact_turnout", "SELECT 100.0 * SUM(voters) / SUM(registered) FROM fact_turnout "
                                           "WHERE election_id = :election_id", digits=1),
        "bureaux": Col("fact_turnout_bureau", "SELECT COUNT(*) FROM fact_turnout_bureau "
                                              "WHERE election_id = :election_id"),
    }
    if not has(tables, "dim_election", "fact_turnout"):
        return Traced(pd.DataFrame(columns=["election_id", *cols]), ["election_id"], cols)
    el = tables["dim_election"].sort_values(["election_date", "election_id"])
    t = tables["fact_turnout"].groupby("election_id").agg(
        communes=("commune_code", "nunique"), registered=("registered", "sum"), voters=("voters", "sum"),
        expressed=("expressed", "sum"))
    t["turnout_pct"] = 100 * t["voters"] / t["registered"]
    b = _t(tables, "fact_turnout_bureau")
    bureaux = b.groupby("election_id").size() if not b.empty else pd.Series(dtype=int)
    frame = el[["election_id", "label_fr", "election_date", "source_id"]].merge(t.reset_index(), on="election_id")
    frame["bureaux"] = frame["election_id"].map(bureaux).fillna(0).astype(int)
    return Traced(frame.reset_index(drop=True), ["election_id"], cols)


def bloc_shares(tables: dict[str, pd.DataFrame]) -> Traced:
    """Perimeter-level share of expressed votes per election and bloc (percent)."""
    cols = {"share": Col("fact_election_result, fact_turnout",
                         "SELECT 100.0 * SUM(votes) / (SELECT SUM(expressed) FROM fact_turnout "
                         "WHERE election_id = :election_id) FROM fact_election_result "
                         "WHERE election_id = :election_id AND bloc_code = :bloc_code", digits=1)}
    if not has(tables, "fact_election_result", "fact_turnout", "dim_election"):
        return Traced(pd.DataFrame(columns=["election_id", "bloc_code", "share"]), ["election_id", "bloc_code"], cols)
    votes = tables["fact_election_result"].groupby(["election_id", "bloc_code"])["votes"].sum().reset_index()
    expressed = tables["fact_turnout"].groupby("election_id")["expressed"].sum()
    votes["share"] = 100 * votes["votes"] / votes["election_id"].map(expressed)
    order = tables["dim_election"].sort_values("election_date")["election_id"].tolist()
    votes["_o"] = votes["election_id"].map({e: i for i, e in enumerate(order)})
    return Traced(votes.sort_values(["_o", "bloc_code"]).drop(columns="_o").reset_index(drop=True),
                  ["election_id", "bloc_code"], cols)


def indicator_coverage(tables: dict[str, pd.DataFrame]) -> Traced:
    """Source x year: indicators, communes with a value, suppressed values, publication date."""
    where = ("f.indicator_year = :indicator_year AND f.source_file IN "
             "(SELECT file_name FROM meta_source WHERE source_id = :source_id)")
    cols = {
        "indicators": Col("fact_indicator, meta_source",
                          f"SELECT COUNT(DISTINCT f.indicator_code) FROM fact_indicator f WHERE {where}"),
        "communes": Col("fact_indicator, meta_source", "SELECT COUNT(DISTINCT f.commune_code) FROM fact_indicator f "
                                                      f"WHERE f.value IS NOT NULL AND {where}"),
        "suppressed": Col("fact_indicator, meta_source",
                          f"SELECT COUNT(*) FROM fact_indicator f WHERE f.value IS NULL AND {where}"),
        "published_on": Col("fact_indicator, meta_source",
                            f"SELECT MAX(f.published_on) FROM fact_indicator f WHERE {where}", kind="text",
                            derive="date_fr"),
    }
    keys = ["source_id", "indicator_year"]
    if not has(tables, "fact_indicator", "meta_source"):
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    files = tables["meta_source"][["source_id", "file_name"]].drop_duplicates()
    fi = tables["fact_indicator"].merge(files, left_on="source_file", right_on="file_name")
    frame = fi.groupby(keys).agg(
        indicators=("indicator_code", "nunique"),
        communes=("commune_code", lambda s: s[fi.loc[s.index, "value"].notna()].nunique()),
        suppressed=("value", lambda s: int(s.isna().sum())),
        published_on=("published_on", "max")).reset_index()
    return Traced(frame.sort_values(keys).reset_index(drop=True), keys, cols)


def indicator_catalogue(tables: dict[str, pd.DataFrame]) -> Traced:
    """Every indicator with its family, unit, years observed and communes in its latest year."""
    cols = {
        "label_fr": Col("dim_indicator", "SELECT label_fr FROM dim_indicator WHERE indicator_code = :indicator_code",
                        kind="text"),
        "family": Col("dim_indicator", "SELECT family FROM dim_indicator WHERE indicator_code = :indicator_code",
                      kind="text"),
        "unit": Col("dim_indicator", "SELECT unit FROM dim_indicator WHERE indicator_code = :indicator_code",
                    kind="text"),
        "first_year": Col("fact_indicator", "SELECT MIN(indicator_year) FROM fact_indicator "
                                            "WHERE indicator_code = :indicator_code AND value IS NOT NULL",
                          kind="text"),
        "last_year": Col("fact_indicator", "SELECT MAX(indicator_year) FROM fact_indicator "
                                           "WHERE indicator_code = :indicator_code AND value IS NOT NULL",
                         kind="text"),
        "n_years": Col("fact_indicator", "SELECT COUNT(DISTINCT indicator_year) FROM fact_indicator "
                                         "WHERE indicator_code = :indicator_code AND value IS NOT NULL"),
        "communes_last": Col("fact_indicator", "SELECT COUNT(DISTINCT commune_code) FROM fact_indicator f "
                                               "WHERE f.indicator_code = :indicator_code AND f.value IS NOT NULL "
                                               "AND f.indicator_year = (SELECT MAX(g.indicator_year) FROM "
                                               "fact_indicator g WHERE g.indicator_code = :indicator_code "
                                               "AND g.value IS NOT NULL)"),
    }
    if not has(tables, "dim_indicator"):
        return Traced(pd.DataFrame(columns=["indicator_code", *cols]), ["indicator_code"], cols)
    dim = tables["dim_indicator"][["indicator_code", "label_fr", "family", "unit"]]
    fi = _t(tables, "fact_indicator")
    fi = fi[fi["value"].notna()] if not fi.empty else pd.DataFrame(columns=["indicator_code", "indicator_year",
                                                                           "commune_code"])
    g = fi.groupby("indicator_code")
    years = pd.DataFrame({"first_year": g["indicator_year"].min(), "last_year": g["indicator_year"].max(),
                          "n_years": g["indicator_year"].nunique()})
    last = fi.merge(years["last_year"].rename("indicator_year").reset_index(), on=["indicator_code", "indicator_year"])
    years["communes_last"] = last.groupby("indicator_code")["commune_code"].nunique()
    frame = dim.merge(years.reset_index(), on="indicator_code", how="inner")
    frame = frame.sort_values(["family", "indicator_code"]).reset_index(drop=True)
    for c in ("first_year", "last_year", "n_years", "communes_last"):
        frame[c] = frame[c].astype(int)
    return Traced(frame, ["indicator_code"], cols)


def departement_indicators(tables: dict[str, pd.DataFrame]) -> Traced:
    """Indicators published only at département level: years covered."""
    cols = {
        "label_fr": Col("dim_indicator", "SELECT label_fr FROM dim_indicator WHERE indicator_code = :indicator_code",
                        kind="text"),
        "first_year": Col("fact_indicator_departement", "SELECT MIN(indicator_year) FROM fact_indicator_departement "
                                                        "WHERE indicator_code = :indicator_code", kind="text"),
        "last_year": Col("fact_indicator_departement", "SELECT MAX(indicator_year) FROM fact_indicator_departement "
                                                       "WHERE indicator_code = :indicator_code", kind="text"),
    }
    if not has(tables, "fact_indicator_departement", "dim_indicator"):
        return Traced(pd.DataFrame(columns=["indicator_code", *cols]), ["indicator_code"], cols)
    fd = tables["fact_indicator_departement"]
    frame = fd.groupby("indicator_code")["indicator_year"].agg(first_year="min", last_year="max").reset_index()
    frame = frame.merge(tables["dim_indicator"][["indicator_code", "label_fr"]], on="indicator_code")
    return Traced(frame.sort_values("indicator_code").reset_index(drop=True), ["indicator_code"], cols)


def source_coverage(tables: dict[str, pd.DataFrame]) -> Traced:
    """One row per source: files, size, rows read, loaded and rejected (lineage)."""
    cols = {
        "files": Col("meta_source", "SELECT COUNT(DISTINCT file_name) FROM meta_source WHERE source_id = :source_id"),
        "mbytes": Col("meta_source", "SELECT SUM(file_bytes) / 1000000.0 FROM (SELECT DISTINCT file_name, file_bytes "
                                     "FROM meta_source WHERE source_id = :source_id) f", digits=2),
        "rows_read": Col("meta_source", "SELECT SUM(rows_read) FROM meta_source WHERE source_id = :source_id"),
        "rows_loaded": Col("meta_source", "SELECT SUM(rows_loaded) FROM meta_source WHERE source_id = :source_id"),
        "rows_rejected": Col("meta_source", "SELECT SUM(rows_rejected) FROM meta_source "
                                            "WHERE source_id = :source_id"),
    }
    if not has(tables, "meta_source"):
        return Traced(pd.DataFrame(columns=["source_id", *cols]), ["source_id"], cols)
    ms = tables["meta_source"]
    g = ms.groupby("source_id")
    frame = pd.DataFrame({
        "files": g["file_name"].nunique(),
        "mbytes": ms.drop_duplicates(["source_id", "file_name"]).groupby("source_id")["file_bytes"].sum() / 1e6,
        "rows_read": g["rows_read"].sum(), "rows_loaded": g["rows_loaded"].sum(),
        "rows_rejected": g["rows_rejected"].sum()}).reset_index()
    return Traced(frame.sort_values("source_id").reset_index(drop=True), ["source_id"], cols)


def source_origins(tables: dict[str, pd.DataFrame]) -> Traced:
    """Files by where the refresh found them (cache, mirror, download)."""
    cols = {"files": Col("meta_source", "SELECT COUNT(*) FROM (SELECT DISTINCT source_id, file_name FROM meta_source "
                                        "WHERE resolved_from = :resolved_from) f")}
    if not has(tables, "meta_source"):
        return Traced(pd.DataFrame(columns=["resolved_from", "files"]), ["resolved_from"], cols)
    ms = tables["meta_source"].drop_duplicates(["source_id", "file_name"])
    frame = ms.groupby("resolved_from").size().rename("files").reset_index()
    return Traced(frame, ["resolved_from"], cols)


# --------------------------------------------------------------------------- representativeness

def representativeness(tables: dict[str, pd.DataFrame], france: dict[str, dict]) -> tuple[Traced, Traced]:
    """Perimeter vs France, first rounds with a national file.

    Returns (by election x bloc: perimeter share, France share, gap in points;
    by election: Pearson r across blocs, mean |gap|, turnout both sides, weight of the
    perimeter in France's registered voters).
    """
    per_bloc_cols = {
        "share_dep": Col("fact_election_result, fact_turnout",
                         "SELECT 100.0 * SUM(votes) / (SELECT SUM(expressed) FROM fact_turnout "
                         "WHERE election_id = :election_id) FROM fact_election_result "
                         "WHERE election_id = :election_id AND bloc_code = :bloc_code", digits=1),
        "share_fr": Col("fact_national_result", "SELECT share_expressed FROM fact_national_result "
                        "WHERE election_id = :election_id AND bloc_code = :bloc_code", digits=1),
        "gap": Col("fact_election_result, fact_national_result", recipe={"kind": "national", "measure": "gap"},
                   digits=1),
    }
    per_el_cols = {
        "r": Col("fact_election_result, fact_national_result", recipe={"kind": "national", "measure": "r"},
                 digits=2),
        "mean_abs_gap": Col("fact_election_result, fact_national_result",
                            recipe={"kind": "national", "measure": "mean_abs_gap"}, digits=1),
        "turnout_dep": Col("fact_turnout", "SELECT 100.0 * SUM(voters) / SUM(registered) FROM fact_turnout "
                                           "WHERE election_id = :election_id", digits=1),
        "turnout_fr": Col("fact_national_turnout", "SELECT 100.0 * voters / registered FROM fact_national_turnout "
                          "WHERE election_id = :election_id", digits=1),
        "weight": Col("fact_turnout, fact_national_turnout", recipe={"kind": "national", "measure": "weight"},
                      digits=2),
    }
    empty = (Traced(pd.DataFrame(columns=["election_id", "bloc_code", *per_bloc_cols]), ["election_id", "bloc_code"],
                    per_bloc_cols),
             Traced(pd.DataFrame(columns=["election_id", *per_el_cols]), ["election_id"], per_el_cols))
    if not france or not has(tables, "fact_election_result", "fact_turnout", "dim_election"):
        return empty
    el = tables["dim_election"]
    first = el[(el["round_number"] == 1) & el["election_id"].isin(list(france))].sort_values("election_date")
    if first.empty:
        return empty
    shares = bloc_shares(tables).frame
    turnout = tables["fact_turnout"].groupby("election_id")[["registered", "voters"]].sum()
    blocs = _t(tables, "dim_bloc").sort_values("sort_order")["bloc_code"].tolist() or sorted(shares["bloc_code"].unique())
    rows, summary = [], []
    for e in first["election_id"]:
        fr = france[e]
        dep = shares[shares["election_id"] == e].set_index("bloc_code")["share"]
        for b in blocs:
            s_fr = fr["bloc_share"].get(b, 0.0)
            s_dep = float(dep.get(b, 0.0))
            rows.append({"election_id": e, "bloc_code": b, "share_dep": s_dep, "share_fr": s_fr,
                         "gap": s_dep - s_fr})
        sub = pd.DataFrame([r for r in rows if r["election_id"] == e])

        summary.append({"election_id": e, "r": pearson(sub["share_dep"], sub["share_fr"]),
                        "mean_abs_gap": float(sub["gap"].abs().mean()),
                        "turnout_dep": 100 * turnout.at[e, "voters"] / turnout.at[e, "registered"],
                        "turnout_fr": 100 * fr["voters"] / fr["registered"],
                        "weight": 100 * turnout.at[e, "registered"] / fr["registered"]})
    return (Traced(pd.DataFrame(rows), ["election_id", "bloc_code"], per_bloc_cols),
            Traced(pd.DataFrame(summary), ["election_id"], per_el_cols))


# --------------------------------------------------------------------------- method and quality

STATUSES = ["pass", "warn", "fail", "missing", "n/a"]


def quality_by_check(tables: dict[str, pd.DataFrame]) -> Traced:
    """Per check: how many results of each status."""
    cols = {s: Col("meta_quality_check", "SELECT COUNT(*) FROM meta_quality_check "
                                         f"WHERE check_name = :check_name AND status = '{s}'") for s in STATUSES}
    if not has(tables, "meta_quality_check"):
        return Traced(pd.DataFrame(columns=["check_name", *cols]), ["check_name"], cols)
    q = tables["meta_quality_check"]
    frame = pd.crosstab(q["check_name"], q["status"]).reindex(columns=STATUSES, fill_value=0)
    order = q.groupby("check_name")["check_seq"].min().sort_values()
    frame = frame.reindex(order.index).reset_index()
    frame.columns.name = None
    return Traced(frame, ["check_name"], cols)


def quality_totals(tables: dict[str, pd.DataFrame]) -> Traced:
    cols = {"n": Col("meta_quality_check", "SELECT COUNT(*) FROM meta_quality_check WHERE status = :status")}
    if not has(tables, "meta_quality_check"):
        return Traced(pd.DataFrame(columns=["status", "n"]), ["status"], cols)
    counts = tables["meta_quality_check"]["status"].value_counts()
    frame = pd.DataFrame({"status": [s for s in STATUSES if s in counts] + sorted(set(counts.index) - set(STATUSES))})
    frame["n"] = frame["status"].map(counts).astype(int)
    return Traced(frame, ["status"], cols)


def quality_issues(tables: dict[str, pd.DataFrame], statuses=("fail", "warn", "missing")) -> Traced:
    """Checks that did not pass, with their detail as recorded."""
    q_sql = "SELECT {} FROM meta_quality_check WHERE check_seq = :check_seq"
    cols = {
        "check_name": Col("meta_quality_check", q_sql.format("check_name"), kind="text", derive="check_label"),
        "election_label": Col("meta_quality_check, dim_election",
                              "SELECT e.label_fr FROM meta_quality_check q JOIN dim_election e "
                              "ON e.election_id = q.election_id WHERE q.check_seq = :check_seq", kind="text"),
        "detail": Col("meta_quality_check", q_sql.format("detail"), kind="text"),
    }
    if not has(tables, "meta_quality_check"):
        return Traced(pd.DataFrame(columns=["check_seq", "status", *cols]), ["check_seq"], cols)
    q = tables["meta_quality_check"]
    q = q[q["status"].isin(statuses)].copy()
    labels = dict(zip(_t(tables, "dim_election").get("election_id", []), _t(tables, "dim_election").get("label_fr", [])))
    q["election_label"] = q["election_id"].map(labels)
    frame = q[["check_seq", "status", "check_name", "election_label", "detail"]].sort_values("check_seq")
    return Traced(frame.reset_index(drop=True), ["check_seq"], cols)


def rejected_rows(tables: dict[str, pd.DataFrame]) -> Traced:
    cols = {"rows": Col("meta_rejected_row", "SELECT COUNT(*) FROM meta_rejected_row WHERE source_id = :source_id "
                                             "AND file_name = :file_name")}
    keys = ["source_id", "file_name"]
    if not has(tables, "meta_rejected_row"):
        return Traced(pd.DataFrame(columns=[*keys, "rows"]), keys, cols)
    frame = tables["meta_rejected_row"].groupby(keys).size().rename("rows").reset_index()
    return Traced(frame, keys, cols)


def code_map(tables: dict[str, pd.DataFrame]) -> Traced:
    cols = {"codes": Col("map_commune_code", "SELECT COUNT(*) FROM map_commune_code WHERE relation = :relation")}
    if not has(tables, "map_commune_code"):
        return Traced(pd.DataFrame(columns=["relation", "codes"]), ["relation"], cols)
    frame = tables["map_commune_code"].groupby("relation").size().rename("codes").reset_index()
    return Traced(frame, ["relation"], cols)


def nuances_by_bloc(tables: dict[str, pd.DataFrame]) -> Traced:
    cols = {"label_fr": Col("dim_bloc", "SELECT label_fr FROM dim_bloc WHERE bloc_code = :bloc_code", kind="text"),
            "labels": Col("dim_nuance", "SELECT COUNT(*) FROM dim_nuance WHERE bloc_code = :bloc_code")}
    if not has(tables, "dim_nuance", "dim_bloc"):
        return Traced(pd.DataFrame(columns=["bloc_code", *cols]), ["bloc_code"], cols)
    counts = tables["dim_nuance"].groupby("bloc_code").size()
    frame = tables["dim_bloc"].sort_values("sort_order")[["bloc_code", "label_fr"]].copy()
    frame["labels"] = frame["bloc_code"].map(counts).fillna(0).astype(int)
    return Traced(frame.reset_index(drop=True), ["bloc_code"], cols)


def latest_refresh(tables: dict[str, pd.DataFrame]) -> dict[str, Value]:
    mr = _t(tables, "meta_refresh")
    if mr.empty:
        return {}
    row = mr.sort_values("finished_at").iloc[-1]
    p = {"refresh_id": row["refresh_id"]}
    sql = "SELECT {} FROM meta_refresh WHERE refresh_id = :refresh_id"
    return {
        "finished_at": Value(row["finished_at"], Col("meta_refresh", sql.format("finished_at"), kind="text",
                                                     derive="datetime_fr"), p),
        "version": Value(row["electio_version"], Col("meta_refresh", sql.format("electio_version"), kind="text"), p),
        "status": Value(row["status"], Col("meta_refresh", sql.format("status"), kind="text"), p),
    }


# --------------------------------------------------------------------------- correlations

_FIRST_ROUND_CORR = ("FROM fact_correlation c JOIN dim_election e ON e.election_id = c.election_id "
                     "WHERE e.round_number = 1 AND c.indicator_code = :indicator_code AND c.target = :target "
                     "AND c.pearson IS NOT NULL")


def _corr_cols() -> dict[str, Col]:
    return {
        "indicator_label": Col("dim_indicator", "SELECT label_fr FROM dim_indicator "
                                                "WHERE indicator_code = :indicator_code", kind="text"),
        "mean_pearson": Col("fact_correlation", f"SELECT AVG(c.pearson) {_FIRST_ROUND_CORR}", digits=2),
        "mean_abs_pearson": Col("fact_correlation", f"SELECT AVG(ABS(c.pearson)) {_FIRST_ROUND_CORR}", digits=2),
        # the EDA ranks relations by it (size of commune controlled)
        "mean_partial": Col("fact_correlation", f"SELECT AVG(c.partial_pearson) {_FIRST_ROUND_CORR}", digits=2),
        "n_elections": Col("fact_correlation", f"SELECT COUNT(*) {_FIRST_ROUND_CORR}"),
        "min_pearson": Col("fact_correlation", f"SELECT MIN(c.pearson) {_FIRST_ROUND_CORR}", digits=2),
        "max_pearson": Col("fact_correlation", f"SELECT MAX(c.pearson) {_FIRST_ROUND_CORR}", digits=2),
    }


def _first_round_corr(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    corr, el = tables["fact_correlation"], tables["dim_election"]
    first = set(el.loc[el["round_number"] == 1, "election_id"])
    return corr[corr["election_id"].isin(first) & corr["pearson"].notna()]


def _pair_stats(corr: pd.DataFrame, pairs: pd.DataFrame, dim_indicator: pd.DataFrame) -> pd.DataFrame:
    g = corr.groupby(["indicator_code", "target"])["pearson"]
    stats = pd.DataFrame({"mean_pearson": g.mean(), "mean_abs_pearson": g.apply(lambda s: s.abs().mean()),
                          "n_elections": g.size(), "min_pearson": g.min(), "max_pearson": g.max(),
                          "mean_partial": corr.groupby(["indicator_code", "target"])["partial_pearson"].mean()}
                         ).reset_index()
    out = pairs.merge(stats, on=["indicator_code", "target"], how="left")
    return out.merge(dim_indicator[["indicator_code", "label_fr", "unit"]].rename(
        columns={"label_fr": "indicator_label"}), on="indicator_code", how="left")


def eda_answer(tables: dict[str, pd.DataFrame], top: int = 5) -> dict | None:
    """The exploratory analysis' ranking (electio.eda.answer), recomputed from the warehouse."""
    if not has(tables, "fact_correlation", "dim_indicator", "dim_election"):
        return None

    return answer_question(tables["fact_correlation"], tables["dim_indicator"], dim_election=tables["dim_election"],
                           dim_bloc=tables.get("dim_bloc"), top=top)


def top_relations(tables: dict[str, pd.DataFrame], answer: dict | None) -> Traced:
    """The strongest indicator x target relations, in the EDA's ranking, with first-round statistics."""
    cols = _corr_cols()
    keys = ["indicator_code", "target"]
    if not answer or not answer.get("top"):
        return Traced(pd.DataFrame(columns=[*keys, "stable", *cols]), keys, cols)
    pairs = pd.DataFrame([{"indicator_code": r["indicator_code"], "target": r["target"], "stable": r["stable"],
                           "transformation": r.get("transformation")} for r in answer["top"]])
    frame = _pair_stats(_first_round_corr(tables), pairs, tables["dim_indicator"])
    return Traced(frame, keys, cols)


def best_by_target(tables: dict[str, pd.DataFrame], answer: dict | None) -> Traced:
    cols = _corr_cols()
    keys = ["indicator_code", "target"]
    if not answer or not answer.get("by_target"):
        return Traced(pd.DataFrame(columns=[*keys, "stable", *cols]), keys, cols)
    pairs = pd.DataFrame([{"indicator_code": v["indicator_code"], "target": t, "stable": v["stable"],
                           "transformation": v.get("transformation")} for t, v in answer["by_target"].items()])
    frame = _pair_stats(_first_round_corr(tables), pairs, tables["dim_indicator"])
    return Traced(frame, keys, cols)


def relation_by_election(tables: dict[str, pd.DataFrame], indicator_code: str, target: str) -> Traced:
    """One relation election by election: r, interval, communes, vintage."""
    sql = ("SELECT {} FROM fact_correlation WHERE election_id = :election_id AND indicator_code = :indicator_code "
           "AND target = :target")
    cols = {
        "label_fr": Col("dim_election", "SELECT label_fr FROM dim_election WHERE election_id = :election_id",
                        kind="text"),
        "indicator_year": Col("fact_correlation", sql.format("indicator_year"), kind="text"),
        "n_communes": Col("fact_correlation", sql.format("n_communes")),
        "pearson": Col("fact_correlation", sql.format("pearson"), digits=2),
        "pearson_ci_low": Col("fact_correlation", sql.format("pearson_ci_low"), digits=2),
        "pearson_ci_high": Col("fact_correlation", sql.format("pearson_ci_high"), digits=2),
        "spearman": Col("fact_correlation", sql.format("spearman"), digits=2),
    }
    keys = ["election_id", "indicator_code", "target"]
    if not has(tables, "fact_correlation", "dim_election"):
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    corr = tables["fact_correlation"]
    sub = corr[(corr["indicator_code"] == indicator_code) & (corr["target"] == target)]
    sub = sub.merge(tables["dim_election"][["election_id", "label_fr", "election_date"]], on="election_id")
    sub = sub.sort_values("election_date")
    return Traced(sub[[*keys, *cols]].reset_index(drop=True), keys, cols)


# --------------------------------------------------------------------------- models

def models(tables: dict[str, pd.DataFrame]) -> Traced:
    sql = "SELECT {} FROM dim_model WHERE model_id = :model_id"
    cols = {"label_fr": Col("dim_model", sql.format("label_fr"), kind="text"),
            "description": Col("dim_model", sql.format("description"), kind="text")}
    if not has(tables, "dim_model"):
        return Traced(pd.DataFrame(columns=["model_id", "model_kind", "is_chosen", *cols]), ["model_id"], cols)
    m = tables["dim_model"].copy()
    m["_k"] = (m["model_kind"] != "baseline").astype(int)
    frame = m.sort_values(["_k", "model_id"])[["model_id", "model_kind", "is_chosen", "label_fr", "description"]]
    return Traced(frame.reset_index(drop=True), ["model_id"], cols)


def metric_scale(tables: dict[str, pd.DataFrame], metric: str) -> float:
    """Percent metrics stored as fractions (all values <= 1) are printed x 100."""
    fm = _t(tables, "fact_model_metric")
    if not is_percent_metric(metric) or fm.empty:
        return 1.0
    values = fm.loc[fm["metric"] == metric, "value"].dropna()
    return 100.0 if not values.empty and values.abs().max() <= 1.0 else 1.0


def metrics_summary(tables: dict[str, pd.DataFrame]) -> Traced:
    """Model x mode x metric: mean over the test elections."""
    keys = ["model_id", "mode", "metric"]
    cols = {"value": Col("fact_model_metric", "SELECT AVG(value) FROM fact_model_metric WHERE model_id = :model_id "
                                              "AND mode = :mode AND metric = :metric", digits=2),
            "n_elections": Col("fact_model_metric", "SELECT COUNT(value) FROM fact_model_metric "
                                                    "WHERE model_id = :model_id AND mode = :mode AND metric = :metric")}
    if not has(tables, "fact_model_metric"):
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    fm = tables["fact_model_metric"]
    frame = fm.groupby(keys)["value"].agg(value="mean", n_elections="count").reset_index()
    frame["_o"] = frame["metric"].map(metric_rank)
    frame = frame.sort_values(["mode", "_o", "metric", "model_id"]).drop(columns="_o")
    return Traced(frame.reset_index(drop=True), keys, cols)


def metric_by_election(tables: dict[str, pd.DataFrame], metric: str = "wmae") -> Traced:
    keys = ["model_id", "election_id", "mode"]
    cols = {"value": Col("fact_model_metric", "SELECT value FROM fact_model_metric WHERE model_id = :model_id AND "
                                              f"election_id = :election_id AND mode = :mode AND metric = '{metric}'",
                         digits=2)}
    if not has(tables, "fact_model_metric"):
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    fm = tables["fact_model_metric"]
    frame = fm[fm["metric"] == metric][[*keys, "value"]]
    return Traced(frame.reset_index(drop=True), keys, cols)


def chosen_model(tables: dict[str, pd.DataFrame]) -> str | None:
    m = _t(tables, "dim_model")
    if m.empty:
        return None
    chosen = m.loc[m["is_chosen"] == 1, "model_id"]
    return str(chosen.iloc[0]) if not chosen.empty else None


def gain_vs_best_baseline(tables: dict[str, pd.DataFrame], metric: str = "wmae") -> Traced:
    """Per mode: chosen model's mean metric, the best baseline's, and the relative reduction (%)."""
    keys = ["mode", "model_id", "baseline_id"]
    avg = ("(SELECT AVG(value) FROM fact_model_metric WHERE model_id = :{} AND mode = :mode "
           f"AND metric = '{metric}')")
    cols = {"gain_pct": Col("fact_model_metric", f"SELECT 100.0 * (1 - {avg.format('model_id')} / "
                                                 f"{avg.format('baseline_id')})", digits=1),
            "baseline_label": Col("dim_model", "SELECT label_fr FROM dim_model WHERE model_id = :baseline_id",
                                  kind="text", derive="plain_fr")}
    chosen = chosen_model(tables)
    summary = metrics_summary(tables).frame
    if chosen is None or summary.empty:
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    kinds = tables["dim_model"].set_index("model_id")["model_kind"]
    rows = []
    s = summary[summary["metric"] == metric]
    for mode, sub in s.groupby("mode"):
        base = sub[sub["model_id"].map(kinds) == "baseline"].sort_values(["value", "model_id"])
        mine = sub[sub["model_id"] == chosen]
        if base.empty or mine.empty or not base.iloc[0]["value"]:
            continue
        b = base.iloc[0]
        rows.append({"mode": mode, "model_id": chosen, "baseline_id": b["model_id"],
                     "gain_pct": 100 * (1 - mine.iloc[0]["value"] / b["value"]),
                     "baseline_label": tables["dim_model"].set_index("model_id").at[b["model_id"], "label_fr"]})
    return Traced(pd.DataFrame(rows, columns=[*keys, *cols]), keys, cols)


# --------------------------------------------------------------------------- scenarios

def scenarios(tables: dict[str, pd.DataFrame]) -> Traced:
    sql = "SELECT {} FROM dim_scenario WHERE scenario_id = :scenario_id"
    cols = {"label_fr": Col("dim_scenario", sql.format("label_fr"), kind="text"),
            "reference_year": Col("dim_scenario", sql.format("reference_year"), kind="text"),
            "horizon_years": Col("dim_scenario", sql.format("horizon_years")),
            "target_year": Col("dim_scenario", sql.format("target_year"), kind="text"),
            "description": Col("dim_scenario", sql.format("description"), kind="text")}
    if not has(tables, "dim_scenario"):
        return Traced(pd.DataFrame(columns=["scenario_id", "election_type", "swing", *cols]), ["scenario_id"], cols)
    frame = tables["dim_scenario"].sort_values(["swing", "election_type", "horizon_years", "scenario_id"])
    frame = frame[["scenario_id", "election_type", "swing", *cols]]
    return Traced(frame.reset_index(drop=True), ["scenario_id"], cols)


def probability_scale(tables: dict[str, pd.DataFrame]) -> float:
    """Probabilities stored in [0, 1] are printed as percentages."""
    values = pd.concat([_t(tables, t).get("probability_first", pd.Series(dtype=float))
                        for t in ("fact_forecast_departement", "fact_forecast")]).dropna()
    return 100.0 if values.empty or values.max() <= 1.0 else 1.0


def forecast_departement(tables: dict[str, pd.DataFrame]) -> Traced:
    keys = ["scenario_id", "target"]
    sql = "SELECT {} FROM fact_forecast_departement WHERE scenario_id = :scenario_id AND target = :target"
    scale = probability_scale(tables)
    cols = {"predicted": Col("fact_forecast_departement", sql.format("predicted"), digits=1),
            "interval_low": Col("fact_forecast_departement", sql.format("interval_low"), digits=1),
            "interval_high": Col("fact_forecast_departement", sql.format("interval_high"), digits=1),
            "probability_first": Col("fact_forecast_departement", sql.format("probability_first"), digits=0,
                                     scale=scale)}
    if not has(tables, "fact_forecast_departement"):
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    fd = tables["fact_forecast_departement"]
    order = {b: i for i, b in enumerate(_t(tables, "dim_bloc").sort_values("sort_order").get("bloc_code", []))}
    fd = fd.assign(_o=fd["target"].map(order).fillna(len(order))).sort_values(["scenario_id", "_o", "target"])
    return Traced(fd[[*keys, *cols]].reset_index(drop=True), keys, cols)


def first_bloc_counts(tables: dict[str, pd.DataFrame]) -> Traced:
    """Per scenario and bloc: communes where that bloc is the most likely to come first. A tie on the
    probability goes to the higher central value, then to the first code (a commune counts once)."""
    keys = ["scenario_id", "target"]
    cols = {"communes": Col("fact_forecast", "SELECT COUNT(*) FROM fact_forecast f WHERE f.scenario_id = :scenario_id "
                                             "AND f.target = :target AND f.probability_first IS NOT NULL AND NOT EXISTS "
                                             "(SELECT 1 FROM fact_forecast g WHERE g.scenario_id = f.scenario_id "
                                             "AND g.commune_code = f.commune_code AND g.target <> 'turnout' "
                                             "AND g.target <> f.target AND (g.probability_first > f.probability_first "
                                             "OR (g.probability_first = f.probability_first AND (g.predicted > "
                                             "f.predicted OR (g.predicted = f.predicted AND g.target < f.target)))))")}
    if not has(tables, "fact_forecast"):
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    ff = tables["fact_forecast"]
    ff = ff[(ff["target"] != "turnout") & ff["probability_first"].notna()]
    top = (ff.sort_values(["scenario_id", "commune_code", "probability_first", "predicted", "target"],
                          ascending=[True, True, False, False, True])
           .drop_duplicates(["scenario_id", "commune_code"]))
    frame = top.groupby(keys).size().rename("communes").reset_index()
    return Traced(frame, keys, cols)


# --------------------------------------------------------------------------- accuracy in plain words

#: The backtest modes of the perimeter, in reading order (what is given to the model shrinks).
PERIMETER_MODES = ("conditional", "national_conditional", "unconditional")
#: The all-France evaluation modes (every commune of France, European elections).
FRANCE_MODES = ("france_conditional", "france_national", "france_unconditional")

_METRIC_AVG = ("SELECT AVG(value) FROM fact_model_metric WHERE model_id = :model_id AND mode = :mode "
               "AND metric = '{}'")


def accuracy_plain(tables: dict[str, pd.DataFrame]) -> Traced:
    """Per mode, the chosen model's mean error per bloc and how many communes in ten get the leading bloc
    right (means over the test elections)."""
    keys = ["model_id", "mode"]
    tenth = metric_scale(tables, "first_bloc_accuracy") / 10
    cols = {"wmae": Col("fact_model_metric", _METRIC_AVG.format("wmae"), digits=2),
            "first_in_ten": Col("fact_model_metric", _METRIC_AVG.format("first_bloc_accuracy"), digits=0,
                                scale=tenth),
            "n_elections": Col("fact_model_metric", "SELECT COUNT(value) FROM fact_model_metric WHERE model_id = "
                                                    ":model_id AND mode = :mode AND metric = 'wmae'")}
    chosen = chosen_model(tables)
    fm = _t(tables, "fact_model_metric")
    if chosen is None or fm.empty:
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    mine = fm[fm["model_id"] == chosen]
    rows = []
    for mode in PERIMETER_MODES:
        sub = mine[mine["mode"] == mode]
        w = sub.loc[sub["metric"] == "wmae", "value"].dropna()
        if w.empty:
            continue
        first = sub.loc[sub["metric"] == "first_bloc_accuracy", "value"].dropna()
        rows.append({"model_id": chosen, "mode": mode, "wmae": w.mean(),
                     "first_in_ten": first.mean() if not first.empty else np.nan, "n_elections": len(w)})
    return Traced(pd.DataFrame(rows, columns=[*keys, *cols]), keys, cols)


def baseline_wins(tables: dict[str, pd.DataFrame], metric: str = "wmae") -> Traced:
    """Every (mode, test election) where a simple baseline beats the chosen model: the best such baseline."""
    keys = ["mode", "election_id", "model_id", "baseline_id"]
    one = ("SELECT value FROM fact_model_metric WHERE model_id = :{} AND election_id = :election_id "
           f"AND mode = :mode AND metric = '{metric}'")
    cols = {"chosen_value": Col("fact_model_metric", one.format("model_id"), digits=2),
            "baseline_value": Col("fact_model_metric", one.format("baseline_id"), digits=2)}
    chosen = chosen_model(tables)
    fm = _t(tables, "fact_model_metric")
    if chosen is None or fm.empty:
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    kinds = tables["dim_model"].set_index("model_id")["model_kind"]
    m = fm[(fm["metric"] == metric) & fm["mode"].isin(PERIMETER_MODES) & fm["value"].notna()]
    order = _election_order(tables)
    rows = []
    for (mode, election), sub in m.groupby(["mode", "election_id"]):
        mine = sub[sub["model_id"] == chosen]
        base = sub[sub["model_id"].map(kinds) == "baseline"].sort_values(["value", "model_id"])
        if mine.empty or base.empty or base.iloc[0]["value"] >= mine.iloc[0]["value"]:
            continue
        rows.append({"mode": mode, "election_id": election, "model_id": chosen,
                     "baseline_id": base.iloc[0]["model_id"], "chosen_value": mine.iloc[0]["value"],
                     "baseline_value": base.iloc[0]["value"]})
    frame = pd.DataFrame(rows, columns=[*keys, *cols])
    if not frame.empty:
        frame = frame.assign(_m=frame["mode"].map(PERIMETER_MODES.index), _e=frame["election_id"].map(order))
        frame = frame.sort_values(["_m", "_e"]).drop(columns=["_m", "_e"])
    return Traced(frame.reset_index(drop=True), keys, cols)


def _election_order(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    el = _t(tables, "dim_election")
    if el.empty:
        return {}
    return {e: i for i, e in enumerate(el.sort_values(["election_date", "election_id"])["election_id"])}


def bloc_coverage(tables: dict[str, pd.DataFrame]) -> Traced:
    """Chosen model, per mode and bloc: coverage of the 80 % intervals (mean over the test elections,
    lowest and highest election) and the mean interval score (Winkler, points)."""
    keys = ["model_id", "mode", "cov_metric", "score_metric"]
    where = "FROM fact_model_metric WHERE model_id = :model_id AND mode = :mode AND metric = :{}"
    scale = metric_scale(tables, "coverage_80")
    cols = {"coverage": Col("fact_model_metric", f"SELECT AVG(value) {where.format('cov_metric')}", digits=0,
                            scale=scale),
            "coverage_min": Col("fact_model_metric", f"SELECT MIN(value) {where.format('cov_metric')}", digits=0,
                                scale=scale),
            "coverage_max": Col("fact_model_metric", f"SELECT MAX(value) {where.format('cov_metric')}", digits=0,
                                scale=scale),
            "score": Col("fact_model_metric", f"SELECT AVG(value) {where.format('score_metric')}", digits=1),
            "election_min": Col("fact_model_metric", "SELECT election_id FROM fact_model_metric WHERE model_id = "
                                ":model_id AND mode = :mode AND metric = :cov_metric ORDER BY value, election_id "
                                "LIMIT 1", kind="text"),
            "election_max": Col("fact_model_metric", "SELECT election_id FROM fact_model_metric WHERE model_id = "
                                ":model_id AND mode = :mode AND metric = :cov_metric ORDER BY value DESC, "
                                "election_id LIMIT 1", kind="text")}
    chosen = chosen_model(tables)
    fm = _t(tables, "fact_model_metric")
    if chosen is None or fm.empty:
        return Traced(pd.DataFrame(columns=[*keys, "bloc_code", *cols]), keys, cols)
    mine = fm[(fm["model_id"] == chosen) & fm["mode"].isin(PERIMETER_MODES) & fm["value"].notna()]
    blocs = list(_t(tables, "dim_bloc").sort_values("sort_order").get("bloc_code", [])) + [""]
    rows = []
    for mode in PERIMETER_MODES:
        sub = mine[mine["mode"] == mode]
        for bloc in blocs:  # "": every bloc pooled (coverage_80, interval_score_80)
            cov_m = "coverage_80" + (f"__{bloc}" if bloc else "")
            score_m = "interval_score_80" + (f"__{bloc}" if bloc else "")
            cov = sub[sub["metric"] == cov_m].sort_values(["value", "election_id"])
            if cov.empty:
                continue
            score = sub.loc[sub["metric"] == score_m, "value"]
            low = cov.iloc[0]
            high = cov.sort_values(["value", "election_id"], ascending=[False, True]).iloc[0]
            rows.append({"model_id": chosen, "mode": mode, "cov_metric": cov_m, "score_metric": score_m,
                         "bloc_code": bloc, "coverage": cov["value"].mean(), "coverage_min": low["value"],
                         "coverage_max": high["value"], "score": score.mean() if not score.empty else np.nan,
                         "election_min": low["election_id"], "election_max": high["election_id"]})
    return Traced(pd.DataFrame(rows, columns=[*keys, "bloc_code", *cols]), keys, cols)


def france_results(tables: dict[str, pd.DataFrame]) -> Traced:
    """The all-France evaluation: per election, mode and model, the error over every commune of France
    and how many communes and départements it covers."""
    keys = ["model_id", "election_id", "mode"]
    one = ("SELECT value FROM fact_model_metric WHERE model_id = :model_id AND election_id = :election_id "
           "AND mode = :mode AND metric = '{}'")
    cols = {"wmae": Col("fact_model_metric", one.format("wmae"), digits=2),
            "first_bloc_accuracy": Col("fact_model_metric", one.format("first_bloc_accuracy"), digits=0,
                                       scale=metric_scale(tables, "first_bloc_accuracy")),
            "departement_mae": Col("fact_model_metric", one.format("departement_mae"), digits=2),
            "n_communes": Col("fact_model_metric", one.format("n_communes")),
            "n_departements": Col("fact_model_metric", one.format("n_departements"))}
    fm = _t(tables, "fact_model_metric")
    if fm.empty or not fm["mode"].isin(FRANCE_MODES).any():
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    sub = fm[fm["mode"].isin(FRANCE_MODES) & fm["metric"].isin(list(cols))]
    wide = sub.pivot_table(index=keys, columns="metric", values="value").reset_index()
    for c in cols:
        if c not in wide:
            wide[c] = np.nan
    order = _election_order(tables)
    wide = wide.assign(_e=wide["election_id"].map(order), _m=wide["mode"].map(FRANCE_MODES.index))
    wide = wide.sort_values(["_e", "_m", "wmae"]).drop(columns=["_e", "_m"])
    return Traced(wide[[*keys, *cols]].reset_index(drop=True), keys, cols)


def horizon_error(tables: dict[str, pd.DataFrame]) -> Traced:
    """The archive's error of the scenario rules by lead time (fact_horizon_error)."""
    keys = ["rule", "lead_bucket"]
    sql = "SELECT {} FROM fact_horizon_error WHERE rule = :rule AND lead_bucket = :lead_bucket"
    cols = {"n_election_pairs": Col("fact_horizon_error", sql.format("n_election_pairs")),
            "n_departements": Col("fact_horizon_error", sql.format("n_departements")),
            "mean_lead_years": Col("fact_horizon_error", sql.format("mean_lead_years"), digits=1),
            "bloc_mae_points": Col("fact_horizon_error", sql.format("bloc_mae_points"), digits=1),
            "growth_vs_0_1": Col("fact_horizon_error", sql.format("growth_vs_0_1"), digits=2)}
    he = _t(tables, "fact_horizon_error")
    if he.empty:
        return Traced(pd.DataFrame(columns=[*keys, *cols]), keys, cols)
    frame = he.sort_values(["rule", "mean_lead_years"], key=lambda s: s.map({"status_quo": 0, "trend": 1})
                           .fillna(2) if s.name == "rule" else s)
    return Traced(frame[[*keys, *cols]].reset_index(drop=True), keys, cols)


#: The accuracy targets of the brief (issue 13), checked on the chosen model's backtest means.
TARGETS = {"conditional_wmae": 1.5, "conditional_gain": 33.0, "national_wmae": 3.0, "unconditional_gain": 35.0,
           "coverage_election_low": 75.0, "coverage_election_high": 85.0, "coverage_bloc_low": 65.0,
           "coverage_bloc_high": 95.0}
_GAIN = ("SELECT 100.0 * (1 - (SELECT AVG(value) FROM fact_model_metric WHERE model_id = :model_id AND mode = :mode "
         "AND metric = 'wmae') / (SELECT AVG(value) FROM fact_model_metric WHERE model_id = :baseline_id "
         "AND mode = :mode AND metric = 'wmae'))")
_BLOC_COV = ("SELECT {}(v) FROM (SELECT AVG(value) AS v FROM fact_model_metric WHERE model_id = :model_id AND "
             "mode = :mode AND metric LIKE 'coverage_80__%' GROUP BY metric) b")


def targets(tables: dict[str, pd.DataFrame]) -> list[dict]:
    """The brief's targets, in the order of :func:`electio.model.backtest.target_summary`: for each,
    the measured values (traced) and whether it is reached. Empty without a backtest."""
    chosen = chosen_model(tables)
    fm = _t(tables, "fact_model_metric")
    if chosen is None or fm.empty:
        return []
    pick = lambda model, mode, metric: fm[(fm["model_id"] == model) & (fm["mode"] == mode)  # noqa: E731
                                          & (fm["metric"] == metric)].set_index("election_id")["value"]
    mean = lambda model, mode: float(pick(model, mode, "wmae").mean())  # noqa: E731
    src = "fact_model_metric"
    out = []
    cond = mean(chosen, "conditional")
    p = {"model_id": chosen, "mode": "conditional"}
    out.append({"id": "conditional_wmae", "reached": cond <= TARGETS["conditional_wmae"],
                "value": Value(cond, Col(src, _METRIC_AVG.format("wmae"), digits=2), p)})
    uni = mean("uniform_swing", "conditional")
    out.append({"id": "conditional_gain", "reached": cond <= (1 - TARGETS["conditional_gain"] / 100) * uni,
                "value": Value(100 * (1 - cond / uni), Col(src, _GAIN, digits=1),
                               {**p, "baseline_id": "uniform_swing"}),
                "baseline": "uniform_swing"})
    nat = pick(chosen, "national_conditional", "wmae").dropna()
    order = _election_order(tables)
    one = ("SELECT value FROM fact_model_metric WHERE model_id = :model_id AND election_id = :election_id AND "
           "mode = :mode AND metric = 'wmae'")
    out.append({"id": "national_wmae", "reached": bool(len(nat)) and bool((nat <= TARGETS["national_wmae"]).all()),
                "per_election": [(e, Value(nat[e], Col(src, one, digits=2),
                                           {"model_id": chosen, "election_id": e, "mode": "national_conditional"}))
                                 for e in sorted(nat.index, key=lambda e: order.get(e, 99))]})
    unc = mean(chosen, "unconditional")
    pers = {b: mean(b, "unconditional") for b in ("persistence_same_type", "persistence_any_type")}
    best = min(pers, key=pers.get)
    out.append({"id": "unconditional_gain", "reached": unc <= (1 - TARGETS["unconditional_gain"] / 100) * pers[best],
                "value": Value(100 * (1 - unc / pers[best]), Col(src, _GAIN, digits=1),
                               {"model_id": chosen, "mode": "unconditional", "baseline_id": best}),
                "baseline": best})
    scale = metric_scale(tables, "coverage_80")
    cov_sql = ("SELECT {}(value) FROM fact_model_metric WHERE model_id = :model_id AND mode = :mode "
               "AND metric = 'coverage_80'")
    for mode in PERIMETER_MODES:
        cov = pick(chosen, mode, "coverage_80").dropna() * scale
        if cov.empty:
            continue
        p = {"model_id": chosen, "mode": mode}
        out.append({"id": "coverage_election", "mode": mode,
                    "reached": bool(cov.between(TARGETS["coverage_election_low"],
                                                TARGETS["coverage_election_high"]).all()),
                    "low": Value(cov.min() / scale, Col(src, cov_sql.format("MIN"), digits=0, scale=scale), p),
                    "high": Value(cov.max() / scale, Col(src, cov_sql.format("MAX"), digits=0, scale=scale), p)})
        sub = fm[(fm["model_id"] == chosen) & (fm["mode"] == mode) & fm["metric"].str.startswith("coverage_80__")]
        per_bloc = sub.groupby("metric")["value"].mean() * scale
        out.append({"id": "coverage_bloc", "mode": mode,
                    "reached": bool(per_bloc.between(TARGETS["coverage_bloc_low"],
                                                     TARGETS["coverage_bloc_high"]).all()),
                    "low": Value(per_bloc.min() / scale, Col(src, _BLOC_COV.format("MIN"), digits=0, scale=scale), p)
                    if not per_bloc.empty else None,
                    "high": Value(per_bloc.max() / scale, Col(src, _BLOC_COV.format("MAX"), digits=0, scale=scale), p)
                    if not per_bloc.empty else None})
    return out


def commune_leaders(tables: dict[str, pd.DataFrame], scenario_id: str, top: int = 10) -> Traced:
    """The ``top`` communes with the most registered voters (latest election): for one scenario, the bloc most
    likely to come first, its expected share, interval and probability."""
    keys = ["scenario_id", "commune_code", "target"]
    sql = ("SELECT {} FROM fact_forecast WHERE scenario_id = :scenario_id AND commune_code = :commune_code "
           "AND target = :target")
    scale = probability_scale(tables)
    cols = {"predicted": Col("fact_forecast", sql.format("predicted"), digits=1),
            "interval_low": Col("fact_forecast", sql.format("interval_low"), digits=1),
            "interval_high": Col("fact_forecast", sql.format("interval_high"), digits=1),
            "probability_first": Col("fact_forecast", sql.format("probability_first"), digits=0, scale=scale),
            "registered": Col("fact_turnout", "SELECT registered FROM fact_turnout WHERE commune_code = "
                                              ":commune_code AND election_id = :election_id")}
    if not has(tables, "fact_forecast", "fact_turnout", "dim_election"):
        return Traced(pd.DataFrame(columns=[*keys, "election_id", *cols]), keys, cols)
    latest = tables["dim_election"].sort_values("election_date").iloc[-1]["election_id"]
    tu = tables["fact_turnout"]
    reg = tu[tu["election_id"] == latest].set_index("commune_code")["registered"]
    ff = tables["fact_forecast"]
    ff = ff[(ff["scenario_id"] == scenario_id) & (ff["target"] != "turnout") & ff["probability_first"].notna()]
    lead = ff.sort_values(["commune_code", "probability_first", "predicted"], ascending=[True, False, False])
    lead = lead.drop_duplicates("commune_code").assign(registered=lambda f: f["commune_code"].map(reg),
                                                       election_id=latest)
    lead = lead.sort_values(["registered", "commune_code"], ascending=[False, True]).head(top)
    return Traced(lead[[*keys, "election_id", *cols]].reset_index(drop=True), ["scenario_id", "commune_code", "target",
                                                                                "election_id"], cols)
