"""Reading the report back: visible text, traced spans, and an independent recomputation
of every traced value from the warehouse (or from the recipe's own source)."""

from __future__ import annotations

import importlib
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

from electio.report.build import as_text
from electio.report.labels import DERIVE
from electio.settings import Settings


class ReportText(HTMLParser):
    """Visible text outside traced spans, the traced spans, and the images of an HTML report."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.free: list[str] = []
        self.spans: list[list[str]] = []
        self.images: list[dict] = []
        self.ids: list[str] = []
        self.h2: list[str] = []
        self._skip = 0
        self._span: list[str] | None = None
        self._h2: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "span" and "v" in (a.get("class") or "").split():
            self._span = [a.get("data-ref", ""), ""]
            self.spans.append(self._span)
        elif tag == "img":
            self.images.append(a)
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag == "span" and self._span is not None:
            self._span = None
        elif tag == "h2" and self._h2 is not None:
            self.h2.append("".join(self._h2).strip())
            self._h2 = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._h2 is not None:
            self._h2.append(data)
        if self._span is not None:
            self._span[1] += data
        else:
            self.free.append(data)


def plain(text: str) -> str:
    """``text`` with ordinary spaces for the French no-break ones (report and slides use them before
    : ; % and as thousands separators), to look for a phrase."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def parse(html: str) -> ReportText:
    parser = ReportText()
    parser.feed(html)
    parser.close()
    return parser


def _scalar(engine, sql: str, params: dict):
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params).fetchall()
    assert len(rows) == 1 and len(rows[0]) == 1, f"{sql} {params} returned {rows!r}, not one value"
    return rows[0][0]


class Recomputer:
    """Recomputes a registry entry without the report's code path."""

    def __init__(self, settings: Settings, mirror: Path) -> None:
        self.settings = settings
        self.mirror = mirror
        self.engine = create_engine(settings.db_url)
        self._france: dict[str, dict] = {}

    def france(self, election_id: str) -> dict:
        """France-wide figures straight from the warehouse's national tables (not the report's code)."""
        if election_id not in self._france:
            with self.engine.connect() as conn:
                shares = dict(conn.execute(text("SELECT bloc_code, share_expressed FROM fact_national_result "
                                                "WHERE election_id = :e"), {"e": election_id}).fetchall())
                registered, voters, source = conn.execute(text(
                    "SELECT registered, voters, source_id FROM fact_national_turnout WHERE election_id = :e"),
                    {"e": election_id}).fetchone()
                files = [r[0] for r in conn.execute(text(
                    "SELECT file_name FROM meta_source WHERE source_id = :s AND purpose IN "
                    "(:p, 'official national totals')"), {"s": source, "p": f"national {election_id}"})]
            assert len(files) == 1, files
            self._france[election_id] = {"registered": registered, "voters": voters, "shares": shares,
                                         "file": f"{source}/{files[0]}"}
        return self._france[election_id]

    def dep_share(self, election_id: str, bloc: str) -> float:
        return _scalar(self.engine, "SELECT 100.0 * SUM(r.votes) / (SELECT SUM(expressed) FROM fact_turnout "
                                    "WHERE election_id = :e) FROM fact_election_result r WHERE election_id = :e "
                                    "AND bloc_code = :b", {"e": election_id, "b": bloc})

    def national(self, r: dict):
        e = r["election_id"]
        fr = self.france(e)
        fr_share = lambda b: fr["shares"].get(b, 0.0)  # noqa: E731
        with self.engine.connect() as conn:
            blocs = [row[0] for row in conn.execute(text("SELECT bloc_code FROM dim_bloc"))]
        measure = r["measure"]
        if measure == "share":
            return fr_share(r["bloc_code"])
        if measure == "gap":
            return self.dep_share(e, r["bloc_code"]) - fr_share(r["bloc_code"])
        if measure == "turnout":
            return 100 * fr["voters"] / fr["registered"]
        if measure == "weight":
            dep = _scalar(self.engine, "SELECT SUM(registered) FROM fact_turnout WHERE election_id = :e", {"e": e})
            return 100 * dep / fr["registered"]
        if measure in ("r", "mean_abs_gap"):
            dep = np.array([self.dep_share(e, b) for b in blocs])
            nat = np.array([fr_share(b) for b in blocs])
            return float(np.corrcoef(dep, nat)[0, 1]) if measure == "r" else float(np.abs(dep - nat).mean())
        if measure == "file":
            return fr["file"]
        raise AssertionError(f"unknown national measure {measure}")

    def recipe(self, entry: dict):
        r = entry["recipe"]
        kind = r["kind"]
        if kind == "national":
            return self.national(r)
        if kind == "code":
            module, attr = r["ref"].split(":")
            obj = getattr(importlib.import_module(module), attr)
            if "args" in r:
                return obj(*r["args"])
            return obj[r["key"]] if "key" in r else obj
        if kind == "json":
            data = json.loads((Path(self.settings.reports_dir) / r["file"]).read_text(encoding="utf-8"))
            return data[r["key"]]
        if kind == "file":
            path = Path(self.settings.reports_dir) / "figures" / r["file"]
            assert path.exists(), path
            if entry["derive"]:
                return r["file"]
            assert entry["display"] in path.stem, (entry["display"], path.stem)
            return entry["display"]
        if kind == "catalog":
            from electio.sources.catalog import load_catalog

            return getattr(load_catalog()[r["source_id"]], r["field"])
        raise AssertionError(f"unknown recipe {kind}")

    def check(self, entry: dict) -> str | None:
        """None if the entry is recomputed identically, else a description of the mismatch."""
        if entry["sql"]:
            got = _scalar(self.engine, entry["sql"], entry["params"])
        else:
            got = self.recipe(entry)
        if entry["kind"] == "text":
            shown = DERIVE[entry["derive"]](got) if entry["derive"] else ("" if got is None else as_text(got))
            return None if shown == entry["display"] else f"text {entry['display']!r} != recomputed {shown!r}"
        if got is None:
            # NULL in the warehouse (a figure not published) must be printed as missing.
            return None if entry["value"] is None else f"number {entry['display']!r}: recomputation gives NULL"
        value = float(got) * entry["scale"]
        if entry["value"] is None or not math.isclose(value, entry["value"], rel_tol=1e-6, abs_tol=1e-6):
            return f"number {entry['display']!r} ({entry['value']}) != recomputed {value}"
        return None


def digits_outside_spans(report: ReportText) -> list[str]:
    """Snippets of visible text, outside traced spans, that contain a digit."""
    text_ = " ".join(report.free)
    return [text_[max(0, m.start() - 40): m.end() + 40] for m in re.finditer(r"\d", text_)]


def client_text(html: str) -> str:
    """Everything a client reads (free text and traced values) outside the technical tables."""
    html = re.sub(r'<table class="[^"]*\btechnical\b[^"]*">.*?</table>', "", html, flags=re.S)
    parsed = parse(html)
    return " ".join(parsed.free) + " " + " ".join(s for _, s in parsed.spans)
