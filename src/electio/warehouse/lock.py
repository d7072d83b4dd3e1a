"""One refresh at a time, and output folders checked before any work is done."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from electio.errors import ElectioError


@contextmanager
def refresh_lock(data_dir: Path) -> Iterator[None]:
    """Hold ``<data_dir>/.electio-refresh.lock`` for the whole refresh.

    A second refresh started meanwhile fails at once with a clear message
    instead of racing the first one for the warehouse file.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".electio-refresh.lock"
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ElectioError(f"another refresh is running (lock {path} is held); wait for it to finish "
                           "or, if no refresh is running, delete the lock file") from None
    try:
        yield
    finally:
        lock.release()


def check_writable(*folders: Path) -> None:
    """Fail early, naming the folder, when an output folder cannot be written."""
    for folder in folders:
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".electio-write-test-"):
                pass
        except OSError as exc:
            reason = {errno.EACCES: "permission denied", errno.EROFS: "read-only file system",
                      errno.ENOSPC: "no space left on device"}.get(exc.errno, exc.strerror or str(exc))
            raise ElectioError(f"cannot write to {folder}: {reason}") from None


def remove_stale_temporaries(db_path: Path) -> list[Path]:
    """Delete build files a killed refresh left beside the warehouse (we hold the lock)."""
    removed = []
    for tmp in db_path.parent.glob(f"{db_path.name}.tmp-*"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed
