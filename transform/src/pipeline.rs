//! The reading half of a job, shared by file jobs and `sentio predict`:
//!
//! ```text
//! reader thread: read ─▶ parse ─▶ chunk ──spawn──▶ Batcher::predict_marked (tokenize on the
//!      │                                           pool ─▶ batch ─▶ model thread)
//!      └── bounded channel of (chunk, pending predictions), in input order ──▶ Feed::next
//! ```
//! The bounded channel caps the chunks in flight (memory stays flat for any input size)
//! while the next chunks are tokenized and predicted as this one is written.
use super::knobs::{InputKind, Knobs};
use super::progress::Stop;
use super::reader::{Raw, Records};
use super::record::{parse, Header, Input, RecordError};
use models::Prediction;
use serve::batcher::{Batcher, ItemResult};
use serve::ServeError;
use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Chunks predicted ahead of the writer.
const IN_FLIGHT: usize = 8;

/// Texts given as arguments.
impl Records for std::vec::IntoIter<String> {
    fn next_record(&mut self) -> io::Result<Option<Raw>> {
        Ok(self.next().map(|t| Raw::Record(t.into_bytes())))
    }
}

pub struct Pending {
    pub line: u64,
    pub parsed: Result<Option<Input>, RecordError>,
}

pub struct Chunk {
    pub records: Vec<Pending>,
    pub end_offset: u64,
    pub end_line: u64,
}

type Predicted = Result<Vec<(ItemResult, bool)>, ServeError>;

enum Item {
    Chunk(Chunk, Option<JoinHandle<Predicted>>),
    End,
    Failed(ServeError),
}

/// How records are read.
#[derive(Clone)]
pub struct FeedConfig {
    pub kind: InputKind,
    pub header: Option<Arc<Header>>,
    pub knobs: Arc<Knobs>,
    /// Keep each record's input (for joins).
    pub keep_input: bool,
    /// Send a chunk as soon as the input has nothing more buffered (interactive input).
    pub cut_when_dry: bool,
}

/// What `Feed::next` gives.
pub enum Next {
    Chunk(Chunk, Vec<(ItemResult, bool)>),
    End,
    Stopped,
}

/// One record's result: its input (if kept), prediction and truncation, or its error.
pub type Outcome = Result<(Option<Input>, Prediction, bool), RecordError>;

/// Chunks of records with their predictions, in input order.
pub struct Feed {
    rx: Option<mpsc::Receiver<Item>>,
    thread: Option<std::thread::JoinHandle<()>>,
    handle: Handle,
    stop: Arc<Stop>,
}

impl Feed {
    /// Starts reading `records` (the next one is line `line + 1`) on a thread of its own.
    pub fn start(
        records: Box<dyn Records>,
        line: u64,
        config: FeedConfig,
        batcher: Batcher,
        handle: Handle,
        stop: Arc<Stop>,
    ) -> Result<Feed, ServeError> {
        let (tx, rx) = mpsc::sync_channel::<Item>(IN_FLIGHT);
        let span = tracing::Span::current();
        let (h, s) = (handle.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("transform-read".into())
            .spawn(move || {
                let _g = span.enter();
                read_chunks(records, line, &config, &batcher, &h, &s, &tx)
            })
            .map_err(|e| ServeError::Internal(format!("spawning a reader: {e}")))?;
        Ok(Feed {
            rx: Some(rx),
            thread: Some(thread),
            handle,
            stop,
        })
    }

    /// The next chunk and its predictions (waited for), the end, or `Stopped` once the
    /// job is stopped.
    pub fn next(&mut self) -> Result<Next, ServeError> {
        let Some(rx) = &self.rx else {
            return Ok(Next::End);
        };
        loop {
            if self.stop.stopped() {
                return Ok(Next::Stopped);
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Item::Chunk(chunk, pending)) => {
                    let predicted = match pending {
                        Some(h) => self
                            .handle
                            .block_on(h)
                            .map_err(|e| ServeError::Internal(format!("prediction task: {e}")))??,
                        None => Vec::new(),
                    };
                    return Ok(Next::Chunk(chunk, predicted));
                }
                Ok(Item::End) => return Ok(Next::End),
                Ok(Item::Failed(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) if self.stop.stopped() => {
                    return Ok(Next::Stopped)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ServeError::Internal("the reader stopped early".into()))
                }
            }
        }
    }

    /// Stops the reader and waits for it, unless `detach` (a reader blocked on a pipe that
    /// may never deliver again is left to end with the process).
    pub fn finish(mut self, detach: bool) {
        self.rx = None;
        if let Some(t) = self.thread.take().filter(|_| !detach) {
            let _ = t.join();
        }
    }
}

/// Each record of a chunk with its outcome.
pub fn outcomes(
    records: Vec<Pending>,
    predicted: Vec<(ItemResult, bool)>,
) -> impl Iterator<Item = (u64, Outcome)> {
    let mut predicted = predicted.into_iter();
    records.into_iter().map(move |rec| {
        let outcome = rec.parsed.and_then(|input| match predicted.next() {
            Some((Ok(p), truncated)) => Ok((input, p, truncated)),
            Some((Err(e), _)) => Err(RecordError::Prediction(e.to_string())),
            None => Err(RecordError::Prediction("no prediction was returned".into())),
        });
        (rec.line, outcome)
    })
}

fn read_chunks(
    mut records: Box<dyn Records>,
    mut line: u64,
    c: &FeedConfig,
    batcher: &Batcher,
    handle: &Handle,
    stop: &Stop,
    tx: &mpsc::SyncSender<Item>,
) {
    let knobs = &c.knobs;
    loop {
        let mut chunk = Vec::new();
        let mut texts = Vec::new();
        let mut payload = 0usize;
        let mut eof = false;
        while chunk.len() < knobs.max_records_per_batch && payload < knobs.max_payload_bytes {
            if c.cut_when_dry && !chunk.is_empty() && records.dry() {
                break;
            }
            let raw = match records.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    let _ = tx.send(Item::Failed(e.into()));
                    return;
                }
            };
            line += 1;
            let parsed = match raw {
                Raw::TooLarge(n) => Err(RecordError::TooLarge(n)),
                Raw::Record(bytes) => {
                    parse(&bytes, c.kind, knobs, c.header.as_deref(), c.keep_input)
                }
            };
            let parsed = parsed.map(|(input, text)| {
                payload += text.len();
                texts.push(text);
                input
            });
            chunk.push(Pending { line, parsed });
        }
        if !chunk.is_empty() {
            let pending = (!texts.is_empty()).then(|| {
                let b = batcher.clone();
                handle.spawn(predict_isolated(b, texts))
            });
            let chunk = Chunk {
                records: chunk,
                end_offset: records.offset(),
                end_line: line,
            };
            if tx.send(Item::Chunk(chunk, pending)).is_err() {
                return;
            }
        }
        if eof {
            let _ = tx.send(Item::End);
            return;
        }
        if stop.stopped() {
            return;
        }
    }
}

/// Predicts a chunk; if its tokenization fails as a whole, predicts text by text so only
/// the bad text fails.
async fn predict_isolated(batcher: Batcher, texts: Vec<String>) -> Predicted {
    if texts.len() == 1 {
        return match batcher.predict_marked(texts).await {
            Err(e @ ServeError::Invalid(_)) => Ok(vec![(Err(e), false)]),
            other => other,
        };
    }
    match batcher.predict_marked(texts.clone()).await {
        Err(ServeError::Invalid(_)) => {
            let mut out = Vec::with_capacity(texts.len());
            for t in texts {
                match batcher.predict_marked(vec![t]).await {
                    Ok(mut r) if r.len() == 1 => out.push(r.remove(0)),
                    Ok(_) => out.push((
                        Err(ServeError::Internal("wrong number of predictions".into())),
                        false,
                    )),
                    Err(e @ ServeError::Invalid(_)) => out.push((Err(e), false)),
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        other => other,
    }
}
