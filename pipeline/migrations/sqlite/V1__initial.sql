-- The schema as it was before versioned migrations: every statement is IF NOT EXISTS, so
-- this migration adopts a sentio.db made by an earlier Sentio (its tables and rows stay as
-- they are) and creates the tables in a new one.
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    parameters TEXT NOT NULL,
    definition TEXT NOT NULL,
    code_version TEXT NOT NULL,
    trigger TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    failure_reason TEXT,
    manifest TEXT
);
CREATE TABLE IF NOT EXISTS step_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL REFERENCES executions(id),
    step TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    cache_key TEXT,
    key_parts TEXT,
    cache_decision TEXT,
    cached_from TEXT,
    outputs TEXT NOT NULL,
    properties TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_s REAL,
    log_excerpt TEXT NOT NULL,
    failure_reason TEXT
);
CREATE INDEX IF NOT EXISTS step_runs_execution ON step_runs(execution_id);
CREATE INDEX IF NOT EXISTS step_runs_cache ON step_runs(cache_key, status);
CREATE TABLE IF NOT EXISTS artifacts (
    digest TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    output TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    parents TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_versions (
    version TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    number INTEGER NOT NULL,
    artifact_digest TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL,
    lineage TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (grp, number)
);
CREATE TABLE IF NOT EXISTS registry_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    grp TEXT NOT NULL,
    version TEXT NOT NULL,
    event TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    endpoint TEXT,
    variant TEXT
);
CREATE TRIGGER IF NOT EXISTS registry_events_append_only_u BEFORE UPDATE ON registry_events
BEGIN SELECT RAISE(ABORT, 'registry history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS registry_events_append_only_d BEFORE DELETE ON registry_events
BEGIN SELECT RAISE(ABORT, 'registry history is append-only'); END;
