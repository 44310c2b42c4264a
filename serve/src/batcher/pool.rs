//! A small pool of OS threads for CPU work that must stay off the async runtime
//! (tokenization). Jobs arrive over a bounded channel; results go back on oneshots.
use crate::error::ServeError;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Cloneable handle to the pool; the threads stop when every handle is dropped.
#[derive(Clone, Debug)]
pub struct TokenizerPool {
    tx: mpsc::Sender<Job>,
}

impl TokenizerPool {
    /// Starts `threads` workers (at least one) behind a queue of `capacity` jobs.
    pub fn new(threads: usize, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(capacity.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("tokenizer-{i}"))
                .spawn(move || loop {
                    // Holding the lock while waiting is fine: whoever holds it takes the
                    // next job, the others queue on the lock.
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                })
                .expect("spawning a tokenizer thread");
        }
        TokenizerPool { tx }
    }

    /// Runs `f` on a pool thread, waiting for room in the queue.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ServeError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (otx, orx) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let _g = span.enter();
            let _ = otx.send(f());
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| ServeError::Unavailable("the tokenizer pool has stopped".into()))?;
        orx.await
            .map_err(|_| ServeError::Internal("a tokenizer job panicked".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_off_the_runtime() {
        let pool = TokenizerPool::new(2, 4);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("tokenizer-"));
        let sums = futures_sum(&pool).await;
        assert_eq!(sums, (0..20).map(|i| i * 2).sum::<i32>());
    }

    async fn futures_sum(pool: &TokenizerPool) -> i32 {
        let mut handles = Vec::new();
        for i in 0..20 {
            let p = pool.clone();
            handles.push(tokio::spawn(
                async move { p.run(move || i * 2).await.unwrap() },
            ));
        }
        let mut s = 0;
        for h in handles {
            s += h.await.unwrap();
        }
        s
    }
}
