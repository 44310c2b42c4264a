//! Input files as streams of records: gzip looked through, lines read with a bounded
//! buffer (a line over the payload limit is skipped, not buffered), byte offsets kept for
//! checkpoints, and resumption at an offset.
use super::knobs::SplitType;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const BUF: usize = 256 * 1024;

/// Counts the raw (compressed) bytes read, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One record read from a file.
#[derive(Debug)]
pub enum Raw {
    /// The record's bytes (line terminator removed).
    Record(Vec<u8>),
    /// The record was longer than the limit; its bytes were skipped.
    TooLarge(usize),
}

/// A source of records.
pub trait Records: Send {
    /// The next record, or `None` at the end.
    fn next_record(&mut self) -> io::Result<Option<Raw>>;
    /// Input bytes consumed so far.
    fn offset(&self) -> u64 {
        0
    }
    /// Whether the next record would wait for more input (a pipe).
    fn dry(&self) -> bool {
        false
    }
}

/// Records of one file, in order, with the decompressed offset after each.
pub struct RecordReader {
    inner: BufReader<Box<dyn Read + Send>>,
    split: SplitType,
    limit: usize,
    /// Decompressed bytes consumed so far.
    pub offset: u64,
    /// No record starting at or after this offset is read (a shard's byte range).
    end: u64,
    done: bool,
}

impl RecordReader {
    /// Reads `file` (gzip when `gz`) from decompressed `offset`; records that start at or
    /// after `end` are left to another reader.
    pub fn open(
        mut file: File,
        gz: bool,
        (split, limit): (SplitType, usize),
        (offset, end): (u64, u64),
        read: Arc<AtomicU64>,
    ) -> io::Result<Self> {
        let at = if gz { 0 } else { offset };
        file.seek(SeekFrom::Start(at))?;
        read.fetch_add(at, Ordering::Relaxed);
        let counted = Counting { inner: file, read };
        let source: Box<dyn Read + Send> = if gz {
            Box::new(MultiGzDecoder::new(BufReader::with_capacity(BUF, counted)))
        } else {
            Box::new(counted)
        };
        let mut inner = BufReader::with_capacity(BUF, source);
        if gz && offset > 0 {
            let skipped = io::copy(&mut (&mut inner).take(offset), &mut io::sink())?;
            if skipped != offset {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the input is shorter than its checkpoint",
                ));
            }
        }
        Ok(RecordReader {
            inner,
            split,
            limit,
            offset,
            end,
            done: false,
        })
    }

    /// Lines of a stream (standard input), up to `limit` bytes each.
    pub fn stream(input: Box<dyn Read + Send>, limit: usize) -> Self {
        RecordReader {
            inner: BufReader::with_capacity(BUF, input),
            split: SplitType::Line,
            limit,
            offset: 0,
            end: u64::MAX,
            done: false,
        }
    }
}

impl Records for RecordReader {
    fn offset(&self) -> u64 {
        self.offset
    }

    /// Nothing is buffered.
    fn dry(&self) -> bool {
        self.inner.buffer().is_empty()
    }

    fn next_record(&mut self) -> io::Result<Option<Raw>> {
        if self.done || self.offset >= self.end {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let mut len = 0usize;
        let mut saw_any = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                self.done = true;
                break;
            }
            saw_any = true;
            let (take, end) = match self.split {
                SplitType::Line => match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                },
                SplitType::None => (chunk.len(), false),
            };
            len += take;
            if len <= self.limit + 2 {
                buf.extend_from_slice(&chunk[..take]);
            }
            self.inner.consume(take);
            self.offset += take as u64;
            if end {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if len > self.limit + 2 || buf.len() > self.limit {
            return Ok(Some(Raw::TooLarge(len)));
        }
        Ok(Some(Raw::Record(buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn records(data: &[u8], split: SplitType, limit: usize, gz: bool, offset: u64) -> Vec<String> {
        ranged(data, split, limit, gz, offset, u64::MAX)
    }

    fn ranged(
        data: &[u8],
        split: SplitType,
        limit: usize,
        gz: bool,
        offset: u64,
        end: u64,
    ) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(if gz { "a.jsonl.gz" } else { "a.jsonl" });
        let mut f = File::create(&path).unwrap();
        if gz {
            let mut e = flate2::write::GzEncoder::new(&mut f, flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap();
        } else {
            f.write_all(data).unwrap();
        }
        let file = File::open(&path).unwrap();
        let mut r =
            RecordReader::open(file, gz, (split, limit), (offset, end), Arc::default()).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(match rec {
                Raw::Record(b) => String::from_utf8(b).unwrap(),
                Raw::TooLarge(n) => format!("<{n}>"),
            });
        }
        out
    }

    #[test]
    fn lines_offsets_gzip_and_limits() {
        let data = b"a\r\n\nbbbbbbbbbb\nc";
        for gz in [false, true] {
            assert_eq!(
                records(data, SplitType::Line, 5, gz, 0),
                ["a", "", "<11>", "c"]
            );
            assert_eq!(records(data, SplitType::Line, 5, gz, 3), ["", "<11>", "c"]);
            assert_eq!(
                records(data, SplitType::None, 100, gz, 0),
                ["a\r\n\nbbbbbbbbbb\nc"]
            );
        }
        assert!(records(b"", SplitType::Line, 5, false, 0).is_empty());
        // A range takes the records that start before its end, whole.
        assert_eq!(ranged(data, SplitType::Line, 5, false, 0, 4), ["a", ""]);
        assert_eq!(ranged(data, SplitType::Line, 5, false, 4, 5), ["<11>"]);
    }

    proptest::proptest! {
        /// Lines of arbitrary bytes under any limit: records come back in order, none over
        /// the limit, and with room for them all they are the input split at newlines.
        #[test]
        fn any_stream_splits_into_bounded_records(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            limit in 1usize..64,
        ) {
            let clean: Vec<u8> = data.iter().copied().filter(|&b| b != b'\r').collect();
            let mut r = RecordReader::stream(Box::new(io::Cursor::new(clean.clone())), limit);
            let mut whole = RecordReader::stream(Box::new(io::Cursor::new(clean.clone())), 1024);
            while let Some(rec) = r.next_record().unwrap() {
                if let Raw::Record(b) = rec {
                    proptest::prop_assert!(b.len() <= limit);
                }
            }
            let mut lines = Vec::new();
            while let Some(Raw::Record(b)) = whole.next_record().unwrap() {
                lines.push(b);
            }
            let mut expected: Vec<&[u8]> = clean.split(|&b| b == b'\n').collect();
            if clean.last() == Some(&b'\n') || clean.is_empty() {
                expected.pop();
            }
            proptest::prop_assert_eq!(lines, expected);
        }
    }
}
