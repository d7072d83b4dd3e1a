"""Indicators: from staged files to honest values on the reference communes.

Rules (DESIGN.md, harmonisation; issue 3):

* Lyon: a file that lists 69123 *and* its arrondissements gives the same people
  twice; the arrondissement rows are excluded (counted, with the reason). A file
  that only has the arrondissements is summed (or weighted) into 69123.
* Merged communes: counts are summed; rates and medians are averaged with the
  weight the indicator declares (e.g. persons for a median income), and flagged
  ``is_reaggregated``. A weighted median is an approximation: the flag says so.
* A withheld value (statistical secrecy) stays missing and flagged: a commune
  built from several source communes is missing if any part is withheld.
* A code absent from a vintage's geography (an empty cell for a commune that did
  not exist that year) is not a value and is dropped before aggregation.
* No gap filling here: models interpolate in their own, separate step.
* Two dates per value (issue 12): ``published_on`` is the publication of the file we hold;
  ``available_on`` is when the value would have been available under the publisher's
  regular calendar (:class:`~electio.sources.indicators.CalendarRule`, never later than
  ``published_on``); ``reference_date`` dates the reference period (31 December N for a
  year's flows and end-of-year stocks, 1 January N for census and legal populations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from electio.errors import ElectioError
from electio.sources.indicators import CalendarRule, IndicatorSpec, StagedIndicators, VintageSpec
from electio.transform.communes import harmonise_communes

LYON = "69123"
LYON_ARRONDISSEMENTS = {f"6938{i}" for i in range(1, 10)}

FACT_COLUMNS = ["commune_code", "indicator_code", "indicator_year", "value", "is_suppressed", "is_imputed",
                "is_reaggregated", "published_on", "source_file", "reference_date", "available_on"]
DEPARTEMENT_COLUMNS = ["departement_code", "indicator_code", "indicator_year", "value", "published_on",
                       "source_file", "reference_date", "available_on"]
REVISION_COLUMNS = ["indicator_code", "indicator_year", "level", "first_file", "later_file", "n_values", "n_changed",
                    "mean_abs_diff", "mean_abs_rel_diff_pct", "max_abs_rel_diff_pct"]


@dataclass
class HarmonisedIndicators:
    values: pd.DataFrame
    excluded: dict[str, int]  # reason -> number of source rows not loaded


def drop_lyon_double_listing(values: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep 69123 where the file also gives its arrondissements (caveat 2)."""
    has_lyon = values.loc[values["source_code"] == LYON, ["indicator_code", "year"]].drop_duplicates()
    if has_lyon.empty:
        return values, 0
    key = pd.MultiIndex.from_frame(values[["indicator_code", "year"]])
    doubled = key.isin(pd.MultiIndex.from_frame(has_lyon)) & values["source_code"].isin(LYON_ARRONDISSEMENTS)
    return values[~doubled], int(doubled.sum())


def vintage_dates(years: pd.Series, vintage: VintageSpec, calendar: CalendarRule | None
                  ) -> tuple[list[date], list[date]]:
    """(reference_date, available_on) of each indicator year of a vintage. Without a calendar
    rule the value is available when the file was published, referenced at 31 December."""
    refs, avail = [], []
    for y in years:
        y = int(y)
        if calendar is None:
            refs.append(date(y, 12, 31))
            avail.append(vintage.published_on)
        else:
            refs.append(calendar.reference_date(y))
            avail.append(min(calendar.available_on(y), vintage.published_on))
    return refs, avail


def harmonise_indicators(staged: StagedIndicators, vintage: VintageSpec, specs: dict[str, IndicatorSpec],
                         code_map: pd.DataFrame, calendar: CalendarRule | None = None) -> HarmonisedIndicators:
    """Commune-level values of one vintage on the reference list (``code_map`` is
    restricted to the perimeter's communes)."""
    where = f"{vintage.source_id}/{vintage.file}"
    values = staged.values
    unknown = sorted(set(values["indicator_code"]) - set(specs))
    if unknown:
        raise ElectioError(f"{where}: indicator code(s) {unknown} are not defined in any indicators TOML")
    values, lyon_doubled = drop_lyon_double_listing(values)
    absent = values["value"].isna() & ~values["is_suppressed"]
    values = values[~absent]
    excluded = {"Lyon arrondissement also given as 69123": lyon_doubled,
                "empty cell, commune not in this vintage's geography": int(absent.sum())}

    values = values.assign(commune_code=_map_codes(values["source_code"], code_map, where))
    parts = values.groupby(["commune_code", "indicator_code", "year"])["source_code"].transform("size")
    values = values.assign(n_parts=parts)
    out = []
    for code, frame in values.groupby("indicator_code", sort=True):
        spec = specs[code]
        if spec.aggregation == "sum":
            out.append(_aggregate(frame, weights=None))
        elif spec.aggregation == "weighted_mean":
            weight = staged.values[staged.values["indicator_code"] == spec.weight_indicator]
            if weight.empty and (frame["n_parts"] > 1).any():
                raise ElectioError(f"{where}: {code} needs weights {spec.weight_indicator!r} to combine merged "
                                   "communes, and the file has none")
            w = weight.set_index(["source_code", "year"])["value"]
            out.append(_aggregate(frame, weights=w))
        else:
            raise ElectioError(f"indicator {code}: unknown aggregation {spec.aggregation!r}")
    result = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=FACT_COLUMNS)
    result = result.rename(columns={"year": "indicator_year"})
    result["published_on"] = vintage.published_on
    result["source_file"] = vintage.file
    result["reference_date"], result["available_on"] = vintage_dates(result["indicator_year"], vintage, calendar)
    for flag in ("is_suppressed", "is_imputed", "is_reaggregated"):
        result[flag] = result[flag].astype(int)
    return HarmonisedIndicators(values=result[FACT_COLUMNS], excluded={k: v for k, v in excluded.items() if v})


def _map_codes(source_codes: pd.Series, code_map: pd.DataFrame, where: str) -> pd.Series:
    probe = pd.DataFrame({"source_code": source_codes.unique(), "n": 1})
    harmonise_communes(probe, code_map, counts=["n"], where=where)  # raises on unknown codes
    return source_codes.map(dict(zip(code_map["source_code"], code_map["commune_code"])))


def _aggregate(frame: pd.DataFrame, *, weights: pd.Series | None) -> pd.DataFrame:
    """Combine the source rows of each (commune, indicator, year)."""
    frame = frame.copy()
    if weights is not None:
        # Vectorised lookup (a per-row .get took minutes at national scale); first value if repeated.
        unique = weights[~weights.index.duplicated()]
        frame["w"] = unique.reindex(pd.MultiIndex.from_arrays([frame["source_code"], frame["year"]])).to_numpy()
        single = frame["n_parts"] == 1
        frame.loc[single, "w"] = 1.0  # a lone commune needs no weight
        frame["wv"] = frame["value"] * frame["w"]
    else:
        frame["w"], frame["wv"] = 1.0, frame["value"]
    frame["has_gap"] = frame["wv"].isna() | frame["w"].isna()
    grouped = frame.groupby(["commune_code", "indicator_code", "year"], sort=True)
    agg = grouped.agg(wv=("wv", "sum"), w=("w", "sum"), has_gap=("has_gap", "any"),
                      is_suppressed=("is_suppressed", "any"), is_imputed=("is_imputed", "any"),
                      n_parts=("n_parts", "first")).reset_index()
    agg["value"] = agg["wv"] if weights is None else agg["wv"] / agg["w"]
    agg.loc[agg["has_gap"], "value"] = np.nan  # a missing part never yields a partial total
    agg["is_reaggregated"] = agg["n_parts"] > 1
    # Any withheld part makes the whole missing, never a partial sum.
    agg.loc[agg["is_suppressed"], "value"] = np.nan
    return agg[["commune_code", "indicator_code", "year", "value", "is_suppressed", "is_imputed",
                "is_reaggregated"]]


def departement_values(staged: StagedIndicators, vintage: VintageSpec, departement: str,
                       calendar: CalendarRule | None = None) -> pd.DataFrame:
    """Département-level indicators of the perimeter, as published."""
    values = staged.values[staged.values["source_code"] == departement]
    out = values.rename(columns={"source_code": "departement_code", "year": "indicator_year"})
    out = out.assign(published_on=vintage.published_on, source_file=vintage.file)
    out["reference_date"], out["available_on"] = vintage_dates(out["indicator_year"], vintage, calendar)
    return out[DEPARTEMENT_COLUMNS]


def measure_revisions(frame: pd.DataFrame, key: list[str], level: str) -> pd.DataFrame:
    """Where several files give the same value (same key, e.g. commune x indicator x year), how
    much a later file revises the first release: per indicator x year x later file, the number
    of values compared and changed (relative difference above 0.01 %), and the mean and
    largest relative differences (percent of the first release). ``frame`` holds every file's
    rows, before :func:`first_release` keeps one."""
    if frame.empty:
        return pd.DataFrame(columns=REVISION_COLUMNS)
    f = frame[frame["value"].notna()].sort_values(key + ["published_on", "source_file"], kind="mergesort")
    first = f.drop_duplicates(key, keep="first")
    later = f[f.duplicated(key, keep="first")]
    if later.empty:
        return pd.DataFrame(columns=REVISION_COLUMNS)
    m = later.merge(first[key + ["value", "source_file"]], on=key, suffixes=("", "_first"))
    m = m[m["source_file"] != m["source_file_first"]]
    diff = (m["value"].astype(float) - m["value_first"].astype(float)).abs()
    rel = 100 * diff / m["value_first"].astype(float).abs().where(m["value_first"] != 0)
    m = m.assign(diff=diff, rel=rel, changed=(rel.fillna(diff * 100) > 0.01))
    g = m.groupby(["indicator_code", "indicator_year", "source_file_first", "source_file"], sort=True)
    out = g.agg(n_values=("diff", "size"), n_changed=("changed", "sum"), mean_abs_diff=("diff", "mean"),
                mean_abs_rel_diff_pct=("rel", "mean"), max_abs_rel_diff_pct=("rel", "max")).reset_index()
    out = out.rename(columns={"source_file_first": "first_file", "source_file": "later_file"}).assign(level=level)
    for col in ("mean_abs_diff", "mean_abs_rel_diff_pct", "max_abs_rel_diff_pct"):
        out[col] = out[col].astype(float).round(4)
    return out[REVISION_COLUMNS].astype({"n_values": int, "n_changed": int})


def first_release(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per key: the earliest publication of each value.

    Several editions can cover the same year (e.g. two SSMSI editions). Keeping
    the first release makes ``published_on`` true for the value stored, so that a
    model filtering on it never sees a later revision.
    """
    order = key + ["published_on"] + (["source_file"] if "source_file" in frame.columns else [])
    frame = frame.sort_values(order, kind="mergesort")  # stable: same input, same choice
    return frame.drop_duplicates(key, keep="first").reset_index(drop=True)
