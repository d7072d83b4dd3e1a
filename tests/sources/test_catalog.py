"""The source catalog: complete against the mirror's MANIFEST.csv, validated, documented."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from electio.sources import build_catalog
from electio.sources.catalog import (CatalogError, CatalogLookupError, Source, SourceFile, catalog_markdown,
                                     load_catalog, parse_catalog)

REPO = Path(__file__).resolve().parents[2]
GOOD_SHA = "a" * 64


def mirror_dir() -> Path:
    env = os.environ.get("ELECTIO_MIRROR")
    return Path(env) if env else (REPO / ".." / "shared" / "electio-mirror").resolve()


@pytest.fixture(scope="module")
def manifest_rows() -> list[dict[str, str]]:
    manifest = mirror_dir() / "MANIFEST.csv"
    if not manifest.is_file():
        pytest.fail(f"MANIFEST.csv of the electio mirror not found at {manifest}: the catalog is checked "
                    "against it (set ELECTIO_MIRROR or put shared/electio-mirror beside the repository)")
    with manifest.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_packaged_catalog_loads():
    catalog = load_catalog()
    assert len(catalog) == 28  # + euro2024_interieur_web_france, national_results
    assert all(isinstance(s, Source) and s.files for s in catalog.values())
    assert len(catalog["euro2024_interieur_web_69"].files) == 266
    assert load_catalog() == catalog  # cached parse, equal result
    assert load_catalog() is not catalog  # callers get their own dict


def test_every_manifest_row_is_catalogued(manifest_rows):
    catalog = load_catalog()
    assert len(manifest_rows) == 358
    for row in manifest_rows:
        assert row["source_id"] in catalog, f"{row['source_id']} missing from the catalog"
        f = catalog[row["source_id"]].file(row["file"])
        assert (f.sha256, f.bytes) == (row["sha256"], int(row["bytes"])), f"{row['source_id']}/{row['file']}"
        assert f.obtained_from == row["obtained_from"]
    listed = {(r["source_id"], r["file"]) for r in manifest_rows}
    catalogued = {(s.id, f.name) for s in catalog.values() for f in s.files}
    assert catalogued == listed


def test_download_urls_follow_obtained_from(manifest_rows):
    catalog = load_catalog()
    no_url = []
    for row in manifest_rows:
        f = catalog[row["source_id"]].file(row["file"])
        origin = row["obtained_from"]
        if (m := re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40}):(.+)", origin)) and "(git archive" not in origin:
            assert f.url.startswith(f"https://raw.githubusercontent.com/{m[1]}/{m[2]}/"), f.url
            assert "%" in f.url or f.url.endswith(m[3])
        if f.url:
            assert f.url.startswith("https://")
        else:
            assert f.note, f"{row['source_id']}/{row['file']}: no url and no note"
            no_url.append((row["source_id"], row["file"]))
    assert sorted(no_url) == sorted([
        ("etalab_decoupage_administratif_2024", "communes.json"), ("etalab_decoupage_administratif_2024", "epci.json"),
        ("etalab_decoupage_administratif_2026", "communes.json"), ("etalab_decoupage_administratif_2026", "epci.json"),
        ("pres2012_communes_69_transcription", "Pres2012commT1_dep69_extract.csv"),
        ("pres2012_communes_69_transcription", "Pres2012commT2_dep69_extract.csv"),
        # A git archive (not a file of the repository) and a transcription: only the mirror has them.
        ("euro2024_interieur_web_france", "output_json_all_communes.tar.gz"),
        ("national_results", "national_results.csv"), ("national_results", "CHECKS.md"),
    ])
    etalab = catalog["etalab_decoupage_administratif_2024"]
    assert etalab.file("etalab-decoupage-administratif-4.1.0.tgz").url == (
        "https://registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-4.1.0.tgz")
    assert "package/data/communes.json" in etalab.file("communes.json").note
    renamed = catalog["insee_populations_legales_2023"].file("ensemble.zip")
    assert renamed.url.endswith("/.tmp-ensemble.zip") and ".tmp-ensemble.zip" in renamed.note
    ssmsi = catalog["ssmsi_delinquance_departements"].files[0]
    assert "/D%C3%A9linquance%20et%20criminalit%C3%A9/" in ssmsi.url


def test_file_lookup_error_names_source_and_file():
    source = load_catalog()["insee_filosofi_2020_com"]
    assert source.file("cc_filosofi_2020_COM.csv").bytes > 0
    with pytest.raises(KeyError) as info:
        source.file("nope.csv")
    assert isinstance(info.value, CatalogLookupError)
    assert "insee_filosofi_2020_com" in str(info.value) and "nope.csv" in str(info.value)


TINY = """
[[source]]
id = "tiny"
family = "test"
title = "Tiny"
publisher = "Nobody"
dataset_url = ""
licence = "none"
format = "text"
years = "2024"
geography = "nowhere"
known_issues = ""
  [[source.files]]
  name = "a.txt"
  sha256 = "{sha}"
  bytes = 3
  url = "{url}"
  {extra}
"""


def tiny(sha: str = GOOD_SHA, url: str = "https://example.org/a.txt", extra: str = "") -> str:
    return TINY.replace("{sha}", sha).replace("{url}", url).replace("{extra}", extra)


def test_parse_tiny_catalog():
    catalog = parse_catalog(tiny())
    assert catalog["tiny"].file("a.txt") == SourceFile("a.txt", GOOD_SHA, 3, "https://example.org/a.txt")


@pytest.mark.parametrize("sha", ["abc", "g" * 64, "a" * 63, "a" * 65])
def test_bad_sha256_is_rejected_naming_the_entry(sha):
    with pytest.raises(CatalogError, match=r"source 'tiny'.*'a\.txt'.*sha256 must be 64 hexadecimal"):
        parse_catalog(tiny(sha=sha))


def test_bad_sha256_in_a_catalog_file(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(tiny(sha="1234"), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(path) in str(info.value) and "tiny" in str(info.value) and "a.txt" in str(info.value)


@pytest.mark.parametrize("text, problem", [
    (tiny().replace('title = "Tiny"\n', ""), "title is missing"),
    (tiny(url=""), "a note must say how to obtain"),
    (tiny(url="ftp://example.org/a.txt"), "http(s) URL"),
    (tiny().replace('name = "a.txt"', 'name = "../a.txt"'), "plain file name"),
    (tiny().replace("bytes = 3", 'bytes = "3"'), "bytes must be a non-negative integer"),
    (tiny(extra='colour = "red"'), "unknown field"),
    (tiny() + tiny().split("\n", 1)[1], "defined twice"),
    ("[[source]\n", "invalid TOML"),
])
def test_catalog_validation(text, problem):
    with pytest.raises(CatalogError, match=re.escape(problem)):
        parse_catalog(text)


def test_url_may_be_empty_with_a_note():
    f = parse_catalog(tiny(url="", extra='note = "ask someone"'))["tiny"].file("a.txt")
    assert f.url == "" and f.note == "ask someone"


def test_markdown_mentions_every_source():
    catalog = load_catalog()
    text = catalog_markdown(catalog)
    for source in catalog.values():
        assert f"## {source.id}" in text
        assert f"[`{source.id}`](#{source.id})" in text
    assert text.count("\n## ") == len(catalog)
    assert "<INSEE code>" not in text  # escaped, not raw HTML


def test_docs_sources_md_is_up_to_date():
    docs = REPO / "docs" / "sources.md"
    expected = catalog_markdown(load_catalog())
    assert docs.is_file(), "docs/sources.md is missing: python -m electio sources docs > docs/sources.md"
    assert docs.read_text(encoding="utf-8").rstrip("\n") == expected.rstrip("\n"), (
        "docs/sources.md is stale: regenerate it with python -m electio sources docs > docs/sources.md")


def test_build_catalog_script_still_runs(manifest_rows, tmp_path):
    out = tmp_path / "catalog.toml"
    assert build_catalog.main([str(mirror_dir() / "MANIFEST.csv"), "-o", str(out)]) == 0

    def files(catalog):
        return {(s.id, f.name, f.sha256, f.bytes, f.url) for s in catalog.values() for f in s.files}

    assert files(load_catalog(out)) == files(load_catalog())
