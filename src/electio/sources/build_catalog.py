"""Generate ``catalog.toml`` (the source catalog) from the mirror's ``MANIFEST.csv``.

Run once, then commit the TOML; re-run after the manifest changes::

    python src/electio/sources/build_catalog.py ../shared/electio-mirror/MANIFEST.csv

The manifest has one row per file; the catalog has one ``[[source]]`` per source_id
with its files. Source-level fields that differ between the files of one source get a
hand-written summary (``SOURCES`` below) and each file keeps its own value as an
override. Direct download URLs are derived from ``obtained_from``:

* ``owner/repo@<40-hex commit>:path`` -> ``https://raw.githubusercontent.com/owner/repo/<commit>/<path>``
* ``npm:<package>@<version> (registry tarball)`` -> the npm registry tarball URL
* ``npm:<package>@<version>:<path in tarball>`` -> no URL; the note says what to extract
* a transcription (not a byte copy) -> no URL; the note explains why

Any other form of ``obtained_from`` stops the script: add a rule rather than guess.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

DEFAULT_OUTPUT = Path(__file__).resolve().with_name("catalog.toml")

#: Per-file fields that may differ within a source (manifest column -> catalog key).
VARYING = ("dataset", "licence", "format", "years", "geography", "known_issues")

#: Hand-written title of every source, and a summary for each field that varies
#: between its files (the build fails if one is missing).
SOURCES: dict[str, dict[str, str]] = {
    "aktiur_resultats_electoraux": {
        "title": "Election results 2014-2019, re-formatted by aktiur",
        "dataset": "one data.gouv.fr dataset per election (Ministère de l'Intérieur results by polling "
                   "station); see each file",
        "years": "2014 (européennes), 2017 (présidentielle T1/T2, législatives T1/T2), 2019 (européennes)",
        "geography": "France entière, par bureau, commune, circonscription and département",
        "format": "CSV gzip, ',' UTF-8, large (one column per nuance/candidate/list) or long (one row per "
                  "candidate/list x unit); README in Markdown",
        "known_issues": "Re-processed by the repository author from the Ministry bureau-level files: commune "
                        "code is 3 digits without the département (prefix departement to get the INSEE code); "
                        "Lyon is a single commune 69123 (arrondissement only visible in bureau codes AABB); "
                        "no 'nuls' column (nuls = votants - blancs - exprimes); 2014 has no 'blancs' column; "
                        "Rhône has 288 communes in 2014 and 280 in 2017; 2019 is built from the Ministry "
                        "PROVISIONAL bureau file (small differences with the final figures); large legislative "
                        "files sum votes by nuance; bureau codes are not stable across elections. See each file.",
    },
    "pres2012_communes_69_transcription": {
        "title": "Presidential 2012 results, Rhône communes (transcription)",
    },
    "pres2012_cantons_datagouv": {
        "title": "Presidential 2012 results by canton (data.gouv.fr)",
        "dataset": "https://www.data.gouv.fr/fr/datasets/election-presidentielle-2012-resultats-572126/",
        "years": "2012 (présidentielle T1, T2)",
        "known_issues": "Canton level only (used to check the 2012 commune transcription); blancs and nuls "
                        "merged. T1 is a raw export of the data.gouv tabular API (extra __id column, "
                        "département code as a float '69.0'); T2 has snake_case column names and some "
                        "zero-padded percentages ('05.06'): recompute shares from counts. See each file.",
    },
    "pres2022_rhone_ministere": {
        "title": "Presidential 2022 results, Rhône extracts with official columns",
        "dataset": "T1 and T2 come from two Ministry files on data.gouv.fr; see each file",
        "geography": "Rhône (69): bureaux de vote for T1 (1317 rows, 267 communes), communes for T2 (267 rows); "
                     "Lyon as 69123",
        "known_issues": "Rhône rows of the official national files, re-written as ';' CSV with 3 appended audit "
                        "columns (extraction_source_url, ingestion_timestamp, source_file_name); commune code "
                        "3 digits; COG 2022 (267 communes). The T1 file is bureau level despite 'commune' in "
                        "its name. See each file.",
    },
    "elections_agregees_69": {
        "title": "First-round results 2014-2024, Rhône (processed 'élections agrégées')",
        "years": "2014 EU, 2017 P T1, 2017 L T1, 2019 EU, 2022 P T1, 2022 L T1, 2024 EU, 2024 L T1",
        "geography": "Rhône communes and bureaux de vote: one general file per level, one candidate file per "
                     "election",
        "known_issues": "PROCESSED (student staging files, filtered to the Rhône): first rounds only; 'nuls' "
                        "holds nuls only and there is no blancs column (blancs = votants - exprimes - nuls); "
                        "each election is in the commune geography of its own date (288 communes in 2014, 280 "
                        "in 2017, 267 in 2019-2022, 266 in 2024); Lyon as 69123 in commune files. DOUBLED ROWS "
                        "in every candidate file for the 11 communes nouvelles: de-duplicate on (code_commune, "
                        "nom, nuance). See each file.",
    },
    "euro2024_interieur_web_69": {
        "title": "European 2024 results per Rhône commune (Ministry results site, JSON)",
        "geography": "Rhône (69) communes, one JSON file per commune named <INSEE code>.json",
    },
    "euro2024_interieur_web_france": {
        "title": "European 2024 results per commune of France (Ministry results site, JSON in one tar.gz)",
    },
    "national_results": {
        "title": "Official national (France entière) results per election, transcribed (CHECKS.md)",
        "format": "CSV (election_id, level, label, nuance_code, votes, pct_exprimes, source_url, source_publisher, "
                  "note) and its checks in Markdown (CHECKS.md)",
    },
    "france_geojson_69": {
        "title": "Rhône boundaries, COG 2018 (france-geojson)",
        "geography": "Rhône (69): communes (278 features), département outline, arrondissements (2), "
                     "cantons (13)",
        "known_issues": "COG 2018 simplified boundaries: 13 commune codes no longer exist and 69114 (Porte des "
                        "Pierres Dorées) is missing; Lyon is one polygon 69123 (no arrondissements); the "
                        "Métropole de Lyon has no cantons. See each file.",
    },
    "plm_arrondissements_contours": {
        "title": "Paris, Lyon and Marseille arrondissement boundaries (API Géo)",
    },
    "bureaux_vote_69_contours": {
        "title": "Rhône polling-station polygons (c. 2022)",
    },
    "cog_communes_insee_2025": {
        "title": "INSEE official geographic code (COG) 2025, communes",
    },
    "etalab_decoupage_administratif_2024": {
        "title": "Etalab découpage administratif 4.1.0 (COG 2024)",
        "geography": "France entière: communes (actuelles, déléguées/associées, arrondissements municipaux) "
                     "and EPCI with their member communes",
        "format": "npm tarball (tgz) as served by the registry, and JSON arrays extracted from it",
        "known_issues": "communes.json and epci.json are byte-identical extracts of package/data/ in the "
                        "tarball. Porte des Pierres Dorées is 69159 in this vintage; 'anciensCodes' maps merged "
                        "former codes. See each file.",
    },
    "etalab_decoupage_administratif_2026": {
        "title": "Etalab découpage administratif 6.0.0 (COG 2026)",
        "geography": "France entière: communes (actuelles, déléguées/associées, arrondissements municipaux) "
                     "and EPCI with their member communes",
        "format": "npm tarball (tgz) as served by the registry, and JSON arrays extracted from it",
        "known_issues": "communes.json and epci.json are byte-identical extracts of package/data/ in the "
                        "tarball. Porte des Pierres Dorées is 69114 in this vintage (69159 in COG 2024); "
                        "'anciensCodes' maps merged former codes. See each file.",
    },
    "ssmsi_zonages_communes": {
        "title": "SSMSI supra-communal zonings per commune (geography 2024)",
    },
    "insee_filosofi_2012_com": {
        "title": "INSEE Filosofi 2012, communes",
    },
    "insee_filosofi_69_extracts": {
        "title": "INSEE Filosofi 2016-2018, Rhône extracts",
        "years": "2016, 2017 (communes), 2018 (IRIS)",
        "geography": "Rhône communes (276 rows incl. 69123 and 69381-69389) for 2016 and 2017; Rhône IRIS "
                     "(434) for 2018",
        "known_issues": "Rhône extracts re-written by pandas (',' separator, floats); 69123 and its 9 "
                        "arrondissements both present (do not sum); many fields empty (statistical secrecy); "
                        "2016 medians look recomputed (prefer another vintage); 2018 is IRIS level, not "
                        "commune totals. See each file.",
    },
    "insee_filosofi_2019_com": {
        "title": "INSEE Filosofi 2019, communes",
        "geography": "France entière, communes (Rhône 276 rows), plus the variable dictionary",
        "format": "CSV ';' (data file CRLF ASCII; variable dictionary)",
        "known_issues": "Secret cells are EMPTY in this vintage (not 's'); 69123 and 69381-69389 both present; "
                        "pre-2024 geography (69152 and 69159 present). See each file.",
    },
    "insee_filosofi_2020_com": {
        "title": "INSEE Filosofi 2020, communes",
    },
    "insee_filosofi_2021_com": {
        "title": "INSEE Filosofi 2021 (declared income), communes",
    },
    "insee_populations_legales_2023": {
        "title": "INSEE populations légales 2023 (in force 2026)",
    },
    "insee_population_communes_2013_2023": {
        "title": "Municipal population 2013-2023 per commune (INSEE census, redistributed)",
    },
    "defm_communes_69": {
        "title": "Registered job seekers (DEFM cat. ABC), Rhône communes 2015-2019",
    },
    "urssaf_etablissements_69": {
        "title": "URSSAF private establishments and employees, Rhône communes (processed)",
    },
    "chomage_rp_communes_69": {
        "title": "Census unemployment rate (15-64), Rhône communes (processed)",
    },
    "insee_rp_indicateurs_69": {
        "title": "Census indicators (employment, immigration, population), Rhône (processed)",
        "years": "2016, 2017, 2022 (see each file)",
        "geography": "Rhône communes: 266, 267 or 275 rows depending on the file (see each file)",
    },
    "ssmsi_delinquance_departements": {
        "title": "SSMSI recorded crime by département (2023 and 2024 editions)",
        "licence": "Licence Ouverte / Open Licence 2.0 (Etalab) (upstream data); see each file for the "
                   "hosting repository",
        "years": "2016-2023 (edition 2023), 2016-2024 (edition 2024)",
        "geography": "France, par département (Rhône: 128 rows in the 2023 edition, 162 in the 2024 edition)",
        "format": "CSV ';' with decimal commas (quoted in the 2023 edition; UTF-8 with BOM in the 2024 edition)",
        "known_issues": "Département 69 = Rhône + Métropole de Lyon together (no split). The 2023 edition is "
                        "the official file (2-digit years '16'); the 2024 edition is a renamed, re-saved copy; "
                        "their indicator lists differ (16 vs 18). See each file.",
    },
    "ssmsi_delinquance_communes_69": {
        "title": "SSMSI recorded crime totals, Rhône communes (processed)",
    },
}

GITHUB = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)@(?P<commit>[0-9a-f]{7,40}):(?P<path>.+?)"
                    r"(?: \((?P<remark>[^()]*)\))?$")
NPM_TARBALL = re.compile(r"^npm:(?P<package>@[a-z0-9_.-]+/[a-z0-9_.-]+)@(?P<version>[0-9][0-9A-Za-z.+-]*) "
                         r"\(registry tarball\)$")
NPM_MEMBER = re.compile(r"^npm:(?P<package>@[a-z0-9_.-]+/[a-z0-9_.-]+)@(?P<version>[0-9][0-9A-Za-z.+-]*):"
                        r"(?P<member>\S+)$")
URL = re.compile(r"https?://[^\s]+")


def npm_tarball_url(package: str, version: str) -> str:
    """``@scope/name`` 1.2.3 -> ``https://registry.npmjs.org/@scope/name/-/name-1.2.3.tgz``."""
    return f"https://registry.npmjs.org/{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"


def download(row: dict[str, str], tarballs: dict[tuple[str, str], str]) -> tuple[str, str]:
    """(direct URL or "", note) for one manifest row."""
    origin, name = row["obtained_from"].strip(), row["file"]
    if m := NPM_TARBALL.match(origin):
        url = npm_tarball_url(m["package"], m["version"])
        registry_name = url.rsplit("/", 1)[-1]
        note = f"registry file name {registry_name}, saved as {name}" if registry_name != name else ""
        return url, note
    if m := NPM_MEMBER.match(origin):
        tarball = tarballs.get((m["package"], m["version"]), npm_tarball_url(m["package"], m["version"]))
        return "", (f"no direct URL: extract {m['member']} from the npm tarball of {m['package']} "
                    f"{m['version']} ({tarball}), byte-identical")
    if origin.startswith("transcribed from stored public pages"):
        return "", (f"no direct URL: {origin} (a transcription, not a byte copy); only the electio mirror "
                    "has these bytes")
    if m := GITHUB.match(origin):
        remark = m["remark"] or ""
        if remark.startswith("git archive") and "*" in m["path"]:
            return "", (f"no direct URL: git archive of {m['repo']}@{m['commit']}:{m['path']} ({remark}); "
                        "only the electio mirror has this archive")
        if "transcri" in remark.lower() or row["known_issues"].upper().startswith("TRANSCRIPTION"):
            return "", (f"no direct URL: {remark or 'rows transcribed'} from {m['repo']}@{m['commit']}:{m['path']} "
                        "(a transcription, not a byte copy); only the electio mirror has these bytes")
        if len(m["commit"]) != 40 or remark:
            raise SystemExit(f"{row['source_id']}/{name}: unsupported obtained_from {origin!r} "
                             "(short commit or remark): add a rule to build_catalog.py")
        url = f"https://raw.githubusercontent.com/{m['repo']}/{m['commit']}/{quote(m['path'], safe='/')}"
        upstream = m["path"].rsplit("/", 1)[-1]
        note = f"stored upstream as {upstream}, saved as {name} (bytes unchanged)" if upstream != name else ""
        return url, note
    raise SystemExit(f"{row['source_id']}/{name}: unsupported obtained_from {origin!r}: add a rule to "
                     "build_catalog.py")


def split_dataset(text: str) -> tuple[str, str]:
    """'https://x/ (remark)' -> ('https://x/', 'remark'); text without a URL -> ('', text)."""
    text = text.strip()
    m = URL.search(text)
    if not m:
        return "", text
    url = m.group(0)
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    rest = (text[:m.start()] + text[m.start() + len(url):]).strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    return url, rest


def build(rows: list[dict[str, str]]) -> list[dict]:
    by_source: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        row = {k: (v or "").strip() for k, v in row.items()}
        row["dataset"] = row["original_dataset_url"]
        by_source.setdefault(row["source_id"], []).append(row)
    unknown = sorted(set(by_source) - set(SOURCES))
    if unknown:
        raise SystemExit(f"no title in SOURCES for: {', '.join(unknown)}")
    tarballs = {}
    for row in rows:
        if m := NPM_TARBALL.match(row["obtained_from"].strip()):
            tarballs[(m["package"], m["version"])] = npm_tarball_url(m["package"], m["version"])

    catalog = []
    for sid, files in by_source.items():
        spec = SOURCES[sid]
        for column in ("family", "publisher"):
            if len({f[column] for f in files}) != 1:
                raise SystemExit(f"{sid}: {column} differs between files; the catalog expects one value")
        level: dict[str, str] = {}
        for key in VARYING:
            values = list(dict.fromkeys(f[key] for f in files))
            if len(values) == 1:
                level[key] = values[0]
            elif key in spec:
                level[key] = spec[key]
            else:
                raise SystemExit(f"{sid}: {key} differs between files ({len(values)} values); "
                                 "write a summary in SOURCES")
        dataset_url, dataset_note = split_dataset(level["dataset"])
        source = {"id": sid, "title": spec["title"], "family": files[0]["family"],
                  "publisher": files[0]["publisher"], "dataset_url": dataset_url, "dataset_note": dataset_note,
                  "licence": level["licence"], "format": level["format"], "years": level["years"],
                  "geography": level["geography"], "known_issues": level["known_issues"], "files": []}
        seen = set()
        for f in files:
            if f["file"] in seen:
                raise SystemExit(f"{sid}/{f['file']}: listed twice in the manifest")
            seen.add(f["file"])
            url, note = download(f, tarballs)
            entry = {"name": f["file"], "bytes": int(f["bytes"]), "sha256": f["sha256"].lower(), "url": url,
                     "obtained_from": f["obtained_from"]}
            if note:
                entry["note"] = note
            for key in VARYING:
                if f[key] != level[key]:
                    if key == "dataset":
                        entry["dataset_url"], entry["dataset_note"] = split_dataset(f[key])
                    else:
                        entry[key] = f[key]
            source["files"].append(entry)
        catalog.append(source)
    return catalog


def toml_value(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(value)
    # A JSON string (escapes \" \\ \n \uXXXX) is a valid TOML basic string.
    return str(value) if isinstance(value, int) else json.dumps(value, ensure_ascii=False)


def render(catalog: list[dict], manifest_name: str) -> str:
    out = [
        "# electio source catalog: one [[source]] per source, with its files.",
        f"# Generated by src/electio/sources/build_catalog.py from the mirror's {manifest_name}.",
        "# Read by electio.sources.catalog.load_catalog(); documented in docs/sources.md",
        "# (python -m electio sources docs > docs/sources.md).",
        "#",
        "# A file's url is a direct download of exactly these bytes (sha256 checked); url = \"\" means",
        "# none exists and `note` says how to obtain the file. File-level dataset_url, licence, format,",
        "# years, geography and known_issues replace the source-level value for that file.",
    ]
    for source in catalog:
        out.append("")
        out.append("[[source]]")
        for key, value in source.items():
            if key != "files" and (value != "" or key in ("dataset_url", "known_issues")):
                out.append(f"{key} = {toml_value(value)}")
        for f in source["files"]:
            out.append("")
            out.append("  [[source.files]]")
            out.extend(f"  {key} = {toml_value(value)}" for key, value in f.items() if value != "" or key == "url")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, help="MANIFEST.csv of the electio mirror")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"TOML file to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    with args.manifest.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    catalog = build(rows)
    text = render(catalog, args.manifest.name)
    parsed = tomllib.loads(text)["source"]  # round-trip check before writing
    if [s["id"] for s in parsed] != [s["id"] for s in catalog] or sum(len(s["files"]) for s in parsed) != len(rows):
        raise SystemExit("internal error: the rendered TOML does not round-trip")
    args.output.write_text(text, encoding="utf-8")
    print(f"{args.output}: {len(catalog)} sources, {len(rows)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
