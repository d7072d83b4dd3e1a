"""Internal import graph of src/electio: cycles and imports hidden inside functions.

    python bench/import_graph.py [src/electio]

Counts every ``import electio...`` / ``from electio... import`` statement, says how many sit
inside a function body, and lists the strongly connected components (cycles) of the
module graph (module-level imports only: what Python executes at import time, plus the
deferred ones, reported separately).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(target: str, known: set[str]) -> str | None:
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def edges(root: Path):
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    out = []  # (source, target, inside_function)
    statements = []  # one entry per internal import statement: inside a function?
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]

        def visit(node, in_func):
            for child in ast.iter_child_nodes(node):
                func = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                names = []
                if isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        base = ".".join(pkg.split(".")[: len(pkg.split(".")) - child.level + 1] + ([base] if base else []))
                    names = [f"{base}.{a.name}" for a in child.names] if base else []
                internal = [n for n in names if n.split(".")[0] == root.name]
                if internal:
                    statements.append(in_func)
                for name in internal:
                    if True:
                        target = resolve(name, known)
                        if target and target != mod:
                            out.append((mod, target, in_func))
                visit(child, func)

        visit(tree, False)
    return known, out, statements


def cycles(nodes, graph_edges):
    graph = {n: set() for n in nodes}
    for a, b in graph_edges:
        graph[a].add(b)
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return comps


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:] or ["src/electio"])[0]).resolve()
    nodes, out, statements = edges(root)
    inside = [e for e in out if e[2]]
    print(f"{len(statements)} internal import statements, {sum(statements)} inside functions "
          f"({len(out)} module edges, {len(inside)} inside functions)")
    for label, es in (("module-level", [(a, b) for a, b, f in out if not f]), ("all (incl. in functions)", [(a, b) for a, b, _ in out])):
        comps = cycles(nodes, es)
        print(f"cycles over {label} imports: {len(comps)}" + "".join(f"\n  {len(c)} modules: {', '.join(c)}" for c in comps))
    if "-v" in (argv or sys.argv[1:]):
        for a, b, _ in sorted(inside):
            print(f"  in function: {a} -> {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
