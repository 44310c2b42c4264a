//! Input files as streams of records: gzip looked through, lines read with a bounded
//! buffer (a line over the payload limit is skipped, not buffered), byte offsets kept for
//! checkpoints, and resumption at an offset.
use super::knobs::SplitType;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
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

/// Records of one file, in order, with the decompressed offset after each.
pub struct RecordReader {
    inner: Box<dyn BufRead + Send>,
    split: SplitType,
    limit: usize,
    /// Decompressed bytes consumed so far.
    pub offset: u64,
    done: bool,
}

impl RecordReader {
    /// Opens `path` (gzip when it ends in `.gz`), positioned at decompressed `offset`.
    pub fn open(
        path: &Path,
        split: SplitType,
        limit: usize,
        offset: u64,
        read: Arc<AtomicU64>,
    ) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if !gz && offset > 0 {
            file.seek(SeekFrom::Start(offset))?;
            read.fetch_add(offset, Ordering::Relaxed);
        }
        let counted = Counting { inner: file, read };
        let mut inner: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(
                BUF,
                MultiGzDecoder::new(BufReader::with_capacity(BUF, counted)),
            ))
        } else {
            Box::new(BufReader::with_capacity(BUF, counted))
        };
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
            done: false,
        })
    }

    /// The next record, or `None` at the end.
    pub fn next_record(&mut self) -> io::Result<Option<Raw>> {
        if self.done {
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
        let mut r = RecordReader::open(&path, split, limit, offset, Arc::default()).unwrap();
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
    }
}
