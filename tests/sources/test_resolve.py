"""resolve_source: cache, then mirror, then download; always checksum-verified."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from electio.errors import ChecksumMismatch, SourceUnavailable
from electio.settings import Settings
from electio.sources import resolve
from electio.sources.catalog import CatalogLookupError, Source, SourceFile
from electio.sources.resolve import ResolvedFile, resolve_source

CONTENT = b"code;value\n69123;42\n" * 50
SHA = hashlib.sha256(CONTENT).hexdigest()
SID, NAME = "tiny_source", "tiny.csv"


def make_catalog(url: str = "", *, sha256: str = SHA, size: int = len(CONTENT)) -> dict[str, Source]:
    f = SourceFile(NAME, sha256, size, url, note="" if url else "test file with no URL")
    source = Source(id=SID, family="test", title="Tiny", publisher="tests", dataset_url="", licence="none",
                    format="CSV", years="2024", geography="nowhere", known_issues="", files=(f,))
    return {SID: source}


def make_settings(tmp_path: Path, *, mirror: Path | None = None, allow_download: bool = False) -> Settings:
    return Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data",
                    exports_dir=tmp_path / "exports", reports_dir=tmp_path / "reports",
                    allow_download=allow_download)


def put(folder: Path, data: bytes = CONTENT) -> Path:
    path = folder / SID / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(autouse=True)
def _fresh_memo():
    resolve.clear_checksum_memo()
    yield
    resolve.clear_checksum_memo()


@pytest.fixture
def server(monkeypatch):
    """Local HTTP server: routes[path] = (bytes, mode), mode "ok" or "drop" (closes half-way)."""
    routes: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path not in routes:
                self.send_error(404)
                return
            data, mode = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if mode == "drop":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setattr(resolve, "INSECURE_HTTP_HOSTS", frozenset({"127.0.0.1"}))
    monkeypatch.setattr(resolve, "TIMEOUT", (2, 2))
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, routes
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=2)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_cache_hit(tmp_path):
    settings = make_settings(tmp_path)
    cached = put(settings.cache_dir)
    got = resolve_source(SID, NAME, settings=settings, catalog=make_catalog())
    assert got == ResolvedFile(SID, NAME, cached, SHA, len(CONTENT), "cache")


def test_mirror_hit_is_read_in_place(tmp_path, caplog):
    mirror = tmp_path / "mirror"
    mirrored = put(mirror)
    settings = make_settings(tmp_path, mirror=mirror)
    with caplog.at_level(logging.DEBUG, logger="electio.sources"):
        got = resolve_source(SID, NAME, settings=settings, catalog=make_catalog())
    assert (got.origin, got.path, got.sha256, got.bytes) == ("mirror", mirrored, SHA, len(CONTENT))
    assert files_under(settings.cache_dir) == []  # not copied
    assert any(r.name == "electio.sources" and "mirror" in r.getMessage() for r in caplog.records)


def test_cache_is_preferred_over_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    put(mirror)
    settings = make_settings(tmp_path, mirror=mirror)
    cached = put(settings.cache_dir)
    got = resolve_source(SID, NAME, settings=settings, catalog=make_catalog())
    assert (got.origin, got.path) == ("cache", cached)


def test_mirror_with_wrong_checksum_is_refused(tmp_path):
    mirror = tmp_path / "mirror"
    bad = put(mirror, b"tampered\n")
    settings = make_settings(tmp_path, mirror=mirror)
    with pytest.raises(ChecksumMismatch) as info:
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog())
    message = str(info.value)
    for part in (SID, NAME, str(bad), SHA, hashlib.sha256(b"tampered\n").hexdigest(), "delete"):
        assert part in message


def test_cache_with_wrong_checksum_is_refused_not_skipped(tmp_path):
    mirror = tmp_path / "mirror"
    put(mirror)
    settings = make_settings(tmp_path, mirror=mirror)
    bad = put(settings.cache_dir, b"old version\n")
    with pytest.raises(ChecksumMismatch, match="delete it or replace it") as info:
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog())
    assert str(bad) in str(info.value)


def test_checksums_are_memoised_per_path_size_mtime(tmp_path):
    settings = make_settings(tmp_path)
    cached = put(settings.cache_dir)
    resolve_source(SID, NAME, settings=settings, catalog=make_catalog())
    stat = cached.stat()
    # Same size and mtime: the memo answers without re-reading the file.
    cached.write_bytes(b"X" * len(CONTENT))
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert resolve_source(SID, NAME, settings=settings, catalog=make_catalog()).origin == "cache"
    # A new mtime invalidates the memo, and the changed file is refused.
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ChecksumMismatch):
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog())


def test_download_is_written_atomically_into_the_cache(tmp_path, server):
    base, routes = server
    routes["/tiny.csv"] = (CONTENT, "ok")
    settings = make_settings(tmp_path, mirror=tmp_path / "empty-mirror", allow_download=True)
    got = resolve_source(SID, NAME, settings=settings, catalog=make_catalog(f"{base}/tiny.csv"))
    assert got == ResolvedFile(SID, NAME, settings.cache_dir / SID / NAME, SHA, len(CONTENT), "download")
    assert got.path.read_bytes() == CONTENT
    assert files_under(settings.cache_dir) == [f"{SID}/{NAME}"]  # no temporary file left
    # Next time it is a cache hit.
    assert resolve_source(SID, NAME, settings=settings, catalog=make_catalog(f"{base}/x")).origin == "cache"


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, server):
    base, routes = server
    routes["/tiny.csv"] = (CONTENT.replace(b"42", b"43"), "ok")
    settings = make_settings(tmp_path, allow_download=True)
    with pytest.raises(ChecksumMismatch) as info:
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog(f"{base}/tiny.csv"))
    assert SID in str(info.value) and SHA in str(info.value)
    assert files_under(settings.cache_dir) == []


def test_download_bigger_than_catalogued_is_cut_short(tmp_path, server):
    base, routes = server
    routes["/tiny.csv"] = (CONTENT * 3, "ok")
    settings = make_settings(tmp_path, allow_download=True)
    with pytest.raises(ChecksumMismatch, match="exceeds the catalogued size"):
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog(f"{base}/tiny.csv"))
    assert files_under(settings.cache_dir) == []


def test_connection_dropped_half_way_leaves_no_partial_file(tmp_path, server):
    base, routes = server
    routes["/tiny.csv"] = (CONTENT, "drop")
    settings = make_settings(tmp_path, allow_download=True)
    url = f"{base}/tiny.csv"
    with pytest.raises(SourceUnavailable) as info:
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog(url))
    assert f"download: {url} failed" in str(info.value)
    assert files_under(settings.cache_dir) == []


def test_http_error_is_reported(tmp_path, server):
    base, _ = server
    settings = make_settings(tmp_path, allow_download=True)
    with pytest.raises(SourceUnavailable, match="404"):
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog(f"{base}/missing.csv"))
    assert files_under(settings.cache_dir) == []


def test_plain_http_is_refused_outside_the_allow_list(tmp_path):
    settings = make_settings(tmp_path, allow_download=True)
    with pytest.raises(SourceUnavailable, match="only https URLs are allowed"):
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog("http://example.org/tiny.csv"))
    assert files_under(settings.cache_dir) == []


def test_nothing_available_names_every_place_tried(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    settings = make_settings(tmp_path, mirror=mirror, allow_download=False)
    url = "https://example.org/tiny.csv"
    with pytest.raises(SourceUnavailable) as info:
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog(url))
    message = str(info.value)
    for part in (SID, NAME, str(settings.cache_dir / SID / NAME), str(mirror / SID / NAME), url,
                 "downloads disabled", "ELECTIO_MIRROR", "<source_id>/<file>"):
        assert part in message, part


def test_nothing_available_without_mirror_or_url(tmp_path):
    settings = make_settings(tmp_path, mirror=None, allow_download=True)
    with pytest.raises(SourceUnavailable) as info:
        resolve_source(SID, NAME, settings=settings, catalog=make_catalog(""))
    message = str(info.value)
    assert "no mirror configured (set ELECTIO_MIRROR or --mirror)" in message
    assert "no URL in the catalog (test file with no URL)" in message


def test_unknown_source_or_file(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(CatalogLookupError, match="unknown source 'nope'"):
        resolve_source("nope", NAME, settings=settings, catalog=make_catalog())
    with pytest.raises(KeyError, match="tiny_source.*other.csv"):
        resolve_source(SID, "other.csv", settings=settings, catalog=make_catalog())
