"""Independent pieces of CPU work run in forked child processes, up to one per core.

Drawing a figure (layout, rasterising, PNG encoding) is most of its cost, is pure Python and C
under the GIL, and needs nothing from the other figures: threads would not overlap it, and a
process started from scratch would spend longer importing matplotlib and receiving the tables
than drawing. A *forked* child already holds every object of its parent (copy-on-write), so
handing it a built figure costs the fork alone (~10 ms for a 700 MB process).

Inside ``with forked():`` a call to :func:`run` forks a child that runs the function and sends
back its pickled result; the parent goes on (e.g. builds the next figure) and waits only when
every core is busy. Leaving the block waits for every child and raises the first failure
(:class:`ChildFailed`, with the child's traceback), naming its label. Everywhere else (outside the block, one core, or a system without ``fork``) :func:`run`
calls the function inline: same result, same bytes.

A child never runs the parent's exit handlers (``os._exit``) and does no garbage collection (it
would touch, hence copy, every page of the parent's objects). Linux only: macOS's system
frameworks are not fork-safe.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable


FORK = sys.platform.startswith("linux") and hasattr(os, "fork")
#: Children at once: one per core this process may use, at most two (the parent mostly waits meanwhile).
WORKERS = min(2, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else 1
#: A child that has not reported after this long is killed and counted as failed (a figure takes
#: seconds). Guards against a hang: a lock held by another thread of the parent at fork time (e.g. the
#: one of ``sys.stderr``) stays held in the child.
CHILD_TIMEOUT = 600.0

_POOL: ContextVar["_Pool | None"] = ContextVar("electio_forked_pool", default=None)


class ChildFailed(RuntimeError):
    """Work run in a child process failed. Not an :class:`ElectioError`: like the same failure run
    inline, it is a defect that stops the refresh, not a stage that cannot run on a perimeter."""


@dataclass
class Handle:
    """A piece of work: its result once :func:`forked` has ended (or at once, run inline)."""

    label: str
    value: Any = None
    error: str | None = None
    pid: int | None = None
    fd: int | None = None

    def result(self) -> Any:
        if self.pid is not None:
            raise RuntimeError(f"{self.label}: still running in a child process (leave the forked() block first)")
        return self.value


def _child(fn: Callable[..., Any], args: tuple, read_fd: int, write_fd: int) -> None:
    """Runs in the child and never returns: whatever happens (even Ctrl-C), it leaves by ``os._exit``."""
    code = 1
    try:
        os.close(read_fd)
        gc.disable()
        _POOL.set(None)  # work it would submit runs inline: this copy of the pool is never collected
        try:
            payload, code = pickle.dumps((True, fn(*args))), 0
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
            payload = pickle.dumps((False, traceback.format_exc()))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(code)


class _Pool:
    def __init__(self, workers: int):
        self.workers = workers
        self.running: list[Handle] = []
        self.failed: list[Handle] = []

    def submit(self, fn: Callable[..., Any], args: tuple, label: str) -> Handle:
        while len(self.running) >= self.workers:
            self._collect(self.running[0])
        handle = Handle(label)
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:  # no memory or process left for a fork: the work is done here instead
            os.close(read_fd)
            os.close(write_fd)
            handle.value = fn(*args)
            return handle
        if pid == 0:
            _child(fn, args, read_fd, write_fd)
        handle.pid, handle.fd = pid, read_fd
        self.running.append(handle)
        os.close(write_fd)
        return handle

    def _collect(self, handle: Handle) -> None:
        """Read the child's outcome to the end of its pipe (the child may block writing it), then reap it."""
        chunks, deadline = [], time.monotonic() + CHILD_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([handle.fd], [], [], left)[0]:
                os.kill(handle.pid, signal.SIGKILL)
                chunks = [pickle.dumps((False, f"no result after {CHILD_TIMEOUT:.0f} s: the child was killed"))]
                break
            chunk = os.read(handle.fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        fd, handle.fd = handle.fd, None
        os.close(fd)
        _, status = os.waitpid(handle.pid, 0)
        self.running.remove(handle)
        handle.pid = None
        try:
            ok, value = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - killed or crashed before it could report
            ok, value = False, f"the child process ended with status {status} and no result"
        if ok:
            handle.value = value
        else:
            handle.error = value
            self.failed.append(handle)

    def finish(self) -> None:
        while self.running:
            self._collect(self.running[0])
        if self.failed:
            first = self.failed[0]
            raise ChildFailed(f"{first.label}: failed in a child process "
                              f"({len(self.failed)} of the parallel tasks failed)\n{first.error}")

    def abandon(self) -> None:
        """The parent is failing: stop and reap every child (their results are not wanted)."""
        for handle in list(self.running):
            try:
                os.kill(handle.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if handle.fd is not None:
                os.close(handle.fd)
            try:
                os.waitpid(handle.pid, 0)
            except ChildProcessError:  # already reaped
                pass
            handle.pid = handle.fd = None
        self.running.clear()


@contextmanager
def forked(workers: int = WORKERS):
    """Within the block, :func:`run` forks; at its end, every child is waited for (see the module)."""
    if not FORK or workers < 2 or _POOL.get() is not None:  # inline, or already inside a block
        yield
        return
    pool = _Pool(workers)
    token = _POOL.set(pool)
    try:
        yield
        pool.finish()
    except BaseException:  # the block failed, or was interrupted while waiting: no child left behind
        pool.abandon()
        raise
    finally:
        _POOL.reset(token)


def run(fn: Callable[..., Any], *args, label: str) -> Handle:
    """``fn(*args)`` in a forked child inside a :func:`forked` block, inline elsewhere."""
    pool = _POOL.get()
    if pool is None:
        return Handle(label, value=fn(*args))
    return pool.submit(fn, args, label)
