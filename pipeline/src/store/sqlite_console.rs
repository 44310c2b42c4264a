//! What the console adds to the SQLite store, additive to the main schema: endpoint
//! records (one row per endpoint name; a restart replaces it), executions by page, and
//! the indexes the console's paginated lists use.
use super::records::{EndpointRecord, Page};
use rusqlite::{params, Connection, Row};
use std::path::PathBuf;

fn path_text(p: &Option<PathBuf>) -> Option<String> {
    p.as_ref().map(|p| p.display().to_string())
}

pub(super) fn record(c: &Connection, e: &EndpointRecord) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO endpoints (name, url, pid, started_at, stopped_at, management, capture_dir, state_dir, monitor_dir) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.name, e.url, e.pid, e.started_at, e.stopped_at, e.management,
            path_text(&e.capture_dir), path_text(&e.state_dir), path_text(&e.monitor_dir)
        ],
    )?;
    Ok(())
}

/// Marks the endpoint stopped if the row is still the one that listened on `url`.
pub(super) fn stopped(c: &Connection, name: &str, url: &str, at: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE endpoints SET stopped_at = ?3 WHERE name = ?1 AND url = ?2",
        params![name, url, at],
    )?;
    Ok(())
}

fn row(r: &Row) -> rusqlite::Result<EndpointRecord> {
    let path = |i: usize| -> rusqlite::Result<Option<PathBuf>> {
        Ok(r.get::<_, Option<String>>(i)?.map(PathBuf::from))
    };
    Ok(EndpointRecord {
        name: r.get(0)?,
        url: r.get(1)?,
        pid: r.get(2)?,
        started_at: r.get(3)?,
        stopped_at: r.get(4)?,
        management: r.get(5)?,
        capture_dir: path(6)?,
        state_dir: path(7)?,
        monitor_dir: path(8)?,
    })
}

pub(super) fn all(c: &Connection) -> rusqlite::Result<Vec<EndpointRecord>> {
    let mut stmt = c.prepare(
        "SELECT name, url, pid, started_at, stopped_at, management, capture_dir, state_dir, monitor_dir FROM endpoints ORDER BY name",
    )?;
    let rows = stmt.query_map([], row)?.collect();
    rows
}

/// One page of rows of `executions`, newest first, and the number of executions.
pub(super) fn executions_page<T>(
    c: &Connection,
    cols: &str,
    map: fn(&Row) -> rusqlite::Result<T>,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<Page<T>> {
    let total: i64 = c.query_row("SELECT COUNT(*) FROM executions", [], |r| r.get(0))?;
    let mut stmt = c.prepare(&format!(
        "SELECT {cols} FROM executions ORDER BY started_at DESC, rowid DESC LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map(params![limit as i64, offset as i64], map)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Page {
        items: rows,
        total: total as usize,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::SqliteStore;
    use crate::store::{now, EndpointRecord, ExecutionRecord, ExecutionStatus, MetadataStore};

    #[test]
    fn endpoints_are_recorded_replaced_and_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sentio.db")).unwrap();
        let rec = |url: &str| EndpointRecord {
            name: "demo".into(),
            url: url.into(),
            pid: std::process::id(),
            started_at: now(),
            stopped_at: None,
            management: true,
            capture_dir: Some(dir.path().join("capture/demo")),
            state_dir: None,
            monitor_dir: None,
        };
        store.record_endpoint(&rec("http://127.0.0.1:1")).unwrap();
        store.record_endpoint(&rec("http://127.0.0.1:2")).unwrap();
        // The first instance stopping does not mark the second one stopped.
        store
            .endpoint_stopped("demo", "http://127.0.0.1:1")
            .unwrap();
        let all = store.endpoints().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0],
            rec("http://127.0.0.1:2").clone_with(&all[0].started_at)
        );
        assert!(!all[0].gone());
        store
            .endpoint_stopped("demo", "http://127.0.0.1:2")
            .unwrap();
        assert!(store.endpoints().unwrap()[0].stopped_at.is_some());
    }

    impl EndpointRecord {
        fn clone_with(mut self, started_at: &str) -> Self {
            self.started_at = started_at.into();
            self
        }
    }

    #[test]
    fn executions_come_by_page_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sentio.db")).unwrap();
        for i in 0..7 {
            store
                .create_execution(&ExecutionRecord {
                    id: format!("e{i}"),
                    pipeline: "p".into(),
                    status: ExecutionStatus::Succeeded,
                    parameters: serde_json::json!({}),
                    definition: serde_json::json!({}),
                    code_version: "0".into(),
                    trigger: "manual".into(),
                    pid: 1,
                    started_at: format!("2025-01-0{}T00:00:00.000Z", i + 1),
                    ended_at: None,
                    failure_reason: None,
                    manifest: None,
                })
                .unwrap();
        }
        let page = store.executions_page(2, 3).unwrap();
        assert_eq!(page.total, 7);
        let ids: Vec<&str> = page.items.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["e4", "e3", "e2"]);
        assert_eq!(store.executions(2).unwrap().len(), 2);
    }
}
