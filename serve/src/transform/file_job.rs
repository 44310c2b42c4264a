//! One input file through the pipeline:
//!
//! ```text
//! reader thread: read ─▶ parse ─▶ chunk ──spawn──▶ Batcher::predict_marked (tokenize on the
//!      │                                           pool ─▶ batch ─▶ model thread)
//!      └── bounded channel of (chunk, pending predictions), in input order ──▶
//! this thread: await each chunk in order ─▶ format ─▶ write `.out`/`.err` ─▶ checkpoint
//! ```
//! The bounded channel caps the chunks in flight (memory stays flat for any file size)
//! while the next chunks are tokenized and predicted as this one is written.
use super::checkpoint::{identity, sync_dir, Checkpoint};
use super::knobs::{AssembleWith, InputKind, Knobs, OutputKind};
use super::output;
use super::progress::Counters;
use super::reader::{Raw, RecordReader};
use super::record::{parse, Input, RecordError};
use crate::batcher::{Batcher, ItemResult};
use crate::error::ServeError;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Chunks predicted ahead of the writer.
const IN_FLIGHT: usize = 8;

/// What one file needs.
pub struct FileJob {
    pub input: PathBuf,
    pub out_dir: PathBuf,
    pub kind: InputKind,
    pub accept: OutputKind,
    pub knobs: Arc<Knobs>,
    pub batcher: Batcher,
    pub fingerprint: String,
    pub counters: Arc<Counters>,
    /// Set to stop every file of the job (budget exceeded elsewhere).
    pub cancel: Arc<AtomicBool>,
    pub handle: Handle,
}

/// The result of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub input: String,
    pub output: String,
    pub records: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub truncated: u64,
    /// Records taken over from a checkpoint of an earlier run.
    pub resumed_records: u64,
}

struct Pending {
    line: u64,
    parsed: Result<Option<Input>, RecordError>,
}

struct Chunk {
    records: Vec<Pending>,
    end_offset: u64,
    end_line: u64,
}

type Predicted = Result<Vec<(ItemResult, bool)>, ServeError>;
type Item = Result<(Chunk, Option<JoinHandle<Predicted>>), ServeError>;

struct Paths {
    out: PathBuf,
    err: PathBuf,
    out_tmp: PathBuf,
    err_tmp: PathBuf,
    ckpt: PathBuf,
}

impl Paths {
    fn new(dir: &Path, name: &str) -> Self {
        Paths {
            out: dir.join(format!("{name}.out")),
            err: dir.join(format!("{name}.err")),
            out_tmp: dir.join(format!(".{name}.out.partial")),
            err_tmp: dir.join(format!(".{name}.err.partial")),
            ckpt: dir.join(format!(".{name}.ckpt")),
        }
    }
}

impl FileJob {
    /// Runs the file to completion (blocking; call from a blocking thread).
    pub fn run(self) -> Result<FileSummary, ServeError> {
        let name = self
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                ServeError::Invalid(format!("{} is not a file", self.input.display()))
            })?;
        let paths = Paths::new(&self.out_dir, &name);
        let (input_len, input_mtime) = identity(&self.input)?;
        let fresh = Checkpoint {
            fingerprint: self.fingerprint.clone(),
            input_len,
            input_mtime,
            ..Default::default()
        };
        let prior = Checkpoint::load(&paths.ckpt).filter(|c| {
            c.fingerprint == fresh.fingerprint
                && c.input_len == input_len
                && c.input_mtime == input_mtime
        });
        let summary = |c: &Checkpoint, resumed: u64| FileSummary {
            input: self.input.display().to_string(),
            output: paths.out.display().to_string(),
            records: c.records(),
            succeeded: c.succeeded,
            failed: c.failed,
            truncated: c.truncated,
            resumed_records: resumed,
        };
        if let Some(c) = prior.as_ref().filter(|c| c.complete && paths.out.exists()) {
            tracing::info!(input = %self.input.display(), "already transformed; skipping");
            self.counters.add_done(c, input_len);
            return Ok(summary(c, c.records()));
        }
        let (mut state, out, err) = match prior.filter(|c| !c.complete) {
            Some(c) if len(&paths.out_tmp) >= c.out_bytes && len(&paths.err_tmp) >= c.err_bytes => {
                tracing::info!(input = %self.input.display(), records = c.records(), "resuming from a checkpoint");
                let out = reopen(&paths.out_tmp, c.out_bytes)?;
                let err = reopen(&paths.err_tmp, c.err_bytes)?;
                (c, out, err)
            }
            _ => (
                fresh,
                File::create(&paths.out_tmp)?,
                File::create(&paths.err_tmp)?,
            ),
        };
        let resumed = state.records();
        self.counters.add_done(&state, 0);
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        let mut err = BufWriter::with_capacity(64 * 1024, err);

        let (tx, rx) = mpsc::sync_channel::<Item>(IN_FLIGHT);
        let reader = {
            let input = self.input.clone();
            let knobs = self.knobs.clone();
            let batcher = self.batcher.clone();
            let handle = self.handle.clone();
            let cancel = self.cancel.clone();
            let read = self.counters.bytes_read.clone();
            let (kind, offset, line) = (self.kind, state.offset, state.line);
            let span = tracing::Span::current();
            std::thread::Builder::new()
                .name("transform-read".into())
                .spawn(move || {
                    let _g = span.enter();
                    let opened = RecordReader::open(
                        &input,
                        knobs.split,
                        knobs.max_payload_bytes,
                        offset,
                        read,
                    );
                    match opened {
                        Ok(r) => {
                            read_chunks(r, line, kind, &knobs, &batcher, &handle, &cancel, &tx)
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.into()));
                        }
                    }
                })
                .map_err(|e| ServeError::Internal(format!("spawning a reader: {e}")))?
        };

        let labels = self.batcher.info().labels.clone();
        let sep: &[u8] = match self.knobs.assemble {
            AssembleWith::Line => b"\n",
            AssembleWith::None => b"",
        };
        let mut since_ckpt = 0u64;
        let mut buf = Vec::with_capacity(512);
        let result = (|| -> Result<(), ServeError> {
            for item in rx.iter() {
                let (chunk, pending) = item?;
                let predicted = match pending {
                    Some(h) => self
                        .handle
                        .block_on(h)
                        .map_err(|e| ServeError::Internal(format!("prediction task: {e}")))??,
                    None => Vec::new(),
                };
                let mut predicted = predicted.into_iter();
                for rec in chunk.records {
                    buf.clear();
                    let outcome = match rec.parsed {
                        Ok(input) => match predicted.next() {
                            Some((Ok(p), truncated)) => {
                                output::prediction(
                                    &mut buf,
                                    &self.knobs,
                                    self.accept,
                                    &labels,
                                    input,
                                    &p,
                                    truncated,
                                );
                                Ok(truncated)
                            }
                            Some((Err(e), _)) => Err(RecordError::Prediction(e.to_string())),
                            None => {
                                Err(RecordError::Prediction("no prediction was returned".into()))
                            }
                        },
                        Err(e) => Err(e),
                    };
                    match outcome {
                        Ok(truncated) => {
                            state.succeeded += 1;
                            self.counters.record(true, truncated);
                            if truncated {
                                state.truncated += 1;
                            }
                        }
                        Err(e) => {
                            buf.clear();
                            output::failure(&mut buf, self.accept, rec.line, &e);
                            let mut line = serde_json::to_vec(&output::error_object(rec.line, &e))
                                .unwrap_or_default();
                            line.push(b'\n');
                            err.write_all(&line)?;
                            state.err_bytes += line.len() as u64;
                            state.failed += 1;
                            self.counters.record(false, false);
                            self.check_record_budget()?;
                        }
                    }
                    buf.extend_from_slice(sep);
                    out.write_all(&buf)?;
                    state.out_bytes += buf.len() as u64;
                    since_ckpt += 1;
                    if let Some(stop) = self.knobs.stop_after_records {
                        if state.records() >= stop {
                            return Err(ServeError::Internal(format!(
                                "stopped after {stop} records (test hook)"
                            )));
                        }
                    }
                }
                state.offset = chunk.end_offset;
                state.line = chunk.end_line;
                if since_ckpt >= self.knobs.checkpoint_every {
                    since_ckpt = 0;
                    durable(&mut out)?;
                    durable(&mut err)?;
                    state.save(&paths.ckpt)?;
                }
            }
            Ok(())
        })();
        if result.is_err() {
            self.cancel.store(true, Ordering::Relaxed);
        }
        drop(rx);
        let _ = reader.join();
        result?;

        check_percent(&self.knobs, &state)?;
        durable(&mut out)?;
        durable(&mut err)?;
        fs::rename(&paths.out_tmp, &paths.out)?;
        fs::rename(&paths.err_tmp, &paths.err)?;
        state.complete = true;
        state.save(&paths.ckpt)?;
        sync_dir(&paths.out)?;
        tracing::info!(input = %self.input.display(), records = state.records(), failed = state.failed, "file transformed");
        Ok(summary(&state, resumed))
    }

    fn check_record_budget(&self) -> Result<(), ServeError> {
        if let Some(max) = self.knobs.max_failed_records {
            let failed = self.counters.failed();
            if failed > max {
                return Err(ServeError::Invalid(format!(
                    "error budget exceeded: {failed} failed records, at most {max} allowed"
                )));
            }
        }
        Ok(())
    }
}

fn check_percent(knobs: &Knobs, s: &Checkpoint) -> Result<(), ServeError> {
    if let Some(max) = knobs.max_failed_percent {
        let pct = if s.records() == 0 {
            0.0
        } else {
            100.0 * s.failed as f64 / s.records() as f64
        };
        if pct > max {
            return Err(ServeError::Invalid(format!(
                "error budget exceeded: {pct:.2}% of the records failed ({} of {}), at most {max}% allowed",
                s.failed,
                s.records()
            )));
        }
    }
    Ok(())
}

fn len(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn reopen(p: &Path, at: u64) -> std::io::Result<File> {
    let mut f = OpenOptions::new().read(true).write(true).open(p)?;
    f.set_len(at)?;
    f.seek(SeekFrom::Start(at))?;
    Ok(f)
}

fn durable(w: &mut BufWriter<File>) -> std::io::Result<()> {
    w.flush()?;
    w.get_ref().sync_data()
}

#[allow(clippy::too_many_arguments)]
fn read_chunks(
    mut reader: RecordReader,
    mut line: u64,
    kind: InputKind,
    knobs: &Knobs,
    batcher: &Batcher,
    handle: &Handle,
    cancel: &AtomicBool,
    tx: &mpsc::SyncSender<Item>,
) {
    let keep_input = knobs.join == super::knobs::JoinSource::Input;
    loop {
        let mut records = Vec::new();
        let mut texts = Vec::new();
        let mut payload = 0usize;
        let mut eof = false;
        while records.len() < knobs.max_records_per_batch && payload < knobs.max_payload_bytes {
            let raw = match reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                    return;
                }
            };
            line += 1;
            let parsed = match raw {
                Raw::TooLarge(n) => Err(RecordError::TooLarge(n)),
                Raw::Record(bytes) => parse(&bytes, kind, knobs),
            };
            let parsed = parsed.map(|(input, text)| {
                payload += text.len();
                texts.push(text);
                keep_input.then_some(input)
            });
            records.push(Pending { line, parsed });
        }
        if !records.is_empty() {
            let pending = (!texts.is_empty()).then(|| {
                let b = batcher.clone();
                handle.spawn(predict_isolated(b, texts))
            });
            let chunk = Chunk {
                records,
                end_offset: reader.offset,
                end_line: line,
            };
            if tx.send(Ok((chunk, pending))).is_err() {
                return;
            }
        }
        if eof || cancel.load(Ordering::Relaxed) {
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
