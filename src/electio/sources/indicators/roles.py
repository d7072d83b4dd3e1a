"""The one rule that makes indicator values comparable across communes of different sizes.

Declared with the indicator metadata (``transform``, ``denominator``, ``scale`` of each
``[[indicator]]`` of the family TOML files, copied into ``dim_indicator``) and applied by both
the exploratory correlations (:mod:`electio.eda.correlation`) and the model panel
(:mod:`electio.model.panel`), so that a relation described in the report and a feature used by
a model are the same number.

* ``identity``: rates, medians, shares, as published;
* ``log10``: the population itself (size);
* ``ratio``: ``scale x value / denominator`` of the same commune (e.g. job seekers per 1,000
  inhabitants, vacant dwellings per 100 dwellings); the denominator is taken from the same
  reference year when it exists, else from the denominator's own selected vintage;
* ``log10_density``: log10(denominator / value) for an area (inhabitants per km²);
* ``none``: weights and size proxies, not analysed.

A warehouse without these columns (older build, synthetic tests) gets the defaults of
:func:`electio.sources.indicators._role`: a commune count per 1,000 inhabitants of
:data:`POPULATION_CODE`, a rate as published, the population indicator in log10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.sources.indicators import POPULATION_CODE

IDENTITY, LOG10, RATIO, LOG10_DENSITY, NONE = "identity", "log10", "ratio", "log10_density", "none"


@dataclass(frozen=True)
class Role:
    transform: str
    denominator: str | None = None
    scale: float | None = None
    redundant_with: str | None = None

    @property
    def label_fr(self) -> str:
        if self.transform == LOG10:
            return "logarithme décimal de la valeur publiée"
        if self.transform == LOG10_DENSITY:
            return "densité : logarithme décimal des habitants par km²"
        if self.transform == RATIO:
            return f"pour {fmt_scale(self.scale)} {DENOMINATOR_FR.get(self.denominator, self.denominator)}"
        return "valeur publiée (taux, médiane ou part)"


DENOMINATOR_FR = {POPULATION_CODE: "habitants", "actifs_15_64": "actifs de 15 à 64 ans", "logements": "logements",
                  "nb_personnes_menages_fiscaux": "personnes des ménages fiscaux"}


def fmt_scale(scale: float | None) -> str:
    return f"{int(scale or 1):,}".replace(",", "\u202f")


def _clean(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def indicator_roles(dim_indicator: pd.DataFrame | None) -> dict[str, Role]:
    """Role of every commune-level indicator of ``dim_indicator`` (sorted by code)."""
    if dim_indicator is None or dim_indicator.empty:
        return {}
    out: dict[str, Role] = {}
    d = dim_indicator[dim_indicator["level"] == "commune"] if "level" in dim_indicator else dim_indicator
    codes = set(d["indicator_code"])
    for r in d.sort_values("indicator_code").to_dict("records"):
        transform = _clean(r.get("transform"))
        if transform is None:  # no declared role: the defaults of the TOML loader
            if r["indicator_code"] == POPULATION_CODE:
                transform = LOG10
            elif str(r.get("unit", "")).replace(" ", "").lower() in ("km²", "km2"):
                transform = LOG10_DENSITY
            else:
                transform = RATIO if r.get("aggregation") == "sum" else IDENTITY
        denominator = _clean(r.get("denominator"))
        scale = _clean(r.get("scale"))
        if transform in (RATIO, LOG10_DENSITY):
            denominator = denominator or POPULATION_CODE
            if transform == RATIO:
                scale = float(scale) if scale is not None else 1000.0
        if denominator is not None and denominator not in codes:
            transform = NONE  # its denominator is not in this warehouse: cannot be made comparable
        out[r["indicator_code"]] = Role(transform, denominator, scale, _clean(r.get("redundant_with")))
    return out


def analysed(roles: dict[str, Role]) -> list[str]:
    """Indicators that enter correlations and models (transform other than 'none')."""
    return [c for c, r in roles.items() if r.transform != NONE]


def transform_values(values: pd.DataFrame, roles: dict[str, Role], group: list[str],
                     pool: pd.DataFrame | None = None) -> pd.DataFrame:
    """Transformed values of a long frame ``group + [commune_code, indicator_code, indicator_year,
    value]`` (one selected vintage per group x commune x indicator). A ratio's denominator is
    the denominator's value of the same commune and reference year in ``pool`` (commune_code,
    indicator_code, indicator_year, value; default: ``values``), else the denominator's own
    selected vintage in ``values``. Non-finite results (division by 0, log of 0) are dropped.
    Returns the same columns, value transformed, only analysed indicators."""
    cols = list(values.columns)
    if values.empty:
        return values
    values = values[values["indicator_code"].isin(roles)]
    key = group + ["commune_code"]
    kinds = values["indicator_code"].map(lambda c: roles[c].transform)
    raw = values["value"].astype(float)
    out = pd.Series(np.nan, index=values.index)
    out[kinds == IDENTITY] = raw[kinds == IDENTITY]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[kinds == LOG10] = np.log10(raw[kinds == LOG10].where(raw > 0))
    needs = values[kinds.isin([RATIO, LOG10_DENSITY])]
    if not needs.empty:
        den_codes = needs["indicator_code"].map(lambda c: roles[c].denominator)
        names = {"indicator_code": "_den", "value": "_d", "indicator_year": "_y"}
        own = values[values["indicator_code"].isin(set(den_codes))].rename(columns=names)
        src = (own if pool is None else pool[pool["indicator_code"].isin(set(den_codes))].rename(columns=names))
        src = src[["commune_code", "_den", "_y", "_d"]].drop_duplicates(["commune_code", "_den", "_y"])
        probe = needs[key + ["indicator_year"]].assign(_den=den_codes.to_numpy(), _i=needs.index)
        same = probe.merge(src, left_on=["commune_code", "_den", "indicator_year"],
                           right_on=["commune_code", "_den", "_y"], how="left").set_index("_i")["_d"]
        # Fallback: the denominator's own selected vintage in the group.
        latest = own.sort_values("_y").groupby(key + ["_den"], as_index=False).tail(1)
        other = probe.merge(latest[key + ["_den", "_d"]], on=key + ["_den"], how="left").set_index("_i")["_d"]
        den = same.fillna(other).reindex(needs.index).astype(float)
        x = raw[needs.index]
        scale = needs["indicator_code"].map(lambda c: roles[c].scale or 1.0).astype(float)
        is_ratio = kinds[needs.index] == RATIO
        with np.errstate(divide="ignore", invalid="ignore"):
            out[needs.index[is_ratio]] = (scale * x / den.where(den > 0))[is_ratio]
            out[needs.index[~is_ratio]] = np.log10((den / x.where(x > 0)).where(den > 0))[~is_ratio]
    result = values.assign(value=out)
    result = result[np.isfinite(result["value"].astype(float))]
    return result[cols]


def transformed_unit(unit: str, role: Role) -> str:
    """Unit of a transformed indicator, in French, for axis labels."""
    if role.transform == LOG10:
        return f"log10 ({unit})"
    if role.transform == LOG10_DENSITY:
        return "log10 (habitants par km²)"
    if role.transform == RATIO:
        return f"{unit} pour {fmt_scale(role.scale)} {DENOMINATOR_FR.get(role.denominator, role.denominator)}"
    return unit


# --------------------------------------------------------------------------- string keys
# Analyses and the report name a role by a short key: 'identity', 'log10', 'log10_density',
# 'per_1000_population' (the usual count per 1,000 inhabitants) or 'ratio:<scale>:<denominator>'.

PER_1000_POPULATION = "per_1000_population"


def role_key(role: Role) -> str:
    if role.transform != RATIO:
        return role.transform
    if role.denominator == POPULATION_CODE and (role.scale or 0) == 1000:
        return PER_1000_POPULATION
    return f"ratio:{fmt_scale(role.scale).replace(chr(0x202f), '')}:{role.denominator}"


def role_from_key(key: str) -> Role:
    if key == PER_1000_POPULATION:
        return Role(RATIO, POPULATION_CODE, 1000.0)
    if key.startswith("ratio:"):
        _, scale, den = key.split(":", 2)
        return Role(RATIO, den, float(scale))
    return Role(key)


def indicator_transforms(dim_indicator: pd.DataFrame | None, fact_indicator: pd.DataFrame | None = None
                         ) -> dict[str, str]:
    """Role key of every analysed commune-level indicator (``fact_indicator`` is not needed:
    the rule is declared, not guessed from values; the argument is kept for callers)."""
    return {c: role_key(r) for c, r in indicator_roles(dim_indicator).items() if r.transform != NONE}


def population_indicator(dim_indicator: pd.DataFrame | None, fact_indicator: pd.DataFrame | None = None
                         ) -> str | None:
    """The population indicator every per-inhabitant ratio divides by, if the warehouse has it."""
    if dim_indicator is None or dim_indicator.empty:
        return None
    return POPULATION_CODE if POPULATION_CODE in set(dim_indicator["indicator_code"]) else None


def transform_label_fr(key: str) -> str:
    return role_from_key(key).label_fr


def transformed_unit_key(unit: str, key: str) -> str:
    return transformed_unit(unit, role_from_key(key))
