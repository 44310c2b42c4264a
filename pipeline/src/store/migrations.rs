//! Versioned schema migrations for both metadata stores, with refinery: the SQL files under
//! `pipeline/migrations/{sqlite,postgres}/` (`V<n>__<name>.sql`), embedded at build time,
//! applied in order and recorded in `refinery_schema_history` with their checksums (a
//! changed, already-applied migration is refused).
//!
//! Every open runs them, so several processes may open a fresh store at once: all of
//! refinery's reads and writes happen inside one transaction that first takes the store's
//! write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock),
//! so one process migrates and the others then find nothing to do. SQLite's `V1` is the
//! schema from before migrations, all `IF NOT EXISTS`: it adopts an existing `sentio.db`.
//!
//! A new migration is a new file `V<n+1>__<what>.sql` in both folders.
use crate::error::Result;
use refinery::Migration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

mod sqlite_files {
    refinery::embed_migrations!("migrations/sqlite");
}
mod postgres_files {
    refinery::embed_migrations!("migrations/postgres");
}

/// The PostgreSQL advisory lock key that serialises migrations (any fixed number).
const PG_MIGRATION_LOCK: i64 = 0x5e_4710_0001;

/// One applied migration as refinery's history table stores it.
fn applied(version: i32, name: String, on: String, checksum: String) -> Migration {
    let on = OffsetDateTime::parse(&on, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Migration::applied(version, name, on, checksum.parse().unwrap_or_default())
}

/// Refinery over an SQLite transaction that is already open.
struct SqliteTx<'a>(&'a rusqlite::Connection);

impl Transaction for SqliteTx<'_> {
    type Error = rusqlite::Error;
    fn execute<'q, T: Iterator<Item = &'q str>>(&mut self, queries: T) -> rusqlite::Result<usize> {
        let mut n = 0;
        for q in queries {
            self.0.execute_batch(q)?;
            n += 1;
        }
        Ok(n)
    }
}

impl Query<Vec<Migration>> for SqliteTx<'_> {
    fn query(&mut self, query: &str) -> rusqlite::Result<Vec<Migration>> {
        let mut stmt = self.0.prepare(query)?;
        let rows = stmt.query_map([], |r| {
            Ok(applied(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect()
    }
}

impl Migrate for SqliteTx<'_> {}

/// Refinery over a PostgreSQL transaction that is already open.
struct PgTx<'a, 'b>(&'a mut postgres::Transaction<'b>);

impl Transaction for PgTx<'_, '_> {
    type Error = postgres::Error;
    fn execute<'q, T: Iterator<Item = &'q str>>(
        &mut self,
        queries: T,
    ) -> Result<usize, postgres::Error> {
        let mut n = 0;
        for q in queries {
            self.0.batch_execute(q)?;
            n += 1;
        }
        Ok(n)
    }
}

impl Query<Vec<Migration>> for PgTx<'_, '_> {
    fn query(&mut self, query: &str) -> Result<Vec<Migration>, postgres::Error> {
        Ok(self
            .0
            .query(query, &[])?
            .into_iter()
            .map(|r| applied(r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }
}

impl Migrate for PgTx<'_, '_> {}

/// Brings an SQLite metadata store to the newest schema. Returns the migrations applied.
pub(crate) fn sqlite(conn: &rusqlite::Connection) -> Result<Vec<String>> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let report = sqlite_files::migrations::runner().run(&mut SqliteTx(&tx))?;
    tx.commit()?;
    Ok(names(&report))
}

/// Brings a PostgreSQL metadata store to the newest schema. Returns the migrations applied.
pub(crate) fn postgres(client: &mut postgres::Client) -> Result<Vec<String>> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_MIGRATION_LOCK])?;
    let report = postgres_files::migrations::runner().run(&mut PgTx(&mut tx))?;
    tx.commit()?;
    Ok(names(&report))
}

fn names(report: &refinery::Report) -> Vec<String> {
    report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sentio.db` as Sentio made it before migrations existed: the same tables, no
    /// history table.
    #[test]
    fn an_existing_sqlite_store_is_adopted_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sentio.db");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            let v1 = include_str!("../../migrations/sqlite/V1__initial.sql");
            c.execute_batch(v1).unwrap();
            c.execute(
                "INSERT INTO model_versions VALUES ('sha256-x', 'g', 1, 'd', 'Approved', '{}', '{}', 'e', 't')",
                [],
            )
            .unwrap();
        }
        let store = crate::store::SqliteStore::open(&path).unwrap();
        use crate::store::MetadataStore;
        assert_eq!(store.version("g/1").unwrap().unwrap().version, "sha256-x");
        let c = rusqlite::Connection::open(&path).unwrap();
        let applied: Vec<(i32, String)> = c
            .prepare("SELECT version, name FROM refinery_schema_history")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            applied,
            vec![(1, "initial".to_string()), (2, "console".to_string())]
        );
        // Opening again applies nothing.
        assert!(sqlite(&c).unwrap().is_empty());
    }
}
