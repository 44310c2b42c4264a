//! Batcher behaviour over a fake backend: shared batches, isolation of bad inputs,
//! cancelled callers, fast overload.
use super::*;
use std::sync::Mutex;

const NAN: i64 = 666;
const POISON: i64 = 999;
/// A batch holding this text waits at the [`Gate`] until the test opens it.
const HELD: i64 = 777;

/// Keeps the fake model busy until the test opens it, so a test reaches the state it needs
/// (a busy worker, a full queue) by waiting for that state, not for a time.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

struct Fake {
    seen: Arc<Mutex<Vec<Vec<i64>>>>,
    gate: Arc<Gate>,
}

impl InferenceBackend for Fake {
    fn predict(&mut self, batch: &[&[i64]]) -> models::Result<Vec<models::Result<Prediction>>> {
        self.seen
            .lock()
            .unwrap()
            .push(batch.iter().map(|s| s[0]).collect());
        if batch.iter().any(|s| s[0] == HELD) {
            self.gate.pass();
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

type Seen = Arc<Mutex<Vec<Vec<i64>>>>;

fn start(config: BatchConfig) -> (Batcher, Seen, Arc<Gate>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Gate::default());
    let info = fake_info();
    let b = Batcher::start(
        Fake {
            seen: seen.clone(),
            gate: gate.clone(),
        },
        encoder(),
        info,
        "unit",
        config,
        TokenizerPool::new(1, 64),
    );
    (b, seen, gate)
}

/// Waits until `done` holds (polling; a guard against hanging, not a time bound).
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..4000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never reached: {what}");
}

/// Polls a future once, as an executor would on its first turn.
fn first_poll<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    f.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

fn has_seen(seen: &Seen, id: i64) -> bool {
    seen.lock().unwrap().iter().flatten().any(|&s| s == id)
}

#[tokio::test]
async fn concurrent_requests_share_batches() {
    let (b, seen, _) = start(BatchConfig::default());
    let b = b.inline_tokenization(64);
    // Sixteen callers, each tokenized inline and queued on its first poll, all before the
    // batching task (on this test's single-threaded runtime) gets to run.
    let mut calls: Vec<_> = (0..16)
        .map(|i| Box::pin(b.try_predict(vec![format!("{}", 10 + i)])))
        .collect();
    for call in &mut calls {
        assert!(first_poll(call.as_mut()).is_pending());
    }
    assert_eq!(b.stats().queue_depth, 16);
    for (i, call) in calls.into_iter().enumerate() {
        let r = call.await.unwrap();
        assert_eq!(r[0].as_ref().unwrap().label, format!("l{}", 10 + i));
    }
    let stats = b.stats();
    assert_eq!(stats.items, 16);
    assert_eq!(stats.batches, 1, "{stats:?} {:?}", seen.lock().unwrap());
    assert_eq!(stats.largest_batch, 16);
}

#[tokio::test]
async fn one_bad_input_fails_only_itself() {
    let (b, _, _) = start(BatchConfig {
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
    let (b, seen, gate) = start(BatchConfig::default());
    let b = b.inline_tokenization(64);
    let busy = {
        let b = b.clone();
        tokio::spawn(async move { b.predict(vec![HELD.to_string()]).await })
    };
    until("the held batch reached the model", || has_seen(&seen, HELD)).await;
    // Queued behind the held batch (tokenized inline: queued on its first poll), then
    // abandoned by its caller before the model, held until the gate opens, could answer.
    let mut call = Box::pin(b.predict(vec!["4242".into()]));
    assert!(first_poll(call.as_mut()).is_pending());
    drop(call);
    gate.open();
    busy.await.unwrap().unwrap();
    // A later request still works, and the abandoned one never reached the model.
    b.predict(vec!["11".into()]).await.unwrap();
    let seen = seen.lock().unwrap().concat();
    assert!(!seen.contains(&4242), "{seen:?}");
    assert!(b.stats().dropped >= 1);
}

#[tokio::test]
async fn a_full_queue_is_overloaded_at_once() {
    let (b, _, gate) = start(BatchConfig {
        queue_capacity: 2,
        max_batch_size: 1,
        ..BatchConfig::default()
    });
    let mut busy = Vec::new();
    for _ in 0..4 {
        let b = b.clone();
        busy.push(tokio::spawn(async move {
            b.predict(vec![HELD.to_string()]).await
        }));
    }
    // Steady while the model is held: the first in the model, the second taken as the next
    // batch, the third and fourth filling the queue's two places.
    until("a full queue", || b.stats().queue_depth == 2).await;
    // Refused at once, not queued behind them (`predict` waits for room instead).
    let r = b.try_predict(vec!["1".into()]).await;
    assert!(matches!(r, Err(ServeError::Overloaded(_))), "{r:?}");
    gate.open();
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
        Fake {
            seen,
            gate: Arc::default(),
        },
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
