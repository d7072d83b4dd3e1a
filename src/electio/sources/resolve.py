"""Find a catalogued source file locally or download it, and prove it is the right one.

Order: the local cache (``settings.cache_dir/<source_id>/<file>``), then the mirror
(``settings.mirror/<source_id>/<file>``, read in place), then the file's URL, streamed
into the cache. Whatever is found must have the sha256 pinned in the catalog.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from electio.errors import ChecksumMismatch, SourceUnavailable
from electio.settings import Settings
from electio.sources.catalog import CatalogLookupError, Source, SourceFile, load_catalog

log = logging.getLogger("electio.sources")

Origin = Literal["cache", "mirror", "download"]

#: Downloads use https only. Plain http is allowed for these hosts alone (tests patch
#: this to {"127.0.0.1"} to serve files from a local server); keep it empty otherwise.
INSECURE_HTTP_HOSTS: frozenset[str] = frozenset()

#: (connect, read) timeouts in seconds for downloads.
TIMEOUT = (10, 60)
CHUNK = 1 << 20

_MEMO: dict[tuple[str, int, int], str] = {}
_MEMO_LOCK = threading.Lock()


@dataclass(frozen=True)
class ResolvedFile:
    source_id: str
    file_name: str
    path: Path
    sha256: str
    bytes: int
    origin: Origin


def clear_checksum_memo() -> None:
    """Forget the checksums computed so far (they are otherwise kept for the process)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per (path, size, mtime) in this process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _MEMO_LOCK:
        _MEMO[key] = value
    return value


def _remember(path: Path, sha256: str) -> None:
    stat = path.stat()
    with _MEMO_LOCK:
        _MEMO[(str(path.resolve()), stat.st_size, stat.st_mtime_ns)] = sha256


def _verify(source_id: str, entry: SourceFile, path: Path, where: str) -> str:
    actual = file_sha256(path)
    if actual != entry.sha256:
        size = path.stat().st_size
        raise ChecksumMismatch(
            f"{source_id}/{entry.name}: the {where} copy at {path} has sha256 {actual} ({size:,} bytes) "
            f"but the catalog expects {entry.sha256} ({entry.bytes:,} bytes). It is not the catalogued file: "
            f"delete it or replace it with the right file, then run again.")
    return actual


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in INSECURE_HTTP_HOSTS:
        return
    raise ValueError(f"refused to download {url}: only https URLs are allowed")


def _download(source_id: str, entry: SourceFile, target: Path) -> str:
    """Stream entry.url to a temporary file beside target, then move it into place.

    Raises ChecksumMismatch if the bytes are not the catalogued ones, and lets network
    errors through; in every failure the temporary file is removed.
    """
    _check_url(entry.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out, requests.get(entry.url, stream=True, timeout=TIMEOUT) as response:
            _check_url(response.url)  # after redirects
            response.raise_for_status()
            total = int(response.headers.get("Content-Length") or 0) or entry.bytes
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=entry.name,
                      leave=False, disable=None) as bar:
                for chunk in response.iter_content(chunk_size=CHUNK):
                    written += len(chunk)
                    if written > entry.bytes:
                        raise ChecksumMismatch(
                            f"{source_id}/{entry.name}: download from {entry.url} exceeds the catalogued size "
                            f"of {entry.bytes:,} bytes; nothing was written to {target}.")
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != entry.sha256:
            raise ChecksumMismatch(
                f"{source_id}/{entry.name}: the file downloaded from {entry.url} has sha256 {actual} "
                f"({written:,} bytes) but the catalog expects {entry.sha256} ({entry.bytes:,} bytes); "
                f"nothing was written to {target}. The upstream file changed or the transfer was corrupted.")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _remember(target, actual)
    return actual


def _describe_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


def resolve_source(source_id: str, file_name: str, *, settings: Settings,
                   catalog: dict[str, Source] | None = None) -> ResolvedFile:
    """Local path of a checksum-verified copy of one catalogued file.

    Tries the cache, then the mirror (read in place), then a download into the cache.
    Raises ChecksumMismatch if a copy is found with the wrong content, and
    SourceUnavailable (one message listing every place tried) if none is found.
    """
    catalog = load_catalog() if catalog is None else catalog
    source = catalog.get(source_id)
    if source is None:
        raise CatalogLookupError(f"unknown source {source_id!r}: it is not in the source catalog "
                                 f"({len(catalog)} sources; see docs/sources.md)")
    entry = source.file(file_name)
    tried: list[str] = []

    def found(path: Path, origin: Origin, sha256: str) -> ResolvedFile:
        log.debug("%s/%s: %s (%s)", source_id, file_name, origin, path)
        return ResolvedFile(source_id, file_name, path, sha256, path.stat().st_size, origin)

    cached = Path(settings.cache_dir) / source_id / file_name
    if cached.is_file():
        return found(cached, "cache", _verify(source_id, entry, cached, "cached"))
    tried.append(f"cache: {cached} (not found)")

    if settings.mirror is None:
        tried.append("mirror: no mirror configured (set ELECTIO_MIRROR or --mirror)")
    else:
        mirrored = Path(settings.mirror) / source_id / file_name
        if mirrored.is_file():
            return found(mirrored, "mirror", _verify(source_id, entry, mirrored, "mirror"))
        missing = "not found" if Path(settings.mirror).is_dir() else "mirror folder does not exist"
        tried.append(f"mirror: {mirrored} ({missing})")

    if not entry.url:
        tried.append(f"download: no URL in the catalog ({entry.note})")
    elif not settings.allow_download:
        tried.append(f"download: {entry.url} (downloads disabled: ELECTIO_OFFLINE or --offline)")
    else:
        log.info("%s/%s: downloading %s", source_id, file_name, entry.url)
        try:
            sha256 = _download(source_id, entry, cached)
        except ChecksumMismatch:
            raise
        except (requests.RequestException, OSError, ValueError) as exc:
            tried.append(f"download: {entry.url} failed: {_describe_error(exc)}")
        else:
            return found(cached, "download", sha256)

    raise SourceUnavailable(
        f"source file {source_id}/{file_name} is not available. Tried:\n"
        + "\n".join(f"  - {t}" for t in tried)
        + f"\nTo provide it, put the file (sha256 {entry.sha256}, {entry.bytes:,} bytes) at {cached}, "
          "or point ELECTIO_MIRROR (or --mirror) at a mirror folder laid out as <source_id>/<file>.")
