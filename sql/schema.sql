-- electio warehouse: star schema.
--
-- Single source of truth for table and column names. Portable on purpose: the same
-- file runs unchanged on SQLite and SQL Server (tests parse it as T-SQL), so it uses
-- only NVARCHAR, INT, BIGINT, FLOAT, DATE and DATETIME, no IF NOT EXISTS, no
-- AUTOINCREMENT/IDENTITY and no engine-specific options. Statements end with ';'.
--
-- Naming: dim_* = dimensions, fact_* = facts (one grain per table, stated below),
-- map_* = harmonisation tables, meta_* = lineage and quality.

-- Communes of the reference list (latest official code list, COG of the etalab
-- package in the mirror). Grain: one current commune; Lyon is 69123 (its
-- arrondissements roll up into it).
CREATE TABLE dim_commune (
    commune_code      NVARCHAR(5)   NOT NULL,
    commune_name      NVARCHAR(100) NOT NULL,
    departement_code  NVARCHAR(3)   NOT NULL,
    -- Side of the 2015 split for département 69: 'metropole_lyon' or 'rhone';
    -- 'departement' elsewhere.
    territory         NVARCHAR(20)  NOT NULL,
    epci_code         NVARCHAR(9)   NULL,
    epci_name         NVARCHAR(200) NULL,
    canton_code       NVARCHAR(5)   NULL,
    population        INT           NULL,
    area_km2          FLOAT         NULL,
    latitude          FLOAT         NULL,
    longitude         FLOAT         NULL,
    cog_vintage       INT           NOT NULL,
    CONSTRAINT pk_dim_commune PRIMARY KEY (commune_code)
);

-- Every commune code met in a source, mapped onto the reference list.
-- relation: 'same', 'merged' (former code of a commune nouvelle, or a commune
-- déléguée; includes 69159 -> 69114, renumbered in 2025), 'arrondissement'
-- (Lyon arrondissement rolled up into 69123).
CREATE TABLE map_commune_code (
    source_code   NVARCHAR(5)   NOT NULL,
    commune_code  NVARCHAR(5)   NOT NULL,
    relation      NVARCHAR(20)  NOT NULL,
    source_name   NVARCHAR(100) NULL,
    CONSTRAINT pk_map_commune_code PRIMARY KEY (source_code),
    CONSTRAINT fk_map_commune_code_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

-- Boundaries of the perimeter's communes (maps, Power BI Shape Map): GeoJSON geometry
-- in WGS84 longitude/latitude (6 decimals), united onto the reference communes like
-- dim_commune. geometry_code is the commune, or a municipal arrondissement drawn
-- inside it (Lyon 69381-69389, commune_code 69123). The text is split into parts of
-- at most 4000 characters (NVARCHAR(MAX) is not portable to SQLite): concatenate
-- geojson_part in part_number order. Grain: geometry x part.
CREATE TABLE dim_commune_geometry (
    geometry_code  NVARCHAR(5)    NOT NULL,  -- commune code, or arrondissement code (69381)
    commune_code   NVARCHAR(5)    NOT NULL,
    part_number    INT            NOT NULL,  -- 1, 2...: order of the parts of the GeoJSON text
    geojson_part   NVARCHAR(4000) NOT NULL,  -- GeoJSON geometry text, WGS84, split every 4000 characters
    CONSTRAINT pk_dim_commune_geometry PRIMARY KEY (geometry_code, part_number),
    CONSTRAINT fk_dim_commune_geometry_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

CREATE TABLE dim_election (
    election_id    NVARCHAR(20)  NOT NULL,
    election_type  NVARCHAR(20)  NOT NULL,  -- presidentielle, legislatives, europeennes
    election_year  INT           NOT NULL,
    round_number   INT           NOT NULL,
    election_date  DATE          NOT NULL,
    label_fr       NVARCHAR(100) NOT NULL,
    source_id      NVARCHAR(64)  NOT NULL,  -- primary source of the commune results
    source_file    NVARCHAR(200) NOT NULL,
    CONSTRAINT pk_dim_election PRIMARY KEY (election_id)
);

CREATE TABLE dim_bloc (
    bloc_code   NVARCHAR(20)  NOT NULL,
    label_fr    NVARCHAR(50)  NOT NULL,
    sort_order  INT           NOT NULL,
    color_hex   NVARCHAR(7)   NOT NULL,
    CONSTRAINT pk_dim_bloc PRIMARY KEY (bloc_code)
);

-- Politics reference (data/reference/nuances.csv): every nuance code, list or
-- candidate of an election, with its bloc and the reason for contested cases.
CREATE TABLE dim_nuance (
    election_id   NVARCHAR(20)   NOT NULL,
    label         NVARCHAR(200)  NOT NULL,
    label_kind    NVARCHAR(20)   NOT NULL,  -- nuance, list, candidate
    display_name  NVARCHAR(200)  NOT NULL,
    bloc_code     NVARCHAR(20)   NOT NULL,
    rationale     NVARCHAR(1000) NOT NULL,
    CONSTRAINT pk_dim_nuance PRIMARY KEY (election_id, label),
    CONSTRAINT fk_dim_nuance_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_dim_nuance_bloc FOREIGN KEY (bloc_code) REFERENCES dim_bloc (bloc_code)
);

-- Grain: commune x election. blank and null_ballots are NULL where the source
-- merges them (2012, 2014); blank_and_null is always filled.
CREATE TABLE fact_turnout (
    election_id     NVARCHAR(20) NOT NULL,
    commune_code    NVARCHAR(5)  NOT NULL,
    registered      INT          NOT NULL,
    voters          INT          NOT NULL,
    blank           INT          NULL,
    null_ballots    INT          NULL,
    blank_and_null  INT          NOT NULL,
    expressed       INT          NOT NULL,
    turnout_pct     FLOAT        NOT NULL,  -- voters / registered x 100
    CONSTRAINT pk_fact_turnout PRIMARY KEY (election_id, commune_code),
    CONSTRAINT fk_fact_turnout_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_turnout_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

-- Grain: commune x election x bloc, every bloc present. n_labels counts the
-- labels (candidates, lists, nuances) of the bloc that got votes in the commune:
-- 0 usually means the bloc had nobody on the ballot there (legislative elections).
CREATE TABLE fact_election_result (
    election_id     NVARCHAR(20) NOT NULL,
    commune_code    NVARCHAR(5)  NOT NULL,
    bloc_code       NVARCHAR(20) NOT NULL,
    votes           INT          NOT NULL,
    share_expressed FLOAT        NOT NULL,  -- percent of expressed votes, 0-100
    n_labels        INT          NOT NULL,
    CONSTRAINT pk_fact_election_result PRIMARY KEY (election_id, commune_code, bloc_code),
    CONSTRAINT fk_fact_election_result_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_election_result_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code),
    CONSTRAINT fk_fact_election_result_bloc FOREIGN KEY (bloc_code) REFERENCES dim_bloc (bloc_code)
);

-- Detail behind fact_election_result. Grain: commune x election x label
-- (candidate, list, or nuance for legislative elections).
CREATE TABLE fact_label_result (
    election_id     NVARCHAR(20)  NOT NULL,
    commune_code    NVARCHAR(5)   NOT NULL,
    label           NVARCHAR(200) NOT NULL,
    votes           INT           NOT NULL,
    share_expressed FLOAT         NOT NULL,
    CONSTRAINT pk_fact_label_result PRIMARY KEY (election_id, commune_code, label),
    CONSTRAINT fk_fact_label_result_nuance FOREIGN KEY (election_id, label) REFERENCES dim_nuance (election_id, label),
    CONSTRAINT fk_fact_label_result_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

-- Polling-station turnout where the source has it. Grain: election x bureau.
-- bureau_code = "<source commune code>_<bureau>"; in Lyon the bureau number starts
-- with the arrondissement (AABB).
CREATE TABLE fact_turnout_bureau (
    election_id     NVARCHAR(20) NOT NULL,
    commune_code    NVARCHAR(5)  NOT NULL,
    bureau_code     NVARCHAR(16) NOT NULL,
    registered      INT          NOT NULL,
    voters          INT          NOT NULL,
    expressed       INT          NOT NULL,
    CONSTRAINT pk_fact_turnout_bureau PRIMARY KEY (election_id, commune_code, bureau_code),
    CONSTRAINT fk_fact_turnout_bureau_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_turnout_bureau_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

-- National (France entière) result per bloc, for every loaded election with national
-- data, whatever the perimeter (electio.transform.national says which source wins:
-- complete official totals, else the national file, else partial official totals).
-- share_expressed in percent (0-100); votes NULL where only percentages are published.
-- note says whether the figure is complete ('résultat officiel complet') or what it
-- lacks ('partiel : ...', provisional, French abroad excluded). Grain: election x bloc.
CREATE TABLE fact_national_result (
    election_id      NVARCHAR(20)   NOT NULL,
    bloc_code        NVARCHAR(20)   NOT NULL,
    votes            BIGINT         NULL,
    share_expressed  FLOAT          NOT NULL,
    source_id        NVARCHAR(64)   NOT NULL,
    note             NVARCHAR(1000) NOT NULL,  -- complete, or what the figure lacks (partial, provisional, abroad)
    CONSTRAINT pk_fact_national_result PRIMARY KEY (election_id, bloc_code),
    CONSTRAINT fk_fact_national_result_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_national_result_bloc FOREIGN KEY (bloc_code) REFERENCES dim_bloc (bloc_code)
);

-- National turnout of the same source as fact_national_result (NULL: not published).
CREATE TABLE fact_national_turnout (
    election_id  NVARCHAR(20) NOT NULL,
    registered   BIGINT       NULL,
    voters       BIGINT       NULL,
    expressed    BIGINT       NULL,
    source_id    NVARCHAR(64) NOT NULL,
    CONSTRAINT pk_fact_national_turnout PRIMARY KEY (election_id),
    CONSTRAINT fk_fact_national_turnout_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id)
);

-- Bloc votes of every département where a national file gives them (2012 canton
-- file, aktiur département files 2014-2019, European 2024 commune JSON), else of the
-- perimeter's départements summed from its communes. departement_code: INSEE code
-- ('2A', '971'...), 'ZZ' = French citizens abroad, 'ZX' = Saint-Barthélemy and
-- Saint-Martin reported together. Grain: election x département x bloc.
CREATE TABLE fact_departement_result (
    election_id       NVARCHAR(20) NOT NULL,
    departement_code  NVARCHAR(3)  NOT NULL,
    bloc_code         NVARCHAR(20) NOT NULL,
    votes             BIGINT       NOT NULL,
    expressed         BIGINT       NOT NULL,
    CONSTRAINT pk_fact_departement_result PRIMARY KEY (election_id, departement_code, bloc_code),
    CONSTRAINT fk_fact_departement_result_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_departement_result_bloc FOREIGN KEY (bloc_code) REFERENCES dim_bloc (bloc_code)
);

-- Context panel: every commune of France (reference geography) at the first rounds
-- that have a France-wide commune file (aktiur commune files 2014-2019, European
-- 2024 Ministry archive), whatever the perimeter; read by the model learned across
-- départements (docs/model.md). No foreign key to dim_commune, which holds the
-- perimeter's communes only. Grain: election x commune x bloc / election x commune.
CREATE TABLE fact_context_result (
    election_id   NVARCHAR(20) NOT NULL,
    commune_code  NVARCHAR(5)  NOT NULL,
    bloc_code     NVARCHAR(20) NOT NULL,
    votes         BIGINT       NOT NULL,
    CONSTRAINT pk_fact_context_result PRIMARY KEY (election_id, commune_code, bloc_code),
    CONSTRAINT fk_fact_context_result_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_context_result_bloc FOREIGN KEY (bloc_code) REFERENCES dim_bloc (bloc_code)
);

CREATE TABLE fact_context_turnout (
    election_id       NVARCHAR(20) NOT NULL,
    commune_code      NVARCHAR(5)  NOT NULL,
    departement_code  NVARCHAR(3)  NOT NULL,
    registered        BIGINT       NOT NULL,
    voters            BIGINT       NOT NULL,
    expressed         BIGINT       NOT NULL,
    CONSTRAINT pk_fact_context_turnout PRIMARY KEY (election_id, commune_code),
    CONSTRAINT fk_fact_context_turnout_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id)
);

-- Socio-economic indicators (src/electio/sources/indicators/*.toml describes each).
-- aggregation: how values of several source communes combine onto one reference
-- commune: 'sum' (counts) or 'weighted_mean' (rates, medians; weight_indicator
-- gives the weight). level: 'commune' or 'departement'.
CREATE TABLE dim_indicator (
    indicator_code    NVARCHAR(40)   NOT NULL,
    label_fr          NVARCHAR(200)  NOT NULL,
    family            NVARCHAR(30)   NOT NULL,  -- population, revenus, emploi, entreprises, securite, logement, immigration
    unit              NVARCHAR(30)   NOT NULL,
    aggregation       NVARCHAR(20)   NOT NULL,
    weight_indicator  NVARCHAR(40)   NULL,
    level             NVARCHAR(12)   NOT NULL,
    source_id         NVARCHAR(64)   NOT NULL,
    definition        NVARCHAR(1000) NOT NULL,
    -- One size rule for the EDA and the models (src/electio/sources/indicators/roles.py):
    -- identity, log10, ratio (scale x value / denominator), log10_density, none.
    transform         NVARCHAR(20)   NULL,
    denominator       NVARCHAR(40)   NULL,
    scale             FLOAT          NULL,
    redundant_with    NVARCHAR(40)   NULL,  -- duplicate or complement: not ranked separately
    CONSTRAINT pk_dim_indicator PRIMARY KEY (indicator_code)
);

-- Observed values only (gap filling for models is a separate step that never
-- writes here). Grain: commune x indicator x year (the reference year of the
-- data, e.g. 2019 for Filosofi 2019). value is NULL when suppressed (statistical
-- secrecy) or not published; is_imputed marks values the publisher or a
-- third party estimated; is_reaggregated marks values combined from several
-- source communes (merged communes: sums or weighted means).
CREATE TABLE fact_indicator (
    commune_code      NVARCHAR(5)   NOT NULL,
    indicator_code    NVARCHAR(40)  NOT NULL,
    indicator_year    INT           NOT NULL,
    value             FLOAT         NULL,
    is_suppressed     INT           NOT NULL,
    is_imputed        INT           NOT NULL,
    is_reaggregated   INT           NOT NULL,
    published_on      DATE          NOT NULL,  -- first publication of this vintage
    source_file       NVARCHAR(200) NOT NULL,
    reference_date    DATE          NULL,  -- reference period (31/12/N, or 1/1/N for the census)
    available_on      DATE          NULL,  -- publisher's regular calendar (meta_indicator_calendar)
    CONSTRAINT pk_fact_indicator PRIMARY KEY (commune_code, indicator_code, indicator_year),
    CONSTRAINT fk_fact_indicator_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code),
    CONSTRAINT fk_fact_indicator_indicator FOREIGN KEY (indicator_code) REFERENCES dim_indicator (indicator_code)
);

-- Indicators published only at département level (e.g. SSMSI crime base).
CREATE TABLE fact_indicator_departement (
    departement_code  NVARCHAR(3)   NOT NULL,
    indicator_code    NVARCHAR(40)  NOT NULL,
    indicator_year    INT           NOT NULL,
    value             FLOAT         NULL,
    published_on      DATE          NOT NULL,
    source_file       NVARCHAR(200) NOT NULL,
    reference_date    DATE          NULL,
    available_on      DATE          NULL,
    CONSTRAINT pk_fact_indicator_departement PRIMARY KEY (departement_code, indicator_code, indicator_year),
    CONSTRAINT fk_fact_indicator_departement_indicator FOREIGN KEY (indicator_code) REFERENCES dim_indicator (indicator_code)
);

-- Publication calendar of each indicator source (the [[calendar]] entries of
-- src/electio/sources/indicators/*.toml): available_on = reference date
-- (reference 'year_end' = 31/12/N, 'jan1' = 1/1/N) + lag, never before not_before.
CREATE TABLE meta_indicator_calendar (
    source_id        NVARCHAR(64)   NOT NULL,
    reference        NVARCHAR(10)   NOT NULL,
    lag_months       INT            NOT NULL,
    lag_days         INT            NOT NULL,
    not_before       DATE           NULL,
    rule_fr          NVARCHAR(1000) NOT NULL,
    rule_source_url  NVARCHAR(1000) NOT NULL,
    CONSTRAINT pk_meta_indicator_calendar PRIMARY KEY (source_id)
);

-- Revisions: the same value (commune or département x indicator x year) given by
-- two files; the first release is loaded, the later file measured against it.
CREATE TABLE fact_indicator_revision (
    indicator_code         NVARCHAR(40)  NOT NULL,
    indicator_year         INT           NOT NULL,
    level                  NVARCHAR(12)  NOT NULL,
    first_file             NVARCHAR(200) NOT NULL,
    later_file             NVARCHAR(200) NOT NULL,
    n_values               INT           NOT NULL,
    n_changed              INT           NOT NULL,  -- relative difference above 0.01 %
    mean_abs_diff          FLOAT         NULL,
    mean_abs_rel_diff_pct  FLOAT         NULL,
    max_abs_rel_diff_pct   FLOAT         NULL,
    CONSTRAINT pk_fact_indicator_revision PRIMARY KEY (indicator_code, indicator_year, level, first_file, later_file),
    CONSTRAINT fk_fact_indicator_revision_indicator FOREIGN KEY (indicator_code) REFERENCES dim_indicator (indicator_code)
);

-- Exploratory analysis (electio eda): correlation across communes between an
-- indicator vintage and an election outcome. target: a bloc code or 'turnout'.
-- Weighted by registered voters; the vintage is the one whose reference period
-- is the latest before the election (a description, not limited by publication
-- dates: available_before says whether the publisher's calendar had released it).
-- partial_*: the same correlation with log10 population partialled out (size
-- controlled). Grain: election x indicator x target.
CREATE TABLE fact_correlation (
    election_id      NVARCHAR(20)  NOT NULL,
    indicator_code   NVARCHAR(40)  NOT NULL,
    target           NVARCHAR(20)  NOT NULL,
    indicator_year   INT           NOT NULL,
    n_communes       INT           NOT NULL,
    pearson          FLOAT         NULL,
    spearman         FLOAT         NULL,
    pearson_ci_low   FLOAT         NULL,  -- 95% bootstrap interval over communes
    pearson_ci_high  FLOAT         NULL,
    p_value          FLOAT         NULL,
    partial_pearson  FLOAT         NULL,
    partial_ci_low   FLOAT         NULL,
    partial_ci_high  FLOAT         NULL,
    available_before INT           NULL,  -- 1 if available (calendar rule) before the election
    CONSTRAINT pk_fact_correlation PRIMARY KEY (election_id, indicator_code, target),
    CONSTRAINT fk_fact_correlation_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_correlation_indicator FOREIGN KEY (indicator_code) REFERENCES dim_indicator (indicator_code)
);

-- Models and baselines compared in the rolling-origin backtest (electio backtest).
CREATE TABLE dim_model (
    model_id      NVARCHAR(40)   NOT NULL,
    model_kind    NVARCHAR(20)   NOT NULL,  -- baseline, model
    label_fr      NVARCHAR(200)  NOT NULL,
    description   NVARCHAR(2000) NOT NULL,
    is_chosen     INT            NOT NULL,  -- 1 for the model selected by the written rule
    CONSTRAINT pk_dim_model PRIMARY KEY (model_id)
);

-- Commune-level backtest predictions. mode: 'conditional' (true département
-- bloc totals of the test election given) or 'unconditional' (only what was known
-- before it). target: a bloc code or 'turnout'; values in percent.
-- Grain: model x test election x mode x commune x target.
CREATE TABLE fact_backtest (
    model_id        NVARCHAR(40) NOT NULL,
    election_id     NVARCHAR(20) NOT NULL,
    mode            NVARCHAR(20) NOT NULL,
    commune_code    NVARCHAR(5)  NOT NULL,
    target          NVARCHAR(20) NOT NULL,
    predicted       FLOAT        NOT NULL,
    actual          FLOAT        NOT NULL,
    interval_low    FLOAT        NULL,  -- 80% interval
    interval_high   FLOAT        NULL,
    CONSTRAINT pk_fact_backtest PRIMARY KEY (model_id, election_id, mode, commune_code, target),
    CONSTRAINT fk_fact_backtest_model FOREIGN KEY (model_id) REFERENCES dim_model (model_id),
    CONSTRAINT fk_fact_backtest_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id),
    CONSTRAINT fk_fact_backtest_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

-- Backtest metrics. metric: wmae (vote-weighted MAE, points, mean over blocs:
-- the primary metric), mae, rmse, mae_size_<band>, first_bloc_accuracy,
-- coverage_80, width_80, turnout_mae. Grain: model x test election x mode x metric.
CREATE TABLE fact_model_metric (
    model_id     NVARCHAR(40) NOT NULL,
    election_id  NVARCHAR(20) NOT NULL,
    mode         NVARCHAR(20) NOT NULL,
    metric       NVARCHAR(40) NOT NULL,
    value        FLOAT        NULL,
    CONSTRAINT pk_fact_model_metric PRIMARY KEY (model_id, election_id, mode, metric),
    CONSTRAINT fk_fact_model_metric_model FOREIGN KEY (model_id) REFERENCES dim_model (model_id),
    CONSTRAINT fk_fact_model_metric_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id)
);

-- Which indicator groups carry predictive weight: permutation importance on the
-- test elections of the backtest (electio.model.importance). feature_group: an
-- indicator family ('ind:revenus'...) or 'ind:all'; dating: 'calendar' or
-- 'published' (which indicator values the model could use). importance =
-- permuted_value - base_value of the metric (wmae, points: > 0 means the group
-- helps). Grain: model x test election x mode x dating x group x metric.
CREATE TABLE fact_feature_importance (
    model_id        NVARCHAR(40) NOT NULL,
    election_id     NVARCHAR(20) NOT NULL,
    mode            NVARCHAR(25) NOT NULL,
    dating          NVARCHAR(12) NOT NULL,
    feature_group   NVARCHAR(40) NOT NULL,
    metric          NVARCHAR(40) NOT NULL,
    n_features      INT          NOT NULL,
    base_value      FLOAT        NULL,
    permuted_value  FLOAT        NULL,
    importance      FLOAT        NULL,
    CONSTRAINT pk_fact_feature_importance PRIMARY KEY (model_id, election_id, mode, dating, feature_group, metric),
    CONSTRAINT fk_fact_feature_importance_election FOREIGN KEY (election_id) REFERENCES dim_election (election_id)
);

-- Forecast scenarios (electio forecast): horizon in years after the reference
-- year, election type, swing hypothesis (status_quo, trend, custom).
CREATE TABLE dim_scenario (
    scenario_id     NVARCHAR(40)   NOT NULL,
    label_fr        NVARCHAR(200)  NOT NULL,
    reference_year  INT            NOT NULL,
    horizon_years   INT            NOT NULL,
    target_year     INT            NOT NULL,
    election_type   NVARCHAR(20)   NOT NULL,
    swing           NVARCHAR(20)   NOT NULL,
    description     NVARCHAR(2000) NOT NULL,
    CONSTRAINT pk_dim_scenario PRIMARY KEY (scenario_id)
);

-- Commune forecasts. target: a bloc code or 'turnout'. Grain: scenario x commune x target.
CREATE TABLE fact_forecast (
    scenario_id        NVARCHAR(40) NOT NULL,
    commune_code       NVARCHAR(5)  NOT NULL,
    target             NVARCHAR(20) NOT NULL,
    predicted          FLOAT        NOT NULL,
    interval_low       FLOAT        NOT NULL,
    interval_high      FLOAT        NOT NULL,
    probability_first  FLOAT        NULL,  -- probability that this bloc comes first
    CONSTRAINT pk_fact_forecast PRIMARY KEY (scenario_id, commune_code, target),
    CONSTRAINT fk_fact_forecast_scenario FOREIGN KEY (scenario_id) REFERENCES dim_scenario (scenario_id),
    CONSTRAINT fk_fact_forecast_commune FOREIGN KEY (commune_code) REFERENCES dim_commune (commune_code)
);

-- Département totals of each scenario. Grain: scenario x target.
CREATE TABLE fact_forecast_departement (
    scenario_id        NVARCHAR(40) NOT NULL,
    target             NVARCHAR(20) NOT NULL,
    predicted          FLOAT        NOT NULL,
    interval_low       FLOAT        NOT NULL,
    interval_high      FLOAT        NOT NULL,
    probability_first  FLOAT        NULL,
    CONSTRAINT pk_fact_forecast_departement PRIMARY KEY (scenario_id, target),
    CONSTRAINT fk_fact_forecast_departement_scenario FOREIGN KEY (scenario_id) REFERENCES dim_scenario (scenario_id)
);

-- Département forecast error by lead time (electio forecast; docs/scenarios.md section 8):
-- a rule (status_quo, trend) applied from elections 0-1, 1-2, 2-3, 3+ years before every past
-- first round of every département with results. Blocs on log(share + 1) and in points.
CREATE TABLE fact_horizon_error (
    rule                  NVARCHAR(20) NOT NULL,
    lead_bucket           NVARCHAR(10) NOT NULL,
    n_election_pairs      INT          NOT NULL,
    n_departements        INT          NOT NULL,
    mean_lead_years       FLOAT        NOT NULL,
    bloc_rms_log          FLOAT        NOT NULL,
    bloc_mean_signed_log  FLOAT        NOT NULL,
    bloc_mae_points       FLOAT        NOT NULL,
    turnout_mae_points    FLOAT        NULL,
    growth_vs_0_1         FLOAT        NULL,
    CONSTRAINT pk_fact_horizon_error PRIMARY KEY (rule, lead_bucket)
);

-- Lineage: one row per source file read by the refresh that built this warehouse.
CREATE TABLE meta_source (
    source_id      NVARCHAR(64)  NOT NULL,
    file_name      NVARCHAR(200) NOT NULL,
    sha256         NVARCHAR(64)  NOT NULL,
    file_bytes     BIGINT        NOT NULL,
    resolved_from  NVARCHAR(10)  NOT NULL,  -- cache, mirror, download
    purpose        NVARCHAR(100) NOT NULL,  -- what the file was read for
    rows_read      INT           NOT NULL,
    rows_loaded    INT           NOT NULL,  -- rows, or values for wide indicator files
    rows_rejected  INT           NOT NULL,
    CONSTRAINT pk_meta_source PRIMARY KEY (source_id, file_name, purpose)
);

-- Rows of a source file that were not loaded, with why (nothing is dropped silently).
CREATE TABLE meta_rejected_row (
    source_id    NVARCHAR(64)   NOT NULL,
    file_name    NVARCHAR(200)  NOT NULL,
    row_number   INT            NOT NULL,  -- line in the file (1 = header)
    reason       NVARCHAR(500)  NOT NULL,
    CONSTRAINT pk_meta_rejected_row PRIMARY KEY (source_id, file_name, row_number)
);

-- One row per quality check of the refresh (status: pass, warn, fail, missing).
CREATE TABLE meta_quality_check (
    check_seq    INT            NOT NULL,
    check_name   NVARCHAR(64)   NOT NULL,
    election_id  NVARCHAR(20)   NULL,
    status       NVARCHAR(10)   NOT NULL,
    observed     FLOAT          NULL,
    expected     FLOAT          NULL,
    detail       NVARCHAR(2000) NOT NULL,
    CONSTRAINT pk_meta_quality_check PRIMARY KEY (check_seq)
);

-- History of refreshes (carried over from the previous warehouse on each build).
CREATE TABLE meta_refresh (
    refresh_id       NVARCHAR(40)  NOT NULL,
    started_at       DATETIME      NOT NULL,
    finished_at      DATETIME      NOT NULL,
    status           NVARCHAR(10)  NOT NULL,
    departement      NVARCHAR(400) NOT NULL,  -- perimeter as given: 69, 01,69 or FR
    electio_version  NVARCHAR(20)  NOT NULL,
    elections_loaded INT           NOT NULL,
    communes_loaded  INT           NOT NULL,
    checks_failed    INT           NOT NULL,
    summary          NVARCHAR(2000) NOT NULL,
    CONSTRAINT pk_meta_refresh PRIMARY KEY (refresh_id)
);

-- One row per stage of the latest refresh: done or skipped, and why (electio.stages).
CREATE TABLE meta_stage_run (
    refresh_id     NVARCHAR(40)   NOT NULL,  -- the refresh (meta_refresh)
    stage_seq      INT            NOT NULL,  -- order of the stage in the run
    stage          NVARCHAR(32)   NOT NULL,  -- correlations, backtest, train, forecast, figures, exports, report, powerbi
    status         NVARCHAR(10)   NOT NULL,  -- done, skipped
    reason         NVARCHAR(2000) NULL,      -- why it was skipped (or a note when done)
    seconds        FLOAT          NULL,      -- wall time of the stage
    rows_written   BIGINT         NULL,      -- rows of the warehouse tables the stage wrote
    files_written  INT            NULL,      -- distinct files the stage wrote
    CONSTRAINT pk_meta_stage_run PRIMARY KEY (refresh_id, stage_seq),
    CONSTRAINT fk_meta_stage_run_refresh FOREIGN KEY (refresh_id) REFERENCES meta_refresh (refresh_id)
);
