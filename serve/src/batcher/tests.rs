//! Batcher behaviour over a fake backend: shared batches, isolation of bad inputs,
//! cancelled callers, fast overload.
use super::*;
use std::sync::Mutex;

const NAN: i64 = 666;
const POISON: i64 = 999;
const SLOW: i64 = 777;

struct Fake {
    seen: Arc<Mutex<Vec<Vec<i64>>>>,
}

impl InferenceBackend for Fake {
    fn predict(&mut self, batch: &[&[i64]]) -> models::Result<Vec<models::Result<Prediction>>> {
        self.seen
            .lock()
            .unwrap()
            .push(batch.iter().map(|s| s[0]).collect());
        if batch.iter().any(|s| s[0] == SLOW) {
            std::thread::sleep(Duration::from_millis(150));
        }
        if batch.len() > 1 && batch.iter().any(|s| s[0] == POISON) {
            return Err(models::ModelError::Config("poisoned batch".into()));
        }
        Ok(batch
            .iter()
            .map(|s| match s[0] {
                NAN | POISON => Err(models::ModelError::NonFinite),
                v => Ok(Prediction {
                    label: format!("l{v}"),
                    label_index: 0,
                    probabilities: vec![1.0],
                }),
            })
            .collect())
    }
}

fn encoder() -> Encoder {
    Arc::new(|texts: &[&str]| {
        Ok(texts
            .iter()
            .map(|t| {
                let id = t.parse::<i64>().unwrap_or(t.len() as i64);
                Encoded {
                    ids: vec![id, 1, 2],
                    full_len: 3,
                    unknown: 0,
                }
            })
            .collect())
    })
}

fn fake_info() -> ModelInfo {
    ModelInfo {
        version: "fake-1".into(),
        labels: vec!["l".into()],
        max_len: 8,
        architecture: "fake".into(),
        load_seconds: 0.0,
    }
}

fn start(config: BatchConfig) -> (Batcher, Arc<Mutex<Vec<Vec<i64>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let info = fake_info();
    let b = Batcher::start(
        Fake { seen: seen.clone() },
        encoder(),
        info,
        "unit",
        config,
        TokenizerPool::new(1, 64),
    );
    (b, seen)
}

#[tokio::test]
async fn concurrent_requests_share_batches() {
    let (b, seen) = start(BatchConfig {
        max_queue_delay: Duration::from_millis(30),
        ..BatchConfig::default()
    });
    let mut handles = Vec::new();
    for i in 0..16 {
        let b = b.clone();
        handles.push(tokio::spawn(async move {
            b.try_predict(vec![format!("{}", 10 + i)]).await
        }));
    }
    for (i, h) in handles.into_iter().enumerate() {
        let r = h.await.unwrap().unwrap();
        assert_eq!(r[0].as_ref().unwrap().label, format!("l{}", 10 + i));
    }
    let stats = b.stats();
    assert_eq!(stats.items, 16);
    assert!(stats.batches < 16, "{stats:?} {:?}", seen.lock().unwrap());
    assert!(stats.largest_batch > 1);
}

#[tokio::test]
async fn one_bad_input_fails_only_itself() {
    let (b, _) = start(BatchConfig {
        max_queue_delay: Duration::from_millis(20),
        ..BatchConfig::default()
    });
    let texts = ["5", "666", "7", "999", "8"].map(String::from).to_vec();
    let out = b.predict(texts).await.unwrap();
    assert_eq!(out.len(), 5);
    assert_eq!(out[0].as_ref().unwrap().label, "l5");
    assert!(matches!(out[1], Err(ServeError::Model(_))));
    assert_eq!(out[2].as_ref().unwrap().label, "l7");
    assert!(matches!(out[3], Err(ServeError::Model(_))));
    assert_eq!(out[4].as_ref().unwrap().label, "l8");
}

#[tokio::test]
async fn a_caller_that_went_away_is_dropped_before_inference() {
    let (b, seen) = start(BatchConfig::default());
    let busy = {
        let b = b.clone();
        tokio::spawn(async move { b.predict(vec!["777".into()]).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    // Queued behind the slow batch, then abandoned.
    let r = tokio::time::timeout(Duration::from_millis(20), b.predict(vec!["4242".into()])).await;
    assert!(r.is_err());
    busy.await.unwrap().unwrap();
    // A later request still works, and the abandoned one never reached the model.
    b.predict(vec!["11".into()]).await.unwrap();
    let seen = seen.lock().unwrap().concat();
    assert!(!seen.contains(&4242), "{seen:?}");
    assert!(b.stats().dropped >= 1);
}

#[tokio::test]
async fn a_full_queue_is_overloaded_at_once() {
    let (b, _) = start(BatchConfig {
        queue_capacity: 2,
        max_batch_size: 1,
        ..BatchConfig::default()
    });
    let mut busy = Vec::new();
    for _ in 0..4 {
        let b = b.clone();
        busy.push(tokio::spawn(
            async move { b.predict(vec!["777".into()]).await },
        ));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    let r = b
        .try_predict(vec!["1".into(), "2".into(), "3".into()])
        .await;
    assert!(matches!(r, Err(ServeError::Overloaded(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_millis(50));
    for h in busy {
        h.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn small_requests_tokenize_inline_and_large_ones_on_the_pool() {
    let threads = Arc::new(Mutex::new(Vec::new()));
    let seen_threads = threads.clone();
    let encoder: Encoder = Arc::new(move |texts: &[&str]| {
        let name = std::thread::current().name().unwrap_or("").to_string();
        seen_threads.lock().unwrap().push(name);
        Ok(texts
            .iter()
            .map(|_| Encoded {
                ids: vec![5, 1, 2],
                full_len: 3,
                unknown: 0,
            })
            .collect())
    });
    let info = fake_info();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let b = Batcher::start(
        Fake { seen },
        encoder,
        info,
        "unit",
        BatchConfig::default(),
        TokenizerPool::new(1, 8),
    )
    .inline_tokenization(10);
    b.predict(vec!["short".into()]).await.unwrap();
    b.predict(vec!["a text longer than ten bytes".into()])
        .await
        .unwrap();
    let threads = threads.lock().unwrap().clone();
    assert_eq!(threads.len(), 2);
    assert!(!threads[0].starts_with("tokenizer-"), "{threads:?}");
    assert!(threads[1].starts_with("tokenizer-"), "{threads:?}");
}
