"""Correlation across communes between indicator vintages and election outcomes.

Grain of the output (``fact_correlation``): election x indicator x target, where the
target is a bloc code (share of expressed votes, 0-100) or ``'turnout'`` (voters as a
percentage of registered voters).

Method, in the order it is applied (the report quotes these rules):

1. **Vintage** (no look-ahead): for an election held on day D, an indicator is read in
   its latest ``indicator_year`` whose ``published_on`` is strictly before D (the latest
   publication date of the vintage's rows, to be safe). No such vintage: the pair is
   skipped. A vintage whose values are all missing (secret) does not count.
2. **Scale-free values** (:func:`indicator_transforms`): a count grows with the size of
   the commune, so correlating raw counts with vote shares would mostly measure size.
   Counts (aggregation ``'sum'``) are therefore divided by the commune's population and
   multiplied by 1,000 ("pour 1 000 habitants"); the population indicator itself (and
   any density, unit per km²) is replaced by its decimal logarithm; rates, medians and
   percentages (aggregation ``'weighted_mean'``) are used as published; an area (unit
   km²) becomes the population density ``log10(population / area)``. The population
   used as denominator is the population indicator's own vintage for that election
   (latest published before it), so no future figure leaks in. Without a population
   indicator in ``dim_indicator``, registered voters at the election are the
   denominator ("pour 1 000 inscrits"). The transformed values are stored under the
   indicator's own code; :data:`TRANSFORM_LABELS_FR` names each transformation.
3. **Communes**: those with a non-missing (transformed) indicator value, an outcome and
   registered voters > 0. For legislative elections a bloc with no candidate in the
   commune's constituency (``n_labels == 0``) has no outcome there: a 0 % share would say
   nothing about the voters. In presidential and European elections every bloc is on
   every ballot, so 0 % is a real result and is kept. Targets: every bloc with votes in
   the election, plus turnout. At least :data:`MIN_COMMUNES` communes, else skipped.
4. **Statistics**, weighted by registered voters at the election (a commune counts as
   many times as it has voters): Pearson r; Spearman = weighted Pearson on the
   (unweighted, average-tie) ranks; a 95 % percentile bootstrap interval of the weighted
   Pearson (communes resampled with replacement, ``n_boot`` draws, seeded per
   election x indicator x target so the result does not depend on what else is
   computed); a two-sided p-value of the weighted r from Student's t with Kish's
   effective sample size ``n_eff = (sum w)^2 / sum w^2`` instead of n. With equal
   weights it is exactly :func:`scipy.stats.pearsonr`'s p-value; with voter weights it
   honestly reflects that Lyon alone holds about a quarter of the Rhône's voters
   (n_eff is about 13 for 266 communes). Neighbouring communes are not independent
   (spatial autocorrelation), so p-values remain optimistic; read the interval first.
"""

from __future__ import annotations

import logging
import unicodedata
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger("electio.eda")

#: Columns of fact_correlation, in sql/schema.sql order.
CORRELATION_COLUMNS = ["election_id", "indicator_code", "target", "indicator_year", "n_communes", "pearson",
                       "spearman", "pearson_ci_low", "pearson_ci_high", "p_value"]
TURNOUT = "turnout"
MIN_COMMUNES = 20
N_BOOT = 500
SEED = 20240609
CI_LEVEL = 0.95
#: Election types whose candidates differ between communes (constituencies).
BALLOT_VARIES_BY_COMMUNE = frozenset({"legislatives"})

IDENTITY = "identity"
LOG10 = "log10"
PER_1000_POPULATION = "per_1000_population"
PER_1000_REGISTERED = "per_1000_registered"
LOG10_DENSITY = "log10_density"
#: Population indicators used as denominator first when present (INSEE's reference
#: population for per-capita statistics).
PREFERRED_POPULATION = ("population_municipale",)

#: How each transformation is described to the client.
TRANSFORM_LABELS_FR = {
    IDENTITY: "valeur publiée (taux, médiane ou part)",
    LOG10: "logarithme décimal de la valeur publiée",
    PER_1000_POPULATION: "valeur pour 1 000 habitants (population du millésime publié avant l'élection)",
    PER_1000_REGISTERED: "valeur pour 1 000 inscrits (aucun indicateur de population disponible)",
    LOG10_DENSITY: "densité de population : logarithme décimal de la population divisée par la superficie "
                   "(habitants par km²)",
}


def fold_text(text: object) -> str:
    """Lower case without accents, for tolerant matching of units and labels."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return text.lower().strip()


def _is_inhabitants(unit: object) -> bool:
    u = fold_text(unit)
    return u.startswith("hab") and "km" not in u


def _is_density(unit: object) -> bool:
    u = fold_text(unit).replace(" ", "")
    return "/km" in u or "parkm" in u


def _is_area(unit: object) -> bool:
    return fold_text(unit).replace(" ", "") in {"km2", "km^2", "kilometrescarres", "ha", "hectares"}


# --------------------------------------------------------------------------- transformations

def population_indicator(dim_indicator: pd.DataFrame, fact_indicator: pd.DataFrame | None = None) -> str | None:
    """Code of the commune population indicator, or None.

    Candidates: commune level, family 'population', unit in inhabitants, aggregation
    'sum'. Several (e.g. total population and the 15-64 year olds): the one with the
    largest median value is the whole population; without values, the first code
    whose code and label hold no digit (age bands do), then the first code. A code of
    :data:`PREFERRED_POPULATION` wins over all of this.
    """
    if dim_indicator is None or dim_indicator.empty:
        return None
    d = dim_indicator
    cand = d[(d["level"] == "commune") & (d["family"].map(fold_text) == "population")
             & d["unit"].map(_is_inhabitants) & (d["aggregation"] == "sum")]
    has_digit = {r.indicator_code: any(ch.isdigit() for ch in f"{r.indicator_code}{r.label_fr}")
                 for r in cand.itertuples()}
    codes = sorted(cand["indicator_code"], key=lambda c: (has_digit[c], c))
    for preferred in PREFERRED_POPULATION:
        if preferred in codes:
            return preferred
    if len(codes) <= 1 or fact_indicator is None or fact_indicator.empty:
        return codes[0] if codes else None
    medians = fact_indicator[fact_indicator["indicator_code"].isin(codes)].groupby("indicator_code")["value"].median()
    medians = medians.reindex(codes).fillna(-np.inf)
    return sorted(codes, key=lambda c: -medians[c])[0]  # stable sort: ties keep the first code


def indicator_transforms(dim_indicator: pd.DataFrame, fact_indicator: pd.DataFrame | None = None) -> dict[str, str]:
    """Transformation applied before correlating, for each commune-level indicator.

    - the population indicator and densities (unit per km²): ``log10``;
    - an area (unit km²): ``log10_density`` (population / area), ``log10`` without a
      population indicator;
    - other counts (aggregation 'sum'): ``per_1000_population``, or
      ``per_1000_registered`` when no population indicator exists;
    - rates, medians, percentages (aggregation 'weighted_mean'): ``identity``.
    """
    if dim_indicator is None or dim_indicator.empty:
        return {}
    pop = population_indicator(dim_indicator, fact_indicator)
    out: dict[str, str] = {}
    for row in dim_indicator[dim_indicator["level"] == "commune"].itertuples():
        if row.indicator_code == pop or _is_density(row.unit):
            out[row.indicator_code] = LOG10
        elif _is_area(row.unit):
            out[row.indicator_code] = LOG10_DENSITY if pop else LOG10
        elif row.aggregation == "sum":
            out[row.indicator_code] = PER_1000_POPULATION if pop else PER_1000_REGISTERED
        else:
            out[row.indicator_code] = IDENTITY
    return dict(sorted(out.items()))


def transformed_unit(unit: str, transform: str) -> str:
    """Unit of a transformed indicator, in French, for axis and colour-bar labels."""
    if transform == LOG10:
        return f"log10 ({unit})"
    if transform == LOG10_DENSITY:
        return f"log10 (habitants par {unit})"
    if transform == PER_1000_POPULATION:
        return f"{unit} pour 1 000 habitants"
    if transform == PER_1000_REGISTERED:
        return f"{unit} pour 1 000 inscrits"
    return unit


# --------------------------------------------------------------------------- statistics

def _pearson_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Pearson r of each row of 2-D arrays (NaN where a row is constant)."""
    w = w / w.sum(axis=1, keepdims=True)
    dx = x - (w * x).sum(axis=1, keepdims=True)
    dy = y - (w * y).sum(axis=1, keepdims=True)
    vx, vy = (w * dx * dx).sum(axis=1), (w * dy * dy).sum(axis=1)
    cov = (w * dx * dy).sum(axis=1)
    # Relative tolerance: a constant column gives a variance of rounding noise, not 0.
    tiny_x = vx <= 1e-12 * np.maximum((w * x * x).sum(axis=1), 1e-300)
    tiny_y = vy <= 1e-12 * np.maximum((w * y * y).sum(axis=1), 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    r[tiny_x | tiny_y] = np.nan
    return np.clip(r, -1.0, 1.0)


def _as_arrays(x, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    if not (x.shape == y.shape == w.shape) or x.ndim != 1:
        raise ValueError("x, y and w must be 1-D arrays of the same length")
    if (w < 0).any() or not w.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return x, y, w


def weighted_pearson(x, y, w=None) -> float:
    """Pearson r where observation i counts w[i] times (NaN if x or y is constant).

    r = sum w (x - mx)(y - my) / sqrt(sum w (x - mx)^2 * sum w (y - my)^2),
    with mx, my the weighted means.
    """
    x, y, w = _as_arrays(x, y, w)
    return float(_pearson_rows(x[None], y[None], w[None])[0])


def weighted_spearman(x, y, w=None) -> float:
    """Weighted Pearson r of the ranks (average ranks for ties, ranks not weighted)."""
    x, y, w = _as_arrays(x, y, w)
    return weighted_pearson(stats.rankdata(x), stats.rankdata(y), w)


def effective_n(w) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: n for equal weights."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum())


def weighted_p_value(r: float, w) -> float:
    """Two-sided p-value of r against 0, Student's t with n_eff - 2 degrees of freedom."""
    df = effective_n(w) - 2
    if not np.isfinite(r) or df <= 0:
        return float("nan")
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt(df / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), df))


def bootstrap_pearson_ci(x, y, w=None, *, n_boot: int = N_BOOT, rng: np.random.Generator | int | None = None,
                         level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of the weighted Pearson r (communes resampled).

    All draws are computed at once (an n_boot x n index matrix). Draws where x or y is
    constant are ignored; if all are, the interval is (NaN, NaN).
    """
    x, y, w = _as_arrays(x, y, w)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    r = _pearson_rows(x[idx], y[idx], w[idx])
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    low, high = np.quantile(r, [alpha, 1 - alpha])
    return float(low), float(high)


def pair_rng(seed: int, *keys: str) -> np.random.Generator:
    """Generator seeded by the global seed and the pair's keys (stable across runs and orders)."""
    return np.random.default_rng([int(seed), zlib.crc32("|".join(keys).encode("utf-8"))])


# --------------------------------------------------------------------------- inputs

def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.normalize()


def select_vintages(fact_indicator: pd.DataFrame, dim_election: pd.DataFrame) -> pd.DataFrame:
    """Indicator year used for each election: latest vintage published strictly before it.

    Returns election_id, indicator_code, indicator_year, published_on.
    """
    cols = ["election_id", "indicator_code", "indicator_year", "published_on"]
    if fact_indicator is None or fact_indicator.empty or dim_election is None or dim_election.empty:
        return pd.DataFrame(columns=cols)
    observed = fact_indicator[fact_indicator["value"].notna()]
    vintages = (observed.assign(published_on=_dates(observed["published_on"]))
                .groupby(["indicator_code", "indicator_year"], as_index=False)["published_on"].max())
    elections = dim_election[["election_id", "election_date"]].assign(
        election_date=_dates(dim_election["election_date"]))
    pairs = elections.merge(vintages, how="cross")
    pairs = pairs[pairs["published_on"] < pairs["election_date"]]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    pairs = pairs.sort_values(["election_id", "indicator_code", "indicator_year"])
    latest = pairs.groupby(["election_id", "indicator_code"], as_index=False).tail(1)
    return latest[cols].reset_index(drop=True)


@dataclass
class CorrelationInputs:
    """Everything the correlations are computed from, also used by the scatter plots.

    indicators: election_id, indicator_code, indicator_year, commune_code, value
    (transformed). targets: election_id, commune_code, target, value, weight.
    """

    indicators: pd.DataFrame
    targets: pd.DataFrame
    transforms: dict[str, str] = field(default_factory=dict)
    population_code: str | None = None

    def pair(self, election_id: str, indicator_code: str, target: str) -> pd.DataFrame:
        """commune_code, x (indicator), y (outcome), weight for one pair; may be empty."""
        ind = self.indicators[(self.indicators["election_id"] == election_id)
                              & (self.indicators["indicator_code"] == indicator_code)]
        tgt = self.targets[(self.targets["election_id"] == election_id) & (self.targets["target"] == target)]
        merged = tgt.merge(ind[["commune_code", "value"]].rename(columns={"value": "x"}), on="commune_code")
        return (merged.rename(columns={"value": "y"})[["commune_code", "x", "y", "weight"]]
                .sort_values("commune_code").reset_index(drop=True))


def election_targets(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Outcome of each commune at each election: bloc shares and turnout, with weights."""
    cols = ["election_id", "commune_code", "target", "value", "weight"]
    res, turnout, elections = (tables.get(k) for k in ("fact_election_result", "fact_turnout", "dim_election"))
    if turnout is None or turnout.empty or elections is None or elections.empty:
        return pd.DataFrame(columns=cols)
    frames = []
    if res is not None and not res.empty:
        res = res.merge(elections[["election_id", "election_type"]], on="election_id")
        totals = res.groupby(["election_id", "bloc_code"])["votes"].transform("sum")
        absent = res["election_type"].isin(BALLOT_VARIES_BY_COMMUNE) & (res["n_labels"] == 0)
        res = res[(totals > 0) & ~absent]
        frames.append(res[["election_id", "commune_code", "bloc_code", "share_expressed"]]
                      .rename(columns={"bloc_code": "target", "share_expressed": "value"}))
    frames.append(turnout[["election_id", "commune_code", "turnout_pct"]]
                  .rename(columns={"turnout_pct": "value"}).assign(target=TURNOUT))
    out = pd.concat(frames, ignore_index=True)
    weights = turnout[["election_id", "commune_code", "registered"]].rename(columns={"registered": "weight"})
    out = out.merge(weights, on=["election_id", "commune_code"])
    out["value"] = out["value"].astype(float)
    out["weight"] = out["weight"].astype(float)
    out = out[out["value"].notna() & (out["weight"] > 0)]
    return out[cols].sort_values(["election_id", "target", "commune_code"]).reset_index(drop=True)


def election_indicators(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, str], str | None]:
    """Transformed indicator values of the vintage used for each election.

    Returns (frame, transforms, population indicator code). Frame columns:
    election_id, indicator_code, indicator_year, commune_code, value.
    """
    cols = ["election_id", "indicator_code", "indicator_year", "commune_code", "value"]
    dim, fact = tables.get("dim_indicator"), tables.get("fact_indicator")
    if dim is None or dim.empty or fact is None or fact.empty:
        return pd.DataFrame(columns=cols), indicator_transforms(dim), None
    transforms = indicator_transforms(dim, fact)
    pop_code = population_indicator(dim, fact)
    fact = fact[fact["indicator_code"].isin(transforms)]
    vintages = select_vintages(fact, tables.get("dim_election"))
    vals = vintages.merge(fact[["indicator_code", "indicator_year", "commune_code", "value"]],
                          on=["indicator_code", "indicator_year"])
    vals = vals[vals["value"].notna()].copy()
    vals["value"] = vals["value"].astype(float)
    if pop_code is not None:
        pop = vals.loc[vals["indicator_code"] == pop_code, ["election_id", "commune_code", "value"]]
        vals = vals.merge(pop.rename(columns={"value": "_pop"}), on=["election_id", "commune_code"], how="left")
    else:
        vals["_pop"] = np.nan
    turnout = tables.get("fact_turnout")
    reg = (turnout[["election_id", "commune_code", "registered"]].rename(columns={"registered": "_reg"})
           if turnout is not None else pd.DataFrame(columns=["election_id", "commune_code", "_reg"]))
    vals = vals.merge(reg, on=["election_id", "commune_code"], how="left")
    kind = vals["indicator_code"].map(transforms)
    raw, pop, reg = vals["value"], vals["_pop"].astype(float), vals["_reg"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals["value"] = np.select(
            [kind == LOG10, kind == PER_1000_POPULATION, kind == PER_1000_REGISTERED, kind == LOG10_DENSITY],
            [np.log10(raw.where(raw > 0)), 1000 * raw / pop.where(pop > 0), 1000 * raw / reg.where(reg > 0),
             np.log10((pop / raw.where(raw > 0)).where(pop > 0))],
            default=raw)
    vals = vals[np.isfinite(vals["value"])]
    out = vals[cols].sort_values(["election_id", "indicator_code", "commune_code"]).reset_index(drop=True)
    return out, transforms, pop_code


def prepare_inputs(tables: dict[str, pd.DataFrame]) -> CorrelationInputs:
    indicators, transforms, pop_code = election_indicators(tables)
    return CorrelationInputs(indicators=indicators, targets=election_targets(tables), transforms=transforms,
                             population_code=pop_code)


# --------------------------------------------------------------------------- main entry point

def correlation_stats(x, y, w, *, n_boot: int = N_BOOT, rng: np.random.Generator | int | None = None) -> dict:
    """pearson, spearman, CI bounds and p-value of one pair (weighted by w)."""
    x, y, w = _as_arrays(x, y, w)
    r = weighted_pearson(x, y, w)
    if not np.isfinite(r):
        return {"pearson": np.nan, "spearman": np.nan, "pearson_ci_low": np.nan, "pearson_ci_high": np.nan,
                "p_value": np.nan}
    low, high = bootstrap_pearson_ci(x, y, w, n_boot=n_boot, rng=rng) if n_boot > 0 else (np.nan, np.nan)
    return {"pearson": r, "spearman": weighted_spearman(x, y, w), "pearson_ci_low": low,
            "pearson_ci_high": high, "p_value": weighted_p_value(r, w)}


def compute_correlations(tables: dict[str, pd.DataFrame], *, n_boot: int = N_BOOT, seed: int = SEED,
                         inputs: CorrelationInputs | None = None) -> pd.DataFrame:
    """fact_correlation rows for every election x commune-level indicator x target.

    ``tables`` holds warehouse tables by name (as :func:`electio.export.read_tables`
    returns them): dim_election, dim_indicator, fact_indicator, fact_turnout,
    fact_election_result. Pairs with fewer than :data:`MIN_COMMUNES` communes, no vintage
    published before the election, or a constant indicator or outcome are skipped.
    Sorted by the primary key; floats rounded to 6 decimals, so that two runs on the
    same warehouse give identical rows.
    """
    inputs = inputs or prepare_inputs(tables)
    rows = []
    targets_by_election = {e: g for e, g in inputs.targets.groupby("election_id", sort=True)}
    for (election_id, code), ind in inputs.indicators.groupby(["election_id", "indicator_code"], sort=True):
        tgt = targets_by_election.get(election_id)
        if tgt is None:
            continue
        year = int(ind["indicator_year"].iloc[0])
        merged = tgt.merge(ind[["commune_code", "value"]].rename(columns={"value": "x"}), on="commune_code")
        for target, pair in merged.groupby("target", sort=True):
            n = len(pair)
            if n < MIN_COMMUNES:
                log.debug("%s x %s x %s: %d communes < %d, skipped", election_id, code, target, n, MIN_COMMUNES)
                continue
            result = correlation_stats(pair["x"].to_numpy(), pair["value"].to_numpy(), pair["weight"].to_numpy(),
                                       n_boot=n_boot, rng=pair_rng(seed, election_id, code, target))
            if not np.isfinite(result["pearson"]):
                log.debug("%s x %s x %s: constant values, skipped", election_id, code, target)
                continue
            rows.append({"election_id": election_id, "indicator_code": code, "target": target,
                         "indicator_year": year, "n_communes": n, **result})
    out = pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
    if out.empty:
        return out.astype({"indicator_year": "int64", "n_communes": "int64"})
    floats = ["pearson", "spearman", "pearson_ci_low", "pearson_ci_high", "p_value"]
    out[floats] = out[floats].astype(float).round(6)
    return out.sort_values(["election_id", "indicator_code", "target"]).reset_index(drop=True)
