"""Assemble the warehouse tables from the sources, with lineage and quality checks.

Data flows one way: resolve files -> parse (staging) -> harmonise (transform) ->
check -> tables keyed by their sql/schema.sql name. Nothing here writes to the
warehouse; :mod:`electio.warehouse.load` does, all at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from electio.sources.catalog import load_catalog
import importlib
import time

from electio.sources.elections import StagedElection, aktiur, agregees, euro2024, pres2012
from electio.sources.indicators import IndicatorSpec, load_calendar_rules, load_indicator_specs
from electio.sources.geography import (parse_cog_communes, parse_etalab_communes, parse_etalab_epci,
                                       parse_geojson_features)
from electio.sources.resolve import ResolvedFile, resolve_source
from electio.errors import ElectioError
from electio.settings import Settings, project_file
from electio.sources.elections.national import parse_official
from electio.sources.readers import insee_departement
from electio.transform.national import DEPARTEMENT_COLUMNS as DEPARTEMENT_RESULT_COLUMNS, NationalBuild, NationalFile, build_national
from electio.transform import context, quality
from electio.perimeter import Perimeter, load_perimeter
from electio.transform.communes import build_code_map, build_dim_commune, commune_shapes
from electio.warehouse.frames import share_strings_all
from electio.warehouse.geometry import geometry_rows
from shapely.geometry import shape
from electio.transform.elections import (ElectionFacts, ElectionSpec, harmonise_election,
                                         load_election_specs, stage_election)
from electio.transform.indicators import (DEPARTEMENT_COLUMNS, FACT_COLUMNS, departement_values, first_release,
                                          harmonise_indicators, measure_revisions)
from electio.transform.politics import load_blocs, load_nuances

log = logging.getLogger("electio.pipeline")

#: Reference geography: latest official code list available in the catalog.
REFERENCE_COMMUNES = ("etalab_decoupage_administratif_2026", "communes.json")
REFERENCE_EPCI = ("etalab_decoupage_administratif_2026", "epci.json")
REFERENCE_COG = ("cog_communes_insee_2025", "v_commune_2025.csv")
REFERENCE_VINTAGE = 2026
BUREAU_FACT_COLUMNS = ["election_id", "commune_code", "bureau_code", "registered", "voters", "expressed"]


@dataclass
class Lineage:
    """Every file the build read, where it came from, and what became of its rows."""

    settings: Settings
    files: dict[tuple[str, str], ResolvedFile] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    _rejected_keys: set = field(default_factory=set, repr=False)

    def resolve(self, source_id: str, file_name: str) -> Path:
        key = (source_id, file_name)
        if key not in self.files:
            self.files[key] = resolve_source(source_id, file_name, settings=self.settings)
        return self.files[key].path

    def reject(self, source_id: str, file_name: str, row_number, reason: str) -> None:
        """One rejected source row (meta_rejected_row), recorded once: for all of France the
        perimeter's build and the context build read the same national files, and a row is one
        fact whichever build read it (the first reason is kept)."""
        key = (source_id, file_name, row_number)
        if key not in self._rejected_keys:
            self._rejected_keys.add(key)
            self.rejected.append({"source_id": source_id, "file_name": file_name, "row_number": row_number,
                                  "reason": reason})

    def record(self, source_id: str, file_name: str, purpose: str, *, read: int, loaded: int,
               rejected: int = 0) -> None:
        self.rows.append({"source_id": source_id, "file_name": file_name, "purpose": purpose,
                          "rows_read": read, "rows_loaded": loaded, "rows_rejected": rejected})

    def meta_source(self) -> pd.DataFrame:
        rows = []
        for r in self.rows:
            f = self.files[(r["source_id"], r["file_name"])]
            rows.append({"source_id": r["source_id"], "file_name": r["file_name"], "sha256": f.sha256,
                         "file_bytes": f.bytes, "resolved_from": f.origin, "purpose": r["purpose"],
                         "rows_read": r["rows_read"], "rows_loaded": r["rows_loaded"],
                         "rows_rejected": r["rows_rejected"]})
        frame = pd.DataFrame(rows, columns=["source_id", "file_name", "sha256", "file_bytes", "resolved_from",
                                            "purpose", "rows_read", "rows_loaded", "rows_rejected"])
        return frame.sort_values(["source_id", "file_name", "purpose"]).reset_index(drop=True)


@dataclass
class Geography:
    dim_commune: pd.DataFrame
    code_map: pd.DataFrame  # every known code -> reference commune (all départements)
    geometry: pd.DataFrame  # dim_commune_geometry


def build_geography(lineage: Lineage, perimeter: Perimeter) -> Geography:
    src, name = REFERENCE_COMMUNES
    etalab = parse_etalab_communes(lineage.resolve(src, name))
    epci = parse_etalab_epci(lineage.resolve(*REFERENCE_EPCI))
    cog = parse_cog_communes(lineage.resolve(*REFERENCE_COG))
    features = []
    for dep, boundary in perimeter.boundary_files():
        read = parse_geojson_features(lineage.resolve(*boundary))
        features += read
        lineage.record(*boundary, f"commune boundaries {dep}", read=len(read), loaded=len(read))
    code_map = build_code_map(etalab)
    deps = list(perimeter.departements)
    all_shapes = commune_shapes(features, code_map)  # unions of polygons: computed once, used twice
    dim = build_dim_commune(etalab, epci, cog, all_shapes, departement=deps,
                            cog_vintage=REFERENCE_VINTAGE, territories={f.code: f.territories for f in perimeter.files})
    lineage.record(src, name, "reference commune list", read=len(etalab),
                   loaded=int(etalab["departement"].isin(deps).sum()))
    lineage.record(*REFERENCE_EPCI, "EPCI membership", read=len(epci),
                   loaded=int(dim["epci_code"].notna().sum()))
    lineage.record(*REFERENCE_COG, "sub-territories (CTCD) and cantons", read=len(cog),
                   loaded=int(dim["canton_code"].notna().sum()))
    own = set(dim["commune_code"])
    shapes = {code: geom for code, geom in all_shapes.items() if code in own}
    parents: dict[str, str] = {}
    for f in perimeter.files:
        if f.arrondissement_boundaries:
            arr = [(c, g) for c, g in parse_geojson_features(lineage.resolve(*f.arrondissement_boundaries))
                   if c in f.arrondissement_codes]
            lineage.record(*f.arrondissement_boundaries, f"arrondissement boundaries {f.code}", read=len(arr),
                           loaded=len(arr))
            shapes.update({c: shape(g) for c, g in arr})
            parents.update({c: f.arrondissement_commune for c, _ in arr})
    return Geography(dim_commune=dim, code_map=code_map, geometry=geometry_rows(shapes, parents))


@dataclass
class ElectionBuild:
    elections: list[dict] = field(default_factory=list)
    facts: list[ElectionFacts] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def build_elections(lineage: Lineage, geo: Geography, perimeter: Perimeter, nuances: pd.DataFrame,
                    specs: list[ElectionSpec] | None = None,
                    france_archive: FranceArchive | None = None) -> ElectionBuild:
    """Commune facts of every election with a source covering the whole perimeter.

    Parsers get the perimeter's département codes, or "*" for all of France (then
    rows abroad and non-commune units are rejected and counted, not filtered).
    """
    departement = "*" if perimeter.is_france else list(perimeter.departements)
    deps = list(perimeter.departements)
    specs = specs or load_election_specs()
    out = ElectionBuild()
    reference = set(geo.dim_commune["commune_code"])
    uninhabited = set(geo.dim_commune.loc[geo.dim_commune["population"].fillna(-1) == 0, "commune_code"])
    dep_map = geo.code_map[geo.code_map["commune_code"].isin(reference)]
    for spec in tqdm(specs, desc="elections", unit="election", disable=None):
        source = spec.source_for(deps)
        if source is None:
            out.missing.append(spec.id)
            out.checks.append(quality.check("election_available", spec.id, "missing",
                                            f"no source in the catalog covers the perimeter {perimeter.text}"))
            log.warning("%s: no source for the perimeter %s, reported as missing", spec.id, perimeter.text)
            continue
        if source["parser"] == "euro2024_france" and france_archive is not None:
            staged = france_archive().restricted(deps)
        else:
            staged = stage_election(source, departement, lineage.resolve)
        if staged.bureaux is None and (b := spec.bureaux_for(deps)):
            staged.bureaux = agregees.parse_bureaux(lineage.resolve(b["source"], b["file"]), election_key=b["key"])
            lineage.record(b["source"], b["file"], f"bureaux {spec.id}", read=len(staged.bureaux),
                           loaded=len(staged.bureaux))
        where = f"{source['source']}/{source['file']}"
        facts = harmonise_election(spec.id, staged, dep_map, nuances, where=where)
        out.facts.append(facts)
        out.elections.append({"election_id": spec.id, "election_type": spec.type, "election_year": spec.year,
                              "round_number": spec.round, "election_date": spec.date,
                              "label_fr": spec.label_fr, "source_id": source["source"],
                              "source_file": source["file"]})
        _record_election_lineage(lineage, spec, source, staged, facts)
        out.checks += quality.check_staged(spec.id, staged)
        out.checks += quality.check_facts(spec.id, facts, reference, votes_rebuilt=staged.votes_rebuilt,
                                          uninhabited=uninhabited)
        if source.get("provisional"):
            out.checks.append(quality.check("final_results", spec.id, "warn",
                                            f"{where} is built from the provisional results file"))
        for spec_check in spec.checks_for(deps):
            out.checks += _cross_check(lineage, spec, spec_check, facts, geo, deps)
        log.info("%s: %d communes, %d registered, %d expressed", spec.id, len(facts.turnout),
                 facts.turnout["registered"].sum(), facts.turnout["expressed"].sum())
    return out


def _record_election_lineage(lineage: Lineage, spec: ElectionSpec, source: dict, staged, facts) -> None:
    sid = source["source"]
    rejected_by_file: dict[str, int] = {}
    for r in staged.rejected:
        rejected_by_file[r.file_name] = rejected_by_file.get(r.file_name, 0) + 1
        lineage.reject(sid, r.file_name, r.line, r.reason)
    purpose = f"results {spec.id}"
    if source["parser"] == "agregees":
        n_t = len(staged.turnout)
        lineage.record(sid, source["turnout_file"], f"turnout {spec.id}", read=n_t, loaded=n_t)
        read_c = staged.rows_read - n_t
        rej = rejected_by_file.get(source["file"], 0)
        lineage.record(sid, source["file"], purpose, read=read_c, loaded=read_c - rej, rejected=rej)
    else:
        lineage.record(sid, source["file"], purpose, read=staged.rows_read, loaded=staged.rows_kept,
                       rejected=rejected_by_file.get(source["file"], 0))


def _loaded_totals(facts: ElectionFacts) -> dict[str, int]:
    totals = {k: int(facts.turnout[k].sum()) for k in ("registered", "voters", "expressed")}
    totals.update({k: int(v) for k, v in facts.labels.groupby("label")["votes"].sum().items()})
    return totals


def _cross_check(lineage: Lineage, spec: ElectionSpec, c: dict, facts: ElectionFacts, geo: Geography,
                 departement: list[str]) -> list[dict]:
    kind, tol = c["kind"], int(c.get("tolerance", 0))
    loaded = _loaded_totals(facts)
    if kind == "published_totals":
        ref = {k: v for k, v in c.items() if k not in ("kind", "departements")}
        return [quality.compare_totals("departement_totals_vs_published", spec.id,
                                       {k: loaded[k] for k in ref if k in loaded}, ref,
                                       source="figures quoted in issue 2 (Rhône, 2017 T1)")]
    path = lineage.resolve(c["source"], c["file"]) if "file" in c else None
    if kind == "aktiur_departement":
        try:
            ref = aktiur.parse_departement_totals(path, departement=departement)
        except ValueError as exc:  # e.g. Wallis-et-Futuna alone: one non-commune unit, rejected
            return [quality.check("departement_totals_vs_source", spec.id, "n/a", f"not comparable: {exc}")]
        ref = ref.rename({"inscrits": "registered", "votants": "voters", "exprimes": "expressed"})
        ref = ref.drop(labels=[k for k in ("blancs",) if k in ref.index])
        lineage.record(c["source"], c["file"], f"check {spec.id}", read=1, loaded=0)
        return [quality.compare_totals("departement_totals_vs_source", spec.id, loaded, ref.to_dict(),
                                       source=c["file"], tolerance=tol)]
    if kind == "pres2012_cantons":
        ref = pres2012.parse_canton_totals(path, departement=departement)
        lineage.record(c["source"], c["file"], f"check {spec.id}", read=len(ref), loaded=0)
        return [quality.compare_totals("departement_totals_vs_cantons", spec.id, loaded, ref.to_dict(),
                                       source=c["file"], tolerance=tol)]
    if kind == "agregees_turnout":
        turnout, read = agregees.parse_turnout(path, election_key=c["key"])
        ref = {k: int(turnout[k].sum()) for k in ("registered", "voters", "expressed")}
        lineage.record(c["source"], c["file"], f"check {spec.id}", read=read, loaded=0)
        return [quality.compare_totals("departement_totals_vs_aggregated_file", spec.id,
                                       {k: loaded[k] for k in ref}, ref, source=c["file"], tolerance=tol)]
    if kind == "euro2024_json":
        return _check_euro2024(lineage, spec, c, loaded)
    raise ValueError(f"unknown check kind {kind!r} in elections.toml")


def _check_euro2024(lineage: Lineage, spec: ElectionSpec, c: dict, loaded: dict[str, int]) -> list[dict]:
    source = load_catalog()[c["source"]]
    turnouts, truncated, cells = [], 0, 0
    for f in source.files:
        turnout, lists = euro2024.parse_commune(lineage.resolve(source.id, f.name))
        turnouts.append(turnout)
        truncated += int(lists["truncated"].sum())
        cells += len(lists)
        lineage.record(source.id, f.name, f"check {spec.id}", read=len(lists) + 1, loaded=0)
    frame = pd.DataFrame(turnouts)
    ref = {k: int(frame[k].sum()) for k in ("registered", "voters", "expressed")}
    return [
        quality.compare_totals("departement_totals_vs_ministry_site", spec.id, {k: loaded[k] for k in ref},
                               ref, source=f"{source.id} summaryTable ({len(frame)} communes)"),
        quality.check("ministry_site_truncated_counts", spec.id, "warn",
                      f"{truncated} of {cells} list x commune counts on the Ministry site disagree with "
                      "percentage2 x exprimés (thousands truncated, mirror caveat 7); those counts are not "
                      "loaded: votes come from the aggregated file", observed=truncated, expected=0),
    ]


NATIONAL_OFFICIAL = ("national_results", "national_results.csv")


#: The France-wide archive, parsed when first called (see _france_archive).
FranceArchive = Callable[[], StagedElection]


def _france_archive(lineage: Lineage, specs: list[ElectionSpec]) -> FranceArchive | None:
    """The European 2024 France-wide archive, parsed once for the national tables, the context
    rows and, outside the Rhône, the commune results: on first use, so that a bad file met before
    (every election of the Rhône) fails without waiting for its parse (35,000 JSON files). The
    build calls it from one thread; a parse that fails is not cached (the build stops anyway)."""
    entry = next((n for s in specs for n in s.national if n["kind"] == "euro2024_france"), None)
    if entry is None:
        return None
    return cache(lambda: euro2024.parse_france_archive(lineage.resolve(entry["source"], entry["file"])))


def read_national_file(lineage: Lineage, spec: ElectionSpec, entry: dict,
                       france_archive: FranceArchive | None = None) -> NationalFile:
    """One election's France-wide file, summed per département (every row kept)."""
    path = lineage.resolve(entry["source"], entry["file"])
    kind = entry["kind"]
    if kind == "aktiur_departement":
        turnout, votes = aktiur.parse_departement_large(path)
        read = len(turnout)
    elif kind == "pres2012_cantons":
        turnout, votes = pres2012.parse_canton_departements(path)
        read = int(turnout.shape[0])
    elif kind == "euro2024_france":
        staged = france_archive() if france_archive is not None else euro2024.parse_france_archive(path)
        deps = insee_departement(staged.turnout["source_code"])
        turnout = (staged.turnout.assign(departement_code=deps)
                   .groupby("departement_code", as_index=False)[["registered", "voters", "expressed"]].sum())
        votes = (staged.results.assign(departement_code=insee_departement(staged.results["source_code"]))
                 .groupby(["departement_code", "label"], as_index=False)["votes"].sum())
        read = staged.rows_read
    else:
        raise ValueError(f"unknown national kind {kind!r} in elections.toml ({spec.id})")
    lineage.record(entry["source"], entry["file"], f"national {spec.id}", read=read, loaded=len(turnout))
    return NationalFile(spec.id, entry["source"], entry["file"], turnout, votes, note=entry.get("note", ""),
                        tolerance=int(entry.get("tolerance", 0)), share_tolerance=entry.get("share_tolerance"))


def build_national_tables(lineage: Lineage, specs: list[ElectionSpec], nuances: pd.DataFrame,
                          france_archive: FranceArchive | None = None) -> NationalBuild:
    """fact_national_result, fact_national_turnout, fact_departement_result (whole France)."""
    files = {s.id: read_national_file(lineage, s, s.national[0], france_archive) for s in specs if s.national}
    official = parse_official(lineage.resolve(*NATIONAL_OFFICIAL))
    lineage.record(*NATIONAL_OFFICIAL, "official national totals", read=len(official), loaded=len(official))
    aliases = pd.read_csv(project_file("data/reference/national_labels.csv"), dtype=str, keep_default_na=False)
    return build_national([s.id for s in specs], files, official, nuances, aliases)


def perimeter_departement_results(blocs: pd.DataFrame, turnout: pd.DataFrame, dim_commune: pd.DataFrame,
                                  national: pd.DataFrame) -> pd.DataFrame:
    """fact_departement_result: the national files' départements, plus, for elections
    without one, the perimeter's départements summed from its communes."""
    if blocs.empty:
        return national
    dep = blocs["commune_code"].map(dim_commune.set_index("commune_code")["departement_code"])
    own = (blocs.assign(departement_code=dep).groupby(["election_id", "departement_code", "bloc"], as_index=False)
           ["votes"].sum().rename(columns={"bloc": "bloc_code"}))
    expressed = (turnout.assign(departement_code=turnout["commune_code"].map(
        dim_commune.set_index("commune_code")["departement_code"]))
        .groupby(["election_id", "departement_code"])["expressed"].sum())
    own = own.merge(expressed.reset_index(), on=["election_id", "departement_code"], how="left")
    own = own[~own["election_id"].isin(set(national["election_id"]))]
    return pd.concat([national, own[DEPARTEMENT_RESULT_COLUMNS]], ignore_index=True).astype(
        {"votes": "int64", "expressed": "int64"})


@dataclass
class ContextBuild:
    fact_context_result: pd.DataFrame
    fact_context_turnout: pd.DataFrame
    checks: list[dict] = field(default_factory=list)


def build_context_tables(lineage: Lineage, geo: Geography, nuances: pd.DataFrame, specs: list[ElectionSpec],
                         france_archive: FranceArchive | None = None,
                         departement_result: pd.DataFrame | None = None) -> ContextBuild:
    """fact_context_result / fact_context_turnout: every commune of France for the first rounds
    with a France-wide commune file (:mod:`electio.transform.context`), whatever the perimeter."""
    results, turnouts, checks = [], [], []
    for spec in specs:
        source = context.france_source(spec)
        if source is None:
            continue
        if source["parser"] == "euro2024_france" and france_archive is not None:
            staged = france_archive()
        else:
            staged = stage_election(source, "*", lineage.resolve)
        where = f"{source['source']}/{source['file']}"
        facts = harmonise_election(spec.id, staged, geo.code_map, nuances, where=where)
        result, turnout = context.context_rows(spec.id, facts)
        results.append(result)
        turnouts.append(turnout)
        for r in staged.rejected:
            lineage.reject(source["source"], r.file_name, r.line, f"context {spec.id}: {r.reason}")
        lineage.record(source["source"], source["file"], f"context {spec.id} (every commune of France)",
                       read=staged.rows_read, loaded=len(turnout), rejected=len(staged.rejected))
    result = (pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=context.RESULT_COLUMNS))
    turnout = (pd.concat(turnouts, ignore_index=True) if turnouts else pd.DataFrame(columns=context.TURNOUT_COLUMNS))
    if departement_result is not None and len(turnout):
        gaps = context.departement_gaps(turnout, result, departement_result)
        for eid, g in gaps.groupby("election_id"):
            worst = float(g[["expressed_gap", "max_bloc_vote_gap"]].abs().max().max())
            checks.append(quality.check(
                "context_vs_departement_result", eid, "pass" if worst == 0 else "warn",
                f"every commune of France summed per département vs fact_departement_result, "
                f"{len(g)} départements: largest gap {worst:.0f} votes (expressed or bloc votes); "
                f"{int(g['expressed_gap'].isna().sum())} départements absent from fact_departement_result",
                observed=worst, expected=0))
    return ContextBuild(result, turnout, checks)


@dataclass
class IndicatorBuild:
    dim_indicator: pd.DataFrame
    fact_indicator: pd.DataFrame
    fact_indicator_departement: pd.DataFrame
    checks: list[dict] = field(default_factory=list)
    meta_indicator_calendar: pd.DataFrame | None = None
    fact_indicator_revision: pd.DataFrame | None = None


def build_indicators(lineage: Lineage, geo: Geography, perimeter: Perimeter) -> IndicatorBuild:
    """Every indicator vintage of the catalog, harmonised onto the reference communes.

    One département is passed to the parsers; a list or all of France reads every
    row ("*") and keeps the perimeter's codes here.
    """
    single = len(perimeter.departements) == 1
    departement = perimeter.departements[0] if single else "*"
    wanted = set(perimeter.departements)
    specs, vintages = load_indicator_specs()
    calendar = load_calendar_rules()
    by_code: dict[str, IndicatorSpec] = {s.code: s for s in specs}
    dep_map = geo.code_map[geo.code_map["commune_code"].isin(set(geo.dim_commune["commune_code"]))]
    communes, departements, checks = [], [], []
    for vintage in tqdm(vintages, desc="indicators", unit="file", disable=None):
        parser = getattr(importlib.import_module(f"electio.sources.indicators.{vintage.family}"), vintage.parser)
        try:
            path = lineage.resolve(vintage.source_id, vintage.file)
        except ElectioError as exc:
            if not vintage.optional:
                raise
            # An optional source (the RNA) that is not reachable never sinks the refresh.
            checks.append(quality.check("indicator_source_missing", None, "warn",
                                        f"{vintage.source_id}/{vintage.file}: optional source not available, its "
                                        f"indicators stay empty ({exc})"))
            continue
        staged = parser(path, departement=departement, **vintage.options)
        levels = staged.values["indicator_code"].map(lambda c: by_code[c].level if c in by_code else "commune")
        if not single:
            codes = staged.values["source_code"].astype(str)
            inside = codes.isin(wanted).where(levels == "departement", insee_departement(codes).isin(wanted))
            mask = inside.to_numpy(dtype=bool)
            staged = type(staged)(values=staged.values[mask], rows_read=staged.rows_read, rejected=staged.rejected)
            levels = pd.Series(levels.to_numpy()[mask], index=staged.values.index)
        commune_part = type(staged)(values=staged.values[levels == "commune"], rows_read=staged.rows_read)
        loaded, excluded = 0, {}
        if not commune_part.values.empty:
            h = harmonise_indicators(commune_part, vintage, by_code, dep_map, calendar.get(vintage.source_id))
            communes.append(h.values)
            loaded += len(commune_part.values) - sum(h.excluded.values())
            excluded = h.excluded
            checks.append(_indicator_coverage(vintage, h.values, len(geo.dim_commune)))
        dep_part = staged.values[levels == "departement"]
        if not dep_part.empty:
            for dep in perimeter.departements:
                values = departement_values(type(staged)(values=dep_part, rows_read=0), vintage, dep,
                                            calendar.get(vintage.source_id))
                departements.append(values)
                loaded += len(values)
        for r in staged.rejected:
            lineage.reject(vintage.source_id, r.file_name, r.line, r.reason)
        lineage.record(vintage.source_id, vintage.file, f"indicators {vintage.family} {min(vintage.years)}-"
                       f"{max(vintage.years)}", read=staged.rows_read, loaded=loaded,
                       rejected=len(staged.rejected))
        if excluded:
            checks.append(quality.check("indicator_rows_excluded", None, "pass",
                                        f"{vintage.file}: " + "; ".join(f"{n} rows: {k}" for k, n in excluded.items()),
                                        observed=sum(excluded.values())))
    commune_key, dep_key = ["commune_code", "indicator_code", "indicator_year"], ["departement_code",
                                                                                  "indicator_code", "indicator_year"]
    revisions = pd.concat([measure_revisions(pd.concat(communes, ignore_index=True), commune_key, "commune")
                           if communes else None,
                           measure_revisions(pd.concat(departements, ignore_index=True), dep_key, "departement")
                           if departements else None], ignore_index=True)
    fact = (first_release(pd.concat(communes, ignore_index=True), commune_key)
            if communes else pd.DataFrame(columns=FACT_COLUMNS))
    fact_dep = (first_release(pd.concat(departements, ignore_index=True),
                              ["departement_code", "indicator_code", "indicator_year"])
                if departements else pd.DataFrame(columns=DEPARTEMENT_COLUMNS))
    dim_columns = ["indicator_code", "label_fr", "family", "unit", "aggregation", "weight_indicator", "level",
                   "source_id", "definition", "transform", "denominator", "scale", "redundant_with"]
    dim = pd.DataFrame([{"indicator_code": s.code, **{c: getattr(s, c) for c in dim_columns[1:]}} for s in specs],
                       columns=dim_columns)
    cal = pd.DataFrame([vars(r) for r in calendar.values()],
                       columns=["source_id", "reference", "lag_months", "lag_days", "not_before", "rule_fr",
                                "rule_source_url"])
    return IndicatorBuild(dim.sort_values("indicator_code").reset_index(drop=True),
                          fact[FACT_COLUMNS].sort_values(["commune_code", "indicator_code", "indicator_year"])
                          .reset_index(drop=True),
                          fact_dep[DEPARTEMENT_COLUMNS].reset_index(drop=True), checks,
                          meta_indicator_calendar=cal.sort_values("source_id").reset_index(drop=True),
                          fact_indicator_revision=revisions)


def _indicator_coverage(vintage, values: pd.DataFrame, n_reference: int) -> dict:
    per_year = values.groupby(["indicator_code", "indicator_year"])
    covered = per_year["commune_code"].nunique().min() if len(values) else 0
    suppressed = float(values["is_suppressed"].mean() * 100) if len(values) else 0.0
    return quality.check("indicator_coverage", None, "pass" if covered > 0 else "fail",
                         f"{vintage.source_id}/{vintage.file}: {values['indicator_code'].nunique()} indicators, "
                         f"years {sorted(values['indicator_year'].unique().tolist())}, at least {covered} of "
                         f"{n_reference} communes per indicator and year, {suppressed:.1f}% of values suppressed",
                         observed=covered, expected=n_reference)


def build_tables(settings: Settings) -> tuple[dict[str, pd.DataFrame], Lineage, ElectionBuild]:
    """Every warehouse table except meta_refresh (the refresh adds it)."""
    lineage = Lineage(settings)
    clock = time.perf_counter()
    perimeter = load_perimeter(settings.departement)
    geo = build_geography(lineage, perimeter)
    nuances = load_nuances()
    blocs = load_blocs()
    lineage.seconds["geography"] = time.perf_counter() - clock
    clock = time.perf_counter()
    specs = load_election_specs()
    france_archive = _france_archive(lineage, specs)
    build = build_elections(lineage, geo, perimeter, nuances, specs, france_archive)
    lineage.seconds["elections"] = time.perf_counter() - clock
    clock = time.perf_counter()
    loaded_specs = [s for s in specs if s.id in {e["election_id"] for e in build.elections}]
    national = build_national_tables(lineage, loaded_specs, nuances, france_archive)
    build.checks += national.checks
    lineage.seconds["national"] = time.perf_counter() - clock
    clock = time.perf_counter()
    context_build = build_context_tables(lineage, geo, nuances, loaded_specs, france_archive,
                                         national.fact_departement_result)
    build.checks += context_build.checks
    lineage.seconds["context"] = time.perf_counter() - clock
    clock = time.perf_counter()
    indicators = build_indicators(lineage, geo, perimeter)
    lineage.seconds["indicators"] = time.perf_counter() - clock
    build.checks += indicators.checks
    loaded_ids = {e["election_id"] for e in build.elections}

    used_codes = set()
    for f in build.facts:
        used_codes |= set(f.turnout["commune_code"])
    dep_codes = set(geo.dim_commune["commune_code"])
    code_map = geo.code_map[geo.code_map["commune_code"].isin(dep_codes)].sort_values("source_code")

    def concat(attr: str) -> pd.DataFrame:
        frames = [getattr(f, attr) for f in build.facts if getattr(f, attr) is not None]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BUREAU_FACT_COLUMNS)

    turnout, labels, bloc_facts, bureaux = concat("turnout"), concat("labels"), concat("blocs"), concat("bureaux")
    used_labels = set(labels["election_id"] + "|" + labels["label"]) if len(labels) else set()
    departements = perimeter_departement_results(bloc_facts, turnout, geo.dim_commune,
                                                 national.fact_departement_result)
    checks = pd.DataFrame(build.checks)
    checks.insert(0, "check_seq", range(1, len(checks) + 1))
    tables = {
        "dim_commune": geo.dim_commune,
        "map_commune_code": code_map[["source_code", "commune_code", "relation", "source_name"]],
        "dim_commune_geometry": geo.geometry,
        "dim_election": pd.DataFrame(build.elections),
        "dim_bloc": blocs.rename(columns={"color_hex": "color_hex"})[["bloc_code", "label_fr", "sort_order",
                                                                      "color_hex"]],
        "dim_nuance": nuances[nuances["election_id"].isin(loaded_ids) & ((nuances["label_kind"] != "list_code")
                              | (nuances["election_id"] + "|" + nuances["label"]).isin(used_labels))
                              ].rename(columns={"bloc": "bloc_code"})[
            ["election_id", "label", "label_kind", "display_name", "bloc_code", "rationale"]]
        .sort_values(["election_id", "label"]),
        "fact_turnout": turnout[["election_id", "commune_code", "registered", "voters", "blank", "null_ballots",
                                 "blank_and_null", "expressed", "turnout_pct"]],
        "fact_election_result": bloc_facts.rename(columns={"bloc": "bloc_code", "n_labels": "n_labels"})[
            ["election_id", "commune_code", "bloc_code", "votes", "share_expressed", "n_labels"]],
        "fact_label_result": labels[["election_id", "commune_code", "label", "votes", "share_expressed"]],
        "fact_turnout_bureau": bureaux[BUREAU_FACT_COLUMNS],
        "fact_national_result": national.fact_national_result,
        "fact_national_turnout": national.fact_national_turnout,
        "fact_departement_result": departements,
        "fact_context_result": context_build.fact_context_result,
        "fact_context_turnout": context_build.fact_context_turnout,
        "dim_indicator": indicators.dim_indicator,
        "fact_indicator": indicators.fact_indicator,
        "fact_indicator_departement": indicators.fact_indicator_departement,
        "meta_indicator_calendar": indicators.meta_indicator_calendar,
        "fact_indicator_revision": indicators.fact_indicator_revision,
        "meta_source": lineage.meta_source(),
        "meta_rejected_row": pd.DataFrame(lineage.rejected,
                                          columns=["source_id", "file_name", "row_number", "reason"]),
        "meta_quality_check": checks[["check_seq", "check_name", "election_id", "status", "observed",
                                      "expected", "detail"]],
    }
    return share_strings_all(tables), lineage, build
