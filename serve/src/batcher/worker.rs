//! The model thread: owns the backend (a `Predictor` is not `Sync`), takes batches with
//! `blocking_recv`, runs them and answers each entry on its oneshot. A failure of the
//! whole batch is retried input by input so one bad input fails only itself.
use super::{Entry, InferenceBackend, ItemResult, Shared};
use crate::error::ServeError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// `inject_latency`: see [`super::BatchConfig::inject_latency`] (tests and benchmarks).
pub(super) fn run<B: InferenceBackend>(
    mut backend: B,
    mut rx: mpsc::Receiver<Vec<Entry>>,
    shared: Arc<Shared>,
    inject_latency: std::time::Duration,
) {
    while let Some(batch) = rx.blocking_recv() {
        let (live, gone): (Vec<Entry>, Vec<Entry>) =
            batch.into_iter().partition(|e| !e.reply.is_closed());
        if !gone.is_empty() {
            shared.dropped(gone.len());
        }
        if live.is_empty() {
            continue;
        }
        let now = Instant::now();
        for e in &live {
            shared
                .metrics
                .queue_duration
                .record(now.duration_since(e.enqueued).as_secs_f64());
        }
        let _span = live[0].span.enter();
        let seqs: Vec<&[i64]> = live.iter().map(|e| e.ids.as_slice()).collect();
        let results = run_isolated(&mut backend, &seqs);
        if !inject_latency.is_zero() {
            std::thread::sleep(inject_latency);
        }
        let took = now.elapsed().as_secs_f64();
        shared.metrics.inference_duration.record(took);
        shared.metrics.batch_size.record(live.len() as f64);
        shared.record_batch(live.len());
        drop(_span);
        for (e, r) in live.into_iter().zip(results) {
            if r.is_err() {
                shared.metrics.instance_failures.increment(1);
            }
            let _ = e.reply.send(r);
        }
    }
    tracing::debug!("model thread stopped");
}

/// Runs a batch; when the batch as a whole fails (or returns the wrong number of outputs,
/// or panics), runs each input alone. Always returns exactly one result per input.
fn run_isolated<B: InferenceBackend>(backend: &mut B, seqs: &[&[i64]]) -> Vec<ItemResult> {
    match guarded(backend, seqs) {
        Ok(rs) if rs.len() == seqs.len() => rs
            .into_iter()
            .map(|r| r.map_err(ServeError::from_model_error))
            .collect(),
        outcome => {
            if seqs.len() == 1 {
                let err = match outcome {
                    Err(e) => e,
                    Ok(rs) => ServeError::Model(format!(
                        "the model returned {} outputs for 1 input",
                        rs.len()
                    )),
                };
                return vec![Err(err)];
            }
            tracing::warn!(
                batch = seqs.len(),
                "batch failed as a whole; retrying input by input"
            );
            seqs.iter()
                .flat_map(|s| run_isolated(backend, std::slice::from_ref(s)))
                .collect()
        }
    }
}

type Outcome = Result<Vec<models::Result<models::Prediction>>, ServeError>;

fn guarded<B: InferenceBackend>(backend: &mut B, seqs: &[&[i64]]) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| backend.predict(seqs))) {
        Ok(Ok(rs)) => Ok(rs),
        Ok(Err(e)) => Err(ServeError::from_model_error(e)),
        Err(_) => Err(ServeError::Model("the model panicked on this batch".into())),
    }
}
