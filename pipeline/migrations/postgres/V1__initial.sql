-- The metadata store on PostgreSQL: the same tables and columns as sentio.db's first
-- schema. JSON stays TEXT (stored and read back byte for byte, as on SQLite), and text that
-- is compared or sorted is COLLATE "C" so it orders byte-wise, as on SQLite, whatever the
-- database's locale.
CREATE TABLE executions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT COLLATE "C" PRIMARY KEY,
    pipeline TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    parameters TEXT NOT NULL,
    definition TEXT NOT NULL,
    code_version TEXT NOT NULL,
    trigger TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C",
    failure_reason TEXT,
    manifest TEXT
);
CREATE TABLE step_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id TEXT COLLATE "C" NOT NULL REFERENCES executions(id),
    step TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    cache_key TEXT COLLATE "C",
    key_parts TEXT,
    cache_decision TEXT,
    cached_from TEXT,
    outputs TEXT NOT NULL,
    properties TEXT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C",
    duration_s DOUBLE PRECISION,
    log_excerpt TEXT NOT NULL,
    failure_reason TEXT
);
CREATE INDEX step_runs_execution ON step_runs(execution_id);
CREATE INDEX step_runs_cache ON step_runs(cache_key, status);
CREATE TABLE artifacts (
    digest TEXT COLLATE "C" PRIMARY KEY,
    step TEXT NOT NULL,
    output TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    parents TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE model_versions (
    version TEXT COLLATE "C" PRIMARY KEY,
    grp TEXT COLLATE "C" NOT NULL,
    number BIGINT NOT NULL,
    artifact_digest TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL,
    lineage TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (grp, number)
);
CREATE TABLE registry_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT COLLATE "C" NOT NULL,
    grp TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    event TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    endpoint TEXT,
    variant TEXT
);
CREATE FUNCTION registry_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registry history is append-only';
END
$$;
CREATE TRIGGER registry_events_append_only BEFORE UPDATE OR DELETE ON registry_events
FOR EACH ROW EXECUTE FUNCTION registry_events_append_only();
