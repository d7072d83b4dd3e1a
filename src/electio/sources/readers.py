"""Reading official tabular files with errors an analyst can act on.

Every parser goes through :func:`read_table` and :func:`to_counts` so that a wrong
delimiter, a missing column, a truncated gzip or a non-numeric count always fails
the same way: naming the file, the line (1 = header) and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from electio.errors import InputFormatError

#: Line number in the file of the first data row (line 1 is the header).
FIRST_DATA_LINE = 2


def _open_text(path: Path, encoding: str) -> str:
    """Whole file as text; gzip is detected from the magic bytes, not the name."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputFormatError(path, f"truncated or corrupt gzip file ({exc})") from exc
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFormatError(path, f"not valid {encoding} text (byte {exc.start})", line=line) from exc


def read_table(
    path: Path,
    *,
    sep: str,
    required: Iterable[str],
    encoding: str = "utf-8-sig",
    usecols: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read a delimited file as strings and check its header.

    All columns are read as text: counts are converted later by :func:`to_counts`,
    which knows the line numbers to report. Leading zeros of codes are kept.
    """
    text = _open_text(path, encoding)
    if text.startswith("\ufeff"):  # BOM left by a non utf-8-sig encoding
        text = text[1:]
    header_line = text.split("\n", 1)[0]
    header = next(csv.reader([header_line], delimiter=sep)) if header_line else []
    header = [h.strip() for h in header]
    required = list(required)
    if len(header) <= 1 and len(required) > 1:
        found = max(",;\t|", key=header_line.count)
        raise InputFormatError(
            path, f"expected {sep!r}-separated columns {required[:4]}..., "
            f"but the header has no {sep!r} (delimiter looks like {found!r})", line=1)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFormatError(path, f"missing expected column(s) {missing}; header has {header}",
                               line=1, column=missing[0])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            usecols=list(usecols) if usecols is not None else None,
                            skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputFormatError(path, f"cannot be parsed as {sep!r}-separated text: {exc}") from exc
    frame.columns = [c.strip() for c in frame.columns]
    # Line numbers for error messages; blank lines are skipped by the parser, so
    # rebuild them from the text when there are any.
    lines = text.split("\n")
    if any(not l.strip() for l in lines[1:-1]):
        data_lines = [i + 1 for i, l in enumerate(lines) if i > 0 and l.strip()]
        frame.index = data_lines[: len(frame)]
    else:
        frame.index = range(FIRST_DATA_LINE, FIRST_DATA_LINE + len(frame))
    frame.index.name = "line"
    return frame


def to_counts(frame: pd.DataFrame, columns: Iterable[str], path: Path, *,
              allow_missing: bool = False) -> pd.DataFrame:
    """Convert vote-count columns to integers, failing on the first bad cell.

    Accepts integer-valued floats ("133.0", written by pandas re-exports); refuses
    text, negative numbers and fractions, naming the line and column.
    """
    out = frame.copy()
    for col in columns:
        # Fast path: a clean column converted whole by to_numeric (vectorised; it accepts surrounding
        # ASCII spaces); any other column goes through the checks below, which name the bad cell.
        values = pd.to_numeric(out[col], errors="coerce")
        if values.notna().all() and (values >= 0).all() and (values % 1 == 0).all():
            out[col] = values.astype("Int64") if allow_missing else values.astype(np.int64)
            continue
        raw = out[col].astype(str).str.strip()
        values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
        bad = values.isna() & (raw != "") | (values < 0) | (values.notna() & (values % 1 != 0))
        if not allow_missing:
            bad |= raw == ""
        if bad.any():
            line = bad.idxmax()
            raise InputFormatError(path, f"expected a non-negative whole number, got {raw[line]!r}",
                                   line=int(line), column=col)
        out[col] = values.astype("Int64") if allow_missing else values.astype(np.int64)
    return out


#: Ministry codes of overseas départements and collectivities -> INSEE département.
#: ZX is Saint-Barthélemy (977) and Saint-Martin (978) reported together; the
#: commune's first digit (7 or 8) tells them apart. 2014 files use 971... directly.
MINISTRY_DEPARTEMENTS = {"ZA": "971", "ZB": "972", "ZC": "973", "ZD": "974", "ZS": "975", "ZM": "976",
                         "ZX": "977", "ZW": "986", "ZP": "987", "ZN": "988"}
#: French citizens abroad: "ZZ" (2012, 2017, 2019), "99" (2014). Not a commune.
ABROAD = ("ZZ", "99")
#: Ministry units that are not INSEE communes: Wallis-et-Futuna is one unit (001)
#: in the results, three circonscriptions (98611-98613) in the COG.
NON_COMMUNE_UNITS = {"98601": "Wallis-et-Futuna reported as one unit (the COG has 98611-98613)"}


def departement_code(dep: pd.Series) -> pd.Series:
    """INSEE département of a Ministry département column ('1.0' -> '01', 'ZA' -> '971').

    Abroad stays 'ZZ' ('99' in 2014 becomes 'ZZ'); the joint Saint-Barthélemy/Saint-Martin
    unit stays 'ZX' (977 in 2014 files) at département level.
    """
    dep = dep.astype(str).str.strip().str.upper().str.replace(r"\.0$", "", regex=True).str.zfill(2)
    dep = dep.replace({"99": "ZZ", "977": "ZX"})
    return dep.map(lambda d: MINISTRY_DEPARTEMENTS.get(d, d) if d != "ZX" else d)


def commune_code(dep: pd.Series, com: pd.Series) -> pd.Series:
    """5-character INSEE code from a département code and a 3-digit commune code.

    The Ministry files split the code ("69" + "123"); some exports write the
    département as a float ("69.0"). Overseas: 'ZA' + '101' and '971' + '101' give
    97101, 'ZP' + '011' gives 98711, 'ZX' + '801' gives 97801 (Saint-Martin).
    Abroad rows give 'ZZ' + the Ministry number (never an INSEE code: callers reject them).
    """
    dep = dep.astype(str).str.strip().str.upper().str.replace(r"\.0$", "", regex=True).str.zfill(2)
    com = com.astype(str).str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(3).str[-3:]
    dep = dep.replace({"99": "ZZ"}).map(lambda d: MINISTRY_DEPARTEMENTS.get(d, d))
    overseas = dep.str.len() == 3
    joint = dep.isin(["977", "978"])  # one Ministry unit for both: the commune number says which
    dep = dep.where(~joint, "97" + com.str[0])
    return (dep + com).where(~overseas, dep + com.str[-2:])


def insee_departement(code: pd.Series) -> pd.Series:
    """Département of 5-character INSEE commune codes (3 digits overseas)."""
    return code.str[:2].where(~code.str.startswith(("97", "98")), code.str[:3])


def require_unique(frame: pd.DataFrame, key: list[str], path: Path) -> None:
    """Fail on a repeated key (a row given twice would be counted twice)."""
    dup = frame.duplicated(key, keep="first")
    if dup.any():
        line = int(dup.idxmax())
        values = {k: frame.at[line, k] for k in key}
        raise InputFormatError(path, f"duplicate row for {values} (already given on an earlier line)",
                               line=line, column=key[-1])


def fail_first(frame: pd.DataFrame, bad: pd.Series, path: Path, column: str, message) -> None:
    """Fail on the first row where ``bad`` holds, naming its line and ``column``;
    ``message(row)`` says what was expected."""
    bad = bad.fillna(True).astype(bool)
    if bad.any():
        line = bad.idxmax()
        raise InputFormatError(path, message(frame.loc[line]), line=int(line), column=column)


def fail_duplicates(frame: pd.DataFrame, key: list[str], path: Path, column: str) -> None:
    """Fail on a repeated key, naming the values of the key."""
    dup = frame.duplicated(key, keep="first")
    if dup.any():
        line = dup.idxmax()
        row = frame.loc[line]
        plain = {k: (row[k].item() if hasattr(row[k], "item") else row[k]) for k in key}
        raise InputFormatError(path, "duplicate row for " + ", ".join(f"{k}={v!r}" for k, v in plain.items()),
                               line=int(line), column=column)
