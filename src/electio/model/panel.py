"""Panel of commune x first-round election: targets, features and where each feature came from.

Targets (percent): the six bloc shares of expressed votes and turnout (voters / registered).

Features of a commune at election E use only data dated strictly before E's election day,
and every feature value carries the date of the data it came from (``Panel.sources``) so
that :func:`assert_no_leakage` can prove it:

* ``share_ref__T``, ``dev_ref__T``, ``dep_ref__T`` — the commune's value of target T (a bloc
  or turnout) at the *reference* election (last first round of the same type before E; the
  last first round of any type when E's type has no earlier election), its deviation from the
  département, and the département's value. ``has_same_type`` says which case applies.
* ``share_any__T``, ``dev_any__T``, ``dep_any__T`` — the same at the last first round of any type.
* ``dev_hist__T`` — the commune's mean deviation over every earlier first round.
* ``log_registered`` — log10 of registered voters at the last first round (size).
* ``type__<type>`` one-hot and ``territory__metropole_lyon``: static facts known in advance.
* ``ind__<code>`` — socio-economic indicators of ``fact_indicator`` (commune level): for each
  commune and indicator, the value of the latest vintage (indicator_year) *usable* strictly
  before E (and before ``indicator_cutoff`` when given); a commune whose latest vintage is
  missing (statistical secrecy) carries its previous usable value forward. Usable means,
  under the dating rule of the panel (issue 12): ``calendar`` (default) — released under the
  publisher's regular calendar (``available_on``, sources/indicators/*.toml ``[[calendar]]``);
  ``published`` — the strict sensitivity rule, the file we hold was published
  (``published_on``). The size transformation is the one rule declared with the indicator
  metadata and shared with the EDA (:mod:`electio.sources.indicators.roles`): population in
  log10, counts as ratios (per 1,000 inhabitants, per 100 dwellings...), density in log10,
  rates as published. This gap filling happens here, in memory, never in ``fact_indicator``.

Département totals of E (conditional mode) or the département forecast (unconditional mode)
are not features of the panel: they are passed to ``predict`` (see :mod:`electio.model.baselines`).
The département forecast is defined by :func:`departement_forecast`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from electio.errors import ElectioError
from electio.sources.indicators import roles

TURNOUT = "turnout"
ELECTION_TYPES = ("presidentielle", "legislatives", "europeennes")
#: Commune size bands (registered voters), used for intervals and the mae_size_* metrics.
SIZE_BANDS = ((0, 1_000, "lt1k"), (1_000, 5_000, "1k_5k"), (5_000, 20_000, "5k_20k"), (20_000, np.inf, "gt20k"))
#: Features that are facts known before any election (no source date to track).
STATIC_FEATURES = ("type__presidentielle", "type__legislatives", "type__europeennes", "territory__metropole_lyon",
                   "has_same_type")
HISTORY_KINDS = ("share_ref", "dev_ref", "dep_ref", "share_any", "dev_any", "dep_any", "dev_hist")
#: The unconditional département forecast (:func:`departement_forecast`), in words.
DEPARTEMENT_FORECAST_RULE = (
    "Bloc shares: mean of the département shares at the last first round of the same type and at the last "
    "first round of any type (the last first round alone when the type has no earlier election). Turnout: "
    "département turnout at the last first round of the same type, else of any type.")
DEFAULT_BLOCS = ("extreme_gauche", "gauche", "centre", "droite", "extreme_droite", "divers")


class LeakageError(ElectioError):
    """A feature of election E comes from data dated on or after E."""


def size_band(registered) -> np.ndarray:
    """Band label of each registered-voter count (NaN -> the smallest band)."""
    reg = np.nan_to_num(np.asarray(registered, dtype=float), nan=0.0)
    out = np.empty(reg.shape, dtype=object)
    for low, high, name in SIZE_BANDS:
        out[(reg >= low) & (reg < high)] = name
    return out


def bloc_codes(tables: dict[str, pd.DataFrame]) -> list[str]:
    bloc = tables.get("dim_bloc")
    if bloc is None or bloc.empty:
        return list(DEFAULT_BLOCS)
    return bloc.sort_values("sort_order")["bloc_code"].tolist()


def first_rounds(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """First rounds that have results: election_id, election_type, election_date, sorted by date."""
    e = tables["dim_election"]
    e = e[e["round_number"] == 1][["election_id", "election_type", "election_date"]].copy()
    e["election_date"] = pd.to_datetime(e["election_date"]).dt.normalize()
    turnout = tables.get("fact_turnout")
    if turnout is not None:
        e = e[e["election_id"].isin(set(turnout["election_id"]))]
    return e.sort_values(["election_date", "election_id"]).reset_index(drop=True)


def commune_outcomes(tables: dict[str, pd.DataFrame], blocs: list[str]) -> pd.DataFrame:
    """Index (election_id, commune_code): bloc shares, turnout (percent), votes_<bloc>, registered,
    voters, expressed."""
    res = tables["fact_election_result"]
    tu = tables["fact_turnout"].set_index(["election_id", "commune_code"])
    shares = res.pivot_table(index=["election_id", "commune_code"], columns="bloc_code", values="share_expressed",
                             aggfunc="sum").reindex(columns=blocs)
    votes = res.pivot_table(index=["election_id", "commune_code"], columns="bloc_code", values="votes",
                            aggfunc="sum").reindex(columns=blocs)
    out = shares.reindex(tu.index).fillna(0.0).astype(float)
    votes = votes.reindex(tu.index).fillna(0.0).astype(float)
    out.columns.name = None
    for b in blocs:
        out[f"votes_{b}"] = votes[b]
    reg = tu["registered"].astype(float)
    out[TURNOUT] = np.where(reg > 0, 100.0 * tu["voters"].astype(float) / reg.where(reg > 0), np.nan)
    out["registered"] = reg
    out["voters"] = tu["voters"].astype(float)
    out["expressed"] = tu["expressed"].astype(float)
    return out


def departement_totals(outcomes: pd.DataFrame, blocs: list[str]) -> pd.DataFrame:
    """True département values per election (index election_id): vote shares and turnout, percent."""
    g = outcomes.groupby(level="election_id")
    sums = g[[f"votes_{b}" for b in blocs] + ["registered", "voters", "expressed"]].sum()
    out = pd.DataFrame(index=sums.index)
    for b in blocs:
        out[b] = 100.0 * sums[f"votes_{b}"] / sums["expressed"]
    out[TURNOUT] = 100.0 * sums["voters"] / sums["registered"]
    return out


def departement_forecast(dept: pd.DataFrame, history: pd.DataFrame, election_type: str,
                         election_date) -> tuple[pd.Series, pd.Timestamp, list[str]]:
    """Unconditional département forecast of an election, from earlier first rounds only.

    Rule (fixed before any backtest was run):
    * bloc shares: the mean of the département shares at the last first round of the same
      type and at the last first round of any type (the same election when they coincide);
      the last first round of any type alone when the type has no earlier election;
    * turnout: the département turnout at the last first round of the same type (turnout
      depends mostly on the type of election), else at the last first round of any type.
    Returns (forecast by target, latest source date used, election ids used).
    """
    date = pd.Timestamp(election_date).normalize()
    prev = history[history["election_date"] < date]
    if prev.empty:
        return pd.Series(np.nan, index=dept.columns), pd.NaT, []
    last_any = prev.iloc[-1]
    same = prev[prev["election_type"] == election_type]
    used = [last_any["election_id"]]
    if same.empty:
        fc = dept.loc[last_any["election_id"]].copy()
    else:
        last_same = same.iloc[-1]
        used = sorted({last_same["election_id"], last_any["election_id"]})
        fc = (dept.loc[last_same["election_id"]] + dept.loc[last_any["election_id"]]) / 2
        fc[TURNOUT] = dept.loc[last_same["election_id"], TURNOUT]
    return fc, last_any["election_date"], used


# --------------------------------------------------------------------------- indicators

#: Dating rules of indicator values (issue 12): 'calendar' = a value is usable when the
#: publisher's regular calendar had released it (fact_indicator.available_on); 'published' =
#: only when the file we hold was published (fact_indicator.published_on, the strict
#: sensitivity rule).
DATING_RULES = ("calendar", "published")
DEFAULT_DATING = "calendar"

# One size rule for the models and the EDA (declared with the indicator metadata).
indicator_transforms = roles.indicator_transforms
population_indicator = roles.population_indicator


def usable_dates(fact: pd.DataFrame, dating: str) -> pd.Series:
    """Date from which each fact_indicator row may be used under ``dating``."""
    if dating not in DATING_RULES:
        raise ValueError(f"unknown dating rule {dating!r} (expected one of {DATING_RULES})")
    published = pd.to_datetime(fact["published_on"]).dt.normalize()
    if dating == "published" or "available_on" not in fact:
        return published
    # Rows without a calendar date (e.g. projected vintages) fall back to their publication.
    return pd.to_datetime(fact["available_on"]).dt.normalize().fillna(published)


def _latest_values(fact: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per (commune, indicator): latest non-missing value usable strictly before cutoff
    (``fact['usable_on']``)."""
    cols = ["commune_code", "indicator_code", "indicator_year", "value", "usable_on"]
    usable = fact[fact["usable_on"] < cutoff]
    if usable.empty:
        return usable[cols]
    usable = usable.sort_values(["commune_code", "indicator_code", "indicator_year", "usable_on"])
    return usable.groupby(["commune_code", "indicator_code"], sort=False).tail(1)[cols]


def indicator_features(fact: pd.DataFrame | None, role_map: dict, communes: pd.Index, cutoff: pd.Timestamp
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transformed indicator features (columns ind__<code>) and their source dates, on ``communes``.

    ``fact`` carries a ``usable_on`` date per row (:func:`usable_dates`). A ratio uses the
    denominator of the same reference year when it was usable before ``cutoff``, else the
    denominator's latest usable vintage; its source date is the later of both."""
    codes = roles.analysed(role_map)
    cols = [f"ind__{c}" for c in codes]
    values = pd.DataFrame(np.nan, index=communes, columns=cols)
    sources = pd.DataFrame(pd.NaT, index=communes, columns=cols, dtype="datetime64[ns]")
    if not codes or fact is None or fact.empty:
        return values, sources
    usable = fact[fact["usable_on"] < cutoff]
    latest = _latest_values(usable, cutoff)
    x = roles.transform_values(latest[["commune_code", "indicator_code", "indicator_year", "value"]], role_map,
                               [], pool=usable[["commune_code", "indicator_code", "indicator_year", "value"]])
    val = x.pivot(index="commune_code", columns="indicator_code", values="value").reindex(communes)
    pub = latest.pivot(index="commune_code", columns="indicator_code", values="usable_on").reindex(communes)
    den_pub = usable.groupby(["commune_code", "indicator_code"])["usable_on"].max().unstack()
    den_pub = den_pub.reindex(communes)
    for code in codes:
        if code not in val:
            continue
        src = pd.to_datetime(pub[code])
        den = role_map[code].denominator
        if den is not None and den in den_pub:
            src = pd.concat([src, pd.to_datetime(den_pub[den])], axis=1).max(axis=1)
        v = val[code].astype(float)
        values[f"ind__{code}"] = v
        sources[f"ind__{code}"] = src.where(v.notna())
    return values, sources


# --------------------------------------------------------------------------- panel

@dataclass
class Panel:
    """Rows = commune x election. ``rows``: election_id, commune_code, election_type, election_date,
    registered, expressed (at E; NaN for a future election), registered_prev, size_band (from
    registered_prev), territory. ``X``: features; ``sources``: date of the data behind each feature
    value (NaT for static features and missing values); ``y``: actual targets (NaN if unknown).
    ``dept``: true département values of every election with results (index election_id);
    ``dept_forecast``: unconditional département forecast of each panel election, with
    ``dept_forecast_source`` (latest date used) and ``dept_forecast_used`` (elections used)."""

    rows: pd.DataFrame
    X: pd.DataFrame
    sources: pd.DataFrame
    y: pd.DataFrame
    dept: pd.DataFrame
    dept_forecast: pd.DataFrame
    dept_forecast_source: pd.Series
    dept_forecast_used: dict = field(default_factory=dict)
    blocs: list = field(default_factory=lambda: list(DEFAULT_BLOCS))
    transforms: dict = field(default_factory=dict)
    #: Dating rule of the ``ind__`` features of ``X`` (:data:`DATING_RULES`).
    dating: str = DEFAULT_DATING
    #: The ``ind__`` features (and their source dates) under the other dating rule, when
    #: built with ``alternative_dating=True``: {rule: (X_ind, sources_ind)}.
    alternatives: dict = field(default_factory=dict)

    @property
    def targets(self) -> list[str]:
        return list(self.blocs) + [TURNOUT]

    @property
    def elections(self) -> list[str]:
        return list(dict.fromkeys(self.rows["election_id"]))

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, mask) -> "Panel":
        mask = np.asarray(mask, dtype=bool)
        take = lambda f: f.loc[mask].reset_index(drop=True)  # noqa: E731
        alternatives = {k: (take(x), take(src)) for k, (x, src) in self.alternatives.items()}
        return replace(self, rows=take(self.rows), X=take(self.X), sources=take(self.sources), y=take(self.y),
                       alternatives=alternatives)

    def with_dating(self, dating: str) -> "Panel":
        """The same panel with the ``ind__`` features of another dating rule (built with
        ``alternative_dating=True``)."""
        if dating == self.dating:
            return self
        if dating not in self.alternatives:
            raise ElectioError(f"the panel has no {dating!r} indicator features (build_panel(alternative_dating=True))")
        x_ind, s_ind = self.alternatives[dating]
        keep = [c for c in self.X.columns if not c.startswith("ind__")]
        X = pd.concat([self.X[keep], x_ind], axis=1)
        S = pd.concat([self.sources[keep], s_ind], axis=1)
        alternatives = {k: v for k, v in self.alternatives.items() if k != dating}
        alternatives[self.dating] = (self.X[[c for c in self.X.columns if c.startswith("ind__")]],
                                     self.sources[[c for c in self.sources.columns if c.startswith("ind__")]])
        return replace(self, X=X, sources=S, dating=dating, alternatives=alternatives)

    def without_indicators(self) -> "Panel":
        """Results-only features (the ``ind__`` columns dropped)."""
        keep = [c for c in self.X.columns if not c.startswith("ind__")]
        return replace(self, X=self.X[keep], sources=self.sources[keep], alternatives={})

    def for_elections(self, election_ids) -> "Panel":
        return self.subset(self.rows["election_id"].isin(list(election_ids)).to_numpy())

    def departement_inputs(self, mode: str) -> pd.DataFrame:
        """Département values given to the models for each row: the true totals of the row's
        election ('conditional') or the unconditional forecast ('unconditional')."""
        if mode == "conditional":
            src = self.dept
        elif mode == "unconditional":
            src = self.dept_forecast
        else:
            raise ValueError(f"unknown mode {mode!r}")
        out = src.reindex(self.rows["election_id"])[self.targets]
        if out.isna().any().any():
            missing = sorted(set(self.rows["election_id"][out.isna().any(axis=1).to_numpy()]))
            raise ElectioError(f"no {mode} département values for {missing}")
        return out.reset_index(drop=True)


def build_panel(tables: dict[str, pd.DataFrame], targets: pd.DataFrame | None = None, *,
                indicator_cutoff=None, dating: str = DEFAULT_DATING, alternative_dating: bool = True) -> Panel:
    """Panel rows for ``targets`` (election_id, election_type, election_date; default: every first
    round with results). A target election without results (a future one) gets one row per
    commune of dim_commune and NaN targets. ``indicator_cutoff``: indicators must also be usable
    strictly before this date. ``dating``: which date makes an indicator value usable
    (:data:`DATING_RULES`); ``alternative_dating`` (default) also builds the features of the other
    rule (:meth:`Panel.with_dating`, used by the dating variants of :mod:`electio.model.feature_groups`)."""
    blocs = bloc_codes(tables)
    tgts = blocs + [TURNOUT]
    history = first_rounds(tables)
    outcomes = commune_outcomes(tables, blocs)
    outcomes = outcomes[outcomes.index.get_level_values("election_id").isin(set(history["election_id"]))]
    dept = departement_totals(outcomes, blocs)
    dev = outcomes[tgts] - dept.reindex(outcomes.index.get_level_values("election_id"))[tgts].to_numpy()
    if targets is None:
        targets = history
    targets = targets.assign(election_date=pd.to_datetime(targets["election_date"]).dt.normalize())
    communes_ref = tables["dim_commune"].set_index("commune_code")
    territory = communes_ref["territory"] if "territory" in communes_ref else pd.Series(dtype=object)

    dim_ind, fact_ind = tables.get("dim_indicator"), tables.get("fact_indicator")
    role_map = roles.indicator_roles(dim_ind)
    transforms = indicator_transforms(dim_ind)
    other_rules = [r for r in DATING_RULES if r != dating] if alternative_dating else []
    facts = {}
    if fact_ind is not None and not fact_ind.empty:
        fact_ind = fact_ind[fact_ind["value"].notna() & fact_ind["indicator_code"].isin(role_map)]
        for rule in [dating] + other_rules:
            facts[rule] = fact_ind.assign(usable_on=usable_dates(fact_ind, rule))
    alt_x = {r: [] for r in other_rules}
    alt_s = {r: [] for r in other_rules}
    cutoff_all = pd.Timestamp(indicator_cutoff).normalize() if indicator_cutoff is not None else None

    frames_rows, frames_x, frames_src, frames_y = [], [], [], []
    fc_rows, fc_src, fc_used = {}, {}, {}
    for t in targets.itertuples(index=False):
        eid, etype, edate = t.election_id, t.election_type, t.election_date
        if etype not in ELECTION_TYPES:
            raise ElectioError(f"unknown election type {etype!r} for {eid}")
        prev = history[history["election_date"] < edate]
        if eid in outcomes.index.get_level_values("election_id"):
            communes = outcomes.loc[eid].index
        else:
            communes = pd.Index(sorted(communes_ref.index), name="commune_code")
        n = len(communes)
        X = pd.DataFrame(index=communes)
        S = pd.DataFrame(index=communes)
        same = prev[prev["election_type"] == etype]
        last_any = prev.iloc[-1] if len(prev) else None
        ref = same.iloc[-1] if len(same) else last_any
        for kind, row in (("ref", ref), ("any", last_any)):
            for target in tgts:
                if row is None:
                    vals = pd.Series(np.nan, index=communes)
                    d = np.nan
                    date = pd.NaT
                else:
                    vals = outcomes.loc[row.election_id][target].reindex(communes)
                    d = dept.loc[row.election_id, target]
                    date = row.election_date
                X[f"share_{kind}__{target}"] = vals
                X[f"dev_{kind}__{target}"] = vals - d
                X[f"dep_{kind}__{target}"] = d
                for col in (f"share_{kind}__{target}", f"dev_{kind}__{target}", f"dep_{kind}__{target}"):
                    S[col] = pd.Series(date, index=communes).where(X[col].notna())
        if len(prev):
            past = dev[dev.index.get_level_values("election_id").isin(set(prev["election_id"]))]
            hist = past.groupby(level="commune_code").mean().reindex(communes)
            reg_prev = outcomes.loc[last_any.election_id]["registered"].reindex(communes)
        else:
            hist = pd.DataFrame(np.nan, index=communes, columns=tgts)
            reg_prev = pd.Series(np.nan, index=communes)
        for target in tgts:
            X[f"dev_hist__{target}"] = hist[target]
            S[f"dev_hist__{target}"] = pd.Series(last_any.election_date if last_any is not None else pd.NaT,
                                                 index=communes).where(hist[target].notna())
        X["log_registered"] = np.log10(reg_prev.where(reg_prev > 0))
        S["log_registered"] = pd.Series(last_any.election_date if last_any is not None else pd.NaT,
                                        index=communes).where(X["log_registered"].notna())
        for ty in ELECTION_TYPES:
            X[f"type__{ty}"] = float(etype == ty)
        X["territory__metropole_lyon"] = (territory.reindex(communes) == "metropole_lyon").astype(float).to_numpy()
        X["has_same_type"] = float(len(same) > 0)
        for col in STATIC_FEATURES:
            S[col] = pd.NaT
        cutoff = edate if cutoff_all is None else min(edate, cutoff_all)
        ind_x, ind_s = indicator_features(facts.get(dating), role_map, communes, cutoff)
        for rule in other_rules:
            ax, asrc = indicator_features(facts.get(rule), role_map, communes, cutoff)
            alt_x[rule].append(ax.reset_index(drop=True))
            alt_s[rule].append(asrc.reset_index(drop=True).apply(pd.to_datetime))
        X = pd.concat([X, ind_x], axis=1)
        S = pd.concat([S, ind_s], axis=1)

        rows = pd.DataFrame({"election_id": eid, "commune_code": communes, "election_type": etype,
                             "election_date": edate}, index=communes)
        if eid in outcomes.index.get_level_values("election_id"):
            o = outcomes.loc[eid].reindex(communes)
            rows["registered"], rows["expressed"] = o["registered"], o["expressed"]
            y = o[tgts]
        else:
            rows["registered"], rows["expressed"] = np.nan, np.nan
            y = pd.DataFrame(np.nan, index=communes, columns=tgts)
        rows["registered_prev"] = reg_prev
        rows["size_band"] = size_band(reg_prev)
        rows["territory"] = territory.reindex(communes).to_numpy() if len(territory) else None
        frames_rows.append(rows.reset_index(drop=True))
        frames_x.append(X.reset_index(drop=True))
        frames_src.append(S.reset_index(drop=True).apply(pd.to_datetime))
        frames_y.append(y.reset_index(drop=True))
        fc, src, used = departement_forecast(dept, history, etype, edate)
        fc_rows[eid], fc_src[eid], fc_used[eid] = fc, src, used

    if not frames_rows:
        raise ElectioError("no election to build a panel for")
    X = pd.concat(frames_x, ignore_index=True).astype(float)
    frames_x.clear()  # released as soon as joined: all of France makes these hundreds of MB
    S = pd.concat(frames_src, ignore_index=True)
    frames_src.clear()
    S = S[list(X.columns)]
    panel = Panel(rows=pd.concat(frames_rows, ignore_index=True), X=X, sources=S,
                  y=pd.concat(frames_y, ignore_index=True).astype(float), dept=dept,
                  dept_forecast=pd.DataFrame(fc_rows).T[tgts].astype(float),
                  dept_forecast_source=pd.Series(fc_src, dtype="datetime64[ns]"),
                  dept_forecast_used=fc_used, blocs=blocs, transforms=transforms, dating=dating,
                  alternatives={r: (pd.concat(alt_x[r], ignore_index=True).astype(float),
                                    pd.concat(alt_s[r], ignore_index=True)) for r in other_rules})
    return panel


def assert_no_leakage(panel: Panel) -> None:
    """Raise :class:`LeakageError` unless every feature value of every row of election E comes
    from data dated strictly before E, every non-static feature value has a source date, and
    the unconditional département forecast of E uses only elections before E."""
    dates = pd.to_datetime(panel.rows["election_date"])
    src = panel.sources[list(panel.X.columns)]
    late = src.ge(dates, axis=0)
    problems = []
    if late.to_numpy().any():
        for col in src.columns[late.any(axis=0).to_numpy()]:
            bad = panel.rows.loc[late[col].to_numpy(), "election_id"].unique()
            problems.append(f"{col}: data dated on or after election {sorted(bad)}")
    tracked = ~panel.X.columns.isin(STATIC_FEATURES)
    untracked = panel.X.loc[:, tracked].notna() & src.loc[:, tracked].isna()
    if untracked.to_numpy().any():
        cols = list(panel.X.columns[tracked][untracked.any(axis=0).to_numpy()])
        problems.append(f"features with values but no source date: {cols}")
    edates = panel.rows.drop_duplicates("election_id").set_index("election_id")["election_date"]
    fsrc = panel.dept_forecast_source.reindex(edates.index)
    bad_fc = fsrc.notna() & (fsrc >= pd.to_datetime(edates))
    if bad_fc.any():
        problems.append(f"département forecast uses data on or after {sorted(edates.index[bad_fc])}")
    if problems:
        raise LeakageError("leakage in the panel: " + "; ".join(problems))
