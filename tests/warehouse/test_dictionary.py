"""The data dictionary covers every column of the schema and every indicator."""

from __future__ import annotations

from electio.warehouse.dictionary import dictionary_markdown, indicator_dictionary, schema_dictionary
from electio.warehouse.schema import table_columns


def test_every_column_is_described():
    d = schema_dictionary()
    expected = {(t, c) for t, cols in table_columns().items() for c in cols}
    assert set(zip(d["table"], d["column"])) == expected
    undocumented = d[d["meaning"].str.strip() == ""]
    assert undocumented.empty, undocumented[["table", "column"]].to_string()
    assert (d["source"] != "").all()


def test_inline_schema_comment_wins():
    d = schema_dictionary().set_index(["table", "column"])
    assert "percent of expressed votes" in d.loc[("fact_election_result", "share_expressed"), "meaning"]


def test_markdown_lists_tables_and_indicators():
    text = dictionary_markdown(schema_dictionary(), indicator_dictionary())
    for table in table_columns():
        assert f"## {table}" in text
    assert "niveau_vie_median" in text
