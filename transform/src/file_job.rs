//! One input file (or a shard's part of it) through the pipeline: records in order from a
//! [`Feed`], formatted into `.<stem>.out.partial` / `.<stem>.err.partial`, checkpointed,
//! and on success fsynced and renamed to `<stem>.out` / `<stem>.err` with the checkpoint
//! removed. A failed or stopped file keeps its partial files and checkpoint, from which
//! the same command resumes.
use super::checkpoint::{identity, Checkpoint};
use super::fsio::{InputPath, OutDir};
use super::knobs::{AssembleWith, InputKind, Knobs, OutputKind};
use super::output;
use super::pipeline::{outcomes, Feed, FeedConfig, Next};
use super::progress::{Counters, Stop};
use super::reader::{Raw, RecordReader, Records};
use super::record::{Header, RecordError};
use super::shard::{align, Part};
use serde::{Deserialize, Serialize};
use serve::batcher::Batcher;
use serve::ServeError;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::runtime::Handle;

/// What one file needs.
pub struct FileJob {
    pub input: InputPath,
    pub out: Arc<OutDir>,
    pub part: Part,
    pub kind: InputKind,
    pub accept: OutputKind,
    pub knobs: Arc<Knobs>,
    pub batcher: Batcher,
    pub fingerprint: String,
    pub counters: Arc<Counters>,
    pub stop: Arc<Stop>,
    pub handle: Handle,
}

/// The result of one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileSummary {
    pub input: String,
    pub output: String,
    pub records: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub truncated: u64,
    /// Records taken over from an earlier run.
    pub resumed_records: u64,
    /// The input's size and modification time, and the output's size: a rerun of the
    /// same job skips the file while they hold.
    pub input_bytes: u64,
    pub input_mtime: u64,
    pub output_bytes: u64,
}

struct Names {
    out: String,
    err: String,
    out_tmp: String,
    err_tmp: String,
    ckpt: String,
}

impl Names {
    fn new(stem: &str) -> Self {
        Names {
            out: format!("{stem}.out"),
            err: format!("{stem}.err"),
            out_tmp: format!(".{stem}.out.partial"),
            err_tmp: format!(".{stem}.err.partial"),
            ckpt: format!(".{stem}.ckpt"),
        }
    }
}

impl FileJob {
    /// Runs the file to completion (blocking; call from a blocking thread).
    pub fn run(self) -> Result<FileSummary, ServeError> {
        let r = self.run_inner();
        if let Err(e) = &r {
            self.stop.fail(e.to_string());
        }
        r
    }

    fn run_inner(&self) -> Result<FileSummary, ServeError> {
        let shown = self.input.shown().display().to_string();
        let n = Names::new(&self.part.stem);
        let io = |e: std::io::Error| ServeError::Invalid(format!("{shown}: {e}"));
        let mut file = self.input.open().map_err(io)?;
        let (input_len, input_mtime) = identity(&file.metadata().map_err(io)?);
        let (start, end) = self.part.range;
        let header = self.header()?;
        let prior = Checkpoint::load(&self.out, &n.ckpt).filter(|c| {
            c.fingerprint == self.fingerprint
                && (c.input_len, c.input_mtime) == (input_len, input_mtime)
        });
        let (mut state, out, err) = match prior {
            Some(c)
                if self.out.len(&n.out_tmp).unwrap_or(0) >= c.out_bytes
                    && self.out.len(&n.err_tmp).unwrap_or(0) >= c.err_bytes =>
            {
                tracing::info!(input = %shown, records = c.records(), "resuming from a checkpoint");
                let out = self.out.reopen(&n.out_tmp, c.out_bytes)?;
                let err = self.out.reopen(&n.err_tmp, c.err_bytes)?;
                (c, out, err)
            }
            _ => {
                let (offset, line) = align(&mut file, start).map_err(io)?;
                let mut c = Checkpoint {
                    fingerprint: self.fingerprint.clone(),
                    input_len,
                    input_mtime,
                    offset,
                    line,
                    ..Default::default()
                };
                let mut out = self.out.create(&n.out_tmp)?;
                if let (Some((h, h_end)), 0) = (&header, start) {
                    c.offset = c.offset.max(*h_end);
                    c.line = 1;
                    if self.accept == OutputKind::Csv && end > 0 {
                        let mut row = Vec::new();
                        let labels = &self.batcher.info().labels;
                        output::header_row(&mut row, &self.knobs, labels, h);
                        row.extend_from_slice(self.separator());
                        out.write_all(&row)?;
                        c.out_bytes = row.len() as u64;
                    }
                }
                (c, out, self.out.create(&n.err_tmp)?)
            }
        };
        let resumed = state.records();
        self.counters.add_done(&state, 0);
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        let mut err = BufWriter::with_capacity(64 * 1024, err);
        let read = self.counters.bytes_read.clone();
        let reader = self.reader(file, (state.offset, end), read).map_err(io)?;
        let config = FeedConfig {
            kind: self.kind,
            header: header.map(|h| h.0),
            knobs: self.knobs.clone(),
            keep_input: self.knobs.join == super::knobs::JoinSource::Input,
            cut_when_dry: false,
        };
        let mut feed = Feed::start(
            Box::new(reader),
            state.line,
            config,
            self.batcher.clone(),
            self.handle.clone(),
            self.stop.clone(),
        )?;
        let result = self.write(&mut feed, &mut state, (&mut out, &mut err), &n);
        feed.finish(false);
        result?;

        self.check_budgets(&state, &shown)?;
        durable(&mut out)?;
        durable(&mut err)?;
        self.out.rename(&n.out_tmp, &n.out)?;
        self.out.rename(&n.err_tmp, &n.err)?;
        self.out.remove(&n.ckpt)?;
        self.out.remove(&format!(".{}.tmp", n.ckpt))?; // left by a crash while saving
        self.out.sync()?;
        tracing::info!(input = %shown, records = state.records(), failed = state.failed, "file transformed");
        Ok(FileSummary {
            input: shown,
            output: self.out.path(&n.out).display().to_string(),
            records: state.records(),
            succeeded: state.succeeded,
            failed: state.failed,
            truncated: state.truncated,
            resumed_records: resumed,
            input_bytes: input_len,
            input_mtime,
            output_bytes: state.out_bytes,
        })
    }

    /// Reads the input from `range`, counting bytes into `read`.
    fn reader(&self, f: File, range: (u64, u64), read: Arc<AtomicU64>) -> io::Result<RecordReader> {
        let gz = self.input.name().to_ascii_lowercase().ends_with(".gz");
        let split = (self.knobs.split, self.knobs.max_payload_bytes);
        RecordReader::open(f, gz, split, range, read)
    }

    /// The header row of a CSV file with one, and where the records after it start.
    fn header(&self) -> Result<Option<(Arc<Header>, u64)>, ServeError> {
        if !(self.knobs.csv_header && self.kind == InputKind::Csv) {
            return Ok(None);
        }
        let mut r = self.reader(self.input.open()?, (0, u64::MAX), Default::default())?;
        let header = match r.next_record()? {
            None => return Ok(None),
            Some(Raw::TooLarge(n)) => Err(RecordError::TooLarge(n)),
            Some(Raw::Record(b)) => Header::parse(&b),
        };
        let shown = self.input.shown().display();
        let header =
            header.map_err(|e| ServeError::Invalid(format!("{shown}: CSV header: {e}")))?;
        Ok(Some((Arc::new(header), r.offset)))
    }

    fn separator(&self) -> &'static [u8] {
        match self.knobs.assemble {
            AssembleWith::Line => b"\n",
            AssembleWith::None => b"",
        }
    }

    /// Writes the records of the feed until its end (or a stop, checkpointed).
    fn write(
        &self,
        feed: &mut Feed,
        state: &mut Checkpoint,
        (out, err): (&mut BufWriter<File>, &mut BufWriter<File>),
        n: &Names,
    ) -> Result<(), ServeError> {
        let labels = self.batcher.info().labels.clone();
        let mut since_ckpt = 0u64;
        let mut buf = Vec::with_capacity(512);
        loop {
            let (chunk, predicted) = match feed.next()? {
                Next::Chunk(c, p) => (c, p),
                Next::End => return Ok(()),
                Next::Stopped => {
                    // The state is at a chunk boundary: a checkpoint makes the rerun resume here.
                    durable(out)?;
                    durable(err)?;
                    state.save(&self.out, &n.ckpt)?;
                    return Err(ServeError::Unavailable("the job was stopped".into()));
                }
            };
            for (line, outcome) in outcomes(chunk.records, predicted) {
                buf.clear();
                match outcome {
                    Ok((input, p, truncated)) => {
                        let (k, a) = (&self.knobs, self.accept);
                        output::prediction(&mut buf, k, a, &labels, input, &p, truncated);
                        state.succeeded += 1;
                        state.truncated += truncated as u64;
                        self.counters.record(true, truncated);
                    }
                    Err(e) => {
                        output::failure(&mut buf, self.accept, line, &e);
                        let mut l =
                            serde_json::to_vec(&output::error_object(line, &e)).unwrap_or_default();
                        l.push(b'\n');
                        err.write_all(&l)?;
                        state.err_bytes += l.len() as u64;
                        state.failed += 1;
                        state
                            .first_error
                            .get_or_insert_with(|| format!("line {line}: {e}"));
                        self.counters.record(false, false);
                        self.check_record_budget()?;
                    }
                }
                buf.extend_from_slice(self.separator());
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
                durable(out)?;
                durable(err)?;
                state.save(&self.out, &n.ckpt)?;
            }
        }
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

    /// A file fails when all its records failed (almost always a wrong `InputFilter` or
    /// `ContentType`), or more than `MaxFailedPercent` of them.
    fn check_budgets(&self, s: &Checkpoint, shown: &str) -> Result<(), ServeError> {
        let first = s.first_error.as_deref().unwrap_or("unknown");
        if s.records() > 0 && s.failed == s.records() {
            return Err(ServeError::Invalid(format!(
                "every record of {shown} failed ({} records; the first: {first})",
                s.records()
            )));
        }
        if let Some(max) = self.knobs.max_failed_percent {
            let pct = 100.0 * s.failed as f64 / s.records().max(1) as f64;
            if pct > max {
                return Err(ServeError::Invalid(format!(
                    "error budget exceeded: {pct:.2}% of the records of {shown} failed ({} of {}; the first: {first}), at most {max}% allowed",
                    s.failed,
                    s.records()
                )));
            }
        }
        Ok(())
    }
}

fn durable(w: &mut BufWriter<File>) -> std::io::Result<()> {
    w.flush()?;
    w.get_ref().sync_data()
}
