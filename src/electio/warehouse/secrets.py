"""Keep credentials out of logs and error messages."""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
_ODBC_PASSWORD = re.compile(r"((?:PWD|Password)\s*=\s*)(\{[^}]*\}|[^;]*)", re.I)


def mask_secrets(text: str) -> str:
    """Replace passwords in database URLs and ODBC connection strings by ***."""
    text = _URL_PASSWORD.sub(r"\1***\3", str(text))
    return _ODBC_PASSWORD.sub(r"\1***", text)
