//! The batching task: the single owner of a variant's request queue. It waits until the
//! model thread can take another batch (one batch is prefetched while the current one
//! runs), then fills a batch from the queue up to the request and token budgets, waiting at
//! most `max_queue_delay` for more. Entries whose caller went away are dropped here.
use super::{BatchConfig, Entry, Shared};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub(super) async fn run(
    mut rx: mpsc::Receiver<Entry>,
    model_tx: mpsc::Sender<Vec<Entry>>,
    config: BatchConfig,
    shared: Arc<Shared>,
) {
    let mut carry: Option<Entry> = None;
    loop {
        let Ok(permit) = model_tx.reserve().await else {
            break;
        };
        let first = match carry.take() {
            Some(e) => e,
            None => match next(&mut rx, &shared, None).await {
                Some(e) => e,
                None => break,
            },
        };
        let deadline = Instant::now() + config.max_queue_delay;
        let mut longest = first.ids.len();
        let mut batch = vec![first];
        while batch.len() < config.max_batch_size {
            let Some(e) = next(&mut rx, &shared, Some(deadline)).await else {
                break;
            };
            let longest_with = longest.max(e.ids.len());
            // Padded models pay for the longest input times the batch size.
            if longest_with * (batch.len() + 1) > config.max_batch_tokens {
                carry = Some(e);
                break;
            }
            longest = longest_with;
            batch.push(e);
        }
        permit.send(batch);
    }
    tracing::debug!("batching task stopped");
}

/// The next live entry: waits indefinitely when `deadline` is `None`, else until then
/// (not at all when the deadline has passed and the queue is empty).
async fn next(
    rx: &mut mpsc::Receiver<Entry>,
    shared: &Shared,
    deadline: Option<Instant>,
) -> Option<Entry> {
    loop {
        let e = match rx.try_recv() {
            Ok(e) => e,
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => match deadline {
                None => rx.recv().await?,
                Some(d) if d <= Instant::now() => return None,
                Some(d) => tokio::time::timeout_at(d, rx.recv()).await.ok()??,
            },
        };
        shared.dequeued();
        if e.reply.is_closed() {
            shared.dropped(1);
            continue;
        }
        return Some(e);
    }
}
