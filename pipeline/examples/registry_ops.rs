//! Times the registry's metadata operations on one store (bench/registry_backends.sh runs
//! it on SQLite and on PostgreSQL). Each round registers a version, looks it up by id and
//! by group/number, approves it, lists the group's versions and history, and records a
//! deployment. Prints one line per operation (median and p90 in microseconds over the
//! rounds) and the wall time of the whole sequence.
//!
//!   registry_ops sqlite:/tmp/x/sentio.db 200
//!   registry_ops postgres://sentio@127.0.0.1:5432/bench 200
use pipeline::store::{
    now, ApprovalStatus, MetadataStore, NewVersion, PgStore, RegistryEvent, SqliteStore,
};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(target), rounds) = (args.get(1), args.get(2)) else {
        return Err("usage: registry_ops sqlite:PATH|postgres://… [ROUNDS]".into());
    };
    let rounds: usize = rounds.map(|r| r.parse()).transpose()?.unwrap_or(200);
    let store: Box<dyn MetadataStore> = match target.strip_prefix("sqlite:") {
        Some(path) => Box::new(SqliteStore::open(std::path::Path::new(path))?),
        None => Box::new(PgStore::connect(target)?),
    };
    let group = format!("bench-{}", uuid_like());
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut time = |op: &'static str, f: &mut dyn FnMut() -> pipeline::Result<()>| {
        let t = Instant::now();
        f().expect(op);
        times
            .entry(op)
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e6);
    };
    let started = Instant::now();
    for i in 0..rounds {
        let version = format!("sha256-{i:064x}");
        let new = NewVersion {
            group: group.clone(),
            version: version.clone(),
            artifact_digest: format!("{i:064x}"),
            status: ApprovalStatus::PendingManualApproval,
            metrics: serde_json::json!({"accuracy": {"value": 0.9}}),
            lineage: serde_json::json!({"execution": {"id": "bench"}}),
            execution_id: "bench".into(),
            actor: "bench".into(),
        };
        time("register", &mut || store.register_version(&new).map(|_| ()));
        time("describe by id", &mut || {
            store.version(&version).map(|_| ())
        });
        let by_number = format!("{group}/{}", i + 1);
        time("describe by number", &mut || {
            store.version(&by_number).map(|_| ())
        });
        time("approve", &mut || {
            store
                .transition(
                    &version,
                    ApprovalStatus::PendingManualApproval,
                    ApprovalStatus::Approved,
                    "bench",
                    "ok",
                )
                .map(|_| ())
        });
        time("list group", &mut || {
            store.versions(Some(&group)).map(|_| ())
        });
        time("history", &mut || {
            store.events(Some(&group), None).map(|_| ())
        });
        let event = RegistryEvent {
            id: 0,
            at: now(),
            group: group.clone(),
            version: version.clone(),
            event: "deployed".into(),
            from_status: None,
            to_status: None,
            actor: "bench".into(),
            note: String::new(),
            endpoint: Some("bench".into()),
            variant: Some("AllTraffic".into()),
        };
        time("record deployment", &mut || store.add_event(&event));
    }
    let total = started.elapsed().as_secs_f64();
    for (op, mut t) in times {
        t.sort_by(f64::total_cmp);
        println!(
            "op {op:<20} median_us {:>9.1} p90_us {:>9.1}",
            t[t.len() / 2],
            t[t.len() * 9 / 10]
        );
    }
    println!("sequence rounds {rounds} total_ms {:.1}", total * 1e3);
    Ok(())
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}
