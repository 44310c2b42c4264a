//! The capture writer thread (one file per variant and hour) and reading capture trees.
use super::queue::Queue;
use super::{Batch, CaptureFormat, CaptureRecord, Pending, CAPTURED, CAPTURE_WRITE_ERRORS};
use chrono::{Datelike, Timelike};
use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Open {
    hour: (i32, u32, u32, u32),
    file: Sink,
}

/// Writes to the file in whole, aligned blocks of [`BLOCK`] bytes, each around the page
/// cache where the file can ([`Target::write_block`]), else through it (as one large
/// folio: writes at odd offsets cost ~25 % more kernel time there). Lines are encoded
/// straight into the buffer. A flush writes whatever is buffered through the page cache;
/// the next write then first fills up to the next block boundary.
struct Sink<W: Target = CaptureFile> {
    file: W,
    buf: Vec<u8>,
    /// Bytes written to the file (its length: the file is new and only appended to).
    pos: u64,
}

/// 1 MiB: each direct write is one device request (and, in a VM, one notification of
/// the host); 256 kB blocks cost the writer ~0.2 µs more per record in kernel time.
const BLOCK: usize = 1024 * 1024;

/// Where a [`Sink`] writes: `write` appends through the page cache; `write_block` writes
/// one whole block at a block-aligned offset around it, when the target can (`None`:
/// it cannot, so the sink writes it through the page cache instead).
trait Target: Write {
    fn write_block(&mut self, _at: u64, _block: &[u8]) -> Option<std::io::Result<usize>> {
        None
    }
}

/// A capture file, opened twice: for appending through the page cache, and, where the
/// file system allows it, with `O_DIRECT` for whole blocks. Capture files are written once
/// and read later, if ever, so their blocks need not pass through the page cache: a
/// direct write costs the writer about the kernel time of a cached one *without* the
/// copy into fresh page-cache memory (which on a VM whose free memory goes back to the
/// host costs ~10× as much: 2.2 vs 0.2 s of kernel time per GB here), and it leaves
/// neither writeback work nor evicted pages of the serving process behind.
pub(super) struct CaptureFile {
    file: File,
    direct: Option<File>,
    /// An aligned copy of a block whose buffer is not aligned for direct I/O.
    stage: Vec<Page>,
}

/// Direct I/O wants buffers aligned to the device's blocks (512 bytes or 4 KiB).
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; PAGE]);
const PAGE: usize = 4096;

impl CaptureFile {
    fn create(path: &Path, direct_io: bool) -> std::io::Result<CaptureFile> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(CaptureFile {
            file,
            direct: if direct_io { open_direct(path) } else { None },
            stage: Vec::new(),
        })
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::debug!(error = %e, path = %path.display(), "no direct I/O for this capture file; writing through the page cache");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

impl Write for CaptureFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Target for CaptureFile {
    fn write_block(&mut self, at: u64, block: &[u8]) -> Option<std::io::Result<usize>> {
        use std::io::{IoSlice, Seek, SeekFrom};
        let direct = self.direct.as_mut()?;
        let result = direct.seek(SeekFrom::Start(at)).and_then(|_| {
            if (block.as_ptr() as usize).is_multiple_of(PAGE) {
                direct.write(block)
            } else {
                let pages = block.len().div_ceil(PAGE);
                self.stage.resize(pages, Page([0; PAGE]));
                for (page, chunk) in self.stage.iter_mut().zip(block.chunks(PAGE)) {
                    page.0[..chunk.len()].copy_from_slice(chunk);
                }
                let slices: Vec<IoSlice<'_>> = self
                    .stage
                    .iter()
                    .zip(block.chunks(PAGE))
                    .map(|(page, chunk)| IoSlice::new(&page.0[..chunk.len()]))
                    .collect();
                direct.write_vectored(&slices)
            }
        });
        match result {
            // A file system that opened the file for direct I/O but refuses this write
            // (alignment it wants beyond 4 KiB): page cache from now on.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                tracing::warn!(error = %e, "direct I/O refused; capture files are written through the page cache");
                self.direct = None;
                None
            }
            r => Some(r),
        }
    }
}

impl<W: Target> Sink<W> {
    fn new(file: W) -> Sink<W> {
        Sink {
            file,
            buf: Vec::with_capacity(BLOCK + 16 * 1024),
            pos: 0,
        }
    }

    /// Appends what `encode` writes, then writes every whole block. What a failed write
    /// leaves stays buffered for the next try (logged); once a whole block is waiting and
    /// still cannot be written, further lines are refused: the error, for the caller to
    /// count.
    fn append(&mut self, encode: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<()> {
        if self.buf.len() >= BLOCK {
            self.write_blocks()?;
        }
        encode(&mut self.buf);
        if let Err(e) = self.write_blocks() {
            tracing::warn!(error = %e, buffered = self.buf.len(), "cannot write to a capture file; retrying with the next record");
        }
        Ok(())
    }

    fn write_blocks(&mut self) -> std::io::Result<()> {
        loop {
            let room = BLOCK - (self.pos % BLOCK as u64) as usize;
            if self.buf.len() < room {
                return Ok(());
            }
            self.write_front(room)?;
        }
    }

    /// Writes the first `n` buffered bytes; on an error, what was written is gone from the
    /// buffer and the rest stays.
    fn write_front(&mut self, n: usize) -> std::io::Result<()> {
        let mut done = 0;
        let result = loop {
            if done == n {
                break Ok(());
            }
            let rest = &self.buf[done..n];
            let at = self.pos + done as u64;
            let whole = rest.len() == BLOCK && at.is_multiple_of(BLOCK as u64);
            let written = match whole.then(|| self.file.write_block(at, rest)).flatten() {
                Some(r) => r,
                None => self.file.write(rest),
            };
            match written {
                Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                Ok(k) => done += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.pos += done as u64;
        self.buf.drain(..done);
        result
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_front(self.buf.len())
    }
}

/// How the writer writes: the records' format, and whether whole blocks bypass the page
/// cache ([`CaptureFile`]).
#[derive(Debug, Clone, Default)]
pub(super) struct WriterOptions {
    pub format: CaptureFormat,
    pub direct_io: bool,
}

/// The writer's state of one variant: its open file (if any) and its counters.
struct Variant {
    open: Option<Open>,
    captured: metrics::Counter,
    write_errors: metrics::Counter,
}

/// While records keep arriving, the writer naps this long between takes instead of being
/// woken: waking a parked thread costs a system call on the serving thread and a context
/// switch here. At 30,000 requests/s a nap's worth is ~150 records, two or three full
/// batches.
const NAP: Duration = Duration::from_millis(5);
/// During a busy period files are flushed at least this often; when it ends, at once.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Writes records until the queue is closed or every [`super::Capture`] handle is gone,
/// then writes what is left and flushes. It takes full batches every [`NAP`], and the
/// batches being filled when no full one came or a flush is due; it flushes every
/// [`FLUSH_EVERY`] and when a take brings nothing, and then parks until a record arrives.
/// So a record reaches its file within about 100 ms under load and within a few ms
/// otherwise.
pub(super) fn run(root: PathBuf, options: WriterOptions, queue: Arc<Queue>) {
    let mut files = Files {
        root,
        options,
        open: FxHashMap::default(),
    };
    let mut flushed = Instant::now();
    loop {
        // The last handle gone is as good as closed: nobody can add records any more.
        if queue.is_closed() || Arc::strong_count(&queue) == 1 {
            for b in &queue.take_all() {
                files.write_batch(b, &queue);
            }
            break;
        }
        let full = queue.take_full();
        let sweep = full.is_empty() || flushed.elapsed() >= FLUSH_EVERY;
        let filling = if sweep {
            queue.take_filling()
        } else {
            Vec::new()
        };
        let got = full.len() + filling.len();
        for b in &full {
            files.write_batch(b, &queue);
            queue.written_full(b);
        }
        for b in &filling {
            files.write_batch(b, &queue);
        }
        queue.recycle(full.into_iter().chain(filling));
        if got == 0 || flushed.elapsed() >= FLUSH_EVERY {
            files.flush();
            flushed = Instant::now();
        }
        if got == 0 {
            if queue.park_unless_waiting() {
                std::thread::park_timeout(Duration::from_secs(1));
                queue.awake();
            }
            continue;
        }
        std::thread::sleep(NAP);
    }
    files.flush();
}

/// The writer's files: one open file per variant.
struct Files {
    root: PathBuf,
    options: WriterOptions,
    open: FxHashMap<String, Variant>,
}

impl Files {
    fn write_batch(&mut self, batch: &Batch, queue: &Queue) {
        let (mut written, mut errors) = (0, 0);
        for record in batch.iter() {
            if !self.open.contains_key(record.variant()) {
                let v = record.variant().to_string();
                let variant = Variant {
                    open: None,
                    captured: metrics::counter!(CAPTURED, "variant" => v.clone()),
                    write_errors: metrics::counter!(CAPTURE_WRITE_ERRORS, "variant" => v.clone()),
                };
                self.open.insert(v, variant);
            }
            let v = self.open.get_mut(record.variant()).expect("inserted above");
            v.captured.increment(1);
            match write(&self.root, &self.options, v, &record) {
                Ok(()) => written += 1,
                Err(e) => {
                    errors += 1;
                    v.write_errors.increment(1);
                    tracing::warn!(error = %e, variant = record.variant(), "cannot write a capture record");
                }
            }
        }
        queue.stats.written.fetch_add(written, Ordering::Relaxed);
        queue
            .stats
            .write_errors
            .fetch_add(errors, Ordering::Relaxed);
    }

    fn flush(&mut self) {
        for o in self.open.values_mut().filter_map(|v| v.open.as_mut()) {
            if let Err(e) = o.file.flush() {
                tracing::warn!(error = %e, "cannot flush a capture file");
            }
        }
    }
}

/// Appends the record to its variant's file of the current hour: the first record of a
/// later hour (by its inference time) starts that hour's file. Records reach the writer
/// almost in order, so one of the past hour that comes late goes to the newer file rather
/// than reopening the old hour (its `inferenceTime` still says when it happened).
fn write(
    root: &Path,
    options: &WriterOptions,
    variant: &mut Variant,
    record: &Pending<&[u8]>,
) -> std::io::Result<()> {
    let now = record.time.naive_utc();
    let hour = (now.year(), now.month(), now.day(), now.hour());
    if variant.open.as_ref().is_none_or(|o| o.hour < hour) {
        if let Some(mut old) = variant.open.take() {
            if let Err(e) = old.file.flush() {
                tracing::warn!(error = %e, lost_bytes = old.file.buf.len(), "cannot finish the capture file of the past hour");
            }
        }
        let dir = root.join(record.variant()).join(format!(
            "{:04}/{:02}/{:02}/{:02}",
            hour.0, hour.1, hour.2, hour.3
        ));
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{}-{}.jsonl",
            now.format("%Y%m%dT%H%M%S"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let file = CaptureFile::create(&dir.join(name), options.direct_io)?;
        variant.open = Some(Open {
            hour,
            file: Sink::new(file),
        });
    }
    let o = variant.open.as_mut().expect("opened above");
    o.file
        .append(|buf| record.encode_line(buf, &options.format))
}

/// The end of the hour a capture file belongs to, from its folders
/// (`…/YYYY/MM/DD/HH/<file>.jsonl`); `None` for a file laid out otherwise. Every record of
/// the file is older than this: the first record of a later hour starts a new file.
pub fn hour_end(file: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    // Folder names of exactly the writer's widths (HH, DD, MM, YYYY, from the file up).
    let mut parts = file
        .parent()?
        .iter()
        .rev()
        .zip([2, 2, 2, 4])
        .map(|(c, width)| {
            let c = c.to_str().filter(|c| c.len() == width)?;
            c.parse::<u32>().ok()
        });
    let (h, d, m, y) = (
        parts.next()??,
        parts.next()??,
        parts.next()??,
        parts.next()??,
    );
    let start = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?
        .and_hms_opt(h, 0, 0)?
        .and_utc();
    Some(start + chrono::Duration::hours(1))
}

/// Every `.jsonl` file under `dir`, sorted by path (so by variant, then time).
pub fn jsonl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Calls `f` with each line of a capture file as bytes, without its newline, and whether
/// the line is finished. The file may be one the writer is still appending to, whose
/// writes end anywhere (even inside a multi-byte character), so a last line without a
/// newline may be half a record (leave it out if it does not parse) or a whole one in a
/// file made by hand (keep it).
pub fn for_each_line(path: &Path, mut f: impl FnMut(&[u8], bool)) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let finished = line.last() == Some(&b'\n');
        if finished {
            line.pop();
        }
        f(&line, finished);
    }
}

/// Calls `f` on every record under `dir`; returns how many lines could not be parsed.
pub fn visit_dir(dir: &Path, mut f: impl FnMut(CaptureRecord)) -> std::io::Result<u64> {
    let mut bad = 0;
    for path in jsonl_files(dir)? {
        for_each_line(&path, |line, finished| {
            if line.trim_ascii().is_empty() {
                return;
            }
            match serde_json::from_slice::<CaptureRecord>(line) {
                Ok(r) => f(r),
                Err(_) if finished => bad += 1,
                Err(_) => {} // still being written
            }
        })?;
    }
    Ok(bad)
}

/// Every record under `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<CaptureRecord>> {
    let mut v = Vec::new();
    visit_dir(dir, |r| v.push(r))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Exchange;

    /// Records each write's offset and length; fails while `broken`; takes at most
    /// `most` bytes a call (short writes) when it is set. With `direct`, it takes whole
    /// blocks around the "page cache" too, and records those writes' offsets.
    #[derive(Default)]
    struct Disk {
        data: Vec<u8>,
        writes: Vec<(usize, usize)>,
        broken: bool,
        most: Option<usize>,
        direct: bool,
        direct_writes: Vec<usize>,
    }

    impl Target for Disk {
        fn write_block(&mut self, at: u64, block: &[u8]) -> Option<std::io::Result<usize>> {
            if !self.direct {
                return None;
            }
            assert_eq!(at as usize, self.data.len(), "blocks are written in order");
            assert!(at.is_multiple_of(BLOCK as u64) && block.len() == BLOCK);
            self.direct_writes.push(at as usize);
            Some(self.write(block))
        }
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.broken {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.most.unwrap_or(usize::MAX));
            self.writes.push((self.data.len(), n));
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Lines of 0–1,499 bytes, about six blocks' worth, with a flush (a partial block)
    /// after line 700.
    fn fill<W: Target>(sink: &mut Sink<W>) -> Vec<u8> {
        let mut expected = Vec::new();
        for i in 0..(6 * BLOCK / 750) as u32 {
            let line = format!("{}\n", "x".repeat(i as usize % 1_500));
            sink.append(|b| b.extend_from_slice(line.as_bytes()))
                .unwrap();
            expected.extend_from_slice(line.as_bytes());
            if i == 700 {
                sink.flush().unwrap(); // a partial block mid-way
            }
        }
        sink.flush().unwrap();
        expected
    }

    #[test]
    fn the_sink_writes_whole_aligned_blocks_and_keeps_every_byte() {
        for direct in [false, true] {
            let mut sink = Sink::new(Disk {
                direct,
                ..Disk::default()
            });
            let expected = fill(&mut sink);
            assert_eq!(sink.file.data, expected);
            assert_eq!(sink.pos as usize, expected.len());
            // Every write ends on a block boundary except the two flushes'.
            let writes = &sink.file.writes;
            let odd: Vec<_> = writes
                .iter()
                .filter(|(at, n)| (at + n) % BLOCK != 0)
                .collect();
            assert_eq!(odd.len(), 2, "{odd:?}");
            assert!(writes.len() > 4);
            // Whole aligned blocks go around the page cache where the target can; the
            // flushed tail and the rest of its block go through it.
            let whole: Vec<usize> = writes
                .iter()
                .filter(|(at, n)| at % BLOCK == 0 && *n == BLOCK)
                .map(|w| w.0)
                .collect();
            let expected_direct = if direct { whole } else { Vec::new() };
            assert_eq!(sink.file.direct_writes, expected_direct);
            assert!(!direct || sink.file.direct_writes.len() == writes.len() - 3);
        }
    }

    /// A real file, opened for direct I/O where this file system allows it (and through
    /// the page cache where it does not): every byte arrives, in order, whichever way each
    /// block went.
    #[test]
    fn a_capture_file_keeps_every_byte_with_or_without_direct_io() {
        let dir = tempfile::tempdir().unwrap();
        for direct_io in [true, false] {
            let path = dir.path().join(format!("direct-{direct_io}.jsonl"));
            let mut sink = Sink::new(CaptureFile::create(&path, direct_io).unwrap());
            let expected = fill(&mut sink);
            assert!(direct_io || sink.file.direct.is_none());
            drop(sink);
            assert!(std::fs::read(&path).unwrap() == expected, "{direct_io}");
        }
    }

    /// A direct write the file system refuses (here: an offset no device accepts) is not an
    /// error: the block goes through the page cache, and so does everything after it.
    #[test]
    fn a_refused_direct_write_falls_back_to_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refused.jsonl");
        let mut file = CaptureFile::create(&path, true).unwrap();
        let block = vec![b'z'; BLOCK];
        assert!(
            file.write_block(1, &block).is_none(),
            "refused, so not written"
        );
        assert!(file.direct.is_none(), "no direct I/O from now on");
        assert!(file.write_block(0, &block).is_none());
        file.write_all(&block).unwrap();
        drop(file);
        assert!(std::fs::read(&path).unwrap() == block);
    }

    #[test]
    fn a_failing_sink_keeps_lines_then_refuses_them() {
        let mut sink = Sink::new(Disk {
            broken: true,
            most: Some(100_000),
            ..Disk::default()
        });
        let line = vec![b'y'; 1_000];
        let mut kept = 0;
        while sink.append(|b| b.extend_from_slice(&line)).is_ok() {
            kept += 1;
        }
        // Lines are kept until a whole block waits; then refused, nothing else lost.
        assert_eq!(kept, BLOCK.div_ceil(1_000));
        assert!(sink.append(|b| b.extend_from_slice(&line)).is_err());
        assert!(sink.flush().is_err());
        sink.file.broken = false;
        sink.append(|b| b.extend_from_slice(&line)).unwrap();
        sink.flush().unwrap();
        assert_eq!(sink.file.data.len(), (kept + 1) * 1_000);
    }

    #[test]
    fn files_rotate_on_the_hour_of_the_records_and_never_back() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Arc::new(Queue::new(8));
        let mut batch = Batch::default();
        for (time, id) in [
            ("2026-11-25T10:59:59.998Z", "a"),
            ("2026-11-25T11:00:00.001Z", "b"),
            ("2026-11-25T10:59:59.999Z", "late"),
            ("2026-11-25T12:30:00Z", "c"),
        ] {
            let e = Exchange::json("A", "v1", id, br#"{"text":"x"}"#, br#"{"label":"y"}"#);
            assert!(batch.push(&e, time.parse().unwrap()));
        }
        queue.hand_over(batch);
        queue.close();
        run(
            dir.path().to_path_buf(),
            WriterOptions::default(),
            queue.clone(),
        );
        assert_eq!(queue.stats.written.load(Ordering::Relaxed), 4);
        let ids = |hour: &str| -> Vec<String> {
            let files = jsonl_files(&dir.path().join("A/2026/11/25").join(hour)).unwrap();
            assert_eq!(files.len(), 1, "{hour}: {files:?}");
            read_dir(files[0].parent().unwrap())
                .unwrap()
                .into_iter()
                .map(|r| r.event_metadata.inference_id)
                .collect()
        };
        assert_eq!(ids("10"), ["a"]);
        assert_eq!(
            ids("11"),
            ["b", "late"],
            "a late record joins the open file"
        );
        assert_eq!(ids("12"), ["c"]);
    }
}
