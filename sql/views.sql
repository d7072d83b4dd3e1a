-- electio warehouse: flat views for analysts (one row per readable fact, labels joined in).
--
-- Created by the load after the tables of sql/schema.sql, and exported as CSV and workbook
-- sheets by `electio export`. Portable like schema.sql: the same file runs on SQLite and
-- SQL Server 2016+ (DROP VIEW IF EXISTS; one statement per batch; no ORDER BY inside a
-- view, the readers sort). Statements end with ';'. Tests parse it as T-SQL and run it on SQLite.

-- Results by bloc: one row per election x commune x bloc, with turnout and labels.
DROP VIEW IF EXISTS v_resultats_communes;
CREATE VIEW v_resultats_communes AS
SELECT r.election_id, e.label_fr AS election_label, e.election_type, e.election_year, e.round_number,
       e.election_date, r.commune_code, c.commune_name, c.territory, c.epci_name, c.population,
       t.registered, t.voters, t.expressed, t.turnout_pct, r.bloc_code, b.label_fr AS bloc_label,
       r.votes, r.share_expressed, r.n_labels
FROM fact_election_result r
JOIN dim_election e ON e.election_id = r.election_id
JOIN dim_commune c ON c.commune_code = r.commune_code
JOIN dim_bloc b ON b.bloc_code = r.bloc_code
JOIN fact_turnout t ON t.election_id = r.election_id AND t.commune_code = r.commune_code;

-- Turnout: one row per election x commune.
DROP VIEW IF EXISTS v_participation_communes;
CREATE VIEW v_participation_communes AS
SELECT t.election_id, e.label_fr AS election_label, e.election_type, e.election_year, e.round_number,
       e.election_date, t.commune_code, c.commune_name, c.territory, c.epci_name, c.population,
       t.registered, t.voters, t.blank, t.null_ballots, t.blank_and_null, t.expressed, t.turnout_pct,
       100.0 - t.turnout_pct AS abstention_pct
FROM fact_turnout t
JOIN dim_election e ON e.election_id = t.election_id
JOIN dim_commune c ON c.commune_code = t.commune_code;

-- Indicators: one row per commune x indicator x year, with the indicator's label and unit.
DROP VIEW IF EXISTS v_indicateurs_communes;
CREATE VIEW v_indicateurs_communes AS
SELECT f.commune_code, c.commune_name, c.territory, f.indicator_code, i.label_fr AS indicator_label,
       i.family, i.unit, f.indicator_year, f.value, f.is_suppressed, f.is_imputed, f.published_on
FROM fact_indicator f
JOIN dim_indicator i ON i.indicator_code = f.indicator_code
JOIN dim_commune c ON c.commune_code = f.commune_code;

-- Forecasts: one row per scenario x commune x target (a bloc, or turnout).
DROP VIEW IF EXISTS v_previsions_communes;
CREATE VIEW v_previsions_communes AS
SELECT f.scenario_id, s.label_fr AS scenario_label, s.election_type, s.reference_year, s.horizon_years,
       s.target_year, s.swing, f.commune_code, c.commune_name, c.territory, f.target,
       CASE WHEN f.target = 'turnout' THEN 'Participation' ELSE b.label_fr END AS target_label,
       f.predicted, f.interval_low, f.interval_high, f.probability_first
FROM fact_forecast f
JOIN dim_scenario s ON s.scenario_id = f.scenario_id
JOIN dim_commune c ON c.commune_code = f.commune_code
LEFT JOIN dim_bloc b ON b.bloc_code = f.target;
