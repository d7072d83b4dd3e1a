"""Diagrams of the warehouse, generated (never drawn by hand).

- :func:`star_schema` reads ``sql/schema.sql`` — tables, columns, types, primary and
  foreign keys — and draws the star schema grouped into dimensions, facts,
  harmonisation and metadata tables; it is the conceptual data model of the report
  and of ``docs/schema.svg`` / ``docs/schema.png``.
- :func:`data_flow` draws the data flow of the main job, from sources to deliverables.

Rendering uses the ``graphviz`` Python package and Graphviz's ``dot`` program
(Debian package ``graphviz``). ``python -m electio.report.diagram`` rewrites the
files under ``docs/``.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import graphviz

from electio.settings import PROJECT_ROOT
from electio.warehouse import schema as warehouse_schema
from electio.warehouse.schema import Table, parse_schema  # noqa: F401 (parse_schema: the one DDL reader)

GROUPS = {  # prefix -> (cluster title, header colour, cluster background)
    "fact": ("Faits", "#d9822b", "#fdf3e7"),
    "dim": ("Dimensions", "#2f6f9f", "#eaf2f8"),
    "map": ("Harmonisation", "#4c8c4a", "#edf6ec"),
    "meta": ("Lignage et qualité", "#6b6b6b", "#f2f2f2"),
}
FONT = "Helvetica"



def schema_tables() -> list[Table]:
    return list(warehouse_schema.schema_tables())


def _table_label(table: Table, keys_only: bool = False) -> str:
    title, colour, _ = GROUPS[table.group]
    fks = table.fk_columns()
    span = 2 if keys_only else 3
    rows = [f'<TR><TD COLSPAN="{span}" BGCOLOR="{colour}" ALIGN="CENTER"><FONT COLOR="white" POINT-SIZE="13">'
            f'<B>{html.escape(table.name)}</B></FONT></TD></TR>']
    hidden = 0
    for col in table.columns:
        if keys_only and col.name not in table.primary_key and col.name not in fks:
            hidden += 1
            continue
        keys = "PK" if col.name in table.primary_key else ""
        if col.name in fks:
            keys = f"{keys} FK".strip()
        name = html.escape(col.name)
        name = f"<B>{name}</B>" if col.name in table.primary_key else name
        null = "" if not col.nullable else " ?"
        key_cell = f'<FONT COLOR="{colour}" POINT-SIZE="9"><B>{keys}</B></FONT>' if keys else " "
        type_cell = ("" if keys_only else f'<TD ALIGN="LEFT"><FONT COLOR="#555555" POINT-SIZE="9">'
                                          f'{html.escape(col.type.lower())}{null}</FONT></TD>')
        rows.append(f'<TR><TD ALIGN="LEFT" PORT="{html.escape(col.name)}">{name}</TD>{type_cell}'
                    f'<TD ALIGN="LEFT">{key_cell}</TD></TR>')
    if hidden:
        rows.append(f'<TR><TD COLSPAN="{span}" ALIGN="LEFT"><FONT COLOR="#777777" POINT-SIZE="10"><I>+ {hidden} '
                    f'autre{"s" if hidden > 1 else ""} colonne{"s" if hidden > 1 else ""}</I></FONT></TD></TR>')
    return ('<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="#999999" BGCOLOR="white">'
            + "".join(rows) + "</TABLE>>")


#: Facts drawn above the dimensions (election results); the others are drawn below.
UPPER_FACTS = ("fact_turnout", "fact_election_result", "fact_label_result", "fact_turnout_bureau")


def _cluster(g: graphviz.Digraph, key: str, title: str, group: str, members: list[Table],
             keys_only: bool = False) -> None:
    _, colour, background = GROUPS[group]
    with g.subgraph(name=f"cluster_{key}") as sub:
        sub.attr(label=title, style="rounded,filled", color=colour, fillcolor=background, fontname=FONT,
                 fontsize="16", fontcolor=colour, margin="12")
        for t in members:
            sub.node(t.name, _table_label(t, keys_only))


def star_schema(tables: list[Table] | None = None, *, keys_only: bool = False) -> graphviz.Digraph:
    """The star schema: one node per table (columns, types, PK/FK), one edge per foreign key.

    ``keys_only`` keeps the key columns of each table (the conceptual view printed in
    the report); the full view, every column with its type, is the one in ``docs/``.

    Top to bottom: election facts, then the dimensions (with the commune code map),
    then the facts of indicators, analyses, models and scenarios, then the lineage and
    quality tables, which have no foreign key.
    """
    tables = schema_tables() if tables is None else tables
    g = graphviz.Digraph("electio_schema", graph_attr={
        "rankdir": "TB", "fontname": FONT, "fontsize": "20", "nodesep": "0.2" if keys_only else "0.3",
        "ranksep": "0.7" if keys_only else "0.9",
        "label": ("electio : modèle conceptuel (clés)" if keys_only else
                  "electio : schéma en étoile de l'entrepôt (généré depuis sql/schema.sql)"), "labelloc": "t",
        "bgcolor": "white", "pad": "0.3", "newrank": "true"},
        node_attr={"shape": "plaintext", "fontname": FONT, "fontsize": "12" if keys_only else "11"},
        edge_attr={"color": "#8a8a8a", "dir": "both", "arrowsize": "0.9", "penwidth": "1.2"})
    facts = [t for t in tables if t.group == "fact"]
    upper = [t for t in facts if t.name in UPPER_FACTS]
    lower = [t for t in facts if t.name not in UPPER_FACTS]
    _cluster(g, "facts_results", "Faits : résultats électoraux", "fact", upper, keys_only)
    _cluster(g, "dims", "Dimensions", "dim", [t for t in tables if t.group == "dim"], keys_only)
    _cluster(g, "map", "Harmonisation", "map", [t for t in tables if t.group == "map"], keys_only)
    _cluster(g, "facts_analysis", "Faits : indicateurs, analyses, modèles, scénarios", "fact", lower, keys_only)
    meta = [t for t in tables if t.group == "meta"]
    _cluster(g, "meta", "Lignage et qualité (sans clé étrangère)", "meta", meta, keys_only)
    lower_names = {t.name for t in lower}
    for t in tables:
        for fk in t.foreign_keys:
            same_group = t.group == "dim" and fk.table.startswith("dim_")
            if t.name in lower_names:  # drawn below the dimension: edge from the dimension
                g.edge(fk.table, t.name, arrowtail="tee", arrowhead="crow")
            else:
                g.edge(t.name, fk.table, arrowtail="crow", arrowhead="tee",
                       **({"constraint": "false"} if same_group else {}))
    # Lineage tables under everything else, side by side.
    if meta and lower:
        for m in meta:
            g.edge(lower[len(lower) // 2].name, m.name, style="invis", dir="none")
    return g


def data_flow() -> graphviz.Digraph:
    """The main job, one direction: sources -> staging -> harmonisation -> checks -> warehouse -> uses."""
    g = graphviz.Digraph("electio_flow", graph_attr={
        "rankdir": "TB", "fontname": FONT, "fontsize": "14", "nodesep": "0.35", "ranksep": "0.5", "bgcolor": "white",
        "pad": "0.2"},
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": FONT, "fontsize": "11",
                   "fillcolor": "#eaf2f8", "color": "#2f6f9f"},
        edge_attr={"color": "#555555", "arrowsize": "0.7"})

    def node(name: str, title: str, detail: str, fill: str = "#eaf2f8", colour: str = "#2f6f9f") -> None:
        g.node(name, f"<<B>{html.escape(title)}</B><BR/><FONT POINT-SIZE=\"9\">{detail}</FONT>>",
               fillcolor=fill, color=colour)

    node("catalog", "Catalogue des sources", "catalog.toml<BR/>URL, empreinte sha256, licence", "#f2f2f2", "#6b6b6b")
    node("resolve", "Extraction", "cache local → miroir → téléchargement<BR/>empreinte vérifiée")
    node("staging", "Lecture (staging)", "un lecteur par format officiel<BR/>erreur : fichier, ligne, colonne")
    node("transform", "Harmonisation", "communes de référence (COG)<BR/>nuances → blocs, indicateurs")
    node("checks", "Contrôles qualité", "identités, couverture,<BR/>recoupements indépendants")
    node("load", "Chargement", "schéma en étoile (sql/schema.sql)<BR/>tout ou rien", "#fdf3e7", "#d9822b")
    node("eda", "Analyse exploratoire", "corrélations, cartes,<BR/>histogrammes, cartes de chaleur")
    node("model", "Modèles", "backtest à origine glissante<BR/>références et modèles")
    node("forecast", "Scénarios", "prévisions à un, deux, trois ans<BR/>intervalles, probabilités")
    node("outputs", "Livrables", "CSV / XLSX, Power BI,<BR/>notebooks, rapport", "#edf6ec", "#4c8c4a")
    for row_nodes in (("catalog", "resolve", "staging"), ("transform", "checks", "load"),
                      ("eda", "model", "forecast")):
        with g.subgraph() as row:
            row.attr(rank="same")
            for n in row_nodes:
                row.node(n)
    for a, b in [("catalog", "resolve"), ("resolve", "staging"), ("staging", "transform"), ("transform", "checks"),
                 ("checks", "load"), ("load", "eda"), ("load", "model"), ("model", "forecast"),
                 ("eda", "outputs"), ("model", "outputs"), ("forecast", "outputs")]:
        g.edge(a, b)
    g.edge("load", "outputs", constraint="false")
    return g


def render(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Rendered bytes (``svg`` or ``png``); needs the ``dot`` program."""
    if fmt == "png":
        graph = graph.copy()
        graph.graph_attr["dpi"] = "110"
    return graph.pipe(format=fmt)


def write_diagrams(docs_dir: Path | None = None) -> list[Path]:
    """docs/schema.svg, docs/schema.png, docs/data_flow.svg, docs/data_flow.png."""
    docs_dir = Path(docs_dir) if docs_dir is not None else PROJECT_ROOT / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, graph in (("schema", star_schema()), ("data_flow", data_flow())):
        for fmt in ("svg", "png"):
            path = docs_dir / f"{stem}.{fmt}"
            tmp = path.with_suffix(f".{fmt}.tmp")
            tmp.write_bytes(render(graph, fmt))
            tmp.replace(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m electio.report.diagram",
                                     description="write the star-schema and data-flow diagrams under docs/")
    parser.add_argument("--docs", type=Path, default=None, help="output folder (default: the project's docs/)")
    args = parser.parse_args(argv)
    for path in write_diagrams(args.docs):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
