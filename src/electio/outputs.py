"""A run's deliverables: written aside, then swapped in together with the warehouse.

During a refresh every output folder (exports, reports, powerbi) is written into a new
sibling folder ``.<name>.staging-<id>``; :meth:`StagedOutputs.commit` then replaces each
target folder with its staged copy. So a folder holds exactly what this run produced
(stale files of a previous run disappear), a failed or interrupted run leaves the
previous folders untouched, and readers never see half a folder. Folders get the
ordinary permissions of the user's umask (tempfile.mkdtemp's 0700 is undone).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger("electio.outputs")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normal_permissions(root: Path) -> None:
    """Folders rwx and files rw for whoever the umask allows (a gateway account can read)."""
    mask = _umask()
    for path in [root, *Path(root).rglob("*")]:
        if path.is_symlink():
            continue
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target then rename: readers never see half a file, and a process killed
    mid-write leaves the previous file (umask respected)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def count_files(paths) -> int:
    """Distinct files that exist (a stage may list a file twice or one it then removed)."""
    return len({Path(p).resolve() for p in paths if Path(p).is_file()})


class StagedOutputs:
    def __init__(self, targets: dict[str, Path]) -> None:
        run = uuid.uuid4().hex[:8]
        self.targets = {k: Path(v) for k, v in targets.items()}
        self.staged = {k: v.parent / f".{v.name}.staging-{run}" for k, v in self.targets.items()}
        for folder in self.staged.values():
            folder.mkdir(parents=True)

    def commit(self) -> None:
        """Replace each target folder by its staged copy."""
        for key, target in self.targets.items():
            staged = self.staged[key]
            normal_permissions(staged)
            old = target.with_name(f".{target.name}.old-{staged.name.rsplit('-', 1)[-1]}")
            if target.exists():
                target.rename(old)
            if any(staged.iterdir()):
                staged.rename(target)
            else:  # nothing produced by this run: no folder (and no stale one)
                staged.rmdir()
            shutil.rmtree(old, ignore_errors=True)
        self.staged = {}

    def discard(self) -> None:
        for folder in self.staged.values():
            shutil.rmtree(folder, ignore_errors=True)
        self.staged = {}


def remove_stale_staging(targets: dict[str, Path]) -> list[Path]:
    """Staging and old copies a killed refresh left beside the output folders (we hold the lock)."""
    removed = []
    for target in targets.values():
        target = Path(target)
        if not target.parent.exists():
            continue
        for stale in target.parent.glob(f".{target.name}.*"):
            if ".staging-" in stale.name or ".old-" in stale.name:
                shutil.rmtree(stale, ignore_errors=True)
                removed.append(stale)
    return removed


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C during the final swaps (a few renames): they all happen, then it is raised."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda *a: caught.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        log.warning("Ctrl-C received during the final swap: the run was completed first")
