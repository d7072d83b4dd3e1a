#!/usr/bin/env python3
"""List every politics label (nuance code, list name, candidate) found in the mirror.

The politics reference ``data/reference/nuances.csv`` must map exactly these labels,
byte for byte, to a bloc. This script extracts them from the raw mirror files and,
with ``--check``, verifies the reference against them (coverage, no extra row, no
duplicate, known bloc codes, non-empty display name and rationale).

Usage (from the repository root)::

    python data/reference/list_labels.py                  # print election_id,label,label_kind
    python data/reference/list_labels.py --check          # validate nuances.csv / blocs.csv
    python data/reference/list_labels.py /path/to/mirror --check

The mirror path defaults to $ELECTIO_MIRROR, else ``../shared/electio-mirror``
relative to the repository. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BLOCS = ["extreme_gauche", "gauche", "centre", "droite", "extreme_droite", "divers"]
NUANCE_COLUMNS = ["election_id", "label", "label_kind", "display_name", "bloc", "rationale"]

Label = tuple[str, str, str]  # (election_id, label, label_kind)

# election_id -> (file relative to the mirror, label_kind)
AKTIUR = {
    "euro_2014_t1": ("aktiur_resultats_electoraux/2014-europeennes_par_commune_large.csv.gz", "nuance"),
    "pres_2017_t1": ("aktiur_resultats_electoraux/2017-presidentielle-1_par_commune_large.csv.gz", "candidate"),
    "pres_2017_t2": ("aktiur_resultats_electoraux/2017-presidentielle-2_par_commune_large.csv.gz", "candidate"),
    "leg_2017_t1": ("aktiur_resultats_electoraux/2017-legislatives-1_par_commune_large.csv.gz", "nuance"),
    "leg_2017_t2": ("aktiur_resultats_electoraux/2017-legislatives-2_par_commune_large.csv.gz", "nuance"),
    "euro_2019_t1": ("aktiur_resultats_electoraux/2019-europeennes_par_commune_large.csv.gz", "list"),
}
PRES2012 = {
    "pres_2012_t1": "pres2012_communes_69_transcription/Pres2012commT1_dep69_extract.csv",
    "pres_2012_t2": "pres2012_communes_69_transcription/Pres2012commT2_dep69_extract.csv",
}
PRES2022 = {
    "pres_2022_t1": ("pres2022_rhone_ministere/2022-pres-t1-commune-rhone-69-bronze.csv", 12),
    "pres_2022_t2": ("pres2022_rhone_ministere/2022-pres-t2-commune-rhone-69-bronze.csv", 2),
}
# election_id -> (file, column, label_kind); ';' separated, UTF-8 with BOM.
AGREGEES = {
    "leg_2022_t1": ("elections_agregees_69/rhone_2022_legi_t1.csv", "nuance", "nuance"),
    "euro_2024_t1": ("elections_agregees_69/rhone_2024_euro_t1.csv", "nom", "list"),
    "leg_2024_t1": ("elections_agregees_69/rhone_2024_legi_t1.csv", "nuance", "nuance"),
}
# Same list names as the aktiur 2019 columns (the pipeline reads this file for the
# Rhône); checked for equality, not added twice.
AGREGEES_2019 = "elections_agregees_69/rhone_2019_euro_t1.csv"
EURO2024_JSON = "euro2024_interieur_web_69"
# Official national totals: their nuance codes carry votes in fact_national_result
# (candidates and European lists are matched to the labels above, not added).
NATIONAL = "national_results/national_results.csv"


def default_mirror() -> Path:
    env = os.environ.get("ELECTIO_MIRROR")
    return Path(env).expanduser() if env else (REPO_ROOT.parent / "shared" / "electio-mirror").resolve()


def _columns_after(header: list[str], anchor: str, path: Path) -> list[str]:
    if anchor not in header:
        raise ValueError(f"{path}: column {anchor!r} not found in header {header}")
    return header[header.index(anchor) + 1:]


def _read_header(path: Path, delimiter: str) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh, delimiter=delimiter))


def _distinct(path: Path, columns: list[str], delimiter: str = ";") -> set[str]:
    values: set[str] = set()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}")
        for row in reader:
            values.update(row[c] for c in columns if row[c] != "")
    return values


def list_labels(mirror: Path) -> set[Label]:
    """Every (election_id, label, label_kind) the reference must cover."""
    mirror = Path(mirror)
    labels: set[Label] = set()
    for election_id, rel in PRES2012.items():
        path = mirror / rel
        labels.update((election_id, c, "candidate") for c in _columns_after(_read_header(path, ";"), "Exprimés", path))
    for election_id, (rel, kind) in AKTIUR.items():
        path = mirror / rel
        labels.update((election_id, c, kind) for c in _columns_after(_read_header(path, ","), "exprimes", path))
    for election_id, (rel, n) in PRES2022.items():
        names = _distinct(mirror / rel, [f"Nom_{i}" for i in range(1, n + 1)])
        labels.update((election_id, name, "candidate") for name in names)
    for election_id, (rel, column, kind) in AGREGEES.items():
        labels.update((election_id, v, kind) for v in _distinct(mirror / rel, [column]))
    codes: set[str] = set()
    for path in sorted((mirror / EURO2024_JSON).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        codes.update(row["code"] for row in doc["mainTable"])
    if not codes:
        raise ValueError(f"no list code found in {mirror / EURO2024_JSON}/*.json")
    labels.update(("euro_2024_t1", code, "list_code") for code in codes)
    with open(mirror / NATIONAL, encoding="utf-8", newline="") as fh:
        labels.update((r["election_id"], r["nuance_code"], "nuance") for r in csv.DictReader(fh)
                      if r["level"] == "nuance" and r["nuance_code"])
    return labels


def consistency_notes(mirror: Path) -> list[str]:
    """Checks between sources that should carry the same labels (warnings only)."""
    notes = []
    aktiur_2019 = set(_columns_after(_read_header(mirror / AKTIUR["euro_2019_t1"][0], ","), "exprimes",
                                     mirror / AKTIUR["euro_2019_t1"][0]))
    agregees_2019 = _distinct(mirror / AGREGEES_2019, ["nom"])
    if aktiur_2019 != agregees_2019:
        notes.append(f"euro_2019_t1: aktiur columns and aggregated 'nom' differ: "
                     f"only aktiur {sorted(aktiur_2019 - agregees_2019)}, "
                     f"only aggregated {sorted(agregees_2019 - aktiur_2019)}")
    return notes


def check(labels: set[Label], nuances: Path, blocs: Path) -> list[str]:
    """Problems found in the reference files; an empty list means valid."""
    problems: list[str] = []
    for path in (nuances, blocs):
        if not Path(path).exists():
            problems.append(f"{path}: file not found")
    if problems:
        return problems
    with open(blocs, encoding="utf-8", newline="") as fh:
        bloc_rows = list(csv.DictReader(fh))
    if sorted(r["bloc_code"] for r in bloc_rows) != sorted(BLOCS):
        problems.append(f"{blocs}: bloc_code values must be exactly {BLOCS}")
    with open(nuances, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != NUANCE_COLUMNS:
            problems.append(f"{nuances}: columns {reader.fieldnames} != {NUANCE_COLUMNS}")
            return problems
        rows = list(reader)
    seen: set[Label] = set()
    seen_label: set[tuple[str, str]] = set()
    for line, row in enumerate(rows, start=2):
        key = (row["election_id"], row["label"], row["label_kind"])
        if None in row.values() or None in row:
            problems.append(f"line {line}: wrong number of fields")
        if key in seen:
            problems.append(f"line {line}: duplicate {key}")
        if key[:2] in seen_label and key not in seen:
            problems.append(f"line {line}: label {key[:2]} appears with two label_kind values")
        seen.add(key)
        seen_label.add(key[:2])
        if row["bloc"] not in BLOCS:
            problems.append(f"line {line}: unknown bloc {row['bloc']!r}")
        for column in ("display_name", "rationale"):
            if not (row[column] or "").strip():
                problems.append(f"line {line}: empty {column}")
    for key in sorted(labels - seen):
        problems.append(f"missing from {nuances.name}: {key}")
    for key in sorted(seen - labels):
        problems.append(f"extra row in {nuances.name} (label not in the mirror): {key}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirror", nargs="?", type=Path, default=None,
                        help="mirror root (default: $ELECTIO_MIRROR or ../shared/electio-mirror)")
    parser.add_argument("--check", action="store_true", help="validate nuances.csv and blocs.csv")
    parser.add_argument("--nuances", type=Path, default=HERE / "nuances.csv")
    parser.add_argument("--blocs", type=Path, default=HERE / "blocs.csv")
    args = parser.parse_args(argv)
    mirror = args.mirror or default_mirror()
    if not (mirror / "MANIFEST.csv").exists():
        print(f"mirror not found at {mirror}", file=sys.stderr)
        return 2
    labels = list_labels(mirror)
    notes = consistency_notes(mirror)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if not args.check:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["election_id", "label", "label_kind"])
        writer.writerows(sorted(labels))
        return 0
    problems = check(labels, args.nuances, args.blocs)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"OK: {len(labels)} labels, all covered by {args.nuances.name}, no extra row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
