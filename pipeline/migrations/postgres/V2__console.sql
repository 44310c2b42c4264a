-- The console's needs: endpoints started with this home, and indexes for its paginated lists.
CREATE TABLE endpoints (
    name TEXT COLLATE "C" PRIMARY KEY,
    url TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    stopped_at TEXT COLLATE "C",
    management BOOLEAN NOT NULL,
    capture_dir TEXT,
    state_dir TEXT,
    monitor_dir TEXT
);
CREATE INDEX executions_started ON executions(started_at);
CREATE INDEX registry_events_group ON registry_events(grp, id);
