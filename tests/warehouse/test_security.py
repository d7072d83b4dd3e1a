"""sql/security.sql: least privilege, no secret, no privilege escalation."""

from __future__ import annotations

import re

from electio.settings import project_file


def statements() -> list[str]:
    text = "\n".join(l.split("--", 1)[0] for l in project_file("sql/security.sql").read_text().splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def test_roles_and_grants():
    stmts = statements()
    assert "CREATE ROLE electio_reader" in stmts and "CREATE ROLE electio_loader" in stmts
    reader = [s for s in stmts if s.endswith("TO electio_reader")]
    assert reader == ["GRANT SELECT ON SCHEMA::dbo TO electio_reader"]
    loader = " ".join(s for s in stmts if s.endswith("TO electio_loader"))
    for needed in ("SELECT", "INSERT", "DELETE", "CREATE TABLE", "CREATE VIEW"):
        assert needed in loader
    for forbidden in ("UPDATE", "CONTROL", "db_owner", "sysadmin", "ALTER ANY", "IMPERSONATE", "EXECUTE"):
        assert forbidden not in " ".join(stmts)


def test_no_password_in_sql_files():
    for name in ("sql/security.sql", "sql/schema.sql"):
        text = project_file(name).read_text()
        assert not re.search(r"PASSWORD\s*=|PWD\s*=", text, re.I), name
