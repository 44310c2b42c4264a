//! How sampled exchanges travel from the serving threads to the writer.
//!
//! Each serving thread copies its exchanges into a [`Batch`] of its own shard, under that
//! shard's lock (taken by nobody else but the writer, every few ms at most), and hands the
//! batch over once it holds [`BATCH_BYTES`]. Per record that is a copy of its texts and an
//! uncontended lock: no allocation, no shared counter, no channel operation; emptied
//! buffers come back from the writer to be filled again. (An allocation and a channel send
//! per record, the buffer freed on the writer's core, cost the serving threads ~0.3 µs
//! more per request: ~0.84 against ~0.54 µs in `bench/monitor.sh` (t).)
//!
//! The writer takes full batches as they come, sweeps the partly filled ones when no full
//! one came or a flush is due, and parks when there is nothing anywhere; the first record
//! into an empty shard wakes it. Full batches waiting for the writer hold at most `limit`
//! records: beyond it a full batch is dropped and its records counted as dropped.
//! Closing ([`Queue::close`]) refuses records from then on (counted as dropped) and lets
//! the writer write everything taken before.
use super::{Batch, CaptureStats, Exchange, CAPTURE_DROPPED};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// A serving thread hands its batch to the writer once it holds this many bytes (~60
/// records of a typical review): large enough that taking the hand-over lock is rare,
/// small enough to stay in a core's cache.
pub(super) const BATCH_BYTES: usize = 64 * 1024;

/// One serving thread's batch being filled, on a cache-line pair of its own.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Filling>);

#[derive(Default)]
struct Filling {
    batch: Batch,
    /// Records sampled by the threads of this shard (the sum over shards is the count).
    sampled: u64,
}

/// What the writer and the serving threads share, in three parts that are written at
/// different rates, each on its own cache lines.
pub(super) struct Queue {
    shards: Box<[Shard]>,
    /// Read by every record, written only when the writer parks, wakes or closes.
    signals: Signals,
    handed: Handed,
    pub(super) stats: CaptureStats,
}

#[repr(align(128))]
struct Signals {
    /// Records waiting in full batches, at most.
    limit: usize,
    /// The writer is parked; whoever adds the first record to an empty shard wakes it.
    idle: AtomicBool,
    /// No more records are taken.
    closed: AtomicBool,
    writer: OnceLock<std::thread::Thread>,
}

/// Full batches waiting for the writer, and emptied ones back from it: written once per
/// batch.
#[repr(align(128))]
#[derive(Default)]
struct Handed {
    lists: Mutex<Lists>,
    /// Records in `full` and in full batches being written.
    queued: AtomicUsize,
}

#[derive(Default)]
struct Lists {
    full: Vec<Batch>,
    /// Emptied batches, whose buffers the serving threads fill again: a buffer that stays
    /// in use stays in memory, where a freed and newly allocated one can come back as
    /// fresh pages, each a page fault when first written (costly in a VM whose free
    /// memory goes back to the host).
    spare: Vec<Batch>,
}

/// Emptied batches kept for reuse, at most, per shard.
const SPARE_PER_SHARD: usize = 2;

fn new_batch() -> Batch {
    Batch::with_capacity(BATCH_BYTES + BATCH_BYTES / 4)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a shard leaves a batch that is still whole (records are added
    // in one step), so it is safe to go on with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shard of the calling thread: threads are numbered as they first capture.
fn shard_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed));
    SHARD.with(|s| *s)
}

impl Queue {
    /// A queue whose full batches hold at most `limit` records between them, with one
    /// shard per core (at least 4, at most 64).
    pub(super) fn new(limit: usize) -> Queue {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        Queue {
            shards: (0..cores.clamp(4, 64)).map(|_| Shard::default()).collect(),
            signals: Signals {
                limit: limit.max(1),
                idle: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                writer: OnceLock::new(),
            },
            handed: Handed::default(),
            stats: CaptureStats::default(),
        }
    }

    /// The thread woken when records arrive while it is parked.
    pub(super) fn set_writer(&self, writer: std::thread::Thread) {
        let _ = self.signals.writer.set(writer);
    }

    /// Adds an exchange, captured now, to this thread's batch; hands the batch over once
    /// it is full. Never waits for the writer.
    pub(super) fn submit(&self, e: &Exchange<'_>) {
        let time = chrono::Utc::now();
        let shard = &self.shards[shard_of_this_thread() % self.shards.len()];
        let mut f = lock(&shard.0);
        f.sampled += 1;
        // Checked under the shard's lock: the writer's last sweep, after closing, takes
        // this lock too, so a record is either swept or refused here.
        if self.signals.closed.load(Ordering::SeqCst) {
            drop(f);
            return self.dropped(e.variant);
        }
        if f.batch.capacity() == 0 {
            f.batch = self.spare_batch();
        }
        let first = f.batch.is_empty();
        if !f.batch.push(e, time) {
            drop(f);
            return self.dropped(e.variant);
        }
        if f.batch.size() >= BATCH_BYTES {
            // Handed over under the shard's lock, so the closing sweep (shards, then full
            // batches) cannot miss it.
            let batch = std::mem::take(&mut f.batch);
            f.batch = self.hand_over(batch);
        }
        drop(f);
        if first && self.signals.idle.load(Ordering::SeqCst) {
            self.wake();
        }
    }

    /// Hands a full batch to the writer (or drops it, beyond the limit); returns an empty
    /// batch to fill next.
    pub(super) fn hand_over(&self, mut batch: Batch) -> Batch {
        let n = batch.len();
        let queued = self.handed.queued.fetch_add(n, Ordering::Relaxed);
        if queued + n > self.signals.limit {
            self.handed.queued.fetch_sub(n, Ordering::Relaxed);
            for r in batch.iter() {
                self.dropped(r.variant());
            }
            batch.clear();
            return batch;
        }
        let mut lists = lock(&self.handed.lists);
        lists.full.push(batch);
        lists.spare.pop().unwrap_or_else(new_batch)
    }

    fn spare_batch(&self) -> Batch {
        lock(&self.handed.lists)
            .spare
            .pop()
            .unwrap_or_else(new_batch)
    }

    /// Takes written batches back, emptied, for the serving threads to fill again.
    pub(super) fn recycle(&self, batches: impl IntoIterator<Item = Batch>) {
        let most = SPARE_PER_SHARD * self.shards.len();
        let mut lists = lock(&self.handed.lists);
        // A batch grown by a very large record is let go rather than kept.
        for mut b in batches
            .into_iter()
            .filter(|b| b.capacity() <= 2 * BATCH_BYTES)
        {
            if lists.spare.len() >= most {
                break;
            }
            b.clear();
            lists.spare.push(b);
        }
    }

    /// Counts a record of `variant` as dropped.
    fn dropped(&self, variant: &str) {
        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(CAPTURE_DROPPED, "variant" => variant.to_string()).increment(1);
    }

    fn wake(&self) {
        if self.signals.idle.swap(false, Ordering::SeqCst) {
            if let Some(w) = self.signals.writer.get() {
                w.unpark();
            }
        }
    }

    /// Refuses records from now on and wakes the writer to write what it has.
    pub(super) fn close(&self) {
        self.signals.closed.store(true, Ordering::SeqCst);
        self.signals.idle.store(true, Ordering::SeqCst);
        self.wake();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.signals.closed.load(Ordering::SeqCst)
    }

    /// Takes the full batches handed over so far.
    pub(super) fn take_full(&self) -> Vec<Batch> {
        std::mem::take(&mut lock(&self.handed.lists).full)
    }

    /// Takes the batches being filled (those with records).
    pub(super) fn take_filling(&self) -> Vec<Batch> {
        self.shards
            .iter()
            .filter_map(|s| {
                let mut f = lock(&s.0);
                (!f.batch.is_empty()).then(|| std::mem::take(&mut f.batch))
            })
            .collect()
    }

    /// Every record waiting: the full batches, then the batches being filled. Full
    /// batches are taken again after the sweep of the shards, since a serving thread may
    /// hand one over (under its shard's lock) until the sweep takes that lock; after
    /// [`Queue::close`] nothing can follow. The full ones no longer count against the
    /// limit.
    pub(super) fn take_all(&self) -> Vec<Batch> {
        let mut all = self.take_full();
        let filling = self.take_filling();
        all.extend(self.take_full());
        for b in &all {
            self.written_full(b);
        }
        all.extend(filling);
        all
    }

    /// A full batch taken by [`Queue::take_full`] is written: its records no longer count
    /// against the limit.
    pub(super) fn written_full(&self, batch: &Batch) {
        self.handed.queued.fetch_sub(batch.len(), Ordering::Relaxed);
    }

    /// Marks the writer parked unless records are waiting (then `false`): from here on
    /// the first record into an empty shard, or [`Queue::close`], wakes it.
    pub(super) fn park_unless_waiting(&self) -> bool {
        self.signals.idle.store(true, Ordering::SeqCst);
        let waiting = !lock(&self.handed.lists).full.is_empty()
            || self.shards.iter().any(|s| !lock(&s.0).batch.is_empty())
            || self.is_closed();
        if waiting {
            self.signals.idle.store(false, Ordering::SeqCst);
        }
        !waiting
    }

    /// The writer is awake.
    pub(super) fn awake(&self) {
        self.signals.idle.store(false, Ordering::SeqCst);
    }

    /// Records sampled so far.
    pub(super) fn sampled(&self) -> u64 {
        self.shards.iter().map(|s| lock(&s.0).sampled).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(body: &[u8]) -> Exchange<'_> {
        Exchange::json("A", "v1", "id", body, br#"{"label":"x"}"#)
    }

    fn records(batches: &[Batch]) -> usize {
        batches.iter().map(Batch::len).sum()
    }

    #[test]
    fn records_wait_in_the_thread_batch_until_it_is_full() {
        let q = Queue::new(1_000);
        let body = vec![b'x'; 1_000];
        let mut n = 0;
        while q.handed.queued.load(Ordering::Relaxed) == 0 && n < 1_000 {
            q.submit(&exchange(&body));
            n += 1;
        }
        // About BATCH_BYTES of records made one full batch; nothing is waiting besides.
        assert!((60..70).contains(&n), "{n}");
        let full = q.take_full();
        assert_eq!(records(&full), n);
        assert!(full[0].size() >= BATCH_BYTES);
        assert!(q.take_filling().is_empty());
        q.submit(&exchange(b"{}"));
        let filling = q.take_filling();
        assert_eq!(records(&filling), 1);
        assert_eq!(q.sampled(), n as u64 + 1);
    }

    #[test]
    fn full_batches_beyond_the_limit_are_dropped_and_counted() {
        // Each record fills a batch on its own; two may wait.
        let q = Queue::new(2);
        let big = vec![b'y'; BATCH_BYTES];
        for _ in 0..5 {
            q.submit(&exchange(&big));
        }
        assert_eq!(q.stats.dropped.load(Ordering::Relaxed), 3);
        let full = q.take_full();
        assert_eq!(records(&full), 2);
        // Written: room again.
        for b in &full {
            q.written_full(b);
        }
        q.submit(&exchange(&big));
        assert_eq!(records(&q.take_full()), 1);
        assert_eq!(q.sampled(), 6);
    }

    #[test]
    fn a_closed_queue_refuses_and_counts() {
        let q = Queue::new(10);
        q.submit(&exchange(b"{}"));
        q.close();
        q.submit(&exchange(b"{}"));
        assert_eq!(q.stats.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(
            records(&q.take_filling()),
            1,
            "the one before closing stays"
        );
    }

    #[test]
    fn the_first_record_into_an_empty_shard_wakes_a_parked_writer() {
        let q = std::sync::Arc::new(Queue::new(10));
        q.set_writer(std::thread::current());
        assert!(q.park_unless_waiting());
        let q2 = q.clone();
        std::thread::spawn(move || q2.submit(&exchange(b"{}")))
            .join()
            .unwrap();
        assert!(!q.signals.idle.load(Ordering::SeqCst), "woken");
        // The unpark token is there: this returns at once.
        std::thread::park();
        assert!(!q.park_unless_waiting(), "a record is waiting");
        assert_eq!(records(&q.take_filling()), 1);
        assert!(q.park_unless_waiting());
    }

    #[test]
    fn each_thread_fills_its_own_shard() {
        let q = Queue::new(10);
        let shards: std::collections::HashSet<usize> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        q.submit(&exchange(b"{}"));
                        shard_of_this_thread() % q.shards.len()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let filling = q.take_filling();
        assert_eq!(filling.len(), shards.len());
        assert_eq!(records(&filling), 3);
    }
}
