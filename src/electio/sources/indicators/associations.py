"""Associations (vie associative): the Répertoire national des associations (RNA), Ministère de
l'Intérieur, "RNA Waldec" extract (associations declared or modified since 2009).

Official format (data.gouv.fr dataset "Répertoire National des Associations", monthly zip
``rna_waldec_YYYYMMDD.zip`` holding one ``rna_waldec_YYYYMMDD_dpt_<dd>.csv`` per département,
';' separated, one row per association)::

    id;id_ex;siret;rup_mi;gestion;date_creat;date_decla;date_publi;date_disso;nature;groupement;
    titre;titre_court;objet;objet_social1;objet_social2;adrs_complement;adrs_numvoie;
    adrs_repetition;adrs_typevoie;adrs_libvoie;adrs_distrib;adrs_codeinsee;adrs_codepostal;
    adrs_libcommune;adrg_declarant;adrg_complemid;adrg_complemgeo;adrg_libvoie;adrg_distrib;
    adrg_codepostal;adrg_achemine;adrg_pays;dir_civilite;siteweb;publiweb;observation;position;
    maj_time

Indicator ``associations_actives``: associations whose ``position`` is 'A' (active; 'D'
dissolved, 'S' deleted) and created on or before the snapshot date, counted by the commune of
their registered office (``adrs_codeinsee``; Lyon's arrondissements as the file gives them).
A row without a usable commune code is rejected with its line, not silently dropped.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import Rejection
from electio.sources.indicators import StagedIndicators
from electio.sources.readers import read_table

REQUIRED = ["id", "date_creat", "date_disso", "adrs_codeinsee", "position"]
POSITIONS = {"A", "D", "S"}
_CODE = re.compile(r"(?:\d{5}|2[AB]\d{3})")


def _csv_path(path: Path, departement: str) -> tuple[Path, Path | None]:
    """The département's CSV of a monthly zip, as a temporary file (second item: to delete)."""
    if not zipfile.is_zipfile(path):
        return path, None
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.lower().endswith(f"_dpt_{departement.lower()}.csv")]
        if not names:
            raise InputFormatError(path, f"no '*_dpt_{departement}.csv' member in the zip "
                                         f"({len(z.namelist())} members)")
        # A temporary copy outside the source folder (the mirror may be read-only).
        handle, name = tempfile.mkstemp(suffix=f"_dpt_{departement}.csv")
        os.close(handle)
        tmp = Path(name)
        tmp.write_bytes(z.read(names[0]))
        return tmp, tmp


def parse_rna_waldec(path: Path, *, departement: str, year: int, snapshot: date) -> StagedIndicators:
    """Active associations per commune of ``departement`` at ``snapshot`` (reference year ``year``)."""
    path = Path(path)
    csv_path, tmp = _csv_path(path, departement)
    try:
        try:
            frame = read_table(csv_path, sep=";", required=REQUIRED)
        except UnicodeDecodeError:  # older extracts are Windows-1252
            frame = read_table(csv_path, sep=";", required=REQUIRED, encoding="cp1252")
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    rows_read = len(frame)
    position = frame["position"].fillna("").str.strip().str.upper()
    bad = ~position.isin(POSITIONS)
    if bad.any():
        line = int(bad.idxmax())
        raise InputFormatError(path, f"expected position A, D or S, got {frame.loc[line, 'position']!r}",
                               line=line, column="position")
    created = pd.to_datetime(frame["date_creat"].str.strip(), errors="coerce", format="%Y-%m-%d")
    code = frame["adrs_codeinsee"].fillna("").str.strip()
    rejected = [Rejection(path.name, int(i), "adrs_codeinsee is not a 5-character INSEE commune code")
                for i in frame.index[~code.str.fullmatch(_CODE)]]
    ok = code.str.fullmatch(_CODE) & (code.str[:2] == departement[:2] if len(departement) == 2 else
                                      code.str[:3] == departement)
    active = ok & (position == "A") & (created.isna() | (created <= pd.Timestamp(snapshot)))
    counts = code[active].value_counts().sort_index()
    values = pd.DataFrame({"source_code": counts.index.astype(str), "indicator_code": "associations_actives",
                           "year": int(year), "value": counts.to_numpy(dtype=float), "is_suppressed": False,
                           "is_imputed": False})
    return StagedIndicators(values=values, rows_read=rows_read, rejected=rejected)


def write_sample(rows: list[dict]) -> str:
    """The official header and ``rows`` as RNA text (for fixtures and documentation)."""
    header = ("id;id_ex;siret;rup_mi;gestion;date_creat;date_decla;date_publi;date_disso;nature;groupement;titre;"
              "titre_court;objet;objet_social1;objet_social2;adrs_complement;adrs_numvoie;adrs_repetition;"
              "adrs_typevoie;adrs_libvoie;adrs_distrib;adrs_codeinsee;adrs_codepostal;adrs_libcommune;"
              "adrg_declarant;adrg_complemid;adrg_complemgeo;adrg_libvoie;adrg_distrib;adrg_codepostal;"
              "adrg_achemine;adrg_pays;dir_civilite;siteweb;publiweb;observation;position;maj_time").split(";")
    out = io.StringIO()
    out.write(";".join(header) + "\n")
    for r in rows:
        out.write(";".join(str(r.get(h, "")) for h in header) + "\n")
    return out.getvalue()
