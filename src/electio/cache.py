"""Incremental refresh: reuse a stage's outputs when nothing it depends on has changed.

A stage's outputs (the tables it writes, the files it writes into the run's output folders,
the in-memory state it leaves for later stages, its note) are stored under a **key** made of:

- the content of every table the stage declares in ``reads`` (a digest of each DataFrame:
  column names, dtypes and every value, :func:`frame_digest`);
- its options (``ctx.options``) and, for the forecast, the scenarios it would run (default
  calendar and stored custom files, so a new file or a new year changes the key);
- the keys of the stages it runs ``after`` (their state, e.g. the trained model, is an input);
- the code version: a digest of every file of the ``electio`` package, ``sql/`` and ``data/``
  reference files, and the versions of the numerical libraries.

A stage may read a table it does not declare (the figures read ``dim_commune_geometry``): the
tables it actually touched during its cold run are recorded with their digests
(:class:`TrackingTables`), and an entry is reused only if they are all unchanged too.

The table building from the sources (``sources``) is cached the same way, keyed on the
content of the source files it can read (cache and mirror), the perimeter and the code.

A stage that reads every table (report: ``reads=()``) is keyed on every table but this run's
**journal** (:data:`JOURNAL`: meta_refresh, meta_stage_run), which changes on every refresh and
is never an input of a cached output: a reused report names the refresh that computed it. Stages
that read the loaded warehouse itself (exports, Power BI) always run, but memoise their files
one by one (:func:`memo_files`, keyed on the in-memory tables the warehouse was loaded from).

Entries live in ``<data>/.stage-cache/<stage>/<key>/`` (pickle: written and read only by
this project in the user's own data folder), written to a temporary folder and renamed, so an
interrupted refresh never leaves half an entry; the last :data:`KEEP` entries per stage are
kept. ``--force`` recomputes everything (and refreshes the entries).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import logging
import pickle
import shutil
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pandas as pd

from electio.settings import PROJECT_ROOT
from electio.sources.catalog import load_catalog
from electio.stage_run import StageRun
from electio.warehouse.schema import JOURNAL

log = logging.getLogger("electio.cache")

CACHE_DIR = ".stage-cache"
#: Entries kept per stage (the current one and the previous: undoing an edit is free too).
KEEP = 3
#: Entries kept per memoised computation (one per scenario: a few dozen at most).
MEMO_KEEP = 64
#: Output folders of a run whose new files a stage owns (settings attribute prefix).
ROOTS = ("exports", "reports", "powerbi")
#: Files of the checkout that the code version covers, besides the package itself.
CODE_PATHS = ("sql", "data/reference", "data/perimeters", "powerbi/definition")
LIBRARIES = ("numpy", "pandas", "scipy", "sklearn", "lightgbm", "matplotlib", "shapely", "pyproj")
ENTRY = "entry.pkl"


# --------------------------------------------------------------------------- digests

def _h() -> "hashlib._Hash":
    return hashlib.blake2b(digest_size=16)


def _key(text: str) -> str:
    """The store key of an entry described by ``text`` (everything it depends on)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """Digest of a DataFrame's content: columns, dtypes, index and every value."""
    h = _h()
    h.update(repr((list(map(str, frame.columns)), [str(t) for t in frame.dtypes], len(frame))).encode())
    try:
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts): their pickled bytes
        h.update(pickle.dumps(frame, protocol=5))
    return h.hexdigest()


def file_digest(path: Path) -> str:
    h = _h()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of the package's files, the checkout's reference files and the library versions."""
    h = _h()
    package = Path(__file__).resolve().parent
    roots = [package] + [PROJECT_ROOT / p for p in CODE_PATHS]
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            h.update(str(path.relative_to(root.parent)).encode())
            h.update(path.read_bytes())
    for lib in LIBRARIES:
        try:
            h.update(f"{lib}={md.version('scikit-learn' if lib == 'sklearn' else lib)}".encode())
        except md.PackageNotFoundError:
            h.update(f"{lib}=none".encode())
    return h.hexdigest()


def _text(value) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


# --------------------------------------------------------------------------- store

@dataclass
class Entry:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)   # (root, relative path)
    note: str = ""
    extra: dict = field(default_factory=dict)
    accessed: dict[str, str] = field(default_factory=dict)  # every table the stage touched -> digest


class TrackingTables(dict):
    """The run's tables, recording which ones a stage reads (any iteration counts as all)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.accessed: set[str] = set()

    def __getitem__(self, key):
        self.accessed.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.accessed.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.accessed.add(key)
        return super().__contains__(key)

    def __iter__(self):  # also makes dict(tables) / {**tables} go through keys() and __getitem__
        self.accessed.update(super().keys())
        return super().__iter__()

    def keys(self):
        self.accessed.update(super().keys())
        return super().keys()

    def items(self):
        self.accessed.update(super().keys())
        return super().items()

    def values(self):
        self.accessed.update(super().keys())
        return super().values()

    def copy(self):
        self.accessed.update(super().keys())
        return dict(super().items())


class StageCache:
    """The store of one data folder; ``force`` recomputes (and rewrites) every entry."""

    def __init__(self, data_dir: Path, *, force: bool = False, keep: int = KEEP) -> None:
        self.root = Path(data_dir) / CACHE_DIR
        self.force, self.keep = force, keep
        self.keys: dict[str, str] = {}          # stage -> key of this run
        self.reused: dict[str, str] = {}        # stage -> key reused
        self._digests: dict[int, tuple[pd.DataFrame, str]] = {}

    def digest(self, frame: pd.DataFrame) -> str:
        """frame_digest, computed once per frame object in a run (stages never edit frames in place)."""
        hit = self._digests.get(id(frame))
        if hit is not None and hit[0] is frame:
            return hit[1]
        value = frame_digest(frame)
        self._digests[id(frame)] = (frame, value)
        return value

    def accessed_digests(self, tables: dict, names) -> dict[str, str]:
        return {n: (self.digest(tables[n]) if isinstance(dict.get(tables, n), pd.DataFrame) else
                    "absent" if n not in dict.keys(tables) else repr(type(dict.get(tables, n))))
                for n in sorted(set(names) - set(JOURNAL))}

    def path(self, name: str, key: str) -> Path:
        return self.root / name / key

    def load(self, name: str, key: str) -> Entry | None:
        if self.force:
            return None
        path = self.path(name, key) / ENTRY
        if not path.is_file():
            return None
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception as exc:  # a damaged entry is recomputed, never trusted
            log.warning("cache entry %s unreadable (%s): recomputed", path, exc)
            return None

    def save(self, name: str, key: str, entry: Entry, files: dict[tuple[str, str], Path], *,
             keep: int | None = None) -> None:
        final = self.path(name, key)
        tmp = final.with_name(f".{key}.tmp-{uuid.uuid4().hex[:6]}")
        try:
            tmp.mkdir(parents=True)
            for (root, rel), src in files.items():
                dest = tmp / "files" / root / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
            with open(tmp / ENTRY, "wb") as f:
                pickle.dump(entry, f, protocol=5)
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
        except OSError as exc:  # a full disk costs the next run's time, not this run
            log.warning("could not store the %s outputs in the cache: %s", name, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            return
        self._prune(name, keep_key=key, keep=keep or self.keep)

    def _prune(self, name: str, keep_key: str, keep: int) -> None:
        # Memoised items may be saved from two threads at once (the forecast's scenarios): skip
        # another save's temporary folder and entries that vanish while listed.
        dated = []
        for p in (self.root / name).iterdir():
            if p.name.startswith(".") or p.name == keep_key:
                continue
            try:
                dated.append((p.stat().st_mtime, p))
            except FileNotFoundError:
                continue
        for _, old in sorted(dated, key=lambda d: d[0], reverse=True)[keep - 1:]:
            shutil.rmtree(old, ignore_errors=True)

    def restore_files(self, name: str, key: str, entry: Entry, dirs: dict[str, Path]) -> list[Path]:
        out = []
        for root, rel in entry.files:
            dest = Path(dirs[root]) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.path(name, key) / "files" / root / rel, dest)
            out.append(dest)
        return out


# --------------------------------------------------------------------------- sources (table build)

def source_fingerprint(settings, store: StageCache) -> str:
    """Digest of the source files the build can read (cache first, then mirror, as the pipeline
    looks them up). File contents are hashed once per (path, size, mtime) and remembered."""
    memo_path = store.root / "file-digests.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    h, fresh = _h(), {}
    for source in sorted(load_catalog().values(), key=lambda s: s.id):
        for f in source.files:
            places = [Path(settings.cache_dir) / source.id / f.name]
            if settings.mirror is not None:
                places.append(Path(settings.mirror) / source.id / f.name)
            found = next((p for p in places if p.is_file()), None)
            if found is None:
                h.update(f"{source.id}/{f.name}:missing".encode())
                continue
            st = found.stat()
            stamp = f"{found.resolve()}|{st.st_size}|{st.st_mtime_ns}"
            digest = memo.get(stamp) or file_digest(found)
            fresh[stamp] = digest
            h.update(f"{source.id}/{f.name}:{digest}".encode())
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(fresh))
    except OSError:
        pass
    return h.hexdigest()


def build_tables_cached(settings, build: Callable, store: StageCache):
    """``build(settings)`` -> (tables, lineage, election build), or the stored result of the same
    sources, perimeter and code. Returns (tables, stage seconds, missing elections, reused?)."""
    t0 = time.perf_counter()
    key_text = _text({"perimeter": str(settings.departement), "sources": source_fingerprint(settings, store),
                      "code": code_version()})
    key = _key(key_text)
    store.keys["sources"] = key
    entry = store.load("sources", key)
    if entry is not None:
        store.reused["sources"] = key
        log.info("sources unchanged: tables reused from the cache (%s)", key[:12])
        # This run's time (fingerprint + restore), not the stored build's per-step seconds.
        seconds = {"sources (reused)": time.perf_counter() - t0}
        return dict(entry.tables), seconds, list(entry.extra["missing"]), True
    tables, lineage, built = build(settings)
    entry = Entry(tables=dict(tables), extra={"seconds": dict(lineage.seconds), "missing": list(built.missing)})
    store.save("sources", key, entry, {}, keep=1)  # the largest entry (every table): only the latest
    return tables, dict(lineage.seconds), list(built.missing), False


# --------------------------------------------------------------------------- stages

#: Stages whose items are memoised one by one (:func:`memo`).
MEMO_STAGES = ("forecast",)


def cacheable(stage) -> bool:
    """Stages that do not read the warehouse themselves (``reads=()``: every table but the journal)."""
    return not stage.needs_warehouse


def content_keys(tables: dict, store: StageCache | None = None) -> dict[str, str]:
    """Inside a cached refresh (or with ``store``), the content digest of every table but the
    journal ({} outside): the key of what a stage writes from one table (:func:`memo_files`), and
    of what the load may copy from the previous warehouse."""
    names = [n for n, f in dict.items(tables) if isinstance(f, pd.DataFrame) and n not in JOURNAL]
    return table_keys(tables, names, store)


def memo_base(stage, ctx, store: StageCache) -> str:
    """Every input of the stage except its extra ones: its options, upstream keys, code and the
    digest of every table of the run (a memoised item may read any of them)."""
    h = _h()
    h.update(f"{stage.name}|{code_version()}|{_text(ctx.options)}".encode())
    for name in stage.after:
        h.update(f"after {name}:{store.keys.get(name, 'none')}".encode())
    for name, frame in sorted(dict.items(ctx.tables)):
        if isinstance(frame, pd.DataFrame):
            h.update(f"{name}:{store.digest(frame)}".encode())
    return h.hexdigest()


def stage_key(stage, ctx, store: StageCache) -> str:
    h = _h()
    h.update(f"{stage.name}|{code_version()}|{_text(ctx.options)}".encode())
    # reads=(): every table of the run but the journal
    reads = stage.reads or sorted(n for n in dict.keys(ctx.tables) if n not in JOURNAL)
    for name in reads:
        frame = dict.get(ctx.tables, name)
        h.update(f"{name}:{store.digest(frame) if isinstance(frame, pd.DataFrame) else 'absent'}".encode())
    for name in stage.after:
        h.update(f"after {name}:{store.keys.get(name, 'none')}".encode())
    if stage.extra_inputs is not None:
        h.update(_text(stage.extra_inputs(ctx)).encode())
    return h.hexdigest()


def _dirs(settings) -> dict[str, Path]:
    return {r: Path(getattr(settings, f"{r}_dir")) for r in ROOTS}


def _snapshot(dirs: dict[str, Path]) -> dict[tuple[str, str], tuple[int, int]]:
    snap = {}
    for root, folder in dirs.items():
        if folder.is_dir():
            for p in folder.rglob("*"):
                if p.is_file():
                    st = p.stat()
                    snap[(root, p.relative_to(folder).as_posix())] = (st.st_size, st.st_mtime_ns)
    return snap


#: The store of the stage being run, for :func:`cached_part` (None outside a cached refresh).
_ACTIVE: ContextVar[StageCache | None] = ContextVar("electio_stage_cache", default=None)
#: (stage name, digest of every input of the stage but its extra inputs), for :func:`memo`.
_STAGE: ContextVar[tuple[str, str] | None] = ContextVar("electio_stage_base", default=None)


def memo(kind: str, parts, fn: Callable):
    """Inside a cached stage, ``fn()`` for one independent item (e.g. one scenario of the
    forecast, whose draws depend only on the scenario and the stage's inputs), reused when
    ``parts`` and every table of the run are unchanged. Outside a cached refresh: ``fn()``."""
    store, stage = _ACTIVE.get(), _STAGE.get()
    if store is None or stage is None:
        return fn()
    return _stored_value(store, f"memo-{stage[0]}-{kind}", f"{stage[1]}|{kind}|{_text(parts)}", fn)


def memo_value(kind: str, parts, fn: Callable):
    """Inside a cached refresh, ``fn()`` reused when ``parts`` (everything it depends on: file
    digests, table keys, parameters) and the code are unchanged, whatever else changed (e.g. one
    figure's embedded version, when another figure was redrawn). Outside: ``fn()``."""
    store = _ACTIVE.get()
    if store is None:
        return fn()
    return _stored_value(store, f"value-{kind}", _value_key(kind, parts), fn)


def memo_value_known(kind: str, parts) -> bool:
    """Whether :func:`memo_value` would reuse a stored value for ``parts`` (False outside a cached
    refresh): lets a caller compute only the missing ones, e.g. several at once."""
    store = _ACTIVE.get()
    if store is None or store.force:
        return False
    return (store.path(f"value-{kind}", _key(_value_key(kind, parts))) / ENTRY).is_file()


def _value_key(kind: str, parts) -> str:
    return f"{code_version()}|{kind}|{_text(parts)}"


def _stored_value(store: StageCache, label: str, key_text: str, fn: Callable):
    key = _key(key_text)
    entry = store.load(label, key)
    if entry is not None:
        store.reused[f"{label}/{key[:8]}"] = key
        return entry.extra["value"]
    value = fn()
    store.save(label, key, Entry(extra={"value": value}), {}, keep=MEMO_KEEP)
    return value


def table_keys(tables: dict, names, store: StageCache | None = None) -> dict[str, str]:
    """Content digests of ``names`` (for :func:`memo_value` parts); empty outside a cached refresh
    unless ``store`` is given."""
    store = store if store is not None else _ACTIVE.get()
    if store is None:
        return {}
    return {n: store.digest(f) if isinstance(f := dict.get(tables, n), pd.DataFrame) else "absent" for n in names}


def memo_files(kind: str, parts, folder: Path, fn: Callable[[], list[Path]]) -> list[Path]:
    """Inside a cached refresh, the files ``fn()`` writes into ``folder`` for ``parts`` (the content
    keys of what they are made of), restored from the store when the same parts were written
    before (e.g. one table's CSV files). Outside a cached refresh, or ``parts`` None: ``fn()``."""
    store = _ACTIVE.get()
    if store is None or parts is None:
        return fn()
    key = _key(f"{code_version()}|{kind}|{_text(parts)}")
    label, dirs = f"files-{kind}", {"out": Path(folder)}
    entry = store.load(label, key)
    if entry is not None:
        store.reused[label] = key
        return store.restore_files(label, key, entry, dirs)
    files = [Path(f) for f in fn()]
    written = {("out", f.relative_to(folder).as_posix()): f for f in files}
    # only the latest version: these are copies of whole extracts (~180 MB for 69), a disk cost
    store.save(label, key, Entry(files=sorted(written)), written, keep=1)
    return files


def _refresh_ids(tables: dict) -> list[str]:
    """The refreshes of the journal, oldest first (the last one is this run's, once recorded)."""
    journal = dict.get(tables, "meta_refresh")
    if not isinstance(journal, pd.DataFrame) or journal.empty:
        return []
    return journal.sort_values("finished_at")["refresh_id"].astype(str).tolist()


def _changed(store: StageCache, tables: dict, entry: Entry) -> list[str]:
    now = store.accessed_digests(tables, entry.accessed)
    return [n for n, d in entry.accessed.items() if now.get(n) != d]


def cached_part(ctx, name: str, reads: tuple[str, ...], fn: Callable[[dict], list]) -> list[Path]:
    """Inside a stage, one independent part that only writes files (e.g. the forecast figures of
    the figures stage): ``fn(tables)`` -> files, reused when the tables it reads are unchanged,
    so a new scenario redraws the forecast figures but not the maps."""
    store = _ACTIVE.get()
    if store is None:
        return fn(ctx.tables)
    h = _h()
    h.update(f"part {name}|{code_version()}|{_text(ctx.options)}".encode())
    for t in reads:
        frame = dict.get(ctx.tables, t)
        h.update(f"{t}:{store.digest(frame) if isinstance(frame, pd.DataFrame) else 'absent'}".encode())
    key, label, dirs = h.hexdigest(), f"part-{name}", _dirs(ctx.settings)
    entry = store.load(label, key)
    if entry is not None and _changed(store, ctx.tables, entry):
        entry = None
    if entry is not None:
        if isinstance(ctx.tables, TrackingTables):
            ctx.tables.accessed.update(entry.accessed)
        store.reused[label] = key
        log.info("%s: inputs unchanged, files reused from the cache (%s)", name, key[:12])
        return store.restore_files(label, key, entry, dirs)
    before_files = _snapshot(dirs)
    tracked = TrackingTables(dict.items(ctx.tables))
    files = fn(tracked)
    if isinstance(ctx.tables, TrackingTables):
        ctx.tables.accessed.update(tracked.accessed)
    written = {k: dirs[k[0]] / k[1] for k, v in _snapshot(dirs).items() if before_files.get(k) != v}
    outside = [f for f in files if Path(f).is_file()
               and not any(Path(f).resolve().is_relative_to(d.resolve()) for d in dirs.values())]
    if not outside:
        accessed = store.accessed_digests(ctx.tables, tracked.accessed)
        store.save(label, key, Entry(files=sorted(written), accessed=accessed), written)
    return files


def run_stage_cached(stage, ctx, done: dict, store: StageCache | None, run_stage: Callable):
    """:func:`electio.stages.run_stage` with reuse: an unchanged stage restores its stored
    outputs instead of running; a stage that ran stores them for the next refresh."""
    if store is None:
        return run_stage(stage, ctx, done)
    token = _ACTIVE.set(store)  # parts of any stage may be memoised (memo_files)
    if not cacheable(stage):
        try:
            return run_stage(stage, ctx, done)
        finally:
            _ACTIVE.reset(token)
    base = _STAGE.set((stage.name, memo_base(stage, ctx, store)) if stage.name in MEMO_STAGES else None)
    try:
        return _run_stage_cached(stage, ctx, done, store, run_stage)
    finally:
        _STAGE.reset(base)
        _ACTIVE.reset(token)


def _run_stage_cached(stage, ctx, done: dict, store: StageCache, run_stage: Callable):
    blocked = [a for a in stage.after if a in done and done[a].status != "done"]
    if blocked:  # the runner says why
        return run_stage(stage, ctx, done)
    t0 = time.perf_counter()
    key = stage_key(stage, ctx, store)
    store.keys[stage.name] = key
    dirs = _dirs(ctx.settings)
    entry = store.load(stage.name, key)
    if entry is not None:
        changed = _changed(store, ctx.tables, entry)
        if changed:
            log.info("%s: undeclared input %s changed: recomputed", stage.name, ", ".join(changed[:5]))
            entry = None
        elif entry.extra.get("refresh") not in (None, *_refresh_ids(ctx.tables)):
            # e.g. the report names the refresh that computed it: not in this warehouse's journal
            log.info("%s: the refresh its outputs name is not in this warehouse's journal: recomputed", stage.name)
            entry = None
    if entry is not None:
        files = store.restore_files(stage.name, key, entry, dirs)
        ctx.tables.update(entry.tables)
        ctx.state.update(entry.state)
        store.reused[stage.name] = key
        log.info("%s: inputs unchanged, outputs reused from the cache (%s)", stage.name, key[:12])
        return StageRun(stage.name, "done", entry.note, time.perf_counter() - t0,
                        sum(len(f) for f in entry.tables.values()), files, reused=True)
    before_state = dict(ctx.state)
    before_files = _snapshot(dirs)
    before_tables = dict(ctx.tables)
    shared, ctx.tables = ctx.tables, TrackingTables(ctx.tables)
    try:
        result = run_stage(stage, ctx, done)
    finally:  # the run's dict object is shared with the refresh: give it the stage's writes
        tracked, ctx.tables = ctx.tables, shared
        shared.update(dict.items(tracked))
    if result.status != "done":
        return result
    # Tables the stage read, as they were before it wrote any.
    accessed = store.accessed_digests(before_tables, tracked.accessed - (set(stage.writes) - set(before_tables)))
    after_files = _snapshot(dirs)
    written = {k: dirs[k[0]] / k[1] for k, v in after_files.items() if before_files.get(k) != v}
    outside = [f for f in result.files if Path(f).is_file()
               and not any(Path(f).resolve().is_relative_to(d.resolve()) for d in dirs.values())]
    if outside:
        log.warning("%s wrote %s outside the output folders: not cached", stage.name, outside[:3])
        return result
    state = {k: v for k, v in ctx.state.items() if k not in before_state or before_state[k] is not v}
    tables = {t: ctx.tables[t] for t in stage.writes if t in ctx.tables}
    # a stage that read the journal (the report) names this run's refresh: see the reuse check above
    refreshes = _refresh_ids(before_tables) if "meta_refresh" in tracked.accessed else []
    entry = Entry(tables=tables, state=state, files=sorted(written), note=result.reason, accessed=accessed,
                  extra={"refresh": refreshes[-1]} if refreshes else {})
    store.save(stage.name, key, entry, written)
    return replace(result, seconds=time.perf_counter() - t0)
