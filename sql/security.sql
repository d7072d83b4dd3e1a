-- electio on SQL Server: least-privilege roles (T-SQL, run once by a DBA).
--
-- * electio_reader: Power BI and analysts; read-only on the warehouse tables.
-- * electio_loader: the refresh; creates the tables on the first run, then only
--   empties and refills them (DELETE + INSERT) inside one transaction.
--
-- No password appears here or anywhere in the project: map the roles to Windows
-- (Active Directory) groups, or to SQL logins whose passwords live in the
-- environment (ELECTIO_DB_URL) or in an ODBC DSN of the machine that runs the
-- refresh. Replace the bracketed names before running.

CREATE ROLE electio_reader;
CREATE ROLE electio_loader;

-- Readers: SELECT on the schema that holds the warehouse, nothing else.
GRANT SELECT ON SCHEMA::dbo TO electio_reader;

-- Loader: what `python -m electio.refresh --db mssql+pyodbc://...` does, no more.
GRANT SELECT, INSERT, DELETE ON SCHEMA::dbo TO electio_loader;
GRANT CREATE TABLE TO electio_loader;       -- first run only: creates sql/schema.sql tables
GRANT CREATE VIEW TO electio_loader;        -- every load: recreates the views of sql/views.sql
GRANT ALTER ON SCHEMA::dbo TO electio_loader;  -- required by CREATE TABLE in that schema
-- Once the tables exist, the two lines above can be revoked:
-- REVOKE CREATE TABLE FROM electio_loader; REVOKE ALTER ON SCHEMA::dbo FROM electio_loader;

-- Members (examples; Windows authentication preferred, no password in scripts):
-- CREATE USER [DOMAIN\electio-analysts] FROM LOGIN [DOMAIN\electio-analysts];
-- ALTER ROLE electio_reader ADD MEMBER [DOMAIN\electio-analysts];
-- CREATE USER [DOMAIN\svc-electio] FROM LOGIN [DOMAIN\svc-electio];
-- ALTER ROLE electio_loader ADD MEMBER [DOMAIN\svc-electio];
