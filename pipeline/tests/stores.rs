//! The stores themselves: concurrent writers on both backends, schema migrations on a
//! fresh PostgreSQL database opened by many at once, and the object store's atomic,
//! verified, cached artifacts.
#[macro_use]
mod common;
use common::*;
use pipeline::store::{ApprovalStatus, MetadataStore, NewVersion};
use pipeline::{PipelineError, Registry};

on_both_backends!(concurrent_registrations_and_approvals);

fn new_version(i: usize) -> NewVersion {
    NewVersion {
        group: "sentiment".into(),
        version: format!("sha256-{i:064}"),
        artifact_digest: format!("{i:064}"),
        status: ApprovalStatus::PendingManualApproval,
        metrics: serde_json::json!({"accuracy": i}),
        lineage: serde_json::json!({}),
        execution_id: format!("e{i}"),
        actor: "test".into(),
    }
}

/// Writers with their own connections (as separate processes have) register versions of
/// one group and approve each other's at once: numbers stay dense and unique, every
/// transition happens once, and the history has every event.
fn concurrent_registrations_and_approvals(backend: Backend) {
    let e = env_on(backend, 10, 1);
    const N: usize = 6;
    let stores: Vec<_> = (0..N).map(|_| e.cfg.home.open_stores().unwrap()).collect();
    let barrier = std::sync::Barrier::new(N);
    std::thread::scope(|s| {
        for (i, st) in stores.iter().enumerate() {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                let (v, created) = st.metadata.register_version(&new_version(i)).unwrap();
                assert!(created);
                assert_eq!(v.status, ApprovalStatus::PendingManualApproval);
            });
        }
    });
    let store = &*e.stores.metadata;
    let mut numbers: Vec<i64> = store
        .versions(Some("sentiment"))
        .unwrap()
        .iter()
        .map(|v| v.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=N as i64).collect::<Vec<_>>());
    // Two writers race to approve and reject each version: exactly one wins each.
    let wins = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (w, st) in stores.iter().enumerate() {
            let wins = &wins;
            s.spawn(move || {
                let reg = Registry::new(&*st.metadata, &*st.artifacts);
                for i in 0..N {
                    let id = new_version(i).version;
                    let r = if w % 2 == 0 {
                        reg.approve(&id, &format!("w{w}"), "ok")
                    } else {
                        reg.reject(&id, &format!("w{w}"), "no")
                    };
                    match r {
                        Ok(_) => {
                            wins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(PipelineError::IllegalTransition { .. }) => {}
                        Err(other) => panic!("{other}"),
                    }
                }
            });
        }
    });
    // Approved → Rejected is allowed (a revocation), so each version changed once or twice.
    let events = store.events(Some("sentiment"), None).unwrap();
    let transitions = events.iter().filter(|x| x.event != "registered").count();
    assert_eq!(transitions, wins.load(std::sync::atomic::Ordering::Relaxed));
    assert_eq!(events.iter().filter(|x| x.event == "registered").count(), N);
    for i in 0..N {
        let v = store.version(&new_version(i).version).unwrap().unwrap();
        assert_ne!(v.status, ApprovalStatus::PendingManualApproval, "{v:?}");
    }
    // The registration is idempotent.
    let (again, created) = store.register_version(&new_version(0)).unwrap();
    assert!(!created);
    assert_eq!(again.version, new_version(0).version);
}

#[test]
fn a_fresh_postgres_database_is_migrated_once_by_many() {
    let url = common::servers::postgres().fresh_database();
    let opened: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| pipeline::store::PgStore::connect(&url).map(|_| ())))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in opened {
        r.unwrap();
    }
    let pg = common::servers::postgres();
    assert_eq!(
        pg.sql(
            &url,
            "SELECT version || ' ' || name FROM refinery_schema_history ORDER BY version"
        ),
        "1 initial\n2 console"
    );
    // The history is append-only here too.
    let store = pipeline::store::PgStore::connect(&url).unwrap();
    store.register_version(&new_version(1)).unwrap();
    let err = pg.try_sql(&url, "DELETE FROM registry_events").unwrap_err();
    assert!(err.contains("append-only"), "{err}");
}

/// What one machine commits, another downloads, verified; a changed object is refused.
#[test]
fn object_store_artifacts_are_published_atomically_and_verified() {
    let e = env_on(Backend::PostgresS3, 10, 1);
    let a = &e.stores.artifacts;
    let staged = a.staging_dir().unwrap().join("model");
    std::fs::create_dir_all(staged.join("baseline")).unwrap();
    std::fs::write(staged.join("model.bin"), vec![7u8; 20 * 1024 * 1024 + 3]).unwrap();
    std::fs::write(staged.join("baseline/stats.json"), b"{\"a\": 1}").unwrap();
    let digest = a.commit(&staged).unwrap();
    assert!(a.contains(&digest).unwrap());
    assert!(
        a.location(&digest).starts_with("s3://"),
        "{}",
        a.location(&digest)
    );

    // Another machine: an empty cache, filled from the object store and verified.
    let b = e.other_home("machine-b").open_stores().unwrap();
    assert!(b.artifacts.contains(&digest).unwrap());
    let dir = b.artifacts.fetch(&digest).unwrap();
    assert!(dir.starts_with(e.dir.path().join("machine-b")));
    assert_eq!(pipeline::store::tree_digest(&dir).unwrap(), digest);
    assert_eq!(
        std::fs::read(dir.join("baseline/stats.json")).unwrap(),
        b"{\"a\": 1}"
    );

    // Someone changes an object: a third machine refuses it and caches nothing.
    let bucket = e.cfg.home.store_config().artifact_store.clone().unwrap();
    let bucket = bucket
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let s3 = S3::new(&bucket);
    s3.put(
        &format!("sentio/{digest}/baseline/stats.json"),
        b"{\"a\": 2}",
    );
    let c = e.other_home("machine-c").open_stores().unwrap();
    let err = c.artifacts.fetch(&digest).unwrap_err();
    assert!(matches!(err, PipelineError::DigestMismatch { .. }), "{err}");
    assert!(!e
        .dir
        .path()
        .join("machine-c/artifacts")
        .join(&digest)
        .exists());

    // An upload cut off before its index was written is not an artifact.
    s3.delete(&format!("sentio/{digest}.json"));
    assert!(!c.artifacts.contains(&digest).unwrap());
    let err = c.artifacts.fetch(&digest).unwrap_err();
    assert!(matches!(err, PipelineError::NotFound { .. }), "{err}");
    // Committing again publishes it again.
    let again = a.staging_dir().unwrap().join("model");
    std::fs::create_dir_all(&again).unwrap();
    std::fs::copy(
        a.fetch(&digest).unwrap().join("model.bin"),
        again.join("model.bin"),
    )
    .unwrap();
    std::fs::create_dir_all(again.join("baseline")).unwrap();
    std::fs::write(again.join("baseline/stats.json"), b"{\"a\": 1}").unwrap();
    assert_eq!(a.commit(&again).unwrap(), digest);
    assert!(c.artifacts.contains(&digest).unwrap());
}

/// Direct access to the test bucket (signed requests, as any S3 client makes them).
struct S3 {
    store: object_store::aws::AmazonS3,
    rt: tokio::runtime::Runtime,
}

impl S3 {
    fn new(bucket: &str) -> S3 {
        let mut b = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
        for (k, v) in common::servers::moto().options() {
            b = b.with_config(k.to_ascii_lowercase().parse().unwrap(), v);
        }
        S3 {
            store: b.build().unwrap(),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn put(&self, key: &str, body: &[u8]) {
        use object_store::ObjectStoreExt;
        let path = object_store::path::Path::from(key);
        self.rt
            .block_on(self.store.put(&path, body.to_vec().into()))
            .unwrap();
    }

    fn delete(&self, key: &str) {
        use object_store::ObjectStoreExt;
        let path = object_store::path::Path::from(key);
        self.rt.block_on(self.store.delete(&path)).unwrap();
    }
}
