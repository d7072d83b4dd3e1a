"""Exceptions that carry enough context for an analyst to fix the input.

Every error raised on bad input names the file, the line or column and what was
expected, so that the refresh can stop with one readable message.
"""

from __future__ import annotations


class ElectioError(Exception):
    """Base class: a failure the user can act on (bad input, missing source...)."""


class SourceUnavailable(ElectioError):
    """A source file could not be found in the cache, the mirror or at its URL."""


class ChecksumMismatch(ElectioError):
    """A file's sha256 differs from the one pinned in the source catalog."""


class InputFormatError(ElectioError):
    """A source file does not have the expected layout or values."""

    def __init__(self, file: str, problem: str, *, line: int | None = None, column: str | None = None):
        where = str(file)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.file, self.line, self.column, self.problem = str(file), line, column, problem


class UnmappedLabelError(ElectioError):
    """A nuance, list or candidate has no bloc in data/reference/nuances.csv."""


class StageSkipped(ElectioError):
    """A stage cannot run on this perimeter or warehouse (reason in the message): it is skipped,
    recorded in the summary and in meta_stage_run, and the refresh goes on."""
