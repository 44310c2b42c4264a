-- The console's needs: endpoints started with this home, and indexes for its paginated lists.
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    stopped_at TEXT,
    management INTEGER NOT NULL,
    capture_dir TEXT,
    state_dir TEXT,
    monitor_dir TEXT
);
CREATE INDEX IF NOT EXISTS executions_started ON executions(started_at);
CREATE INDEX IF NOT EXISTS registry_events_group ON registry_events(grp, id);
